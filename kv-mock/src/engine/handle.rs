//! [`NamespaceHandle`]: one namespace of an engine, as a [`KvStore`] and with synchronous
//! operations for the HTTP face and for tests.

use std::sync::Arc;
use std::sync::MutexGuard;
use std::sync::atomic::Ordering;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use kv_types::{
    Key, KvStore, ListOptions, ListPage, Metadata, PutOptions, ValidationError, Value,
    ValueWithMetadata,
};

use super::entry::Entry;
use super::namespace_store::NamespaceStore;
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
            .finish()
    }
}

impl NamespaceHandle {
    pub(crate) fn new(engine: Arc<EngineShared>, ns: Arc<NamespaceState>) -> NamespaceHandle {
        NamespaceHandle { engine, ns }
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

    /// The store, locked and swept of expired entries, or `NamespaceNotFound` for `op`.
    pub(crate) fn store(
        &self,
        op: &'static str,
    ) -> Result<(MutexGuard<'_, NamespaceStore>, u64), EngineError> {
        if self.is_deleted() {
            return Err(EngineError::NamespaceNotFound { op });
        }
        let now = self.engine.clock.now_secs();
        let mut store = self.ns.lock();
        // Checked again under the lock: a delete clears the store under it.
        if self.is_deleted() {
            return Err(EngineError::NamespaceNotFound { op });
        }
        store.sweep(now);
        Ok((store, now))
    }

    pub(crate) fn limits(&self) -> &kv_types::Limits {
        &self.engine.limits
    }

    /// Validates a write at `now` and builds its entry: key, value size, metadata size,
    /// expiration (`check_min_ttl` false skips the minimum-TTL rule, for seeding).
    pub(crate) fn prepare(
        &self,
        key: &str,
        value: Value,
        options: PutOptions,
        now: u64,
        check_min_ttl: bool,
    ) -> Result<Entry, ValidationError> {
        let limits = &self.engine.limits;
        limits.check_key(key)?;
        limits.check_value_len(value.len())?;
        if let Some(m) = &options.metadata {
            limits.check_metadata_len(m.len())?;
        }
        let expiration = match options.effective_expiration() {
            None => None,
            Some(exp) if check_min_ttl => Some(exp.resolve(now, limits)?),
            Some(kv_types::Expiration::At(at)) => Some(at),
            Some(kv_types::Expiration::Ttl(ttl)) => Some(now.saturating_add(ttl)),
        };
        Ok(Entry {
            value: value.into_bytes(),
            metadata: options.metadata,
            expiration,
        })
    }

    /// Writes `value` under `key`, replacing value, metadata and expiration together. Enforces
    /// every limit, and the per-key write limit when it is on ([`EngineError::RateLimited`]).
    pub fn put_sync(
        &self,
        key: &str,
        value: Value,
        options: PutOptions,
    ) -> Result<(), EngineError> {
        let (mut store, now) = self.store("put")?;
        let entry = self.prepare(key, value, options, now, true)?;
        if self.engine.rate_limit.load(Ordering::SeqCst)
            && !store.admit_write(key, self.engine.clock.now_millis(), Instant::now())
        {
            return Err(EngineError::RateLimited);
        }
        store.put(key, entry);
        Ok(())
    }

    /// Writes directly, skipping the per-key write limit and the minimum-TTL rule.
    pub(crate) fn seed(
        &self,
        key: &str,
        value: Value,
        options: PutOptions,
    ) -> Result<(), EngineError> {
        let (mut store, now) = self.store("put")?;
        let entry = self.prepare(key, value, options, now, false)?;
        store.put(key, entry);
        Ok(())
    }

    /// Reads `key` with the metadata and expiration of the same write; `Ok(None)` when absent or
    /// expired.
    pub fn get_sync(&self, key: &str) -> Result<Option<ValueWithMetadata>, EngineError> {
        self.engine.limits.check_key(key)?;
        let (store, _) = self.store("get")?;
        Ok(store.get(key).map(|e| e.to_value_with_metadata()))
    }

    /// Reads only the metadata of `key`: `Ok(None)` when absent, `Ok(Some(None))` when it has
    /// none.
    pub fn metadata_sync(&self, key: &str) -> Result<Option<Option<Metadata>>, EngineError> {
        self.engine.limits.check_key(key)?;
        let (store, _) = self.store("get metadata")?;
        Ok(store.get(key).map(|e| e.metadata.clone()))
    }

    /// Deletes `key`; deleting a missing key succeeds. Deletes are not subject to the per-key
    /// write limit.
    pub fn delete_sync(&self, key: &str) -> Result<(), EngineError> {
        self.engine.limits.check_key(key)?;
        let (mut store, _) = self.store("delete")?;
        store.delete(key);
        Ok(())
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
        let (store, _) = self.store("list keys")?;
        let range = store.range(prefix, after.as_deref(), limit);
        drop(store);
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
        let (store, _) = self.store("get").ok()?;
        store.get(key).map(|e| e.to_value_with_metadata())
    }

    /// What the namespace holds right now, without sweeping expired entries first.
    pub fn stats(&self) -> NamespaceStats {
        let (entries, expiring, rate_limited_keys) = self.ns.lock().counts();
        NamespaceStats {
            entries,
            expiring,
            rate_limited_keys,
        }
    }
}

#[async_trait]
impl KvStore for NamespaceHandle {
    type Error = EngineError;

    async fn put(&self, key: &Key, value: Value, options: PutOptions) -> Result<(), EngineError> {
        self.put_sync(key.as_str(), value, options)
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
