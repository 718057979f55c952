//! [`QueryParams`]: the query string, decoded leniently (an extractor that never fails).

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use http::request::Parts;
use percent_encoding::percent_decode_str;

/// The query parameters of a request, in order; `+` is a space and `%XX` is decoded once
/// (lossily, so invalid UTF-8 never fails the request: the value is then simply wrong).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// Parses a raw query string.
    pub(crate) fn parse(raw: &str) -> QueryParams {
        let decode = |s: &str| {
            let s = s.replace('+', " ");
            percent_decode_str(&s).decode_utf8_lossy().into_owned()
        };
        QueryParams(
            raw.split('&')
                .filter(|p| !p.is_empty())
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) => (decode(k), decode(v)),
                    None => (decode(pair), String::new()),
                })
                .collect(),
        )
    }

    /// The last value of `name`, if given.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(QueryParams::parse(parts.uri.query().unwrap_or("")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_once_and_keeps_the_last() {
        let q = QueryParams::parse("prefix=a%2Fb+c&limit=10&limit=20&flag&x=%25252F&bad=%FF");
        assert_eq!(q.get("prefix"), Some("a/b c"));
        assert_eq!(q.get("limit"), Some("20"));
        assert_eq!(q.get("flag"), Some(""));
        assert_eq!(q.get("x"), Some("%252F"));
        assert_eq!(q.get("bad"), Some("\u{fffd}"));
        assert_eq!(q.get("missing"), None);
    }
}
