//! The [`Engine`]: the mock's state without HTTP. Namespaces holding entries, a [`Clock`],
//! expiry, last write wins and the per-key write limit.
//!
//! The engine is the one place that checks the rules of the contract (key names, value and
//! metadata sizes, expirations, list and bulk limits, namespace titles) and resolves an
//! expiration; the HTTP face only turns requests into kv-types values. The entries themselves
//! live behind the [`storage`] seam: per namespace, an ordered map with an expiry index
//! ([`memory`] keeps it in a `BTreeMap`). Every entry is one shared, immutable value replaced
//! whole by a write, so a reader never mixes two writes.

mod bulk;
pub(crate) mod bulk_item;
mod cursor;
pub(crate) mod entry;
mod expiry;
mod handle;
pub mod locations;
mod memory;
mod rate_limit;
mod snapshot;
mod sqlite;
pub(crate) mod storage;
pub(crate) mod transfer;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use kv_types::limits::MAX_NAMESPACE_TITLE_CHARS;
use kv_types::{Limits, Namespace, PutOptions, Value, ValueWithMetadata};

pub use bulk::BulkPut;
pub use handle::{NamespaceHandle, NamespaceStats};
pub use locations::{LocationStatus, Locations, PendingKind, PendingWrite, PropagationDelay};

use crate::clock::Clock;
use crate::error::EngineError;
use memory::MemoryStorage;
use rate_limit::RateLimiter;
use storage::{NamespaceStorage, Storage, StorageError};

/// How an [`Engine`] behaves. The default: production limits, the per-key write limit on, the
/// system clock.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The limits enforced (the production ones by default).
    pub limits: Limits,
    /// Whether the per-key write limit (one write per second per key) is on, as in production.
    pub rate_limit: bool,
    /// The clock everything time-based reads.
    pub clock: Clock,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            limits: Limits::PRODUCTION,
            rate_limit: true,
            clock: Clock::system(),
        }
    }
}

/// The mock's state: namespaces and their entries, with no HTTP. A cheap handle (an `Arc`
/// inside): clones share the state.
///
/// ```
/// use kv_mock::{Engine, KvStore};
/// use kv_types::{Key, PutOptions, Value};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = Engine::default();
/// let ns = engine.create_namespace("tests")?;
/// let store = engine.namespace(&ns.id).expect("just created");
/// let key = Key::new("greeting")?;
/// store.put(&key, Value::from("hello"), PutOptions::new()).await?;
/// assert_eq!(store.get(&key).await?.as_deref(), Some(&b"hello"[..]));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Engine {
    shared: Arc<EngineShared>,
}

/// What every handle of one engine shares.
pub(crate) struct EngineShared {
    limits: Limits,
    clock: Clock,
    rate_limit: AtomicBool,
    storage: Box<dyn Storage>,
    /// The locations and the writes between them; `None` (the single, strongly consistent
    /// location) unless made [`with_locations`](Engine::with_locations).
    locations: Option<Arc<locations::Replication>>,
    namespaces: RwLock<BTreeMap<String, Arc<NamespaceState>>>,
    /// The snapshots taken ([`Engine::snapshot`]), by id.
    snapshots: snapshot::Snapshots,
}

/// One namespace: its id, its title, its entries and its per-key write limit.
pub(crate) struct NamespaceState {
    id: String,
    title: RwLock<String>,
    deleted: AtomicBool,
    storage: Box<dyn NamespaceStorage>,
    /// With locations: the namespace at the other locations (`storage` is the first one's).
    elsewhere: Vec<Box<dyn NamespaceStorage>>,
    /// Taken only for a single-key write while the limit is on.
    rate: Mutex<RateLimiter>,
}

impl NamespaceState {
    fn new(
        engine: &EngineShared,
        id: String,
        title: String,
    ) -> Result<Arc<NamespaceState>, StorageError> {
        let (entries, elsewhere) = match &engine.locations {
            None => (engine.storage.create_namespace(&id, &title)?, Vec::new()),
            Some(replication) => {
                let mut at = locations::ReplicaSet::create(replication, &id).into_iter();
                (at.next().ok_or(StorageError::Gone)?, at.collect())
            }
        };
        Ok(NamespaceState::stored(id, title, entries, elsewhere))
    }

    /// A namespace whose entries `storage` (and, with locations, `elsewhere`) already keep.
    fn stored(
        id: String,
        title: String,
        storage: Box<dyn NamespaceStorage>,
        elsewhere: Vec<Box<dyn NamespaceStorage>>,
    ) -> Arc<NamespaceState> {
        Arc::new(NamespaceState {
            id,
            title: RwLock::new(title),
            deleted: AtomicBool::new(false),
            storage,
            elsewhere,
            rate: Mutex::new(RateLimiter::default()),
        })
    }

