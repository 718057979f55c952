//! A tiny HTTP proxy on 127.0.0.1 in front of a kv-mock: it answers the next N requests with a
//! scripted broken response that the mock cannot produce (an HTML error page from a proxy, a
//! JSON body that is not an envelope) and forwards every other request to the mock unchanged,
//! so the effect of a call can still be checked in the mock's engine.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use edge_kv::mock::KvMock;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A broken response, answered in place of the real one (the request does not reach the mock).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scripted {
    /// The HTTP status.
    pub(crate) status: u16,
    /// The `Content-Type`.
    pub(crate) content_type: &'static str,
    /// The body.
    pub(crate) body: &'static str,
}

struct ProxyState {
    upstream: String,
    scripted: Scripted,
    remaining: AtomicU32,
    served: AtomicU32,
    http: reqwest::Client,
}

/// The proxy; dropping it stops it.
pub(crate) struct FaultProxy {
    base_url: String,
    state: Arc<ProxyState>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy in front of `mock` that answers the next `times` requests with `scripted`.
    pub(crate) async fn start(mock: &KvMock, scripted: Scripted, times: u32) -> FaultProxy {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("the proxy binds a loopback port");
        let addr = listener.local_addr().expect("bound address");
        let state = Arc::new(ProxyState {
            upstream: format!("http://{}", mock.addr()),
            scripted,
            remaining: AtomicU32::new(times),
            served: AtomicU32::new(0),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("the proxy's HTTP client"),
        });
        let app = Router::new()
            .fallback(forward)
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("fault proxy stopped: {e}");
            }
        });
        FaultProxy {
            base_url: format!("http://{addr}{}", edge_kv::mock::BASE_PATH),
            state,
            task,
        }
    }

    /// The base URL to give the client, `http://127.0.0.1:PORT/client/v4`.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// How many requests got the scripted response.
    pub(crate) fn served(&self) -> usize {
        self.state.served.load(Ordering::SeqCst) as usize
    }

    /// Stops answering with the scripted response: every further request is forwarded.
    pub(crate) fn heal(&self) {
        self.state.remaining.store(0, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Takes one use of the scripted response, if any is left.
fn take_one(remaining: &AtomicU32) -> bool {
    remaining
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn scripted_response(s: Scripted) -> Response {
    Response::builder()
        .status(s.status)
        .header("content-type", s.content_type)
        .body(Body::from(s.body))
        .expect("a valid scripted response")
}

fn bad_gateway(reason: String) -> Response {
    Response::builder()
        .status(599)
        .body(Body::from(format!("fault proxy: {reason}")))
        .expect("a valid response")
}

/// Headers that belong to one hop and are not copied.
fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection" | "transfer-encoding" | "content-length" | "host" | "keep-alive"
    )
}

async fn forward(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    if take_one(&state.remaining) {
        state.served.fetch_add(1, Ordering::SeqCst);
        return scripted_response(state.scripted);
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return bad_gateway("cannot read the request body".into());
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut upstream = state
        .http
        .request(parts.method, format!("{}{path}", state.upstream));
    for (name, value) in &parts.headers {
        if !hop_by_hop(name.as_str()) {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.body(body).send().await {
        Ok(answer) => answer,
        Err(e) => return bad_gateway(e.to_string()),
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !hop_by_hop(name.as_str()) {
            response = response.header(name, value);
        }
    }
    match answer.bytes().await {
        Ok(bytes) => response
            .body(Body::from(bytes))
            .expect("a valid forwarded response"),
        Err(e) => bad_gateway(e.to_string()),
    }
}
