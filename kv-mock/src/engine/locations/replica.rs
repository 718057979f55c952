//! [`ReplicaSet`]: one namespace at every location, each replica with the version of the last
//! write it applied per key (tombstones included), and [`LocationStorage`], the storage a handle
//! at one location reads and writes through.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::Version;
use super::propagation::Replication;
use crate::engine::entry::Entry;
use crate::engine::memory::MemoryNamespace;
use crate::engine::storage::{Counts, NamespaceStorage, Range, StorageError, Write};

/// One write with its place in the global order.
#[derive(Debug, Clone)]
pub(crate) struct Versioned {
    pub(crate) version: Version,
    pub(crate) write: Write,
}

impl Versioned {
    fn key(&self) -> &str {
        match &self.write {
            Write::Put { key, .. } | Write::Delete { key } => key,
        }
    }
}

/// One namespace at one location.
#[derive(Default)]
struct Replica {
    entries: MemoryNamespace,
    /// The version of the last write applied, per key; a delete's stays as a tombstone, so an
    /// older write delivered late changes nothing.
    versions: Mutex<HashMap<Arc<str>, Version>>,
}

/// One namespace at every location.
pub(crate) struct ReplicaSet {
    id: String,
    replication: Arc<Replication>,
    replicas: Box<[Replica]>,
}

impl ReplicaSet {
    /// The storages of a new namespace `id`, one per location, in order.
    pub(crate) fn create(
        replication: &Arc<Replication>,
        id: &str,
    ) -> Vec<Box<dyn NamespaceStorage>> {
        let set = Arc::new(ReplicaSet {
            id: id.to_owned(),
            replication: Arc::clone(replication),
            replicas: (0..replication.names().len())
                .map(|_| Replica::default())
                .collect(),
        });
        (0..set.replicas.len())
            .map(|at| {
                Box::new(LocationStorage {
                    set: Arc::clone(&set),
                    at,
                }) as Box<dyn NamespaceStorage>
            })
            .collect()
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Applies at location `at` the writes of `writes` newer than what it holds for their keys,
    /// together.
    pub(crate) fn apply(
        &self,
        at: usize,
        writes: &[Versioned],
        now: u64,
    ) -> Result<(), StorageError> {
        let Some(replica) = self.replicas.get(at) else {
            return Ok(());
        };
        let mut versions = replica
            .versions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let newer: Vec<&Versioned> = writes
            .iter()
            .filter(|w| versions.get(w.key()).is_none_or(|v| *v < w.version))
            .collect();
        replica
            .entries
            .write(newer.iter().map(|w| w.write.clone()).collect(), now)?;
        for w in newer {
            match versions.get_mut(w.key()) {
                Some(v) => *v = w.version,
                None => {
                    versions.insert(Arc::from(w.key()), w.version);
                }
            }
        }
        Ok(())
    }
}

/// Namespace `set` as location `at` sees it. Reads and writes go to that location's replica
/// (after delivering what is due); the namespace-wide operations (sweep, clear, drop) act on
/// every replica, since namespace management is global and immediate.
struct LocationStorage {
    set: Arc<ReplicaSet>,
    at: usize,
}

impl LocationStorage {
    /// This location's replica, with what is due delivered.
    fn replica(&self) -> &MemoryNamespace {
        self.set.replication.deliver_due();
        &self.set.replicas[self.at].entries
    }

    fn write_here(&self, batch: Vec<Write>) -> Result<(), StorageError> {
        self.set.replication.write(&self.set, self.at, batch)
    }
}

impl NamespaceStorage for LocationStorage {
    fn get(&self, key: &str, now: u64) -> Result<Option<Arc<Entry>>, StorageError> {
        self.replica().get(key, now)
    }

    fn get_many(&self, keys: &[String], now: u64) -> Result<Vec<Option<Arc<Entry>>>, StorageError> {
        self.replica().get_many(keys, now)
    }

    fn range(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        now: u64,
    ) -> Result<Range, StorageError> {
        self.replica().range(prefix, after, limit, now)
    }

    fn put(&self, key: &str, entry: Entry, _now: u64) -> Result<(), StorageError> {
        self.write_here(vec![Write::Put {
            key: key.to_owned(),
            entry,
        }])
    }

    fn delete(&self, key: &str, _now: u64) -> Result<(), StorageError> {
        self.write_here(vec![Write::Delete {
            key: key.to_owned(),
        }])
    }

    fn write(&self, batch: Vec<Write>, _now: u64) -> Result<(), StorageError> {
        self.write_here(batch)
    }

    fn sweep(&self, now: u64) -> Result<(), StorageError> {
        self.set.replication.deliver_due();
        self.set
            .replicas
            .iter()
            .try_for_each(|r| r.entries.sweep(now))
    }

    fn rename(&self, title: &str) -> Result<(), StorageError> {
        self.set.replicas[self.at].entries.rename(title)
    }

    fn clear(&self) -> Result<(), StorageError> {
        let mut cleared = Ok(());
        self.set.replication.forget(&self.set, || {
            for r in &self.set.replicas {
                r.versions
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clear();
                let result = r.entries.clear();
                if cleared.is_ok() {
                    cleared = result;
                }
            }
        });
        cleared
    }

    fn drop_namespace(&self) {
        self.set.replication.forget(&self.set, || {
            for r in &self.set.replicas {
                r.versions
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clear();
                r.entries.drop_namespace();
            }
        });
    }

    fn freeze(&self, _now: u64) -> Result<super::super::storage::Frozen, StorageError> {
        // Writes still travelling between locations have no place in a snapshot.
        Err(StorageError::io(
            "snapshots are not available with locations",
        ))
    }

    fn restore(
        &self,
        _frozen: &super::super::storage::Frozen,
        _now: u64,
    ) -> Result<(), StorageError> {
        Err(StorageError::io(
            "snapshots are not available with locations",
        ))
    }

    fn counts(&self) -> Counts {
        self.set.replicas[self.at].entries.counts()
    }
}
