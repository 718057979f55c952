//! Against kv-mock: every value type and odd keys round-trip exactly; metadata, expiration,
//! get_with_metadata, delete, and the KvStore trait.

use std::time::Duration;

use crate::kit::start;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use kv_client::{Body, Error};
use kv_types::{Key, KvStore, Metadata, PutOptions, Value};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    name: String,
    tags: Vec<String>,
}

fn odd_keys() -> Vec<String> {
    vec![
        "a/b/c".into(),
        "what?x=1&y=2".into(),
        "hash#tag".into(),
        "100%".into(),
        "%2F literally".into(),
        "..".to_owned() + "/escape",
        "a/../../bulk".into(),
        "...".into(),
        "with space".into(),
        "ключ-日本-🙂".into(),
        "+&=;:@$,".into(),
        "tab\there".into(),
        "k".repeat(512),
        format!("{}€", "a".repeat(509)),
    ]
}

#[tokio::test]
async fn odd_keys_round_trip_exactly() {
    let s = start().await;
    for key in odd_keys() {
        s.kv.put(&key, key.as_str())
            .metadata(&json!({"k": key}))
            .await
            .unwrap_or_else(|e| panic!("put {key:?}: {e}"));
        assert_eq!(
            s.kv.get(&key).text().await.expect("get").as_deref(),
            Some(key.as_str()),
            "{key:?}"
        );
        let meta: Option<Option<serde_json::Value>> = s.kv.metadata(&key).await.expect("metadata");
        assert_eq!(meta, Some(Some(json!({"k": key}))));
    }
    let mut listed: Vec<String> =
        s.kv.list()
            .into_stream()
            .map_ok(|k| k.name)
            .try_collect()
            .await
            .expect("list");
    let mut expected = odd_keys();
    expected.sort();
    listed.sort();
    assert_eq!(listed, expected);
    for key in odd_keys() {
        s.kv.delete(&key).await.expect("delete");
        assert_eq!(s.kv.get(&key).bytes().await.expect("get"), None, "{key:?}");
    }
    assert!(s.kv.list().await.expect("list").keys.is_empty());
}

#[tokio::test]
async fn every_value_type_round_trips() {
    let s = start().await;
    let binary: Vec<u8> = (0..=255u8).collect();
    s.kv.put("str", "text é").await.expect("&str");
    s.kv.put("string", String::from("owned"))
        .await
        .expect("String");
    s.kv.put("slice", &binary[..]).await.expect("&[u8]");
    s.kv.put("vec", binary.clone()).await.expect("Vec<u8>");
    s.kv.put("bytes", Bytes::from_static(b"\x00\xff"))
        .await
        .expect("Bytes");
    s.kv.put("empty", "").await.expect("empty");
    let user = User {
        name: "Ada".into(),
        tags: vec!["a".into(), "b".into()],
    };
    s.kv.put("json", Body::json(&user)).await.expect("json");
    let chunks: Vec<Result<Bytes, std::io::Error>> = (0..50)
        .map(|i| Ok(Bytes::from(vec![i as u8; 1000])))
        .collect();
    let streamed: Vec<u8> = (0..50).flat_map(|i| vec![i as u8; 1000]).collect();
    s.kv.put("stream", Body::stream(stream::iter(chunks)))
        .await
        .expect("stream");
    let dir = std::env::temp_dir().join(format!("kv-client-mock-values-{}", std::process::id()));
    tokio::fs::create_dir_all(&dir).await.expect("dir");
    let path = dir.join("v.bin");
    tokio::fs::write(&path, &binary).await.expect("write");
    s.kv.put("file", Body::file(&path)).await.expect("file");
    s.kv.put(
        "replayable",
        Body::replayable(|| stream::iter([Ok::<_, std::io::Error>(Bytes::from("again"))])),
    )
    .await
    .expect("replayable");

    assert_eq!(
        s.kv.get("str").text().await.expect("get").as_deref(),
        Some("text é")
    );
    assert_eq!(
        s.kv.get("string").await.expect("get").as_deref(),
        Some(&b"owned"[..])
    );
    assert_eq!(
        s.kv.get("slice").bytes().await.expect("get").as_deref(),
        Some(&binary[..])
    );
    assert_eq!(
        s.kv.get("vec").bytes().await.expect("get").as_deref(),
        Some(&binary[..])
    );
    assert_eq!(
        s.kv.get("bytes").bytes().await.expect("get").as_deref(),
        Some(&b"\x00\xff"[..])
    );
    assert_eq!(
        s.kv.get("empty").bytes().await.expect("get").as_deref(),
        Some(&b""[..])
    );
    assert_eq!(
        s.kv.get("json").json::<User>().await.expect("get"),
        Some(user)
    );
    assert_eq!(
        s.kv.get("stream").bytes().await.expect("get").as_deref(),
        Some(&streamed[..])
    );
    assert_eq!(
        s.kv.get("file").bytes().await.expect("get").as_deref(),
        Some(&binary[..])
    );
    assert_eq!(
        s.kv.get("replayable").text().await.expect("get").as_deref(),
        Some("again")
    );
    let mut read =
        s.kv.get("stream")
            .stream()
            .await
            .expect("ok")
            .expect("present");
    let mut got = Vec::new();
    while let Some(chunk) = read.next().await {
        got.extend_from_slice(&chunk.expect("chunk"));
    }
    assert_eq!(got, streamed);

    // Reading a binary value as text or JSON is a decode error, not a panic.
    assert!(matches!(
        s.kv.get("vec").text().await,
        Err(Error::Decode { .. })
    ));
    assert!(matches!(
        s.kv.get("str").json::<User>().await,
        Err(Error::Decode { .. })
    ));
    tokio::fs::remove_dir_all(&dir).await.expect("cleanup");
}

