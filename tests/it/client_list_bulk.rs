//! Against kv-mock: lists over many pages, bulk writes, deletes and reads over the API's limits.

use crate::kit;
use std::collections::BTreeMap;

use crate::kit::{start, start_with};
use futures_util::TryStreamExt;
use kv_client::{BulkPutItem, Error};
use kv_types::{Limits, Metadata};
use serde_json::json;

fn name(i: usize) -> String {
    format!("item/{i:05}")
}

#[tokio::test]
async fn list_follows_the_cursor_over_many_pages() {
    let s = start().await;
    let items: Vec<BulkPutItem> = (0..2345)
        .map(|i| BulkPutItem::new(name(i), format!("v{i}")))
        .collect();
    s.kv.bulk_put(items).await.expect("seeded");
    s.kv.bulk_put([("other", "x"), ("item", "not in prefix/")])
        .await
        .expect("more");

    let first = s.kv.list().prefix("item/").limit(100).await.expect("page");
    assert_eq!(first.keys.len(), 100);
    assert!(!first.complete);
    let cursor = first.cursor.clone().expect("cursor");
    let second =
        s.kv.list()
            .prefix("item/")
            .limit(100)
            .cursor(cursor)
            .await
            .expect("page 2");
    assert_eq!(second.keys[0].name, name(100));

    let pages: Vec<_> =
        s.kv.list()
            .prefix("item/")
            .limit(100)
            .into_pages()
            .try_collect()
            .await
            .expect("pages");
    assert_eq!(pages.len(), 24);
    assert!(pages.last().expect("last").complete);

    let all: Vec<String> =
        s.kv.list()
            .prefix("item/")
            .limit(100)
            .into_stream()
            .map_ok(|k| k.name)
            .try_collect()
            .await
            .expect("every key");
    let expected: Vec<String> = (0..2345).map(name).collect();
    assert_eq!(all, expected, "every key once, in byte order");

    let everything: Vec<String> =
        s.kv.list()
            .into_stream()
            .map_ok(|k| k.name)
            .try_collect()
            .await
            .expect("default page size");
    assert_eq!(everything.len(), 2347);
}

#[tokio::test]
async fn list_carries_metadata_and_expiration() {
    let s = start().await;
    s.kv.put("m", "v")
        .metadata(&json!({"x": 1}))
        .expiration_ttl(600)
        .await
        .expect("put");
    let page = s.kv.list().await.expect("list");
    assert_eq!(page.keys.len(), 1);
    let info = &page.keys[0];
    assert_eq!(info.expiration, Some(s.now() + 600));
    assert_eq!(
        info.metadata
            .as_ref()
            .and_then(|m| m.decode::<serde_json::Value>().ok()),
        Some(json!({"x": 1}))
    );
}

#[tokio::test]
async fn bulk_put_over_the_production_item_limit_splits() {
    let s = start().await;
    let items: Vec<BulkPutItem> = (0..10_001)
        .map(|i| BulkPutItem::new(name(i), "v"))
        .collect();
    let report = s.kv.bulk_put(items).await.expect("all written");
    assert_eq!(report.succeeded, 10_001);
    assert_eq!(report.requests, 2);
    let bulk_requests = s
        .mock
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.path.ends_with("/bulk"))
        .count();
    assert_eq!(bulk_requests, 2);
    assert_eq!(
        s.kv.get(name(10_000)).text().await.expect("get").as_deref(),
        Some("v")
    );
}

