//! Validation before sending: a bad key, TTL, expiration, metadata, list limit or known-size
//! value is a typed error and no request is made.

use crate::scripted_server::{Scripted, builder, start, test_retry};
use kv_client::{Body, BulkPutItem, Error, Operation};
use kv_types::{ErrorKind, Limits, StoreError, ValidationError};

async fn assert_nothing_sent(s: &Scripted) {
    let requests = s.server.received_requests().await.expect("request log");
    assert!(requests.is_empty(), "sent {} requests", requests.len());
}

fn rule(err: &Error) -> &ValidationError {
    err.validation_error()
        .unwrap_or_else(|| panic!("not a validation error: {err:?}"))
}

#[tokio::test]
async fn bad_keys() {
    let s = start().await;
    let long = "k".repeat(513);
    for (key, expected) in [
        ("", ValidationError::EmptyKey),
        (".", ValidationError::DotKey { key: ".".into() }),
        ("..", ValidationError::DotKey { key: "..".into() }),
        (
            long.as_str(),
            ValidationError::KeyTooLong { len: 513, max: 512 },
        ),
    ] {
        let err = s.kv.put(key, "v").await.expect_err("bad key");
        assert_eq!(rule(&err), &expected);
        assert_eq!(err.operation(), Some(Operation::Put));
        assert_eq!(err.kind(), ErrorKind::Validation);
        assert!(err.attempts().is_none());
        assert_eq!(
            s.kv.get(key)
                .bytes()
                .await
                .expect_err("bad key")
                .validation_error(),
            Some(&expected)
        );
        assert!(s.kv.delete(key).await.is_err());
        assert!(s.kv.metadata::<serde_json::Value>(key).await.is_err());
        assert!(
            s.kv.get_with_metadata::<serde_json::Value>(key)
                .await
                .is_err()
        );
        assert!(s.kv.get(key).stream().await.is_err());
    }
    assert_nothing_sent(&s).await;
}

#[tokio::test]
async fn multibyte_key_over_the_limit() {
    let s = start().await;
    let key = format!("{}€", "a".repeat(510)); // 513 bytes, 511 characters
    let err = s.kv.put(&key, "v").await.expect_err("too long");
    assert_eq!(
        rule(&err),
        &ValidationError::KeyTooLong { len: 513, max: 512 }
    );
    assert_nothing_sent(&s).await;
}

#[tokio::test]
async fn bad_ttl_and_expiration() {
    let s = start().await;
    let err =
        s.kv.put("k", "v")
            .expiration_ttl(59)
            .await
            .expect_err("ttl");
    assert_eq!(
        rule(&err),
        &ValidationError::TtlTooShort { ttl: 59, min: 60 }
    );
    assert_eq!(
        err.to_string(),
        "put \"k\" in namespace 0123456789abcdef0123456789abcdef: Invalid expiration_ttl of 59. Expiration TTL must be at least 60."
    );

    let now = kv_client::time::Clock::wall(&s.time)
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after epoch")
        .as_secs();
    let err =
        s.kv.put("k", "v")
            .expiration(now + 59)
            .await
            .expect_err("too soon");
    assert!(matches!(
        rule(&err),
        ValidationError::ExpirationTooSoon { .. }
    ));
    let err = s.kv.put("k", "v").expiration(1).await.expect_err("past");
    assert!(matches!(
        rule(&err),
        ValidationError::ExpirationTooSoon { .. }
    ));
    assert_nothing_sent(&s).await;
}

#[tokio::test]
async fn bad_metadata() {
    let s = start().await;
    let big = "m".repeat(1023); // 1025 bytes of JSON with its quotes
    let err =
        s.kv.put("k", "v")
            .metadata(&big)
            .await
            .expect_err("metadata");
    assert_eq!(
        rule(&err),
        &ValidationError::MetadataTooLarge {
            len: 1025,
            max: 1024
        }
    );

    let mut not_json = std::collections::HashMap::new();
    not_json.insert(vec![1u8], 1); // a map with non-string keys cannot be JSON
    let err =
        s.kv.put("k", "v")
            .metadata(&not_json)
            .await
            .expect_err("metadata");
    assert!(matches!(
        rule(&err),
        ValidationError::MetadataNotJson { .. }
    ));
    assert_nothing_sent(&s).await;
}

