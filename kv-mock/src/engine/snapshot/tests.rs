//! Snapshots: what a restore puts back, that a snapshot does not move with later writes, and the
//! persistent storage's restore.

use std::time::Duration;

use kv_types::{Limits, PutOptions};
use proptest::prelude::*;

use super::super::{Engine, EngineConfig};
use crate::clock::Clock;
use crate::error::EngineError;

const T0: u64 = 1_700_000_000;

fn config() -> EngineConfig {
    EngineConfig {
        limits: Limits::PRODUCTION,
        rate_limit: true,
        clock: Clock::frozen_at(T0),
    }
}

fn export(engine: &Engine, id: &str) -> Vec<u8> {
    let mut out = Vec::new();
    engine.export(id, &mut out).expect("export");
    out
}

fn put(engine: &Engine, id: &str, key: &str, value: &str) {
    engine
        .seed(id, key, value.to_owned(), PutOptions::new())
        .expect("seed");
}

#[test]
fn a_restore_puts_every_namespace_and_entry_back() {
    let engine = Engine::new(config());
    let a = engine.create_namespace("a").expect("a");
    let b = engine.create_namespace("b").expect("b");
    put(&engine, &a.id, "k", "a1");
    put(&engine, &b.id, "k", "b1");
    let mut expiring = PutOptions::new();
    expiring.expiration = Some(T0 + 10);
    engine.seed(&a.id, "soon", "x", expiring).expect("seed");
    let handle = engine.namespace(&a.id).expect("a");
    let snap = engine.snapshot().expect("snapshot");
    let (before_a, before_b) = (export(&engine, &a.id), export(&engine, &b.id));

    // A test changes everything.
    put(&engine, &a.id, "k", "a2");
    put(&engine, &a.id, "new", "n");
    handle
        .put_sync("rated", "v".into(), PutOptions::new())
        .expect("put");
    engine.delete_namespace(&b.id).expect("delete b");
    engine.rename_namespace(&a.id, "renamed").expect("rename");
    let c = engine.create_namespace("b").expect("c takes b's title");

    engine.restore(&snap).expect("restore");
    let titles: Vec<_> = engine
        .list_namespaces()
        .into_iter()
        .map(|n| (n.id, n.title))
        .collect();
    let mut expected = vec![
        (a.id.clone(), "a".to_owned()),
        (b.id.clone(), "b".to_owned()),
    ];
    expected.sort();
    assert_eq!(titles, expected);
    assert!(
        engine.namespace(&c.id).is_none(),
        "created after the snapshot: gone"
    );
    assert_eq!(export(&engine, &a.id), before_a);
    assert_eq!(export(&engine, &b.id), before_b);
    // The handle taken before still works, and the write limit forgot its writes.
    assert_eq!(
        handle.get_sync("k").expect("get").map(|v| v.value),
        Some("a1".into())
    );
    handle
        .put_sync("rated", "again".into(), PutOptions::new())
        .expect("no 429 after restore");

    // Again, from the same snapshot; and what expired since is gone.
    put(&engine, &a.id, "k", "a3");
    engine.clock().advance(Duration::from_secs(10));
    engine.restore(&snap).expect("restore again");
    assert_eq!(engine.entry(&a.id, "k").map(|v| v.value), Some("a1".into()));
    assert!(engine.entry(&a.id, "soon").is_none());

    assert!(engine.forget_snapshot(&snap));
    assert!(matches!(
        engine.restore(&snap),
        Err(EngineError::SnapshotNotFound { .. })
    ));
    let e = engine.restore("nope").expect_err("unknown");
    assert_eq!(e.status(), 404);
}

#[test]
fn a_snapshot_does_not_move_with_later_writes() {
    let engine = Engine::new(config());
    let ns = engine.create_namespace("n").expect("n");
    for i in 0..5000 {
        put(&engine, &ns.id, &format!("k{i:05}"), "first");
    }
    let first = engine.snapshot().expect("snapshot");
    let frozen = export(&engine, &ns.id);
    for i in (0..5000).step_by(7) {
        put(&engine, &ns.id, &format!("k{i:05}"), "second");
    }
    let handle = engine.namespace(&ns.id).expect("n");
    handle.delete_sync("k00001").expect("delete");
    let second = engine.snapshot().expect("snapshot");
    let changed = export(&engine, &ns.id);
    engine.restore(&first).expect("restore");
    assert_eq!(export(&engine, &ns.id), frozen);
    engine.restore(&second).expect("restore");
    assert_eq!(export(&engine, &ns.id), changed);
}

