//! A 1 GiB value upload over loopback (with `Content-Length`, chunked, and chunked multipart) is
//! refused at the 25 MiB limit with 413 and the contract's message, the server stops reading
//! (the client's generator stops far below 1 GiB), and the process's memory stays small. The
//! client streams the body from one reused buffer: it never holds more than 64 KiB of it.
//!
//! Alone in its test binary, so no other test moves the process's RSS meanwhile.

use std::time::Duration;

use kv_mock::{Clock, KvMock};
use kv_types::limits::MAX_VALUE_BYTES;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;
/// The body is written in pieces of this size, from one buffer.
const PIECE: usize = 64 * 1024;
/// Most the process may grow while one upload is refused.
const MAX_GROWTH: u64 = 64 * MIB;
/// Most the client may manage to send before the server stops reading: the limit, plus what
/// socket buffers and the server's read buffer hold.
const MAX_SENT: u64 = MAX_VALUE_BYTES as u64 + 40 * MIB;

/// `VmRSS` and `VmHWM` of this process, in bytes.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|kb| kb * 1024)
            .unwrap_or_else(|| panic!("{name} in /proc/self/status"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets `VmHWM` to the current RSS where the kernel allows it (Linux 4.0+); where it does
/// not, the peak measured is the process's lifetime peak, which only makes the check stricter.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[derive(Debug, Clone, Copy)]
enum Framing {
    ContentLength,
    Chunked,
    ChunkedMultipart,
}

/// Writes the head and then up to 1 GiB of body, stopping at the first write error (the server
/// closed). Returns the body bytes the generator produced and whether a write failed.
async fn stream_body(mut w: OwnedWriteHalf, path: String, framing: Framing) -> (u64, bool) {
    let mut head = format!("PUT {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n");
    let boundary = "BigUploadBoundary";
    let (prefix, suffix) = match framing {
        Framing::ChunkedMultipart => (
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"value\"; filename=\"big\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ),
            format!("\r\n--{boundary}--\r\n"),
        ),
        _ => (String::new(), String::new()),
    };
    match framing {
        Framing::ContentLength => head.push_str(&format!("content-length: {GIB}\r\n")),
        Framing::Chunked => head.push_str("transfer-encoding: chunked\r\n"),
        Framing::ChunkedMultipart => head.push_str(&format!(
            "transfer-encoding: chunked\r\ncontent-type: multipart/form-data; boundary={boundary}\r\n"
        )),
    }
    head.push_str("\r\n");
    if w.write_all(head.as_bytes()).await.is_err() {
        return (0, true);
    }
    let piece = vec![b'x'; PIECE];
    let chunked = !matches!(framing, Framing::ContentLength);
    let mut produced = 0u64;
    let mut first = true;
    while produced < GIB {
        let mut out: Vec<u8> = Vec::with_capacity(PIECE + 128);
        let mut data_len = PIECE;
        if first && !prefix.is_empty() {
            out.extend_from_slice(prefix.as_bytes());
            data_len -= prefix.len();
            first = false;
        }
        out.extend_from_slice(&piece[..data_len]);
        let bytes = if chunked {
            let mut framed = format!("{:x}\r\n", out.len()).into_bytes();
            framed.extend_from_slice(&out);
            framed.extend_from_slice(b"\r\n");
            framed
        } else {
            out
        };
        if w.write_all(&bytes).await.is_err() {
            return (produced, true);
        }
        produced += PIECE as u64;
    }
    let end = match framing {
        Framing::ContentLength => Vec::new(),
        Framing::Chunked => b"0\r\n\r\n".to_vec(),
        Framing::ChunkedMultipart => {
            format!("{:x}\r\n{suffix}\r\n0\r\n\r\n", suffix.len()).into_bytes()
        }
    };
    let failed = w.write_all(&end).await.is_err();
    (produced, failed)
}

/// Reads one answer: status and body (by `Content-Length`).
async fn read_answer(mut r: OwnedReadHalf) -> (u16, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = r.read(&mut chunk).await.expect("answer");
        assert!(n > 0, "closed before an answer: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .expect("content-length");
    while buf.len() < head_end + len {
        let n = r.read(&mut chunk).await.expect("body");
        assert!(n > 0, "closed mid-body");
        buf.extend_from_slice(&chunk[..n]);
    }
    (status, buf[head_end..head_end + len].to_vec())
}

async fn refuse(mock: &KvMock, framing: Framing) {
    let path = format!(
        "/client/v4/accounts/{}/storage/kv/namespaces/{}/values/big",
        mock.account_id(),
        mock.namespace_id()
    );
    reset_peak();
    let (rss_before, _) = memory();
    let stream = TcpStream::connect(mock.addr()).await.expect("connect");
    let (r, w) = stream.into_split();
    let writer = tokio::spawn(stream_body(w, path, framing));
    let (status, body) = tokio::time::timeout(Duration::from_secs(60), read_answer(r))
        .await
        .expect("an answer in time");
    let (produced, failed) = tokio::time::timeout(Duration::from_secs(60), writer)
        .await
        .expect("the server stops reading in time")
        .expect("writer");
    let (rss_after, peak) = memory();
    eprintln!(
        "{framing:?}: {status}, produced {} MiB, write failed {failed}, RSS {} -> {} MiB, peak {} MiB",
        produced / MIB,
        rss_before / MIB,
        rss_after / MIB,
        peak / MIB
    );
    assert_eq!(
        status,
        413,
        "{framing:?}: {}",
        String::from_utf8_lossy(&body)
    );
    let j: serde_json::Value = serde_json::from_slice(&body).expect("envelope");
    assert_eq!(j["success"], serde_json::json!(false));
    assert_eq!(
        j["errors"][0]["code"],
        serde_json::json!(kv_types::codes::VALUE_TOO_LARGE)
    );
    let message = j["errors"][0]["message"].as_str().expect("message");
    let seen: u64 = message
        .strip_prefix("Value length of ")
        .and_then(|m| m.strip_suffix(&format!(" exceeds limit of {MAX_VALUE_BYTES}.")))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{framing:?}: the contract's message, got {message:?}"));
    match framing {
        Framing::ContentLength => assert_eq!(seen, GIB, "the announced length"),
        _ => assert!(seen > MAX_VALUE_BYTES as u64 && seen < MAX_SENT, "{seen}"),
    }
    // The server closed instead of draining: the generator was stopped far below 1 GiB.
    assert!(failed, "{framing:?}: the server read all {produced} bytes");
    assert!(
        produced < MAX_SENT,
        "{framing:?}: {produced} bytes sent before the server stopped reading"
    );
    assert!(
        peak.saturating_sub(rss_before) < MAX_GROWTH,
        "{framing:?}: peak {peak} vs {rss_before} before"
    );
    assert!(rss_after.saturating_sub(rss_before) < MAX_GROWTH);
    assert!(mock.engine().entry(mock.namespace_id(), "big").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gibibyte_upload_is_refused_at_the_limit_in_small_memory() {
    let mock = KvMock::builder()
        .clock(Clock::frozen_at(1_700_000_000))
        .start()
        .await
        .expect("mock");
    for framing in [
        Framing::ContentLength,
        Framing::Chunked,
        Framing::ChunkedMultipart,
    ] {
        refuse(&mock, framing).await;
    }
    // Still serving.
    let url = format!(
        "{}/accounts/{}/storage/kv/namespaces/{}/values/small",
        mock.base_url(),
        mock.account_id(),
        mock.namespace_id()
    );
    let r = reqwest::Client::new()
        .put(url)
        .body("ok")
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
}