#[tokio::test]
async fn bulk_splits_by_bytes_and_count_with_small_limits() {
    let limits = Limits {
        max_bulk_items: 40,
        max_bulk_bytes: 2_000,
        max_bulk_get_keys: 7,
        ..Limits::PRODUCTION
    };
    let s = start_with(kv_mock::KvMock::builder(), limits).await;
    let binary: Vec<u8> = vec![0, 159, 146, 150, 255];
    let items: Vec<BulkPutItem> = (0..100)
        .map(|i| {
            let item = BulkPutItem::new(name(i), format!("value {i} {}", "x".repeat(i)));
            if i % 10 == 0 {
                BulkPutItem::new(name(i), binary.clone())
                    .metadata(Metadata::new(&json!({"i": i})).expect("meta"))
                    .expiration_ttl(3600)
            } else {
                item
            }
        })
        .collect();
    let report = s.kv.bulk_put(items).await.expect("written");
    assert_eq!(report.succeeded, 100);
    assert!(report.requests >= 5, "split by bytes: {report:?}");

    // Binary values went as base64 and come back exactly.
    assert_eq!(
        s.kv.get(name(20)).bytes().await.expect("get").as_deref(),
        Some(&binary[..])
    );
    let with_meta =
        s.kv.get_with_metadata::<serde_json::Value>(name(30))
            .await
            .expect("gwm")
            .expect("present");
    assert_eq!(with_meta.metadata, Some(json!({"i": 30})));
    assert_eq!(with_meta.expiration, Some(s.now() + 3600));

    // Bulk get: 7 keys per request, missing keys are None, duplicates asked once.
    let mut keys: Vec<String> = (1..10).map(name).collect();
    keys.push("missing".into());
    keys.push(name(1));
    let got = s.kv.bulk_get(&keys).await.expect("bulk get");
    assert_eq!(got.len(), 10);
    assert_eq!(got["missing"], None);
    assert_eq!(got[&name(3)].as_deref(), Some("value 3 xxx"));
    let gets = s
        .mock
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/bulk/get"))
        .count();
    assert_eq!(gets, 2);

    let with_meta =
        s.kv.bulk_get_with_metadata::<serde_json::Value, _>([name(11), name(40), "gone".into()])
            .await
            .expect("bulk get with metadata");
    let forty = with_meta[&name(40)].as_ref().expect("present");
    assert_eq!(forty.metadata, Some(json!({"i": 40})));
    assert_eq!(forty.expiration, Some(s.now() + 3600));
    assert_eq!(
        with_meta[&name(11)].as_ref().map(|v| v.metadata.clone()),
        Some(None)
    );
    assert!(with_meta["gone"].is_none());

    // Bulk delete, split by count.
    let keys: Vec<String> = (0..100).map(name).collect();
    let report = s.kv.bulk_delete(&keys).await.expect("deleted");
    assert_eq!(report.succeeded, 100);
    assert_eq!(report.requests, 3);
    assert!(s.kv.list().await.expect("list").keys.is_empty());
}

#[tokio::test]
async fn bulk_failures_name_every_key() {
    let s = start().await;
    let limits = Limits {
        max_bulk_items: 10,
        ..Limits::PRODUCTION
    };
    let client = kit::client_builder(&s.mock)
        .limits(limits)
        .retry(kv_client::RetryConfig::none())
        .build()
        .expect("client");
    let kv = client.namespace(s.mock.namespace_id());
    // Three requests of at most 10 items; the first gets a 400 (not retryable), the others pass.
    s.mock.inject(
        kv_mock::Fault::status(400)
            .matching(kv_mock::FaultMatch::path("/bulk"))
            .times(1),
    );
    let items: Vec<(String, &str)> = (0..25).map(|i| (name(i), "v")).collect();
    // One request at a time, so the fault meets the first chunk.
    let err = kv
        .bulk_put(items)
        .concurrency(1)
        .await
        .expect_err("one request failed");
    match &err {
        Error::BulkIncomplete {
            succeeded,
            failed_keys,
            errors,
            ..
        } => {
            assert_eq!(*succeeded, 15);
            let expected: Vec<String> = (0..10).map(name).collect();
            assert_eq!(failed_keys, &expected);
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].status(), Some(400));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.failed_keys().len(), 10);
    let stored: BTreeMap<String, Option<String>> =
        kv.bulk_get((0..25).map(name)).await.expect("bulk get");
    assert_eq!(stored.values().filter(|v| v.is_some()).count(), 15);
}
