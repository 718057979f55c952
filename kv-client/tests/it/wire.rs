//! What the client puts on the wire: paths under the base prefix, encoded keys, auth headers,
//! raw and multipart bodies, query parameters, user agent.

use crate::scripted_server::{ACCOUNT, NS, PREFIX, ns_path, ok, start};
use futures_util::TryStreamExt;
use kv_client::Client;
use serde_json::json;
use wiremock::matchers::{any, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request};

async fn only_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.expect("log");
    assert_eq!(requests.len(), 1);
    requests.remove(0)
}

#[tokio::test]
async fn plain_put_is_a_raw_body_with_the_bearer_token() {
    let s = start().await;
    Mock::given(method("PUT"))
        .and(path(ns_path("/values/users%2F42%3Fx%23y%20%25")))
        .and(query_param("expiration_ttl", "300"))
        .and(header("authorization", "Bearer test-token-secret"))
        .and(header("content-type", "application/octet-stream"))
        .respond_with(ok(json!({})))
        .expect(1)
        .mount(&s.server)
        .await;
    s.kv.put("users/42?x#y %", "hello")
        .expiration_ttl(300)
        .await
        .expect("put");
    let r = only_request(&s.server).await;
    assert_eq!(r.body, b"hello");
    assert!(r.url.query().is_some_and(|q| !q.contains("expiration=")));
    let ua = r.headers.get("user-agent").and_then(|v| v.to_str().ok());
    assert!(ua.is_some_and(|ua| ua.starts_with("kv-client/")), "{ua:?}");
}

#[tokio::test]
async fn ttl_wins_over_expiration_and_only_it_is_sent() {
    let s = start().await;
    Mock::given(any())
        .respond_with(ok(json!({})))
        .mount(&s.server)
        .await;
    s.kv.put("k", "v")
        .expiration(1)
        .expiration_ttl(60)
        .await
        .expect("ttl wins, the ignored expiration is not checked");
    let r = only_request(&s.server).await;
    assert_eq!(r.url.query(), Some("expiration_ttl=60"));
}

#[tokio::test]
async fn put_with_metadata_is_multipart() {
    let s = start().await;
    Mock::given(method("PUT"))
        .and(path(ns_path("/values/k")))
        .respond_with(ok(json!({})))
        .mount(&s.server)
        .await;
    s.kv.put("k", vec![0u8, 255, 10])
        .metadata(&json!({"v": 1}))
        .await
        .expect("put");
    let r = only_request(&s.server).await;
    let content_type = r
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .expect("content type");
    assert!(
        content_type.starts_with("multipart/form-data; boundary="),
        "{content_type}"
    );
    let body = &r.body;
    let text = String::from_utf8_lossy(body);
    assert!(
        text.contains("name=\"metadata\"\r\n\r\n{\"v\":1}\r\n"),
        "{text}"
    );
    assert!(
        text.contains("name=\"value\"; filename=\"value\""),
        "{text}"
    );
    let value_at = body
        .windows(4)
        .rposition(|w| w == b"\r\n\r\n")
        .expect("value part")
        + 4;
    assert_eq!(&body[value_at..value_at + 3], &[0u8, 255, 10]);
}

#[tokio::test]
async fn email_and_key_headers() {
    let server = MockServer::start().await;
    Mock::given(header("x-auth-email", "me@example.com"))
        .and(header("x-auth-key", "global-key"))
        .respond_with(ok(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder()
        .base_url(format!("{}{PREFIX}", server.uri()))
        .account_id(ACCOUNT)
        .email_key("me@example.com", "global-key")
        .user_agent("my-app/1.0")
        .build()
        .expect("client");
    client.namespace(NS).delete("k").await.expect("delete");
    let r = only_request(&server).await;
    assert!(r.headers.get("authorization").is_none());
    assert_eq!(
        r.headers.get("user-agent").and_then(|v| v.to_str().ok()),
        Some("my-app/1.0")
    );
}

#[tokio::test]
async fn reads_ask_for_octet_stream() {
    let s = start().await;
    Mock::given(method("GET"))
        .and(path(ns_path("/values/k")))
        .and(header("accept", "application/octet-stream"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_bytes("v"))
        .expect(1)
        .mount(&s.server)
        .await;
    assert_eq!(
        s.kv.get("k").text().await.expect("get").as_deref(),
        Some("v")
    );
}

#[tokio::test]
async fn list_query_is_percent_encoded() {
    let s = start().await;
    Mock::given(method("GET"))
        .and(path(ns_path("/keys")))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "success": true, "errors": [], "messages": [],
            "result": [{"name": "a b"}],
            "result_info": {"count": 1, "cursor": "next+/="}
        })))
        .mount(&s.server)
        .await;
    let page =
        s.kv.list()
            .prefix("a b&c")
            .limit(10)
            .cursor("abc")
            .await
            .expect("page");
    assert_eq!(page.cursor.as_deref(), Some("next+/="));
    assert!(!page.complete);
    let r = only_request(&s.server).await;
    assert_eq!(r.url.query(), Some("prefix=a%20b%26c&limit=10&cursor=abc"));
}

#[tokio::test]
async fn repeated_cursor_stops_the_stream() {
    let s = start().await;
    Mock::given(method("GET"))
        .and(path(ns_path("/keys")))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "success": true, "errors": [], "messages": [],
            "result": [{"name": "a"}],
            "result_info": {"count": 1, "cursor": "same"}
        })))
        .mount(&s.server)
        .await;
    let err =
        s.kv.list()
            .into_stream()
            .try_collect::<Vec<_>>()
            .await
            .expect_err("a server that never advances");
    assert!(matches!(err, kv_client::Error::Decode { .. }), "{err:?}");
    assert_eq!(s.server.received_requests().await.expect("log").len(), 2);
}

#[tokio::test]
async fn bulk_get_body() {
    let s = start().await;
    Mock::given(method("POST"))
        .and(path(ns_path("/bulk/get")))
        .respond_with(ok(json!({"values": {"a": "1", "b": null}})))
        .mount(&s.server)
        .await;
    let got = s.kv.bulk_get(["b", "a", "a"]).await.expect("bulk get");
    assert_eq!(got.get("a"), Some(&Some("1".to_owned())));
    assert_eq!(got.get("b"), Some(&None));
    let r = only_request(&s.server).await;
    let body: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    // In input order, a key repeated within one request asked once.
    assert_eq!(body, json!({"keys": ["b", "a"], "type": "text"}));
}
