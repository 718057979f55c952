//! A bounded stream of garbage requests: every answer is an envelope (or a value read), never a
//! server error, a panic or an empty reply; the server keeps serving afterwards.

use std::time::Duration;

use kv_mock::{Clock, KvMock};
use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// Text that is valid in a URL path or query once percent-encoded where needed.
    fn segment(&mut self) -> String {
        let len = self.below(12);
        let mut s = String::new();
        for _ in 0..len {
            match self.below(6) {
                0 => s.push_str(&format!("%{:02X}", self.next() as u8)),
                1 => s.push_str(self.pick(&[".", "..", "-", "_", "~", "%2F", "%25", "+", "é"])),
                _ => s.push((b'a' + (self.below(26) as u8)) as char),
            }
        }
        s
    }
}

#[tokio::test]
async fn garbage_requests_get_only_envelope_errors() {
    let mock = KvMock::builder()
        .clock(Clock::frozen_at(1_700_000_000))
        .start()
        .await
        .expect("mock");
    mock.engine()
        .seed(
            mock.namespace_id(),
            "seeded",
            "value",
            kv_types::PutOptions::new(),
        )
        .expect("seed");
    let client = reqwest::Client::new();
    let origin = format!("http://{}", mock.addr());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let methods = [
        "GET", "GET", "PUT", "PUT", "POST", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS",
    ];
    let routes = [
        "",
        "/",
        "/values/",
        "/values/seeded",
        "/metadata/",
        "/metadata/seeded",
        "/keys",
        "/bulk",
        "/bulk/get",
        "/bulk/delete",
        "/bulk/x",
        "/values",
        "/metadata",
    ];
    let content_types = [
        "",
        "text/plain",
        "application/json",
        "application/octet-stream",
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "multipart/form-data; boundary=",
    ];
    let queries = [
        "",
        "?expiration_ttl=",
        "?expiration_ttl=59",
        "?expiration=1",
        "?limit=0",
        "?limit=abc",
        "?cursor=%00",
        "?prefix=%FF",
        "?page=-1&per_page=x",
        "?order=z",
        "?expiration_ttl=99999999999999999999999",
    ];
    let bodies: [&[u8]; 8] = [
        b"",
        b"[]",
        b"{}",
        b"[{\"key\":\"a\",\"value\":\"b\"}]",
        b"{\"keys\":[\"seeded\"],\"type\":\"json\"}",
        b"--x\r\nContent-Disposition: form-data; name=\"value\"\r\n\r\nv\r\n--x--\r\n",
        b"[\"a\",\"\",\".\"]",
        b"{\"title\":\"t\"}",
    ];
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for i in 0..400 {
        if i % 10 == 0 {
            // Garbage may delete the namespace; bring it back so requests reach the handlers.
            mock.reset().expect("reset");
            mock.engine()
                .seed(
                    mock.namespace_id(),
                    "seeded",
                    "value",
                    kv_types::PutOptions::new(),
                )
                .expect("seed");
        }
        let method = rng.pick(&methods);
        let account = match rng.below(4) {
            0 => rng.segment(),
            _ => mock.account_id().to_owned(),
        };
        let namespace = match rng.below(4) {
            0 => rng.segment(),
            1 => "f".repeat(32),
            _ => mock.namespace_id().to_owned(),
        };
        let mut path = match rng.below(10) {
            0 => format!("/{}", rng.segment()),
            1 => format!("/client/v4/{}", rng.segment()),
            2 => format!("/client/v4/accounts/{account}/storage/kv/namespaces"),
            _ => format!(
                "/client/v4/accounts/{account}/storage/kv/namespaces/{namespace}{}",
                rng.pick(&routes)
            ),
        };
        if path.ends_with("/values/") || path.ends_with("/metadata/") {
            path.push_str(&rng.segment());
        }
        let query = rng.pick(&queries);
        let body = if rng.below(2) == 0 {
            rng.bytes(2048)
        } else {
            bodies[rng.below(bodies.len())].to_vec()
        };
        let ct = rng.pick(&content_types);
        let url = format!("{origin}{path}{query}");
        let mut req = client.request(
            reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
            &url,
        );
        if !ct.is_empty() {
            req = req.header("content-type", ct);
        }
        if rng.below(5) == 0 {
            req = req.header("authorization", format!("Bearer {}", rng.segment()));
        }
        let resp = req
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {i} {method} {url}: no reply: {e}"));
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = resp.bytes().await.expect("whole body");
        assert!(status < 500, "request {i} {method} {url}: status {status}");
        *statuses.entry(status).or_default() += 1;
        if method == "HEAD" {
            continue;
        }
        if status == 200 && content_type == "application/octet-stream" {
            assert!(
                path.contains("/values/"),
                "request {i}: raw bytes from {path}"
            );
            continue;
        }
        assert_eq!(
            content_type, "application/json",
            "request {i} {method} {url}: status {status}"
        );
        let j: Json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("request {i} {method} {url}: not JSON: {e}"));
        let success = (200..300).contains(&status);
        assert_eq!(
            j["success"],
            Json::Bool(success),
            "request {i} {method} {url}: {j}"
        );
        if !success {
            assert!(j["result"].is_null(), "request {i}: {j}");
            let code = &j["errors"][0]["code"];
            assert!(code.is_u64(), "request {i}: {j}");
            assert!(j["errors"][0]["message"].is_string(), "request {i}: {j}");
        }
    }
    // The stream reached the handlers, not only the router's edges.
    for expected in [200, 400, 403, 404, 405] {
        assert!(
            statuses.contains_key(&expected),
            "no {expected} in {statuses:?}"
        );
    }
    // Raw garbage on the socket: the server answers or hangs up, and keeps serving.
    for _ in 0..20 {
        let mut stream = TcpStream::connect(mock.addr()).await.expect("connect");
        let junk = rng.bytes(512);
        let _ = stream.write_all(&junk).await;
        let _ = stream.write_all(b"\r\n\r\n").await;
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut buf)).await;
    }
    // The garbage may have deleted the key or the namespace: start clean, then read.
    mock.reset().expect("reset");
    mock.engine()
        .seed(
            mock.namespace_id(),
            "seeded",
            "value",
            kv_types::PutOptions::new(),
        )
        .expect("seed");
    let r = client
        .get(format!(
            "{}/accounts/{}/storage/kv/namespaces/{}/values/seeded",
            mock.base_url(),
            mock.account_id(),
            mock.namespace_id()
        ))
        .send()
        .await
        .expect("still serving");
    assert_eq!(r.status(), 200);
}
