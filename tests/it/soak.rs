//! Soak: many tasks run mixed operations through the client against kv-mock over loopback for
//! a long time, with about 5% of operations hit by an injected fault, and check that no
//! acknowledged write is lost and that memory stays flat.
//!
//! Ignored by default (it runs for minutes). Run it with
//!
//! ```text
//! SOAK_SECS=600 cargo test -p edge-kv --test it soak -- --ignored --nocapture
//! ```
//!
//! Settings (environment): `SOAK_SECS` (default 600), `SOAK_TASKS` (default 32), `SOAK_MAX_OPS`
//! (default 20,000,000: the run also stops there, so requests are bounded).
//!
//! How it checks: each task owns its keys, so the operations on a key are sequential and a model
//! per task knows what each key may hold: after an acknowledged write or delete, exactly that;
//! after a failed one, also the failed write (it may or may not have landed). Every read during
//! the run, and every key in the mock's engine at the end, must be one of those states, and a
//! key whose last operation was acknowledged must hold exactly that write (with its metadata).
//! Memory is the process's resident set (client and mock both), sampled from /proc/self/status.

use crate::kit;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use edge_kv::client::{Body, BulkPutItem, Error, KvNamespace, RetryConfig};
use edge_kv::mock::{Fault, FaultMatch, KvMock};
use edge_kv::types::{ListOptions, Metadata, Value};
use futures_util::TryStreamExt;

/// Keys owned by each task.
const KEYS_PER_TASK: u64 = 100;
/// One operation in this many injects a fault into the next request (about 5%).
const FAULT_EVERY: u64 = 20;
/// How often memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small xorshift generator: no dependency, reproducible per task.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A write: the task and its sequence number; the value and metadata follow from them.
type Write = (u64, u64);

fn header(w: Write) -> String {
    format!("t{:02}s{:09};", w.0, w.1)
}

/// The value of a write: a header naming it, then `len` bytes that depend on it.
fn value_of(w: Write, len: usize) -> Bytes {
    let mut v = header(w).into_bytes();
    v.extend((0..len as u64).map(|j| ((j * 2_654_435_761 + w.1 * 7 + w.0) % 251) as u8));
    Bytes::from(v)
}

fn metadata_of(w: Write) -> serde_json::Value {
    serde_json::json!({"t": w.0, "s": w.1})
}

/// The write a stored value is, if it is one, whole.
fn parse_value(bytes: &[u8]) -> Option<Write> {
    let end = bytes.iter().position(|b| *b == b';')?;
    let text = std::str::from_utf8(&bytes[..end]).ok()?;
    let (t, s) = text.strip_prefix('t')?.split_once('s')?;
    let w = (t.parse().ok()?, s.parse().ok()?);
    (value_of(w, bytes.len() - end - 1).as_ref() == bytes).then_some(w)
}

/// What a key may hold: `None` is absent.
type States = Vec<Option<Write>>;

#[derive(Debug, Default)]
struct Counters {
    ops: AtomicU64,
    faults: AtomicU64,
    acked_writes: AtomicU64,
    acked_deletes: AtomicU64,
    reads: AtomicU64,
    lists: AtomicU64,
    failed_ops: AtomicU64,
    not_replayable: AtomicU64,
}

/// One task's view of its keys.
struct Model {
    keys: BTreeMap<String, States>,
    problems: Vec<String>,
}

impl Model {
    fn states(&self, key: &str) -> &[Option<Write>] {
        self.keys.get(key).map_or(&[None], Vec::as_slice)
    }

    fn acked(&mut self, key: &str, state: Option<Write>) {
        self.keys.insert(key.to_owned(), vec![state]);
    }

    fn uncertain(&mut self, key: &str, state: Option<Write>) {
        let entry = self
            .keys
            .entry(key.to_owned())
            .or_insert_with(|| vec![None]);
        if !entry.contains(&state) {
            entry.push(state);
        }
    }

    fn check_read(&mut self, key: &str, read: Option<&[u8]>) {
        let seen = match read {
            None => None,
            Some(bytes) => match parse_value(bytes) {
                Some(w) => Some(w),
                None => {
                    self.problems.push(format!(
                        "read {key}: a value of {} bytes that no write made whole",
                        bytes.len()
                    ));
                    return;
                }
            },
        };
        if !self.states(key).contains(&seen) {
            self.problems.push(format!(
                "read {key}: {seen:?}, expected one of {:?}",
                self.states(key)
            ));
        }
    }
}

