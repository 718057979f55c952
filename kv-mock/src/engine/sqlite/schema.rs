//! The database file's layout, and opening it: one SQLite file, `kv-mock.sqlite3`, in the
//! directory given to `--persist`, in WAL mode (so `kv-mock.sqlite3-wal` and `-shm` beside it).
//!
//! ```sql
//! -- name/value pairs of the server: 'account_id', 'port' (the last one listened on), 'schema' (= 2)
//! CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
//! -- one row per namespace
//! CREATE TABLE namespaces (ns INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL);
//! -- one row per key: metadata JSON text or NULL, expiration epoch seconds or NULL, value bytes
//! CREATE TABLE entries (row INTEGER PRIMARY KEY, ns INTEGER NOT NULL, key TEXT NOT NULL,
//!     metadata TEXT, expiration INTEGER, value BLOB NOT NULL, UNIQUE (ns, key));
//! CREATE INDEX entries_by_expiration ON entries (expiration) WHERE expiration IS NOT NULL;
//! ```
//!
//! `entries` is a rowid table, so a row of a few KiB stays whole in its b-tree leaf and an
//! overwrite of the same size changes that one page. Layout 1 made it a `WITHOUT ROWID` table,
//! an index b-tree, where SQLite keeps at most about 1000 bytes of a row in the leaf: every
//! 1 KiB value took an overflow page too, and every overwrite freed one page and allocated
//! another (BENCHMARKS.md, Persistence, P1). A layout-1 file is converted when it is opened.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use super::super::storage::StorageError;

/// The file name of the database inside the persistence directory.
pub(crate) const FILE_NAME: &str = "kv-mock.sqlite3";

/// The layout version written to `settings.schema`.
const SCHEMA_VERSION: &str = "2";

/// The tables of a new file (in the transaction that also stores its layout version).
const CREATE: &str = "
BEGIN;
CREATE TABLE IF NOT EXISTS namespaces (
    ns INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    row INTEGER PRIMARY KEY, ns INTEGER NOT NULL, key TEXT NOT NULL, metadata TEXT,
    expiration INTEGER, value BLOB NOT NULL, UNIQUE (ns, key));
CREATE INDEX IF NOT EXISTS entries_by_expiration ON entries (expiration)
    WHERE expiration IS NOT NULL;
";

/// Layout 1 to 2: `entries` from a `WITHOUT ROWID` table to a rowid table, in one transaction.
const FROM_LAYOUT_1: &str = "
BEGIN;
CREATE TABLE entries_2 (
    row INTEGER PRIMARY KEY, ns INTEGER NOT NULL, key TEXT NOT NULL, metadata TEXT,
    expiration INTEGER, value BLOB NOT NULL, UNIQUE (ns, key));
INSERT INTO entries_2 (ns, key, metadata, expiration, value)
    SELECT ns, key, metadata, expiration, value FROM entries ORDER BY ns, key;
DROP TABLE entries;
ALTER TABLE entries_2 RENAME TO entries;
CREATE INDEX entries_by_expiration ON entries (expiration) WHERE expiration IS NOT NULL;
UPDATE settings SET value = '2' WHERE name = 'schema';
COMMIT;
";

/// Opens (creating if needed) the database in `dir`: WAL journal, `synchronous=NORMAL` (a commit
/// is in the OS before it is acknowledged, so it survives the process being killed; see the
/// README for power loss), the tables above.
pub(crate) fn open(dir: &Path) -> Result<Connection, StorageError> {
    let path = dir.join(FILE_NAME);
    open_file(&path).map_err(|e| StorageError::io(format!("{}: {e}", path.display())))?
}

fn open_file(path: &Path) -> Result<Result<Connection, StorageError>, rusqlite::Error> {
    let conn = Connection::open(path)?;
    // Before the first table: freed pages can then be given back (`incremental_vacuum`).
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // The writer reads the b-tree pages it changes: keep them in memory (64 MiB of page cache)
    // rather than read them again from the file for every group; checkpoint (copy the WAL into
    // the database, with an fsync) every 16 MiB of WAL rather than every 4 MiB.
    conn.pragma_update(None, "cache_size", -65_536)?;
    conn.pragma_update(None, "wal_autocheckpoint", 4096)?;
    // The writer reads pages back through a memory map (up to 256 MiB) instead of a `pread`
    // per page, which took most of its CPU (BENCHMARKS.md, Persistence). SQLite still writes
    // with write(2), so what a crash keeps is unchanged.
    conn.pragma_update(None, "mmap_size", 268_435_456)?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    )?;
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE name = 'schema'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    match version.as_deref() {
        None => conn.execute_batch(&format!(
            "{CREATE} INSERT INTO settings (name, value) VALUES ('schema', '{SCHEMA_VERSION}');
             COMMIT;"
        ))?,
        Some(SCHEMA_VERSION) => {}
        Some("1") => conn.execute_batch(FROM_LAYOUT_1)?,
        Some(other) => {
            return Ok(Err(StorageError::io(format!(
                "{}: layout version {other}, this kv-mock reads version {SCHEMA_VERSION}",
                path.display()
            ))));
        }
    }
    Ok(Ok(conn))
}
