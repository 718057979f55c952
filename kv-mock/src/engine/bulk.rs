//! Bulk write, delete and get on a [`NamespaceHandle`]: many keys, one atomic batch.

use std::collections::BTreeMap;

use kv_types::{BulkResult, PutOptions, Value, ValueWithMetadata};

use super::handle::NamespaceHandle;
use super::storage::Write;
use crate::error::EngineError;

/// One item of a bulk write, already decoded from the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkPut {
    /// The key name (validated by the write).
    pub key: String,
    /// The value.
    pub value: Value,
    /// Expiration and metadata.
    pub options: PutOptions,
}

impl NamespaceHandle {
    /// Writes many keys at once, in order (a key given twice ends with its last item).
    ///
    /// More items than the limit fails the whole request. Each item is then validated on its
    /// own (key, value size, metadata size, expiration): an item that breaks a rule is not
    /// written and its key is reported in `unsuccessful_keys`; the others are written together,
    /// atomically. Bulk writes are not subject to the per-key write limit.
    pub fn bulk_put_sync(&self, items: Vec<BulkPut>) -> Result<BulkResult, EngineError> {
        self.bulk_put_items(items.into_iter().map(Ok))
    }

    /// [`bulk_put_sync`](Self::bulk_put_sync) of the items of a request as the HTTP face decoded
    /// them: `Err(key)` for an item it could not decode (bad base64, metadata that is not JSON,
    /// an expiration that is not a number), which counts toward the item limit and is reported
    /// unsuccessful, in its place.
    pub(crate) fn bulk_put_items(
        &self,
        items: impl ExactSizeIterator<Item = Result<BulkPut, String>>,
    ) -> Result<BulkResult, EngineError> {
        let limits = self.limits();
        limits.check_bulk_items(items.len())?;
        let now = self.now();
        let mut result = BulkResult::default();
        let mut batch = Vec::with_capacity(items.len());
        for item in items {
            let BulkPut {
                key,
                value,
                options,
            } = match item {
                Ok(put) => put,
                Err(key) => {
                    result.unsuccessful_keys.push(key);
                    continue;
                }
            };
            match self.checked_entry(&key, value, options, now, false) {
                Ok(entry) => batch.push(Write::Put { key, entry }),
                Err(_) => result.unsuccessful_keys.push(key),
            }
        }
        result.successful_key_count = batch.len() as u64;
        self.storage()
            .write(batch, now)
            .map_err(|e| e.during("bulk write"))?;
        Ok(result)
    }

    /// Deletes many keys at once, atomically. More keys than the limit fails the whole request; a
    /// key that is not a valid key name is reported in `unsuccessful_keys`; a missing key counts
    /// as deleted.
    pub fn bulk_delete_sync(&self, keys: Vec<String>) -> Result<BulkResult, EngineError> {
        let limits = self.limits();
        limits.check_bulk_items(keys.len())?;
        let mut result = BulkResult::default();
        let mut batch = Vec::with_capacity(keys.len());
        for key in keys {
            if limits.check_key(&key).is_ok() {
                batch.push(Write::Delete { key });
            } else {
                result.unsuccessful_keys.push(key);
            }
        }
        result.successful_key_count = batch.len() as u64;
        self.storage()
            .write(batch, self.now())
            .map_err(|e| e.during("bulk delete"))?;
        Ok(result)
    }

    /// Reads many keys at once: every key asked for, with its entry or `None` when absent or
    /// expired. More keys than the limit, or a key that is not a valid key name, fails the
    /// whole request.
    pub fn bulk_get_sync(
        &self,
        keys: &[String],
    ) -> Result<BTreeMap<String, Option<ValueWithMetadata>>, EngineError> {
        let limits = self.limits();
        limits.check_bulk_get_keys(keys.len())?;
        for key in keys {
            limits.check_key(key)?;
        }
        let entries = self
            .storage()
            .get_many(keys, self.now())
            .map_err(|e| e.during("bulk get"))?;
        Ok(keys
            .iter()
            .zip(entries)
            .map(|(k, entry)| (k.clone(), entry.map(|e| e.to_value_with_metadata())))
            .collect())
    }
}