    fn title(&self) -> String {
        self.title
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn describe(&self) -> Namespace {
        Namespace {
            id: self.id.clone(),
            title: self.title(),
            supports_url_encoding: true,
        }
    }

    /// The per-key write limit, locked. Never held across an await.
    fn rate(&self) -> MutexGuard<'_, RateLimiter> {
        self.rate.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the namespace deleted and drops its entries: handles to it fail from then on.
    fn delete(&self) {
        self.deleted.store(true, Ordering::SeqCst);
        self.storage.drop_namespace();
        self.rate().clear();
    }

    /// Empties the namespace (reset): no entry, no recorded write.
    fn clear(&self) -> Result<(), StorageError> {
        self.rate().clear();
        self.storage.clear()
    }
}

impl StorageError {
    /// The engine's answer to a storage failure during `op`.
    pub(crate) fn during(self, op: &'static str) -> EngineError {
        match self {
            StorageError::Gone => EngineError::NamespaceNotFound { op },
            StorageError::Io(reason) => EngineError::Storage { op, reason },
        }
    }
}

impl Default for Engine {
    /// Production limits, the per-key write limit on, the system clock; no namespace yet.
    fn default() -> Self {
        Engine::new(EngineConfig::default())
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("limits", &self.shared.limits)
            .field("rate_limit", &self.rate_limit_enabled())
            .field("clock", &self.shared.clock)
            .field("namespaces", &self.read_namespaces().len())
            .finish()
    }
}

/// A new namespace id: 32 lowercase hex characters.
pub(crate) fn new_hex_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl Engine {
    /// An engine with no namespace yet, keeping its entries in memory.
    pub fn new(config: EngineConfig) -> Engine {
        Engine::with_storage(config, Box::new(MemoryStorage))
    }

    /// An engine with no namespace yet, keeping its entries in `storage`.
    pub(crate) fn with_storage(config: EngineConfig, storage: Box<dyn Storage>) -> Engine {
        Engine::build(config, storage, None)
    }

    /// An engine with no namespace yet, keeping its entries in `storage`, with the locations of
    /// `locations` (`None`: one strongly consistent location).
    fn build(
        config: EngineConfig,
        storage: Box<dyn Storage>,
        locations: Option<Arc<locations::Replication>>,
    ) -> Engine {
        Engine {
            shared: Arc::new(EngineShared {
                limits: config.limits,
                clock: config.clock,
                rate_limit: AtomicBool::new(config.rate_limit),
                storage,
                locations,
                namespaces: RwLock::new(BTreeMap::new()),
                snapshots: snapshot::Snapshots::default(),
            }),
        }
    }

    /// The limits enforced.
    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Turns the per-key write limit on or off.
    pub fn set_rate_limit(&self, enabled: bool) {
        self.shared.rate_limit.store(enabled, Ordering::SeqCst);
    }

    /// Whether the per-key write limit is on.
    pub fn rate_limit_enabled(&self) -> bool {
        self.shared.rate_limit.load(Ordering::SeqCst)
    }

    fn read_namespaces(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<NamespaceState>>> {
        self.shared
            .namespaces
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write_namespaces(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<NamespaceState>>> {
        self.shared
            .namespaces
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn check_title(
        map: &BTreeMap<String, Arc<NamespaceState>>,
        title: &str,
        except: Option<&str>,
        op: &'static str,
    ) -> Result<(), EngineError> {
        if title.trim().is_empty() {
            return Err(EngineError::InvalidTitle { op });
        }
        let len = title.chars().count();
        if len > MAX_NAMESPACE_TITLE_CHARS {
            return Err(EngineError::TitleTooLong {
                op,
                len,
                max: MAX_NAMESPACE_TITLE_CHARS,
            });
        }
        let taken = map
            .values()
            .any(|ns| Some(ns.id.as_str()) != except && ns.title() == title);
        if taken {
            Err(EngineError::DuplicateTitle { op })
        } else {
            Ok(())
        }
    }

    /// Creates a namespace with a new random id. Titles are unique: a duplicate is
    /// [`EngineError::DuplicateTitle`].
    pub fn create_namespace(&self, title: &str) -> Result<Namespace, EngineError> {
        self.create_namespace_with_id(&new_hex_id(), title)
    }

    /// Creates a namespace with the given id, so a test setup can use fixed ids. An id that is
    /// not 32 lowercase hex characters, or that is already used, is replaced by a new random id;
    /// the returned [`Namespace`] says which id was used.
    pub fn create_namespace_with_id(
        &self,
        id: &str,
        title: &str,
    ) -> Result<Namespace, EngineError> {
        let mut map = self.write_namespaces();
        Engine::check_title(&map, title, None, "create namespace")?;
        let id = if kv_types::namespace::is_namespace_id(id) && !map.contains_key(id) {
            id.to_owned()
        } else {
            new_hex_id()
        };
        let state = NamespaceState::new(&self.shared, id.clone(), title.to_owned())
            .map_err(|e| e.during("create namespace"))?;
        let described = state.describe();
        map.insert(id, state);
        Ok(described)
    }

    /// Every namespace, ordered by id.
    pub fn list_namespaces(&self) -> Vec<Namespace> {
        self.read_namespaces()
            .values()
            .map(|ns| ns.describe())
            .collect()
    }

    /// One namespace.
    pub fn get_namespace(&self, id: &str) -> Result<Namespace, EngineError> {
        self.read_namespaces()
            .get(id)
            .map(|ns| ns.describe())
            .ok_or(EngineError::NamespaceNotFound {
                op: "get namespace",
            })
    }

    /// Renames a namespace.
    pub fn rename_namespace(&self, id: &str, title: &str) -> Result<Namespace, EngineError> {
        let op = "rename namespace";
        let map = self.write_namespaces();
        let ns = map.get(id).ok_or(EngineError::NamespaceNotFound { op })?;
        Engine::check_title(&map, title, Some(id), op)?;
        ns.storage.rename(title).map_err(|e| e.during(op))?;
        *ns.title.write().unwrap_or_else(PoisonError::into_inner) = title.to_owned();
        Ok(ns.describe())
    }

    /// Deletes a namespace and everything in it. Handles to it fail from then on.
    pub fn delete_namespace(&self, id: &str) -> Result<(), EngineError> {
        let removed = self
            .write_namespaces()
            .remove(id)
            .ok_or(EngineError::NamespaceNotFound {
                op: "remove namespace",
            })?;
        removed.delete();
        Ok(())
    }

    /// A handle to one namespace, which implements [`KvStore`](kv_types::KvStore).
    pub fn namespace(&self, id: &str) -> Option<NamespaceHandle> {
        let state = self.read_namespaces().get(id).cloned()?;
        Some(NamespaceHandle::new(Arc::clone(&self.shared), state))
    }

    /// Writes an entry directly, for setting up a test. Seeding skips the per-key write limit
    /// (and does not count as a write for it) and the minimum-TTL rule, so a test can seed a key
    /// that expires in one second; the key, value and metadata limits still apply.
    pub fn seed(
        &self,
        namespace_id: &str,
        key: &str,
        value: impl Into<Value>,
        options: PutOptions,
    ) -> Result<(), EngineError> {
        let ns = self
            .namespace(namespace_id)
            .ok_or(EngineError::NamespaceNotFound { op: "put" })?;
        ns.seed(key, value.into(), options)
    }

    /// The live entry under `key`, for inspection: `None` when the namespace or the key does not
    /// exist, or the key has expired.
    pub fn entry(&self, namespace_id: &str, key: &str) -> Option<ValueWithMetadata> {
        self.namespace(namespace_id)?.entry(key)
    }

    /// Removes expired entries from every namespace now (they are also removed on every access
    /// to their namespace).
    pub fn purge_expired(&self) {
        let now = self.shared.clock.now_secs();
        let all: Vec<_> = self.read_namespaces().values().cloned().collect();
        for ns in all {
            // A namespace deleted meanwhile has nothing left to sweep.
            let _ = ns.storage.sweep(now);
        }
    }

    /// Clears everything and leaves exactly the namespaces `keep`, empty, with their ids and
    /// titles (namespaces that still exist keep their state object, so handles to them stay
    /// valid). A storage failure (only a persistent one fails) is returned after the rest of the
    /// reset was done.
    pub fn reset(&self, keep: &[Namespace]) -> Result<(), EngineError> {
        let op = "reset";
        let mut failed = Ok(());
        let mut map = self.write_namespaces();
        let old = std::mem::take(&mut *map);
        for (id, state) in old {
            match keep.iter().find(|k| k.id == id) {
                Some(k) => {
                    let cleared = state.clear().and_then(|()| state.storage.rename(&k.title));
                    if let Err(e) = cleared {
                        failed = Err(e.during(op));
                    }
                    *state.title.write().unwrap_or_else(PoisonError::into_inner) = k.title.clone();
                    map.insert(id, state);
                }
                None => state.delete(),
            }
        }
        for k in keep {
            if !map.contains_key(&k.id) {
                match NamespaceState::new(&self.shared, k.id.clone(), k.title.clone()) {
                    Ok(state) => {
                        map.insert(k.id.clone(), state);
                    }
                    Err(e) => failed = Err(e.during(op)),
                }
            }
        }
        failed
    }

    /// The account id to serve: `wanted` when given, else the one a persistent storage kept,
    /// else a new random one (kept by a persistent storage).
    pub(crate) fn account_id(&self, wanted: Option<&str>) -> Result<String, EngineError> {
        self.shared
            .storage
            .account_id(wanted)
            .map_err(|e| e.during("account id"))
    }

    /// A setting of the server a persistent storage kept from a previous run.
    pub(crate) fn setting(&self, name: &'static str) -> Option<String> {
        self.shared.storage.setting(name)
    }

    /// Keeps a setting of the server for the next run (only a persistent storage does).
    pub(crate) fn keep_setting(
        &self,
        name: &'static str,
        value: String,
    ) -> Result<(), EngineError> {
        self.shared
            .storage
            .keep_setting(name, value)
            .map_err(|e| e.during("keep a setting"))
    }
}

#[cfg(test)]
mod tests;
