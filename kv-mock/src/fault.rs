//! Fault injection: [`Fault`]s that the next N matching requests get instead of (or on top of)
//! their normal answer, and the layer of the router that applies them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::{BoxFuture, Either};
use http::{HeaderName, HeaderValue, header};
use http_body_util::BodyExt;
use kv_types::codes;
use serde::Serialize;
use tower::{Layer, Service};

use crate::http::body::DRAIN_EXTRA_BYTES;
use crate::http::errors::ApiError;
use crate::http::path::ApiPath;

/// How long a truncated body waits between its part and its failure.
const TRUNCATE_PAUSE: Duration = Duration::from_millis(20);

/// What a fault does to a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultAction {
    /// Answer with this status, an envelope error (code
    /// [`INJECTED_FAULT`](kv_types::codes::INJECTED_FAULT)) and these headers; the request is not
    /// applied.
    Status {
        /// The HTTP status.
        status: u16,
        /// Extra response headers, e.g. `Retry-After`.
        headers: Vec<(String, String)>,
    },
    /// Wait this long, then handle the request normally.
    Delay {
        /// How long, in milliseconds.
        delay_ms: u64,
    },
    /// Close the connection with no response; the request is not applied.
    Reset,
    /// Handle the request normally (it is applied), then send the response headers (with the
    /// full `Content-Length`) and only part of the body before closing the connection.
    TruncateBody,
}

/// Which requests a fault applies to: all the conditions given must hold (none given matches
/// every request to the API; the `/__mock/` control endpoints never match).
///
/// ```
/// use kv_mock::FaultMatch;
///
/// let m = FaultMatch::method("PUT").with_key("users/42");
/// assert!(m.matches("PUT", "/client/v4/accounts/a/storage/kv/namespaces/n/values/users%2F42", Some("users/42")));
/// assert!(!m.matches("GET", "/client/v4/accounts/a/storage/kv/namespaces/n/values/users%2F42", Some("users/42")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FaultMatch {
    method: Option<String>,
    path_contains: Option<String>,
    key: Option<String>,
}

impl FaultMatch {
    /// Every request.
    pub fn any() -> FaultMatch {
        FaultMatch::default()
    }

    /// Requests with this method (case-insensitive).
    pub fn method(method: impl Into<String>) -> FaultMatch {
        FaultMatch::any().with_method(method)
    }

    /// Requests whose raw path contains `fragment` (e.g. `"/bulk"` or `"/keys"`).
    pub fn path(fragment: impl Into<String>) -> FaultMatch {
        FaultMatch::any().with_path(fragment)
    }

    /// Requests for this key (the decoded key of a value or metadata route).
    pub fn key(key: impl Into<String>) -> FaultMatch {
        FaultMatch::any().with_key(key)
    }

    /// Also requires this method.
    pub fn with_method(mut self, method: impl Into<String>) -> FaultMatch {
        self.method = Some(method.into().to_ascii_uppercase());
        self
    }

    /// Also requires the raw path to contain `fragment`.
    pub fn with_path(mut self, fragment: impl Into<String>) -> FaultMatch {
        self.path_contains = Some(fragment.into());
        self
    }

    /// Also requires this key.
    pub fn with_key(mut self, key: impl Into<String>) -> FaultMatch {
        self.key = Some(key.into());
        self
    }

    /// Whether a request with this method, raw path and key matches.
    pub fn matches(&self, method: &str, path: &str, key: Option<&str>) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
            && self.key.as_deref().is_none_or(|k| key == Some(k))
    }
}

/// A fault for the next `times` (1 unless told) matching requests.
///
/// ```
/// use std::time::Duration;
/// use kv_mock::{Fault, FaultMatch};
///
/// let throttle = Fault::status(429)
///     .header("Retry-After", "1")
///     .times(2)
///     .matching(FaultMatch::method("PUT"));
/// let slow = Fault::delay(Duration::from_millis(200));
/// let hang_up = Fault::reset().matching(FaultMatch::path("/bulk"));
/// let cut = Fault::truncate_body().matching(FaultMatch::key("big"));
/// # let _ = (throttle, slow, hang_up, cut);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// What it does.
    pub action: FaultAction,
    /// How many more matching requests it applies to.
    pub times: u32,
    /// Which requests it applies to.
    pub matcher: FaultMatch,
}

impl Fault {
    fn new(action: FaultAction) -> Fault {
        Fault {
            action,
            times: 1,
            matcher: FaultMatch::any(),
        }
    }

