//! Bulk write, delete and get of any number of items, from an iterator or a stream read lazily,
//! packed to the API's limits (10,000 items or 100 MB per write or delete, 100 keys per get),
//! sent with bounded concurrency, reporting progress after each chunk and every key that failed.
//!
//! The parts: [`pack`] makes request bodies from the input as it is pulled, [`call`] holds the
//! builders ([`BulkWrite`], [`BulkGet`]) and the loop that sends the chunks, [`progress`] counts
//! the outcomes into [`BulkProgress`] events and the final answer.

mod call;
mod pack;
mod progress;

pub use call::{BulkGet, BulkWrite, DEFAULT_BULK_CONCURRENCY};
pub use progress::{BulkFailure, BulkFailureReason, BulkProgress};

use base64::Engine;
use futures_util::stream::{self, Stream};
use kv_types::{BulkGetEntry, BulkWriteItem, Expiration, Metadata, PutOptions, Value};
use serde::de::DeserializeOwned;

use crate::error::{Context, Error};
use crate::namespace::KvNamespace;

/// One item of [`KvNamespace::bulk_put`]: a key, a value and the options of a put.
///
/// ```
/// use kv_client::BulkPutItem;
///
/// let item = BulkPutItem::new("user/1", "Ada").expiration_ttl(3600);
/// assert_eq!(item.key, "user/1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkPutItem {
    /// The key.
    pub key: String,
    /// The value; sent as text when it is UTF-8, else as base64.
    pub value: Value,
    /// Expiration and metadata, as for a single put.
    pub options: PutOptions,
}

impl BulkPutItem {
    /// An item without expiration or metadata.
    pub fn new(key: impl Into<String>, value: impl Into<Value>) -> BulkPutItem {
        BulkPutItem {
            key: key.into(),
            value: value.into(),
            options: PutOptions::new(),
        }
    }

    /// Expires at this time, in epoch seconds.
    pub fn expiration(mut self, epoch_secs: u64) -> Self {
        self.options.expiration = Some(epoch_secs);
        self
    }

    /// Expires this many seconds after the write.
    pub fn expiration_ttl(mut self, secs: u64) -> Self {
        self.options.expiration_ttl = Some(secs);
        self
    }

    /// Stores this metadata with the value.
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.options.metadata = Some(metadata);
        self
    }
}

impl<K: Into<String>, V: Into<Value>> From<(K, V)> for BulkPutItem {
    fn from((key, value): (K, V)) -> Self {
        BulkPutItem::new(key, value)
    }
}

/// What a bulk write or delete did when every key succeeded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkReport {
    /// Keys written or deleted.
    pub succeeded: u64,
    /// Requests sent (the items were split to the API's limits).
    pub requests: u32,
}

/// One value of [`KvNamespace::bulk_get_with_metadata`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkGetValue<M> {
    /// The value as text.
    pub value: String,
    /// The metadata, decoded, if any.
    pub metadata: Option<M>,
    /// When the key expires, in epoch seconds, if it does.
    pub expiration: Option<u64>,
}

/// Serializes one item to its wire form, after validating it.
pub(crate) fn wire_item(
    ns: &KvNamespace,
    ctx: &Context,
    item: BulkPutItem,
) -> Result<Vec<u8>, Error> {
    let inner = ns.inner();
    let limits = &inner.limits;
    let ctx = ctx.clone().with_key(item.key.as_str());
    let key = ns.key(&ctx, &item.key)?;
    let invalid = |e| Error::validation(&ctx, e);
    limits.check_value_len(item.value.len()).map_err(invalid)?;
    item.options.check(limits).map_err(invalid)?;
    let (expiration, expiration_ttl) = match item.options.effective_expiration() {
        Some(Expiration::Ttl(ttl)) => (None, Some(ttl)),
        Some(Expiration::At(at)) => {
            limits
                .check_expiration(at, inner.now_epoch())
                .map_err(invalid)?;
            (Some(at), None)
        }
        None => (None, None),
    };
    let (value, base64) = match std::str::from_utf8(item.value.as_bytes()) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (
            base64::engine::general_purpose::STANDARD.encode(item.value.as_bytes()),
            true,
        ),
    };
    let wire = BulkWriteItem {
        key: key.into_string(),
        value,
        base64,
        expiration,
        expiration_ttl,
        metadata: item.options.metadata,
    };
    serde_json::to_vec(&wire).map_err(|e| Error::encode(&ctx, "the item", e))
}