#[tokio::test]
async fn value_that_cannot_be_json() {
    let s = start().await;
    let mut not_json = std::collections::HashMap::new();
    not_json.insert(vec![1u8], 1);
    let err =
        s.kv.put("k", Body::json(&not_json))
            .await
            .expect_err("json");
    assert!(matches!(rule(&err), ValidationError::ValueNotJson { .. }));
    assert_nothing_sent(&s).await;
}

#[tokio::test]
async fn known_size_values_over_the_limit() {
    let s = start().await;
    let max = Limits::PRODUCTION.max_value_bytes;
    let err =
        s.kv.put("k", vec![0u8; max + 1])
            .await
            .expect_err("too big");
    assert_eq!(
        rule(&err),
        &ValidationError::ValueTooLarge { len: max + 1, max }
    );
    assert_eq!(rule(&err).status(), 413);

    let dir = std::env::temp_dir().join(format!("kv-client-validation-{}", std::process::id()));
    tokio::fs::create_dir_all(&dir).await.expect("dir");
    let path = dir.join("big.bin");
    let file = tokio::fs::File::create(&path).await.expect("create");
    file.set_len(max as u64 + 1).await.expect("sparse file");
    let err =
        s.kv.put("k", Body::file(&path))
            .await
            .expect_err("file too big");
    assert_eq!(
        rule(&err),
        &ValidationError::ValueTooLarge { len: max + 1, max }
    );
    let missing =
        s.kv.put("k", Body::file(dir.join("missing")))
            .await
            .expect_err("no such file");
    assert!(matches!(missing, Error::Body { .. }), "{missing:?}");
    tokio::fs::remove_dir_all(&dir).await.expect("cleanup");
    assert_nothing_sent(&s).await;
}

#[tokio::test]
async fn list_limit_out_of_range() {
    let s = start().await;
    for limit in [0, 9, 1001] {
        let err = s.kv.list().limit(limit).await.expect_err("limit");
        assert!(matches!(
            rule(&err),
            ValidationError::ListLimitOutOfRange { .. }
        ));
    }
    assert_nothing_sent(&s).await;
}

#[tokio::test]
async fn invalid_bulk_items_are_reported_by_index_and_never_sent() {
    let s = start().await;
    let items = vec![
        BulkPutItem::new("bad", "v").expiration_ttl(10),
        BulkPutItem::new("", "v"),
    ];
    let mut failures = Vec::new();
    let err =
        s.kv.bulk_put(items)
            .on_progress(|p| failures.extend(p.failures.iter().map(|f| (f.index, f.key.clone()))))
            .await
            .expect_err("every item bad");
    assert_eq!(failures, [(0, "bad".to_owned()), (1, String::new())]);
    assert_eq!(err.failed_keys(), ["bad", ""]);
    assert_eq!(err.kind(), ErrorKind::Validation);
    match &err {
        Error::BulkIncomplete { errors, .. } => {
            assert!(matches!(
                rule(&errors[0]),
                ValidationError::TtlTooShort { .. }
            ));
            assert_eq!(errors[0].key(), Some("bad"));
            assert_eq!(rule(&errors[1]), &ValidationError::EmptyKey);
        }
        other => panic!("unexpected {other:?}"),
    }

    let err = s.kv.bulk_delete([".."]).await.expect_err("bad key");
    assert_eq!(err.failed_keys(), [".."]);
    let err = s.kv.bulk_get([""]).await.expect_err("bad key");
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_nothing_sent(&s).await;
}

#[tokio::test]
async fn smaller_limits_configured_on_the_client_apply() {
    let s = start().await;
    let client = builder(&s.server.uri(), &s.time, test_retry())
        .limits(Limits {
            max_value_bytes: 4,
            ..Limits::PRODUCTION
        })
        .build()
        .expect("client");
    let err = client
        .namespace("ns")
        .put("k", "12345")
        .await
        .expect_err("over the small limit");
    assert_eq!(
        rule(&err),
        &ValidationError::ValueTooLarge { len: 5, max: 4 }
    );
    assert_nothing_sent(&s).await;
}