/// Whether an error is one a faulty network or service can cause (after the retries).
fn expected_failure(e: &Error) -> bool {
    match e {
        Error::NotReplayable { .. } => true,
        Error::BulkIncomplete { errors, .. } => errors.iter().all(expected_failure),
        Error::RateLimited { .. }
        | Error::Transport { .. }
        | Error::Timeout { .. }
        | Error::Api { .. } => e.is_retryable(),
        _ => false,
    }
}

struct Worker {
    task: u64,
    kv: KvNamespace,
    mock: Arc<KvMock>,
    counters: Arc<Counters>,
    stop_at: Instant,
    max_ops: u64,
    rng: Rng,
    seq: u64,
    model: Model,
}

impl Worker {
    fn key(&self, i: u64) -> String {
        format!("t{:02}/k{i:03}", self.task)
    }

    fn random_key(&mut self) -> String {
        let i = self.rng.below(KEYS_PER_TASK);
        self.key(i)
    }

    fn next_write(&mut self) -> Write {
        self.seq += 1;
        (self.task, self.seq)
    }

    fn maybe_inject(&mut self) {
        let n = self.counters.ops.fetch_add(1, Ordering::SeqCst) + 1;
        if !n.is_multiple_of(FAULT_EVERY) {
            return;
        }
        let fault = match self.rng.below(10) {
            0 => Fault::status(500),
            1 => Fault::status(502),
            2 => Fault::status(503),
            3 => Fault::status(504),
            4 => Fault::status(429).header("Retry-After", "1"),
            5 => Fault::status(429),
            6 => Fault::reset(),
            7 => Fault::truncate_body(),
            8 => Fault::delay(Duration::from_millis(200)),
            // Past the attempt timeout: only for reads. A write attempt that times out may still
            // be applied later and overwrite a newer acknowledged write (kv-mock does this for
            // chunked multipart bodies, and a real network can too): no client can rule that
            // out, so it is shown by its own test, not counted as a loss here.
            _ => Fault::delay(Duration::from_millis(2500)).matching(FaultMatch::method("GET")),
        };
        self.mock.inject(fault);
        self.counters.faults.fetch_add(1, Ordering::SeqCst);
    }

    fn failed(&mut self, what: &str, e: &Error) {
        self.counters.failed_ops.fetch_add(1, Ordering::SeqCst);
        if matches!(e, Error::NotReplayable { .. }) {
            self.counters.not_replayable.fetch_add(1, Ordering::SeqCst);
        }
        if !expected_failure(e) {
            self.model
                .problems
                .push(format!("{what}: unexpected error {e}"));
        }
    }

    async fn put(&mut self) {
        let key = self.random_key();
        let w = self.next_write();
        let len = self.rng.below(8192) as usize;
        let value = value_of(w, len);
        let body = match self.rng.below(3) {
            0 => Body::from(value),
            1 => {
                let chunks: Vec<Result<Bytes, std::io::Error>> = value
                    .chunks(1024)
                    .map(|c| Ok(Bytes::copy_from_slice(c)))
                    .collect();
                Body::stream(futures_util::stream::iter(chunks))
            }
            _ => Body::replayable(move || {
                let chunks: Vec<Result<Bytes, std::io::Error>> = value
                    .chunks(1500)
                    .map(|c| Ok(Bytes::copy_from_slice(c)))
                    .collect();
                futures_util::stream::iter(chunks)
            }),
        };
        match self.kv.put(&key, body).metadata(&metadata_of(w)).await {
            Ok(()) => {
                self.counters.acked_writes.fetch_add(1, Ordering::SeqCst);
                self.model.acked(&key, Some(w));
            }
            Err(e) => {
                self.model.uncertain(&key, Some(w));
                self.failed("put", &e);
            }
        }
    }

    async fn delete(&mut self) {
        let key = self.random_key();
        match self.kv.delete(&key).await {
            Ok(()) => {
                self.counters.acked_deletes.fetch_add(1, Ordering::SeqCst);
                self.model.acked(&key, None);
            }
            Err(e) => {
                self.model.uncertain(&key, None);
                self.failed("delete", &e);
            }
        }
    }

    async fn get(&mut self) {
        let key = self.random_key();
        match self.kv.get(&key).bytes().await {
            Ok(read) => {
                self.counters.reads.fetch_add(1, Ordering::SeqCst);
                self.model.check_read(&key, read.as_deref());
            }
            Err(e) => self.failed("get", &e),
        }
    }

