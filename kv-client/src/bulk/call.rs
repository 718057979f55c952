//! The bulk calls as builders, [`BulkWrite`] (bulk put and delete) and [`BulkGet`], with their
//! concurrency and progress callback; and [`drive`], the one loop that sends the chunks of
//! either: at most `concurrency` requests at once, each through the client's retry path (so
//! inside its retry budget and pacing), every outcome counted by the [`Tally`] as it comes.

use std::collections::BTreeMap;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures_util::stream::{Stream, StreamExt};
use http::Method;
use kv_types::{BulkGetResult, BulkResult};
use serde::de::DeserializeOwned;

use super::pack::{self, Chunk, Frame, Numbered, Packer};
use super::progress::{OnProgress, Outcome, Tally, fails_everything};
use super::{BulkGetValue, BulkPutItem, BulkReport, entry_of, json_text, wire_item};
use crate::BulkProgress;
use crate::error::{Context, Error, Operation};
use crate::execute::execute;
use crate::namespace::KvNamespace;
use crate::reading::ResultOf;
use crate::request::Request;
use crate::trace::{in_span, op_span};

/// Requests a bulk call has in flight at once unless told otherwise
/// ([`BulkWrite::concurrency`], [`BulkGet::concurrency`]). Four keeps a large import about four
/// times faster than one request after another while holding at most four chunks (up to 400 MB
/// of bulk-write bodies at the API's limits) besides the one being packed.
pub const DEFAULT_BULK_CONCURRENCY: usize = 4;

/// A boxed stream of a bulk call's input.
type Items<'a, T> = Pin<Box<dyn Stream<Item = T> + Send + 'a>>;

/// A boxed future of a bulk call.
type BulkFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// What a [`BulkWrite`] writes.
enum WriteItems<'a> {
    Put(Items<'a, BulkPutItem>),
    Delete(Items<'a, String>),
}

/// A bulk write or delete being set up: choose the concurrency and a progress callback, then
/// `.await` it. Made by [`KvNamespace::bulk_put`], [`bulk_put_stream`](KvNamespace::bulk_put_stream),
/// [`bulk_delete`](KvNamespace::bulk_delete) and [`bulk_delete_stream`](KvNamespace::bulk_delete_stream).
///
/// The input is read lazily: the next item is pulled only when the chunk being packed needs it,
/// so memory holds the chunks in flight and the one being filled, whatever the input's length.
/// An invalid item (a bad key, TTL, metadata, a value too large) is not sent; it is reported
/// with its 0-based input index in the progress event of its chunk and listed in the final
/// [`Error::BulkIncomplete`], and the other items go on. Chunks finish in any order; each
/// finished chunk is one [`BulkProgress`] event.
///
/// ```no_run
/// # async fn demo(kv: kv_client::KvNamespace) -> Result<(), kv_client::Error> {
/// use kv_client::BulkPutItem;
///
/// let items = (0..50_000).map(|i| BulkPutItem::new(format!("user/{i}"), "x"));
/// let report = kv
///     .bulk_put(items)
///     .concurrency(8)
///     .on_progress(|p| eprintln!("{} done, {} failed", p.items_done, p.items_failed))
///     .await?;
/// assert_eq!(report.succeeded, 50_000);
/// # Ok(()) }
/// ```
#[must_use = "a bulk call does nothing until awaited"]
pub struct BulkWrite<'a> {
    ns: KvNamespace,
    items: WriteItems<'a>,
    concurrency: usize,
    on_progress: Option<OnProgress<'a>>,
}

