//! The fault matrix: every fault the service or the network throws at a call, against every kind
//! of call. One table-driven test runs each cell against a fresh kv-mock (and, for the broken
//! responses the mock cannot produce, a proxy in front of it), prints the grid (fault x operation
//! -> outcome) and asserts every cell:
//!
//! - the outcome is the expected one: success, or a typed error that names the operation and
//!   says what happened (status, code, `Retry-After`, timeout, transport, decode, stream);
//! - the mock's engine holds exactly the right state: after a success, the value written whole
//!   (with its metadata), once, under its key and no other; after an error, the old state or the
//!   new value whole, never an empty, partial or wrong value;
//! - a success is readable back through the client;
//! - no call takes longer than the retry deadline (plus scheduling slack), and a 429 is waited
//!   out (at least a second per 429) rather than hammered.
//!
//! Run `cargo test -p edge-kv --test it fault_matrix -- --nocapture` to see the grid.

mod fault_proxy;
mod http_date;

use crate::kit;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use edge_kv::client::{Body, BulkPutItem, Error, KvNamespace, Operation, RetryConfig};
use edge_kv::mock::{Fault, KvMock};
use edge_kv::types::{ListOptions, Metadata, PutOptions, Value, codes};
use fault_proxy::{FaultProxy, Scripted};
use futures_util::TryStreamExt;
use tokio::sync::Semaphore;

/// A short retry policy, so the whole matrix runs in seconds.
const RETRY: RetryConfig = RetryConfig {
    max_retries: 4,
    initial_backoff: Duration::from_millis(20),
    max_backoff: Duration::from_millis(200),
    deadline: Duration::from_secs(4),
};
/// The per-attempt timeout of the client.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a slow response takes: longer than [`ATTEMPT_TIMEOUT`].
const SLOW: Duration = Duration::from_secs(2);
/// Time allowed past the deadline for task scheduling on a loaded machine.
const SLACK: Duration = Duration::from_millis(1500);
/// Timer resolution: an attempt's timeout, capped at the time left, may end this much after the
/// deadline (tokio's timer rounds up to the next millisecond).
const TIMER_TOLERANCE: Duration = Duration::from_millis(50);
/// The least wait after a 429 (the service allows one write per second per key).
const RATE_LIMIT_FLOOR: Duration = Duration::from_secs(1);
/// How many times a persistent fault applies: more than any call can attempt.
const EVERY_ATTEMPT: u32 = 1000;
/// Cells run at the same time.
const PARALLEL_CELLS: usize = 24;

/// The key of single-key operations.
const KEY: &str = "cell/key";
/// What a put replaces (seeded first, so an error must leave exactly this or the new value).
const OLD: &[u8] = b"the old value";
/// Keys listed; a page holds 10, so the list takes two requests.
const LIST_KEYS: usize = 12;
const LIST_PREFIX: &str = "list/";
/// Keys of the bulk write.
const BULK_KEYS: [&str; 3] = ["bulk/0", "bulk/1", "bulk/2"];
/// Chunks of the streamed values.
const CHUNK: usize = 16 * 1024;
const CHUNKS: usize = 4;

const HTML_PAGE: &str = "<html><head><title>502 Bad Gateway</title></head><body>\
    <center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>";
/// An envelope cut in the middle of its JSON.
const BAD_ENVELOPE: &str = r#"{"success":true,"errors":[],"messages":[],"result":{"unexpec"#;

/// The new value of a put: 64 KiB of a pattern, not UTF-8, so a partial or shifted value shows.
fn new_value() -> Bytes {
    (0..CHUNK * CHUNKS)
        .map(|i| (i * 7 + i / 251) as u8 | 0x80)
        .collect::<Vec<u8>>()
        .into()
}

