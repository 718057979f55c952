//! Tests of the head check, the chunk framing and the stream over an in-memory pipe.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

fn status_of(bytes: &[u8]) -> Option<u16> {
    match check_head(bytes) {
        HeadCheck::Reject { status, .. } => Some(status.as_u16()),
        _ => None,
    }
}

#[test]
fn heads_hyper_accepts_pass() {
    let ok = |b: &[u8], len: usize, then: Framing| {
        assert_eq!(
            check_head(b),
            HeadCheck::Complete { len, then },
            "{:?}",
            String::from_utf8_lossy(b)
        );
    };
    ok(b"GET / HTTP/1.1\r\n\r\n", 18, Framing::Head);
    ok(b"GET / HTTP/1.1\r\n\r\nrest", 18, Framing::Head);
    ok(b"get /x HTTP/1.0\r\n\r\n", 19, Framing::Head);
    ok(b"GET / HTTP/1.1\nhost: a\n\n", 24, Framing::Head);
    ok(b"\r\nGET / HTTP/1.1\r\n\r\n", 20, Framing::Head);
    ok(
        b"PUT /v HTTP/1.1\r\ncontent-length: 5\r\n\r\n",
        38,
        Framing::Body(5),
    );
    ok(
        b"PUT /v HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        38,
        Framing::Head,
    );
    ok(
        b"PUT /v HTTP/1.1\r\ncontent-length: 5\r\ncontent-length: 5\r\n\r\n",
        57,
        Framing::Body(5),
    );
    ok(
        b"PUT /v HTTP/1.1\r\ntransfer-encoding: gzip, chunked\r\ncontent-length: 9\r\n\r\n",
        72,
        Framing::Chunked(Chunk::Size { size: 0, digits: 0 }),
    );
    ok(
        b"GET /\xC3\xA9 HTTP/1.1\r\nx: \x80\xFF\r\n\r\n",
        27,
        Framing::Head,
    );
    ok(
        b"GET / HTTP/1.1\r\nupgrade: websocket\r\n\r\n",
        38,
        Framing::PassThrough,
    );
    assert_eq!(check_head(b"GET / HTTP/1.1\r\n"), HeadCheck::Partial);
    assert_eq!(check_head(b"GE"), HeadCheck::Partial);
    assert_eq!(
        check_head(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        HeadCheck::PassThrough
    );
}

#[test]
fn heads_hyper_refuses_are_refused_with_its_status() {
    assert_eq!(status_of(b"GARBAGE\r\n\r\n"), Some(400));
    assert_eq!(status_of(b"G@T / HTTP/1.1\r\n\r\n"), Some(400));
    assert_eq!(status_of(b"GET /\x01 HTTP/1.1\r\n\r\n"), Some(400));
    assert_eq!(status_of(b"GET / HTTP/3.0\r\n\r\n"), Some(400));
    assert_eq!(
        status_of(b"GET / HTTP/1.1\r\nbad header\r\n\r\n"),
        Some(400)
    );
    assert_eq!(status_of(b"GET / HTTP/1.1\r\nx: a\x01b\r\n\r\n"), Some(400));
    assert_eq!(status_of(b"GET http://[::1 HTTP/1.1\r\n\r\n"), Some(400));
    for cl in ["abc", "-1", "+1", "1, 1", " ", "18446744073709551616"] {
        let head = format!("PUT / HTTP/1.1\r\ncontent-length: {cl}\r\n\r\n");
        assert_eq!(status_of(head.as_bytes()), Some(400), "{cl}");
    }
    assert_eq!(
        status_of(b"PUT / HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        status_of(b"PUT / HTTP/1.1\r\ncontent-length: 18446744073709551615\r\n\r\n"),
        Some(431)
    );
    assert_eq!(
        status_of(b"PUT / HTTP/1.1\r\ntransfer-encoding: gzip\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        status_of(b"PUT / HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n"),
        Some(400)
    );
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..=MAX_HEADERS {
        many.extend_from_slice(format!("x{i}: y\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(status_of(&many), Some(431));
    let mut big = b"GET / HTTP/1.1\r\nx: ".to_vec();
    big.resize(MAX_HEAD_BYTES, b'a');
    assert_eq!(status_of(&big), Some(431));
    let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_TARGET_BYTES));
    assert_eq!(status_of(long.as_bytes()), Some(414));
    let at_limit = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_TARGET_BYTES - 1));
    assert_eq!(status_of(at_limit.as_bytes()), None);
}

/// Runs a whole chunked body through [`chunk_step`], one byte at a time or all at once.
fn chunked_end(body: &[u8], bytewise: bool) -> Option<(usize, Framing)> {
    let mut state = Framing::Chunked(Chunk::Size { size: 0, digits: 0 });
    let mut at = 0;
    while let Framing::Chunked(c) = state {
        if at == body.len() {
            return Some((at, state));
        }
        let end = if bytewise { at + 1 } else { body.len() };
        let (used, next) = chunk_step(c, &body[at..end])?;
        at += used;
        state = next;
    }
    Some((at, state))
}

#[test]
fn chunked_bodies_are_followed_to_their_end() {
    let body = b"5\r\nhello\r\nA;ext=1\r\n0123456789\r\n0\r\nx-trailer: t\r\n\r\nGET";
    for bytewise in [false, true] {
        assert_eq!(
            chunked_end(body, bytewise),
            Some((body.len() - 3, Framing::Head))
        );
    }
    assert_eq!(chunked_end(b"0\r\n\r\n", false), Some((5, Framing::Head)));
    assert_eq!(
        chunked_end(b"3 \r\nabc\r\n0\r\n\r\n", true),
        Some((14, Framing::Head))
    );
    // Unfinished: still inside.
    assert!(matches!(
        chunked_end(b"5\r\nhel", false),
        Some((6, Framing::Chunked(Chunk::Data(2))))
    ));
    // What hyper's decoder refuses is not followed.
    for bad in [
        &b"x\r\n"[..],
        b"\r\n",
        b"5\nhello",
        b"5\r\nhelloXX",
        b"11111111111111111\r\n",
    ] {
        assert_eq!(
            chunked_end(bad, false),
            None,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

/// Writes `input` into a guarded pipe, closes it, and returns what the guard passed on, and the
/// answer it would write on shutdown.
async fn through_guard(input: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    let mut guarded = GuardedStream::new(server);
    client.write_all(input).await.expect("write");
    drop(client);
    let mut passed = Vec::new();
    let mut buf = [0u8; 7];
    loop {
        let read = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            guarded.read(&mut buf),
        )
        .await;
        match read {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => passed.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => panic!("read: {e}"),
        }
    }
    (passed, guarded.answer.map(|(a, _)| a))
}

#[tokio::test]
async fn pipelined_requests_pass_until_a_bad_head() {
    let good = b"PUT /a HTTP/1.1\r\ncontent-length: 3\r\n\r\nabcGET /b HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
    let (passed, answer) = through_guard(good).await;
    assert_eq!(passed, good.to_vec());
    assert_eq!(answer, None);
    // A bad third head: the first two pass, the third never reaches hyper.
    let mut input = good.to_vec();
    input.extend_from_slice(b"GET /c HTTP/1.1\r\ncontent-length: nope\r\n\r\n");
    let (passed, answer) = through_guard(&input).await;
    assert_eq!(passed, good.to_vec());
    let answer = String::from_utf8(answer.expect("an answer")).expect("utf-8");
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("content-type: application/json\r\n"),
        "{answer}"
    );
    assert!(answer.contains("connection: close\r\n"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).expect("body");
    let j: serde_json::Value = serde_json::from_str(body).expect("envelope");
    assert_eq!(j["success"], false);
    assert_eq!(j["errors"][0]["code"], codes::MALFORMED_REQUEST);
    assert_eq!(j["result"], serde_json::Value::Null);
}

#[tokio::test]
async fn what_cannot_be_followed_passes_untouched() {
    // A head cut short by the client's close goes to hyper as it is (hyper reports it).
    let (passed, answer) = through_guard(b"GET / HTTP/1.1\r\nhost").await;
    assert_eq!((passed, answer), (b"GET / HTTP/1.1\r\nhost".to_vec(), None));
    // A chunked body hyper will refuse: passed on, hyper answers it.
    let input = b"PUT / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nGARBAGE\r\n\r\n";
    let (passed, answer) = through_guard(input).await;
    assert_eq!((passed, answer), (input.to_vec(), None));
    // The HTTP/2 preface.
    let input = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let (passed, answer) = through_guard(input).await;
    assert_eq!((passed, answer), (input.to_vec(), None));
}
