//! [`SqliteStorage`]: the persistent [`Storage`], one SQLite database (bundled, WAL) in a
//! directory ([`schema`] describes the file).
//!
//! Reads are served from an in-memory read view per namespace (a
//! [`MemoryNamespace`](super::memory::MemoryNamespace), loaded at open), so they never touch
//! the disk nor wait for a writer. Writes go to the [`writer`] thread, which commits the writes
//! of concurrent callers in one transaction (group commit) and only then applies them to the
//! views and answers: a write that was answered `Ok` is in the database file (it survives the
//! process being killed), and one that failed is not there at all. A single put from async
//! code ([`put_async`](NamespaceStorage::put_async)) awaits that answer without holding a thread.

mod schema;
mod writer;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use kv_types::Metadata;
use rusqlite::Connection;

use super::entry::Entry;
use super::storage::{
    Counts, Frozen, NamespaceStorage, Pending, Range, Storage, StorageError, Write,
};
use writer::{NsState, Op, Writer};

pub(crate) use schema::FILE_NAME;

/// The setting that keeps the account id.
const ACCOUNT_ID: &str = "account_id";

/// Entries loaded into a read view per batch at open.
const LOAD_BATCH: usize = 10_000;

/// The persistent storage: a database file and its writer thread.
#[derive(Debug)]
pub(crate) struct SqliteStorage {
    writer: Writer,
    /// The `settings` table (the account id, the port), as stored.
    settings: Mutex<BTreeMap<String, String>>,
}

/// A namespace stored in the database.
#[derive(Debug)]
pub(crate) struct SqliteNamespace {
    state: Arc<NsState>,
    writer: Writer,
}

/// A namespace found in the database at open: id, title, its storage.
pub(crate) type Stored = (String, String, Box<dyn NamespaceStorage>);

impl SqliteStorage {
    /// Opens (or creates) the database in `dir` and loads it: entries that expired at `now` are
    /// deleted (their space freed), the others fill the read views. Blocks on disk I/O.
    pub(crate) fn open(dir: &Path, now: u64) -> Result<(SqliteStorage, Vec<Stored>), StorageError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageError::io(format!("{}: {e}", dir.display())))?;
        let conn = schema::open(dir)?;
        let (settings, namespaces) = load(&conn, now).map_err(|e| {
            StorageError::io(format!("reading {}: {e}", dir.join(FILE_NAME).display()))
        })?;
        let writer = Writer::start(conn)?;
        let stored = namespaces
            .into_iter()
            .map(|(id, title, state)| {
                let ns: Box<dyn NamespaceStorage> = Box::new(SqliteNamespace {
                    state,
                    writer: writer.clone(),
                });
                (id, title, ns)
            })
            .collect();
        Ok((
            SqliteStorage {
                writer,
                settings: Mutex::new(settings),
            },
            stored,
        ))
    }
}

/// The settings, and the namespaces of the database with their read views filled.
type Loaded = (
    BTreeMap<String, String>,
    Vec<(String, String, Arc<NsState>)>,
);

