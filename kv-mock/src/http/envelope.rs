//! Successful JSON answers: the envelope with `Content-Type: application/json`.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use kv_types::{Envelope, ResultInfo};
use serde::Serialize;

/// `body` as JSON with `status` and `Content-Type: application/json`.
pub(crate) fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    let (status, bytes) = match serde_json::to_vec(body) {
        Ok(bytes) => (status, bytes),
        Err(e) => {
            tracing::error!(error = %e, "kv-mock could not serialize a response");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                br#"{"success":false,"errors":[{"code":19019,"message":"internal error"}],"messages":[],"result":null}"#
                    .to_vec(),
            )
        }
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// 200 with a successful envelope around `result`.
pub(crate) fn ok<T: Serialize>(result: T) -> Response {
    json_response(StatusCode::OK, &Envelope::success(result))
}

/// 200 with a successful envelope around `result` and `result_info`.
pub(crate) fn ok_with_info<T: Serialize>(result: T, info: ResultInfo) -> Response {
    json_response(StatusCode::OK, &Envelope::success_with_info(result, info))
}

/// 200 with `null` as the result: the answer to a value write or delete and a namespace delete.
///
/// The spec allows `null` or `{}` there (a nullable object); `null` is what the `cloudflare` Rust
/// crate requires (it decodes these results as `()`), and every other client ignores the result.
pub(crate) fn ok_empty() -> Response {
    let mut response = Response::new(Body::from(bytes::Bytes::from_static(EMPTY_SUCCESS)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The successful envelope with a `null` result, as [`ok`] would serialize it (checked by a test),
/// written once instead of per request.
const EMPTY_SUCCESS: &[u8] = br#"{"success":true,"errors":[],"messages":[],"result":null}"#;

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn the_empty_success_is_what_ok_serializes() {
        let serialized = ok(()).into_body().collect().await.expect("body").to_bytes();
        assert_eq!(&serialized[..], EMPTY_SUCCESS);
        let r = ok_empty();
        assert_eq!(
            r.headers().get(header::CONTENT_TYPE),
            Some(&HeaderValue::from_static("application/json"))
        );
        assert_eq!(
            &r.into_body().collect().await.expect("body").to_bytes()[..],
            EMPTY_SUCCESS
        );
    }
}
