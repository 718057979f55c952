//! Bulk write, delete and get on a [`NamespaceHandle`]: many keys under one lock.

use std::collections::BTreeMap;

use kv_types::{BulkResult, PutOptions, Value, ValueWithMetadata};

use super::handle::NamespaceHandle;
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
    /// written and its key is reported in `unsuccessful_keys`; the others are written. Bulk
    /// writes are not subject to the per-key write limit.
    pub fn bulk_put_sync(&self, items: Vec<BulkPut>) -> Result<BulkResult, EngineError> {
        self.limits().check_bulk_items(items.len())?;
        let (mut store, now) = self.store("bulk write")?;
        let mut result = BulkResult::default();
        for item in items {
            match self.prepare(&item.key, item.value, item.options, now, true) {
                Ok(entry) => {
                    store.put(&item.key, entry);
                    result.successful_key_count += 1;
                }
                Err(_) => result.unsuccessful_keys.push(item.key),
            }
        }
        Ok(result)
    }

    /// Deletes many keys at once. More keys than the limit fails the whole request; a key that
    /// is not a valid key name is reported in `unsuccessful_keys`; a missing key counts as
    /// deleted.
    pub fn bulk_delete_sync(&self, keys: Vec<String>) -> Result<BulkResult, EngineError> {
        self.limits().check_bulk_items(keys.len())?;
        let (mut store, _) = self.store("bulk delete")?;
        let mut result = BulkResult::default();
        for key in keys {
            if self.limits().check_key(&key).is_ok() {
                store.delete(&key);
                result.successful_key_count += 1;
            } else {
                result.unsuccessful_keys.push(key);
            }
        }
        Ok(result)
    }

    /// Reads many keys at once: every key asked for, with its entry or `None` when absent or
    /// expired. More keys than the limit, or a key that is not a valid key name, fails the
    /// whole request.
    pub fn bulk_get_sync(
        &self,
        keys: &[String],
    ) -> Result<BTreeMap<String, Option<ValueWithMetadata>>, EngineError> {
        self.limits().check_bulk_get_keys(keys.len())?;
        for key in keys {
            self.limits().check_key(key)?;
        }
        let (store, _) = self.store("bulk get")?;
        Ok(keys
            .iter()
            .map(|k| (k.clone(), store.get(k).map(|e| e.to_value_with_metadata())))
            .collect())
    }
}
