//! The one place where bulk items meet kv-client: [`put`], [`delete`] and [`get`] take a stream
//! of checked items and report each finished chunk as a [`ChunkDone`], its failures numbered by
//! their position in that stream.
//!
//! The chunks are sent one after another, each at most [`BATCH`] items and about
//! [`BATCH_BYTES`] bytes, through kv-client's bulk calls (which retry each request).

use std::collections::BTreeMap;
use std::future::Future;

use futures_util::{Stream, StreamExt};
use kv_client::{BulkPutItem, KvNamespace};

use crate::failure::CliError;

/// Items per chunk.
pub(crate) const BATCH: usize = 1000;
/// Bytes per chunk (keys, values and metadata), so a chunk of large values stays small.
pub(crate) const BATCH_BYTES: usize = 8 * 1024 * 1024;

/// One item that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// Its position in the stream given (0-based).
    pub(crate) index: u64,
    /// Its key.
    pub(crate) key: String,
    /// Why it failed.
    pub(crate) reason: String,
}

/// What one finished chunk did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ChunkDone {
    /// Items written, deleted or read.
    pub(crate) done: u64,
    /// Items that failed.
    pub(crate) failures: Vec<Failure>,
}

/// An item's key and roughly how many bytes it takes in a request.
pub(crate) trait Item {
    /// Its key.
    fn key(&self) -> &str;
    /// Its size in a request body, roughly.
    fn size(&self) -> usize;
}

impl Item for BulkPutItem {
    fn key(&self) -> &str {
        &self.key
    }
    fn size(&self) -> usize {
        let metadata = self
            .options
            .metadata
            .as_ref()
            .map_or(0, |m| m.as_json().len());
        self.key.len() + self.value.len() + metadata + 64
    }
}

impl Item for String {
    fn key(&self) -> &str {
        self
    }
    fn size(&self) -> usize {
        self.len() + 4
    }
}

/// Writes every item of `items`.
pub(crate) async fn put(
    kv: &KvNamespace,
    items: impl Stream<Item = BulkPutItem> + Send,
    on_chunk: impl FnMut(ChunkDone) + Send,
) -> Result<(), CliError> {
    in_chunks(items, on_chunk, |batch: Vec<BulkPutItem>| async move {
        let keys: Vec<String> = batch.iter().map(|i| i.key.clone()).collect();
        Ok(match kv.bulk_put(batch).await {
            Ok(_) => Vec::new(),
            Err(e) => failures_of(&keys, &e),
        })
    })
    .await
}

/// Deletes every key of `keys`.
pub(crate) async fn delete(
    kv: &KvNamespace,
    keys: impl Stream<Item = String> + Send,
    on_chunk: impl FnMut(ChunkDone) + Send,
) -> Result<(), CliError> {
    in_chunks(keys, on_chunk, |batch: Vec<String>| async move {
        Ok(match kv.bulk_delete(&batch).await {
            Ok(_) => Vec::new(),
            Err(e) => failures_of(&batch, &e),
        })
    })
    .await
}

/// Reads every key of `keys`: each chunk's values (`None` when missing) go to `on_values`
/// before the chunk is reported.
pub(crate) async fn get(
    kv: &KvNamespace,
    keys: impl Stream<Item = String> + Send,
    on_values: impl FnMut(BTreeMap<String, Option<String>>) -> Result<(), CliError> + Send,
    on_chunk: impl FnMut(ChunkDone) + Send,
) -> Result<(), CliError> {
    // Shared by each chunk's future in turn (one at a time).
    let on_values = &std::sync::Mutex::new(on_values);
    in_chunks(keys, on_chunk, |batch: Vec<String>| async move {
        match kv.bulk_get(&batch).await {
            Ok(values) => {
                let mut on_values = on_values.lock().unwrap_or_else(|p| p.into_inner());
                on_values(values).map(|()| Vec::new())
            }
            Err(e) => Ok(failures_of(&batch, &e)),
        }
    })
    .await
}

/// Which items of a chunk failed (their position in it, and why), from a bulk call's error.
type ChunkFailures = Vec<(usize, String)>;

/// Cuts `items` into chunks, sends each with `send`, and reports each.
async fn in_chunks<T, F, Fut>(
    items: impl Stream<Item = T> + Send,
    mut on_chunk: impl FnMut(ChunkDone) + Send,
    mut send: F,
) -> Result<(), CliError>
where
    T: Item,
    F: FnMut(Vec<T>) -> Fut,
    Fut: Future<Output = Result<ChunkFailures, CliError>>,
{
    let mut items = std::pin::pin!(items.fuse());
    let mut first = 0u64;
    loop {
        let mut batch = Vec::new();
        let mut bytes = 0;
        while batch.len() < BATCH && bytes < BATCH_BYTES {
            let Some(item) = items.next().await else {
                break;
            };
            bytes += item.size();
            batch.push(item);
        }
        if batch.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = batch.iter().map(|i| i.key().to_owned()).collect();
        let count = keys.len() as u64;
        let failures: Vec<Failure> = send(batch)
            .await?
            .into_iter()
            .filter_map(|(i, reason)| {
                keys.get(i).map(|key| Failure {
                    index: first + i as u64,
                    key: key.clone(),
                    reason,
                })
            })
            .collect();
        on_chunk(ChunkDone {
            done: count - failures.len() as u64,
            failures,
        });
        first += count;
    }
}

/// Which items of a chunk failed, from a bulk call's error: the keys it names, or all.
fn failures_of(keys: &[String], error: &kv_client::Error) -> ChunkFailures {
    let failed: std::collections::HashSet<&str> =
        error.failed_keys().iter().map(String::as_str).collect();
    let all = failed.is_empty();
    let reason = match error {
        kv_client::Error::BulkIncomplete { errors, .. } => errors
            .first()
            .map_or_else(|| "refused by the service".to_owned(), |e| e.to_string()),
        other => other.to_string(),
    };
    keys.iter()
        .enumerate()
        .filter(|(_, k)| all || failed.contains(k.as_str()))
        .map(|(i, _)| (i, reason.clone()))
        .collect()
}
