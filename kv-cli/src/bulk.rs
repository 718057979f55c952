//! `edge-kv bulk put | get | delete FILE`: the input is read as a stream
//! ([`bulk_input`](crate::bulk_input)), each item checked ([`bulk_items`](crate::bulk_items)),
//! the good ones sent ([`bulk_send`](crate::bulk_send)), and every item accounted for as done or
//! failed in a [`Tally`] that drives the progress bar ([`progress`](crate::progress)).
//!
//! A bad item is reported with its index and reason and the rest go; a broken file stops at its
//! byte offset: nothing is sent when the break is in the first chunk (the first chunk is held
//! back until it is read whole: `--chunk-items` items, at most 32 MiB of input); after that,
//! the items before the break are sent, nothing after it. `--failed FILE` gets the failed items in the
//! input's format ([`bulk_failed`](crate::bulk_failed)).
//!
//! Memory: the reader runs a bounded number of items ahead of the sender, the sender holds its
//! chunks in flight (`--concurrency`, and the one being packed), and the tally holds only the
//! indices of failed items: bounded by the chunk sizes, not by the input.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};

use futures_util::Stream;
use kv_client::Client;
use kv_types::Limits;
use kv_types::bulk_file::Malformed;
use serde_json::json;
use tokio::sync::mpsc;

use crate::args::{BulkArgs, BulkCommand};
use crate::bulk_input::{Input, Msg, Reader, ReaderThread};
use crate::bulk_items::{self, ItemError};
use crate::bulk_send::{self, ChunkDone, Sending};
use crate::connect;
use crate::failure::CliError;
use crate::output;
use crate::progress::Progress;
use crate::{bulk_failed, bulk_input};

/// The checked items, as the sender pulls them.
type Items<'a, T> = Pin<Box<dyn Stream<Item = T> + Send + 'a>>;

/// The running account of a bulk command: every item ends here as done or failed.
struct Tally {
    progress: Progress,
    /// Whether to keep `failed` (for `--failed`).
    keep_failed: bool,
    /// The input indices of the items that failed.
    failed: Vec<u64>,
    /// For each bad item so far, the first stream position after it: what turns a position in
    /// the stream of good items back into an input index.
    shifts: Vec<u64>,
    /// Where the input broke, if it did.
    broken: Option<Malformed>,
}

impl Tally {
    /// The input index of the `position`th good item.
    fn input_index(&self, position: u64) -> u64 {
        position + self.shifts.partition_point(|&s| s <= position) as u64
    }

    fn failed(&mut self, index: u64, line: &str) {
        self.progress.println(line);
        if self.keep_failed {
            self.failed.push(index);
        }
    }

    /// An item that could not be sent.
    fn bad(&mut self, error: &ItemError, len: u64) {
        self.progress.read(len);
        self.progress.items(0, 1);
        let before = self.shifts.len() as u64;
        self.shifts.push(error.index - before);
        self.failed(error.index, &format!("edge-kv: {error}"));
    }

    /// A chunk came back.
    fn chunk(&mut self, chunk: ChunkDone) {
        self.progress.items(chunk.done, chunk.failures.len() as u64);
        for f in chunk.failures {
            let index = self.input_index(f.index);
            let line = format!("edge-kv: item {index} (key {:?}): {}", f.key, f.reason);
            self.failed(index, &line);
        }
    }
}

/// What the stream of items and the chunk reports share.
struct Shared {
    tally: Mutex<Tally>,
}

