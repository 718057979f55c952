//! `edge-kv bulk put | get | delete FILE`: the file is read as a stream on its own thread
//! ([`bulk_file`](kv_types::bulk_file) finds the items, [`bulk_items`](crate::bulk_items) checks
//! each), and the items go to kv-client's bulk calls in batches of [`BATCH`].
//!
//! A bad item is reported with its index and reason and the rest go; a broken file stops at once
//! with its byte offset: the batches already sent stay, the items read since are not sent (so
//! nothing is sent when the break is in the first batch).
//!
//! Memory: the reader runs at most [`CHANNEL`] items ahead of the sender, and one batch is held
//! while it is sent, so memory is bounded by (`CHANNEL` + `BATCH`) items, not by the file.
//! Batches are sent one after another: the bounded concurrency and progress events of the
//! client's pacing work (issue 14) are not used yet.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use kv_client::{BulkPutItem, Client, KvNamespace};
use kv_types::Limits;
use serde_json::json;
use tokio::sync::mpsc;

use crate::args::{BulkArgs, BulkCommand};
use crate::bulk_items::{self, Bad, ItemError};
use crate::connect;
use crate::failure::CliError;
use crate::output;
use kv_types::bulk_file::{ArrayScanner, Malformed};

/// Items per call of kv-client's bulk functions.
pub(crate) const BATCH: usize = 1000;
/// Items the reader may run ahead of the sender.
const CHANNEL: usize = 256;

/// What the reader thread hands over.
enum Msg<T> {
    /// An item ready to send, with its input text when `--failed` needs it.
    Item {
        index: u64,
        raw: Option<Vec<u8>>,
        item: T,
    },
    /// An item that cannot be sent.
    Bad(ItemError, Vec<u8>),
    /// The file is broken here; nothing follows.
    Broken(Malformed),
}

/// One item waiting in a batch.
struct Pending<T> {
    index: u64,
    raw: Option<Vec<u8>>,
    item: T,
}

/// Starts the reader thread over `path` (`-` is stdin).
fn read_items<T: Send + 'static>(
    path: &Path,
    keep_raw: bool,
    convert: impl Fn(&kv_types::bulk_file::Element) -> Result<T, Bad> + Send + 'static,
) -> Result<mpsc::Receiver<Msg<T>>, CliError> {
    let input: Box<dyn Read + Send> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(path).map_err(CliError::io(format!("opening {}", path.display())))?)
    };
    let (tx, rx) = mpsc::channel(CHANNEL);
    std::thread::spawn(move || {
        let scanner = ArrayScanner::new(BufReader::with_capacity(256 * 1024, input));
        for element in scanner {
            let msg = match element {
                Err(m) => Msg::Broken(m),
                Ok(element) => match convert(&element) {
                    Ok(item) => Msg::Item {
                        index: element.index,
                        raw: keep_raw.then(|| element.bytes.clone()),
                        item,
                    },
                    Err(Bad::Item(e)) => Msg::Bad(e, element.bytes),
                    Err(Bad::File(m)) => Msg::Broken(m),
                },
            };
            let last = matches!(msg, Msg::Broken(_));
            if tx.blocking_send(msg).is_err() || last {
                break;
            }
        }
    });
    Ok(rx)
}

/// Where `--failed` writes the failed items: a JSON array of their input text.
struct FailedFile {
    path: PathBuf,
    out: BufWriter<File>,
    count: u64,
}

impl FailedFile {
    fn create(path: &Path) -> Result<FailedFile, CliError> {
        let file =
            File::create(path).map_err(CliError::io(format!("creating {}", path.display())))?;
        Ok(FailedFile {
            path: path.to_owned(),
            out: BufWriter::new(file),
            count: 0,
        })
    }

    fn push(&mut self, raw: &[u8]) -> Result<(), CliError> {
        let sep: &[u8] = if self.count == 0 { b"[\n" } else { b",\n" };
        self.count += 1;
        self.out
            .write_all(sep)
            .and_then(|()| self.out.write_all(raw))
            .map_err(CliError::io(format!("writing {}", self.path.display())))
    }

