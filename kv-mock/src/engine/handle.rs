//! [`NamespaceHandle`]: one namespace of an engine, as a [`KvStore`] and with synchronous
//! operations for the HTTP face and for tests.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_trait::async_trait;
use bytes::Bytes;
use kv_types::{
    Expiration, Key, KvStore, ListOptions, ListPage, Metadata, PutOptions, ValidationError, Value,
    ValueWithMetadata,
};

use super::entry::Entry;
use super::storage::NamespaceStorage;
use super::{EngineShared, NamespaceState, cursor};
use crate::error::EngineError;

/// One namespace of an [`Engine`](crate::Engine): a cheap, cloneable handle that implements
/// [`KvStore`], so code generic over `KvStore` can be tested with no socket at all.
///
/// The `*_sync` methods do the same work without `async`; none of them blocks for long (a lock
/// held for the operation only).
#[derive(Clone)]
pub struct NamespaceHandle {
    engine: Arc<EngineShared>,
    ns: Arc<NamespaceState>,
    /// The location it reads and writes at (0, the default, without locations).
    pub(super) location: usize,
}

/// What a namespace holds right now, for tests of memory reclamation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamespaceStats {
    /// Entries stored (expired ones not yet swept included).
    pub entries: usize,
    /// Entries tracked by the expiry index.
    pub expiring: usize,
    /// Keys tracked by the per-key write limit.
    pub rate_limited_keys: usize,
}

impl std::fmt::Debug for NamespaceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamespaceHandle")
            .field("id", &self.ns.id)
            .field("location", &self.location())
            .finish()
    }
}

impl NamespaceHandle {
    pub(crate) fn new(engine: Arc<EngineShared>, ns: Arc<NamespaceState>) -> NamespaceHandle {
        NamespaceHandle {
            engine,
            ns,
            location: 0,
        }
    }

    /// The namespace id.
    pub fn id(&self) -> &str {
        &self.ns.id
    }

    /// The namespace title now.
    pub fn title(&self) -> String {
        self.ns.title()
    }

    /// Whether the namespace has been deleted (every operation then fails with
    /// [`EngineError::NamespaceNotFound`]).
    pub fn is_deleted(&self) -> bool {
        self.ns.deleted.load(Ordering::SeqCst)
    }

    pub(crate) fn limits(&self) -> &kv_types::Limits {
        &self.engine.limits
    }

    /// Now on the engine's clock, in epoch seconds.
    pub(super) fn now(&self) -> u64 {
        self.engine.clock.now_secs()
    }

    /// Where the namespace's entries are kept.
    pub(super) fn storage(&self) -> &dyn NamespaceStorage {
        match self.location.checked_sub(1) {
            None => &*self.ns.storage,
            // The engine hands out only indices of its locations.
            Some(i) => self.ns.elsewhere.get(i).map_or(&*self.ns.storage, |s| &**s),
        }
    }

    /// The location it reads and writes at, when the engine has locations.
    pub fn location(&self) -> Option<&str> {
        self.engine
            .locations
            .as_ref()
            .and_then(|r| r.names().get(self.location))
            .map(String::as_str)
    }

    /// The live entry under `key` (checked against the limits), for `op`.
    pub(crate) fn read(
        &self,
        key: &str,
        op: &'static str,
    ) -> Result<Option<Arc<Entry>>, EngineError> {
        self.engine.limits.check_key(key)?;
        self.storage()
            .get(key, self.now())
            .map_err(|e| e.during(op))
    }

    /// Starts a write of `key`: checks the key. The write is then given its expiration
    /// ([`PendingPut::expire`]) and its value ([`PendingPut::commit`]), so that the HTTP face can
    /// refuse a request that breaks a rule before it reads the body. Every rule of a write is
    /// checked exactly once, here and in those two steps.
    pub(crate) fn begin_put<'a>(&'a self, key: &'a str) -> Result<PendingPut<'a>, EngineError> {
        Ok(self.begin_put_at(key, self.now())?)
    }