    async fn list(&mut self) {
        let limit = 10 + self.rng.below(91) as u32;
        let prefix = format!("t{:02}/", self.task);
        let listed: Result<Vec<String>, Error> = self
            .kv
            .list()
            .prefix(prefix)
            .limit(limit)
            .into_stream()
            .map_ok(|k| k.name)
            .try_collect()
            .await;
        match listed {
            Ok(names) => {
                self.counters.lists.fetch_add(1, Ordering::SeqCst);
                if names.windows(2).any(|w| w[0] >= w[1]) {
                    self.model
                        .problems
                        .push("list: names out of order or repeated".into());
                }
                let names: BTreeSet<&String> = names.iter().collect();
                for (key, states) in &self.model.keys {
                    let present = names.contains(key);
                    let ok = if present {
                        states.iter().any(Option::is_some)
                    } else {
                        states.contains(&None)
                    };
                    if !ok {
                        self.model.problems.push(format!(
                            "list: {key} present={present}, expected one of {states:?}"
                        ));
                    }
                }
                for name in names {
                    if !self.model.keys.contains_key(name) {
                        self.model
                            .problems
                            .push(format!("list: {name} was never written"));
                    }
                }
            }
            Err(e) => self.failed("list", &e),
        }
    }

    async fn bulk_put(&mut self) {
        let mut picked = BTreeSet::new();
        while picked.len() < 5 {
            picked.insert(self.rng.below(KEYS_PER_TASK));
        }
        let mut items = Vec::new();
        let mut writes = Vec::new();
        for i in picked {
            let key = self.key(i);
            let w = self.next_write();
            let len = self.rng.below(2048) as usize;
            let meta = Metadata::new(&metadata_of(w)).expect("metadata");
            items.push(BulkPutItem::new(key.clone(), Value::from(value_of(w, len))).metadata(meta));
            writes.push((key, w));
        }
        match self.kv.bulk_put(items).await {
            Ok(_) => {
                for (key, w) in writes {
                    self.counters.acked_writes.fetch_add(1, Ordering::SeqCst);
                    self.model.acked(&key, Some(w));
                }
            }
            Err(e) => {
                let failed: BTreeSet<&str> = e.failed_keys().iter().map(String::as_str).collect();
                for (key, w) in writes {
                    if failed.contains(key.as_str()) {
                        self.model.uncertain(&key, Some(w));
                    } else {
                        self.counters.acked_writes.fetch_add(1, Ordering::SeqCst);
                        self.model.acked(&key, Some(w));
                    }
                }
                self.failed("bulk put", &e);
            }
        }
    }

    async fn run(mut self) -> Model {
        while Instant::now() < self.stop_at
            && self.counters.ops.load(Ordering::SeqCst) < self.max_ops
        {
            self.maybe_inject();
            match self.rng.below(100) {
                0..40 => self.put().await,
                40..50 => self.delete().await,
                50..80 => self.get().await,
                80..90 => self.list().await,
                _ => self.bulk_put().await,
            }
        }
        self.model
    }
}

/// The resident set size of this process, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Checks the engine's final state against every task's model; returns the problems and the
/// number of acknowledged writes still in place.
fn verify_final(mock: &KvMock, models: &[(u64, Model)]) -> (Vec<String>, u64) {
    let ns = mock.store().expect("namespace");
    let mut problems = Vec::new();
    let mut kept = 0;
    for (_, model) in models {
        for (key, states) in &model.keys {
            let entry = ns.entry(key);
            let stored = match &entry {
                None => None,
                Some(e) => match parse_value(&e.value) {
                    Some(w) => {
                        let meta = e.metadata.as_ref().and_then(|m| m.decode().ok());
                        if meta != Some(metadata_of(w)) {
                            problems.push(format!("{key}: metadata {meta:?} is not its write's"));
                        }
                        Some(w)
                    }
                    None => {
                        problems.push(format!("{key}: a value no write made whole"));
                        continue;
                    }
                },
            };
            if !states.contains(&stored) {
                problems.push(format!(
                    "{key}: holds {stored:?}, expected one of {states:?}"
                ));
            } else if states.len() == 1 && states[0].is_some() {
                kept += 1;
            }
        }
    }
    let mut listed = 0;
    let mut cursor = None;
    loop {
        let mut options = ListOptions::new();
        if let Some(c) = cursor.take() {
            options = options.cursor(c);
        }
        let page = ns.list_sync(&options).expect("engine list");
        listed += page.keys.len();
        match page.cursor {
            Some(c) if !c.is_empty() => cursor = Some(c),
            _ => break,
        }
    }
    let expected = models
        .iter()
        .flat_map(|(_, m)| m.keys.keys())
        .filter(|k| ns.entry(k).is_some())
        .count();
    if listed != expected {
        problems.push(format!(
            "the engine lists {listed} keys, {expected} expected"
        ));
    }
    (problems, kept)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "soak: runs for SOAK_SECS (default 600) seconds"]