    fn finish(mut self) -> Result<(), CliError> {
        let end: &[u8] = if self.count == 0 { b"[]\n" } else { b"\n]\n" };
        self.out
            .write_all(end)
            .and_then(|()| self.out.flush())
            .map_err(CliError::io(format!("writing {}", self.path.display())))
    }
}

/// The running account of a bulk command.
struct Outcome {
    done: u64,
    failed: u64,
    failed_file: Option<FailedFile>,
}

impl Outcome {
    fn fail(&mut self, error: &ItemError, raw: Option<&[u8]>) -> Result<(), CliError> {
        self.failed += 1;
        eprintln!("edge-kv: {error}");
        if let (Some(f), Some(raw)) = (self.failed_file.as_mut(), raw) {
            f.push(raw)?;
        }
        Ok(())
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
    let mut outcome = Outcome {
        done: 0,
        failed: 0,
        failed_file: args.failed.as_deref().map(FailedFile::create).transpose()?,
    };
    let keep_raw = args.failed.is_some();
    let result = match &command {
        BulkCommand::Put(a) => {
            let now = epoch_now();
            let rx = read_items(&a.file, keep_raw, move |e| {
                bulk_items::put_item(e, &limits, now)
            })?;
            drive(rx, &mut outcome, |batch| put_batch(&kv, batch)).await
        }
        BulkCommand::Delete(a) => {
            let rx = read_items(&a.file, keep_raw, move |e| bulk_items::key_item(e, &limits))?;
            drive(rx, &mut outcome, |batch| delete_batch(&kv, batch)).await
        }
        BulkCommand::Get(a) => get(&kv, a, &limits, keep_raw, &mut outcome).await,
    };
    let total = outcome.done + outcome.failed;
    if let Some(f) = outcome.failed_file.take() {
        f.finish()?;
    }
    // The summary also when a broken file stopped a run that had sent something.
    if verb != "get" && (result.is_ok() || total > 0) {
        if json {
            output::json(
                &json!({"operation": verb, "done": outcome.done, "failed": outcome.failed}),
            )?;
        } else {
            output::note(&format!(
                "bulk {verb}: {} done, {} failed",
                outcome.done, outcome.failed
            ));
        }
    }
    result?;
    if outcome.failed > 0 {
        return Err(CliError::Partial {
            failed: outcome.failed,
            total,
        });
    }
    Ok(())
}

fn epoch_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What a batch did: the indices (in the batch) that failed, with the reason.
type BatchFailures = Vec<(usize, String)>;

/// Reads items from the channel, sends them in batches with `send`, and accounts for each.
async fn drive<T, F, Fut>(
    mut rx: mpsc::Receiver<Msg<T>>,
    outcome: &mut Outcome,
    mut send: F,
) -> Result<(), CliError>
where
    F: FnMut(Vec<T>) -> Fut,
    Fut: std::future::Future<Output = (Vec<String>, BatchFailures)>,
    T: ItemKey,
{
    let mut batch: Vec<Pending<T>> = Vec::with_capacity(BATCH);
    let mut broken = None;
    loop {
        let msg = rx.recv().await;
        let end = match msg {
            None => true,
            Some(Msg::Broken(m)) => {
                broken = Some(m);
                true
            }
            Some(Msg::Bad(e, raw)) => {
                outcome.fail(&e, Some(&raw))?;
                false
            }
            Some(Msg::Item { index, raw, item }) => {
                batch.push(Pending { index, raw, item });
                false
            }
        };
        if broken.is_some() {
            // Stop at once: the items read since the last batch went are not sent, so a file
            // broken within its first batch sends nothing.
            break;
        }
        if batch.len() >= BATCH || (end && !batch.is_empty()) {
            send_batch(&mut batch, outcome, &mut send).await?;
        }
        if end {
            break;
        }
    }
    match broken {
        Some(m) => Err(CliError::BadInput(m.to_string())),
        None => Ok(()),
    }
}

/// The key of an item, for reports.
trait ItemKey {
    fn key(&self) -> &str;
}

impl ItemKey for BulkPutItem {
    fn key(&self) -> &str {
        &self.key
    }
}

impl ItemKey for String {
    fn key(&self) -> &str {
        self
    }
}

async fn send_batch<T: ItemKey, F, Fut>(
    batch: &mut Vec<Pending<T>>,
    outcome: &mut Outcome,
    send: &mut F,
) -> Result<(), CliError>
where
    F: FnMut(Vec<T>) -> Fut,
    Fut: std::future::Future<Output = (Vec<String>, BatchFailures)>,
{
    let pending = std::mem::take(batch);
    let mut meta = Vec::with_capacity(pending.len());
    let mut items = Vec::with_capacity(pending.len());
    for p in pending {
        meta.push((p.index, p.item.key().to_owned(), p.raw));
        items.push(p.item);
    }
    let (_, failures) = send(items).await;
    let mut failed = vec![None; meta.len()];
    for (i, reason) in failures {
        if let Some(slot) = failed.get_mut(i) {
            *slot = Some(reason);
        }
    }
    for ((index, key, raw), reason) in meta.into_iter().zip(failed) {
        match reason {
            None => outcome.done += 1,
            Some(reason) => {
                let error = ItemError {
                    index,
                    offset: 0,
                    key: Some(key),
                    reason,
                };
                outcome.failed += 1;
                eprintln!(
                    "edge-kv: item {} (key {:?}): {}",
                    error.index,
                    error.key.as_deref().unwrap_or_default(),
                    error.reason
                );
                if let (Some(f), Some(raw)) = (outcome.failed_file.as_mut(), raw.as_deref()) {
                    f.push(raw)?;
                }
            }
        }
    }
    Ok(())
}

/// Which items of a batch failed, from a bulk call's error.
fn failures_of(keys: &[String], error: &kv_client::Error) -> BatchFailures {
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

async fn put_batch(kv: &KvNamespace, items: Vec<BulkPutItem>) -> (Vec<String>, BatchFailures) {
    let keys: Vec<String> = items.iter().map(|i| i.key.clone()).collect();
    match kv.bulk_put(items).await {
        Ok(_) => (keys, Vec::new()),
        Err(e) => {
            let f = failures_of(&keys, &e);
            (keys, f)
        }
    }
}

async fn delete_batch(kv: &KvNamespace, keys: Vec<String>) -> (Vec<String>, BatchFailures) {
    match kv.bulk_delete(&keys).await {
        Ok(_) => (keys, Vec::new()),
        Err(e) => {
            let f = failures_of(&keys, &e);
            (keys, f)
        }
    }
}

/// `bulk get`: a JSON object of key to value (null when missing) on stdout, written as batches
/// come back.
async fn get(
    kv: &KvNamespace,
    args: &BulkArgs,
    limits: &Limits,
    keep_raw: bool,
    outcome: &mut Outcome,
) -> Result<(), CliError> {
    let limits = *limits;
    let rx = read_items(&args.file, keep_raw, move |e| {
        bulk_items::key_item(e, &limits)
    })?;
    let wrote = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    output::bytes(b"{")?;
    let result = drive(rx, outcome, |keys: Vec<String>| {
        let kv = kv.clone();
        let wrote = std::sync::Arc::clone(&wrote);
        async move {
            match kv.bulk_get(&keys).await {
                Ok(values) => {
                    let written = write_values(&values, &wrote);
                    let failures = match written {
                        Ok(()) => Vec::new(),
                        Err(e) => keys
                            .iter()
                            .enumerate()
                            .map(|(i, _)| (i, e.to_string()))
                            .collect(),
                    };
                    (keys, failures)
                }
                Err(e) => {
                    let f = failures_of(&keys, &e);
                    (keys, f)
                }
            }
        }
    })
    .await;
    output::bytes(b"}\n")?;
    result
}

/// Writes the entries of one batch; `wrote` says whether an entry came before (for the comma).
fn write_values(
    values: &BTreeMap<String, Option<String>>,
    wrote: &std::sync::atomic::AtomicBool,
) -> Result<(), CliError> {
    let mut text = String::new();
    for (k, v) in values {
        if wrote.swap(true, std::sync::atomic::Ordering::Relaxed) {
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