    /// [`begin_put`](Self::begin_put) at the time `now` (a bulk write begins all its items at
    /// once).
    pub(super) fn begin_put_at<'a>(
        &'a self,
        key: &'a str,
        now: u64,
    ) -> Result<PendingPut<'a>, ValidationError> {
        self.engine.limits.check_key(key)?;
        Ok(PendingPut {
            handle: self,
            key,
            now,
            expiration: None,
            seeding: false,
        })
    }

    /// The entry a write of `value` under `key` at `now` stores, every rule of the write checked
    /// but the per-key write limit (a batch is not subject to it); `seeding` also skips the
    /// minimum-TTL rule.
    pub(super) fn checked_entry(
        &self,
        key: &str,
        value: Value,
        options: PutOptions,
        now: u64,
        seeding: bool,
    ) -> Result<Entry, ValidationError> {
        let mut put = self.begin_put_at(key, now)?;
        put.seeding = seeding;
        put.expire(options.effective_expiration())?;
        put.entry(value, options.metadata)
    }

    /// Writes `value` under `key`, replacing value, metadata and expiration together. Enforces
    /// every limit, and the per-key write limit when it is on ([`EngineError::RateLimited`]).
    pub fn put_sync(
        &self,
        key: &str,
        value: Value,
        options: PutOptions,
    ) -> Result<(), EngineError> {
        let mut put = self.begin_put(key)?;
        put.expire(options.effective_expiration())?;
        put.commit(value, options.metadata)
    }

    /// Writes directly, skipping the per-key write limit and the minimum-TTL rule.
    pub(crate) fn seed(
        &self,
        key: &str,
        value: Value,
        options: PutOptions,
    ) -> Result<(), EngineError> {
        let mut put = self.begin_put(key)?;
        put.seeding = true;
        put.expire(options.effective_expiration())?;
        put.commit(value, options.metadata)
    }

    /// Reads `key` with the metadata and expiration of the same write; `Ok(None)` when absent or
    /// expired.
    pub fn get_sync(&self, key: &str) -> Result<Option<ValueWithMetadata>, EngineError> {
        Ok(self.read(key, "get")?.map(|e| e.to_value_with_metadata()))
    }

    /// Reads only the metadata of `key`: `Ok(None)` when absent, `Ok(Some(None))` when it has
    /// none.
    pub fn metadata_sync(&self, key: &str) -> Result<Option<Option<Metadata>>, EngineError> {
        Ok(self.read(key, "get metadata")?.map(|e| e.metadata.clone()))
    }

    /// Deletes `key`; deleting a missing key succeeds. Deletes are not subject to the per-key
    /// write limit.
    pub fn delete_sync(&self, key: &str) -> Result<(), EngineError> {
        self.engine.limits.check_key(key)?;
        self.storage()
            .delete(key, self.now())
            .map_err(|e| e.during("delete"))
    }

    /// One page of keys: byte order of the names, literal prefix, `limit` (checked against the
    /// limits; the largest when `None`), and a cursor with start-after semantics. The last page
    /// has no cursor.
    pub fn list_sync(&self, options: &ListOptions) -> Result<ListPage, EngineError> {
        let limits = &self.engine.limits;
        options.check(limits)?;
        let after = match options.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => Some(cursor::decode(c).ok_or(EngineError::InvalidCursor)?),
        };
        let limit = options.limit.unwrap_or(limits.max_list_limit);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let prefix = options.prefix.as_deref().unwrap_or("");
        let range = self
            .storage()
            .range(prefix, after.as_deref(), limit, self.now())
            .map_err(|e| e.during("list keys"))?;
        let cursor = match range.entries.last() {
            Some((last, _)) if range.more => Some(cursor::encode(last)),
            _ => None,
        };
        let keys = range
            .entries
            .iter()
            .map(|(name, entry)| entry.to_key_info(name))
            .collect();
        Ok(ListPage::from_wire(keys, cursor))
    }

    /// The live entry under `key`, or `None` (also when the namespace was deleted).
    pub fn entry(&self, key: &str) -> Option<ValueWithMetadata> {
        let entry = self.storage().get(key, self.now()).ok()??;
        Some(entry.to_value_with_metadata())
    }

    /// What the namespace holds right now, without sweeping expired entries first.
    pub fn stats(&self) -> NamespaceStats {
        let counts = self.storage().counts();
        NamespaceStats {
            entries: counts.entries,
            expiring: counts.expiring,
            rate_limited_keys: self.ns.rate().len(),
        }
    }
}

