//! [`MemoryStorage`]: the in-memory [`Storage`]. Each namespace is an ordered map of entries by
//! name with an [`ExpiryIndex`], behind one mutex held for one call (never across an await).
//!
//! Both are persistent (copy-on-write) structures from `imbl`: a clone shares every node, and a
//! write to a map that is shared copies only the path to the node it changes (a write to one
//! that is not shared changes it in place). So [`freeze`](NamespaceStorage::freeze), a snapshot
//! of the namespace, is O(1), and [`restore`](NamespaceStorage::restore) is a swap of two roots.

use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::entry::Entry;
use super::expiry::ExpiryIndex;
use super::storage::{Counts, NamespaceStorage, Range, Storage, StorageError, Write};
use imbl::OrdMap;

/// A namespace's entries frozen at one moment ([`NamespaceStorage::freeze`]): immutable, cheap to
/// take and to keep (it shares its nodes with the live maps until they change).
#[derive(Debug, Clone)]
pub(crate) struct Frozen {
    entries: Entries,
}

impl Frozen {
    /// The entries that are live at `now`, in byte order of their names.
    pub(crate) fn live(&self, now: u64) -> impl Iterator<Item = (&Arc<str>, &Arc<Entry>)> {
        self.entries
            .by_name
            .iter()
            .filter(move |(_, e)| e.expiration.is_none_or(|at| at > now))
    }

    /// The live entry under `key` at `now`.
    pub(crate) fn get(&self, key: &str, now: u64) -> Option<&Arc<Entry>> {
        self.entries
            .by_name
            .get(key)
            .filter(|e| e.expiration.is_none_or(|at| at > now))
    }

    /// What turns `current` into this state at `now`, key by key: `Some(entry)` to store,
    /// `None` to delete. The cost is that of the differences: the nodes both share (all of
    /// them, but the paths written since one was taken from the other) are skipped.
    pub(crate) fn changes_from(
        &self,
        current: &Frozen,
        now: u64,
    ) -> Vec<(Arc<str>, Option<Arc<Entry>>)> {
        let live = |e: &Arc<Entry>| e.expiration.is_none_or(|at| at > now);
        current
            .entries
            .by_name
            .diff(&self.entries.by_name)
            .map(|change| match change {
                imbl::ordmap::DiffItem::Add(k, e)
                | imbl::ordmap::DiffItem::Update { new: (k, e), .. } => {
                    (Arc::clone(k), live(e).then(|| Arc::clone(e)))
                }
                imbl::ordmap::DiffItem::Remove(k, _) => (Arc::clone(k), None),
            })
            .collect()
    }
}

/// The in-memory storage: nothing outlives the process.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct MemoryStorage;

impl Storage for MemoryStorage {
    fn create_namespace(
        &self,
        _id: &str,
        _title: &str,
    ) -> Result<Box<dyn NamespaceStorage>, StorageError> {
        Ok(Box::new(MemoryNamespace::default()))
    }
}

/// One namespace in memory.
#[derive(Debug, Default)]
pub(crate) struct MemoryNamespace {
    inner: Mutex<Entries>,
}

/// The entries of a namespace and their expiry index.
///
/// Expired entries are removed (memory freed, not only hidden) by [`sweep`](Self::sweep), which
/// every call does first; its cost is proportional to the keys that expired since the last one.
#[derive(Debug, Default, Clone)]
struct Entries {
    by_name: OrdMap<Arc<str>, Arc<Entry>>,
    expiry: ExpiryIndex,
    gone: bool,
}

impl MemoryNamespace {
    /// The entries, locked and swept of what expired at `now`; `Gone` once dropped.
    fn live(&self, now: u64) -> Result<MutexGuard<'_, Entries>, StorageError> {
        let mut entries = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.gone {
            return Err(StorageError::Gone);
        }
        entries.sweep(now);
        Ok(entries)
    }
}

impl NamespaceStorage for MemoryNamespace {
    fn get(&self, key: &str, now: u64) -> Result<Option<Arc<Entry>>, StorageError> {
        Ok(self.live(now)?.by_name.get(key).cloned())
    }

    fn get_many(&self, keys: &[String], now: u64) -> Result<Vec<Option<Arc<Entry>>>, StorageError> {
        let entries = self.live(now)?;
        Ok(keys
            .iter()
            .map(|k| entries.by_name.get(k.as_str()).cloned())
            .collect())
    }

