//! Test scaffolding for scripted servers: a wiremock server with a client pointed at it (manual
//! time, deterministic jitter), envelope responses, and a raw TCP server for failures wiremock
//! cannot script (a connection closed mid-request).

use std::time::Duration;

use kv_client::time::{FixedJitter, ManualTime};
use kv_client::{Client, KvNamespace, RetryConfig};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::{MockServer, ResponseTemplate};

pub(crate) const ACCOUNT: &str = "acc";
pub(crate) const NS: &str = "0123456789abcdef0123456789abcdef";
pub(crate) const PREFIX: &str = "/client/v4";

/// A wiremock server, the manual time the client uses, and a namespace handle of a client
/// pointed at it.
pub(crate) struct Scripted {
    pub(crate) server: MockServer,
    pub(crate) time: ManualTime,
    pub(crate) kv: KvNamespace,
}

/// Retry settings for tests: 3 retries, the default backoff, a 60 s deadline.
pub(crate) fn test_retry() -> RetryConfig {
    RetryConfig {
        max_retries: 3,
        deadline: Duration::from_secs(60),
        ..RetryConfig::default()
    }
}

pub(crate) async fn start() -> Scripted {
    start_with(test_retry()).await
}

pub(crate) async fn start_with(retry: RetryConfig) -> Scripted {
    let server = MockServer::start().await;
    let time = ManualTime::new();
    let client = builder(&server.uri(), &time, retry)
        .build()
        .expect("valid client");
    let kv = client.namespace(NS);
    Scripted { server, time, kv }
}

/// A builder for `uri` (plus the `/client/v4` prefix) with manual time and jitter = the full cap.
pub(crate) fn builder(
    uri: &str,
    time: &ManualTime,
    retry: RetryConfig,
) -> kv_client::ClientBuilder {
    Client::builder()
        .base_url(format!("{uri}{PREFIX}"))
        .account_id(ACCOUNT)
        .api_token("test-token-secret")
        .retry(retry)
        .attempt_timeout(Duration::from_secs(5))
        .clock(time.clone())
        .sleeper(time.clone())
        .jitter(FixedJitter(1.0))
}

/// The path of a namespace sub-resource: `ns_path("/values/k")`.
pub(crate) fn ns_path(tail: &str) -> String {
    format!("{PREFIX}/accounts/{ACCOUNT}/storage/kv/namespaces/{NS}{tail}")
}

/// A success envelope around `result`.
pub(crate) fn ok(result: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "success": true, "errors": [], "messages": [], "result": result
    }))
}

/// A failure envelope.
pub(crate) fn fail(status: u16, code: u32, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "success": false,
        "errors": [{"code": code, "message": message}],
        "messages": [],
        "result": null
    }))
}

/// What a raw server does with one connection.
#[derive(Debug, Clone)]
pub(crate) enum Conn {
    /// Reads the request head, then closes without answering.
    CloseAfterHead,
    /// Reads `n` bytes (head and part of the body), then closes.
    CloseAfterBytes(usize),
    /// Reads the whole request (head and `Content-Length` or chunked body) and answers with
    /// this raw HTTP response.
    Respond(String),
}

/// Starts a raw TCP server that handles one connection per script entry, in order, and returns
/// its base URI and a handle yielding every full request body it read.
pub(crate) async fn raw_server(
    script: Vec<Conn>,
) -> (String, tokio::task::JoinHandle<Vec<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handle = tokio::spawn(async move {
        let mut bodies = Vec::new();
        for conn in script {
            let Ok((mut socket, _)) = listener.accept().await else {
                break;
            };
            match conn {
                Conn::CloseAfterHead => {
                    let _ = read_head(&mut socket).await;
                }
                Conn::CloseAfterBytes(n) => {
                    let mut buf = vec![0u8; n];
                    let _ = socket.read_exact(&mut buf).await;
                }
                Conn::Respond(response) => {
                    if let Some((head, rest)) = read_head(&mut socket).await {
                        let body = read_body(&mut socket, &head, rest).await;
                        bodies.push(body);
                    }
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                }
            }
        }
        bodies
    });
    (format!("http://{addr}"), handle)
}

/// A raw HTTP response with a JSON body.
pub(crate) fn raw_json(status: u16, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

async fn read_head(socket: &mut tokio::net::TcpStream) -> Option<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    for _ in 0..10_000 {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
            return Some((head, data[end + 4..].to_vec()));
        }
    }
    None
}

async fn read_body(socket: &mut tokio::net::TcpStream, head: &str, mut got: Vec<u8>) -> Vec<u8> {
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    let mut buf = [0u8; 65536];
    for _ in 0..100_000 {
        let done = match length {
            Some(n) => got.len() >= n,
            None if chunked => got.ends_with(b"0\r\n\r\n"),
            None => true,
        };
        if done {
            break;
        }
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}
