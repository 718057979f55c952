//! Every answer of kv-mock, checked against Cloudflare's OpenAPI description of the KV API: all
//! 14 operations of the spec are driven over loopback, each to a success and to at least one
//! failure (404 key, 404 namespace, 400 validation, 403 auth, 413, 414, 429), and every JSON
//! body is validated against the spec's schema for that operation and status, `$ref`s resolved.
//! Value reads are raw bytes: their `Content-Type` is checked instead. Where the spec is wrong
//! or stricter than the contract, the documented adjustments of `schema/adjustments.rs` apply.

use super::adjustments;
use super::openapi;
use super::response_check;
use super::routes;

use std::collections::{BTreeMap, BTreeSet};

use edge_kv::mock::KvMock;
use edge_kv::types::{Limits, codes};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use openapi::Spec;
use response_check::{Auth, Driver, Req};
use routes::{BULK, BULK_DELETE, BULK_GET, KEYS, METADATA, NAMESPACE, NAMESPACES, VALUE};

const TOKEN: &str = "schema-test-token";
/// A well-formed namespace id that the mock never issued.
const UNKNOWN_NS: &str = "0123456789abcdef0123456789abcdef";

/// The first error code of a failure envelope.
fn code(answer: &response_check::Answer) -> u64 {
    answer.json["errors"][0]["code"]
        .as_u64()
        .expect("an error code")
}

