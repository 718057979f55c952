//! Bulk write, delete and get of any number of items, split to the API's limits (10,000 items or
//! 100 MB per write or delete, 100 keys per get), reporting every key that failed.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use bytes::Bytes;
use http::Method;
use kv_types::{
    BulkGetEntry, BulkGetRequest, BulkGetResult, BulkGetType, BulkGetWithMetadataResult,
    BulkResult, BulkWriteItem, ErrorKind, Expiration, Limits, Metadata, PutOptions, Value,
};
use reqwest::Url;
use serde::de::DeserializeOwned;

use crate::classify;
use crate::error::{Context, Error, Operation};
use crate::execute::execute;
use crate::namespace::KvNamespace;
use crate::reading::ResultOf;
use crate::request::Request;
use crate::trace::{in_span, op_span};

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

/// One request of a split bulk write or delete.
struct Chunk {
    body: Bytes,
    keys: Vec<String>,
}

/// Packs serialized items into JSON arrays within the item and byte limits.
struct Packer {
    max_items: usize,
    max_bytes: usize,
    chunks: Vec<Chunk>,
    body: Vec<u8>,
    keys: Vec<String>,
}

impl Packer {
    fn new(limits: &Limits) -> Packer {
        Packer {
            max_items: limits.max_bulk_items.max(1),
            max_bytes: limits.max_bulk_bytes,
            chunks: Vec::new(),
            body: Vec::new(),
            keys: Vec::new(),
        }
    }

    /// Adds one serialized item; `Err(len)` when the item alone is over the byte limit.
    fn push(&mut self, key: String, item: &[u8]) -> Result<(), usize> {
        let alone = item.len() + 2;
        if alone > self.max_bytes {
            return Err(alone);
        }
        let with = self.body.len() + item.len() + 2; // a comma (or `[`) and the closing `]`
        if !self.keys.is_empty() && (self.keys.len() >= self.max_items || with > self.max_bytes) {
            self.flush();
        }
        self.body
            .push(if self.keys.is_empty() { b'[' } else { b',' });
        self.body.extend_from_slice(item);
        self.keys.push(key);
        Ok(())
    }

    fn flush(&mut self) {
        if self.keys.is_empty() {
            return;
        }
        let mut body = std::mem::take(&mut self.body);
        body.push(b']');
        self.chunks.push(Chunk {
            body: Bytes::from(body),
            keys: std::mem::take(&mut self.keys),
        });
    }

    fn finish(mut self) -> Vec<Chunk> {
        self.flush();
        self.chunks
    }
}

/// Serializes one item to its wire form, after validating it.
fn wire_item(
    ns: &KvNamespace,
    ctx: &Context,
    item: BulkPutItem,
) -> Result<(String, Vec<u8>), Error> {
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
    let bytes = serde_json::to_vec(&wire).map_err(|e| Error::encode(&ctx, "the item", e))?;
    Ok((wire.key, bytes))
}

/// Whether an error makes every further request of the same bulk call pointless.
fn fails_everything(e: &Error) -> bool {
    matches!(
        classify::kind(e),
        ErrorKind::Unauthorized | ErrorKind::NotFound
    )
}

impl KvNamespace {
    /// Writes any number of items, split into requests within the API's limits (10,000 items and
    /// 100 MB each). Every item is validated before anything is sent. `Ok` when every key was
    /// written; otherwise [`Error::BulkIncomplete`] listing every key that was not (reported by
    /// the service, or part of a request that failed after its retries).
    pub async fn bulk_put<I>(&self, items: I) -> Result<BulkReport, Error>
    where
        I: IntoIterator,
        I::Item: Into<BulkPutItem>,
    {
        let ctx = self.ctx(Operation::BulkPut);
        in_span(op_span(&ctx), async {
            let mut packer = Packer::new(&self.inner().limits);
            for item in items {
                let (key, bytes) = wire_item(self, &ctx, item.into())?;
                packer
                    .push(key.clone(), &bytes)
                    .map_err(|len| self.item_too_large(&ctx.clone().with_key(key), len))?;
            }
            let url = self.inner().endpoints.bulk(self.id());
            self.send_chunks(&ctx, Method::PUT, url, packer.finish())
                .await
        })
        .await
    }

