//! The persistent engine (`Engine::persistent`, SQLite in a directory): kv-types' conformance
//! suite against it, and a reopened engine finding what the first one wrote (namespaces with
//! their ids and titles, entries with value, metadata and expiration), without what expired
//! while it was closed (its row deleted, not only hidden).

use std::path::Path;
use std::time::Duration;

use kv_mock::{Clock, Engine, EngineConfig, NamespaceHandle};
use kv_types::conformance::{self, Harness, WriteLimit};
use kv_types::{Key, KvStore, Limits, Metadata, PutOptions, Value};

use crate::conformance::{MockClock, real_now};

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

fn persistent(dir: &Path, rate_limit: bool, clock: Clock) -> Engine {
    let config = EngineConfig {
        limits: Limits::PRODUCTION,
        rate_limit,
        clock,
    };
    Engine::persistent(config, dir).expect("the database opens")
}

fn one_namespace(engine: &Engine) -> NamespaceHandle {
    let ns = engine.create_namespace("conformance").expect("create");
    engine.namespace(&ns.id).expect("just created")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_engine_passes_the_suite_with_the_write_limit() {
    let dir = temp();
    let clock = Clock::frozen_at(real_now());
    let store = one_namespace(&persistent(dir.path(), true, clock.clone()));
    let harness = Harness::new(store)
        .clock(MockClock(clock))
        .write_limit(WriteLimit::Enforced);
    let report = conformance::run(&harness).await;
    println!("{report}");
    report.assert_passed();
    assert_eq!(report.skipped().count(), 0, "every check runs");
}

#[tokio::test]
async fn the_sqlite_engine_passes_the_suite_on_a_current_thread_runtime() {
    let dir = temp();
    let clock = Clock::frozen_at(real_now());
    let store = one_namespace(&persistent(dir.path(), false, clock.clone()));
    let harness = Harness::new(store)
        .clock(MockClock(clock))
        .write_limit(WriteLimit::Off);
    conformance::run(&harness).await.assert_passed();
}

fn key(name: &str) -> Key {
    Key::new(name).expect("a valid key")
}

fn metadata(json: &str) -> Metadata {
    Metadata::from_json(json).expect("valid metadata")
}

#[tokio::test]
async fn a_reopened_engine_finds_what_was_written() {
    let dir = temp();
    let start = real_now();
    let clock = Clock::frozen_at(start);
    let (kept, renamed_id) = {
        let engine = persistent(dir.path(), false, clock.clone());
        let kept = engine.create_namespace("kept").expect("create");
        let renamed = engine.create_namespace("old title").expect("create");
        let dropped = engine.create_namespace("dropped").expect("create");
        engine
            .rename_namespace(&renamed.id, "new title")
            .expect("rename");
        let ns = engine.namespace(&kept.id).expect("kept");
        ns.put(
            &key("binary"),
            Value::from(vec![0u8, 159, 146, 150, 255]),
            PutOptions::new().metadata(metadata(r#"{"n":1,"s":"é"}"#)),
        )
        .await
        .expect("put");
        ns.put(
            &key("expires later"),
            Value::from("later"),
            PutOptions::new().expiration(start + 3600),
        )
        .await
        .expect("put");
        ns.put(
            &key("expires soon"),
            Value::from("soon"),
            PutOptions::new().expiration_ttl(60),
        )
        .await
        .expect("put");
        ns.put(&key("overwritten"), Value::from("first"), PutOptions::new())
            .await
            .expect("put");
        ns.put(
            &key("overwritten"),
            Value::from("second"),
            PutOptions::new().metadata(metadata("[2]")),
        )
        .await
        .expect("put");
        ns.put(&key("deleted"), Value::from("x"), PutOptions::new())
            .await
            .expect("put");
        ns.delete(&key("deleted")).await.expect("delete");
        let gone = engine.namespace(&dropped.id).expect("dropped");
        gone.put(&key("k"), Value::from("v"), PutOptions::new())
            .await
            .expect("put");
        engine.delete_namespace(&dropped.id).expect("delete");
        (kept, renamed.id)
    };

    // Closed; reopened two minutes later: "expires soon" (60 s) expired meanwhile.
    clock.advance(Duration::from_secs(120));
    let engine = persistent(dir.path(), false, clock.clone());
    let mut listed: Vec<_> = engine
        .list_namespaces()
        .into_iter()
        .map(|ns| (ns.id, ns.title))
        .collect();
    listed.sort();
    let mut expected = vec![
        (kept.id.clone(), "kept".to_owned()),
        (renamed_id, "new title".to_owned()),
    ];
    expected.sort();
    assert_eq!(listed, expected, "namespaces with their ids and titles");

    let ns = engine.namespace(&kept.id).expect("kept");
    let binary = ns
        .get_with_metadata(&key("binary"))
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(&binary.value[..], &[0u8, 159, 146, 150, 255]);
    assert_eq!(binary.metadata, Some(metadata(r#"{"n":1,"s":"é"}"#)));
    assert_eq!(binary.expiration, None);
    let later = ns
        .get_with_metadata(&key("expires later"))
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(later.expiration, Some(start + 3600), "absolute expiration");
    let overwritten = ns
        .get_with_metadata(&key("overwritten"))
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(&overwritten.value[..], b"second");
    assert_eq!(overwritten.metadata, Some(metadata("[2]")));
    assert_eq!(ns.get(&key("deleted")).await.expect("get"), None);
    assert_eq!(
        ns.get(&key("expires soon")).await.expect("get"),
        None,
        "expired while closed"
    );
    let names: Vec<String> = ns
        .list(kv_types::ListOptions::new())
        .await
        .expect("list")
        .keys
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(names, ["binary", "expires later", "overwritten"]);
    assert_eq!(ns.stats().entries, 3, "the expired entry was not loaded");

    // Its row is gone from the file, and so are the dropped namespace's.
    let conn = rusqlite::Connection::open(dir.path().join("kv-mock.sqlite3")).expect("the file");
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .expect("count");
    assert_eq!(rows, 3);
    let namespaces: i64 = conn
        .query_row("SELECT count(*) FROM namespaces", [], |r| r.get(0))
        .expect("count");
    assert_eq!(namespaces, 2);

    // And what expires after the reopen goes as in memory.
    clock.advance(Duration::from_secs(3600));
    assert_eq!(ns.get(&key("expires later")).await.expect("get"), None);
}
