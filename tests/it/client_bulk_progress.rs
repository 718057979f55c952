//! The bulk calls' streamed input, bounded concurrency and progress events: against kv-mock, and
//! against a server that holds requests to count how many are in flight at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use kv_client::{BulkFailureReason, BulkProgress, BulkPutItem, Error};
use kv_types::{Limits, ValidationError};
use serde_json::json;

use crate::kit::start_with;

fn small() -> Limits {
    Limits {
        max_bulk_items: 10,
        max_bulk_get_keys: 7,
        ..Limits::PRODUCTION
    }
}

fn name(i: u64) -> String {
    format!("bulk/{i:04}")
}

/// Every event of a call, and the checks every run of events must pass: counts only grow, each
/// event's chunk counts add up to the totals, and the failures carry indexes of the input.
fn check_events(events: &[BulkProgress], total: u64) {
    let mut done = 0;
    let mut failed = 0;
    for e in events {
        done += e.chunk_items_done;
        failed += e.chunk_items_failed;
        assert_eq!(e.items_done, done, "{e:?}");
        assert_eq!(e.items_failed, failed, "{e:?}");
        assert_eq!(e.failures.len() as u64, e.chunk_items_failed);
        assert!(e.failures.iter().all(|f| f.index < total));
    }
    assert_eq!(done + failed, total, "every item counted once");
}

#[tokio::test]
async fn a_streamed_put_reports_progress_and_invalid_items_by_index() {
    let s = start_with(kv_mock::KvMock::builder(), small()).await;
    // The items come from a channel, as a reader thread would send them.
    let (tx, rx) = tokio::sync::mpsc::channel::<BulkPutItem>(4);
    let producer = tokio::spawn(async move {
        for i in 0..95u64 {
            let item = match i {
                17 => BulkPutItem::new("", "empty key"),
                42 => BulkPutItem::new(name(i), "v").expiration_ttl(5),
                _ => BulkPutItem::new(name(i), format!("v{i}")),
            };
            if tx.send(item).await.is_err() {
                break;
            }
        }
    });
    let items =
        futures_util::stream::unfold(rx, |mut rx| async { rx.recv().await.map(|i| (i, rx)) });
    let mut events = Vec::new();
    let err =
        s.kv.bulk_put_stream(items)
            .concurrency(3)
            .on_progress(|p| events.push(p.clone()))
            .await
            .expect_err("two invalid items");
    producer.await.expect("producer");
    check_events(&events, 95);
    let last = events.last().expect("events");
    assert_eq!((last.items_done, last.items_failed), (93, 2));
    assert_eq!(last.requests, 10, "93 items, 10 per request");
    assert!(last.bytes_done > 0 && last.bytes_failed == 0);
    let mut failures: Vec<_> = events.iter().flat_map(|e| e.failures.clone()).collect();
    failures.sort_by_key(|f| f.index);
    assert_eq!(failures.len(), 2);
    assert_eq!((failures[0].index, failures[0].key.as_str()), (17, ""));
    assert_eq!(
        failures[0].reason,
        BulkFailureReason::Invalid(ValidationError::EmptyKey)
    );
    assert_eq!(failures[1].index, 42);
    assert!(matches!(
        failures[1].reason,
        BulkFailureReason::Invalid(ValidationError::TtlTooShort { .. })
    ));
    match &err {
        Error::BulkIncomplete {
            succeeded,
            failed_keys,
            ..
        } => {
            assert_eq!(*succeeded, 93);
            assert_eq!(failed_keys.len(), 2);
        }
        other => panic!("unexpected {other:?}"),
    }
    // The valid items were written, the invalid one was not.
    assert_eq!(
        s.kv.get(name(94)).text().await.expect("get").as_deref(),
        Some("v94")
    );
    assert_eq!(s.kv.get(name(42)).text().await.expect("get"), None);

    // Read back chunk by chunk, 7 keys per request, a repeated key asked once.
    let keys = (0..5u64)
        .map(name)
        .chain([name(3)])
        .chain((5..95u64).map(name));
    let mut seen = 0;
    let mut present = 0;
    let mut events = Vec::new();
    let report =
        s.kv.bulk_get_stream(futures_util::stream::iter(keys))
            .concurrency(2)
            .on_progress(|p| events.push(p.clone()))
            .for_each(|values| {
                seen += values.len();
                present += values.values().filter(|v| v.is_some()).count();
            })
            .await
            .expect("bulk get");
    check_events(&events, 96);
    assert_eq!(report.succeeded, 96);
    assert_eq!(report.requests, 14, "96 keys, 7 per request");
    assert_eq!(seen, 95, "a key repeated within its chunk is answered once");
    assert_eq!(present, 93, "items 17 and 42 were never written");

    let report =
        s.kv.bulk_delete_stream(futures_util::stream::iter((0..95u64).map(name)))
            .await
            .expect("bulk delete");
    assert_eq!((report.succeeded, report.requests), (95, 10));
}