#[tokio::test]
async fn missing_keys_are_none() {
    let s = start().await;
    assert_eq!(s.kv.get("nope").bytes().await.expect("get"), None);
    assert_eq!(s.kv.get("nope").text().await.expect("get"), None);
    assert!(s.kv.get("nope").stream().await.expect("get").is_none());
    assert_eq!(
        s.kv.metadata::<serde_json::Value>("nope")
            .await
            .expect("meta"),
        None
    );
    assert!(
        s.kv.get_with_metadata::<serde_json::Value>("nope")
            .await
            .expect("gwm")
            .is_none()
    );
    s.kv.delete("nope")
        .await
        .expect("deleting a missing key succeeds");
}

#[tokio::test]
async fn missing_namespace_is_a_not_found_error() {
    let s = start().await;
    let gone = s.client.namespace("ffffffffffffffffffffffffffffffff");
    let err = gone.get("k").bytes().await.expect_err("no namespace");
    assert!(
        matches!(err, Error::NotFound { status: 404, .. }),
        "{err:?}"
    );
    assert_eq!(err.codes(), vec![kv_types::codes::NAMESPACE_NOT_FOUND]);
    assert!(gone.put("k", "v").await.is_err());
}

#[tokio::test]
async fn metadata_and_expiration_belong_to_the_same_write() {
    let s = start().await;
    s.kv.put("k", "v1")
        .expiration_ttl(300)
        .metadata(&json!({"version": 1}))
        .await
        .expect("put");
    let read =
        s.kv.get_with_metadata::<serde_json::Value>("k")
            .await
            .expect("gwm")
            .expect("present");
    assert_eq!(read.value, "v1");
    assert_eq!(read.metadata, Some(json!({"version": 1})));
    assert_eq!(read.expiration, Some(s.now() + 300));
    assert_eq!(
        s.kv.metadata::<serde_json::Value>("k").await.expect("m"),
        Some(Some(json!({"version": 1})))
    );

    // A put without metadata clears it; the absolute expiration is kept as given.
    s.advance(Duration::from_secs(2));
    let at = s.now() + 3600;
    s.kv.put("k", "v2").expiration(at).await.expect("put");
    let read =
        s.kv.get_with_metadata::<serde_json::Value>("k")
            .await
            .expect("gwm")
            .expect("present");
    assert_eq!(
        (read.value.as_ref(), read.metadata, read.expiration),
        (&b"v2"[..], None, Some(at))
    );
    assert_eq!(
        s.kv.metadata::<serde_json::Value>("k").await.expect("m"),
        Some(None)
    );

    // Past its expiration the key is gone.
    s.advance(Duration::from_secs(3601));
    assert_eq!(s.kv.get("k").bytes().await.expect("get"), None);
}

