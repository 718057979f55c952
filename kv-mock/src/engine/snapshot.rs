//! Snapshots of an engine's whole state, for test isolation: [`Engine::snapshot`] freezes every
//! namespace (id, title, entries) and [`Engine::restore`] puts all of it back.
//!
//! In memory both are cheap whatever the size of the state: the entries live in persistent maps
//! (see [`memory`](super::memory)), so a snapshot shares their nodes (O(1) per namespace; a
//! later write copies only the path it changes) and a restore swaps the roots back. With a
//! persistent storage the snapshot is the same (taken from its in-memory read view, kept in
//! memory only: snapshots do not outlive the process), and a restore also rewrites each
//! namespace's rows in the database in one transaction per namespace, a cost proportional to the
//! entries restored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::memory::Frozen;
use super::{Engine, NamespaceState};
use crate::error::EngineError;

/// The snapshots of one engine, by id.
#[derive(Default)]
pub(crate) struct Snapshots {
    by_id: Mutex<HashMap<String, Arc<Snapshot>>>,
}

/// The state frozen by one [`Engine::snapshot`].
struct Snapshot {
    /// When it was taken, on the engine's clock (epoch seconds).
    taken_at: u64,
    /// Every namespace: id, title, entries; in id order.
    namespaces: Vec<(String, String, Frozen)>,
}

impl Snapshots {
    fn get(&self, id: &str) -> Option<Arc<Snapshot>> {
        self.by_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }
}

impl Engine {
    /// Freezes every namespace (its id, title and entries) and answers the snapshot's id (32 hex
    /// characters), for [`restore`](Self::restore). O(1) per namespace in memory, whatever it
    /// holds. A snapshot is kept until [`forget_snapshot`](Self::forget_snapshot) (in memory,
    /// also with a persistent storage).
    ///
    /// ```
    /// use kv_mock::Engine;
    /// use kv_types::PutOptions;
    ///
    /// let engine = Engine::default();
    /// let ns = engine.create_namespace("app")?;
    /// engine.seed(&ns.id, "k", "seeded", PutOptions::new())?;
    /// let clean = engine.snapshot()?;
    /// engine.seed(&ns.id, "k", "changed by a test", PutOptions::new())?;
    /// engine.delete_namespace(&ns.id)?;
    /// engine.restore(&clean)?;
    /// assert_eq!(engine.entry(&ns.id, "k").map(|e| e.value), Some("seeded".into()));
    /// # Ok::<(), kv_mock::EngineError>(())
    /// ```
    pub fn snapshot(&self) -> Result<String, EngineError> {
        let now = self.shared.clock.now_secs();
        // The namespace map stays locked, so none is created or deleted meanwhile.
        let map = self.read_namespaces();
        let mut namespaces = Vec::with_capacity(map.len());
        for (id, ns) in map.iter() {
            let frozen = ns.storage.freeze(now).map_err(|e| e.during("snapshot"))?;
            namespaces.push((id.clone(), ns.title(), frozen));
        }
        drop(map);
        let id = super::new_hex_id();
        self.shared
            .snapshots
            .by_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                id.clone(),
                Arc::new(Snapshot {
                    taken_at: now,
                    namespaces,
                }),
            );
        Ok(id)
    }

    /// Puts back the state of the snapshot `id`, all of it: namespaces created since are
    /// deleted, deleted ones come back with their ids and titles, renamed ones get their titles
    /// back, and every namespace holds exactly its entries of then (those that expired since, on
    /// the engine's clock, are gone). Namespaces that exist in both keep their handles. The
    /// per-key write limit forgets its writes. The snapshot stays, to restore again.
    pub fn restore(&self, id: &str) -> Result<(), EngineError> {
        let op = "restore";
        let snapshot = self
            .shared
            .snapshots
            .get(id)
            .ok_or_else(|| EngineError::SnapshotNotFound { id: id.to_owned() })?;
        let now = self.shared.clock.now_secs();
        let mut map = self.write_namespaces();
        let gone: Vec<String> = map
            .keys()
            .filter(|id| !snapshot.namespaces.iter().any(|(s, ..)| s == *id))
            .cloned()
            .collect();
        for id in gone {
            if let Some(ns) = map.remove(&id) {
                ns.delete();
            }
        }
        for (ns_id, title, frozen) in &snapshot.namespaces {
            let state = match map.get(ns_id) {
                Some(state) => {
                    if state.title() != *title {
                        state.storage.rename(title).map_err(|e| e.during(op))?;
                        *state.title.write().unwrap_or_else(PoisonError::into_inner) =
                            title.clone();
                    }
                    Arc::clone(state)
                }
                None => {
                    let state = NamespaceState::new(&self.shared, ns_id.clone(), title.clone())
                        .map_err(|e| e.during(op))?;
                    map.insert(ns_id.clone(), Arc::clone(&state));
                    state
                }
            };
            state.rate().clear();
            state
                .storage
                .restore(frozen, now)
                .map_err(|e| e.during(op))?;
        }
        Ok(())
    }

    /// The snapshots kept: `(id, taken at)` (epoch seconds on the engine's clock), oldest first.
    pub fn snapshots(&self) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = self
            .shared
            .snapshots
            .by_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(id, s)| (id.clone(), s.taken_at))
            .collect();
        all.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        all
    }

    /// Drops the snapshot `id` (its memory is freed once nothing else shares it); whether there
    /// was one.
    pub fn forget_snapshot(&self, id: &str) -> bool {
        self.shared
            .snapshots
            .by_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
            .is_some()
    }
}

#[cfg(test)]
mod tests;