impl Shared {
    fn tally(&self) -> MutexGuard<'_, Tally> {
        // A panic while holding the lock ends the command anyway; the counts stay usable.
        self.tally.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The first chunk: items held back until this many are read (or the input ends), so that a
/// break among them sends nothing.
#[derive(Debug, Clone, Copy)]
struct FirstChunk {
    items: usize,
    bytes: u64,
}

/// The most input bytes held back as the first chunk.
const FIRST_CHUNK_BYTES: u64 = 32 * 1024 * 1024;

/// Where the stream of items stands.
struct Feed<T> {
    rx: mpsc::Receiver<Msg<T>>,
    /// The first chunk, once read, until handed over.
    held: std::collections::VecDeque<T>,
    /// Whether the first chunk was read.
    started: bool,
}

impl<T> Feed<T> {
    /// The next message, with bad items accounted for on the way; `None` at the end or a break
    /// (which is noted in the tally).
    async fn next(&mut self, shared: &Shared) -> Option<(u64, T)> {
        loop {
            match self.rx.recv().await? {
                Msg::Item { len, item } => return Some((len, item)),
                Msg::Bad(error, len) => shared.tally().bad(&error, len),
                Msg::Broken(m) => {
                    shared.tally().broken = Some(m);
                    return None;
                }
            }
        }
    }

    /// Reads the first chunk; a break inside it drops it.
    async fn start(&mut self, shared: &Shared, first: FirstChunk) {
        self.started = true;
        let mut bytes = 0;
        while self.held.len() < first.items && bytes < first.bytes {
            let Some((len, item)) = self.next(shared).await else {
                break;
            };
            shared.tally().progress.read(len);
            bytes += len;
            self.held.push_back(item);
        }
        if shared.tally().broken.is_some() {
            self.held.clear();
        }
    }
}

/// The good items of the reader's channel, in order, bad ones accounted for on the way. A break
/// ends the stream: within the first chunk nothing is handed over; later, the items before it
/// go.
fn items<T: Send + 'static>(
    rx: mpsc::Receiver<Msg<T>>,
    shared: &Shared,
    first: FirstChunk,
) -> Items<'_, T> {
    let feed = Feed {
        rx,
        held: std::collections::VecDeque::new(),
        started: false,
    };
    Box::pin(futures_util::stream::unfold(
        feed,
        move |mut feed| async move {
            if !feed.started {
                feed.start(shared, first).await;
            }
            if let Some(item) = feed.held.pop_front() {
                return Some((item, feed));
            }
            if shared.tally().broken.is_some() {
                return None;
            }
            let (len, item) = feed.next(shared).await?;
            shared.tally().progress.read(len);
            Some((item, feed))
        },
    ))
}

/// Feeds the reader's items to `send` until they end or the input breaks.
async fn send_all<'a, T, F, Fut>(
    reader: Reader<T>,
    shared: &'a Shared,
    first: FirstChunk,
    send: F,
) -> (Result<(), CliError>, ReaderThread)
where
    T: Send + 'static,
    F: FnOnce(Items<'a, T>, Box<dyn FnMut(ChunkDone) + Send + 'a>) -> Fut,
    Fut: std::future::Future<Output = Result<(), CliError>>,
{
    let (rx, thread) = reader.into_parts();
    let on_chunk = Box::new(move |chunk| shared.tally().chunk(chunk));
    let result = send(items(rx, shared, first), on_chunk).await;
    let broken = shared.tally().broken.take();
    match broken {
        Some(m) => (Err(CliError::BadInput(m.to_string())), thread),
        None => (result, thread),
    }
}

/// The largest request body a bulk command packs: any valid item fits (a 25 MiB value in
/// base64, its key and metadata), and memory stays far below the API's 100 MB.
const MAX_CHUNK_BYTES: usize = kv_types::bulk_file::MAX_ELEMENT_BYTES;

/// The limits a bulk command's client packs its requests within: the API's, with
/// `--chunk-items` items and at most [`MAX_CHUNK_BYTES`] a request.
pub(crate) fn limits(args: &BulkArgs) -> Limits {
    let api = Limits::PRODUCTION;
    Limits {
        max_bulk_items: usize::from(args.chunk_items).min(api.max_bulk_items),
        max_bulk_bytes: MAX_CHUNK_BYTES.min(api.max_bulk_bytes),
        ..api
    }
}