fn bulk_value(i: usize) -> Bytes {
    (0..1024)
        .map(|j| (j * 13 + i * 101) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn metadata() -> serde_json::Value {
    serde_json::json!({"cell": "fault matrix", "n": 42, "nested": {"ok": true}})
}

/// What a `Retry-After` of a 429 says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hint {
    /// `Retry-After: <seconds>`.
    Seconds(u64),
    /// `Retry-After: <HTTP date>` this many seconds ahead.
    Date(u64),
    /// `retry-after-ms: <ms>`.
    Millis(u64),
    /// No header.
    Nothing,
}

/// A kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hazard {
    /// 429 (mock fault).
    TooMany(Hint),
    /// A 5xx with an envelope (mock fault).
    Status(u16),
    /// The connection closed before any response (mock fault).
    Reset,
    /// The response body cut short after the request was applied (mock fault).
    Truncated,
    /// The response comes after [`SLOW`], past the attempt timeout (mock fault).
    Slow,
    /// A 502 HTML page from a proxy (fault proxy).
    Html,
    /// A JSON body that is not a whole envelope (fault proxy; on a 404 for a value read, which
    /// has no envelope on success).
    BadEnvelope,
    /// The caller's value stream fails mid-way (client side).
    UploadCut,
}

/// One row of the matrix: a fault and how many requests it hits.
#[derive(Debug, Clone, Copy)]
struct Row {
    label: &'static str,
    hazard: Hazard,
    times: u32,
}

const ROWS: [Row; 18] = [
    row("429 Retry-After: 1", Hazard::TooMany(Hint::Seconds(1)), 1),
    row("429 Retry-After: <date>", Hazard::TooMany(Hint::Date(2)), 1),
    row(
        "429 retry-after-ms: 300 x2",
        Hazard::TooMany(Hint::Millis(300)),
        2,
    ),
    row("429 without header", Hazard::TooMany(Hint::Nothing), 1),
    row("500 x2", Hazard::Status(500), 2),
    row("502 x2", Hazard::Status(502), 2),
    row("503 x2", Hazard::Status(503), 2),
    row("504 x2", Hazard::Status(504), 2),
    row("reset before response x2", Hazard::Reset, 2),
    row("response body cut short", Hazard::Truncated, 1),
    row("slower than the timeout", Hazard::Slow, 1),
    row("HTML error page (502) x2", Hazard::Html, 2),
    row("invalid JSON envelope", Hazard::BadEnvelope, 1),
    row("upload cut off mid-body", Hazard::UploadCut, 1),
    row("503 on every attempt", Hazard::Status(503), EVERY_ATTEMPT),
    row(
        "429 Retry-After: 3600",
        Hazard::TooMany(Hint::Seconds(3600)),
        EVERY_ATTEMPT,
    ),
    row("HTML page on every attempt", Hazard::Html, EVERY_ATTEMPT),
    row("slow on every attempt", Hazard::Slow, EVERY_ATTEMPT),
];

const fn row(label: &'static str, hazard: Hazard, times: u32) -> Row {
    Row {
        label,
        hazard,
        times,
    }
}

/// A column of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    PutBytes,
    PutMetadata,
    PutStream,
    PutReplayable,
    Get,
    GetMissing,
    List,
    Delete,
    BulkPut,
}

const OPS: [Op; 9] = [
    Op::PutBytes,
    Op::PutMetadata,
    Op::PutStream,
    Op::PutReplayable,
    Op::Get,
    Op::GetMissing,
    Op::List,
    Op::Delete,
    Op::BulkPut,
];

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::PutBytes => "put bytes",
            Op::PutMetadata => "put+metadata",
            Op::PutStream => "put one-shot",
            Op::PutReplayable => "put replayable",
            Op::Get => "get",
            Op::GetMissing => "get missing",
            Op::List => "list",
            Op::Delete => "delete",
            Op::BulkPut => "bulk put",
        }
    }

    fn operation(self) -> Operation {
        match self {
            Op::PutBytes | Op::PutMetadata | Op::PutStream | Op::PutReplayable => Operation::Put,
            Op::Get | Op::GetMissing => Operation::Get,
            Op::List => Operation::List,
            Op::Delete => Operation::Delete,
            Op::BulkPut => Operation::BulkPut,
        }
    }

    fn has_stream(self) -> bool {
        matches!(self, Op::PutStream | Op::PutReplayable)
    }
}

/// A value read (no envelope on success: the broken envelope comes on a 404).
fn is_read(op: Op) -> bool {
    matches!(op, Op::Get | Op::GetMissing)
}

/// What a cell must come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// The fault does not apply to this operation.
    NotApplicable,
    /// Success, after retries.
    Succeeds,
    /// A typed error matching the fault.
    Fails,
}

