//! The storage seam: where the entries of each namespace live.
//!
//! The engine checks every rule (limits, expirations, the per-key write limit) and hands a
//! storage only valid entries; a storage keeps them: per namespace, an ordered map of key name to
//! [`Entry`] with an index by expiration time. [`MemoryStorage`](super::memory::MemoryStorage)
//! (a `BTreeMap` per namespace) and [`SqliteStorage`](super::sqlite::SqliteStorage) (a database
//! file, read through in-memory views) implement these two traits. What one must do:
//!
//! - **Concurrency.** Methods take `&self` and are called from many threads at once; each
//!   implementation does its own locking (the in-memory one: one mutex per namespace, held for
//!   one call), so a persistent one may read concurrently and commit the writes of concurrent
//!   callers together (group commit). Calls are synchronous: one that blocks on I/O must be
//!   called off the async runtime's workers by whoever adds it.
//! - **Time.** `now` is the engine's clock in epoch seconds. An entry whose expiration is `<=
//!   now` is never returned by [`get`](NamespaceStorage::get) or
//!   [`range`](NamespaceStorage::range); when it is removed (at once, or by
//!   [`sweep`](NamespaceStorage::sweep)) is the storage's choice. The in-memory one removes
//!   everything that expired at the start of every call (a cost proportional to what expired).
//! - **Order.** [`range`](NamespaceStorage::range) is in byte order of the UTF-8 names.
//! - **Atomicity.** [`write`](NamespaceStorage::write) applies its batch whole or not at all, in
//!   order (a key given twice ends with its last write); a reader sees all of it or none. Each
//!   entry is replaced whole, so a reader never mixes two writes.
//! - **Snapshots.** [`freeze`](NamespaceStorage::freeze) and
//!   [`restore`](NamespaceStorage::restore) take and put back a namespace's entries whole; the
//!   frozen form is the in-memory one's persistent maps (the persistent storage keeps its read
//!   view in one).
//! - **Deletion.** After [`drop_namespace`](NamespaceStorage::drop_namespace) every call on that
//!   namespace fails with [`StorageError::Gone`], so a write racing the deletion of its namespace
//!   is refused rather than stored where nobody can reach it.
//!
//! The seam is crate-private.

use std::sync::Arc;

use super::entry::Entry;
pub(crate) use super::memory::Frozen;

/// Where the namespaces' entries are kept: makes the storage of each new namespace.
pub(crate) trait Storage: Send + Sync {
    /// Stores a new, empty namespace. The engine has checked the id and the title (unique,
    /// valid) and keeps both.
    fn create_namespace(
        &self,
        id: &str,
        title: &str,
    ) -> Result<Box<dyn NamespaceStorage>, StorageError>;

    /// The account id to serve: `wanted` when given, else the one kept from a previous run, else
    /// a new random one; a persistent storage keeps the answer.
    fn account_id(&self, wanted: Option<&str>) -> Result<String, StorageError> {
        Ok(wanted.map_or_else(super::new_hex_id, str::to_owned))
    }

    /// A setting of the server kept from a previous run (a persistent storage keeps them, see
    /// [`keep_setting`](Storage::keep_setting)); `None` in memory.
    fn setting(&self, _name: &'static str) -> Option<String> {
        None
    }

    /// Keeps a setting of the server for the next run; nothing to do in memory.
    fn keep_setting(&self, _name: &'static str, _value: String) -> Result<(), StorageError> {
        Ok(())
    }
}

/// The entries of one namespace. See the [module](self) for what an implementation must do.
pub(crate) trait NamespaceStorage: Send + Sync {
    /// The live entry under `key`.
    fn get(&self, key: &str, now: u64) -> Result<Option<Arc<Entry>>, StorageError>;

    /// The live entries under `keys`, in the same order, read together (one snapshot: no write
    /// lands between two of them).
    fn get_many(&self, keys: &[String], now: u64) -> Result<Vec<Option<Arc<Entry>>>, StorageError>;

