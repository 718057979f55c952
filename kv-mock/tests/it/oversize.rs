//! A body over its limit is answered so that a client that sends all of it before reading sees
//! the 413: the rest is read and thrown away (within 8 MiB past the limit), then the answer comes
//! and the connection stays usable. Past that bound the answer comes at once, with
//! `Connection: close`, and the connection is closed after it.

use std::time::Duration;

use kv_mock::{Clock, KvMock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The value limit of these mocks.
const LIMIT: usize = 1024;
/// The drain bound past the limit (kv-mock's `DRAIN_EXTRA_BYTES`).
const DRAIN_EXTRA: usize = 8 * 1024 * 1024;
/// Longest wait for an answer.
const WAIT: Duration = Duration::from_secs(20);

async fn mock() -> KvMock {
    KvMock::builder()
        .clock(Clock::frozen_at(1_700_000_000))
        .rate_limit(false)
        .limits(kv_types::Limits {
            max_value_bytes: LIMIT,
            ..kv_types::Limits::PRODUCTION
        })
        .start()
        .await
        .expect("mock")
}

fn path(mock: &KvMock, key: &str) -> String {
    format!(
        "/client/v4/accounts/{}/storage/kv/namespaces/{}/values/{key}",
        mock.account_id(),
        mock.namespace_id()
    )
}

/// Reads one answer (by its `Content-Length`): status, lowercase head, body.
async fn answer(stream: &mut TcpStream) -> (u16, String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let read = async {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "closed before an answer");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("content-length");
        while buf.len() < head_end + len {
            let n = stream.read(&mut chunk).await.expect("read body");
            assert!(n > 0, "closed mid-body");
            buf.extend_from_slice(&chunk[..n]);
        }
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        (status, head, buf[head_end..head_end + len].to_vec())
    };
    tokio::time::timeout(WAIT, read)
        .await
        .expect("an answer in time")
}

fn code(body: &[u8]) -> serde_json::Value {
    let j: serde_json::Value = serde_json::from_slice(body).expect("envelope");
    j["errors"][0]["code"].clone()
}

/// A small write on the same connection, which must still be served.
async fn still_serves(mock: &KvMock, stream: &mut TcpStream) {
    let put = format!(
        "PUT {} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nok",
        path(mock, "after")
    );
    stream.write_all(put.as_bytes()).await.expect("write");
    let (status, _, _) = answer(stream).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_oversize_body_sent_in_full_before_reading_gets_the_413_and_keeps_the_connection() {
    let mock = mock().await;
    let mut stream = TcpStream::connect(mock.addr()).await.expect("connect");
    // With a Content-Length, the whole body written before anything is read (as urllib does).
    let len = LIMIT + 1 + 4 * 1024 * 1024;
    let mut request = format!(
        "PUT {} HTTP/1.1\r\nhost: x\r\ncontent-length: {len}\r\n\r\n",
        path(&mock, "big")
    )
    .into_bytes();
    request.resize(request.len() + len, b'x');
    tokio::time::timeout(WAIT, stream.write_all(&request))
        .await
        .expect("the server reads the whole body")
        .expect("write");
    let (status, head, body) = answer(&mut stream).await;
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    assert_eq!(code(&body), kv_types::codes::VALUE_TOO_LARGE);
    assert!(!head.contains("connection: close"), "{head}");
    still_serves(&mock, &mut stream).await;
    // Chunked, over the limit by a little: drained too.
    let mut request = format!(
        "PUT {} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n",
        path(&mock, "big")
    )
    .into_bytes();
    for _ in 0..3 {
        request.extend_from_slice(format!("{:x}\r\n", LIMIT).as_bytes());
        request.resize(request.len() + LIMIT, b'y');
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    stream.write_all(&request).await.expect("write");
    let (status, head, _) = answer(&mut stream).await;
    assert_eq!(status, 413);
    assert!(!head.contains("connection: close"), "{head}");
    still_serves(&mock, &mut stream).await;
    assert!(mock.engine().entry(mock.namespace_id(), "big").is_none());
}

#[tokio::test]
async fn past_the_drain_bound_the_answer_comes_at_once_and_the_connection_closes() {
    let mock = mock().await;
    let mut stream = TcpStream::connect(mock.addr()).await.expect("connect");
    let len = LIMIT + DRAIN_EXTRA + 1;
    let head = format!(
        "PUT {} HTTP/1.1\r\nhost: x\r\ncontent-length: {len}\r\n\r\n",
        path(&mock, "huge")
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    // No body sent: the answer does not wait for it.
    let (status, head, body) = answer(&mut stream).await;
    assert_eq!(status, 413);
    assert_eq!(code(&body), kv_types::codes::VALUE_TOO_LARGE);
    assert!(head.contains("connection: close"), "{head}");
    let mut rest = [0u8; 16];
    let n = tokio::time::timeout(WAIT, stream.read(&mut rest))
        .await
        .expect("closed in time")
        .unwrap_or(0);
    assert_eq!(n, 0, "the connection is closed after the answer");
}
