//! A recording proxy on 127.0.0.1: every request a client sends is kept whole (method, path and
//! query, headers, body) and forwarded to a kv-mock, whose answer goes back unchanged. The client
//! under test thus gets real, valid answers, and the test sees exactly what went on the wire.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

/// One request as the client sent it.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    /// The method.
    pub(crate) method: String,
    /// The raw path and query, as sent.
    pub(crate) uri: String,
    /// The headers.
    pub(crate) headers: HeaderMap,
    /// The whole body.
    pub(crate) body: Vec<u8>,
}

#[derive(Clone)]
struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    log: Arc<Mutex<Vec<Captured>>>,
}

/// A running proxy; it stops when the test's runtime ends.
pub(crate) struct CaptureProxy {
    origin: String,
    log: Arc<Mutex<Vec<Captured>>>,
}

impl CaptureProxy {
    /// Starts a proxy to `upstream_origin` (`http://127.0.0.1:PORT`, no path).
    pub(crate) async fn start(upstream_origin: &str) -> CaptureProxy {
        let log = Arc::new(Mutex::new(Vec::new()));
        let state = ProxyState {
            upstream: upstream_origin.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            log: log.clone(),
        };
        let app = Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let origin = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        CaptureProxy { origin, log }
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }

    /// Takes every request recorded so far, oldest first.
    pub(crate) fn take(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.log.lock().expect("log lock"))
    }
}

async fn forward(State(state): State<ProxyState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let uri = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| parts.uri.path().to_owned());
    state.log.lock().expect("log lock").push(Captured {
        method: parts.method.to_string(),
        uri: uri.clone(),
        headers: parts.headers.clone(),
        body: body.to_vec(),
    });

    let mut upstream = state
        .http
        .request(parts.method.clone(), format!("{}{uri}", state.upstream));
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.body(body).send().await {
        Ok(answer) => answer,
        Err(e) => {
            return Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Body::from(format!("proxy: {e}")))
                .unwrap_or_default();
        }
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    response.body(Body::from(bytes)).unwrap_or_default()
}
