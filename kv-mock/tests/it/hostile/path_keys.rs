//! Keys that look like paths (`../bulk`, `a/../../keys`, `%2F`, `?x=1`, `#f`, `..%2Fbulk`, raw
//! and encoded) never reach another route: a write through `/values/` changes exactly the
//! intended key and nothing else in the whole engine, a read and a delete of the same path touch
//! that key only. Checked through the router and over loopback (raw HTTP, nothing normalized).

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use http::{Method, Request};
use kv_mock::{ApiState, Clock, Credentials, Engine, EngineConfig, KvMock, router};
use kv_types::{Limits, ListOptions, PutOptions};

use crate::hostile::ACCOUNT;
use crate::hostile::oneshot::answer_of;
use crate::hostile::raw_http::Connection;

/// What follows `/values/` on the wire, and the key it must name. A raw `?` starts the query
/// and a raw `#` the fragment (which no server sees), so `k?x=1` and `k#f` are the key `k`.
const FORMS: &[(&str, &str)] = &[
    ("../bulk", "../bulk"),
    ("..%2Fbulk", "../bulk"),
    ("..%2fbulk", "../bulk"),
    ("%2E%2E%2Fbulk", "../bulk"),
    (".%2E/bulk%2Fget", "../bulk/get"),
    ("../../bulk", "../../bulk"),
    ("a/../../keys", "a/../../keys"),
    ("a%2F..%2F..%2Fkeys", "a/../../keys"),
    ("%2e%2e/%2e%2e/keys", "../../keys"),
    ("../../../../namespaces", "../../../../namespaces"),
    ("..%2F..%2F..%2F..%2Fnamespaces", "../../../../namespaces"),
    ("%2F", "/"),
    ("%2Fbulk%2Fdelete", "/bulk/delete"),
    ("bulk", "bulk"),
    ("bulk/delete", "bulk/delete"),
    ("keys", "keys"),
    ("..%252Fbulk", "..%2Fbulk"),
    ("%252F", "%2F"),
    ("%3Fx%3D1", "?x=1"),
    ("k%3Fx=1", "k?x=1"),
    ("k?x=1", "k"),
    ("%23f", "#f"),
    ("k#f", "k"),
    ("a//b", "a//b"),
    ("//", "//"),
    ("%5C..%5Cbulk", "\\..\\bulk"),
    ("..\\bulk", "..\\bulk"),
    ("..;/bulk", "..;/bulk"),
    ("%C3%A9/../%E2%82%AC", "é/../€"),
    ("é/..", "é/.."),
];

/// Forms that are no key at all: refused (400), nothing changes.
const NOT_KEYS: &[&str] = &["..", ".", "%2E%2E", "%2e", "", "%FF/../bulk", "?x=1", "#f"];

/// Every namespace (id, title) and every entry (namespace, key) -> (value, metadata, expiration).
type Snapshot = (
    Vec<(String, String)>,
    BTreeMap<(String, String), (Vec<u8>, Option<String>, Option<u64>)>,
);

fn snapshot(engine: &Engine) -> Snapshot {
    let mut namespaces = Vec::new();
    let mut entries = BTreeMap::new();
    for ns in engine.list_namespaces() {
        namespaces.push((ns.id.clone(), ns.title.clone()));
        let handle = engine.namespace(&ns.id).expect("listed namespace");
        let mut options = ListOptions::new();
        loop {
            let page = handle.list_sync(&options).expect("list");
            for k in page.keys {
                let e = engine.entry(&ns.id, &k.name).expect("listed key");
                entries.insert(
                    (ns.id.clone(), k.name),
                    (
                        e.value.to_vec(),
                        e.metadata.map(|m| m.as_json().to_owned()),
                        e.expiration,
                    ),
                );
            }
            match page.cursor {
                Some(c) => options = ListOptions::new().cursor(c),
                None => break,
            }
        }
    }
    namespaces.sort();
    (namespaces, entries)
}

/// How the requests travel.
enum Transport {
    Router(Router),
    Loopback(Box<Connection>),
}

