//! HTTP that hyper cannot parse gets hyper's own answer (400, 414 or 431, no envelope: it never
//! reaches the API) on a fresh connection and after good requests on a kept-alive one (answered
//! first, even when pipelined in the same write); then the connection closes. What hyper accepts
//! is still served, with an envelope.

use kv_mock::{Clock, KvMock};

use crate::hostile::raw_http::{Connection, ReadError};

/// Requests hyper refuses, and the status they get.
fn malformed() -> Vec<(&'static str, Vec<u8>, u16)> {
    let mut many_headers = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..101 {
        many_headers.extend_from_slice(format!("x-{i}: y\r\n").as_bytes());
    }
    many_headers.extend_from_slice(b"\r\n");
    // Exactly the most hyper buffers, with no end of head: refused once all of it is read.
    let mut huge_head = b"GET / HTTP/1.1\r\nx-big: ".to_vec();
    huge_head.resize(8192 + 4096 * 100, b'a');
    let long_target = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(65_534)).into_bytes();
    vec![
        ("garbage", b"GARBAGE\r\n\r\n".to_vec(), 400),
        ("bad method", b"G@T / HTTP/1.1\r\n\r\n".to_vec(), 400),
        (
            "control in target",
            b"GET /a\x01b HTTP/1.1\r\n\r\n".to_vec(),
            400,
        ),
        ("bad version", b"GET / HTTP/3.0\r\n\r\n".to_vec(), 400),
        (
            "target not UTF-8",
            b"GET /a\xFF HTTP/1.1\r\n\r\n".to_vec(),
            400,
        ),
        (
            "bad header line",
            b"GET / HTTP/1.1\r\nno colon\r\n\r\n".to_vec(),
            400,
        ),
        (
            "NUL in a header",
            b"GET / HTTP/1.1\r\nx: a\x00b\r\n\r\n".to_vec(),
            400,
        ),
        (
            "bad authority",
            b"GET http://[::1 HTTP/1.1\r\n\r\n".to_vec(),
            400,
        ),
        (
            "bad content-length",
            b"PUT / HTTP/1.1\r\ncontent-length: abc\r\n\r\n".to_vec(),
            400,
        ),
        (
            "content-length list",
            b"PUT / HTTP/1.1\r\ncontent-length: 1, 1\r\n\r\n".to_vec(),
            400,
        ),
        (
            "disagreeing content-lengths",
            b"PUT / HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n".to_vec(),
            400,
        ),
        (
            "transfer-encoding not chunked",
            b"PUT / HTTP/1.1\r\ntransfer-encoding: gzip\r\n\r\n".to_vec(),
            400,
        ),
        (
            "transfer-encoding in HTTP/1.0",
            b"PUT / HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n".to_vec(),
            400,
        ),
        ("101 headers", many_headers, 431),
        ("head too large", huge_head, 431),
        ("target too long", long_target, 414),
    ]
}

/// Reads the refusal: hyper's status (a 4xx), then the end of the connection.
async fn expect_refusal(conn: &mut Connection, name: &str, status: u16) {
    let (got, _headers, body) = conn
        .read_answer(false)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    assert!((400..500).contains(&got), "{name}: {got}");
    assert_eq!(got, status, "{name}: {}", String::from_utf8_lossy(&body));
    assert!(
        matches!(
            conn.read_answer(false).await,
            Err(ReadError::ClosedBeforeAnswer)
        ),
        "{name}: the connection closes after the refusal"
    );
}

async fn mock() -> KvMock {
    KvMock::builder()
        .clock(Clock::frozen_at(crate::hostile::NOW))
        .account_id(crate::hostile::ACCOUNT)
        .start()
        .await
        .expect("mock")
}

