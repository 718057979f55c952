//! Unit tests of the engine: namespaces, entries, expiry, limits, the write limit, lists, bulk.

use std::sync::Arc;
use std::time::Duration;

use kv_types::{
    ErrorKind, Key, KvStore, Limits, ListOptions, Metadata, PutOptions, StoreError,
    ValidationError, Value,
};

use super::*;

const T0: u64 = 1_700_000_000;

fn engine(rate_limit: bool) -> (Engine, NamespaceHandle) {
    let engine = Engine::new(EngineConfig {
        limits: Limits::PRODUCTION,
        rate_limit,
        clock: Clock::frozen_at(T0),
    });
    let ns = engine.create_namespace("test").expect("create");
    let handle = engine.namespace(&ns.id).expect("exists");
    (engine, handle)
}

fn key(s: &str) -> Key {
    Key::new(s).expect("valid key")
}

fn meta(json: &str) -> Metadata {
    Metadata::from_json(json).expect("valid metadata")
}

#[test]
fn namespace_lifecycle() {
    let engine = Engine::default();
    let a = engine.create_namespace("a").expect("create a");
    assert!(kv_types::namespace::is_namespace_id(&a.id));
    assert!(a.supports_url_encoding);
    assert_eq!(
        engine.create_namespace("a"),
        Err(EngineError::DuplicateTitle {
            op: "create namespace"
        })
    );
    assert_eq!(
        engine.create_namespace("  "),
        Err(EngineError::InvalidTitle {
            op: "create namespace"
        })
    );
    let b = engine.create_namespace("b").expect("create b");
    assert_eq!(engine.list_namespaces().len(), 2);
    assert_eq!(
        engine.rename_namespace(&b.id, "a"),
        Err(EngineError::DuplicateTitle {
            op: "rename namespace"
        })
    );
    // Renaming to its own title is fine.
    assert_eq!(
        engine.rename_namespace(&b.id, "b").map(|n| n.title),
        Ok("b".into())
    );
    assert_eq!(
        engine.rename_namespace(&b.id, "c").map(|n| n.title),
        Ok("c".into())
    );
    assert_eq!(engine.get_namespace(&b.id).map(|n| n.title), Ok("c".into()));
    let handle = engine.namespace(&b.id).expect("exists");
    engine.delete_namespace(&b.id).expect("delete");
    assert_eq!(
        engine.get_namespace(&b.id),
        Err(EngineError::NamespaceNotFound {
            op: "get namespace"
        })
    );
    assert_eq!(
        engine.delete_namespace(&b.id),
        Err(EngineError::NamespaceNotFound {
            op: "remove namespace"
        })
    );
    assert!(handle.is_deleted());
    assert_eq!(
        handle.get_sync("k"),
        Err(EngineError::NamespaceNotFound { op: "get" })
    );
    // The title is free again.
    engine.create_namespace("c").expect("title reusable");
    assert!(engine.namespace("0".repeat(32).as_str()).is_none());
}

#[test]
fn create_with_fixed_id() {
    let engine = Engine::default();
    let id = "0123456789abcdef0123456789abcdef";
    assert_eq!(
        engine.create_namespace_with_id(id, "x").map(|n| n.id),
        Ok(id.into())
    );
    let other = engine.create_namespace_with_id(id, "y").expect("new id");
    assert_ne!(other.id, id);
    let bad = engine.create_namespace_with_id("XYZ", "z").expect("new id");
    assert!(kv_types::namespace::is_namespace_id(&bad.id));
}