fn expect(row: Row, op: Op) -> Expect {
    let persistent = row.times == EVERY_ATTEMPT;
    match row.hazard {
        Hazard::UploadCut if !op.has_stream() => Expect::NotApplicable,
        Hazard::UploadCut if op == Op::PutStream => Expect::Fails,
        Hazard::UploadCut => Expect::Succeeds,
        Hazard::BadEnvelope => Expect::Fails,
        _ if persistent => Expect::Fails,
        _ => Expect::Succeeds,
    }
}

/// What a call returned.
#[derive(Debug)]
enum Observed {
    Done,
    Value(Option<Bytes>),
    Names(Vec<String>),
    Written(u64),
}

/// The outcome of one cell: the text for the grid and what went wrong.
struct CellReport {
    text: String,
    problems: Vec<String>,
}

fn client(base_url: &str, mock: &KvMock) -> KvNamespace {
    kit::client_builder(mock)
        .base_url(base_url)
        .connect_timeout(ATTEMPT_TIMEOUT)
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .retry(RETRY)
        .build()
        .expect("client")
        .namespace(mock.namespace_id())
}

fn mock_fault(hazard: Hazard, times: u32) -> Option<Fault> {
    let fault = match hazard {
        Hazard::TooMany(hint) => {
            let f = Fault::status(429);
            match hint {
                Hint::Seconds(s) => f.header("Retry-After", s.to_string()),
                Hint::Date(ahead) => f.header(
                    "Retry-After",
                    http_date::http_date(SystemTime::now() + Duration::from_secs(ahead)),
                ),
                Hint::Millis(ms) => f.header("retry-after-ms", ms.to_string()),
                Hint::Nothing => f,
            }
        }
        Hazard::Status(s) => Fault::status(s),
        Hazard::Reset => Fault::reset(),
        Hazard::Truncated => Fault::truncate_body(),
        Hazard::Slow => Fault::delay(SLOW),
        Hazard::Html | Hazard::BadEnvelope | Hazard::UploadCut => return None,
    };
    Some(fault.times(times))
}

fn scripted(hazard: Hazard, op: Op) -> Option<Scripted> {
    match hazard {
        Hazard::Html => Some(Scripted {
            status: 502,
            content_type: "text/html",
            body: HTML_PAGE,
        }),
        Hazard::BadEnvelope => Some(Scripted {
            status: if is_read(op) { 404 } else { 200 },
            content_type: "application/json",
            body: BAD_ENVELOPE,
        }),
        _ => None,
    }
}

fn list_key(i: usize) -> String {
    format!("{LIST_PREFIX}{i:02}")
}

/// Seeds what the operation works on, straight into the engine.
fn seed(mock: &KvMock, op: Op) {
    let engine = mock.engine();
    let ns = mock.namespace_id();
    let put = |key: &str, value: Value| {
        engine
            .seed(ns, key, value, PutOptions::new())
            .expect("seed");
    };
    match op {
        Op::PutBytes | Op::PutMetadata | Op::PutStream | Op::PutReplayable => put(KEY, OLD.into()),
        Op::Get | Op::Delete => put(KEY, new_value().into()),
        Op::List => {
            for i in 0..LIST_KEYS {
                put(&list_key(i), Value::from(format!("v{i}")));
            }
            put("other/key", "not listed".into());
        }
        Op::GetMissing | Op::BulkPut => {}
    }
}

type Chunks = Vec<Result<Bytes, std::io::Error>>;

/// The chunks of the new value; cut off with an error after two chunks when `cut`.
fn chunks(cut: bool) -> Chunks {
    let value = new_value();
    let mut out: Chunks = (0..CHUNKS)
        .map(|i| Ok(value.slice(i * CHUNK..(i + 1) * CHUNK)))
        .collect();
    if cut {
        out.truncate(2);
        out.push(Err(std::io::Error::other("the disk was unplugged")));
    }
    out
}

