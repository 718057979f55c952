//! Tests of locations: propagation after the delay, tombstones, last write wins everywhere,
//! partitions, settle, and a model-based property test.

use std::collections::BTreeMap;
use std::time::Duration;

use kv_types::{Limits, ListOptions, Metadata, PutOptions, Value};
use proptest::prelude::*;

use super::*;
use crate::clock::Clock;

const T0: u64 = 1_700_000_000;

fn engine(delay: PropagationDelay, seed: u64) -> (Engine, String) {
    let config = EngineConfig {
        limits: Limits::PRODUCTION,
        rate_limit: false,
        clock: Clock::frozen_at(T0),
    };
    let engine = Engine::with_locations(
        config,
        Locations::new(["iad", "fra", "sin"])
            .delay(delay)
            .seed(seed),
    )
    .expect("valid locations");
    let ns = engine.create_namespace("t").expect("create");
    (engine, ns.id)
}

fn at(engine: &Engine, id: &str, loc: &str) -> NamespaceHandle {
    engine
        .namespace_at(id, loc)
        .expect("namespace and location exist")
}

fn value(h: &NamespaceHandle, key: &str) -> Option<String> {
    h.get_sync(key)
        .expect("get")
        .map(|v| String::from_utf8_lossy(&v.value).into_owned())
}

