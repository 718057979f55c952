//! Every request kv-client sends, checked against Cloudflare's OpenAPI description of the KV
//! API. The client talks to kv-mock through a recording proxy on 127.0.0.1; each operation's
//! requests are taken from the proxy and validated: method and path template (one operation of
//! the spec), path and query parameters against their schemas, credentials, content type, and
//! the JSON body or multipart fields against the request schema. Where the spec is wrong or
//! stricter than the contract, the documented adjustments of `schema/adjustments.rs` apply.

use super::capture_proxy;
use super::openapi;
use super::request_check;

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use edge_kv::client::{Body, BulkPutItem, Client, KvNamespace};
use edge_kv::mock::{BASE_PATH, KvMock};
use edge_kv::types::Metadata;
use futures_util::StreamExt;
use serde_json::{Value, json};

use capture_proxy::{CaptureProxy, Captured};
use openapi::Spec;

const TOKEN: &str = "schema-request-token";

/// The operation ids of the spec, by the name the test uses.
mod op {
    pub(crate) const LIST_NAMESPACES: &str = "workers-kv-namespace-list-namespaces";
    pub(crate) const CREATE_NAMESPACE: &str = "workers-kv-namespace-create-a-namespace";
    pub(crate) const GET_NAMESPACE: &str = "workers-kv-namespace-get-a-namespace";
    pub(crate) const RENAME_NAMESPACE: &str = "workers-kv-namespace-rename-a-namespace";
    pub(crate) const REMOVE_NAMESPACE: &str = "workers-kv-namespace-remove-a-namespace";
    pub(crate) const PUT_VALUE: &str = "workers-kv-namespace-write-key-value-pair-with-metadata";
    pub(crate) const GET_VALUE: &str = "workers-kv-namespace-read-key-value-pair";
    pub(crate) const DELETE_VALUE: &str = "workers-kv-namespace-delete-key-value-pair";
    pub(crate) const GET_METADATA: &str = "workers-kv-namespace-read-the-metadata-for-a-key";
    pub(crate) const LIST_KEYS: &str = "workers-kv-namespace-list-a-namespace'-s-keys";
    pub(crate) const BULK_WRITE: &str = "workers-kv-namespace-write-multiple-key-value-pairs";
    pub(crate) const BULK_DELETE: &str = "workers-kv-namespace-delete-multiple-key-value-pairs";
    pub(crate) const BULK_GET: &str = "workers-kv-namespace-get-multiple-key-value-pairs";
}

/// The proxy, the spec, and every operation id validated so far.
struct Recorder {
    spec: Spec,
    proxy: CaptureProxy,
    seen: BTreeSet<String>,
}

impl Recorder {
    /// Takes the requests sent since the last step and checks each against the spec; they must
    /// be, in order, the operations `expected`. Returns them for further checks.
    fn step(&mut self, name: &str, expected: &[&str]) -> Vec<Captured> {
        let captured = self.proxy.take();
        let mut ids = Vec::new();
        for request in &captured {
            match request_check::check(&self.spec, BASE_PATH, request) {
                Ok(id) => ids.push(id),
                Err(problems) => {
                    panic!("{name}: kv-client sent a request the spec forbids: {problems}")
                }
            }
        }
        assert_eq!(ids, expected, "{name}: operations sent");
        self.seen.extend(ids);
        captured
    }
}