#[test]
fn a_persistent_restore_rewrites_the_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::persistent(config(), dir.path()).expect("open");
    let a = engine.create_namespace("a").expect("a");
    put(&engine, &a.id, "k", "v1");
    put(&engine, &a.id, "gone later", "x");
    let snap = engine.snapshot().expect("snapshot");
    let before = export(&engine, &a.id);
    put(&engine, &a.id, "k", "v2");
    put(&engine, &a.id, "added", "y");
    let handle = engine.namespace(&a.id).expect("a");
    handle.delete_sync("gone later").expect("delete");
    let b = engine.create_namespace("b").expect("b");
    engine.restore(&snap).expect("restore");
    assert_eq!(export(&engine, &a.id), before);
    drop((engine, handle));
    let reopened = Engine::persistent(config(), dir.path()).expect("reopen");
    assert_eq!(
        export(&reopened, &a.id),
        before,
        "the database holds the restored state"
    );
    assert!(reopened.namespace(&b.id).is_none());
}

#[test]
fn no_snapshots_with_locations() {
    let engine =
        Engine::with_locations(config(), crate::Locations::new(["a", "b"])).expect("locations");
    engine.create_namespace("n").expect("n");
    let e = engine.snapshot().expect_err("not available");
    assert!(
        e.to_string().contains("not available with locations"),
        "{e}"
    );
}

#[derive(Debug, Clone)]
enum Op {
    Put(u8, u8),
    Delete(u8),
    Snapshot,
    Restore,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..20, any::<u8>()).prop_map(|(k, v)| Op::Put(k, v)),
        2 => (0u8..20).prop_map(Op::Delete),
        1 => Just(Op::Snapshot),
        1 => Just(Op::Restore),
    ]
}

proptest! {
    #[test]
    fn a_restore_gives_back_the_export_of_its_snapshot(ops in proptest::collection::vec(op(), 1..80)) {
        let engine = Engine::new(config());
        let ns = engine.create_namespace("n").expect("n");
        let handle = engine.namespace(&ns.id).expect("n");
        let mut last: Option<(String, Vec<u8>)> = None;
        for op in ops {
            match op {
                Op::Put(k, v) => put(&engine, &ns.id, &format!("k{k}"), &v.to_string()),
                Op::Delete(k) => handle.delete_sync(&format!("k{k}")).expect("delete"),
                Op::Snapshot => last = Some((engine.snapshot().expect("snapshot"), export(&engine, &ns.id))),
                Op::Restore => if let Some((id, exported)) = &last {
                    engine.restore(id).expect("restore");
                    prop_assert_eq!(&export(&engine, &ns.id), exported);
                },
            }
        }
    }
}

#[test]
fn a_persistent_restore_racing_writes_leaves_the_database_as_the_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::persistent(config(), dir.path()).expect("open");
    let ns = engine.create_namespace("a").expect("a");
    for i in 0..200 {
        put(&engine, &ns.id, &format!("k{i:03}"), "seeded");
    }
    let snap = engine.snapshot().expect("snapshot");
    std::thread::scope(|s| {
        for t in 0..4 {
            let (engine, id) = (&engine, &ns.id);
            s.spawn(move || {
                // Every key written once (or a seeded one deleted once), so a write the
                // database and the memory disagree on is never hidden by a later one.
                for i in 0..300 {
                    if i % 5 == 0 {
                        let h = engine.namespace(id).expect("a");
                        h.delete_sync(&format!("k{:03}", (i / 5) * 4 + t))
                            .expect("delete");
                    } else {
                        put(engine, id, &format!("w{t}-{i}"), "written");
                    }
                }
            });
        }
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..150 {
                    engine.restore(&snap).expect("restore");
                }
            });
        }
    });
    let in_memory = export(&engine, &ns.id);
    drop(engine);
    let reopened = Engine::persistent(config(), dir.path()).expect("reopen");
    assert_eq!(
        export(&reopened, &ns.id),
        in_memory,
        "the file holds what was served"
    );
}