#[tokio::test]
async fn put_get_metadata_delete_through_kv_store() {
    let (_, ns) = engine(false);
    let k = key("users/42?x#y");
    assert_eq!(ns.get(&k).await, Ok(None));
    ns.put(
        &k,
        Value::from("v1"),
        PutOptions::new().metadata(meta(r#"{"a": 1}"#)),
    )
    .await
    .expect("put");
    assert_eq!(ns.get(&k).await.expect("get").as_deref(), Some(&b"v1"[..]));
    assert_eq!(
        ns.metadata(&k).await.expect("metadata"),
        Some(Some(meta(r#"{"a": 1}"#)))
    );
    // A put without metadata clears it.
    ns.put(&k, Value::from(""), PutOptions::new())
        .await
        .expect("put empty");
    let read = ns
        .get_with_metadata(&k)
        .await
        .expect("read")
        .expect("present");
    assert_eq!((read.value.len(), read.metadata), (0, None));
    assert_eq!(ns.metadata(&k).await.expect("metadata"), Some(None));
    ns.delete(&k).await.expect("delete");
    ns.delete(&k).await.expect("delete missing");
    assert_eq!(ns.get(&k).await, Ok(None));
    assert_eq!(ns.metadata(&k).await, Ok(None));
}

#[tokio::test]
async fn limits_are_enforced() {
    let engine = Engine::new(EngineConfig {
        limits: Limits {
            max_key_bytes: 8,
            max_value_bytes: 4,
            max_metadata_bytes: 6,
            ..Limits::PRODUCTION
        },
        rate_limit: false,
        clock: Clock::frozen_at(T0),
    });
    let ns = engine
        .namespace(&engine.create_namespace("t").expect("create").id)
        .expect("exists");
    assert_eq!(
        ns.put_sync("123456789", Value::from("v"), PutOptions::new()),
        Err(EngineError::Validation(ValidationError::KeyTooLong {
            len: 9,
            max: 8
        }))
    );
    assert_eq!(
        ns.put_sync("k", Value::from("12345"), PutOptions::new()),
        Err(EngineError::Validation(ValidationError::ValueTooLarge {
            len: 5,
            max: 4
        }))
    );
    ns.put_sync("k", Value::from("1234"), PutOptions::new())
        .expect("at the limit");
    assert_eq!(
        ns.put_sync(
            "k",
            Value::from("v"),
            PutOptions::new().metadata(meta(r#""12345""#))
        ),
        Err(EngineError::Validation(ValidationError::MetadataTooLarge {
            len: 7,
            max: 6
        }))
    );
    for bad in ["", ".", ".."] {
        let err = ns
            .put_sync(bad, Value::from("v"), PutOptions::new())
            .expect_err("bad key");
        assert_eq!(err.status(), 400);
        assert_eq!(err.kind(), ErrorKind::Validation);
    }
    assert_eq!(
        ns.put_sync("k", Value::from("v"), PutOptions::new().expiration_ttl(59)),
        Err(EngineError::Validation(ValidationError::TtlTooShort {
            ttl: 59,
            min: 60
        }))
    );
    assert_eq!(
        ns.put_sync("k", Value::from("v"), PutOptions::new().expiration(T0 + 59)),
        Err(EngineError::Validation(
            ValidationError::ExpirationTooSoon {
                expiration: T0 + 59,
                min: 60
            }
        ))
    );
    // The TTL wins over an (invalid) absolute expiration.
    ns.put_sync(
        "k",
        Value::from("v"),
        PutOptions::new().expiration(5).expiration_ttl(60),
    )
    .expect("ttl wins");
    assert_eq!(ns.entry("k").and_then(|e| e.expiration), Some(T0 + 60));
    // The value is still the one of the last successful write.
    assert_eq!(ns.entry("k").map(|e| e.value), Some("v".into()));
}

#[tokio::test]
async fn expiry_on_a_moved_clock() {
    let (engine, ns) = engine(false);
    ns.put_sync(
        "ttl",
        Value::from("a"),
        PutOptions::new().expiration_ttl(60),
    )
    .expect("put");
    ns.put_sync(
        "abs",
        Value::from("b"),
        PutOptions::new().expiration(T0 + 120),
    )
    .expect("put");
    ns.put_sync("forever", Value::from("c"), PutOptions::new())
        .expect("put");
    let read = ns.get_sync("ttl").expect("get").expect("present");
    assert_eq!(read.expiration, Some(T0 + 60));
    engine.clock().advance(Duration::from_secs(59));
    assert!(ns.get_sync("ttl").expect("get").is_some());
    engine.clock().advance(Duration::from_secs(1));
    // Absent everywhere: get, metadata, list, bulk get.
    assert_eq!(ns.get_sync("ttl"), Ok(None));
    assert_eq!(ns.metadata_sync("ttl"), Ok(None));
    let names: Vec<_> = ns
        .list_sync(&ListOptions::new())
        .expect("list")
        .keys
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(names, ["abs", "forever"]);
    let bulk = ns
        .bulk_get_sync(&["ttl".into(), "abs".into()])
        .expect("bulk get");
    assert_eq!(bulk["ttl"], None);
    assert!(bulk["abs"].is_some());
    engine.clock().advance(Duration::from_secs(60));
    assert_eq!(ns.get_sync("abs"), Ok(None));
    assert_eq!(ns.stats().entries, 1);
    assert_eq!(ns.stats().expiring, 0);
}

#[test]
fn expired_memory_is_reclaimed() {
    let (engine, ns) = engine(false);
    // The full million in release builds; a fifth of it in (slower) debug builds.
    let n = if cfg!(debug_assertions) {
        200_000
    } else {
        1_000_000
    };
    for i in 0..n {
        engine
            .seed(
                ns.id(),
                &format!("k{i:06}"),
                Value::from("v"),
                PutOptions::new().expiration_ttl(60 + (i % 7)),
            )
            .expect("seed");
    }
    assert_eq!(
        ns.stats(),
        NamespaceStats {
            entries: n as usize,
            expiring: n as usize,
            rate_limited_keys: 0
        }
    );
    engine.clock().advance(Duration::from_secs(3600));
    // Any access sweeps.
    assert_eq!(ns.get_sync("k000000"), Ok(None));
    assert_eq!(
        ns.stats(),
        NamespaceStats {
            entries: 0,
            expiring: 0,
            rate_limited_keys: 0
        }
    );
}

#[test]
fn purge_expired_sweeps_every_namespace() {
    let (engine, ns) = engine(false);
    engine
        .seed(ns.id(), "k", "v", PutOptions::new().expiration_ttl(1))
        .expect("seed may use a short ttl");
    assert!(engine.entry(ns.id(), "k").is_some());
    engine.clock().advance(Duration::from_secs(1));
    assert_eq!(ns.stats().entries, 1);
    engine.purge_expired();
    assert_eq!(ns.stats().entries, 0);
}

#[test]
fn rate_limit_one_write_per_second_per_key() {
    let (engine, ns) = engine(true);
    ns.put_sync("k", Value::from("1"), PutOptions::new())
        .expect("first");
    assert_eq!(
        ns.put_sync("k", Value::from("2"), PutOptions::new()),
        Err(EngineError::RateLimited)
    );
    assert_eq!(ns.entry("k").map(|e| e.value), Some("1".into()));
    ns.put_sync("other", Value::from("x"), PutOptions::new())
        .expect("other key");
    // Deletes and seeding are not limited.
    ns.delete_sync("k").expect("delete");
    engine
        .seed(ns.id(), "k", "seeded", PutOptions::new())
        .expect("seed");
    engine.clock().advance(Duration::from_millis(999));
    assert_eq!(
        ns.put_sync("k", Value::from("3"), PutOptions::new()),
        Err(EngineError::RateLimited)
    );
    engine.clock().advance(Duration::from_millis(1));
    ns.put_sync("k", Value::from("4"), PutOptions::new())
        .expect("a second later");
    engine.set_rate_limit(false);
    ns.put_sync("k", Value::from("5"), PutOptions::new())
        .expect("limit off");
    assert_eq!(EngineError::RateLimited.kind(), ErrorKind::RateLimited);
}

#[test]
fn rate_limit_lifts_in_real_time_on_a_frozen_clock() {
    let (_, ns) = engine(true);
    ns.put_sync("k", Value::from("1"), PutOptions::new())
        .expect("first");
    assert_eq!(
        ns.put_sync("k", Value::from("2"), PutOptions::new()),
        Err(EngineError::RateLimited)
    );
    std::thread::sleep(Duration::from_millis(1050));
    ns.put_sync("k", Value::from("3"), PutOptions::new())
        .expect("a real second later");
}

#[test]
fn list_orders_pages_and_prefixes() {
    let (_, ns) = engine(false);
    // Byte order of UTF-8: "B" < "a" < "é" (0xC3 0xA9) < "日".
    for k in ["a", "é", "B", "日", "a%", "a_", "ab", "aB"] {
        ns.put_sync(k, Value::from("v"), PutOptions::new())
            .expect("put");
    }
    let all: Vec<_> = ns
        .list_sync(&ListOptions::new())
        .expect("list")
        .keys
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(all, ["B", "a", "a%", "aB", "a_", "ab", "é", "日"]);
    let pref: Vec<_> = ns
        .list_sync(&ListOptions::new().prefix("a%"))
        .expect("list")
        .keys
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(pref, ["a%"]);
    assert!(
        ns.list_sync(&ListOptions::new().prefix("A"))
            .expect("list")
            .keys
            .is_empty()
    );
    assert!(matches!(
        ns.list_sync(&ListOptions::new().limit(9)),
        Err(EngineError::Validation(
            ValidationError::ListLimitOutOfRange { .. }
        ))
    ));
    assert_eq!(
        ns.list_sync(&ListOptions::new().cursor("!!")),
        Err(EngineError::InvalidCursor)
    );
}

#[test]
fn list_paging_sees_keys_added_mid_way() {
    let (_, ns) = engine(false);
    for i in 0..25 {
        ns.put_sync(&format!("k{i:02}"), Value::from("v"), PutOptions::new())
            .expect("put");
    }
    let first = ns.list_sync(&ListOptions::new().limit(10)).expect("page 1");
    assert_eq!(first.keys.len(), 10);
    assert!(!first.complete);
    let cursor = first.cursor.clone().expect("cursor");
    // Added after the cursor was issued: one sorting after it, one before.
    ns.put_sync("k15a", Value::from("v"), PutOptions::new())
        .expect("put");
    ns.put_sync("k00a", Value::from("v"), PutOptions::new())
        .expect("put");
    // Deleted before it is reached.
    ns.delete_sync("k20").expect("delete");
    let mut seen: Vec<String> = first.keys.into_iter().map(|k| k.name).collect();
    let mut next = Some(cursor);
    let mut pages = 1;
    while let Some(c) = next.take() {
        pages += 1;
        assert!(pages < 10, "paging does not end");
        let page = ns
            .list_sync(&ListOptions::new().limit(10).cursor(c))
            .expect("page");
        seen.extend(page.keys.into_iter().map(|k| k.name));
        next = page.cursor;
    }
    assert!(seen.contains(&"k15a".to_owned()));
    assert!(!seen.contains(&"k00a".to_owned()));
    assert!(!seen.contains(&"k20".to_owned()));
    assert_eq!(seen.len(), 25);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
}

#[test]
fn last_page_exactly_full_has_no_cursor() {
    let (_, ns) = engine(false);
    for i in 0..10 {
        ns.put_sync(&format!("k{i}"), Value::from("v"), PutOptions::new())
            .expect("put");
    }
    let page = ns.list_sync(&ListOptions::new().limit(10)).expect("list");
    assert_eq!(page.keys.len(), 10);
    assert!(page.complete);
    assert_eq!(page.cursor, None);
}

#[test]
fn list_carries_metadata_and_expiration() {
    let (_, ns) = engine(false);
    ns.put_sync(
        "k",
        Value::from("v"),
        PutOptions::new()
            .expiration_ttl(100)
            .metadata(meta(r#"{"x":1}"#)),
    )
    .expect("put");
    let page = ns.list_sync(&ListOptions::new()).expect("list");
    assert_eq!(page.keys[0].expiration, Some(T0 + 100));
    assert_eq!(page.keys[0].metadata, Some(meta(r#"{"x":1}"#)));
}

#[test]
fn bulk_operations() {
    let engine = Engine::new(EngineConfig {
        limits: Limits {
            max_bulk_items: 3,
            max_bulk_get_keys: 2,
            ..Limits::PRODUCTION
        },
        rate_limit: true,
        clock: Clock::frozen_at(T0),
    });
    let ns = engine
        .namespace(&engine.create_namespace("t").expect("create").id)
        .expect("exists");
    let put = |k: &str, v: &str, o: PutOptions| BulkPut {
        key: k.into(),
        value: Value::from(v),
        options: o,
    };
    let result = ns
        .bulk_put_sync(vec![
            put("a", "1", PutOptions::new()),
            put("", "x", PutOptions::new()),
            put("b", "2", PutOptions::new().expiration_ttl(10)),
        ])
        .expect("bulk put");
    assert_eq!(result.successful_key_count, 1);
    assert_eq!(result.unsuccessful_keys, ["", "b"]);
    // Bulk writes are not rate limited, and the last item for a key wins.
    let result = ns
        .bulk_put_sync(vec![
            put("a", "2", PutOptions::new()),
            put("a", "3", PutOptions::new()),
        ])
        .expect("bulk put");
    assert_eq!(result.successful_key_count, 2);
    assert_eq!(
        engine.entry(ns.id(), "a").map(|e| e.value),
        Some("3".into())
    );
    assert_eq!(
        ns.bulk_put_sync(vec![put("a", "1", PutOptions::new()); 4]),
        Err(EngineError::Validation(ValidationError::BulkTooManyItems {
            count: 4,
            max: 3
        }))
    );
    let got = ns
        .bulk_get_sync(&["a".into(), "zz".into()])
        .expect("bulk get");
    assert_eq!(got["a"].as_ref().map(|e| e.value.clone()), Some("3".into()));
    assert_eq!(got["zz"], None);
    assert!(matches!(
        ns.bulk_get_sync(&["a".into(), "b".into(), "c".into()]),
        Err(EngineError::Validation(
            ValidationError::BulkGetTooManyKeys { .. }
        ))
    ));
    assert!(matches!(
        ns.bulk_get_sync(&["".into()]),
        Err(EngineError::Validation(ValidationError::EmptyKey))
    ));
    let del = ns
        .bulk_delete_sync(vec!["a".into(), "missing".into(), "..".into()])
        .expect("bulk delete");
    assert_eq!(del.successful_key_count, 2);
    assert_eq!(del.unsuccessful_keys, [".."]);
    assert_eq!(engine.entry(ns.id(), "a"), None);
    assert!(ns.bulk_delete_sync(vec!["x".into(); 4]).is_err());
}

#[test]
fn last_write_wins_and_reads_are_consistent() {
    let (_, ns) = engine(false);
    let writers = 8;
    let per_writer = 200;
    std::thread::scope(|s| {
        for w in 0..writers {
            let ns = ns.clone();
            s.spawn(move || {
                for i in 0..per_writer {
                    let tag = format!("{w}-{i}");
                    ns.put_sync(
                        "k",
                        Value::from(tag.clone()),
                        PutOptions::new()
                            .metadata(Metadata::new(&tag).expect("meta"))
                            .expiration_ttl(1000 + w * 1000 + i),
                    )
                    .expect("put");
                }
            });
        }
        for _ in 0..2 {
            let ns = ns.clone();
            s.spawn(move || {
                for _ in 0..2000 {
                    if let Some(read) = ns.get_sync("k").expect("get") {
                        let tag = String::from_utf8(read.value.to_vec()).expect("utf8");
                        let meta_tag: String = read
                            .metadata
                            .expect("has metadata")
                            .decode()
                            .expect("string");
                        assert_eq!(tag, meta_tag, "value and metadata of two writes");
                        let (w, i) = tag.split_once('-').expect("tag");
                        let w: u64 = w.parse().expect("w");
                        let i: u64 = i.parse().expect("i");
                        assert_eq!(read.expiration, Some(T0 + 1000 + w * 1000 + i));
                    }
                }
            });
        }
    });
    let last = ns.get_sync("k").expect("get").expect("present");
    // The last write of some writer.
    let tag = String::from_utf8(last.value.to_vec()).expect("utf8");
    assert!(tag.ends_with(&format!("-{}", per_writer - 1)), "{tag}");
}

#[test]
fn reset_keeps_the_listed_namespaces_empty() {
    let (engine, ns) = engine(false);
    let keep = engine.get_namespace(ns.id()).expect("exists");
    ns.put_sync("k", Value::from("v"), PutOptions::new())
        .expect("put");
    engine.rename_namespace(ns.id(), "renamed").expect("rename");
    let other = engine.create_namespace("other").expect("create");
    let gone = Namespace {
        id: "f".repeat(32),
        title: "recreated".into(),
        supports_url_encoding: true,
    };
    engine
        .reset(&[keep.clone(), gone.clone()])
        .expect("an in-memory reset");
    assert_eq!(ns.get_sync("k"), Ok(None));
    assert_eq!(ns.title(), "test");
    assert!(engine.get_namespace(&other.id).is_err());
    assert_eq!(engine.get_namespace(&gone.id), Ok(gone));
    assert_eq!(engine.list_namespaces().len(), 2);
}

#[test]
fn handles_are_object_safe_stores() {
    let (_, ns) = engine(false);
    let store: Arc<dyn KvStore<Error = EngineError>> = Arc::new(ns);
    let _ = store;
}

#[test]
fn a_write_is_checked_in_the_order_of_the_wire_and_expires_from_its_start() {
    let (engine, ns) = engine(true);
    // The key first, then the expiration, then (after the body) value and metadata.
    assert!(matches!(
        ns.begin_put(""),
        Err(EngineError::Validation(ValidationError::EmptyKey))
    ));
    let mut put = ns.begin_put("k").expect("valid key");
    assert_eq!(
        put.expire(Some(kv_types::Expiration::Ttl(59))),
        Err(ValidationError::TtlTooShort { ttl: 59, min: 60 })
    );
    put.expire(Some(kv_types::Expiration::Ttl(60)))
        .expect("valid ttl");
    // The body takes a while: the TTL still counts from the start of the write.
    engine.clock().advance(Duration::from_secs(30));
    put.commit(Value::from("v"), Some(meta("{}")))
        .expect("commit");
    assert_eq!(ns.entry("k").and_then(|e| e.expiration), Some(T0 + 60));
    // The value limit is checked on commit, and a refused commit stores nothing.
    let big = Value::from(vec![0u8; Limits::PRODUCTION.max_value_bytes + 1]);
    let put = ns.begin_put("big").expect("valid key");
    assert!(matches!(
        put.commit(big, None),
        Err(EngineError::Validation(
            ValidationError::ValueTooLarge { .. }
        ))
    ));
    assert!(ns.entry("big").is_none());
    // The per-key write limit applies on commit too.
    engine.clock().advance(Duration::from_secs(1));
    ns.put_sync("r", Value::from("1"), PutOptions::new())
        .expect("first");
    let put = ns.begin_put("r").expect("valid key");
    assert_eq!(
        put.commit(Value::from("2"), None),
        Err(EngineError::RateLimited)
    );
}

#[test]
fn a_write_racing_the_deletion_of_its_namespace_is_refused() {
    let (engine, ns) = engine(false);
    let put = ns.begin_put("k").expect("valid key");
    engine.delete_namespace(ns.id()).expect("delete");
    assert_eq!(
        put.commit(Value::from("v"), None),
        Err(EngineError::NamespaceNotFound { op: "put" })
    );
    assert_eq!(
        ns.bulk_delete_sync(vec!["k".into()]),
        Err(EngineError::NamespaceNotFound { op: "bulk delete" })
    );
    assert_eq!(ns.stats().entries, 0);
}

#[test]
fn undecodable_bulk_items_count_and_keep_their_place() {
    let engine = Engine::new(EngineConfig {
        limits: Limits {
            max_bulk_items: 3,
            ..Limits::PRODUCTION
        },
        rate_limit: false,
        clock: Clock::frozen_at(T0),
    });
    let ns = engine
        .namespace(&engine.create_namespace("t").expect("create").id)
        .expect("exists");
    let put = |k: &str| {
        Ok(BulkPut {
            key: k.into(),
            value: Value::from("v"),
            options: PutOptions::new(),
        })
    };
    let result = ns
        .bulk_put_items(vec![Err("bad".to_owned()), put(".."), put("ok")].into_iter())
        .expect("bulk put");
    assert_eq!(result.successful_key_count, 1);
    assert_eq!(result.unsuccessful_keys, ["bad", ".."]);
    // Undecodable items count toward the limit.
    assert_eq!(
        ns.bulk_put_items(
            vec![Err("x".to_owned()), Err("y".to_owned()), put("a"), put("b")].into_iter()
        ),
        Err(EngineError::Validation(ValidationError::BulkTooManyItems {
            count: 4,
            max: 3
        }))
    );
    assert!(ns.entry("a").is_none());
}