#[tokio::test]
async fn malformed_requests_get_a_4xx_and_a_closed_connection() {
    let mock = mock().await;
    let keys = format!(
        "GET /client/v4/accounts/{}/storage/kv/namespaces/{}/keys HTTP/1.1\r\nhost: x\r\n\r\n",
        mock.account_id(),
        mock.namespace_id()
    );
    for (name, request, status) in malformed() {
        // Alone on a fresh connection.
        let mut conn = Connection::open(mock.addr()).await;
        conn.send(&request).await;
        expect_refusal(&mut conn, name, status).await;
        // After a good request on a kept-alive connection.
        let mut conn = Connection::open(mock.addr()).await;
        let (ok, _, _) = conn.exchange(keys.as_bytes(), false).await.expect("good");
        assert_eq!(ok, 200);
        conn.send(&request).await;
        expect_refusal(&mut conn, name, status).await;
        // Pipelined behind a good one in the same write: the good one is answered first.
        let mut conn = Connection::open(mock.addr()).await;
        let mut both = keys.clone().into_bytes();
        both.extend_from_slice(&request);
        conn.send(&both).await;
        let (ok, _, body) = conn.read_answer(false).await.expect("good first");
        assert_eq!(ok, 200, "{name}: {}", String::from_utf8_lossy(&body));
        expect_refusal(&mut conn, name, status).await;
    }
    // The refusals were not requests of the API: none is logged.
    assert!(
        mock.requests().iter().all(|r| r.status == 200),
        "{:?}",
        mock.requests()
    );
}

#[tokio::test]
async fn what_hyper_accepts_is_still_served() {
    let mock = mock().await;
    let base = format!(
        "/client/v4/accounts/{}/storage/kv/namespaces/{}",
        mock.account_id(),
        mock.namespace_id()
    );
    let accepted: Vec<(&str, String, u16)> = vec![
        (
            "bare LF",
            format!("GET {base}/keys HTTP/1.1\nhost: x\n\n"),
            200,
        ),
        (
            "lowercase method",
            format!("get {base}/keys HTTP/1.1\r\n\r\n"),
            405,
        ),
        ("HTTP/1.0", format!("GET {base}/keys HTTP/1.0\r\n\r\n"), 200),
        (
            "absolute form",
            format!("GET http://127.0.0.1{base}/keys HTTP/1.1\r\n\r\n"),
            200,
        ),
        (
            "chunked with extension and trailer",
            format!(
                "PUT {base}/values/c HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2;x=y\r\nab\r\n1\r\nc\r\n0\r\nx-t: 1\r\n\r\n"
            ),
            200,
        ),
        (
            "expect 100-continue",
            format!(
                "PUT {base}/values/e HTTP/1.1\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\nhi"
            ),
            200,
        ),
        (
            "equal content-lengths",
            format!(
                "PUT {base}/values/d HTTP/1.1\r\ncontent-length: 2\r\ncontent-length: 2\r\n\r\nok"
            ),
            200,
        ),
        (
            "unknown route",
            "GET /nowhere HTTP/1.1\r\n\r\n".to_owned(),
            404,
        ),
    ];
    let mut conn = Connection::open(mock.addr()).await;
    for (name, request, status) in accepted {
        let mut answer = conn.exchange(request.as_bytes(), false).await;
        if matches!(answer, Err(ReadError::ClosedBeforeAnswer)) {
            conn = Connection::open(mock.addr()).await;
            answer = conn.exchange(request.as_bytes(), false).await;
        }
        let (mut got, _, mut body) = answer.unwrap_or_else(|e| panic!("{name}: {e:?}"));
        if got == 100 {
            (got, _, body) = conn.read_answer(false).await.expect("after 100");
        }
        assert_eq!(got, status, "{name}: {}", String::from_utf8_lossy(&body));
        let j: serde_json::Value = serde_json::from_slice(&body).expect("envelope");
        assert_eq!(j["success"], got == 200, "{name}: {j}");
    }
    assert_eq!(
        mock.engine()
            .entry(mock.namespace_id(), "c")
            .map(|e| e.value.to_vec()),
        Some(b"abc".to_vec())
    );
    assert_eq!(
        mock.engine()
            .entry(mock.namespace_id(), "e")
            .map(|e| e.value.to_vec()),
        Some(b"hi".to_vec())
    );
}