async fn run_op(op: Op, kv: &KvNamespace, cut_upload: bool) -> Result<Observed, Error> {
    match op {
        Op::PutBytes => kv.put(KEY, new_value()).await.map(|()| Observed::Done),
        Op::PutMetadata => kv
            .put(KEY, new_value())
            .metadata(&metadata())
            .await
            .map(|()| Observed::Done),
        Op::PutStream => {
            let body = Body::stream(futures_util::stream::iter(chunks(cut_upload)));
            kv.put(KEY, body).await.map(|()| Observed::Done)
        }
        Op::PutReplayable => {
            let made = Arc::new(AtomicU32::new(0));
            let body = Body::replayable(move || {
                let first = made.fetch_add(1, Ordering::SeqCst) == 0;
                futures_util::stream::iter(chunks(cut_upload && first))
            });
            kv.put(KEY, body).await.map(|()| Observed::Done)
        }
        Op::Get | Op::GetMissing => kv.get(KEY).bytes().await.map(Observed::Value),
        Op::List => kv
            .list()
            .prefix(LIST_PREFIX)
            .limit(10)
            .into_stream()
            .map_ok(|k| k.name)
            .try_collect()
            .await
            .map(Observed::Names),
        Op::Delete => kv.delete(KEY).await.map(|()| Observed::Done),
        Op::BulkPut => kv
            .bulk_put(
                BULK_KEYS
                    .iter()
                    .enumerate()
                    .map(|(i, k)| BulkPutItem::new(*k, Value::from(bulk_value(i)))),
            )
            .await
            .map(|r| Observed::Written(r.succeeded)),
    }
}

/// A short name of an error for the grid.
fn short(e: &Error) -> String {
    match e {
        Error::RateLimited { retry_after, .. } => match retry_after {
            Some(w) if *w < Duration::from_secs(1) => format!("429 wait {}ms", w.as_millis()),
            Some(w) => format!("429 wait {}s", w.as_secs()),
            None => "429".into(),
        },
        Error::Api {
            status,
            body: Some(_),
            ..
        } => format!("{status} page"),
        Error::Api { status, .. } => format!("Api {status}"),
        Error::NotFound { status, .. } => format!("NotFound {status}"),
        Error::Transport { .. } => "Transport".into(),
        Error::Timeout { .. } => "Timeout".into(),
        Error::Body { .. } => "Body".into(),
        Error::Decode { .. } => "Decode".into(),
        Error::NotReplayable { source, .. } => format!("NR:{}", short(source)),
        Error::BulkIncomplete { errors, .. } => match errors.first() {
            Some(first) => format!("Bulk:{}", short(first)),
            None => "Bulk".into(),
        },
        other => format!("{other:?}").chars().take(12).collect(),
    }
}

/// Whether `root` is the error this fault must give.
fn root_matches(hazard: Hazard, op: Op, root: &Error) -> bool {
    match hazard {
        Hazard::TooMany(hint) => match (hint, root) {
            (Hint::Seconds(s), Error::RateLimited { retry_after, .. }) => {
                *retry_after == Some(Duration::from_secs(s))
                    && root.codes() == [codes::INJECTED_FAULT]
            }
            (_, Error::RateLimited { .. }) => root.codes() == [codes::INJECTED_FAULT],
            _ => false,
        },
        Hazard::Status(s) => {
            matches!(root, Error::Api { status, body: None, .. } if *status == s)
                && root.codes() == [codes::INJECTED_FAULT]
                && root.is_retryable()
        }
        Hazard::Reset | Hazard::Truncated => matches!(root, Error::Transport { .. }),
        Hazard::Slow => {
            matches!(root, Error::Timeout { timeout, .. } if *timeout <= ATTEMPT_TIMEOUT)
        }
        Hazard::Html => matches!(
            root,
            Error::Api { status: 502, body: Some(b), errors, .. }
                if b.contains("502 Bad Gateway") && errors.is_empty()
        ),
        Hazard::BadEnvelope if is_read(op) => {
            matches!(root, Error::NotFound { status: 404, errors, .. } if errors.is_empty())
        }
        Hazard::BadEnvelope => matches!(root, Error::Decode { status: 200, .. }),
        Hazard::UploadCut => matches!(
            root,
            Error::Body { source, .. } if source.to_string().contains("unplugged")
        ),
    }
}