#[tokio::test]
async fn after_an_unauthorized_chunk_the_rest_is_not_sent() {
    let s = start_with(kv_mock::KvMock::builder(), small()).await;
    s.mock
        .inject(kv_mock::Fault::status(403).matching(kv_mock::FaultMatch::path("/bulk")));
    let mut events = Vec::new();
    let err =
        s.kv.bulk_put((0..50u64).map(|i| BulkPutItem::new(name(i), "v")))
            .concurrency(1)
            .on_progress(|p| events.push(p.clone()))
            .await
            .expect_err("403");
    check_events(&events, 50);
    assert_eq!(events.last().map(|e| e.requests), Some(1));
    assert!(events[1..].iter().all(|e| {
        e.failures
            .iter()
            .all(|f| matches!(f.reason, BulkFailureReason::NotSent { .. }))
    }));
    assert_eq!(err.failed_keys().len(), 50);
    let sent = s
        .mock
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/bulk"))
        .count();
    assert_eq!(sent, 1);
}

/// A server answering bulk writes that holds each request until `want` are in flight (or two
/// seconds pass), and records the most it saw at once.
async fn holding_server(want: usize) -> (String, Arc<AtomicUsize>) {
    use axum::routing::put;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (inf, top) = (Arc::clone(&in_flight), Arc::clone(&most));
    let app = axum::Router::new().route(
        "/client/v4/accounts/{acc}/storage/kv/namespaces/{ns}/bulk",
        put(move |body: axum::body::Bytes| {
            let (inf, top) = (Arc::clone(&inf), Arc::clone(&top));
            async move {
                let now = inf.fetch_add(1, Ordering::SeqCst) + 1;
                top.fetch_max(now, Ordering::SeqCst);
                for _ in 0..200 {
                    if inf.load(Ordering::SeqCst) >= want {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                // Let the others see the full count before this one leaves.
                tokio::time::sleep(Duration::from_millis(20)).await;
                inf.fetch_sub(1, Ordering::SeqCst);
                let items: Vec<serde_json::Value> =
                    serde_json::from_slice(&body).unwrap_or_default();
                axum::Json(json!({
                    "success": true, "errors": [], "messages": [],
                    "result": {"successful_key_count": items.len(), "unsuccessful_keys": []}
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/client/v4"), most)
}

#[tokio::test]
async fn chunks_go_with_the_concurrency_asked_and_no_more() {
    for concurrency in [1usize, 3] {
        let (base, most) = holding_server(concurrency).await;
        let client = kv_client::Client::builder()
            .base_url(base)
            .account_id("acc")
            .api_token("t")
            .limits(small())
            .build()
            .expect("client");
        let kv = client.namespace("ns");
        let report = kv
            .bulk_put((0..120u64).map(|i| (name(i), "v")))
            .concurrency(concurrency)
            .await
            .expect("written");
        assert_eq!((report.succeeded, report.requests), (120, 12));
        assert_eq!(most.load(Ordering::SeqCst), concurrency);
    }
}

#[tokio::test]
async fn the_input_is_pulled_only_as_chunks_go() {
    let s = start_with(kv_mock::KvMock::builder(), small()).await;
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let items = futures_util::stream::iter(0..300u64).map(move |i| {
        counter.fetch_add(1, Ordering::SeqCst);
        BulkPutItem::new(name(i), "v")
    });
    let concurrency = 2;
    let mut most_ahead = 0;
    let report =
        s.kv.bulk_put_stream(items)
            .concurrency(concurrency)
            .on_progress(|p| {
                let ahead = pulled.load(Ordering::SeqCst) as u64 - p.items_done - p.items_failed;
                most_ahead = most_ahead.max(ahead);
            })
            .await
            .expect("written");
    assert_eq!(report.succeeded, 300);
    // In flight or being packed: at most the chunks in flight, the one being filled and the
    // item that closed it.
    let bound = (concurrency as u64 + 1) * 10 + 1;
    assert!(
        most_ahead <= bound,
        "{most_ahead} items pulled ahead, bound {bound}"
    );
}