impl fmt::Debug for BulkWrite<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.items {
            WriteItems::Put(_) => Operation::BulkPut,
            WriteItems::Delete(_) => Operation::BulkDelete,
        };
        f.debug_struct("BulkWrite")
            .field("op", &op)
            .field("namespace", &self.ns.id())
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl<'a> BulkWrite<'a> {
    fn new(ns: &KvNamespace, items: WriteItems<'a>) -> BulkWrite<'a> {
        BulkWrite {
            ns: ns.clone(),
            items,
            concurrency: DEFAULT_BULK_CONCURRENCY,
            on_progress: None,
        }
    }

    pub(crate) fn put(ns: &KvNamespace, items: Items<'a, BulkPutItem>) -> BulkWrite<'a> {
        BulkWrite::new(ns, WriteItems::Put(items))
    }

    pub(crate) fn delete(ns: &KvNamespace, keys: Items<'a, String>) -> BulkWrite<'a> {
        BulkWrite::new(ns, WriteItems::Delete(keys))
    }

    /// At most `n` requests in flight at once (at least 1); default
    /// [`DEFAULT_BULK_CONCURRENCY`].
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Called after each chunk with where the call stands. It runs on the task awaiting the
    /// call, between requests: keep it quick (update a progress bar, write a line).
    pub fn on_progress(mut self, f: impl FnMut(&BulkProgress) + Send + 'a) -> Self {
        self.on_progress = Some(Box::new(f));
        self
    }

    /// Sends the chunks; the same as awaiting the builder. `Ok` when every item was written or
    /// deleted; otherwise [`Error::BulkIncomplete`] listing every key that was not.
    pub async fn send(self) -> Result<BulkReport, Error> {
        let BulkWrite {
            ns,
            items,
            concurrency,
            on_progress,
        } = self;
        let (op, method) = match items {
            WriteItems::Put(_) => (Operation::BulkPut, Method::PUT),
            WriteItems::Delete(_) => (Operation::BulkDelete, Method::POST),
        };
        let ctx = ns.ctx(op);
        in_span(op_span(&ctx), async {
            let inner = ns.inner();
            let limits = inner.limits;
            let (numbered, url): (Items<'_, Numbered>, _) = match items {
                WriteItems::Put(items) => (
                    Box::pin(items.enumerate().map(|(index, item)| {
                        let key = item.key.clone();
                        let wire = wire_item(&ns, &ctx, item);
                        Numbered {
                            index: index as u64,
                            key,
                            wire,
                        }
                    })),
                    inner.endpoints.bulk(ns.id()),
                ),
                WriteItems::Delete(keys) => (
                    Box::pin(
                        keys.enumerate()
                            .map(|(index, key)| numbered_key(&ns, &ctx, index, key)),
                    ),
                    inner.endpoints.bulk_delete(ns.id()),
                ),
            };
            let packer = Packer::new(
                limits.max_bulk_items,
                limits.max_bulk_bytes,
                Frame::array(),
                false,
            );
            let chunks = pack::chunks(numbered, packer, |key: &str, rule| {
                Error::validation(&ctx.clone().with_key(key), rule)
            });
            let mut tally = Tally::new(on_progress);
            let send = |body: Bytes| {
                let request = Request::json(method.clone(), url.clone(), body);
                let ctx = &ctx;
                async move { execute(inner, ctx, &request, &ResultOf::<BulkResult>::new()).await }
            };
            let answer = |_: &Chunk, result: BulkResult| Outcome::Answered {
                done: result.successful_key_count,
                refused: result.unsuccessful_keys,
            };
            drive(&ctx, chunks, concurrency, &mut tally, send, answer).await;
            tally.finish(&ctx)
        })
        .await
    }
}

impl<'a> IntoFuture for BulkWrite<'a> {
    type Output = Result<BulkReport, Error>;
    type IntoFuture = BulkFuture<'a, BulkReport>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// One key of a bulk delete or get, validated and in its wire form (a JSON string).
fn numbered_key(ns: &KvNamespace, ctx: &Context, index: usize, key: String) -> Numbered {
    let key_ctx = ctx.clone().with_key(key.as_str());
    let wire = ns.key(&key_ctx, key.as_str()).and_then(|k| {
        serde_json::to_vec(k.as_str()).map_err(|e| Error::encode(&key_ctx, "the key", e))
    });
    Numbered {
        index: index as u64,
        key,
        wire,
    }
}

/// How a [`BulkGet`] turns one key's answer into its value.
type Convert<V> = fn(&Context, &str, serde_json::Value) -> Result<V, Error>;

/// A bulk read being set up: choose the concurrency and a progress callback, then `.await` it for
/// every value in one map, or take the values chunk by chunk with [`for_each`](Self::for_each)
/// (bounded memory for any number of keys). Made by [`KvNamespace::bulk_get`] and
/// [`bulk_get_stream`](KvNamespace::bulk_get_stream); [`with_metadata`](Self::with_metadata)
/// reads each value with its metadata and expiration.
///
/// Keys are read 100 per request (the API's limit); a key given twice within one chunk is asked
/// once. An invalid key is reported by index and the others go on, as for [`BulkWrite`].
///
/// ```no_run
/// # async fn demo(kv: kv_client::KvNamespace) -> Result<(), kv_client::Error> {
/// let keys = (0..10_000).map(|i| format!("user/{i}"));
/// kv.bulk_get(keys)
///     .for_each(|values| {
///         for (key, value) in values {
///             println!("{key}: {value:?}");
///         }
///     })
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a bulk call does nothing until awaited"]
pub struct BulkGet<'a, V> {
    ns: KvNamespace,
    keys: Items<'a, String>,
    with_metadata: bool,
    convert: Convert<V>,
    concurrency: usize,
    on_progress: Option<OnProgress<'a>>,
}

impl<V> fmt::Debug for BulkGet<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkGet")
            .field("namespace", &self.ns.id())
            .field("with_metadata", &self.with_metadata)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl<'a> BulkGet<'a, String> {
    pub(crate) fn new(ns: &KvNamespace, keys: Items<'a, String>) -> BulkGet<'a, String> {
        BulkGet {
            ns: ns.clone(),
            keys,
            with_metadata: false,
            convert: |_, _, value| Ok(json_text(value)),
            concurrency: DEFAULT_BULK_CONCURRENCY,
            on_progress: None,
        }
    }

    /// Reads each value with its metadata (decoded into `M`) and expiration, from the same read.
    pub fn with_metadata<M: DeserializeOwned>(self) -> BulkGet<'a, BulkGetValue<M>> {
        BulkGet {
            ns: self.ns,
            keys: self.keys,
            with_metadata: true,
            convert: entry_of::<M>,
            concurrency: self.concurrency,
            on_progress: self.on_progress,
        }
    }
}

impl<'a, V: Send + 'a> BulkGet<'a, V> {
    /// At most `n` requests in flight at once (at least 1); default
    /// [`DEFAULT_BULK_CONCURRENCY`].
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Called after each chunk with where the call stands (see [`BulkWrite::on_progress`]).
    pub fn on_progress(mut self, f: impl FnMut(&BulkProgress) + Send + 'a) -> Self {
        self.on_progress = Some(Box::new(f));
        self
    }

    /// Hands the values of each chunk to `f` as the chunk is answered (missing keys map to
    /// `None`), without keeping them. `Ok` when every key was read; otherwise
    /// [`Error::BulkIncomplete`] listing the keys that were not (the values of the others were
    /// already handed over).
    pub async fn for_each(
        self,
        mut f: impl FnMut(BTreeMap<String, Option<V>>) + Send,
    ) -> Result<BulkReport, Error> {
        let BulkGet {
            ns,
            keys,
            with_metadata,
            convert,
            concurrency,
            on_progress,
        } = self;
        let ctx = ns.ctx(Operation::BulkGet);
        in_span(op_span(&ctx), async {
            let inner = ns.inner();
            let url = inner.endpoints.bulk_get(ns.id());
            let numbered = keys
                .enumerate()
                .map(|(index, key)| numbered_key(&ns, &ctx, index, key));
            let packer = Packer::new(
                inner.limits.max_bulk_get_keys,
                usize::MAX,
                Frame::bulk_get(with_metadata),
                true,
            );
            let chunks = pack::chunks(Box::pin(numbered), packer, |key: &str, rule| {
                Error::validation(&ctx.clone().with_key(key), rule)
            });
            let mut tally = Tally::new(on_progress);
            let send = |body: Bytes| {
                let request = Request::json(Method::POST, url.clone(), body);
                let ctx = &ctx;
                async move { execute(inner, ctx, &request, &ResultOf::<BulkGetResult>::new()).await }
            };
            let answer = |chunk: &Chunk, result: BulkGetResult| {
                match values_of(&ctx, chunk, result, convert) {
                    Ok(values) => {
                        f(values);
                        Outcome::Answered {
                            done: chunk.keys.len() as u64,
                            refused: Vec::new(),
                        }
                    }
                    Err(e) => Outcome::Failed(e),
                }
            };
            drive(&ctx, chunks, concurrency, &mut tally, send, answer).await;
            tally.finish(&ctx)
        })
        .await
    }

    /// Reads every key and returns the values in one map (missing keys map to `None`); the same
    /// as awaiting the builder. Any failure is an [`Error::BulkIncomplete`].
    pub async fn collect(self) -> Result<BTreeMap<String, Option<V>>, Error> {
        let mut out = BTreeMap::new();
        self.for_each(|values| out.extend(values)).await?;
        Ok(out)
    }
}

impl<'a, V: Send + 'a> IntoFuture for BulkGet<'a, V> {
    type Output = Result<BTreeMap<String, Option<V>>, Error>;
    type IntoFuture = BulkFuture<'a, BTreeMap<String, Option<V>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.collect())
    }
}