/// Checks the wrapper of an error (bulk, one-shot stream) and its context; returns the root.
fn unwrap_error<'e>(row: Row, op: Op, e: &'e Error, problems: &mut Vec<String>) -> &'e Error {
    if e.operation() != Some(op.operation()) {
        problems.push(format!("error names {:?}, not {:?}", e.operation(), op));
    }
    if !e.to_string().starts_with(op.operation().as_str()) {
        problems.push(format!("message does not name the operation: {e}"));
    }
    let expected_key = match op {
        Op::List | Op::BulkPut => None,
        _ => Some(KEY),
    };
    if e.key() != expected_key {
        problems.push(format!("error names key {:?}", e.key()));
    }
    let root = match (op, e) {
        (
            Op::BulkPut,
            Error::BulkIncomplete {
                failed_keys,
                errors,
                succeeded,
                ..
            },
        ) => {
            let failed: BTreeSet<&str> = failed_keys.iter().map(String::as_str).collect();
            if failed != BTreeSet::from(BULK_KEYS) || *succeeded != 0 || errors.len() != 1 {
                problems.push(format!("bulk error does not list every key: {e:?}"));
            }
            match errors.first() {
                Some(first) => first,
                None => e,
            }
        }
        (Op::BulkPut, _) => {
            problems.push(format!("bulk put failed without BulkIncomplete: {e:?}"));
            e
        }
        // The matrix's one-shot stream (64 KiB) ends inside kv-client's read-ahead
        // (`STREAM_REPLAY_BUFFER`), so it is sent and retried like bytes: never NotReplayable.
        // Longer streams, which stay one-shot, are tested in `client_faults.rs`.
        (Op::PutStream, Error::NotReplayable { .. }) => {
            problems.push(format!(
                "a one-shot stream shorter than the read-ahead was not retried like bytes: {e:?}"
            ));
            e
        }
        _ => e,
    };
    if let Some(a) = root.attempts().or(e.attempts())
        && a.elapsed > RETRY.deadline + TIMER_TOLERANCE
    {
        problems.push(format!("attempts took {:?}, past the deadline", a.elapsed));
    }
    if !root_matches(row.hazard, op, root) {
        problems.push(format!("wrong error for the fault: {root:?}"));
    }
    root
}

/// The keys and values the engine holds now.
fn stored(mock: &KvMock) -> Vec<(String, Bytes, Option<String>)> {
    let ns = mock.store().expect("namespace");
    let page = ns
        .list_sync(&ListOptions::new())
        .expect("list of the engine");
    page.keys
        .into_iter()
        .map(|k| {
            let entry = ns.entry(&k.name).expect("listed key has an entry");
            let meta = entry.metadata.as_ref().map(|m| m.as_json().to_owned());
            (k.name, entry.value, meta)
        })
        .collect()
}

fn metadata_json() -> String {
    Metadata::new(&metadata())
        .expect("metadata")
        .as_json()
        .to_owned()
}