    /// Deletes any number of keys, split into requests within the API's limits. Every key is
    /// validated before anything is sent. Deleting a missing key succeeds. Failures are reported
    /// as for [`bulk_put`](Self::bulk_put).
    pub async fn bulk_delete<I>(&self, keys: I) -> Result<BulkReport, Error>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let ctx = self.ctx(Operation::BulkDelete);
        in_span(op_span(&ctx), async {
            let mut packer = Packer::new(&self.inner().limits);
            for key in keys {
                let key_ctx = ctx.clone().with_key(key.as_ref());
                let key = self.key(&key_ctx, key.as_ref())?;
                let bytes = serde_json::to_vec(key.as_str())
                    .map_err(|e| Error::encode(&key_ctx, "the key", e))?;
                packer
                    .push(key.into_string(), &bytes)
                    .map_err(|len| self.item_too_large(&key_ctx, len))?;
            }
            let url = self.inner().endpoints.bulk_delete(self.id());
            self.send_chunks(&ctx, Method::POST, url, packer.finish())
                .await
        })
        .await
    }

    /// One item too large to fit in any bulk request: a validation error naming its key.
    fn item_too_large(&self, ctx: &Context, len: usize) -> Error {
        Error::validation(
            ctx,
            kv_types::ValidationError::BulkTooLarge {
                len,
                max: self.inner().limits.max_bulk_bytes,
            },
        )
    }

    async fn send_chunks(
        &self,
        ctx: &Context,
        method: Method,
        url: Url,
        chunks: Vec<Chunk>,
    ) -> Result<BulkReport, Error> {
        let inner = self.inner();
        let mut report = BulkReport::default();
        let mut failed_keys = Vec::new();
        let mut refused_keys = Vec::new();
        let mut errors = Vec::new();
        let mut chunks = chunks.into_iter();
        for chunk in chunks.by_ref() {
            report.requests += 1;
            tracing::debug!(
                items = chunk.keys.len(),
                bytes = chunk.body.len(),
                "bulk request"
            );
            let request = Request::json(method.clone(), url.clone(), chunk.body);
            let sent = execute(inner, ctx, &request, &ResultOf::<BulkResult>::new()).await;
            match sent {
                Ok(result) => {
                    report.succeeded += result.successful_key_count;
                    failed_keys.extend(result.unsuccessful_keys.iter().cloned());
                    refused_keys.extend(result.unsuccessful_keys);
                }
                Err(e) => {
                    failed_keys.extend(chunk.keys);
                    let stop = fails_everything(&e);
                    errors.push(e);
                    if stop {
                        break;
                    }
                }
            }
        }
        for chunk in chunks {
            failed_keys.extend(chunk.keys);
        }
        if failed_keys.is_empty() && errors.is_empty() {
            Ok(report)
        } else {
            tracing::warn!(failed = failed_keys.len(), "bulk operation incomplete");
            Err(Error::BulkIncomplete {
                ctx: ctx.boxed(),
                succeeded: report.succeeded,
                failed_keys,
                refused_keys,
                errors,
            })
        }
    }

    /// Reads any number of keys as text, 100 per request. Missing keys map to `None`. Values are
    /// the service's text form (use [`get`](Self::get) for binary values).
    pub async fn bulk_get<I>(&self, keys: I) -> Result<BTreeMap<String, Option<String>>, Error>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let ctx = self.ctx(Operation::BulkGet);
        in_span(op_span(&ctx), async {
            let found = self
                .bulk_get_chunks::<BulkGetResult, _>(&ctx, keys, false, |r| r.values)
                .await?;
            Ok(found
                .into_iter()
                .map(|(k, v)| (k, v.map(json_text)))
                .collect())
        })
        .await
    }

    /// Reads any number of keys as text with their metadata (decoded into `M`) and expiration,
    /// 100 per request. Each value comes with the metadata of the same write: the service
    /// returns both from one read.
    pub async fn bulk_get_with_metadata<M, I>(
        &self,
        keys: I,
    ) -> Result<BTreeMap<String, Option<BulkGetValue<M>>>, Error>
    where
        M: DeserializeOwned,
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let ctx = self.ctx(Operation::BulkGet);
        in_span(op_span(&ctx), async {
            let found = self
                .bulk_get_chunks::<BulkGetWithMetadataResult, _>(&ctx, keys, true, |r| r.values)
                .await?;
            let mut out = BTreeMap::new();
            for (key, entry) in found {
                let value = match entry {
                    None => None,
                    Some(BulkGetEntry {
                        value,
                        metadata,
                        expiration,
                    }) => {
                        let metadata = match metadata {
                            None => None,
                            Some(m) => Some(m.decode::<M>().map_err(|e| {
                                Error::decode(
                                    &ctx.clone().with_key(key.as_str()),
                                    200,
                                    format!("metadata: {e}"),
                                )
                            })?),
                        };
                        Some(BulkGetValue {
                            value: json_text(value),
                            metadata,
                            expiration,
                        })
                    }
                };
                out.insert(key, value);
            }
            Ok(out)
        })
        .await
    }

    async fn bulk_get_chunks<R, V>(
        &self,
        ctx: &Context,
        keys: impl IntoIterator<Item = impl AsRef<str>>,
        with_metadata: bool,
        values: impl Fn(R) -> BTreeMap<String, Option<V>>,
    ) -> Result<BTreeMap<String, Option<V>>, Error>
    where
        R: DeserializeOwned + Send,
    {
        let inner = self.inner();
        let mut unique = BTreeSet::new();
        for key in keys {
            let key_ctx = ctx.clone().with_key(key.as_ref());
            unique.insert(self.key(&key_ctx, key.as_ref())?.into_string());
        }
        let unique: Vec<String> = unique.into_iter().collect();
        let url = inner.endpoints.bulk_get(self.id());
        let mut out = BTreeMap::new();
        let mut failed_keys = Vec::new();
        let mut errors = Vec::new();
        let per_request = inner.limits.max_bulk_get_keys.max(1);
        let mut chunks = unique.chunks(per_request);
        for chunk in chunks.by_ref() {
            let body = BulkGetRequest {
                keys: chunk.to_vec(),
                value_type: Some(BulkGetType::Text),
                with_metadata,
            };
            let body = serde_json::to_vec(&body).map_err(|e| Error::encode(ctx, "the keys", e))?;
            let request = Request::json(Method::POST, url.clone(), body);
            let sent = execute(inner, ctx, &request, &ResultOf::<R>::new()).await;
            match sent {
                Ok(result) => {
                    let mut got = values(result);
                    for key in chunk {
                        out.insert(key.clone(), got.remove(key).flatten());
                    }
                }
                Err(e) => {
                    failed_keys.extend(chunk.iter().cloned());
                    let stop = fails_everything(&e);
                    errors.push(e);
                    if stop {
                        break;
                    }
                }
            }
        }
        for chunk in chunks {
            failed_keys.extend(chunk.iter().cloned());
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(Error::BulkIncomplete {
                ctx: ctx.boxed(),
                succeeded: out.len() as u64,
                failed_keys,
                refused_keys: Vec::new(),
                errors,
            })
        }
    }
}