/// Runs one bulk command.
pub(crate) async fn run(client: &Client, command: BulkCommand, json: bool) -> Result<(), CliError> {
    let (verb, args) = match &command {
        BulkCommand::Put(a) => ("put", a),
        BulkCommand::Get(a) => ("get", a),
        BulkCommand::Delete(a) => ("delete", a),
    };
    let kv = connect::namespace(client, &args.ns).await?;
    let limits = *client.limits();
    let input = Input::new(&args.file, args.failed.is_some())?;
    let how = Sending {
        concurrency: usize::from(args.concurrency),
    };
    let shared = Shared {
        tally: Mutex::new(Tally {
            progress: Progress::start(input.size()),
            keep_failed: args.failed.is_some(),
            failed: Vec::new(),
            shifts: Vec::new(),
            broken: None,
        }),
    };
    let first = |items| FirstChunk {
        items,
        bytes: FIRST_CHUNK_BYTES,
    };
    let first_write = first(limits.max_bulk_items);
    let (result, thread) = match &command {
        BulkCommand::Put(_) => {
            let now = epoch_now();
            let reader = input.read(move |e| bulk_items::put_item(e, &limits, now))?;
            send_all(reader, &shared, first_write, |items, on_chunk| {
                bulk_send::put(&kv, how, items, on_chunk)
            })
            .await
        }
        BulkCommand::Delete(_) => {
            let reader = input.read(move |e| bulk_items::key_item(e, &limits))?;
            send_all(reader, &shared, first_write, |items, on_chunk| {
                bulk_send::delete(&kv, how, items, on_chunk)
            })
            .await
        }
        BulkCommand::Get(_) => {
            let reader = input.read(move |e| bulk_items::key_item(e, &limits))?;
            output::bytes(b"{")?;
            let mut wrote = false;
            let first_read = first(limits.max_bulk_get_keys);
            let sent = send_all(reader, &shared, first_read, |items, on_chunk| {
                bulk_send::get(
                    &kv,
                    how,
                    items,
                    move |values| write_values(&values, &mut wrote),
                    on_chunk,
                )
            })
            .await;
            output::bytes(b"}\n")?;
            sent
        }
    };
    let tally = shared.tally.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some(path) = &args.failed {
        write_failed(path.clone(), input, thread, tally.failed).await?;
    }
    let (done, failed) = (tally.progress.done(), tally.progress.failed());
    let summary = tally.progress.finish(verb);
    // The summary also when a broken input stopped a run that had sent something.
    if result.is_ok() || done + failed > 0 {
        if !json {
            output::note(&summary);
        } else if verb != "get" {
            output::json(&json!({"operation": verb, "done": done, "failed": failed}))?;
        }
    }
    result?;
    if failed > 0 {
        return Err(CliError::Partial {
            failed,
            total: done + failed,
        });
    }
    Ok(())
}

/// Writes `--failed`: waits for the reader, then copies the failed items from the input.
async fn write_failed(
    path: std::path::PathBuf,
    input: bulk_input::Input,
    thread: ReaderThread,
    failed: Vec<u64>,
) -> Result<(), CliError> {
    tokio::task::spawn_blocking(move || {
        thread.join();
        bulk_failed::write(&path, input.reopen()?, failed)
    })
    .await
    .map_err(|e| CliError::Usage(format!("writing --failed stopped: {e}")))?
}

fn epoch_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Writes the entries of one chunk of `bulk get`; `wrote` says whether an entry came before
/// (for the comma).
fn write_values(
    values: &BTreeMap<String, Option<String>>,
    wrote: &mut bool,
) -> Result<(), CliError> {
    let mut text = String::new();
    for (k, v) in values {
        if std::mem::replace(wrote, true) {
            text.push(',');
        }
        let entry = serde_json::to_string(k).and_then(|k| serde_json::to_string(v).map(|v| (k, v)));
        let (k, v) = entry.map_err(|e| CliError::Usage(format!("cannot write JSON: {e}")))?;
        text.push_str(&k);
        text.push(':');
        text.push_str(&v);
    }
    output::bytes(text.as_bytes())
}
