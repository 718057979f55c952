//! The one place where bulk items meet kv-client: [`put`], [`delete`] and [`get`] hand a stream
//! of checked items to kv-client's streamed bulk calls (`bulk_put_stream` and the others: chunks
//! packed at the API's limits as the stream is pulled, at most `concurrency` requests in flight,
//! each through the client's retry path and budget) and report each finished chunk as a
//! [`ChunkDone`], from the client's progress events; failures are numbered by their position in
//! the stream given.

use std::collections::BTreeMap;

use futures_util::Stream;
use kv_client::{BulkProgress, BulkPutItem, BulkWrite, KvNamespace};

use crate::failure::CliError;

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

impl From<&BulkProgress> for ChunkDone {
    fn from(p: &BulkProgress) -> ChunkDone {
        ChunkDone {
            done: p.chunk_items_done,
            failures: p
                .failures
                .iter()
                .map(|f| Failure {
                    index: f.index,
                    key: f.key.clone(),
                    reason: f.reason.to_string(),
                })
                .collect(),
        }
    }
}

/// How the bulk calls run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sending {
    /// Requests in flight at most.
    pub(crate) concurrency: usize,
}

/// The end of a bulk call: every failed item was already reported through its chunk, so an
/// incomplete call is not an error here.
fn settled<T>(result: Result<T, kv_client::Error>) -> Result<(), CliError> {
    match result {
        Ok(_) | Err(kv_client::Error::BulkIncomplete { .. }) => Ok(()),
        Err(e) => Err(CliError::Client(e)),
    }
}

/// Sends a bulk write or delete, reporting each chunk.
async fn write<'a>(
    call: BulkWrite<'a>,
    how: Sending,
    mut on_chunk: impl FnMut(ChunkDone) + Send + 'a,
) -> Result<(), CliError> {
    let call = call
        .concurrency(how.concurrency)
        .on_progress(move |p| on_chunk(p.into()));
    settled(call.await)
}

/// Writes every item of `items`.
pub(crate) async fn put<'a>(
    kv: &KvNamespace,
    how: Sending,
    items: impl Stream<Item = BulkPutItem> + Send + 'a,
    on_chunk: impl FnMut(ChunkDone) + Send + 'a,
) -> Result<(), CliError> {
    write(kv.bulk_put_stream(items), how, on_chunk).await
}

/// Deletes every key of `keys`.
pub(crate) async fn delete<'a>(
    kv: &KvNamespace,
    how: Sending,
    keys: impl Stream<Item = String> + Send + 'a,
    on_chunk: impl FnMut(ChunkDone) + Send + 'a,
) -> Result<(), CliError> {
    write(kv.bulk_delete_stream(keys), how, on_chunk).await
}

/// Reads every key of `keys`: each chunk's values (`None` when missing) go to `on_values` as the
/// chunk is answered; the first error `on_values` returns ends the command with it.
pub(crate) async fn get<'a>(
    kv: &KvNamespace,
    how: Sending,
    keys: impl Stream<Item = String> + Send + 'a,
    mut on_values: impl FnMut(BTreeMap<String, Option<String>>) -> Result<(), CliError> + Send,
    mut on_chunk: impl FnMut(ChunkDone) + Send + 'a,
) -> Result<(), CliError> {
    let mut first_error = None;
    let call = kv
        .bulk_get_stream(keys)
        .concurrency(how.concurrency)
        .on_progress(move |p| on_chunk(p.into()))
        .for_each(|values| {
            if first_error.is_none() {
                first_error = on_values(values).err();
            }
        });
    let result = settled(call.await);
    match first_error {
        Some(e) => Err(e),
        None => result,
    }
}