/// Checks the engine's state after the call; `ok` says whether the call succeeded.
fn check_state(mock: &KvMock, op: Op, ok: bool, problems: &mut Vec<String>) {
    let state = stored(mock);
    let new = new_value();
    let describe = |s: &[(String, Bytes, Option<String>)]| -> String {
        s.iter()
            .map(|(k, v, m)| format!("{k}={}B meta={m:?}", v.len()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut bad = |why: &str| problems.push(format!("{why}: engine holds [{}]", describe(&state)));
    match op {
        Op::PutBytes | Op::PutMetadata | Op::PutStream | Op::PutReplayable => {
            let meta = (op == Op::PutMetadata).then(metadata_json);
            let is_new = state == [(KEY.to_owned(), new.clone(), meta)];
            let is_old = state == [(KEY.to_owned(), Bytes::from_static(OLD), None)];
            if ok && !is_new {
                bad("acknowledged put not stored exactly once, whole");
            } else if !ok && !is_new && !is_old {
                bad("failed put left neither the old nor the new value");
            }
        }
        Op::Get => {
            if state != [(KEY.to_owned(), new, None)] {
                bad("a read changed the store");
            }
        }
        Op::GetMissing => {
            if !state.is_empty() {
                bad("a read changed the store");
            }
        }
        Op::List => {
            let names: Vec<&str> = state.iter().map(|(k, _, _)| k.as_str()).collect();
            let mut expected: Vec<String> = (0..LIST_KEYS).map(list_key).collect();
            expected.push("other/key".into());
            if names != expected {
                bad("a list changed the store");
            }
        }
        Op::Delete => {
            let gone = state.is_empty();
            let kept = state == [(KEY.to_owned(), new, None)];
            let acceptable = gone || (!ok && kept);
            if !acceptable {
                bad("delete left a wrong state");
            }
        }
        Op::BulkPut => {
            let all_right = state.iter().all(|(k, v, m)| {
                BULK_KEYS
                    .iter()
                    .position(|b| b == k)
                    .is_some_and(|i| *v == bulk_value(i) && m.is_none())
            });
            if !all_right || (ok && state.len() != BULK_KEYS.len()) {
                bad("bulk put left a wrong state");
            }
        }
    }
}

/// After a success, reads the result back through a client talking to the mock directly.
async fn check_readable(mock: &KvMock, op: Op, observed: &Observed, problems: &mut Vec<String>) {
    let kv = client(mock.base_url(), mock);
    match op {
        Op::PutBytes | Op::PutMetadata | Op::PutStream | Op::PutReplayable => {
            let read = kv.get(KEY).bytes().await.expect("read back");
            if read != Some(new_value()) {
                problems.push("the written value does not read back".into());
            }
            let meta: Option<Option<serde_json::Value>> =
                kv.metadata(KEY).await.expect("metadata back");
            let expected = (op == Op::PutMetadata).then(metadata);
            if meta != Some(expected) {
                problems.push(format!("metadata reads back as {meta:?}"));
            }
        }
        Op::Get => {
            if !matches!(observed, Observed::Value(Some(v)) if *v == new_value()) {
                problems.push("get returned a wrong value".into());
            }
        }
        Op::GetMissing => {
            if !matches!(observed, Observed::Value(None)) {
                problems.push(format!("get of a missing key returned {observed:?}"));
            }
        }
        Op::List => {
            let expected: Vec<String> = (0..LIST_KEYS).map(list_key).collect();
            if !matches!(observed, Observed::Names(n) if *n == expected) {
                problems.push(format!("list returned {observed:?}"));
            }
        }
        Op::Delete => {
            if kv.get(KEY).bytes().await.expect("read back").is_some() {
                problems.push("deleted key still reads".into());
            }
        }
        Op::BulkPut => {
            if !matches!(observed, Observed::Written(n) if *n == BULK_KEYS.len() as u64) {
                problems.push(format!("bulk put reported {observed:?}"));
            }
            for (i, key) in BULK_KEYS.iter().enumerate() {
                let read = kv.get(*key).bytes().await.expect("read back");
                if read != Some(bulk_value(i)) {
                    problems.push(format!("{key} does not read back"));
                }
            }
        }
    }
}

async fn run_cell(row: Row, op: Op) -> CellReport {
    let expected = expect(row, op);
    if expected == Expect::NotApplicable {
        return CellReport {
            text: "-".into(),
            problems: Vec::new(),
        };
    }
    let mock = KvMock::builder()
        .rate_limit(false)
        .start()
        .await
        .expect("mock starts");
    seed(&mock, op);
    if let Some(fault) = mock_fault(row.hazard, row.times) {
        mock.inject(fault);
    }
    let proxy = match scripted(row.hazard, op) {
        Some(s) => Some(FaultProxy::start(&mock, s, row.times).await),
        None => None,
    };
    let base_url = proxy.as_ref().map_or(mock.base_url(), |p| p.base_url());
    let kv = client(base_url, &mock);

    let started = Instant::now();
    let result = run_op(op, &kv, row.hazard == Hazard::UploadCut).await;
    let took = started.elapsed();

    if row.hazard == Hazard::Slow {
        // Let a request still sleeping in the mock finish, so a late write would show.
        tokio::time::sleep(SLOW + Duration::from_millis(300)).await;
    }
    mock.clear_faults();
    if let Some(p) = &proxy {
        p.heal();
    }
    let requests = mock.requests().len() + proxy.as_ref().map_or(0, |p| p.served());

    let mut problems = Vec::new();
    if took > RETRY.deadline + SLACK {
        problems.push(format!(
            "took {took:?}, past the deadline {:?}",
            RETRY.deadline
        ));
    }
    let text = match &result {
        Ok(observed) => {
            if expected != Expect::Succeeds {
                problems.push(format!("succeeded, expected an error: {observed:?}"));
            }
            if let Hazard::TooMany(_) = row.hazard {
                let floor = RATE_LIMIT_FLOOR * row.times;
                if took < floor {
                    problems.push(format!("did not wait out the 429s: {took:?} < {floor:?}"));
                }
            }
            check_state(&mock, op, true, &mut problems);
            check_readable(&mock, op, observed, &mut problems).await;
            format!("ok {requests}req")
        }
        Err(e) => {
            if expected == Expect::Succeeds {
                problems.push(format!("failed: {e}"));
            }
            unwrap_error(row, op, e, &mut problems);
            check_state(&mock, op, false, &mut problems);
            let attempts = match e {
                Error::BulkIncomplete { errors, .. } => errors.first().and_then(Error::attempts),
                _ => e.attempts(),
            }
            .map_or(0, |a| a.count);
            format!("{} x{attempts}", short(e))
        }
    };
    let text = if problems.is_empty() {
        format!("{text} ")
    } else {
        format!("!{text}")
    };
    CellReport { text, problems }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fault_matrix() {
    let permits = Arc::new(Semaphore::new(PARALLEL_CELLS));
    let mut cells = Vec::new();
    for row in ROWS {
        for op in OPS {
            let permits = Arc::clone(&permits);
            cells.push(tokio::spawn(async move {
                let _permit = permits.acquire_owned().await.expect("semaphore open");
                run_cell(row, op).await
            }));
        }
    }
    let mut reports = Vec::new();
    for cell in cells {
        reports.push(cell.await.expect("cell task"));
    }

    const LABEL: usize = 28;
    const CELL: usize = 23;
    let mut grid = format!("{:<LABEL$}", "fault \\ operation");
    for op in OPS {
        let _ = write!(grid, "{:<CELL$}", op.label());
    }
    grid.push('\n');
    let mut problems = Vec::new();
    let mut reports = reports.into_iter();
    for row in ROWS {
        let _ = write!(grid, "{:<LABEL$}", row.label);
        for op in OPS {
            let report = reports.next().expect("one report per cell");
            let _ = write!(grid, "{:<CELL$}", report.text);
            for p in report.problems {
                problems.push(format!("[{} x {}] {p}", row.label, op.label()));
            }
        }
        grid.push('\n');
    }
    println!(
        "\n{grid}\nok Nreq: succeeded, N requests answered by the server; ERR xN: the typed error after \
         N attempts; -: not applicable; !: the cell broke a rule (see \
         below)\n"
    );
    assert!(
        problems.is_empty(),
        "{} cells broke a rule:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Reading a missing key (value or metadata) whose 404
/// answer is cut short must retry and find the key missing, not fail with `NotFound` (which
/// means the namespace does not exist).
#[tokio::test]
async fn truncated_not_found_body_is_retried() {
    let mock = KvMock::builder()
        .rate_limit(false)
        .start()
        .await
        .expect("mock starts");
    let kv = client(mock.base_url(), &mock);
    mock.inject(Fault::truncate_body());
    let read = kv.get("missing").bytes().await;
    assert!(matches!(read, Ok(None)), "get: {read:?}");
    mock.inject(Fault::truncate_body());
    let meta = kv.metadata::<serde_json::Value>("missing").await;
    assert!(matches!(meta, Ok(None)), "metadata: {meta:?}");
}

/// A write attempt that timed out must not land after the retry that was acknowledged and a
/// newer write. kv-mock drops a delayed request when its client closes the connection; it used
/// to apply one anyway when its body was chunked multipart (a put with metadata and a streamed
/// value), since it read the body only after the delay and so never saw the connection close:
/// the stale first attempt then overwrote the newer acknowledged write. (The client does close
/// the connection at the timeout.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_out_streamed_multipart_put_does_not_land_late() {
    let mock = KvMock::builder()
        .rate_limit(false)
        .start()
        .await
        .expect("mock starts");
    let kv = client(mock.base_url(), &mock);
    mock.inject(Fault::delay(SLOW));
    let first = Bytes::from_static(b"first");
    kv.put(
        KEY,
        Body::replayable(move || {
            futures_util::stream::iter([Ok::<_, std::io::Error>(first.clone())])
        }),
    )
    .metadata(&metadata())
    .await
    .expect("the first write is acknowledged after a retry");
    kv.put(KEY, "second")
        .await
        .expect("the second write is acknowledged");
    tokio::time::sleep(SLOW + Duration::from_millis(500)).await;
    let stored = mock
        .engine()
        .entry(mock.namespace_id(), KEY)
        .map(|e| e.value);
    assert_eq!(
        stored,
        Some(Bytes::from_static(b"second")),
        "the newer acknowledged write stays; requests: {:?}",
        mock.requests()
    );
}