impl Transport {
    async fn send(&mut self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        match self {
            Transport::Router(app) => {
                let request = Request::builder()
                    .method(Method::from_bytes(method.as_bytes()).expect("method"))
                    .uri(path)
                    .body(Body::from(body.to_vec()))
                    .expect("request");
                let a = answer_of(app, request).await;
                (a.status, a.body)
            }
            Transport::Loopback(conn) => {
                let mut wire = format!(
                    "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                wire.extend_from_slice(body);
                let (status, _, body) = conn
                    .exchange(&wire, false)
                    .await
                    .unwrap_or_else(|e| panic!("{method} {path}: {e:?}"));
                (status, body)
            }
        }
    }
}

/// Runs every form against `engine` through `transport`; `ns` is the default namespace and
/// `other` a second one.
async fn every_form(engine: &Engine, ns: &str, other: &str, transport: &mut Transport) {
    let reset = || {
        let keep: Vec<_> = engine
            .list_namespaces()
            .into_iter()
            .filter(|n| n.id == ns || n.id == other)
            .collect();
        engine.reset(&keep).expect("reset");
        for (id, key) in [
            (ns, "seeded"),
            (ns, "bulk"),
            (ns, "keys"),
            (other, "theirs"),
        ] {
            engine
                .seed(id, key, format!("{key}-before"), PutOptions::new())
                .expect("seed");
        }
    };
    let base = format!("/client/v4/accounts/{ACCOUNT}/storage/kv/namespaces/{ns}");
    for (i, (form, key)) in FORMS.iter().enumerate() {
        reset();
        // Start without the key itself, so the write is visible as exactly one change.
        if let Some(h) = engine.namespace(ns) {
            h.delete_sync(key).expect("delete");
        }
        let before = snapshot(engine);
        let value = format!("value {i} for {key}");
        let path = format!("{base}/values/{form}");
        let (status, body) = transport.send("PUT", &path, value.as_bytes()).await;
        assert_eq!(
            status,
            200,
            "PUT {path}: {}",
            String::from_utf8_lossy(&body)
        );
        let after = snapshot(engine);
        let mut expected = before.clone();
        expected.1.insert(
            (ns.to_owned(), (*key).to_owned()),
            (value.clone().into_bytes(), None, None),
        );
        assert_eq!(
            after, expected,
            "PUT {path} must write exactly the key {key:?}"
        );
        let (status, body) = transport.send("GET", &path, b"").await;
        assert_eq!(
            (status, body),
            (200, value.clone().into_bytes()),
            "GET {path}"
        );
        let meta = format!("{base}/metadata/{form}");
        let (status, body) = transport.send("GET", &meta, b"").await;
        assert_eq!(status, 200, "GET {meta}");
        let j: serde_json::Value = serde_json::from_slice(&body).expect("envelope");
        assert_eq!(j["result"], serde_json::Value::Null, "GET {meta}: {j}");
        assert_eq!(snapshot(engine), after, "reads change nothing");
        // A delete of the same path removes that key only (not the namespace, not a bulk list).
        let (status, _) = transport
            .send("DELETE", &path, br#"["seeded","bulk","keys"]"#)
            .await;
        assert_eq!(status, 200, "DELETE {path}");
        let mut without = after.clone();
        without.1.remove(&(ns.to_owned(), (*key).to_owned()));
        assert_eq!(
            snapshot(engine),
            without,
            "DELETE {path} must remove exactly {key:?}"
        );
    }
    for form in NOT_KEYS {
        reset();
        let before = snapshot(engine);
        let path = format!("{base}/values/{form}");
        for method in ["PUT", "DELETE"] {
            let (status, body) = transport.send(method, &path, br#"["seeded"]"#).await;
            assert_eq!(
                status,
                400,
                "{method} {path}: {}",
                String::from_utf8_lossy(&body)
            );
            assert_eq!(snapshot(engine), before, "{method} {path} changes nothing");
        }
    }
}

fn engine() -> Engine {
    Engine::new(EngineConfig {
        limits: Limits::PRODUCTION,
        rate_limit: false,
        clock: Clock::frozen_at(crate::hostile::NOW),
    })
}

#[tokio::test]
async fn path_like_keys_through_the_router() {
    let engine = engine();
    let ns = engine.create_namespace("default").expect("ns").id;
    let other = engine.create_namespace("other").expect("ns").id;
    let app = router(ApiState::new(engine.clone(), ACCOUNT, Credentials::none()));
    let mut transport = Transport::Router(app);
    every_form(&engine, &ns, &other, &mut transport).await;
}

#[tokio::test]
async fn path_like_keys_over_loopback() {
    let mock = KvMock::builder()
        .rate_limit(false)
        .account_id(ACCOUNT)
        .namespace("default")
        .namespace("other")
        .clock(Clock::frozen_at(crate::hostile::NOW))
        .start()
        .await
        .expect("mock");
    let ns = mock.namespaces()[0].id.clone();
    let other = mock.namespaces()[1].id.clone();
    let mut transport = Transport::Loopback(Box::new(Connection::open(mock.addr()).await));
    every_form(mock.engine(), &ns, &other, &mut transport).await;
    // The request log names the decoded key of every value write.
    let writes: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.status == 200)
        .map(|r| r.key.unwrap_or_default())
        .collect();
    let expected: Vec<_> = FORMS.iter().map(|(_, k)| (*k).to_owned()).collect();
    assert_eq!(writes, expected);
}
