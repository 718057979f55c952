//! The database file's layout, and opening it: one SQLite file, `kv-mock.sqlite3`, in the
//! directory given to `--persist`, in WAL mode (so `kv-mock.sqlite3-wal` and `-shm` beside it).
//!
//! ```sql
//! -- name/value pairs of the server: 'account_id', 'port' (the last one listened on), 'schema' (= 1)
//! CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
//! -- one row per namespace
//! CREATE TABLE namespaces (ns INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL);
//! -- one row per key: value bytes, metadata JSON text or NULL, expiration epoch seconds or NULL
//! CREATE TABLE entries (ns INTEGER NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
//!     metadata TEXT, expiration INTEGER, PRIMARY KEY (ns, key)) WITHOUT ROWID;
//! CREATE INDEX entries_by_expiration ON entries (expiration) WHERE expiration IS NOT NULL;
//! ```

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use super::super::storage::StorageError;

/// The file name of the database inside the persistence directory.
pub(crate) const FILE_NAME: &str = "kv-mock.sqlite3";

/// The layout version written to `settings.schema`.
const SCHEMA_VERSION: &str = "1";

const CREATE: &str = "
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS namespaces (
    ns INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    ns INTEGER NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, metadata TEXT,
    expiration INTEGER, PRIMARY KEY (ns, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_by_expiration ON entries (expiration)
    WHERE expiration IS NOT NULL;
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
    conn.execute_batch(CREATE)?;
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE name = 'schema'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    match version.as_deref() {
        None => {
            conn.execute(
                "INSERT INTO settings (name, value) VALUES ('schema', ?1)",
                [SCHEMA_VERSION],
            )?;
        }
        Some(SCHEMA_VERSION) => {}
        Some(other) => {
            return Ok(Err(StorageError::io(format!(
                "{}: layout version {other}, this kv-mock reads version {SCHEMA_VERSION}",
                path.display()
            ))));
        }
    }
    Ok(Ok(conn))
}