async fn soak_mixed_operations_with_faults() {
    let secs = env_u64("SOAK_SECS", 600);
    let tasks = env_u64("SOAK_TASKS", 32);
    let max_ops = env_u64("SOAK_MAX_OPS", 20_000_000);
    let mock = Arc::new(kit::start_mock(KvMock::builder()).await);
    let kv = kit::client_builder(&mock)
        .attempt_timeout(Duration::from_secs(2))
        .retry(RetryConfig {
            max_retries: 10,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            deadline: Duration::from_secs(20),
        })
        .build()
        .expect("client")
        .namespace(mock.namespace_id());
    let counters = Arc::new(Counters::default());
    let started = Instant::now();
    let stop_at = started + Duration::from_secs(secs);
    let workers: Vec<_> = (0..tasks)
        .map(|task| {
            let worker = Worker {
                task,
                kv: kv.clone(),
                mock: Arc::clone(&mock),
                counters: Arc::clone(&counters),
                stop_at,
                max_ops,
                rng: Rng(0x9E37_79B9_7F4A_7C15 ^ (task + 1).wrapping_mul(0x2545_F491_4F6C_DD1D)),
                seq: 0,
                model: Model {
                    keys: BTreeMap::new(),
                    problems: Vec::new(),
                },
            };
            tokio::spawn(worker.run())
        })
        .collect();

    // Sample memory, and count (then forget) the request log so it does not grow.
    let mut samples: Vec<(u64, u64)> = Vec::new();
    let mut requests = 0u64;
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    while Instant::now() < stop_at && !workers.iter().all(|w| w.is_finished()) {
        tokio::time::sleep(SAMPLE_EVERY.min(stop_at.saturating_duration_since(Instant::now())))
            .await;
        let log = mock.requests();
        mock.clear_requests();
        requests += log.len() as u64;
        for r in &log {
            *statuses.entry(r.status).or_default() += 1;
        }
        samples.push((started.elapsed().as_secs(), rss_kib()));
    }
    let mut models = Vec::new();
    for (task, worker) in workers.into_iter().enumerate() {
        models.push((task as u64, worker.await.expect("worker task")));
    }
    mock.clear_faults();
    let log = mock.requests();
    requests += log.len() as u64;
    for r in &log {
        *statuses.entry(r.status).or_default() += 1;
    }
    let elapsed = started.elapsed();

    let (final_problems, kept) = verify_final(&mock, &models);
    let run_problems: Vec<String> = models
        .iter()
        .flat_map(|(t, m)| m.problems.iter().map(move |p| format!("task {t}: {p}")))
        .collect();

    let c = &counters;
    let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
    let warm = samples.len() / 5;
    let baseline = samples.get(warm).map_or(0, |s| s.1);
    let peak_after = samples.iter().skip(warm).map(|s| s.1).max().unwrap_or(0);
    let last = samples.last().map_or(0, |s| s.1);
    println!("soak: {tasks} tasks for {elapsed:.1?} (SOAK_SECS={secs})");
    println!(
        "operations {} (puts+bulk items acked {}, deletes acked {}, reads {}, lists {}), \
         failed after retries {} (of which one-shot streams not replayable {})",
        get(&c.ops),
        get(&c.acked_writes),
        get(&c.acked_deletes),
        get(&c.reads),
        get(&c.lists),
        get(&c.failed_ops),
        get(&c.not_replayable)
    );
    println!(
        "requests {requests}, faults injected {} ({:.2}% of requests), statuses {statuses:?}",
        get(&c.faults),
        100.0 * get(&c.faults) as f64 / requests.max(1) as f64
    );
    println!(
        "keys whose last write was acknowledged and is in place: {kept}; problems: {} during the \
         run, {} at the end",
        run_problems.len(),
        final_problems.len()
    );
    println!(
        "RSS KiB: after warm-up ({}s) {baseline}, peak after warm-up {peak_after}, last {last}",
        samples.get(warm).map_or(0, |s| s.0)
    );
    println!("RSS samples (s, KiB): {samples:?}");

    let mut all = run_problems;
    all.extend(final_problems);
    assert!(
        all.is_empty(),
        "{} problems, the first: {:?}",
        all.len(),
        all.iter().take(20).collect::<Vec<_>>()
    );
    assert!(get(&c.acked_writes) > 0 && get(&c.faults) > 0);
    // Memory is flat: after warm-up it grows by at most a quarter plus 32 MiB.
    assert!(
        peak_after <= baseline + baseline / 4 + 32 * 1024,
        "memory grew from {baseline} KiB to {peak_after} KiB"
    );
}