    fn range(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        now: u64,
    ) -> Result<Range, StorageError> {
        Ok(self.live(now)?.range(prefix, after, limit))
    }

    fn put(&self, key: &str, entry: Entry, now: u64) -> Result<(), StorageError> {
        self.live(now)?.put(key, entry);
        Ok(())
    }

    fn delete(&self, key: &str, now: u64) -> Result<(), StorageError> {
        self.live(now)?.delete(key);
        Ok(())
    }

    fn write(&self, batch: Vec<Write>, now: u64) -> Result<(), StorageError> {
        // One lock for the whole batch: nobody sees a part of it.
        let mut entries = self.live(now)?;
        for write in batch {
            match write {
                Write::Put { key, entry } => entries.put(&key, entry),
                Write::Delete { key } => entries.delete(&key),
            }
        }
        Ok(())
    }

    fn sweep(&self, now: u64) -> Result<(), StorageError> {
        self.live(now).map(drop)
    }

    fn rename(&self, _title: &str) -> Result<(), StorageError> {
        // The engine keeps the title; nothing to store.
        self.live(0).map(drop)
    }

    fn clear(&self) -> Result<(), StorageError> {
        let mut entries = self.live(0)?;
        entries.by_name.clear();
        entries.expiry.clear();
        Ok(())
    }

    fn drop_namespace(&self) {
        let mut entries = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        *entries = Entries {
            gone: true,
            ..Entries::default()
        };
    }

    fn freeze(&self, now: u64) -> Result<Frozen, StorageError> {
        Ok(Frozen {
            entries: self.live(now)?.clone(),
        })
    }

    fn restore(&self, frozen: &Frozen, now: u64) -> Result<(), StorageError> {
        let mut entries = self.live(now)?;
        let old = std::mem::replace(&mut *entries, frozen.entries.clone());
        entries.sweep(now);
        drop(entries);
        // The nodes only the old state held are freed after the lock is released.
        drop(old);
        Ok(())
    }

    fn counts(&self) -> Counts {
        let entries = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        Counts {
            entries: entries.by_name.len(),
            expiring: entries.expiry.len(),
        }
    }
}

impl Entries {
    /// Removes every entry that has expired at `now` (epoch seconds).
    fn sweep(&mut self, now: u64) {
        while let Some((at, key)) = self.expiry.pop_expired(now) {
            // Only remove the entry if it is still the write that expires at `at`.
            if self
                .by_name
                .get(&key)
                .is_some_and(|e| e.expiration == Some(at))
            {
                self.by_name.remove(&key);
            }
        }
    }

    fn put(&mut self, key: &str, entry: Entry) {
        let expiration = entry.expiration;
        let (key, old) = match self.by_name.get_key_value(key) {
            // The stored name is shared by the map and the expiry index: no new allocation.
            Some((name, _)) => {
                let name = Arc::clone(name);
                let old = self.by_name.insert(Arc::clone(&name), Arc::new(entry));
                (name, old)
            }
            None => {
                let name: Arc<str> = Arc::from(key);
                self.by_name.insert(Arc::clone(&name), Arc::new(entry));
                (name, None)
            }
        };
        let old_at = old.and_then(|e| e.expiration);
        if old_at != expiration {
            if let Some(old_at) = old_at {
                self.expiry.remove(old_at, &key);
            }
            if let Some(at) = expiration {
                self.expiry.insert(at, key);
            }
        }
    }

    fn delete(&mut self, key: &str) {
        if let Some((name, old)) = self.by_name.remove_with_key(key)
            && let Some(at) = old.expiration
        {
            self.expiry.remove(at, &name);
        }
    }

    fn range(&self, prefix: &str, after: Option<&str>, limit: usize) -> Range {
        let start: Bound<&str> = match after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        let mut iter = self
            .by_name
            .range::<_, str>((start, Bound::Unbounded))
            .take_while(|(name, _)| name.starts_with(prefix));
        let entries: Vec<_> = iter
            .by_ref()
            .take(limit)
            .map(|(name, entry)| (Arc::clone(name), Arc::clone(entry)))
            .collect();
        let more = iter.next().is_some();
        Range { entries, more }
    }
}

#[cfg(test)]
pub(super) mod tests;