fn content_type(request: &Captured) -> &str {
    request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_of_the_client_is_one_the_spec_describes() {
    let mock = KvMock::builder()
        .rate_limit(false)
        .api_token(TOKEN)
        .start()
        .await
        .expect("kv-mock starts");
    let origin = mock
        .base_url()
        .strip_suffix(BASE_PATH)
        .expect("the mock's base URL ends with its base path")
        .to_owned();
    let proxy = CaptureProxy::start(&origin).await;
    let client = Client::builder()
        .base_url(format!("{}{BASE_PATH}", proxy.origin()))
        .account_id(mock.account_id())
        .api_token(TOKEN)
        .build()
        .expect("client");
    let mut r = Recorder {
        spec: Spec::load(),
        proxy,
        seen: BTreeSet::new(),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();

    // Namespaces.
    let created = client
        .create_namespace("schema-requests")
        .await
        .expect("create");
    r.step("create_namespace", &[op::CREATE_NAMESPACE]);
    let all = client.list_namespaces().await.expect("list namespaces");
    assert_eq!(all.len(), 2);
    r.step("list_namespaces", &[op::LIST_NAMESPACES]);
    client.get_namespace(&created.id).await.expect("get");
    r.step("get_namespace", &[op::GET_NAMESPACE]);
    client
        .rename_namespace(&created.id, "schema-requests-renamed")
        .await
        .expect("rename");
    r.step("rename_namespace", &[op::RENAME_NAMESPACE]);

    // Single values.
    let kv: KvNamespace = client.namespace(mock.namespace_id());
    kv.put("plain", "text value").await.expect("put");
    let sent = r.step("put raw", &[op::PUT_VALUE]);
    assert_eq!(content_type(&sent[0]), "application/octet-stream");
    assert_eq!(sent[0].body, b"text value");
    kv.put("dir/a b?&=%#é", Body::bytes(vec![0_u8, 1, 255]))
        .expiration_ttl(300)
        .await
        .expect("put odd key");
    let sent = r.step("put odd key with a TTL", &[op::PUT_VALUE]);
    assert!(
        sent[0]
            .uri
            .contains("/values/dir%2Fa%20b%3F%26%3D%25%23%C3%A9?"),
        "{}",
        sent[0].uri
    );
    kv.put("empty", Body::bytes(Vec::new()))
        .await
        .expect("put empty");
    r.step("put empty value", &[op::PUT_VALUE]);
    kv.put("with-meta", Body::json(&json!({"v": 1})))
        .expiration(now + 3600)
        .metadata(&json!({"owner": "schema", "tags": ["a", "b"]}))
        .await
        .expect("put with metadata");
    let sent = r.step("put multipart with metadata", &[op::PUT_VALUE]);
    assert!(content_type(&sent[0]).starts_with("multipart/form-data"));

    let value = kv.get("plain").bytes().await.expect("get");
    assert_eq!(value.as_deref(), Some(&b"text value"[..]));
    r.step("get", &[op::GET_VALUE]);
    assert_eq!(kv.get("absent").text().await.expect("get absent"), None);
    r.step("get absent", &[op::GET_VALUE]);
    let meta: Option<Option<Value>> = kv.metadata("with-meta").await.expect("metadata");
    assert_eq!(
        meta,
        Some(Some(json!({"owner": "schema", "tags": ["a", "b"]})))
    );
    r.step("metadata", &[op::GET_METADATA]);
    let read = kv
        .get_with_metadata::<Value>("with-meta")
        .await
        .expect("get_with_metadata")
        .expect("exists");
    assert_eq!(read.expiration, Some(now + 3600));
    r.step(
        "get_with_metadata",
        &[op::GET_VALUE, op::GET_METADATA, op::GET_VALUE],
    );

    // Bulk write, list in pages, bulk get, bulk delete.
    let mut items: Vec<BulkPutItem> = (0..25)
        .map(|i| BulkPutItem::new(format!("page/{i:02}"), format!("v{i}")))
        .collect();
    items.push(BulkPutItem::new("binary", vec![0_u8, 159, 146, 150]));
    items.push(
        BulkPutItem::new("meta-ttl", "{\"j\":true}")
            .expiration_ttl(600)
            .metadata(Metadata::new(&json!({"m": 1})).expect("metadata")),
    );
    items.push(BulkPutItem::new("expiring", "x").expiration(now + 7200));
    let report = kv.bulk_put(items).await.expect("bulk put");
    assert_eq!(report.succeeded, 28);
    r.step("bulk_put", &[op::BULK_WRITE]);

    let names: Vec<String> = kv
        .list()
        .prefix("page/")
        .limit(10)
        .into_stream()
        .map(|k| k.expect("key").name)
        .collect()
        .await;
    assert_eq!(names.len(), 25);
    let sent = r.step(
        "list in pages",
        &[op::LIST_KEYS, op::LIST_KEYS, op::LIST_KEYS],
    );
    assert!(sent[1].uri.contains("cursor="), "{}", sent[1].uri);
    kv.list().send().await.expect("list default");
    r.step("list with defaults", &[op::LIST_KEYS]);

    let got = kv
        .bulk_get(["page/00", "meta-ttl", "absent"])
        .await
        .expect("bulk get");
    assert_eq!(got["absent"], None);
    r.step("bulk_get", &[op::BULK_GET]);
    let got = kv
        .bulk_get_with_metadata::<Value, _>(["meta-ttl", "page/01"])
        .await
        .expect("bulk get with metadata");
    assert_eq!(
        got["meta-ttl"].as_ref().expect("found").metadata,
        Some(json!({"m": 1}))
    );
    r.step("bulk_get_with_metadata", &[op::BULK_GET]);
    let many: Vec<String> = (0..150).map(|i| format!("page/{i:02}")).collect();
    kv.bulk_get(&many).await.expect("bulk get in two requests");
    r.step("bulk_get of 150 keys", &[op::BULK_GET, op::BULK_GET]);

    kv.bulk_delete(["page/00", "page/01", "never-there"])
        .await
        .expect("bulk delete");
    r.step("bulk_delete", &[op::BULK_DELETE]);

    kv.delete("plain").await.expect("delete");
    r.step("delete", &[op::DELETE_VALUE]);
    client
        .delete_namespace(&created.id)
        .await
        .expect("delete namespace");
    r.step("delete_namespace", &[op::REMOVE_NAMESPACE]);

    // Every operation of the spec but the deprecated bulk delete (`DELETE /bulk`), which
    // kv-client does not send: it uses `POST /bulk/delete`.
    let all: Vec<(String, bool)> = r
        .spec
        .operations()
        .iter()
        .map(|o| (o.id().to_owned(), o.deprecated()))
        .collect();
    assert_eq!(all.len(), 14);
    for (id, deprecated) in all {
        assert_eq!(
            r.seen.contains(&id),
            !deprecated,
            "{id}: sent by kv-client = {}, deprecated = {deprecated}",
            r.seen.contains(&id)
        );
    }
}

/// A captured request, built by hand.
fn request(method: &str, uri: &str, headers: &[(&'static str, &str)], body: &[u8]) -> Captured {
    let mut map = axum::http::HeaderMap::new();
    for (name, value) in headers {
        map.insert(*name, value.parse().expect("header value"));
    }
    Captured {
        method: method.to_owned(),
        uri: uri.to_owned(),
        headers: map,
        body: body.to_vec(),
    }
}

#[test]
fn the_request_check_rejects_what_the_spec_forbids() {
    let spec = Spec::load();
    let ns = "/client/v4/accounts/0123/storage/kv/namespaces/abcd";
    let auth = ("authorization", "Bearer t");
    let json = ("content-type", "application/json");

    let good = [
        request(
            "GET",
            &format!("{ns}/keys?limit=10&prefix=a%20b"),
            &[auth],
            b"",
        ),
        request(
            "POST",
            &format!("{ns}/bulk/delete"),
            &[auth, json],
            b"[\"a\"]",
        ),
        request(
            "PUT",
            &format!("{ns}/values/a%2Fb?expiration_ttl=60"),
            &[auth, ("content-type", "application/octet-stream")],
            b"v",
        ),
    ];
    for r in &good {
        let checked = request_check::check(&spec, BASE_PATH, r);
        assert!(checked.is_ok(), "{checked:?}");
    }

    let too_long = "k".repeat(513);
    let bad = [
        // No credentials.
        request("GET", &format!("{ns}/keys"), &[], b""),
        // A list limit under the minimum, and an undeclared parameter.
        request("GET", &format!("{ns}/keys?limit=5"), &[auth], b""),
        request("GET", &format!("{ns}/keys?page=2"), &[auth], b""),
        // A TTL under 60 and one that is not a number.
        request(
            "PUT",
            &format!("{ns}/values/k?expiration_ttl=59"),
            &[auth],
            b"v",
        ),
        request(
            "PUT",
            &format!("{ns}/values/k?expiration_ttl=soon"),
            &[auth],
            b"v",
        ),
        // A key longer than the spec's 512 characters.
        request("GET", &format!("{ns}/values/{too_long}"), &[auth], b""),
        // A body where none is taken, and a JSON body of the wrong shape.
        request("GET", &format!("{ns}/keys"), &[auth], b"{}"),
        request(
            "POST",
            &format!("{ns}/bulk/delete"),
            &[auth, json],
            b"{\"keys\":[]}",
        ),
        request(
            "PUT",
            &format!("{ns}/bulk"),
            &[auth, json],
            b"[{\"key\":\"k\"}]",
        ),
        request(
            "POST",
            &format!("{ns}/bulk/get"),
            &[auth, json],
            b"{\"type\":\"text\"}",
        ),
        // A content type the operation does not take.
        request(
            "POST",
            &format!("{ns}/bulk/get"),
            &[auth, ("content-type", "text/plain")],
            b"{}",
        ),
        // A route the spec does not have, and a method it does not document there.
        request("GET", &format!("{ns}/values"), &[auth], b""),
        request("PATCH", &format!("{ns}/values/k"), &[auth], b""),
    ];
    for r in &bad {
        assert!(
            request_check::check(&spec, BASE_PATH, r).is_err(),
            "accepted {} {}",
            r.method,
            r.uri
        );
    }

    // Multipart: `value` is required, and `metadata` must be JSON.
    let form = |parts: &str| {
        request(
            "PUT",
            &format!("{ns}/values/k"),
            &[auth, ("content-type", "multipart/form-data; boundary=XyZ")],
            parts.replace('\n', "\r\n").as_bytes(),
        )
    };
    let with_value = form(
        "--XyZ\nContent-Disposition: form-data; name=\"metadata\"\n\n{\"a\":1}\n\
         --XyZ\nContent-Disposition: form-data; name=\"value\"; filename=\"v\"\n\
         Content-Type: application/octet-stream\n\nbytes\n--XyZ--\n",
    );
    let checked = request_check::check(&spec, BASE_PATH, &with_value);
    assert!(checked.is_ok(), "{checked:?}");
    let no_value =
        form("--XyZ\nContent-Disposition: form-data; name=\"metadata\"\n\n{}\n--XyZ--\n");
    assert!(request_check::check(&spec, BASE_PATH, &no_value).is_err());
    let bad_meta = form(
        "--XyZ\nContent-Disposition: form-data; name=\"metadata\"\n\n{oops\n\
         --XyZ\nContent-Disposition: form-data; name=\"value\"\n\nv\n--XyZ--\n",
    );
    assert!(request_check::check(&spec, BASE_PATH, &bad_meta).is_err());
}