/// Reads the database: deletes what expired at `now`, loads the rest.
fn load(conn: &Connection, now: u64) -> Result<Loaded, StorageError> {
    let sql = |e: rusqlite::Error| StorageError::io(e.to_string());
    let now_sql = i64::try_from(now).unwrap_or(i64::MAX);
    conn.execute(
        "DELETE FROM entries WHERE expiration IS NOT NULL AND expiration <= ?1",
        [now_sql],
    )
    .map_err(sql)?;
    conn.execute_batch("PRAGMA incremental_vacuum;")
        .map_err(sql)?;
    let mut settings = BTreeMap::new();
    let mut read = conn
        .prepare("SELECT name, value FROM settings")
        .map_err(sql)?;
    let rows = read
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(sql)?;
    for row in rows {
        let (name, value) = row.map_err(sql)?;
        settings.insert(name, value);
    }
    let mut namespaces = Vec::new();
    let mut list = conn
        .prepare("SELECT ns, id, title FROM namespaces ORDER BY ns")
        .map_err(sql)?;
    let rows = list
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?)))
        .map_err(sql)?;
    for row in rows {
        let (ns, id, title): (i64, String, String) = row.map_err(sql)?;
        namespaces.push((id, title, NsState::new(ns)));
    }
    // One pass over the table in its stored order (a rowid table: reading it namespace by
    // namespace would look every row up through the (ns, key) index).
    let views: HashMap<i64, &Arc<NsState>> = namespaces
        .iter()
        .map(|(_, _, state)| (state.row, state))
        .collect();
    let mut batches: HashMap<i64, Vec<Write>> = HashMap::new();
    let mut entries = conn
        .prepare("SELECT ns, key, value, metadata, expiration FROM entries")
        .map_err(sql)?;
    let mut rows = entries.query([]).map_err(sql)?;
    while let Some(row) = rows.next().map_err(sql)? {
        let ns: i64 = row.get(0).map_err(sql)?;
        let Some(state) = views.get(&ns) else {
            continue;
        };
        let key: String = row.get(1).map_err(sql)?;
        let value: Vec<u8> = row.get(2).map_err(sql)?;
        let metadata = match row.get::<_, Option<String>>(3).map_err(sql)? {
            None => None,
            Some(text) => Some(Metadata::from_json_any_size(text).map_err(|e| {
                StorageError::io(format!("the metadata of key {key:?} is not JSON: {e}"))
            })?),
        };
        let expiration = row
            .get::<_, Option<i64>>(4)
            .map_err(sql)?
            .map(|t| u64::try_from(t).unwrap_or(0));
        let entry = Entry {
            value: Bytes::from(value),
            metadata,
            expiration,
        };
        let batch = batches.entry(ns).or_default();
        batch.push(Write::Put { key, entry });
        if batch.len() == LOAD_BATCH {
            state.view.write(std::mem::take(batch), now)?;
        }
    }
    for (ns, batch) in batches {
        if let Some(state) = views.get(&ns) {
            state.view.write(batch, now)?;
        }
    }
    Ok((settings, namespaces))
}

impl Storage for SqliteStorage {
    fn create_namespace(
        &self,
        id: &str,
        title: &str,
    ) -> Result<Box<dyn NamespaceStorage>, StorageError> {
        let row = self.writer.run(Op::Create {
            id: id.to_owned(),
            title: title.to_owned(),
        })?;
        Ok(Box::new(SqliteNamespace {
            state: NsState::new(row),
            writer: self.writer.clone(),
        }))
    }

    fn account_id(&self, wanted: Option<&str>) -> Result<String, StorageError> {
        let id = match (wanted, self.setting(ACCOUNT_ID)) {
            (Some(wanted), _) => wanted.to_owned(),
            (None, Some(kept)) => kept,
            (None, None) => super::new_hex_id(),
        };
        self.keep_setting(ACCOUNT_ID, id.clone())?;
        Ok(id)
    }

    fn setting(&self, name: &'static str) -> Option<String> {
        self.settings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    fn keep_setting(&self, name: &'static str, value: String) -> Result<(), StorageError> {
        let mut settings = self.settings.lock().unwrap_or_else(PoisonError::into_inner);
        if settings.get(name) != Some(&value) {
            self.writer.run(Op::Set {
                name,
                value: value.clone(),
            })?;
            settings.insert(name.to_owned(), value);
        }
        Ok(())
    }
}

impl SqliteNamespace {
    fn write(&self, batch: Vec<Write>, now: u64) -> Result<(), StorageError> {
        self.writer
            .run(Op::Write {
                ns: Arc::clone(&self.state),
                batch,
                now,
            })
            .map(drop)
    }
}

impl NamespaceStorage for SqliteNamespace {
    fn get(&self, key: &str, now: u64) -> Result<Option<Arc<Entry>>, StorageError> {
        self.state.view.get(key, now)
    }

