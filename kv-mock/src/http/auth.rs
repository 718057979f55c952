//! Optional authentication: `Authorization: Bearer <token>` or `X-Auth-Email` + `X-Auth-Key`,
//! compared in constant time.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use subtle::ConstantTimeEq;

use super::ApiState;
use super::errors::ApiError;

/// The credentials a mock accepts. When none is set, every request is accepted. Never printed:
/// `Debug` shows only which kinds are set.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    token: Option<String>,
    email_key: Option<(String, String)>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("email_key", &self.email_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Credentials {
    /// No credentials: every request is accepted.
    pub fn none() -> Credentials {
        Credentials::default()
    }

    /// Accept `Authorization: Bearer <token>`.
    pub fn with_token(mut self, token: impl Into<String>) -> Credentials {
        self.token = Some(token.into());
        self
    }

    /// Accept `X-Auth-Email: <email>` with `X-Auth-Key: <key>`.
    pub fn with_email_key(
        mut self,
        email: impl Into<String>,
        key: impl Into<String>,
    ) -> Credentials {
        self.email_key = Some((email.into(), key.into()));
        self
    }

    /// Whether any credential is required.
    pub fn is_required(&self) -> bool {
        self.token.is_some() || self.email_key.is_some()
    }

    /// Whether the request headers carry an accepted credential (always true when none is
    /// required).
    pub fn accepts(&self, headers: &HeaderMap) -> bool {
        if !self.is_required() {
            return true;
        }
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let token_ok = match (&self.token, header("authorization")) {
            (Some(expected), Some(given)) => {
                let given = given.trim();
                let bearer = given
                    .get(..7)
                    .filter(|p| p.eq_ignore_ascii_case("bearer "))
                    .map(|_| given[7..].trim());
                bearer.is_some_and(|t| same(t, expected))
            }
            _ => false,
        };
        let email_key_ok = match (
            &self.email_key,
            header("x-auth-email"),
            header("x-auth-key"),
        ) {
            (Some((email, key)), Some(e), Some(k)) => {
                // Both compared, always, so timing does not say which one was wrong.
                let e_ok = same(e.trim(), email);
                let k_ok = same(k.trim(), key);
                e_ok & k_ok
            }
            _ => false,
        };
        token_ok || email_key_ok
    }
}

/// Middleware: 403 code 10000 `Authentication error` unless the request is authenticated.
pub(crate) async fn require_auth(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    if state.credentials.accepts(request.headers()) {
        next.run(request).await
    } else {
        ApiError::authentication().into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header"));
        }
        h
    }

    #[test]
    fn token_and_email_key() {
        let none = Credentials::none();
        assert!(none.accepts(&HeaderMap::new()));
        let c = Credentials::none()
            .with_token("secret")
            .with_email_key("a@b.c", "k3y");
        assert!(!c.accepts(&HeaderMap::new()));
        assert!(c.accepts(&headers(&[("authorization", "Bearer secret")])));
        assert!(c.accepts(&headers(&[("authorization", "bearer secret")])));
        assert!(!c.accepts(&headers(&[("authorization", "Bearer secreT")])));
        assert!(!c.accepts(&headers(&[("authorization", "secret")])));
        assert!(!c.accepts(&headers(&[("authorization", "Bearer")])));
        assert!(c.accepts(&headers(&[
            ("x-auth-email", "a@b.c"),
            ("x-auth-key", "k3y")
        ])));
        assert!(!c.accepts(&headers(&[("x-auth-email", "a@b.c"), ("x-auth-key", "no")])));
        assert!(!c.accepts(&headers(&[("x-auth-key", "k3y")])));
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("secret") && !dbg.contains("k3y"), "{dbg}");
    }
}