    /// Up to `limit` live entries whose names start with `prefix` and sort after `after` (when
    /// given), in byte order; the cost depends on `limit`, not on the size of the namespace.
    fn range(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        now: u64,
    ) -> Result<Range, StorageError>;

    /// Stores `entry` under `key`, replacing value, metadata and expiration together.
    fn put(&self, key: &str, entry: Entry, now: u64) -> Result<(), StorageError>;

    /// [`put`](NamespaceStorage::put) for async callers: the write is handed over at once and
    /// the future resolves when it is stored, so a storage that waits for a disk commit waits
    /// without blocking a thread of the runtime. The default stores at once.
    fn put_async(&self, key: &str, entry: Entry, now: u64) -> Pending {
        Box::pin(std::future::ready(self.put(key, entry, now)))
    }

    /// Removes `key`; removing a missing key does nothing.
    fn delete(&self, key: &str, now: u64) -> Result<(), StorageError>;

    /// Applies every write of `batch`, in order, atomically.
    fn write(&self, batch: Vec<Write>, now: u64) -> Result<(), StorageError>;

    /// Removes every entry that has expired at `now`.
    fn sweep(&self, now: u64) -> Result<(), StorageError>;

    /// Records the namespace's new title (the engine keeps the title it answers with; a
    /// persistent storage stores it too).
    fn rename(&self, title: &str) -> Result<(), StorageError>;

    /// Removes every entry; the namespace stays.
    fn clear(&self) -> Result<(), StorageError>;

    /// Removes the namespace and everything in it; every later call fails with
    /// [`StorageError::Gone`].
    fn drop_namespace(&self);

    /// The entries as they are now, frozen (a snapshot of the namespace). In memory this costs
    /// O(1) (persistent maps); a storage that cannot take one says so with an error.
    fn freeze(&self, now: u64) -> Result<Frozen, StorageError>;

    /// Puts the entries back as `frozen` holds them, replacing all of them at once (a reader sees
    /// the state before or the state after); entries of `frozen` that expired at `now` are gone.
    fn restore(&self, frozen: &Frozen, now: u64) -> Result<(), StorageError>;

    /// What is held right now (expired entries not yet removed included), for tests of memory
    /// reclamation.
    fn counts(&self) -> Counts;
}

/// A write handed to a storage, resolving once it is stored
/// ([`NamespaceStorage::put_async`]).
pub(crate) type Pending =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StorageError>> + Send>>;

/// One write of a [`NamespaceStorage::write`] batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Write {
    /// Stores `entry` under `key`.
    Put {
        /// The key name (checked by the engine).
        key: String,
        /// What is stored.
        entry: Entry,
    },
    /// Removes `key`, if present.
    Delete {
        /// The key name (checked by the engine).
        key: String,
    },
}

/// A page of entries from [`NamespaceStorage::range`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Range {
    /// The entries, in byte order of their names.
    pub(crate) entries: Vec<(Arc<str>, Arc<Entry>)>,
    /// Whether more live entries match after the last one.
    pub(crate) more: bool,
}

/// What a namespace's storage holds, from [`NamespaceStorage::counts`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Entries stored.
    pub(crate) entries: usize,
    /// Entries in the expiry index.
    pub(crate) expiring: usize,
}

/// Why a storage call failed. The in-memory storage only fails on a deleted namespace; the
/// persistent one also on its database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum StorageError {
    /// The namespace was deleted ([`NamespaceStorage::drop_namespace`]).
    #[error("the namespace was deleted")]
    Gone,
    /// The database could not be read or written; nothing of the call was stored.
    #[error("the database failed: {0}")]
    Io(String),
}

impl StorageError {
    /// A database failure, described.
    pub(crate) fn io(reason: impl Into<String>) -> StorageError {
        StorageError::Io(reason.into())
    }
}
