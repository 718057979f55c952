//! Tests of the router without a socket (`tower::ServiceExt::oneshot`).

use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use kv_types::{Limits, codes};
use serde_json::{Value as Json, json};
use tower::ServiceExt;

use super::*;
use crate::clock::Clock;
use crate::engine::EngineConfig;

const T0: u64 = 1_700_000_000;
const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";

struct Fixture {
    app: Router,
    engine: Engine,
    ns: String,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Json {
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "JSON answers say so"
        );
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// Asserts a failure envelope with this status and code; returns the message.
    fn error(&self, status: u16, code: u32) -> String {
        let j = self.json();
        assert_eq!(self.status.as_u16(), status, "status of {j}");
        assert_eq!(j["success"], json!(false), "{j}");
        assert_eq!(j["result"], Json::Null, "{j}");
        assert_eq!(j["errors"][0]["code"], json!(code), "{j}");
        j["errors"][0]["message"]
            .as_str()
            .expect("message")
            .to_owned()
    }

    /// Asserts a successful envelope; returns `result`.
    fn result(&self) -> Json {
        let j = self.json();
        assert_eq!(self.status, StatusCode::OK, "{j}");
        assert_eq!(j["success"], json!(true), "{j}");
        assert_eq!(j["errors"], json!([]), "{j}");
        j["result"].clone()
    }
}

fn fixture_with(limits: Limits, rate_limit: bool, credentials: Credentials) -> Fixture {
    let engine = Engine::new(EngineConfig {
        limits,
        rate_limit,
        clock: Clock::frozen_at(T0),
    });
    let ns = engine.create_namespace("default").expect("create").id;
    let app = router(ApiState::new(engine.clone(), ACCOUNT, credentials));
    Fixture { app, engine, ns }
}

fn fixture() -> Fixture {
    fixture_with(Limits::PRODUCTION, false, Credentials::none())
}

fn base() -> String {
    format!("/client/v4/accounts/{ACCOUNT}/storage/kv/namespaces")
}

impl Fixture {
    fn ns_path(&self, rest: &str) -> String {
        format!("{}/{}{rest}", base(), self.ns)
    }

    async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn call(&self, method: Method, uri: &str, body: impl Into<Body>) -> Reply {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(body.into())
            .expect("request");
        self.send(req).await
    }

    async fn call_with(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(body.into()).expect("request")).await
    }

    async fn put(&self, key_segment: &str, query: &str, body: &'static str) -> Reply {
        self.call(
            Method::PUT,
            &self.ns_path(&format!("/values/{key_segment}{query}")),
            body,
        )
        .await
    }

    async fn get(&self, key_segment: &str) -> Reply {
        self.call(
            Method::GET,
            &self.ns_path(&format!("/values/{key_segment}")),
            Body::empty(),
        )
        .await
    }
}

fn multipart_body(boundary: &str, parts: &[(&str, Option<&str>, &str)]) -> String {
    let mut body = String::new();
    for (name, ct, data) in parts {
        body.push_str(&format!("--{boundary}\r\n"));
        match ct {
            Some(ct) => body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"upload\"\r\nContent-Type: {ct}\r\n\r\n"
            )),
            None => body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
            )),
        }
        body.push_str(data);
        body.push_str("\r\n");
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    body
}

#[tokio::test]
async fn value_round_trip_raw_body() {
    let f = fixture();
    let r = f
        .call_with(
            Method::PUT,
            &f.ns_path("/values/greeting"),
            &[("content-type", "text/plain")],
            "hello",
        )
        .await;
    assert_eq!(r.result(), json!(null));
    let r = f.get("greeting").await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], b"hello");
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/octet-stream")
    );
    assert!(r.headers.get("expiration").is_none());
    let r = f
        .call(Method::GET, &f.ns_path("/metadata/greeting"), Body::empty())
        .await;
    assert_eq!(r.result(), Json::Null);
    let r = f
        .call(
            Method::DELETE,
            &f.ns_path("/values/greeting"),
            Body::empty(),
        )
        .await;
    assert_eq!(r.result(), json!(null));
    let msg = f.get("greeting").await.error(404, codes::KEY_NOT_FOUND);
    assert_eq!(msg, "get: 'key not found'");
    let msg = f
        .call(Method::GET, &f.ns_path("/metadata/greeting"), Body::empty())
        .await
        .error(404, codes::KEY_NOT_FOUND);
    assert_eq!(msg, "get: 'key not found'");
    // Deleting a missing key succeeds.
    let r = f
        .call(
            Method::DELETE,
            &f.ns_path("/values/greeting"),
            Body::empty(),
        )
        .await;
    assert_eq!(r.result(), json!(null));
}

