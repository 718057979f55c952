//! [`ApiPath`]: the account, namespace and key of a request, read once from the raw path (so a
//! key is percent-decoded exactly once, by [`Key::decode_path_segment`]) and handed on as a
//! request extension.

use std::borrow::Cow;
use std::ops::Range;

use axum::extract::FromRequestParts;
use http::request::Parts;
use http::uri::PathAndQuery;
use http::{Request, Uri};
use kv_types::{Key, ValidationError};

use super::errors::ApiError;
use super::{ApiState, BASE_PATH};

/// What precedes the account id in every API path.
const ACCOUNTS: &str = "/accounts/";
/// What follows it, before the namespace id.
const NAMESPACES: &str = "/storage/kv/namespaces";

/// The parts of an API path,
/// `/client/v4/accounts/{account}/storage/kv/namespaces[/{namespace}[/{route}]]`, where the key
/// of a value or metadata route is everything after `/values/` or `/metadata/`, raw `/`
/// included, decoded once.
///
/// Parse it once per request with [`ApiPath::of`], which stores it in the request's extensions:
/// layers that need the key (faults, the request log) call it first, and the handler's extractor
/// then takes the stored one instead of parsing again. Extracting it checks the account: a
/// request for another account than the mock's gets 403 `Authentication error`, as a token
/// without access to it would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiPath {
    /// The raw path and query (a cheap, shared copy of the request's).
    raw: PathAndQuery,
    /// Where the account id is in `raw`'s path (empty when not an API path).
    account: Range<usize>,
    /// Where the namespace id is (empty when the route has none).
    namespace: Range<usize>,
    /// The key, when the route is a value or metadata route.
    key: Option<KeyPart>,
}

/// The key of a path, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyPart {
    /// Nothing was encoded: the key is this part of the raw path, as it is.
    Raw(Range<usize>),
    /// The key, decoded.
    Decoded(String),
    /// This part of the raw path does not decode to UTF-8.
    NotUtf8(Range<usize>),
}

impl ApiPath {
    /// The parsed path of `request`: the one stored in its extensions by an earlier call, else
    /// parsed now and stored there.
    pub(crate) fn of<B>(request: &mut Request<B>) -> &ApiPath {
        if request.extensions().get::<ApiPath>().is_none() {
            let parsed = ApiPath::parse(request.uri());
            request.extensions_mut().insert(parsed);
        }
        // Stored just above when it was not yet: the closure never runs.
        request
            .extensions_mut()
            .get_or_insert_with(|| ApiPath::parse(&Uri::default()))
    }

    /// Reads the parts of the path of `uri`.
    pub(crate) fn parse(uri: &Uri) -> ApiPath {
        let raw = uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let (account, namespace, key) = split(raw.path());
        ApiPath {
            raw,
            account,
            namespace,
            key,
        }
    }

    fn path(&self) -> &str {
        self.raw.path()
    }

    /// The account id (empty when the path is not an API path).
    pub(crate) fn account(&self) -> &str {
        self.path().get(self.account.clone()).unwrap_or("")
    }

    /// The namespace id (empty when the route has none).
    pub(crate) fn namespace(&self) -> &str {
        self.path().get(self.namespace.clone()).unwrap_or("")
    }

    /// The decoded key of a value or metadata route, whether or not it is a valid key name (the
    /// engine checks that): what the request log records and faults match. `None` for other
    /// routes and for a key that does not decode to UTF-8.
    pub(crate) fn key(&self) -> Option<&str> {
        match self.key.as_ref()? {
            KeyPart::Raw(at) => self.path().get(at.clone()),
            KeyPart::Decoded(key) => Some(key),
            KeyPart::NotUtf8(_) => None,
        }
    }

    /// The decoded key for a handler of a value or metadata route: a key that does not decode
    /// to UTF-8 is [`ValidationError::KeyNotUtf8`]. On any other route it reads as the empty
    /// key, which the engine refuses.
    pub(crate) fn key_name(&self) -> Result<&str, ValidationError> {
        match &self.key {
            Some(KeyPart::NotUtf8(at)) => Err(ValidationError::KeyNotUtf8 {
                segment: self.path().get(at.clone()).unwrap_or("").to_owned(),
            }),
            _ => Ok(self.key().unwrap_or("")),
        }
    }
}

/// Where the account, the namespace and the key are in `path`.
fn split(path: &str) -> (Range<usize>, Range<usize>, Option<KeyPart>) {
    let none = (0..0, 0..0, None);
    let Some(rest) = path
        .strip_prefix(BASE_PATH)
        .and_then(|r| r.strip_prefix(ACCOUNTS))
    else {
        return none;
    };
    let account_at = path.len() - rest.len();
    let Some(account_len) = rest.find('/') else {
        return none;
    };
    let account = account_at..account_at + account_len;
    let Some(rest) = rest[account_len..].strip_prefix(NAMESPACES) else {
        return none;
    };
    if rest.is_empty() {
        return (account, 0..0, None);
    }
    let Some(rest) = rest.strip_prefix('/') else {
        return none;
    };
    let ns_at = path.len() - rest.len();
    let (ns, route) = rest.split_once('/').unwrap_or((rest, ""));
    let namespace = ns_at..ns_at + ns.len();
    let raw_key = route
        .strip_prefix("values/")
        .or_else(|| route.strip_prefix("metadata/"));
    let key = raw_key.map(|raw| {
        let at = path.len() - raw.len()..path.len();
        match Key::decode_path_segment(raw) {
            Ok(Cow::Borrowed(_)) => KeyPart::Raw(at),
            Ok(Cow::Owned(key)) => KeyPart::Decoded(key),
            Err(_) => KeyPart::NotUtf8(at),
        }
    });
    (account, namespace, key)
}

