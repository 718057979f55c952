//! [`Secret`]: a token or key that never shows itself, and [`Auth`]: how requests authenticate.

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::Error;

/// A secret string (an API token or key). Its `Debug` prints `***`; it has no `Display`, and
/// the client marks the header carrying it as sensitive, so it never reaches a log or an error.
///
/// ```
/// use kv_client::Secret;
///
/// let token = Secret::new("abc123");
/// assert_eq!(format!("{token:?}"), "***");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

/// How requests authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// An API token, sent as `Authorization: Bearer <token>` (preferred).
    Token(Secret),
    /// A global API key with its account email, sent as `X-Auth-Email` and `X-Auth-Key`.
    EmailKey {
        /// The account email.
        email: String,
        /// The global API key.
        key: Secret,
    },
}

impl Auth {
    /// The headers, with the secret ones marked sensitive. A value that cannot be a header is a
    /// configuration error that does not repeat the secret.
    pub(crate) fn headers(&self) -> Result<HeaderMap, Error> {
        let mut headers = HeaderMap::new();
        match self {
            Auth::Token(token) => {
                let value = secret_header(&format!("Bearer {}", token.expose()), "API token")?;
                headers.insert(http::header::AUTHORIZATION, value);
            }
            Auth::EmailKey { email, key } => {
                let email = HeaderValue::from_str(email).map_err(|_| Error::Config {
                    reason: "the email contains characters not allowed in a header".into(),
                })?;
                headers.insert(HeaderName::from_static("x-auth-email"), email);
                headers.insert(
                    HeaderName::from_static("x-auth-key"),
                    secret_header(key.expose(), "API key")?,
                );
            }
        }
        Ok(headers)
    }
}

fn secret_header(text: &str, what: &str) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(text).map_err(|_| Error::Config {
        reason: format!("the {what} contains characters not allowed in a header"),
    })?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let auth = Auth::EmailKey {
            email: "a@b.c".into(),
            key: Secret::new("hunter2"),
        };
        let text = format!("{auth:?}");
        assert!(!text.contains("hunter2"), "{text}");
        let headers = Auth::Token(Secret::new("tok-123"))
            .headers()
            .expect("valid");
        assert!(!format!("{headers:?}").contains("tok-123"));
        assert!(headers[http::header::AUTHORIZATION].is_sensitive());
    }

    #[test]
    fn bad_header_characters_do_not_leak() {
        let err = Auth::Token(Secret::new("bad\ntoken"))
            .headers()
            .expect_err("invalid");
        assert!(!err.to_string().contains("bad"), "{err}");
    }
}