#[tokio::test]
async fn binary_and_empty_values() {
    let f = fixture();
    let bytes: Vec<u8> = (0..=255).collect();
    let r = f
        .call_with(
            Method::PUT,
            &f.ns_path("/values/bin"),
            &[("content-type", "application/octet-stream")],
            bytes.clone(),
        )
        .await;
    r.result();
    assert_eq!(&f.get("bin").await.body[..], &bytes[..]);
    f.put("empty", "", "").await.result();
    let r = f.get("empty").await;
    assert_eq!((r.status.as_u16(), r.body.len()), (200, 0));
}

#[tokio::test]
async fn multipart_from_every_client() {
    let f = fixture();
    // TypeScript SDK: plain fields, metadata as JSON text.
    let body = multipart_body(
        "b1",
        &[("value", None, "ts"), ("metadata", None, r#"{"by":"ts"}"#)],
    );
    f.call_with(
        Method::PUT,
        &f.ns_path("/values/k1?expiration_ttl=300"),
        &[("content-type", "multipart/form-data; boundary=b1")],
        body,
    )
    .await
    .result();
    // Python SDK: a file part and an application/json part.
    let body = multipart_body(
        "b2",
        &[
            ("value", Some("application/octet-stream"), "py"),
            ("metadata", Some("application/json"), r#"{"by":"py"}"#),
        ],
    );
    f.call_with(
        Method::PUT,
        &f.ns_path("/values/k2"),
        &[("content-type", "multipart/form-data; boundary=b2")],
        body,
    )
    .await
    .result();
    let r = f.get("k1").await;
    assert_eq!(&r.body[..], b"ts");
    assert_eq!(
        r.headers.get("expiration").and_then(|v| v.to_str().ok()),
        Some(&*(T0 + 300).to_string())
    );
    let meta = f
        .call(Method::GET, &f.ns_path("/metadata/k2"), Body::empty())
        .await
        .result();
    assert_eq!(meta, json!({"by": "py"}));
    // A write without metadata clears it.
    f.put("k2", "", "plain").await.result();
    let meta = f
        .call(Method::GET, &f.ns_path("/metadata/k2"), Body::empty())
        .await
        .result();
    assert_eq!(meta, Json::Null);
}

#[tokio::test]
async fn keys_are_one_segment_decoded_once() {
    let f = fixture();
    // An encoded `a/../../bulk` is a key, never another route.
    f.put("a%2F..%2F..%2Fbulk", "", "sneaky").await.result();
    assert!(f.engine.entry(&f.ns, "a/../../bulk").is_some());
    f.put("%252F", "", "pct").await.result();
    assert!(f.engine.entry(&f.ns, "%2F").is_some());
    f.put("%D0%BA%D0%BB%D1%8E%D1%87%20%3F%23", "", "utf8")
        .await
        .result();
    assert!(f.engine.entry(&f.ns, "ключ ?#").is_some());
    // A raw slash: everything after /values/ is the key.
    f.put("dir/file", "", "raw").await.result();
    assert_eq!(&f.get("dir%2Ffile").await.body[..], b"raw");
    // Unencoded dots arrive as they are and stay in the key.
    f.put("x/../keys", "", "dots").await.result();
    assert!(f.engine.entry(&f.ns, "x/../keys").is_some());
    let list = f
        .call(Method::GET, &f.ns_path("/keys"), Body::empty())
        .await;
    assert_eq!(list.result().as_array().map(Vec::len), Some(5));
}

#[tokio::test]
async fn key_rules_of_the_error_table() {
    let f = fixture();
    let msg = f.put("", "", "v").await.error(400, codes::INVALID_KEY);
    assert!(msg.contains("empty"), "{msg}");
    for dots in [".", "..", "%2E", "%2E%2E"] {
        let msg = f.put(dots, "", "v").await.error(400, codes::INVALID_KEY);
        assert!(msg.contains("\".\" or \"..\""), "{msg}");
    }
    f.put(&"k".repeat(512), "", "v").await.result();
    let msg = f
        .put(&"k".repeat(513), "", "v")
        .await
        .error(414, codes::KEY_TOO_LONG);
    assert_eq!(
        msg,
        "UTF-8 encoded length of 513 exceeds key length limit of 512."
    );
    // Multibyte: 171 × 3 bytes = 513 bytes.
    let msg = f
        .put(&"%E2%82%AC".repeat(171), "", "v")
        .await
        .error(414, codes::KEY_TOO_LONG);
    assert!(msg.contains("513"), "{msg}");
    f.put("%FF", "", "v").await.error(400, codes::INVALID_KEY);
    f.get("").await.error(400, codes::INVALID_KEY);
    f.call(Method::GET, &f.ns_path("/metadata/"), Body::empty())
        .await
        .error(400, codes::INVALID_KEY);
    f.call(Method::DELETE, &f.ns_path("/values/.."), Body::empty())
        .await
        .error(400, codes::INVALID_KEY);
}

#[tokio::test]
async fn value_and_metadata_limits() {
    let f = fixture_with(
        Limits {
            max_value_bytes: 10,
            ..Limits::PRODUCTION
        },
        false,
        Credentials::none(),
    );
    f.put("k", "", "0123456789").await.result();
    let msg = f
        .put("k", "", "0123456789X")
        .await
        .error(413, codes::VALUE_TOO_LARGE);
    assert_eq!(msg, "Value length of 11 exceeds limit of 10.");
    assert_eq!(
        f.engine.entry(&f.ns, "k").map(|e| e.value),
        Some(Bytes::from("0123456789"))
    );
    // Metadata limit (production: 1024).
    let big = format!("\"{}\"", "m".repeat(1023));
    let body = multipart_body("b", &[("value", None, "v"), ("metadata", None, &big)]);
    let msg = f
        .call_with(
            Method::PUT,
            &f.ns_path("/values/m"),
            &[("content-type", "multipart/form-data; boundary=b")],
            body,
        )
        .await
        .error(413, codes::METADATA_TOO_LARGE);
    assert_eq!(msg, "Metadata length of 1025 exceeds limit of 1024.");
    let body = multipart_body("b", &[("value", None, "v"), ("metadata", None, "{oops")]);
    f.call_with(
        Method::PUT,
        &f.ns_path("/values/m"),
        &[("content-type", "multipart/form-data; boundary=b")],
        body,
    )
    .await
    .error(400, codes::INVALID_METADATA);
    let body = multipart_body("b", &[("metadata", None, "{}")]);
    f.call_with(
        Method::PUT,
        &f.ns_path("/values/m"),
        &[("content-type", "multipart/form-data; boundary=b")],
        body,
    )
    .await
    .error(400, codes::INVALID_REQUEST_BODY);
    f.call_with(
        Method::PUT,
        &f.ns_path("/values/m"),
        &[("content-type", "multipart/form-data; boundary=b")],
        "garbage",
    )
    .await
    .error(400, codes::INVALID_REQUEST_BODY);
    assert!(f.engine.entry(&f.ns, "m").is_none());
}

#[tokio::test]
async fn expiration_rules() {
    let f = fixture();
    let msg = f
        .put("k", "?expiration_ttl=59", "v")
        .await
        .error(400, codes::INVALID_EXPIRATION_TTL);
    assert_eq!(
        msg,
        "Invalid expiration_ttl of 59. Expiration TTL must be at least 60."
    );
    for bad in ["abc", "-1", "0", "60.5", ""] {
        f.put("k", &format!("?expiration_ttl={bad}"), "v")
            .await
            .error(400, codes::INVALID_EXPIRATION_TTL);
        f.put("k", &format!("?expiration={bad}"), "v")
            .await
            .error(400, codes::INVALID_EXPIRATION);
    }
    let msg = f
        .put("k", &format!("?expiration={}", T0 + 59), "v")
        .await
        .error(400, codes::INVALID_EXPIRATION);
    assert_eq!(
        msg,
        format!(
            "Invalid expiration of {}. Expiration times must be at least 60 seconds in the future.",
            T0 + 59
        )
    );
    // Both: the TTL wins, the expiration is ignored.
    f.put("k", "?expiration=1&expiration_ttl=60", "v")
        .await
        .result();
    assert_eq!(
        f.engine.entry(&f.ns, "k").and_then(|e| e.expiration),
        Some(T0 + 60)
    );
    f.put("abs", &format!("?expiration={}", T0 + 60), "v")
        .await
        .result();
    // Expiry on a moved clock.
    f.engine.clock().advance(Duration::from_secs(60));
    f.get("k").await.error(404, codes::KEY_NOT_FOUND);
    f.get("abs").await.error(404, codes::KEY_NOT_FOUND);
    let list = f
        .call(Method::GET, &f.ns_path("/keys"), Body::empty())
        .await;
    assert_eq!(list.result(), json!([]));
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let f = fixture_with(Limits::PRODUCTION, true, Credentials::none());
    f.put("k", "", "1").await.result();
    let r = f.put("k", "", "2").await;
    r.error(429, codes::KEY_RATE_LIMITED);
    assert_eq!(
        r.headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("1")
    );
    f.engine.clock().advance(Duration::from_secs(1));
    f.put("k", "", "3").await.result();
    assert_eq!(&f.get("k").await.body[..], b"3");
}

#[tokio::test]
async fn namespace_not_found_names_the_operation() {
    let f = fixture();
    let missing = format!("{}/{}", base(), "f".repeat(32));
    let cases = [
        (Method::GET, format!("{missing}/values/k"), "get"),
        (Method::PUT, format!("{missing}/values/k"), "put"),
        (Method::DELETE, format!("{missing}/values/k"), "delete"),
        (Method::GET, format!("{missing}/metadata/k"), "get metadata"),
        (Method::GET, format!("{missing}/keys"), "list keys"),
        (Method::PUT, format!("{missing}/bulk"), "bulk write"),
        (
            Method::POST,
            format!("{missing}/bulk/delete"),
            "bulk delete",
        ),
        (Method::DELETE, format!("{missing}/bulk"), "bulk delete"),
        (Method::POST, format!("{missing}/bulk/get"), "bulk get"),
        (Method::GET, missing.clone(), "get namespace"),
        (Method::PUT, missing.clone(), "rename namespace"),
        (Method::DELETE, missing.clone(), "remove namespace"),
        (
            Method::GET,
            format!("{}/not-an-id/keys", base()),
            "list keys",
        ),
    ];
    for (method, uri, op) in cases {
        let msg = f
            .call(method.clone(), &uri, "[]")
            .await
            .error(404, codes::NAMESPACE_NOT_FOUND);
        assert_eq!(
            msg,
            format!("{op}: 'namespace not found'"),
            "{method} {uri}"
        );
    }
}

#[tokio::test]
async fn namespaces_endpoints() {
    let f = fixture();
    let created = f
        .call(Method::POST, &base(), r#"{"title":"second"}"#)
        .await
        .result();
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(kv_types::namespace::is_namespace_id(&id));
    assert_eq!(created["title"], "second");
    assert_eq!(created["supports_url_encoding"], true);
    let msg = f
        .call(Method::POST, &base(), r#"{"title":"second"}"#)
        .await
        .error(400, codes::DUPLICATE_NAMESPACE_TITLE);
    assert_eq!(
        msg,
        "create namespace: 'A namespace with this account ID and title already exists'"
    );
    f.call(Method::POST, &base(), r#"{"title":""}"#)
        .await
        .error(400, codes::INVALID_NAMESPACE_TITLE);
    // Titles of up to 512 characters (not bytes) are taken; 513 are refused, on create and rename.
    let at_limit = format!(r#"{{"title":"{}"}}"#, "é".repeat(512));
    let long = f
        .call(Method::POST, &base(), at_limit.clone())
        .await
        .result();
    let long_id = long["id"].as_str().expect("id").to_owned();
    f.call(
        Method::DELETE,
        &format!("{}/{long_id}", base()),
        Body::empty(),
    )
    .await
    .result();
    let over = format!(r#"{{"title":"{}"}}"#, "t".repeat(513));
    let msg = f
        .call(Method::POST, &base(), over.clone())
        .await
        .error(400, codes::INVALID_NAMESPACE_TITLE);
    assert!(msg.contains("at most 512 characters, not 513"), "{msg}");
    f.call(Method::PUT, &format!("{}/{id}", base()), over.clone())
        .await
        .error(400, codes::INVALID_NAMESPACE_TITLE);
    f.call(Method::POST, &base(), r#"{"nope":1}"#)
        .await
        .error(400, codes::INVALID_REQUEST_BODY);
    f.call(Method::POST, &base(), "not json")
        .await
        .error(400, codes::INVALID_REQUEST_BODY);
    let got = f
        .call(Method::GET, &format!("{}/{id}", base()), Body::empty())
        .await
        .result();
    assert_eq!(got, created);
    let renamed = f
        .call(
            Method::PUT,
            &format!("{}/{id}", base()),
            r#"{"title":"third"}"#,
        )
        .await
        .result();
    assert_eq!(renamed["title"], "third");
    f.call(
        Method::PUT,
        &format!("{}/{id}", base()),
        r#"{"title":"default"}"#,
    )
    .await
    .error(400, codes::DUPLICATE_NAMESPACE_TITLE);
    // List: default order by title, paging.
    for t in ["a", "b", "c"] {
        f.call(Method::POST, &base(), format!(r#"{{"title":"{t}"}}"#))
            .await
            .result();
    }
    let r = f
        .call(
            Method::GET,
            &format!("{}?per_page=2&page=2", base()),
            Body::empty(),
        )
        .await;
    let j = r.json();
    let titles: Vec<_> = j["result"]
        .as_array()
        .expect("array")
        .iter()
        .map(|n| n["title"].as_str().expect("title").to_owned())
        .collect();
    assert_eq!(titles, ["c", "default"]);
    assert_eq!(
        j["result_info"],
        json!({"count": 2, "page": 2, "per_page": 2, "total_count": 5})
    );
    let r = f
        .call(
            Method::GET,
            &format!("{}?order=title&direction=desc&per_page=1", base()),
            Body::empty(),
        )
        .await
        .result();
    assert_eq!(r[0]["title"], "third");
    let r = f
        .call(Method::GET, &format!("{}?order=id", base()), Body::empty())
        .await
        .result();
    let ids: Vec<_> = r
        .as_array()
        .expect("array")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_owned())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    for bad in [
        "page=0",
        "per_page=0",
        "per_page=1001",
        "page=x",
        "order=x",
        "direction=up",
    ] {
        f.call(Method::GET, &format!("{}?{bad}", base()), Body::empty())
            .await
            .error(400, codes::INVALID_QUERY);
    }
    let r = f
        .call(Method::DELETE, &format!("{}/{id}", base()), Body::empty())
        .await;
    assert_eq!(r.result(), json!(null));
    f.call(Method::GET, &format!("{}/{id}", base()), Body::empty())
        .await
        .error(404, codes::NAMESPACE_NOT_FOUND);
}

#[tokio::test]
async fn list_keys_pages_with_cursor() {
    let f = fixture();
    for i in 0..25 {
        f.engine
            .seed(
                &f.ns,
                &format!("user/{i:02}"),
                "v",
                kv_types::PutOptions::new(),
            )
            .expect("seed");
    }
    f.engine
        .seed(
            &f.ns,
            "other",
            "v",
            kv_types::PutOptions::new()
                .expiration_ttl(100)
                .metadata(kv_types::Metadata::from_json(r#"{"m":1}"#).expect("meta")),
        )
        .expect("seed");
    let mut names = Vec::new();
    let mut cursor = String::new();
    for page in 0.. {
        assert!(page < 10, "paging does not end");
        let uri = f.ns_path(&format!("/keys?prefix=user%2F&limit=10&cursor={cursor}"));
        let j = f.call(Method::GET, &uri, Body::empty()).await.json();
        let keys = j["result"].as_array().expect("array").clone();
        assert_eq!(j["result_info"]["count"], json!(keys.len()));
        names.extend(
            keys.iter()
                .map(|k| k["name"].as_str().expect("name").to_owned()),
        );
        cursor = j["result_info"]["cursor"]
            .as_str()
            .expect("cursor")
            .to_owned();
        if page == 0 {
            // Written after the cursor was issued, sorting after it.
            f.engine
                .seed(&f.ns, "user/99", "v", kv_types::PutOptions::new())
                .expect("seed");
        }
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!(names.len(), 26);
    assert_eq!(names.last().map(String::as_str), Some("user/99"));
    let j = f
        .call(Method::GET, &f.ns_path("/keys?prefix=oth"), Body::empty())
        .await
        .json();
    assert_eq!(
        j["result"],
        json!([{"name": "other", "expiration": T0 + 100, "metadata": {"m": 1}}])
    );
    assert_eq!(j["result_info"], json!({"count": 1, "cursor": ""}));
    for bad in ["9", "1001", "x", "-1", "99999999999"] {
        f.call(
            Method::GET,
            &f.ns_path(&format!("/keys?limit={bad}")),
            Body::empty(),
        )
        .await
        .error(400, codes::INVALID_LIST_LIMIT);
    }
    f.call(
        Method::GET,
        &f.ns_path("/keys?cursor=%21%21"),
        Body::empty(),
    )
    .await
    .error(400, codes::INVALID_CURSOR);
}

#[tokio::test]
async fn bulk_write_delete_get() {
    let f = fixture();
    let items = json!([
        {"key": "a", "value": "text"},
        {"key": "b", "value": "AAH/", "base64": true, "expiration_ttl": 120},
        {"key": "c", "value": "{\"x\":1}", "metadata": {"m": true}, "expiration": T0 + 600},
        {"key": "", "value": "bad key"},
        {"key": "d", "value": "v", "expiration_ttl": 10},
        {"key": "e", "value": "%%%", "base64": true},
        {"key": "f", "value": "v", "metadata": format!("{}", "m".repeat(2000))},
    ]);
    let r = f
        .call(Method::PUT, &f.ns_path("/bulk"), items.to_string())
        .await
        .result();
    assert_eq!(r["successful_key_count"], json!(3));
    let mut failed: Vec<String> =
        serde_json::from_value(r["unsuccessful_keys"].clone()).expect("strings");
    failed.sort();
    assert_eq!(failed, ["", "d", "e", "f"]);
    assert_eq!(&f.get("b").await.body[..], &[0, 1, 255]);
    // Bulk get, text.
    let r = f
        .call(
            Method::POST,
            &f.ns_path("/bulk/get"),
            r#"{"keys":["a","c","zz"]}"#,
        )
        .await
        .result();
    assert_eq!(
        r,
        json!({"values": {"a": "text", "c": "{\"x\":1}", "zz": null}})
    );
    // Bulk get, json with metadata.
    let r = f
        .call(
            Method::POST,
            &f.ns_path("/bulk/get"),
            r#"{"keys":["c","zz"],"type":"json","withMetadata":true}"#,
        )
        .await
        .result();
    assert_eq!(
        r,
        json!({"values": {"c": {"value": {"x": 1}, "metadata": {"m": true}, "expiration": T0 + 600}, "zz": null}})
    );
    // A value that is not JSON fails a json bulk get.
    let msg = f
        .call(
            Method::POST,
            &f.ns_path("/bulk/get"),
            r#"{"keys":["a"],"type":"json"}"#,
        )
        .await
        .error(400, codes::INVALID_REQUEST_BODY);
    assert!(msg.contains("\"a\""), "{msg}");
    f.call(
        Method::POST,
        &f.ns_path("/bulk/get"),
        r#"{"keys":["a"],"type":"xml"}"#,
    )
    .await
    .error(400, codes::INVALID_REQUEST_BODY);
    let too_many: Vec<String> = (0..101).map(|i| format!("k{i}")).collect();
    f.call(
        Method::POST,
        &f.ns_path("/bulk/get"),
        json!({"keys": too_many}).to_string(),
    )
    .await
    .error(400, codes::BULK_TOO_MANY_ITEMS);
    // Bulk delete, both forms.
    let r = f
        .call(
            Method::POST,
            &f.ns_path("/bulk/delete"),
            r#"["a","missing",""]"#,
        )
        .await
        .result();
    assert_eq!(
        r,
        json!({"successful_key_count": 2, "unsuccessful_keys": [""]})
    );
    let r = f
        .call(Method::DELETE, &f.ns_path("/bulk"), r#"["b"]"#)
        .await
        .result();
    assert_eq!(r["successful_key_count"], json!(1));
    assert!(f.engine.entry(&f.ns, "a").is_none());
    assert!(f.engine.entry(&f.ns, "b").is_none());
    f.call(Method::POST, &f.ns_path("/bulk/delete"), r#"[1,2]"#)
        .await
        .error(400, codes::INVALID_REQUEST_BODY);
    f.call(Method::PUT, &f.ns_path("/bulk"), r#"{"key":"a"}"#)
        .await
        .error(400, codes::INVALID_REQUEST_BODY);
}

#[tokio::test]
async fn bulk_limits() {
    let f = fixture_with(
        Limits {
            max_bulk_items: 3,
            max_bulk_bytes: 200,
            ..Limits::PRODUCTION
        },
        false,
        Credentials::none(),
    );
    let four = json!([
        {"key": "a", "value": "1"}, {"key": "b", "value": "1"},
        {"key": "c", "value": "1"}, {"key": "d", "value": "1"}
    ]);
    f.call(Method::PUT, &f.ns_path("/bulk"), four.to_string())
        .await
        .error(413, codes::BULK_TOO_MANY_ITEMS);
    f.call(
        Method::POST,
        &f.ns_path("/bulk/delete"),
        r#"["a","b","c","d"]"#,
    )
    .await
    .error(413, codes::BULK_TOO_MANY_ITEMS);
    let big = json!([{"key": "a", "value": "x".repeat(300)}]);
    let msg = f
        .call(Method::PUT, &f.ns_path("/bulk"), big.to_string())
        .await
        .error(413, codes::BULK_TOO_LARGE);
    assert!(msg.contains("exceeds limit of 200"), "{msg}");
    assert!(f.engine.entry(&f.ns, "a").is_none());
}

#[tokio::test]
async fn auth_when_configured() {
    let f = fixture_with(
        Limits::PRODUCTION,
        false,
        Credentials::none()
            .with_token("s3cret")
            .with_email_key("me@example.com", "k3y"),
    );
    let uri = f.ns_path("/values/k");
    let msg = f
        .call(Method::GET, &uri, Body::empty())
        .await
        .error(403, codes::AUTHENTICATION_ERROR);
    assert_eq!(msg, "Authentication error");
    f.call_with(
        Method::GET,
        &uri,
        &[("authorization", "Bearer wrong")],
        Body::empty(),
    )
    .await
    .error(403, codes::AUTHENTICATION_ERROR);
    f.call_with(
        Method::GET,
        &uri,
        &[("authorization", "Bearer s3cret")],
        Body::empty(),
    )
    .await
    .error(404, codes::KEY_NOT_FOUND);
    f.call_with(
        Method::GET,
        &uri,
        &[("x-auth-email", "me@example.com"), ("x-auth-key", "k3y")],
        Body::empty(),
    )
    .await
    .error(404, codes::KEY_NOT_FOUND);
    // Unknown routes are behind auth too.
    f.call(Method::GET, "/client/v4/nowhere", Body::empty())
        .await
        .error(403, codes::AUTHENTICATION_ERROR);
}

#[tokio::test]
async fn wrong_account_is_an_authentication_error() {
    let f = fixture();
    let uri = format!(
        "/client/v4/accounts/{}/storage/kv/namespaces/{}/keys",
        "e".repeat(32),
        f.ns
    );
    f.call(Method::GET, &uri, Body::empty())
        .await
        .error(403, codes::AUTHENTICATION_ERROR);
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let f = fixture();
    for uri in [
        "/",
        "/client/v4",
        "/client/v4/accounts",
        &f.ns_path("/nope"),
        &f.ns_path("/bulk/x"),
    ] {
        f.call(Method::GET, uri, Body::empty())
            .await
            .error(404, codes::ROUTE_NOT_FOUND);
    }
    f.call(Method::POST, &f.ns_path("/values/k"), "v")
        .await
        .error(405, codes::METHOD_NOT_ALLOWED);
    f.call(Method::PATCH, &base(), "")
        .await
        .error(405, codes::METHOD_NOT_ALLOWED);
    f.call(Method::GET, &f.ns_path("/bulk"), "")
        .await
        .error(405, codes::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn account_rate_limit_when_configured() {
    let engine = Engine::new(EngineConfig {
        limits: Limits::PRODUCTION,
        rate_limit: false,
        clock: Clock::frozen_at(T0),
    });
    let ns = engine.create_namespace("default").expect("create").id;
    let app = router(
        ApiState::new(engine.clone(), ACCOUNT, Credentials::none())
            .with_account_rate_limit(3, Duration::from_secs(300)),
    );
    let f = Fixture { app, engine, ns };
    for _ in 0..3 {
        f.get("k").await.error(404, codes::KEY_NOT_FOUND);
    }
    let r = f.get("k").await;
    let msg = r.error(429, codes::ACCOUNT_RATE_LIMITED);
    assert!(msg.contains("3 requests per 300 seconds"), "{msg}");
    assert_eq!(
        r.headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("300")
    );
    f.engine.clock().advance(Duration::from_secs(300));
    f.get("k").await.error(404, codes::KEY_NOT_FOUND);
}

/// The credentials of the fixture with a token.
const AUTH: &[(&str, &str)] = &[("authorization", "Bearer secret")];

#[tokio::test]
async fn faults_log_and_control_routes_are_part_of_the_router() {
    let f = fixture_with(
        Limits::PRODUCTION,
        false,
        Credentials::none().with_token("secret"),
    );
    // The control routes need the API's credentials, as the API does.
    let fault = r#"{"kind": "status", "status": 503, "method": "PUT", "key": "a/b"}"#;
    f.call(Method::POST, "/__mock/faults", fault)
        .await
        .error(403, codes::AUTHENTICATION_ERROR);
    let r = f
        .call_with(Method::POST, "/__mock/faults", AUTH, fault)
        .await;
    assert_eq!(r.result()["action"]["status"], json!(503));
    // The fault applies before authentication, to the request it matches (the decoded key).
    f.put("a%2Fb", "", "v")
        .await
        .error(503, codes::INJECTED_FAULT);
    f.put("a%2Fb", "", "v")
        .await
        .error(403, codes::AUTHENTICATION_ERROR);
    let r = f
        .call_with(
            Method::PUT,
            &f.ns_path("/values/a%2Fb"),
            &[("authorization", "Bearer secret")],
            "v",
        )
        .await;
    assert_eq!(r.result(), json!(null));
    assert_eq!(
        f.call_with(Method::GET, "/__mock/faults", AUTH, "")
            .await
            .result(),
        json!([])
    );
    // Every API request is logged with its status and decoded key; control requests are not.
    let log = f
        .call_with(Method::GET, "/__mock/requests", AUTH, "")
        .await
        .result();
    let seen: Vec<(Json, Json, Json)> = log
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| (r["method"].clone(), r["key"].clone(), r["status"].clone()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (json!("PUT"), json!("a/b"), json!(503)),
            (json!("PUT"), json!("a/b"), json!(403)),
            (json!("PUT"), json!("a/b"), json!(200)),
        ]
    );
    // A reset through the control routes leaves the namespace the router started with, empty.
    f.call_with(Method::POST, "/__mock/reset", AUTH, "")
        .await
        .result();
    assert!(f.engine.namespace(&f.ns).is_some());
    assert!(f.engine.entry(&f.ns, "a/b").is_none());
    assert_eq!(
        f.call_with(Method::GET, "/__mock/requests", AUTH, "")
            .await
            .result(),
        json!([])
    );
    f.call_with(Method::GET, "/__mock/nowhere", AUTH, "")
        .await
        .error(404, codes::ROUTE_NOT_FOUND);
}