#[test]
fn a_put_reaches_the_other_locations_after_the_delay() {
    let (engine, id) = engine(PropagationDelay::fixed(Duration::from_secs(10)), 1);
    let (iad, fra) = (at(&engine, &id, "iad"), at(&engine, &id, "fra"));
    let meta = Metadata::from_json(r#"{"v":1}"#).expect("json");
    iad.put_sync(
        "k",
        Value::from("one"),
        PutOptions::new().metadata(meta.clone()),
    )
    .expect("put");
    assert_eq!(value(&iad, "k").as_deref(), Some("one"), "read your writes");
    assert_eq!(value(&fra, "k"), None, "not yet at fra");
    assert_eq!(engine.pending_writes().len(), 2);
    engine.clock().advance(Duration::from_millis(9_999));
    assert_eq!(value(&fra, "k"), None);
    engine.clock().advance(Duration::from_millis(1));
    let got = fra.get_sync("k").expect("get").expect("delivered");
    assert_eq!(got.metadata, Some(meta));
    assert!(engine.pending_writes().is_empty());
    // A delete propagates the same way.
    fra.delete_sync("k").expect("delete");
    assert_eq!(value(&fra, "k"), None);
    assert_eq!(value(&iad, "k").as_deref(), Some("one"));
    engine.settle();
    assert_eq!(value(&iad, "k"), None);
    assert_eq!(
        iad.list_sync(&ListOptions::default())
            .expect("list")
            .keys
            .len(),
        0
    );
}

#[test]
fn concurrent_writes_converge_to_the_later_everywhere() {
    let (engine, id) = engine(PropagationDelay::fixed(Duration::from_secs(30)), 1);
    let (iad, fra) = (at(&engine, &id, "iad"), at(&engine, &id, "fra"));
    iad.put_sync("k", Value::from("first"), PutOptions::new())
        .expect("put");
    engine.clock().advance(Duration::from_secs(1));
    fra.put_sync("k", Value::from("second"), PutOptions::new())
        .expect("put");
    // The first write reaches fra after the second was made there: it changes nothing.
    engine.clock().advance(Duration::from_secs(29));
    assert_eq!(value(&fra, "k").as_deref(), Some("second"));
    assert_eq!(value(&iad, "k").as_deref(), Some("first"));
    engine.clock().advance(Duration::from_secs(1));
    for loc in ["iad", "fra", "sin"] {
        assert_eq!(
            value(&at(&engine, &id, loc), "k").as_deref(),
            Some("second"),
            "{loc}"
        );
    }
}

#[test]
fn a_late_put_never_resurrects_a_deleted_key() {
    let (engine, id) = engine(PropagationDelay::fixed(Duration::from_secs(30)), 1);
    let (iad, fra) = (at(&engine, &id, "iad"), at(&engine, &id, "fra"));
    iad.put_sync("k", Value::from("old"), PutOptions::new())
        .expect("put");
    engine.clock().advance(Duration::from_secs(1));
    fra.delete_sync("k").expect("delete");
    engine.settle();
    assert_eq!(value(&iad, "k"), None);
    assert_eq!(value(&fra, "k"), None);
}

#[test]
fn a_partition_holds_writes_until_healed() {
    let (engine, id) = engine(PropagationDelay::fixed(Duration::ZERO), 1);
    let (iad, sin) = (at(&engine, &id, "iad"), at(&engine, &id, "sin"));
    engine.partition("sin").expect("known");
    iad.put_sync("a", Value::from("iad"), PutOptions::new())
        .expect("put");
    sin.put_sync("b", Value::from("sin"), PutOptions::new())
        .expect("put");
    engine.settle();
    assert_eq!(value(&sin, "a"), None);
    assert_eq!(value(&iad, "b"), None);
    assert_eq!(value(&at(&engine, &id, "fra"), "a").as_deref(), Some("iad"));
    let status = engine.location_status();
    assert!(status[2].partitioned);
    assert!(status[2].pending.iter().all(|p| p.held));
    engine.heal("sin").expect("known");
    assert_eq!(value(&sin, "a").as_deref(), Some("iad"));
    assert_eq!(value(&iad, "b").as_deref(), Some("sin"));
    assert!(engine.partition("mars").is_err());
}

#[test]
fn the_write_limit_and_namespaces_are_global() {
    let config = EngineConfig {
        limits: Limits::PRODUCTION,
        rate_limit: true,
        clock: Clock::frozen_at(T0),
    };
    let engine = Engine::with_locations(config, Locations::new(["iad", "fra"])).expect("valid");
    let ns = engine.create_namespace("t").expect("create");
    let iad = at(&engine, &ns.id, "iad");
    let fra = at(&engine, &ns.id, "fra");
    iad.put_sync("k", Value::from("1"), PutOptions::new())
        .expect("put");
    assert_eq!(
        fra.put_sync("k", Value::from("2"), PutOptions::new()),
        Err(EngineError::RateLimited)
    );
    engine.delete_namespace(&ns.id).expect("delete");
    assert!(fra.is_deleted());
    assert!(engine.namespace_at(&ns.id, "fra").is_none());
    assert!(engine.pending_writes().is_empty());
}

#[test]
fn bad_location_names_are_refused() {
    for names in [vec![], vec!["Bad"], vec!["a", "a"]] {
        let r = Engine::with_locations(EngineConfig::default(), Locations::new(names));
        assert!(matches!(r, Err(EngineError::InvalidLocation { .. })));
    }
}

#[derive(Debug, Clone)]
enum Op {
    Put(usize, u8),
    Delete(usize, u8),
    Get(usize, u8),
    Advance(u64),
    Partition(usize),
    Heal(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 0..3u8).prop_map(|(l, k)| Op::Put(l, k)),
        (0..3usize, 0..3u8).prop_map(|(l, k)| Op::Delete(l, k)),
        (0..3usize, 0..3u8).prop_map(|(l, k)| Op::Get(l, k)),
        (0..3usize, 0..3u8).prop_map(|(l, k)| Op::Get(l, k)),
        (0..25_000u64).prop_map(Op::Advance),
        (0..3usize).prop_map(Op::Partition),
        (0..3usize).prop_map(Op::Heal),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Before settling every read is a value written to that key (with that write's metadata)
    /// or absent, never older than the location's previous read; after healing and settling
    /// every location equals last write wins.
    #[test]
    fn locations_agree_with_the_model(ops in proptest::collection::vec(op(), 1..60), seed in any::<u64>()) {
        let (engine, id) = engine(PropagationDelay::between(Duration::ZERO, Duration::from_secs(20)), seed);
        let names = ["iad", "fra", "sin"];
        // Every write in order: (key, Some(write index) for a put, None for a delete).
        let mut writes: Vec<(u8, bool)> = Vec::new();
        // The oldest write a location may still show per key (its own, or the last one read).
        let mut floor: BTreeMap<(usize, u8), usize> = BTreeMap::new();
        let mut last: BTreeMap<u8, usize> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Put(l, k) => {
                    let i = writes.len();
                    let meta = Metadata::from_json(format!("{{\"w\":{i}}}")).expect("json");
                    at(&engine, &id, names[l])
                        .put_sync(&format!("k{k}"), Value::from(i.to_string()), PutOptions::new().metadata(meta))
                        .expect("put");
                    writes.push((k, true));
                    floor.insert((l, k), i);
                    last.insert(k, i);
                }
                Op::Delete(l, k) => {
                    let i = writes.len();
                    at(&engine, &id, names[l]).delete_sync(&format!("k{k}")).expect("delete");
                    writes.push((k, false));
                    floor.insert((l, k), i);
                    last.insert(k, i);
                }
                Op::Get(l, k) => {
                    let got = at(&engine, &id, names[l]).get_sync(&format!("k{k}")).expect("get");
                    let min = floor.get(&(l, k)).copied();
                    match got {
                        Some(v) => {
                            let i: usize = String::from_utf8_lossy(&v.value).parse().expect("an index");
                            prop_assert_eq!(writes.get(i), Some(&(k, true)), "a value written to this key");
                            prop_assert_eq!(v.metadata.map(|m| m.as_json().to_owned()), Some(format!("{{\"w\":{i}}}")));
                            prop_assert!(min.is_none_or(|m| i >= m), "monotonic: read {} after {:?}", i, min);
                            floor.insert((l, k), i);
                        }
                        None => {
                            // Absent: never written, or a delete no older than the floor.
                            let ok = match min {
                                None => true,
                                Some(m) => writes.iter().enumerate().any(|(j, w)| j >= m && *w == (k, false)),
                            };
                            prop_assert!(ok, "absent at {} after {:?}", names[l], min);
                        }
                    }
                }
                Op::Advance(ms) => engine.clock().advance(Duration::from_millis(ms)),
                Op::Partition(l) => engine.partition(names[l]).expect("known"),
                Op::Heal(l) => engine.heal(names[l]).expect("known"),
            }
        }
        engine.heal_all();
        engine.settle();
        prop_assert!(engine.pending_writes().is_empty());
        for name in names {
            let h = at(&engine, &id, name);
            for k in 0..3u8 {
                let expected = last.get(&k).and_then(|&i| writes[i].1.then(|| i.to_string()));
                prop_assert_eq!(value(&h, &format!("k{k}")), expected, "{} k{}", name, k);
            }
            let listed = h.list_sync(&ListOptions::default()).expect("list").keys.len();
            let live = last.values().filter(|&&i| writes[i].1).count();
            prop_assert_eq!(listed, live);
        }
    }
}
