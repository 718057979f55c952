//! [`ApiPath`]: the account, namespace and raw key of a request, read from the raw path (so a
//! key is percent-decoded exactly once, by [`ApiPath::key`]).

use axum::extract::FromRequestParts;
use http::request::Parts;
use kv_types::{Limits, ValidationError};
use percent_encoding::percent_decode_str;

use super::ApiState;
use super::errors::ApiError;

/// Where the parts sit in `/client/v4/accounts/{a}/storage/kv/namespaces/{ns}/values/{key}`,
/// split on `/` (the leading empty piece is index 0).
const ACCOUNT: usize = 4;
const NAMESPACE: usize = 8;
const KEY_TAIL: usize = 10;

/// The parts of an API path. Extracting it checks the account: a request for another account
/// than the mock's gets 403 `Authentication error`, as a token without access to it would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiPath {
    /// The namespace id segment, when the route has one.
    pub(crate) namespace: String,
    /// Everything after `/values/` or `/metadata/`, raw (still percent-encoded), when the route
    /// has a key.
    pub(crate) raw_key: Option<String>,
}

impl ApiPath {
    /// Reads the parts of `path` (the raw path of the request).
    pub(crate) fn parse(path: &str) -> (String, ApiPath) {
        let pieces: Vec<&str> = path.splitn(KEY_TAIL + 1, '/').collect();
        let get = |i: usize| pieces.get(i).copied().unwrap_or("").to_owned();
        let raw_key = match pieces.get(KEY_TAIL - 1) {
            Some(&"values") | Some(&"metadata") => Some(get(KEY_TAIL)),
            _ => None,
        };
        (
            get(ACCOUNT),
            ApiPath {
                namespace: get(NAMESPACE),
                raw_key,
            },
        )
    }

    /// The key: the raw tail decoded once and checked against `limits`. A raw `/` in the tail is
    /// part of the key (everything after `/values/` is the key).
    pub(crate) fn key(&self, limits: &Limits) -> Result<String, ValidationError> {
        let raw = self.raw_key.as_deref().unwrap_or("");
        let key = decode_key(raw)?;
        limits.check_key(&key)?;
        Ok(key)
    }
}

/// Decodes a raw key path tail exactly once.
pub(crate) fn decode_key(raw: &str) -> Result<String, ValidationError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| ValidationError::KeyNotUtf8 {
            segment: raw.to_owned(),
        })
}

impl FromRequestParts<ApiState> for ApiPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let (account, path) = ApiPath::parse(parts.uri.path());
        if account != *state.account_id {
            return Err(ApiError::authentication());
        }
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "/client/v4/accounts/acc/storage/kv/namespaces";

    #[test]
    fn parts_of_a_value_path() {
        let (acc, p) = ApiPath::parse(&format!("{BASE}/ns1/values/a%2F..%2F..%2Fbulk"));
        assert_eq!(acc, "acc");
        assert_eq!(p.namespace, "ns1");
        assert_eq!(p.key(&Limits::PRODUCTION).as_deref(), Ok("a/../../bulk"));
        // A raw slash stays in the key.
        let (_, p) = ApiPath::parse(&format!("{BASE}/ns1/values/a/b%3F"));
        assert_eq!(p.key(&Limits::PRODUCTION).as_deref(), Ok("a/b?"));
        let (_, p) = ApiPath::parse(&format!("{BASE}/ns1/metadata/%252F"));
        assert_eq!(p.key(&Limits::PRODUCTION).as_deref(), Ok("%2F"));
        let (_, p) = ApiPath::parse(&format!("{BASE}/ns1/keys"));
        assert_eq!(p.raw_key, None);
        let (_, p) = ApiPath::parse(&format!("{BASE}/ns1/values/"));
        assert_eq!(p.key(&Limits::PRODUCTION), Err(ValidationError::EmptyKey));
        let (_, p) = ApiPath::parse(&format!("{BASE}/ns1/values/%FF"));
        assert!(matches!(
            p.key(&Limits::PRODUCTION),
            Err(ValidationError::KeyNotUtf8 { .. })
        ));
    }
}