/// The text of a bulk-get value: a JSON string as its content, anything else as its JSON text.
fn json_text(value: serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(items: usize, bytes: usize) -> Limits {
        Limits {
            max_bulk_items: items,
            max_bulk_bytes: bytes,
            ..Limits::PRODUCTION
        }
    }

    #[test]
    fn packs_by_count() {
        let mut p = Packer::new(&limits(2, 1000));
        for k in ["a", "b", "c"] {
            p.push(k.into(), format!("\"{k}\"").as_bytes())
                .expect("fits");
        }
        let chunks = p.finish();
        assert_eq!(chunks.len(), 2);
        assert_eq!(&chunks[0].body[..], b"[\"a\",\"b\"]");
        assert_eq!(&chunks[1].body[..], b"[\"c\"]");
        assert_eq!(chunks[1].keys, vec!["c"]);
    }

    #[test]
    fn packs_by_bytes_exactly() {
        // Each item is 3 bytes; [x,y] is 2 + 3 + 1 + 3 = 9 bytes.
        let mut p = Packer::new(&limits(100, 9));
        for k in ["a", "b", "c"] {
            p.push(k.into(), format!("\"{k}\"").as_bytes())
                .expect("fits");
        }
        let chunks = p.finish();
        assert_eq!(chunks.len(), 2);
        assert!(chunks.iter().all(|c| c.body.len() <= 9));
        assert_eq!(chunks[0].body.len(), 9);
        assert!(
            chunks
                .iter()
                .all(|c| serde_json::from_slice::<Vec<String>>(&c.body).is_ok())
        );
    }

    #[test]
    fn an_item_alone_over_the_limit_is_refused() {
        let mut p = Packer::new(&limits(100, 4));
        assert_eq!(p.push("k".into(), b"\"abc\""), Err(7));
        assert!(p.finish().is_empty());
    }
}