/// A write under way (see [`NamespaceHandle::begin_put`]): its key is checked; its expiration
/// and its value are still to come.
pub(crate) struct PendingPut<'a> {
    handle: &'a NamespaceHandle,
    key: &'a str,
    /// When the write was begun: its expiration is resolved against this time.
    now: u64,
    expiration: Option<u64>,
    /// Seeding skips the minimum-TTL rule and the per-key write limit.
    seeding: bool,
}

impl PendingPut<'_> {
    /// Checks the expiration rule and resolves it to epoch seconds, once (the TTL counts from
    /// when the write was begun). `None`: the entry does not expire.
    pub(crate) fn expire(&mut self, expiration: Option<Expiration>) -> Result<(), ValidationError> {
        let (now, limits) = (self.now, &self.handle.engine.limits);
        self.expiration = match expiration {
            None => None,
            Some(exp) if !self.seeding => Some(exp.resolve(now, limits)?),
            Some(Expiration::At(at)) => Some(at),
            Some(Expiration::Ttl(ttl)) => Some(now.saturating_add(ttl)),
        };
        Ok(())
    }

    /// The entry the write stores, its value and metadata sizes checked.
    pub(super) fn entry(
        &self,
        value: Value,
        metadata: Option<Metadata>,
    ) -> Result<Entry, ValidationError> {
        let limits = &self.handle.engine.limits;
        limits.check_value_len(value.len())?;
        if let Some(m) = &metadata {
            limits.check_metadata_len(m.len())?;
        }
        Ok(Entry {
            value: value.into_bytes(),
            metadata,
            expiration: self.expiration,
        })
    }

    /// Checks the value and metadata sizes and the per-key write limit, then stores the entry.
    pub(crate) fn commit(
        self,
        value: Value,
        metadata: Option<Metadata>,
    ) -> Result<(), EngineError> {
        let entry = self.admit(value, metadata)?;
        self.handle
            .storage()
            .put(self.key, entry, self.now)
            .map_err(|e| e.during("put"))
    }

    /// [`commit`](Self::commit) for async callers: the same checks, then the storage's
    /// [`put_async`](NamespaceStorage::put_async) (a persistent storage waits for its commit
    /// without blocking a runtime thread).
    pub(crate) async fn commit_async(
        self,
        value: Value,
        metadata: Option<Metadata>,
    ) -> Result<(), EngineError> {
        let entry = self.admit(value, metadata)?;
        let stored = self.handle.storage().put_async(self.key, entry, self.now);
        stored.await.map_err(|e| e.during("put"))
    }

    /// The entry to store, once its sizes and the per-key write limit admit it.
    fn admit(&self, value: Value, metadata: Option<Metadata>) -> Result<Entry, EngineError> {
        let entry = self.entry(value, metadata)?;
        let handle = self.handle;
        if !self.seeding
            && handle.engine.rate_limit.load(Ordering::SeqCst)
            && !handle
                .ns
                .rate()
                .admit(self.key, handle.engine.clock.stamp())
        {
            return Err(EngineError::RateLimited);
        }
        Ok(entry)
    }
}

#[async_trait]
impl KvStore for NamespaceHandle {
    type Error = EngineError;

    async fn put(&self, key: &Key, value: Value, options: PutOptions) -> Result<(), EngineError> {
        let mut put = self.begin_put(key.as_str())?;
        put.expire(options.effective_expiration())?;
        put.commit_async(value, options.metadata).await
    }

    async fn get(&self, key: &Key) -> Result<Option<Bytes>, EngineError> {
        Ok(self.get_sync(key.as_str())?.map(|v| v.value))
    }

    async fn get_with_metadata(&self, key: &Key) -> Result<Option<ValueWithMetadata>, EngineError> {
        self.get_sync(key.as_str())
    }

    async fn metadata(&self, key: &Key) -> Result<Option<Option<Metadata>>, EngineError> {
        self.metadata_sync(key.as_str())
    }

    async fn delete(&self, key: &Key) -> Result<(), EngineError> {
        self.delete_sync(key.as_str())
    }

    async fn list(&self, options: ListOptions) -> Result<ListPage, EngineError> {
        self.list_sync(&options)
    }
}
