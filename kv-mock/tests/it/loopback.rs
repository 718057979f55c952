//! End-to-end tests over loopback: the server handle, the request log, faults, streaming bodies
//! and the control endpoints.

use std::time::{Duration, Instant};

use kv_mock::{Clock, Fault, FaultMatch, KvMock, RequestRecord};
use kv_types::{Limits, PutOptions, codes};
use serde_json::{Value as Json, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const T0: u64 = 1_700_000_000;

fn ns_url(mock: &KvMock, rest: &str) -> String {
    format!(
        "{}/accounts/{}/storage/kv/namespaces/{}{rest}",
        mock.base_url(),
        mock.account_id(),
        mock.namespace_id()
    )
}

fn control_url(mock: &KvMock, rest: &str) -> String {
    format!("http://{}/__mock{rest}", mock.addr())
}

async fn frozen_mock(rate_limit: bool) -> KvMock {
    KvMock::builder()
        .rate_limit(rate_limit)
        .clock(Clock::frozen_at(T0))
        .start()
        .await
        .expect("mock starts")
}

async fn envelope(resp: reqwest::Response) -> (u16, Json) {
    let status = resp.status().as_u16();
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let bytes = resp.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).expect("JSON envelope"),
    )
}

#[tokio::test]
async fn starts_serves_and_frees_the_port_on_drop() {
    let mock = KvMock::start().await.expect("mock starts");
    assert!(mock.base_url().starts_with("http://127.0.0.1:"));
    assert!(mock.base_url().ends_with("/client/v4"));
    assert_eq!(mock.addr().ip().to_string(), "127.0.0.1");
    assert!(kv_types::namespace::is_namespace_id(mock.namespace_id()));
    assert!(kv_types::namespace::is_namespace_id(mock.account_id()));
    let client = reqwest::Client::new();
    let r = client
        .put(ns_url(&mock, "/values/hello%2Fworld?expiration_ttl=120"))
        .body("hi")
        .send()
        .await
        .expect("put");
    let (status, j) = envelope(r).await;
    assert_eq!((status, j["success"].clone()), (200, json!(true)));
    let r = client
        .get(ns_url(&mock, "/values/hello%2Fworld"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("expiration").is_some());
    assert_eq!(r.bytes().await.expect("body"), "hi");
    assert_eq!(
        mock.engine()
            .entry(mock.namespace_id(), "hello/world")
            .map(|e| e.value),
        Some("hi".into())
    );
    let addr = mock.addr();
    drop(mock);
    let mut freed = false;
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_err() {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(freed, "the port still accepts connections after drop");
    // And it can be bound again.
    let again = KvMock::builder().listen(addr).start().await;
    assert!(again.is_ok(), "{again:?}");
}

#[tokio::test]
async fn many_mocks_at_once_are_independent() {
    let a = KvMock::start().await.expect("a");
    let b = KvMock::start().await.expect("b");
    assert_ne!(a.addr(), b.addr());
    assert_ne!(a.namespace_id(), b.namespace_id());
    a.engine()
        .seed(a.namespace_id(), "k", "v", PutOptions::new())
        .expect("seed");
    assert!(b.engine().entry(b.namespace_id(), "k").is_none());
}

#[tokio::test]
async fn request_log_records_method_path_key_status() {
    let mock = frozen_mock(false).await;
    let client = reqwest::Client::new();
    client
        .put(ns_url(&mock, "/values/a%2Fb"))
        .body("v")
        .send()
        .await
        .expect("put");
    client
        .get(ns_url(&mock, "/values/missing"))
        .send()
        .await
        .expect("get");
    client
        .get(ns_url(&mock, "/keys?prefix=a"))
        .send()
        .await
        .expect("list");
    // Control requests are not logged.
    client
        .get(control_url(&mock, "/clock"))
        .send()
        .await
        .expect("control");
    let log = mock.requests();
    let path = |rest: &str| {
        format!(
            "/client/v4/accounts/{}/storage/kv/namespaces/{}{rest}",
            mock.account_id(),
            mock.namespace_id()
        )
    };
    assert_eq!(
        log,
        vec![
            RequestRecord {
                method: "PUT".into(),
                path: path("/values/a%2Fb"),
                key: Some("a/b".into()),
                status: 200,
                location: None,
            },
            RequestRecord {
                method: "GET".into(),
                path: path("/values/missing"),
                key: Some("missing".into()),
                status: 404,
                location: None,
            },
            RequestRecord {
                method: "GET".into(),
                path: path("/keys"),
                key: None,
                status: 200,
                location: None,
            },
        ]
    );
    mock.clear_requests();
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn status_faults_with_headers_for_n_matching_requests() {
    let mock = frozen_mock(false).await;
    mock.inject(
        Fault::status(429)
            .header("Retry-After", "1")
            .times(2)
            .matching(FaultMatch::method("PUT")),
    );
    let client = reqwest::Client::new();
    // A GET does not match.
    let r = client
        .get(ns_url(&mock, "/values/k"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    for _ in 0..2 {
        let r = client
            .put(ns_url(&mock, "/values/k"))
            .body("v")
            .send()
            .await
            .expect("put");
        assert_eq!(
            r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
            Some("1")
        );
        let (status, j) = envelope(r).await;
        assert_eq!(status, 429);
        assert_eq!(j["errors"][0]["code"], json!(codes::INJECTED_FAULT));
        // Not applied.
        assert!(mock.engine().entry(mock.namespace_id(), "k").is_none());
    }
    let r = client
        .put(ns_url(&mock, "/values/k"))
        .body("v")
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
    assert!(mock.pending_faults().is_empty());
    for status in [500u16, 503] {
        mock.inject(Fault::status(status).matching(FaultMatch::key("k")));
        let r = client
            .get(ns_url(&mock, "/values/k"))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status().as_u16(), status);
    }
}

#[tokio::test]
async fn delay_fault_waits_then_answers() {
    let mock = frozen_mock(false).await;
    mock.inject(Fault::delay(Duration::from_millis(300)).matching(FaultMatch::path("/keys")));
    let client = reqwest::Client::new();
    let started = Instant::now();
    let r = client
        .get(ns_url(&mock, "/keys"))
        .send()
        .await
        .expect("list");
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn reset_fault_closes_without_a_response_and_applies_nothing() {
    let mock = frozen_mock(false).await;
    mock.inject(Fault::reset().matching(FaultMatch::key("k")));
    let client = reqwest::Client::new();
    let err = client
        .put(ns_url(&mock, "/values/k"))
        .body("v")
        .send()
        .await
        .expect_err("connection closed with no response");
    assert!(!err.is_status(), "{err}");
    assert!(mock.engine().entry(mock.namespace_id(), "k").is_none());
    assert_eq!(mock.requests().last().map(|r| r.status), Some(0));
    // The next request is served.
    let r = client
        .put(ns_url(&mock, "/values/k"))
        .body("v")
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn truncated_body_fault_cuts_the_response_short() {
    let mock = frozen_mock(false).await;
    mock.engine()
        .seed(
            mock.namespace_id(),
            "big",
            vec![7u8; 10_000],
            PutOptions::new(),
        )
        .expect("seed");
    mock.inject(Fault::truncate_body().matching(FaultMatch::key("big")));
    let client = reqwest::Client::new();
    let r = client
        .get(ns_url(&mock, "/values/big"))
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(r.status(), 200);
    assert_eq!(r.content_length(), Some(10_000));
    assert!(r.bytes().await.is_err(), "the body must be cut short");
    // A write under a truncation is applied.
    mock.inject(Fault::truncate_body().matching(FaultMatch::method("PUT")));
    let r = client
        .put(ns_url(&mock, "/values/w"))
        .body("applied")
        .send()
        .await
        .expect("headers arrive");
    assert!(r.bytes().await.is_err());
    assert_eq!(
        mock.engine()
            .entry(mock.namespace_id(), "w")
            .map(|e| e.value),
        Some("applied".into())
    );
}

#[tokio::test]
async fn streamed_upload_over_the_limit_is_refused() {
    let mock = KvMock::builder()
        .limits(Limits {
            max_value_bytes: 64 * 1024,
            ..Limits::PRODUCTION
        })
        .start()
        .await
        .expect("mock");
    let client = reqwest::Client::new();
    // Chunked (no Content-Length): refused once the limit is passed.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..100).map(|_| Ok(vec![b'x'; 1024])).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let r = client
        .put(ns_url(&mock, "/values/big"))
        .body(body)
        .send()
        .await;
    if let Ok(r) = r {
        let (status, j) = envelope(r).await;
        assert_eq!(status, 413);
        assert_eq!(j["errors"][0]["code"], json!(codes::VALUE_TOO_LARGE));
    }
    // With a Content-Length over the limit: refused before reading.
    let r = client
        .put(ns_url(&mock, "/values/big"))
        .body(vec![b'x'; 64 * 1024 + 1])
        .send()
        .await;
    if let Ok(r) = r {
        let (status, j) = envelope(r).await;
        assert_eq!(status, 413);
        assert_eq!(
            j["errors"][0]["message"],
            json!("Value length of 65537 exceeds limit of 65536.")
        );
    }
    assert!(mock.engine().entry(mock.namespace_id(), "big").is_none());
    let log = mock.requests();
    assert!(log.iter().all(|r| r.status == 413), "{log:?}");
    // At the limit: stored.
    let r = client
        .put(ns_url(&mock, "/values/big"))
        .body(vec![b'x'; 64 * 1024])
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn upload_cut_off_mid_body_stores_nothing() {
    let mock = frozen_mock(false).await;
    let path = format!(
        "/client/v4/accounts/{}/storage/kv/namespaces/{}/values/cut",
        mock.account_id(),
        mock.namespace_id()
    );
    let mut stream = TcpStream::connect(mock.addr()).await.expect("connect");
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&[b'a'; 400]).await.expect("part");
    stream.shutdown().await.expect("half close");
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest).await;
    drop(stream);
    // Wait until the server has handled it.
    let mut handled = false;
    for _ in 0..200 {
        if mock
            .requests()
            .iter()
            .any(|r| r.key.as_deref() == Some("cut"))
        {
            handled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(handled, "the server never finished the request");
    assert!(mock.engine().entry(mock.namespace_id(), "cut").is_none());
    assert_eq!(mock.requests()[0].status, 400);
}

#[tokio::test]
async fn auth_over_the_wire() {
    let mock = KvMock::builder()
        .api_token("tok")
        .email_key("me@example.com", "key")
        .start()
        .await
        .expect("mock");
    let client = reqwest::Client::new();
    let (status, j) = envelope(
        client
            .get(ns_url(&mock, "/keys"))
            .send()
            .await
            .expect("list"),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        j["errors"][0],
        json!({"code": 10000, "message": "Authentication error"})
    );
    let r = client
        .get(ns_url(&mock, "/keys"))
        .bearer_auth("tok")
        .send()
        .await
        .expect("list");
    assert_eq!(r.status(), 200);
    let r = client
        .get(ns_url(&mock, "/keys"))
        .header("X-Auth-Email", "me@example.com")
        .header("X-Auth-Key", "key")
        .send()
        .await
        .expect("list");
    assert_eq!(r.status(), 200);
    // Control endpoints need the same credentials (tests/it/control_auth.rs has the rest).
    let r = client
        .get(control_url(&mock, "/clock"))
        .send()
        .await
        .expect("clock");
    assert_eq!(r.status(), 403);
    let r = client
        .get(control_url(&mock, "/clock"))
        .bearer_auth("tok")
        .send()
        .await
        .expect("clock");
    assert_eq!(r.status(), 200);
    assert!(!format!("{mock:?}").contains("tok\""));
}

#[tokio::test]
async fn control_endpoints() {
    let mock = frozen_mock(true).await;
    let client = reqwest::Client::new();
    let (_, info) = envelope(
        client
            .get(control_url(&mock, "/info"))
            .send()
            .await
            .expect("info"),
    )
    .await;
    assert_eq!(info["result"]["base_url"], json!(mock.base_url()));
    assert_eq!(info["result"]["account_id"], json!(mock.account_id()));
    assert_eq!(info["result"]["namespace_id"], json!(mock.namespace_id()));
    // Clock.
    let (_, c) = envelope(
        client
            .get(control_url(&mock, "/clock"))
            .send()
            .await
            .expect("clock"),
    )
    .await;
    assert_eq!(c["result"]["now"], json!(T0));
    assert_eq!(c["result"]["frozen"], json!(true));
    let (_, c) = envelope(
        client
            .post(control_url(&mock, "/clock/advance"))
            .body(json!({"seconds": 90}).to_string())
            .send()
            .await
            .expect("advance"),
    )
    .await;
    assert_eq!(c["result"]["now"], json!(T0 + 90));
    assert_eq!(mock.clock().now_secs(), T0 + 90);
    // Rate limit switch.
    let put = |v: &'static str| client.put(ns_url(&mock, "/values/k")).body(v).send();
    assert_eq!(put("1").await.expect("put").status(), 200);
    assert_eq!(put("2").await.expect("put").status(), 429);
    let (status, _) = envelope(
        client
            .post(control_url(&mock, "/rate-limit"))
            .body(json!({"enabled": false}).to_string())
            .send()
            .await
            .expect("rate-limit"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(!mock.engine().rate_limit_enabled());
    assert_eq!(put("3").await.expect("put").status(), 200);
    // Faults.
    let (status, _) = envelope(
        client
            .post(control_url(&mock, "/faults"))
            .body(json!({"kind": "status", "status": 503, "headers": {"Retry-After": "2"}, "times": 1, "method": "GET", "key": "k"}).to_string())
            .send()
            .await
            .expect("fault"),
    )
    .await;
    assert_eq!(status, 200);
    let r = client
        .get(ns_url(&mock, "/values/k"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("2")
    );
    let (status, _) = envelope(
        client
            .post(control_url(&mock, "/faults"))
            .body(json!({"kind": "explode"}).to_string())
            .send()
            .await
            .expect("fault"),
    )
    .await;
    assert_eq!(status, 400);
    client
        .post(control_url(&mock, "/faults"))
        .body(json!({"kind": "reset", "times": 3}).to_string())
        .send()
        .await
        .expect("fault");
    let (_, pending) = envelope(
        client
            .get(control_url(&mock, "/faults"))
            .send()
            .await
            .expect("faults"),
    )
    .await;
    assert_eq!(pending["result"].as_array().map(Vec::len), Some(1));
    client
        .delete(control_url(&mock, "/faults"))
        .send()
        .await
        .expect("clear faults");
    assert!(mock.pending_faults().is_empty());
    // Requests log.
    let (_, log) = envelope(
        client
            .get(control_url(&mock, "/requests"))
            .send()
            .await
            .expect("requests"),
    )
    .await;
    let log = log["result"].as_array().expect("array").clone();
    assert_eq!(log.len(), 4);
    assert_eq!(log[1]["status"], json!(429));
    assert_eq!(log[1]["key"], json!("k"));
    client
        .delete(control_url(&mock, "/requests"))
        .send()
        .await
        .expect("clear");
    assert!(mock.requests().is_empty());
    // Reset: data gone, the default namespace kept.
    client
        .post(format!(
            "{}/accounts/{}/storage/kv/namespaces",
            mock.base_url(),
            mock.account_id()
        ))
        .body(json!({"title": "extra"}).to_string())
        .send()
        .await
        .expect("create");
    let (status, _) = envelope(
        client
            .post(control_url(&mock, "/reset"))
            .send()
            .await
            .expect("reset"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(mock.engine().entry(mock.namespace_id(), "k").is_none());
    assert_eq!(mock.engine().list_namespaces().len(), 1);
    assert!(mock.store().is_some());
    // Unknown control route: envelope 404.
    let (status, _) = envelope(
        client
            .get(control_url(&mock, "/nope"))
            .send()
            .await
            .expect("nope"),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn expiry_on_a_moved_clock_over_the_wire() {
    let mock = frozen_mock(false).await;
    let client = reqwest::Client::new();
    client
        .put(ns_url(&mock, "/values/t?expiration_ttl=60"))
        .body("v")
        .send()
        .await
        .expect("put");
    let r = client
        .get(ns_url(&mock, "/values/t"))
        .send()
        .await
        .expect("get");
    assert_eq!(
        r.headers().get("expiration").and_then(|v| v.to_str().ok()),
        Some(&*(T0 + 60).to_string())
    );
    mock.clock().advance(Duration::from_secs(60));
    let (status, j) = envelope(
        client
            .get(ns_url(&mock, "/values/t"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(j["errors"][0]["code"], json!(codes::KEY_NOT_FOUND));
    let r = client
        .post(ns_url(&mock, "/bulk/get"))
        .body(json!({"keys": ["t"]}).to_string())
        .send()
        .await
        .expect("bulk get");
    let (_, j) = envelope(r).await;
    assert_eq!(j["result"], json!({"values": {"t": null}}));
}

#[tokio::test]
async fn every_endpoint_end_to_end() {
    let mock = frozen_mock(false).await;
    let client = reqwest::Client::new();
    let base = format!(
        "{}/accounts/{}/storage/kv/namespaces",
        mock.base_url(),
        mock.account_id()
    );
    let call = |method: reqwest::Method, url: String, body: String| {
        let client = client.clone();
        async move {
            let r = client
                .request(method, url)
                .body(body)
                .send()
                .await
                .expect("request");
            envelope(r).await
        }
    };
    use reqwest::Method;
    // Namespaces: create, list, get, rename.
    let (s, j) = call(
        Method::POST,
        base.clone(),
        json!({"title": "e2e"}).to_string(),
    )
    .await;
    assert_eq!(s, 200);
    let id = j["result"]["id"].as_str().expect("id").to_owned();
    let (s, j) = call(Method::GET, base.clone(), String::new()).await;
    assert_eq!(
        (s, j["result_info"]["total_count"].clone()),
        (200, json!(2))
    );
    let (s, j) = call(Method::GET, format!("{base}/{id}"), String::new()).await;
    assert_eq!((s, j["result"]["title"].clone()), (200, json!("e2e")));
    let (s, j) = call(
        Method::PUT,
        format!("{base}/{id}"),
        json!({"title": "e2e2"}).to_string(),
    )
    .await;
    assert_eq!((s, j["result"]["title"].clone()), (200, json!("e2e2")));
    // Values and metadata.
    let boundary = "bnd";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"value\"; filename=\"upload\"\r\nContent-Type: application/octet-stream\r\n\r\nval\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\nContent-Type: application/json\r\n\r\n{{\"m\":1}}\r\n--{boundary}--\r\n"
    );
    let r = client
        .put(format!("{base}/{id}/values/k%201"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(form)
        .send()
        .await
        .expect("put");
    assert_eq!(envelope(r).await.0, 200);
    let r = client
        .get(format!("{base}/{id}/values/k%201"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.bytes().await.expect("body"), "val");
    let (s, j) = call(
        Method::GET,
        format!("{base}/{id}/metadata/k%201"),
        String::new(),
    )
    .await;
    assert_eq!((s, j["result"].clone()), (200, json!({"m": 1})));
    let (s, j) = call(Method::GET, format!("{base}/{id}/keys"), String::new()).await;
    assert_eq!((s, j["result"][0]["name"].clone()), (200, json!("k 1")));
    let (s, _) = call(
        Method::DELETE,
        format!("{base}/{id}/values/k%201"),
        String::new(),
    )
    .await;
    assert_eq!(s, 200);
    // Bulk write, get, delete (both forms).
    let items =
        json!([{"key": "a", "value": "1"}, {"key": "b", "value": "2"}, {"key": "c", "value": "3"}]);
    let (s, j) = call(Method::PUT, format!("{base}/{id}/bulk"), items.to_string()).await;
    assert_eq!(
        (s, j["result"]["successful_key_count"].clone()),
        (200, json!(3))
    );
    let (s, j) = call(
        Method::POST,
        format!("{base}/{id}/bulk/get"),
        json!({"keys": ["a", "b"]}).to_string(),
    )
    .await;
    assert_eq!(
        (s, j["result"].clone()),
        (200, json!({"values": {"a": "1", "b": "2"}}))
    );
    let (s, _) = call(
        Method::POST,
        format!("{base}/{id}/bulk/delete"),
        r#"["a"]"#.into(),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = call(
        Method::DELETE,
        format!("{base}/{id}/bulk"),
        r#"["b","c"]"#.into(),
    )
    .await;
    assert_eq!(s, 200);
    let (_, j) = call(Method::GET, format!("{base}/{id}/keys"), String::new()).await;
    assert_eq!(j["result"], json!([]));
    // Namespace delete.
    let (s, _) = call(Method::DELETE, format!("{base}/{id}"), String::new()).await;
    assert_eq!(s, 200);
    let (s, _) = call(Method::GET, format!("{base}/{id}"), String::new()).await;
    assert_eq!(s, 404);
}
