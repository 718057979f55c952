//! Optional authentication: `Authorization: Bearer <token>` or `X-Auth-Email` + `X-Auth-Key`,
//! compared in constant time.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use subtle::{Choice, ConstantTimeEq};

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

/// Compares `given` with the secret `expected` doing the same work whatever `given` holds: one
/// constant-time byte comparison per byte of `expected` (a shorter `given` is read as padded
/// with zeros), and the lengths compared as fixed-width integers, all combined with `subtle`'s
/// [`Choice`] so nothing stops at the first difference. `subtle`'s own slice comparison returns
/// early when the lengths differ, which would tell the secret's length; this never does. The
/// only branch is on the length of `given`, which the caller already knows.
///
/// Returns the result and how many byte comparisons were made (always `expected.len()`), so a
/// test can check that the work does not depend on the input.
fn compare_secret(given: &[u8], expected: &[u8]) -> (Choice, usize) {
    let mut equal = (given.len() as u64).ct_eq(&(expected.len() as u64));
    let mut compared = 0usize;
    for (i, e) in expected.iter().enumerate() {
        let g = given.get(i).copied().unwrap_or(0);
        equal &= g.ct_eq(e);
        compared += 1;
    }
    (equal, compared)
}

/// Whether the credential `given` is the secret `expected` (see [`compare_secret`]).
fn same(given: &str, expected: &str) -> bool {
    bool::from(compare_secret(given.as_bytes(), expected.as_bytes()).0)
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
    fn secrets_compare_with_the_same_work_whatever_is_given() {
        let secret = b"s3cret-token";
        let cases: [(&[u8], bool); 12] = [
            (b"s3cret-token", true),
            (b"", false),
            (b"s", false),
            (b"s3cret-toke", false),
            (b"s3cret-token-", false),
            (b"s3cret-tokenXXXXXXXXXXXXXXXXXXXXXXXXX", false),
            (b"x3cret-token", false),
            (b"s3cret-tokeN", false),
            (b"S3CRET-TOKEN", false),
            (b"s3cret-token\0", false),
            // Zero bytes where `given` runs out must not pass for padding.
            (b"s3cret-token\0\0\0", false),
            (b"\0\0\0\0\0\0\0\0\0\0\0\0", false),
        ];
        for (given, expected) in cases {
            let (equal, compared) = compare_secret(given, secret);
            assert_eq!(bool::from(equal), expected, "{given:?}");
            assert_eq!(
                compared,
                secret.len(),
                "{given:?}: every byte of the secret, always"
            );
        }
        // A secret that ends in zero bytes is not matched by a shorter given.
        let (equal, compared) = compare_secret(b"ab", b"ab\0");
        assert!(!bool::from(equal));
        assert_eq!(compared, 3);
        let (equal, _) = compare_secret(b"", b"");
        assert!(bool::from(equal));
        assert!(same("abc", "abc") && !same("abc", "abcd") && !same("abcd", "abc"));
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
