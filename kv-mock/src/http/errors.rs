//! [`ApiError`]: a failure as the wire carries it (status, code, message, `Retry-After`), built
//! from engine and validation errors and answered as an envelope.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use kv_types::{Envelope, ValidationError, codes};

use super::envelope::json_response;
use crate::error::EngineError;

/// A failed request: the status, the code and message of the envelope, and `Retry-After` when
/// the client should wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: u32,
    pub(crate) message: String,
    pub(crate) retry_after: Option<u64>,
    /// Answer with `Connection: close` (a request body left unread).
    pub(crate) close: bool,
}

impl ApiError {
    /// A failure with this status, code and message.
    pub(crate) fn new(status: u16, code: u32, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message: message.into(),
            retry_after: None,
            close: false,
        }
    }

    /// 403, code 10000 `Authentication error`.
    pub(crate) fn authentication() -> ApiError {
        ApiError::new(403, codes::AUTHENTICATION_ERROR, "Authentication error")
    }

    /// 404, code 10009 `get: 'key not found'`.
    pub(crate) fn key_not_found() -> ApiError {
        ApiError::new(404, codes::KEY_NOT_FOUND, "get: 'key not found'")
    }

    /// 404 namespace not found for `op`.
    pub(crate) fn namespace_not_found(op: &'static str) -> ApiError {
        EngineError::NamespaceNotFound { op }.into()
    }

    /// 400, code [`codes::INVALID_REQUEST_BODY`].
    pub(crate) fn bad_body(message: impl Into<String>) -> ApiError {
        ApiError::new(400, codes::INVALID_REQUEST_BODY, message)
    }

    /// 400, code [`codes::INVALID_QUERY`].
    pub(crate) fn bad_query(message: impl Into<String>) -> ApiError {
        ApiError::new(400, codes::INVALID_QUERY, message)
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::new(e.status(), e.code(), e.to_string())
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let mut err = ApiError::new(e.status(), e.code(), e.to_string());
        if matches!(e, EngineError::RateLimited) {
            err.retry_after = Some(1);
        }
        err
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = json_response(
            self.status,
            &Envelope::<()>::failure(self.code, self.message),
        );
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.close {
            response
                .headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limited_carries_retry_after() {
        let r = ApiError::from(EngineError::RateLimited).into_response();
        assert_eq!(r.status(), 429);
        assert_eq!(
            r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
            Some("1")
        );
        assert_eq!(
            r.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
    }
}
