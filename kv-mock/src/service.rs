//! [`MockService`]: what a connection serves. It sends `/__mock/` to the control routes and
//! everything else to the API router, applying injected faults and logging each API request.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderName, HeaderValue, Request, header};
use http_body_util::BodyExt;
use kv_types::codes;
use tower::ServiceExt;

use crate::control::CONTROL_PREFIX;
use crate::fault::{FaultAction, FaultSet};
use crate::http::errors::ApiError;
use crate::http::path::ApiPath;
use crate::request_log::{RequestLog, RequestRecord};

/// How long a truncated body waits between its part and its failure.
const TRUNCATE_PAUSE: Duration = Duration::from_millis(20);

/// The answer to a request that a [`Fault::reset`](crate::Fault::reset) hit: the connection is
/// closed with no response.
#[derive(Debug, thiserror::Error)]
#[error("kv-mock: connection reset by an injected fault")]
pub(crate) struct ConnectionReset;

/// The API router, the control router, the faults and the log, behind one `handle`.
#[derive(Clone)]
pub(crate) struct MockService {
    pub(crate) api: Router,
    pub(crate) control: Router,
    pub(crate) faults: Arc<FaultSet>,
    pub(crate) log: Arc<RequestLog>,
}

fn is_control(path: &str) -> bool {
    path == CONTROL_PREFIX
        || path
            .strip_prefix(CONTROL_PREFIX)
            .is_some_and(|rest| rest.starts_with('/'))
}

async fn call(router: &Router, request: Request<Body>) -> Response {
    match router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The response with its body cut in half (at least one byte missing), announcing the full
/// length, so the client sees the connection end mid-body.
async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let full = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let announced = full.len().max(1);
    let sent = full.slice(..full.len() / 2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(announced));
    // The part is sent, then the body stays pending for a moment (so the head and the part are
    // flushed to the client) before it fails, which makes the server abort the connection.
    let first = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(sent) });
    let failure = futures_util::stream::once(async {
        tokio::time::sleep(TRUNCATE_PAUSE).await;
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "kv-mock: response body truncated by an injected fault",
        ))
    });
    Response::from_parts(parts, Body::from_stream(first.chain(failure)))
}

fn injected_status(status: u16, headers: &[(String, String)]) -> Response {
    let mut response = ApiError::new(
        status,
        codes::INJECTED_FAULT,
        format!("Injected fault: status {status}."),
    )
    .into_response();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

impl MockService {
    /// Answers one request, or [`ConnectionReset`] when a fault says to hang up.
    pub(crate) async fn handle(
        &self,
        mut request: Request<Body>,
    ) -> Result<Response, ConnectionReset> {
        let path = request.uri().path().to_owned();
        if is_control(&path) {
            return Ok(call(&self.control, request).await);
        }
        let method = request.method().as_str().to_owned();
        // Parsed once: the API's handler takes it from the request's extensions.
        let key = ApiPath::of(&mut request).key().map(str::to_owned);
        let fault = self.faults.take(&method, &path, key.as_deref());
        let record = |status: u16| RequestRecord {
            method: method.clone(),
            path: path.clone(),
            key: key.clone(),
            status,
        };
        let response = match fault {
            Some(FaultAction::Reset) => {
                self.log.record(record(0));
                return Err(ConnectionReset);
            }
            Some(FaultAction::Status { status, headers }) => injected_status(status, &headers),
            Some(FaultAction::Delay { delay_ms }) => {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                call(&self.api, request).await
            }
            Some(FaultAction::TruncateBody) => truncate(call(&self.api, request).await).await,
            None => call(&self.api, request).await,
        };
        self.log.record(record(response.status().as_u16()));
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_paths() {
        assert!(is_control("/__mock/clock"));
        assert!(is_control("/__mock"));
        assert!(!is_control("/__mockery"));
    }
}
