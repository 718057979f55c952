//! [`Entry`]: what one write stores, kept as one immutable, shared value.

use bytes::Bytes;
use kv_types::{KeyInfo, Metadata, ValueWithMetadata};

/// The value, metadata and expiration of one write. It is stored behind an `Arc` and replaced
/// whole by the next write, so a reader always sees the three parts of the same write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The value's bytes.
    pub(crate) value: Bytes,
    /// The metadata of the write, if any.
    pub(crate) metadata: Option<Metadata>,
    /// When it expires, in epoch seconds, if it does.
    pub(crate) expiration: Option<u64>,
}

impl Entry {
    /// The entry as a read with metadata returns it.
    pub(crate) fn to_value_with_metadata(&self) -> ValueWithMetadata {
        ValueWithMetadata {
            value: self.value.clone(),
            metadata: self.metadata.clone(),
            expiration: self.expiration,
        }
    }

    /// The entry as a list returns it, under `name`.
    pub(crate) fn to_key_info(&self, name: &str) -> KeyInfo {
        KeyInfo {
            name: name.to_owned(),
            expiration: self.expiration,
            metadata: self.metadata.clone(),
        }
    }
}