/// The values of one answered chunk, every key of the chunk present.
fn values_of<V>(
    ctx: &Context,
    chunk: &Chunk,
    result: BulkGetResult,
    convert: Convert<V>,
) -> Result<BTreeMap<String, Option<V>>, Error> {
    let mut got = result.values;
    let mut out = BTreeMap::new();
    for key in &chunk.keys {
        if out.contains_key(key) {
            continue;
        }
        let value = match got.remove(key).flatten() {
            None => None,
            Some(raw) => Some(convert(ctx, key, raw)?),
        };
        out.insert(key.clone(), value);
    }
    Ok(out)
}

/// Sends `chunks`, at most `concurrency` at once, with `send`; reads each answer with `answer`
/// and counts every outcome in `tally`. A chunk of only invalid items is not sent; once a request
/// fails in a way every request would (bad credentials, a missing namespace), the chunks not yet
/// started are not sent either, and their items are reported as not sent.
async fn drive<T, Fut>(
    ctx: &Context,
    chunks: impl Stream<Item = Chunk>,
    concurrency: usize,
    tally: &mut Tally<'_>,
    send: impl Fn(Bytes) -> Fut,
    mut answer: impl FnMut(&Chunk, T) -> Outcome,
) where
    Fut: Future<Output = Result<T, Error>>,
{
    let stopped = AtomicBool::new(false);
    let sent = chunks
        .map(|chunk| {
            let go = !chunk.keys.is_empty() && !stopped.load(Ordering::Relaxed);
            let request = go.then(|| send(chunk.body.clone()));
            async move {
                let result = match request {
                    Some(request) => Some(request.await),
                    None => None,
                };
                (chunk, result)
            }
        })
        .buffer_unordered(concurrency.max(1));
    let mut sent = std::pin::pin!(sent);
    while let Some((chunk, result)) = sent.next().await {
        tracing::debug!(
            items = chunk.keys.len(),
            bytes = chunk.body.len(),
            "bulk request done"
        );
        let outcome = match result {
            None => Outcome::NotSent,
            Some(Ok(value)) => answer(&chunk, value),
            Some(Err(error)) => {
                if fails_everything(&error) {
                    stopped.store(true, Ordering::Relaxed);
                }
                Outcome::Failed(error)
            }
        };
        tally.record(ctx, chunk, outcome);
    }
}