    fn get_many(&self, keys: &[String], now: u64) -> Result<Vec<Option<Arc<Entry>>>, StorageError> {
        self.state.view.get_many(keys, now)
    }

    fn range(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        now: u64,
    ) -> Result<Range, StorageError> {
        self.state.view.range(prefix, after, limit, now)
    }

    fn put(&self, key: &str, entry: Entry, now: u64) -> Result<(), StorageError> {
        let key = key.to_owned();
        self.write(vec![Write::Put { key, entry }], now)
    }

    fn put_async(&self, key: &str, entry: Entry, now: u64) -> Pending {
        let committed = self.writer.run_async(Op::Write {
            ns: Arc::clone(&self.state),
            batch: vec![Write::Put {
                key: key.to_owned(),
                entry,
            }],
            now,
        });
        Box::pin(async move { committed.await.map(drop) })
    }

    fn delete(&self, key: &str, now: u64) -> Result<(), StorageError> {
        let key = key.to_owned();
        self.write(vec![Write::Delete { key }], now)
    }

    fn write(&self, batch: Vec<Write>, now: u64) -> Result<(), StorageError> {
        SqliteNamespace::write(self, batch, now)
    }

    fn sweep(&self, now: u64) -> Result<(), StorageError> {
        self.writer
            .run(Op::Sweep {
                ns: Arc::clone(&self.state),
                now,
            })
            .map(drop)
    }

    fn rename(&self, title: &str) -> Result<(), StorageError> {
        self.writer
            .run(Op::Rename {
                ns: Arc::clone(&self.state),
                title: title.to_owned(),
            })
            .map(drop)
    }

    fn clear(&self) -> Result<(), StorageError> {
        self.writer
            .run(Op::Clear {
                ns: Arc::clone(&self.state),
            })
            .map(drop)
    }

    fn drop_namespace(&self) {
        let dropped = self.writer.run(Op::Drop {
            ns: Arc::clone(&self.state),
        });
        if let Err(e) = dropped
            && e != StorageError::Gone
        {
            tracing::error!(error = %e, "kv-mock could not delete a namespace from its database");
            // Readers must not see it anyway.
            self.state.view.drop_namespace();
        }
    }

    fn freeze(&self, now: u64) -> Result<Frozen, StorageError> {
        self.state.view.freeze(now)
    }

    fn restore(&self, frozen: &Frozen, now: u64) -> Result<(), StorageError> {
        self.writer
            .run(Op::Restore {
                ns: Arc::clone(&self.state),
                frozen: frozen.clone(),
                now,
            })
            .map(drop)
    }

    fn counts(&self) -> Counts {
        self.state.view.counts()
    }
}

#[cfg(test)]
mod tests;

impl super::Engine {
    /// An engine that keeps its namespaces, entries and account id in a SQLite database in
    /// `dir` (created if needed; the file is `kv-mock.sqlite3`), with what a previous run left
    /// there: the namespaces with their ids and titles, the entries that have not expired. An
    /// acknowledged write is in the file (it survives the process being killed). Blocks while it
    /// reads the database: from async code, call it through `spawn_blocking`.
    pub fn persistent(
        config: super::EngineConfig,
        dir: impl AsRef<Path>,
    ) -> Result<super::Engine, crate::EngineError> {
        let now = config.clock.now_secs();
        let (storage, stored) =
            SqliteStorage::open(dir.as_ref(), now).map_err(|e| e.during("open the database"))?;
        let engine = super::Engine::with_storage(config, Box::new(storage));
        {
            let mut map = engine.write_namespaces();
            for (id, title, storage) in stored {
                map.insert(
                    id.clone(),
                    super::NamespaceState::stored(id, title, storage, Vec::new()),
                );
            }
        }
        Ok(engine)
    }
}