    /// Answer with `status` (e.g. 429, 500, 503) and an envelope error; add headers with
    /// [`header`](Self::header).
    pub fn status(status: u16) -> Fault {
        Fault::new(FaultAction::Status {
            status,
            headers: Vec::new(),
        })
    }

    /// Wait `delay`, then answer normally. The request's body is read first (held in memory), so
    /// a client that gives up during the delay and closes its connection is seen: its request is
    /// dropped, not applied late.
    pub fn delay(delay: Duration) -> Fault {
        Fault::new(FaultAction::Delay {
            delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// Close the connection with no response.
    pub fn reset() -> Fault {
        Fault::new(FaultAction::Reset)
    }

    /// Apply the request, then cut the response body short.
    pub fn truncate_body() -> Fault {
        Fault::new(FaultAction::TruncateBody)
    }

    /// Adds a response header (for [`Fault::status`]; ignored by the other kinds).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Fault {
        if let FaultAction::Status { headers, .. } = &mut self.action {
            headers.push((name.into(), value.into()));
        }
        self
    }

    /// Applies to the next `n` matching requests (0 makes it apply to none).
    pub fn times(mut self, n: u32) -> Fault {
        self.times = n;
        self
    }

    /// Applies only to requests that `matcher` accepts.
    pub fn matching(mut self, matcher: FaultMatch) -> Fault {
        self.matcher = matcher;
        self
    }
}

/// The faults waiting for requests, in the order they were injected.
#[derive(Debug, Default)]
pub(crate) struct FaultSet {
    pending: Mutex<Vec<Fault>>,
    /// Whether `pending` may hold a fault (written under its lock), so a request finds out that
    /// there is none without taking the lock.
    armed: AtomicBool,
}

impl FaultSet {
    /// Adds a fault after the others.
    pub(crate) fn inject(&self, fault: Fault) {
        if fault.times > 0 {
            let mut pending = self.lock();
            pending.push(fault);
            self.armed.store(true, Ordering::Release);
        }
    }

    /// Whether any fault is waiting.
    fn is_armed(&self) -> bool {
        self.armed.load(Ordering::Acquire)
    }

    /// The action of the first fault that matches this request, using up one of its times.
    pub(crate) fn take(&self, method: &str, path: &str, key: Option<&str>) -> Option<FaultAction> {
        let mut pending = self.lock();
        let index = pending
            .iter()
            .position(|f| f.matcher.matches(method, path, key))?;
        let fault = pending.get_mut(index)?;
        let action = fault.action.clone();
        fault.times = fault.times.saturating_sub(1);
        if fault.times == 0 {
            pending.remove(index);
            self.armed.store(!pending.is_empty(), Ordering::Release);
        }
        Some(action)
    }

    /// The faults still waiting.
    pub(crate) fn pending(&self) -> Vec<Fault> {
        self.lock().clone()
    }

    /// Forgets every fault.
    pub(crate) fn clear(&self) {
        let mut pending = self.lock();
        pending.clear();
        self.armed.store(false, Ordering::Release);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Marks the answer to a request that a [`Fault::reset`] hit: its body fails before a byte of it
/// (or of the head) is written, which makes hyper drop the connection with no response. The log
/// records it with status `0`.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("kv-mock: connection reset by an injected fault")]
pub(crate) struct ConnectionReset;

/// The answer that closes the connection with no response.
fn reset() -> Response {
    let failure = futures_util::stream::once(async { Err::<Bytes, _>(ConnectionReset) });
    let mut response = Response::new(Body::from_stream(failure));
    response.extensions_mut().insert(ConnectionReset);
    response
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
    // flushed to the client) before it fails, which makes hyper abort the connection.
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

/// The most of a delayed request's body read before its delay: more than any body the routes
/// accept (a bulk write's 100 MB and the allowance the routes drain past a limit). A longer
/// body goes on as a stream after what was read, for the routes to refuse.
const READ_AHEAD_LIMIT: usize = kv_types::limits::MAX_BULK_BYTES + DRAIN_EXTRA_BYTES;

/// Reads `body` into memory, up to about `limit` bytes; the same bytes (and a read error, where
/// it came) as a body again, followed by the unread rest if there is one.
async fn read_ahead(mut body: Body, limit: usize) -> Body {
    let mut read: Vec<Result<Bytes, axum::Error>> = Vec::new();
    let mut held = 0;
    while held <= limit {
        match body.frame().await {
            None => return Body::from_stream(futures_util::stream::iter(read)),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    held += data.len();
                    read.push(Ok(data));
                }
            }
            Some(Err(e)) => {
                read.push(Err(e));
                return Body::from_stream(futures_util::stream::iter(read));
            }
        }
    }
    Body::from_stream(futures_util::stream::iter(read).chain(body.into_data_stream()))
}

/// What a fault does to a request, given the routes it would otherwise go to.
async fn apply<S>(action: FaultAction, mut inner: S, request: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let mut call = async |request| match inner.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    match action {
        FaultAction::Reset => reset(),
        FaultAction::Status { status, headers } => injected_status(status, &headers),
        FaultAction::Delay { delay_ms } => {
            // The body is read before the delay, as by a slow server that has received the
            // request: the connection is then read again, so a client that gives up during the
            // delay (and closes it) is seen and the request dropped, whatever the body's framing.
            let (parts, body) = request.into_parts();
            let body = read_ahead(body, READ_AHEAD_LIMIT).await;
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            call(Request::from_parts(parts, body)).await
        }
        FaultAction::TruncateBody => truncate(call(request).await).await,
    }
}

/// The layer over the API routes that applies the waiting faults ([`FaultService`]).
#[derive(Debug, Clone)]
pub(crate) struct FaultLayer {
    faults: Arc<FaultSet>,
}

impl FaultLayer {
    /// Applies the faults of `faults`.
    pub(crate) fn new(faults: Arc<FaultSet>) -> FaultLayer {
        FaultLayer { faults }
    }
}

impl<S> Layer<S> for FaultLayer {
    type Service = FaultService<S>;

    fn layer(&self, inner: S) -> FaultService<S> {
        FaultService {
            inner,
            faults: Arc::clone(&self.faults),
        }
    }
}

/// A request that a waiting fault matches gets the fault (its status, a delay, a reset or a
/// truncated body); any other goes straight to the routes. With no fault waiting this costs one
/// atomic load: no lock, no allocation, the routes' own future.
#[derive(Debug, Clone)]
pub(crate) struct FaultService<S> {
    inner: S,
    faults: Arc<FaultSet>,
}

impl<S> Service<Request> for FaultService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if !self.faults.is_armed() {
            return Either::Left(self.inner.call(request));
        }
        let mut request = request;
        // Parsed once: the handler's extractor takes the stored path.
        let key = ApiPath::of(&mut request).key().map(str::to_owned);
        let action = self.faults.take(
            request.method().as_str(),
            request.uri().path(),
            key.as_deref(),
        );
        match action {
            None => Either::Left(self.inner.call(request)),
            Some(action) => {
                // The clone that was made ready stays in use; `self` keeps a fresh one.
                let inner = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, inner);
                Either::Right(Box::pin(
                    async move { Ok(apply(action, ready, request).await) },
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn armed_only_while_a_fault_waits() {
        let set = FaultSet::default();
        assert!(!set.is_armed());
        set.inject(Fault::reset().times(0));
        assert!(!set.is_armed());
        set.inject(Fault::reset());
        assert!(set.is_armed());
        assert_eq!(set.take("GET", "/x", None), Some(FaultAction::Reset));
        assert!(!set.is_armed());
        set.inject(Fault::reset());
        set.clear();
        assert!(!set.is_armed());
    }

    #[test]
    fn used_up_in_order() {
        let set = FaultSet::default();
        set.inject(
            Fault::status(503)
                .times(2)
                .matching(FaultMatch::method("put")),
        );
        set.inject(Fault::reset());
        set.inject(Fault::truncate_body().times(0));
        assert_eq!(set.pending().len(), 2);
        assert_eq!(set.take("GET", "/x", None), Some(FaultAction::Reset));
        assert_eq!(set.take("GET", "/x", None), None);
        for _ in 0..2 {
            assert!(matches!(
                set.take("PUT", "/x", None),
                Some(FaultAction::Status { status: 503, .. })
            ));
        }
        assert_eq!(set.take("PUT", "/x", None), None);
    }

    #[test]
    fn matchers_combine() {
        let m = FaultMatch::path("/values/")
            .with_key("k")
            .with_method("DELETE");
        assert!(m.matches("delete", "/a/values/k", Some("k")));
        assert!(!m.matches("delete", "/a/values/k", Some("j")));
        assert!(!m.matches("delete", "/a/keys", Some("k")));
        assert!(!m.matches("delete", "/a/values/k", None));
        assert!(FaultMatch::any().matches("GET", "/", None));
        let f = Fault::status(429).header("Retry-After", "1");
        assert_eq!(
            f.action,
            FaultAction::Status {
                status: 429,
                headers: vec![("Retry-After".into(), "1".into())]
            }
        );
        assert_eq!(Fault::reset().header("x", "y").action, FaultAction::Reset);
    }
}
