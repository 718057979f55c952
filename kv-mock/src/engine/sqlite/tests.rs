//! The SQLite storage against the in-memory storage's model and edge cases, and what only a
//! persistent storage does: reopening finds every committed write, ids, titles and the account
//! id; what expired while closed is gone.

use std::path::Path;

use bytes::Bytes;

use super::*;
use crate::engine::memory::tests as shared;

fn namespace(dir: &Path, id: &str) -> Box<dyn NamespaceStorage> {
    let (storage, _) = SqliteStorage::open(dir, 0).expect("open");
    storage.create_namespace(id, "t").expect("create")
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

#[test]
fn matches_the_model() {
    for seed in 1..=10u64 {
        let dir = temp();
        shared::model_run(&*namespace(dir.path(), &"0".repeat(32)), seed);
    }
}

#[test]
fn the_shared_edge_cases() {
    let dir = temp();
    shared::overwrite_moves_the_expiry_on(&*namespace(dir.path(), &"1".repeat(32)));
    shared::same_expiry_overwrite_keeps_the_index_on(&*namespace(dir.path(), &"2".repeat(32)));
    shared::range_with_prefix_and_after_on(&*namespace(dir.path(), &"3".repeat(32)));
    shared::a_dropped_namespace_refuses_everything_on(&*namespace(dir.path(), &"4".repeat(32)));
}

fn entry(v: &[u8], metadata: Option<&str>, expiration: Option<u64>) -> Entry {
    Entry {
        value: Bytes::copy_from_slice(v),
        metadata: metadata.map(|m| Metadata::from_json(m).expect("json")),
        expiration,
    }
}

#[test]
fn a_reopened_database_has_every_committed_write() {
    let dir = temp();
    let id = "a".repeat(32);
    {
        let (storage, stored) = SqliteStorage::open(dir.path(), 100).expect("open");
        assert!(stored.is_empty());
        assert_eq!(storage.account_id(Some("acct")).expect("account"), "acct");
        let ns = storage.create_namespace(&id, "first").expect("create");
        ns.put("bin", entry(&[0, 255, 1], Some(r#"{"a":1}"#), None), 100)
            .expect("put");
        ns.put("soon", entry(b"x", None, Some(150)), 100)
            .expect("put");
        ns.put("later", entry(b"y", None, Some(10_000)), 100)
            .expect("put");
        ns.write(
            vec![
                Write::Put {
                    key: "gone".into(),
                    entry: entry(b"z", None, None),
                },
                Write::Delete { key: "gone".into() },
            ],
            100,
        )
        .expect("write");
        ns.rename("renamed").expect("rename");
        let dropped = storage
            .create_namespace(&"b".repeat(32), "dropped")
            .expect("create");
        dropped.put("k", entry(b"v", None, None), 100).expect("put");
        dropped.drop_namespace();
    }
    // Closed at 100, reopened at 200: "soon" expired meanwhile.
    let (storage, stored) = SqliteStorage::open(dir.path(), 200).expect("reopen");
    assert_eq!(storage.account_id(None).expect("account"), "acct");
    let names: Vec<_> = stored
        .iter()
        .map(|(i, t, _)| (i.clone(), t.clone()))
        .collect();
    assert_eq!(names, vec![(id.clone(), "renamed".to_owned())]);
    let ns = &stored[0].2;
    let bin = ns.get("bin", 200).expect("get").expect("kept");
    assert_eq!(*bin, entry(&[0, 255, 1], Some(r#"{"a":1}"#), None));
    assert!(ns.get("soon", 200).expect("get").is_none());
    assert!(ns.get("gone", 200).expect("get").is_none());
    assert_eq!(
        ns.get("later", 200).expect("get").map(|e| e.expiration),
        Some(Some(10_000))
    );
    assert_eq!(ns.counts().entries, 2, "the expired entry is not loaded");
    // Its row was deleted, not only hidden.
    let conn = Connection::open(dir.path().join(FILE_NAME)).expect("open the file");
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .expect("count");
    assert_eq!(rows, 2);
}

#[test]
fn concurrent_writers_are_all_committed() {
    let dir = temp();
    let id = "c".repeat(32);
    {
        let (storage, _) = SqliteStorage::open(dir.path(), 0).expect("open");
        let ns: Arc<dyn NamespaceStorage> =
            Arc::from(storage.create_namespace(&id, "t").expect("create"));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let ns = Arc::clone(&ns);
                std::thread::spawn(move || {
                    for i in 0..200 {
                        ns.put(&format!("{t}/{i}"), entry(b"v", None, None), 0)
                            .expect("put");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("a writer");
        }
        assert_eq!(ns.counts().entries, 1600);
    }
    let (_, stored) = SqliteStorage::open(dir.path(), 0).expect("reopen");
    assert_eq!(stored[0].2.counts().entries, 1600);
}

#[test]
fn a_newer_layout_is_refused_by_name() {
    let dir = temp();
    drop(SqliteStorage::open(dir.path(), 0).expect("open"));
    let conn = Connection::open(dir.path().join(FILE_NAME)).expect("open the file");
    conn.execute("UPDATE settings SET value = '9' WHERE name = 'schema'", [])
        .expect("update");
    drop(conn);
    let Err(err) = SqliteStorage::open(dir.path(), 0) else {
        panic!("a database of layout version 9 was opened");
    };
    assert!(err.to_string().contains("layout version 9"), "{err}");
}

#[test]
fn a_layout_1_file_is_converted_with_everything_in_it() {
    let dir = temp();
    // A file as kv-mock wrote it before layout 2: `entries` a WITHOUT ROWID table.
    let conn = Connection::open(dir.path().join(FILE_NAME)).expect("create the file");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE namespaces (
             ns INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL);
         CREATE TABLE entries (ns INTEGER NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
             metadata TEXT, expiration INTEGER, PRIMARY KEY (ns, key)) WITHOUT ROWID;
         CREATE INDEX entries_by_expiration ON entries (expiration)
             WHERE expiration IS NOT NULL;
         INSERT INTO settings VALUES ('schema', '1'), ('account_id', 'acct');
         INSERT INTO namespaces VALUES (1, 'dddddddddddddddddddddddddddddddd', 'old');
         INSERT INTO entries VALUES (1, 'bin', x'00ff01', '{\"a\":1}', NULL),
             (1, 'later', x'79', NULL, 10000), (1, 'soon', x'78', NULL, 150);",
    )
    .expect("a layout-1 file");
    drop(conn);

    let (storage, stored) = SqliteStorage::open(dir.path(), 200).expect("open layout 1");
    assert_eq!(storage.account_id(None).expect("account"), "acct");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].0.as_str(), stored[0].1.as_str()),
        ("d".repeat(32).as_str(), "old")
    );
    let ns = &stored[0].2;
    let bin = ns.get("bin", 200).expect("get").expect("kept");
    assert_eq!(*bin, entry(&[0, 255, 1], Some(r#"{"a":1}"#), None));
    assert_eq!(
        ns.get("later", 200).expect("get").map(|e| e.expiration),
        Some(Some(10_000))
    );
    assert!(
        ns.get("soon", 200).expect("get").is_none(),
        "expired while closed"
    );
    ns.put("new", entry(b"n", None, None), 200)
        .expect("a write after the conversion");
    drop((storage, stored));

    let conn = Connection::open(dir.path().join(FILE_NAME)).expect("open the file");
    let version: String = conn
        .query_row(
            "SELECT value FROM settings WHERE name = 'schema'",
            [],
            |r| r.get(0),
        )
        .expect("schema");
    assert_eq!(version, "2");
    let keys: Vec<String> = conn
        .prepare("SELECT key FROM entries ORDER BY row")
        .expect("a rowid table")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(keys, ["bin", "later", "new"]);
}
