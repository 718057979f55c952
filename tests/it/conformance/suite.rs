//! The conformance suite: what every `KvStore` must do, whatever serves it. Each function takes a
//! fresh, empty store (one namespace) and panics with a message on any deviation.
//!
//! Stores are expected to run with the per-key write limit off (the suite overwrites keys
//! back to back); the limit has tests of its own.

use bytes::Bytes;
use kv_types::{ErrorKind, Key, KvStore, ListOptions, Metadata, PutOptions, StoreError, Value};

fn key(name: &str) -> Key {
    Key::new(name).expect("test keys are valid")
}

async fn put<S: KvStore + ?Sized>(
    store: &S,
    name: &str,
    value: impl Into<Value>,
    opts: PutOptions,
) {
    store
        .put(&key(name), value.into(), opts)
        .await
        .unwrap_or_else(|e| panic!("put {name:?}: {e}"));
}

/// Text, binary and empty values read back byte for byte; a missing key is `None`.
pub(crate) async fn values_round_trip<S: KvStore + ?Sized>(store: &S) {
    let binary: Vec<u8> = (0..=255u8).collect();
    put(store, "text", "hello, world", PutOptions::new()).await;
    put(store, "binary", binary.clone(), PutOptions::new()).await;
    put(store, "empty", Vec::new(), PutOptions::new()).await;
    let get = |n: &'static str| async move { store.get(&key(n)).await.expect("get") };
    assert_eq!(get("text").await, Some(Bytes::from_static(b"hello, world")));
    assert_eq!(get("binary").await, Some(Bytes::from(binary)));
    assert_eq!(
        get("empty").await,
        Some(Bytes::new()),
        "an empty value is a value"
    );
    assert_eq!(get("never-written").await, None);
}

/// Keys with `/`, `?`, `#`, `%`, `..`, spaces and non-ASCII round-trip exactly and stay distinct.
pub(crate) async fn odd_keys_round_trip<S: KvStore + ?Sized>(store: &S) {
    let names = [
        "a/b",
        "a%2Fb",
        "q?x=1",
        "frag#x",
        "100%",
        "..",
        "a/../../bulk",
        "with space",
        "ключ",
        "日本/語",
        "+&=;",
        "...",
    ];
    for name in names {
        if name == ".." {
            continue; // not a key: covered by validation_is_typed
        }
        put(store, name, format!("value of {name}"), PutOptions::new()).await;
    }
    for name in names.iter().filter(|n| **n != "..") {
        let got = store.get(&key(name)).await.expect("get");
        assert_eq!(
            got.as_deref(),
            Some(format!("value of {name}").as_bytes()),
            "key {name:?}"
        );
    }
    let listed: Vec<String> = store
        .list(ListOptions::new())
        .await
        .expect("list")
        .keys
        .into_iter()
        .map(|k| k.name)
        .collect();
    let mut expected: Vec<String> = names
        .iter()
        .filter(|n| **n != "..")
        .map(|n| n.to_string())
        .collect();
    expected.sort();
    assert_eq!(
        listed, expected,
        "list returns every odd key once, in byte order"
    );
}

/// Metadata and expiration come back with the value of the same write; a write without metadata
/// clears it; deleting works and deleting a missing key succeeds.
pub(crate) async fn metadata_and_overwrite<S: KvStore + ?Sized>(store: &S, now: u64) {
    let meta = Metadata::new(&serde_json::json!({"createdBy": "suite", "version": 3}))
        .expect("small metadata");
    put(
        store,
        "m",
        "first",
        PutOptions::new()
            .metadata(meta.clone())
            .expiration_ttl(3600),
    )
    .await;
    let got = store
        .get_with_metadata(&key("m"))
        .await
        .expect("get_with_metadata")
        .expect("present");
    assert_eq!(got.value, Bytes::from_static(b"first"));
    assert_eq!(got.metadata.as_ref(), Some(&meta));
    let exp = got.expiration.expect("a TTL gives an expiration");
    assert!(
        (now + 3600..=now + 3600 + 60).contains(&exp),
        "expiration {exp} is about now ({now}) + 3600"
    );
    assert_eq!(
        store.metadata(&key("m")).await.expect("metadata"),
        Some(Some(meta))
    );

    put(store, "m", "second", PutOptions::new()).await;
    let got = store
        .get_with_metadata(&key("m"))
        .await
        .expect("get_with_metadata")
        .expect("present");
    assert_eq!(got.value, Bytes::from_static(b"second"));
    assert_eq!(got.metadata, None, "a write without metadata clears it");
    assert_eq!(got.expiration, None, "a write without expiration clears it");

    store.delete(&key("m")).await.expect("delete");
    assert_eq!(store.get(&key("m")).await.expect("get"), None);
    assert_eq!(store.metadata(&key("m")).await.expect("metadata"), None);
    store
        .delete(&key("m"))
        .await
        .expect("deleting a missing key succeeds");
}

/// List: byte order, literal prefix, page size, cursor to the end, each key once.
pub(crate) async fn list_pages<S: KvStore + ?Sized>(store: &S) {
    let mut expected = Vec::new();
    for i in 0..25 {
        let name = format!("p/{i:02}");
        put(store, &name, "v", PutOptions::new()).await;
        expected.push(name);
    }
    put(store, "p_other", "v", PutOptions::new()).await;
    put(store, "P/upper", "v", PutOptions::new()).await;

    let mut seen = Vec::new();
    let mut options = ListOptions::new().prefix("p/").limit(10);
    for page_no in 0.. {
        assert!(page_no < 10, "list never completes");
        let page = store.list(options.clone()).await.expect("list");
        assert!(page.keys.len() <= 10);
        seen.extend(page.keys.into_iter().map(|k| k.name));
        match page.cursor {
            Some(c) => {
                assert!(!page.complete);
                options = options.cursor(c);
            }
            None => {
                assert!(page.complete);
                break;
            }
        }
    }
    assert_eq!(seen, expected);

    let percent = store
        .list(ListOptions::new().prefix("p_"))
        .await
        .expect("list");
    let names: Vec<_> = percent.keys.into_iter().map(|k| k.name).collect();
    assert_eq!(
        names,
        vec!["p_other"],
        "prefix is literal: `_` is no wildcard"
    );
}

/// Bad input is a typed validation error and writes nothing.
pub(crate) async fn validation_is_typed<S: KvStore + ?Sized>(store: &S, max_value_bytes: usize) {
    let k = key("valid");
    let expect_validation = |r: Result<(), S::Error>, what: &str| match r {
        Ok(()) => panic!("{what} was accepted"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Validation, "{what}: {e}"),
    };
    expect_validation(
        store
            .put(&k, Value::from("v"), PutOptions::new().expiration_ttl(59))
            .await,
        "a TTL of 59",
    );
    expect_validation(
        store
            .put(
                &k,
                Value::from(vec![0u8; max_value_bytes + 1]),
                PutOptions::new(),
            )
            .await,
        "a value over the limit",
    );
    expect_validation(
        store
            .put(&k, Value::from("v"), PutOptions::new().expiration(1))
            .await,
        "an expiration in the past",
    );
    assert_eq!(
        store.get(&k).await.expect("get"),
        None,
        "nothing was written"
    );
    assert!(
        store
            .list(ListOptions::new().limit(9))
            .await
            .is_err_and(|e| e.kind() == ErrorKind::Validation),
        "a list limit of 9"
    );
}
