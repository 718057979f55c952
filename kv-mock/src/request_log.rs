//! The log of the requests a mock received (method, path, key and status), and the layer of the
//! router that writes it.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use futures_util::future::BoxFuture;
use http::Method;
use serde::Serialize;
use tower::{Layer, Service};

use crate::fault::ConnectionReset;

/// The most records kept; older ones are dropped first.
const MAX_RECORDS: usize = 100_000;

/// One request the mock received (control endpoints under `/__mock/` are not logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// The method, e.g. `PUT`.
    pub method: String,
    /// The raw path, without the query.
    pub path: String,
    /// The decoded key, for value and metadata routes.
    pub key: Option<String>,
    /// The status answered; `0` when the connection was reset with no response.
    pub status: u16,
    /// The location that received it, when the mock has locations (left out of the JSON
    /// without).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// What is kept per request: the method (no allocation for the usual ones), the raw path and the
/// status. The key is decoded from the path when the log is read, not on every request.
#[derive(Debug)]
struct Entry {
    method: Method,
    path: Box<str>,
    status: u16,
    /// Shared by every request of one location.
    location: Option<Arc<str>>,
}

impl Entry {
    fn record(&self) -> RequestRecord {
        RequestRecord {
            method: self.method.as_str().to_owned(),
            path: self.path.to_string(),
            key: crate::http::path::key_of(&self.path),
            status: self.status,
            location: self.location.as_deref().map(str::to_owned),
        }
    }
}

/// The records, oldest first, at most [`MAX_RECORDS`].
#[derive(Default)]
pub(crate) struct RequestLog {
    entries: Mutex<VecDeque<Entry>>,
}

impl std::fmt::Debug for RequestLog {
    /// The number of records only: the log may hold 100,000 of them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestLog")
            .field("records", &self.lock().len())
            .finish()
    }
}

impl RequestLog {
    /// Appends a record, dropping the oldest beyond the cap.
    fn push(&self, entry: Entry) {
        let mut entries = self.lock();
        if entries.len() >= MAX_RECORDS {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// Every record, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<RequestRecord> {
        self.lock().iter().map(Entry::record).collect()
    }

    /// Forgets every record.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The layer over the API routes that records each request ([`LogService`]).
#[derive(Debug, Clone)]
pub(crate) struct LogLayer {
    log: Arc<RequestLog>,
    location: Option<Arc<str>>,
}

impl LogLayer {
    /// Records into `log`, each request with the name of the `location` served (if any).
    pub(crate) fn new(log: Arc<RequestLog>, location: Option<Arc<str>>) -> LogLayer {
        LogLayer { log, location }
    }
}

impl<S> Layer<S> for LogLayer {
    type Service = LogService<S>;

    fn layer(&self, inner: S) -> LogService<S> {
        LogService {
            inner,
            log: Arc::clone(&self.log),
            location: self.location.clone(),
        }
    }
}

/// Records each request with the status it got (`0` when a fault reset the connection).
#[derive(Debug, Clone)]
pub(crate) struct LogService<S> {
    inner: S,
    log: Arc<RequestLog>,
    location: Option<Arc<str>>,
}

impl<S> Service<Request> for LogService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let method = request.method().clone();
        let path = Box::from(request.uri().path());
        let answer = self.inner.call(request);
        let log = Arc::clone(&self.log);
        let location = self.location.clone();
        Box::pin(async move {
            let response = answer.await?;
            let status = if response.extensions().get::<ConnectionReset>().is_some() {
                0
            } else {
                response.status().as_u16()
            };
            log.push(Entry {
                method,
                path,
                status,
                location,
            });
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_is_bounded() {
        let log = RequestLog::default();
        for i in 0..(MAX_RECORDS + 5) {
            log.push(Entry {
                method: Method::GET,
                path: format!("/{i}").into(),
                status: 200,
                location: None,
            });
        }
        let all = log.snapshot();
        assert_eq!(all.len(), MAX_RECORDS);
        assert_eq!(all[0].path, "/5");
        log.clear();
        assert!(log.snapshot().is_empty());
    }

    #[test]
    fn records_carry_the_decoded_key() {
        let log = RequestLog::default();
        log.push(Entry {
            method: Method::PUT,
            path: "/client/v4/accounts/a/storage/kv/namespaces/n/values/a%2Fb".into(),
            status: 200,
            location: Some(Arc::from("fra")),
        });
        assert_eq!(
            log.snapshot(),
            vec![RequestRecord {
                method: "PUT".into(),
                path: "/client/v4/accounts/a/storage/kv/namespaces/n/values/a%2Fb".into(),
                key: Some("a/b".into()),
                status: 200,
                location: Some("fra".into()),
            }]
        );
    }
}