impl FromRequestParts<ApiState> for ApiPath {
    type Rejection = ApiError;

    /// The path an outer layer parsed ([`ApiPath::of`]), taken from the extensions, or parsed
    /// now.
    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let path = match parts.extensions.remove::<ApiPath>() {
            Some(path) => path,
            None => ApiPath::parse(&parts.uri),
        };
        if path.account() != &*state.account_id {
            return Err(ApiError::authentication());
        }
        Ok(path)
    }
}

/// The decoded key of a value or metadata path of the API, if any: [`ApiPath`]'s reading of
/// it, for a path kept as text (the request log decodes it when read, not per request).
pub(crate) fn key_of(path: &str) -> Option<String> {
    let uri = http::Uri::try_from(path).ok()?;
    ApiPath::parse(&uri).key().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_only_from_api_paths() {
        let api = "/client/v4/accounts/a/storage/kv/namespaces/n";
        assert_eq!(
            key_of(&format!("{api}/values/a%2Fb")).as_deref(),
            Some("a/b")
        );
        assert_eq!(key_of(&format!("{api}/metadata/k")).as_deref(), Some("k"));
        assert_eq!(key_of(&format!("{api}/keys")), None);
        assert_eq!(key_of(&format!("{api}/values/%FF")), None);
        assert_eq!(
            key_of("/x/v4/accounts/a/storage/kv/namespaces/n/values/k"),
            None
        );
        assert_eq!(
            key_of("/client/v4/accounts/a/other/kv/namespaces/n/values/k"),
            None
        );
    }

    const BASE: &str = "/client/v4/accounts/acc/storage/kv/namespaces";

    fn parse(path: &str) -> ApiPath {
        ApiPath::parse(&path.parse::<Uri>().expect("uri"))
    }

    #[test]
    fn parts_of_a_value_path() {
        let p = parse(&format!(
            "{BASE}/ns1/values/a%2F..%2F..%2Fbulk?expiration_ttl=60"
        ));
        assert_eq!((p.account(), p.namespace()), ("acc", "ns1"));
        assert_eq!(p.key(), Some("a/../../bulk"));
        // A raw slash stays in the key.
        let p = parse(&format!("{BASE}/ns1/values/a/b%3F"));
        assert_eq!(p.key_name(), Ok("a/b?"));
        let p = parse(&format!("{BASE}/ns1/metadata/%252F"));
        assert_eq!(p.key(), Some("%2F"));
        let p = parse(&format!("{BASE}/ns1/values/plain"));
        assert_eq!(
            p.key,
            Some(KeyPart::Raw(p.path().len() - 5..p.path().len()))
        );
        assert_eq!(p.key(), Some("plain"));
        // Decoded but not a valid key: the engine says why.
        let p = parse(&format!("{BASE}/ns1/values/"));
        assert_eq!((p.key(), p.key_name()), (Some(""), Ok("")));
        let p = parse(&format!("{BASE}/ns1/values/%2E%2E"));
        assert_eq!(p.key(), Some(".."));
        let p = parse(&format!("{BASE}/ns1/values/%FF"));
        assert_eq!(p.key(), None);
        assert_eq!(
            p.key_name(),
            Err(ValidationError::KeyNotUtf8 {
                segment: "%FF".into()
            })
        );
    }

    #[test]
    fn keys_only_from_value_and_metadata_routes_of_api_paths() {
        for path in [
            format!("{BASE}/ns1/keys"),
            format!("{BASE}/ns1"),
            format!("{BASE}/ns1/bulk/get"),
            format!("{BASE}/ns1/values"),
            BASE.to_owned(),
            "/x/v4/accounts/a/storage/kv/namespaces/n/values/k".to_owned(),
            "/client/v4/accounts/a/other/kv/namespaces/n/values/k".to_owned(),
            "/client/v4/accounts/a".to_owned(),
            "/".to_owned(),
        ] {
            assert_eq!(parse(&path).key(), None, "{path}");
        }
        let p = parse(&format!("{BASE}/ns1/bulk/get"));
        assert_eq!((p.account(), p.namespace()), ("acc", "ns1"));
        let p = parse(BASE);
        assert_eq!((p.account(), p.namespace()), ("acc", ""));
        let p = parse("/client/v4/accounts/a/other");
        assert_eq!((p.account(), p.namespace()), ("", ""));
    }

    #[test]
    fn parsed_once_and_handed_on() {
        let mut request = Request::builder()
            .uri(format!("{BASE}/ns1/values/k%20"))
            .body(())
            .expect("request");
        assert_eq!(ApiPath::of(&mut request).key(), Some("k "));
        // A later call finds the stored one, even if the URI changed meanwhile.
        *request.uri_mut() = "/elsewhere".parse().expect("uri");
        assert_eq!(ApiPath::of(&mut request).key(), Some("k "));
    }
}