#[tokio::test]
async fn ttl_expiry() {
    let s = start().await;
    s.kv.put("short", "v")
        .expiration_ttl(60)
        .await
        .expect("put");
    s.advance(Duration::from_secs(59));
    assert!(s.kv.get("short").bytes().await.expect("get").is_some());
    s.advance(Duration::from_secs(2));
    assert!(s.kv.get("short").bytes().await.expect("get").is_none());
}

#[tokio::test]
async fn the_client_is_a_kv_store() {
    let s = start().await;
    let store: &dyn KvStore<Error = Error> = &s.kv;
    let key = Key::new("trait/key ?").expect("key");
    let meta = Metadata::new(&json!({"t": true})).expect("meta");
    store
        .put(
            &key,
            Value::from("v"),
            PutOptions::new().expiration_ttl(120).metadata(meta.clone()),
        )
        .await
        .expect("put");
    assert_eq!(
        store.get(&key).await.expect("get").as_deref(),
        Some(&b"v"[..])
    );
    let read = store
        .get_with_metadata(&key)
        .await
        .expect("gwm")
        .expect("present");
    assert_eq!(read.metadata, Some(meta.clone()));
    assert_eq!(read.expiration, Some(s.now() + 120));
    assert_eq!(store.metadata(&key).await.expect("meta"), Some(Some(meta)));
    let page = store
        .list(kv_types::ListOptions::new().prefix("trait/"))
        .await
        .expect("list");
    assert_eq!(page.keys.len(), 1);
    assert!(page.complete);
    store.delete(&key).await.expect("delete");
    assert_eq!(store.get(&key).await.expect("get"), None);
}

#[tokio::test]
async fn large_value_at_the_limit() {
    let s = start().await;
    let max = kv_types::Limits::PRODUCTION.max_value_bytes;
    let value = Bytes::from(vec![7u8; max]);
    s.kv.put("big", value.clone())
        .await
        .expect("exactly 25 MiB is allowed");
    let chunk = Bytes::from(vec![7u8; 1024 * 1024]);
    s.advance(Duration::from_secs(1));
    s.kv.put(
        "big",
        Body::stream(stream::iter(
            (0..25).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
        )),
    )
    .await
    .expect("a 25 MiB stream is allowed");
    assert_eq!(
        s.kv.get("big").bytes().await.expect("get").map(|b| b.len()),
        Some(max)
    );
}

/// A rule only the service enforces (its limits are smaller than the client knows): the refusal
/// is an error of kind `Validation` through the `KvStore` trait, as the client's own check is,
/// it is not retried, and nothing is written.
#[tokio::test]
async fn a_refusal_by_the_service_is_a_validation_error() {
    let small = kv_types::Limits {
        max_value_bytes: 16,
        ..kv_types::Limits::PRODUCTION
    };
    let mock = crate::kit::start_mock(kv_mock::KvMock::builder().limits(small)).await;
    let client = crate::kit::client_builder(&mock).build().expect("client");
    let kv = client.namespace(mock.namespace_id());
    let key = Key::new("big").expect("key");
    let err = KvStore::put(&kv, &key, Value::from(vec![7u8; 17]), PutOptions::default())
        .await
        .expect_err("the mock refuses 17 bytes");
    assert_eq!(
        kv_types::StoreError::kind(&err),
        kv_types::ErrorKind::Validation,
        "{err:?}"
    );
    assert_eq!(err.status(), Some(413), "{err:?}");
    assert_eq!(mock.requests().len(), 1, "not retried");
    assert_eq!(kv.get("big").bytes().await.expect("get"), None);
}