/// A multipart value write, the way the official Python SDK sends it: `value` a file part,
/// `metadata` a JSON part.
fn multipart(value: &[u8], metadata: &str) -> Form {
    Form::new()
        .part(
            "value",
            Part::bytes(value.to_vec())
                .file_name("upload")
                .mime_str("application/octet-stream")
                .expect("mime"),
        )
        .part(
            "metadata",
            Part::text(metadata.to_owned())
                .mime_str("application/json")
                .expect("mime"),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_the_spec_describes() {
    let mock = KvMock::builder()
        .rate_limit(false)
        .api_token(TOKEN)
        .start()
        .await
        .expect("kv-mock starts");
    let mut d = Driver::new(
        Spec::load(),
        mock.base_url(),
        mock.account_id(),
        mock.namespace_id(),
        TOKEN,
    );
    let limits = Limits::PRODUCTION;

    // Namespaces.
    let created = d
        .send(
            Req::new("POST", NAMESPACES).json(json!({"title": "schema-extra"})),
            200,
        )
        .await;
    let extra = created.json["result"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    d.send(Req::new("GET", NAMESPACES), 200).await;
    d.send(
        Req::new("GET", NAMESPACES)
            .query("page", 1)
            .query("per_page", 1)
            .query("order", "title")
            .query("direction", "desc"),
        200,
    )
    .await;
    d.send(
        Req::new("GET", NAMESPACE).param("namespace_id", &extra),
        200,
    )
    .await;
    let renamed = d
        .send(
            Req::new("PUT", NAMESPACE)
                .param("namespace_id", &extra)
                .json(json!({"title": "schema-renamed"})),
            200,
        )
        .await;
    assert_eq!(renamed.json["result"]["title"], "schema-renamed");
    let dup = d
        .send(
            Req::new("POST", NAMESPACES).json(json!({"title": "schema-renamed"})),
            400,
        )
        .await;
    assert_eq!(code(&dup), u64::from(codes::DUPLICATE_NAMESPACE_TITLE));
    d.send(
        Req::new("PUT", NAMESPACE)
            .param("namespace_id", UNKNOWN_NS)
            .json(json!({"title": "x"})),
        404,
    )
    .await;
    let missing_ns = d
        .send(
            Req::new("GET", NAMESPACE).param("namespace_id", UNKNOWN_NS),
            404,
        )
        .await;
    assert_eq!(code(&missing_ns), u64::from(codes::NAMESPACE_NOT_FOUND));
    d.send(Req::new("GET", NAMESPACES).query("per_page", 0), 400)
        .await;
    let no_auth = d
        .send(Req::new("GET", NAMESPACES).auth(Auth::Missing), 403)
        .await;
    assert_eq!(code(&no_auth), u64::from(codes::AUTHENTICATION_ERROR));

    // Single values: raw and multipart writes, reads, metadata, deletes.
    d.send(
        Req::new("PUT", VALUE)
            .param("key_name", "plain")
            .bytes("application/octet-stream", b"plain bytes \x00\xff".to_vec()),
        200,
    )
    .await;
    d.send(
        Req::new("PUT", VALUE)
            .param("key_name", "dir/with space?&%#é")
            .query("expiration_ttl", 300)
            .bytes("text/plain", "text"),
        200,
    )
    .await;
    d.send(
        Req::new("PUT", VALUE)
            .param("key_name", "with-meta")
            .query("expiration", 4_000_000_000_u64)
            .multipart(multipart(b"{\"v\":1}", r#"{"owner":"schema","n":[1,2]}"#)),
        200,
    )
    .await;
    let read = d
        .send(Req::new("GET", VALUE).param("key_name", "plain"), 200)
        .await;
    assert_eq!(read.bytes, b"plain bytes \x00\xff");
    d.send(
        Req::new("GET", VALUE).param("key_name", "dir/with space?&%#é"),
        200,
    )
    .await;
    let meta = d
        .send(
            Req::new("GET", METADATA).param("key_name", "with-meta"),
            200,
        )
        .await;
    assert_eq!(meta.json["result"], json!({"owner": "schema", "n": [1, 2]}));
    let no_meta = d
        .send(Req::new("GET", METADATA).param("key_name", "plain"), 200)
        .await;
    assert_eq!(no_meta.json["result"], Value::Null);

    let missing_key = d
        .send(Req::new("GET", VALUE).param("key_name", "absent"), 404)
        .await;
    assert_eq!(code(&missing_key), u64::from(codes::KEY_NOT_FOUND));
    d.send(Req::new("GET", METADATA).param("key_name", "absent"), 404)
        .await;
    d.send(
        Req::new("PUT", VALUE)
            .param("key_name", "short-ttl")
            .query("expiration_ttl", 30)
            .bytes("application/octet-stream", "v"),
        400,
    )
    .await;
    d.send(
        Req::new("PUT", VALUE)
            .param("key_name", "bad-meta")
            .multipart(multipart(b"v", "{not json")),
        400,
    )
    .await;
    let long_key = "k".repeat(limits.max_key_bytes + 1);
    d.send(
        Req::new("PUT", VALUE)
            .param("key_name", long_key.clone())
            .bytes("application/octet-stream", "v"),
        414,
    )
    .await;
    d.send(Req::new("GET", VALUE).param("key_name", long_key), 414)
        .await;
    let big_meta = format!("\"{}\"", "m".repeat(limits.max_metadata_bytes));
    d.send(
        Req::new("PUT", VALUE)
            .param("key_name", "big-meta")
            .multipart(multipart(b"v", &big_meta)),
        413,
    )
    .await;
    d.send(
        Req::new("PUT", VALUE)
            .param("key_name", "big-value")
            .declared_only(
                "application/octet-stream",
                limits.max_value_bytes as u64 + 1,
            ),
        413,
    )
    .await;
    d.send(
        Req::new("PUT", VALUE)
            .param("key_name", "plain")
            .auth(Auth::Wrong)
            .bytes("application/octet-stream", "v"),
        403,
    )
    .await;
    mock.set_rate_limit(true);
    d.send(
        Req::new("PUT", VALUE)
            .param("key_name", "hot")
            .bytes("application/octet-stream", "1"),
        200,
    )
    .await;
    d.send(
        Req::new("PUT", VALUE)
            .param("key_name", "hot")
            .bytes("application/octet-stream", "2"),
        429,
    )
    .await;
    mock.set_rate_limit(false);

    // Bulk write, then list it in pages.
    let items: Vec<Value> = (0..25)
        .map(|i| json!({"key": format!("page/{i:02}"), "value": format!("v{i}")}))
        .collect();
    let written = d.send(Req::new("PUT", BULK).json(json!(items)), 200).await;
    assert_eq!(written.json["result"]["successful_key_count"], 25);
    let mixed = d
        .send(
            Req::new("PUT", BULK).json(json!([
                {"key": "b64", "value": "AAEC/w==", "base64": true},
                {"key": "json", "value": "[1,{\"a\":null}]", "metadata": {"m": true},
                 "expiration_ttl": 600},
                {"key": "null-json", "value": "null", "expiration": 4_000_000_000_u64},
                {"key": ".", "value": "not a key"},
            ])),
            200,
        )
        .await;
    assert_eq!(mixed.json["result"]["unsuccessful_keys"], json!(["."]));
    d.send(Req::new("PUT", BULK).json(json!({"key": "k"})), 400)
        .await;
    d.send(
        Req::new("PUT", BULK)
            .param("namespace_id", UNKNOWN_NS)
            .json(json!([])),
        404,
    )
    .await;

    let mut cursor: Option<String> = None;
    let mut listed = Vec::new();
    for _page in 0..10 {
        let mut req = Req::new("GET", KEYS)
            .query("prefix", "page/")
            .query("limit", 10);
        if let Some(c) = &cursor {
            req = req.query("cursor", c);
        }
        let page = d.send(req, 200).await;
        for k in page.json["result"].as_array().expect("keys") {
            listed.push(k["name"].as_str().expect("name").to_owned());
        }
        let next = page.json["result_info"]["cursor"]
            .as_str()
            .expect("cursor")
            .to_owned();
        if next.is_empty() {
            break;
        }
        cursor = Some(next);
    }
    assert_eq!(listed.len(), 25, "three pages of 10, 10 and 5 keys");
    d.send(Req::new("GET", KEYS), 200).await;
    d.send(Req::new("GET", KEYS).query("limit", 5), 400).await;
    d.send(Req::new("GET", KEYS).param("namespace_id", UNKNOWN_NS), 404)
        .await;

    // Bulk get: text, json, with metadata.
    let text = d
        .send(
            Req::new("POST", BULK_GET).json(json!({"keys": ["page/00", "json", "absent"]})),
            200,
        )
        .await;
    assert_eq!(text.json["result"]["values"]["absent"], Value::Null);
    let parsed = d
        .send(
            Req::new("POST", BULK_GET)
                .json(json!({"keys": ["json", "null-json", "absent"], "type": "json"})),
            200,
        )
        .await;
    assert_eq!(
        parsed.json["result"]["values"]["json"],
        json!([1, {"a": null}])
    );
    let with_meta = d
        .send(
            Req::new("POST", BULK_GET).json(json!({
                "keys": ["json", "page/01", "absent"],
                "type": "text",
                "withMetadata": true,
            })),
            200,
        )
        .await;
    assert_eq!(
        with_meta.json["result"]["values"]["json"]["metadata"],
        json!({"m": true})
    );
    d.send(
        Req::new("POST", BULK_GET)
            .json(json!({"keys": ["json"], "type": "json", "withMetadata": true})),
        200,
    )
    .await;
    let too_many: Vec<String> = (0..=limits.max_bulk_get_keys)
        .map(|i| format!("k{i}"))
        .collect();
    d.send(
        Req::new("POST", BULK_GET).json(json!({"keys": too_many})),
        400,
    )
    .await;

    // Bulk deletes, new and deprecated.
    let deleted = d
        .send(
            Req::new("POST", BULK_DELETE).json(json!(["page/00", "page/01", "never-there"])),
            200,
        )
        .await;
    assert_eq!(deleted.json["result"]["successful_key_count"], 3);
    d.send(Req::new("POST", BULK_DELETE).json(json!({"keys": []})), 400)
        .await;
    d.send(
        Req::new("DELETE", BULK).json(json!(["page/02", "page/03"])),
        200,
    )
    .await;
    d.send(
        Req::new("DELETE", BULK)
            .param("namespace_id", UNKNOWN_NS)
            .json(json!(["page/04"])),
        404,
    )
    .await;

    // Deletes.
    d.send(Req::new("DELETE", VALUE).param("key_name", "plain"), 200)
        .await;
    d.send(Req::new("DELETE", VALUE).param("key_name", "plain"), 200)
        .await;
    d.send(
        Req::new("DELETE", VALUE)
            .param("namespace_id", UNKNOWN_NS)
            .param("key_name", "plain"),
        404,
    )
    .await;
    d.send(
        Req::new("DELETE", NAMESPACE).param("namespace_id", &extra),
        200,
    )
    .await;
    d.send(
        Req::new("DELETE", NAMESPACE).param("namespace_id", &extra),
        404,
    )
    .await;

    // Coverage: every operation of the spec answered a success and a failure, each validated.
    let mut seen: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    for c in &d.covered {
        seen.entry(c.operation.clone())
            .or_default()
            .insert(c.status);
    }
    let operations = d.spec().operations();
    assert_eq!(operations.len(), 14, "the spec has 14 operations");
    for op in &operations {
        let statuses = seen.get(op.id()).cloned().unwrap_or_default();
        assert!(
            statuses.contains(&200) && statuses.iter().any(|s| (400..500).contains(s)),
            "{} ({}) was validated only for {statuses:?}",
            op.label(),
            op.id()
        );
    }
    let statuses: BTreeSet<u16> = d.covered.iter().map(|c| c.status).collect();
    for status in [200, 400, 403, 404, 413, 414, 429] {
        assert!(
            statuses.contains(&status),
            "no {status} answer was validated"
        );
    }
}

#[test]
fn the_validators_reject_what_the_contract_forbids() {
    let spec = Spec::load();
    let op = spec.operation("GET", NAMESPACE);
    let ok = op.response(200).expect("200").schema;
    let failure = op.response(404).expect("4XX").schema;
    let namespace = json!({"id": UNKNOWN_NS, "title": "t", "supports_url_encoding": true});

    let good = json!({"success": true, "errors": [], "messages": [], "result": namespace});
    assert_eq!(spec.check(&ok, &good), Ok(()));
    for bad in [
        json!({"success": true, "errors": [], "result": namespace}),
        json!({"success": false, "errors": [], "messages": [], "result": namespace}),
        json!({"success": true, "errors": [], "messages": [], "result": {"title": "no id"}}),
        json!({"success": true, "errors": [{"code": "10000"}], "messages": [], "result": null}),
    ] {
        assert!(spec.check(&ok, &bad).is_err(), "accepted {bad}");
    }

    let err = json!({"code": codes::KEY_NOT_FOUND, "message": "get: 'key not found'"});
    let good = json!({"success": false, "errors": [err], "messages": [], "result": null});
    assert_eq!(spec.check(&failure, &good), Ok(()));
    for bad in [
        json!({"success": false, "errors": [], "messages": [], "result": null}),
        json!({"success": true, "errors": [err], "messages": [], "result": null}),
        json!({"success": false, "errors": [err], "messages": []}),
    ] {
        assert!(spec.check(&failure, &bad).is_err(), "accepted {bad}");
    }

    // `nullable` is honoured: a value delete may answer `result: null` or `{}`, not a string.
    let delete = spec
        .operation("DELETE", VALUE)
        .response(200)
        .expect("200")
        .schema;
    for result in [json!(null), json!({})] {
        let body = json!({"success": true, "errors": [], "messages": [], "result": result});
        assert_eq!(spec.check(&delete, &body), Ok(()));
    }
    let body = json!({"success": true, "errors": [], "messages": [], "result": "done"});
    assert!(spec.check(&delete, &body).is_err());
}

#[test]
fn every_adjustment_is_documented_in_the_contract() {
    let contract =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/spec/CONTRACT.md"))
            .expect("spec/CONTRACT.md");
    let section = contract
        .split("## Differences from Cloudflare's OpenAPI")
        .nth(1)
        .expect("spec/CONTRACT.md has a \"Differences from Cloudflare's OpenAPI\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    for adjustment in adjustments::ALL {
        assert!(
            section.contains(&format!("\n### {}\n", adjustment.id)),
            "adjustment `{}` has no section under \"Differences from Cloudflare's OpenAPI\" in \
             spec/CONTRACT.md: {}",
            adjustment.id,
            adjustment.reason
        );
    }
}

/// The adjusted spec that `compat/schemathesis.sh` gives schemathesis.
const ADJUSTED_SPEC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/it/schema/kv-openapi-adjusted.json"
);

#[test]
fn the_adjusted_spec_for_schemathesis_is_up_to_date() {
    let expected = format!(
        "{}\n",
        serde_json::to_string_pretty(&Spec::adjusted_openapi()).expect("serializes")
    );
    if std::env::var_os("UPDATE_ADJUSTED_SPEC").is_some() {
        std::fs::write(ADJUSTED_SPEC, &expected).expect("write the adjusted spec");
        return;
    }
    let committed = std::fs::read_to_string(ADJUSTED_SPEC).unwrap_or_default();
    assert!(
        committed == expected,
        "tests/it/schema/kv-openapi-adjusted.json is not the spec with the current adjustments; \
         regenerate it: UPDATE_ADJUSTED_SPEC=1 cargo test -p edge-kv --test it schema"
    );
}