impl KvNamespace {
    /// Writes any number of items, packed into requests within the API's limits (10,000 items
    /// and 100 MB each) and sent [`DEFAULT_BULK_CONCURRENCY`] at a time; returns a
    /// [`BulkWrite`] to set the concurrency and a progress callback, await it to send. The
    /// iterator is read lazily. `Ok` when every key was written; otherwise
    /// [`Error::BulkIncomplete`] listing every key that was not (invalid, reported by the
    /// service, or part of a request that failed after its retries).
    pub fn bulk_put<'a, I>(&self, items: I) -> BulkWrite<'a>
    where
        I: IntoIterator + 'a,
        I::IntoIter: Send + 'a,
        I::Item: Into<BulkPutItem>,
    {
        self.bulk_put_stream(stream::iter(items.into_iter().map(Into::into)))
    }

    /// [`bulk_put`](Self::bulk_put) of a stream of items (items read from a file or a channel
    /// as they are needed).
    pub fn bulk_put_stream<'a>(
        &self,
        items: impl Stream<Item = BulkPutItem> + Send + 'a,
    ) -> BulkWrite<'a> {
        BulkWrite::put(self, Box::pin(items))
    }

    /// Deletes any number of keys, in requests within the API's limits; see
    /// [`bulk_put`](Self::bulk_put). Deleting a missing key succeeds.
    pub fn bulk_delete<'a, I>(&self, keys: I) -> BulkWrite<'a>
    where
        I: IntoIterator + 'a,
        I::IntoIter: Send + 'a,
        I::Item: AsRef<str>,
    {
        self.bulk_delete_stream(stream::iter(
            keys.into_iter().map(|k| k.as_ref().to_owned()),
        ))
    }

    /// [`bulk_delete`](Self::bulk_delete) of a stream of keys.
    pub fn bulk_delete_stream<'a>(
        &self,
        keys: impl Stream<Item = String> + Send + 'a,
    ) -> BulkWrite<'a> {
        BulkWrite::delete(self, Box::pin(keys))
    }

    /// Reads any number of keys as text, 100 per request; returns a [`BulkGet`]: await it for a
    /// map of every key to its value (`None` when missing), or take the values chunk by chunk
    /// with [`BulkGet::for_each`]. Values are the service's text form (use [`get`](Self::get)
    /// for binary values).
    pub fn bulk_get<'a, I>(&self, keys: I) -> BulkGet<'a, String>
    where
        I: IntoIterator + 'a,
        I::IntoIter: Send + 'a,
        I::Item: AsRef<str>,
    {
        self.bulk_get_stream(stream::iter(
            keys.into_iter().map(|k| k.as_ref().to_owned()),
        ))
    }

    /// [`bulk_get`](Self::bulk_get) of a stream of keys.
    pub fn bulk_get_stream<'a>(
        &self,
        keys: impl Stream<Item = String> + Send + 'a,
    ) -> BulkGet<'a, String> {
        BulkGet::new(self, Box::pin(keys))
    }

    /// Reads any number of keys as text with their metadata (decoded into `M`) and expiration,
    /// 100 per request: [`bulk_get`](Self::bulk_get) with [`BulkGet::with_metadata`]. Each
    /// value comes with the metadata of the same write: the service returns both from one read.
    pub fn bulk_get_with_metadata<'a, M, I>(&self, keys: I) -> BulkGet<'a, BulkGetValue<M>>
    where
        M: DeserializeOwned,
        I: IntoIterator + 'a,
        I::IntoIter: Send + 'a,
        I::Item: AsRef<str>,
    {
        self.bulk_get(keys).with_metadata::<M>()
    }
}

/// One value of a bulk get with metadata, from the service's entry.
pub(crate) fn entry_of<M: DeserializeOwned>(
    ctx: &Context,
    key: &str,
    raw: serde_json::Value,
) -> Result<BulkGetValue<M>, Error> {
    let key_ctx = || ctx.clone().with_key(key);
    let entry: BulkGetEntry = serde_json::from_value(raw)
        .map_err(|e| Error::decode(&key_ctx(), 200, format!("entry: {e}")))?;
    let metadata = match entry.metadata {
        None => None,
        Some(m) => Some(
            m.decode::<M>()
                .map_err(|e| Error::decode(&key_ctx(), 200, format!("metadata: {e}")))?,
        ),
    };
    Ok(BulkGetValue {
        value: json_text(entry.value),
        metadata,
        expiration: entry.expiration,
    })
}

/// The text of a bulk-get value: a JSON string as its content, anything else as its JSON text.
pub(crate) fn json_text(value: serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}
