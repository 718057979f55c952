//! The writer thread: the one owner of the database connection. Callers send it jobs and wait
//! for its answer; it takes every job waiting (up to [`MAX_GROUP`]), runs them in one
//! transaction (group commit), and only after the commit applies them to the in-memory read
//! views and answers. So a reader never sees a write that is not committed, and the views
//! change in commit order.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};

use rusqlite::{Connection, Transaction, params};

use super::super::entry::Entry;
use super::super::memory::MemoryNamespace;
use super::super::storage::{Frozen, NamespaceStorage, StorageError, Write};

/// Most jobs committed in one transaction.
const MAX_GROUP: usize = 4096;

/// A namespace as the writer knows it: its row, its read view, whether it was dropped.
#[derive(Debug)]
pub(super) struct NsState {
    /// `namespaces.ns`.
    pub(super) row: i64,
    /// Every committed entry, for reads.
    pub(super) view: MemoryNamespace,
    /// Set by the writer when the namespace is dropped; later jobs on it fail with `Gone`.
    gone: AtomicBool,
}

impl NsState {
    pub(super) fn new(row: i64) -> Arc<NsState> {
        Arc::new(NsState {
            row,
            view: MemoryNamespace::default(),
            gone: AtomicBool::new(false),
        })
    }
}

/// What a job does.
#[derive(Debug)]
pub(super) enum Op {
    /// Applies writes to a namespace, atomically, at `now`.
    Write {
        ns: Arc<NsState>,
        batch: Vec<Write>,
        now: u64,
    },
    /// Removes the entries of a namespace that expired at `now`.
    Sweep { ns: Arc<NsState>, now: u64 },
    /// Removes every entry of a namespace.
    Clear { ns: Arc<NsState> },
    /// Replaces every entry of a namespace with the live ones of a snapshot (a rewrite of the
    /// rows that differ, in the group's one transaction).
    Restore {
        ns: Arc<NsState>,
        frozen: Frozen,
        now: u64,
    },
    /// Stores a namespace's new title.
    Rename { ns: Arc<NsState>, title: String },
    /// Removes a namespace and its entries.
    Drop { ns: Arc<NsState> },
    /// Stores a new namespace; answers its row.
    Create { id: String, title: String },
    /// Stores a setting (`settings` table).
    Set { name: &'static str, value: String },
}

struct Job {
    op: Op,
    reply: Reply,
}

/// A job's answer: its row (for `Create`), or why it failed.
type Answer = Result<i64, StorageError>;

/// Where a job's answer goes: a thread blocked on it, or a task awaiting it.
enum Reply {
    Blocking(mpsc::SyncSender<Answer>),
    Async(tokio::sync::oneshot::Sender<Answer>),
}

impl Reply {
    fn send(self, answer: Answer) {
        // A caller that went away does not need its answer.
        let _ = match self {
            Reply::Blocking(tx) => tx.send(answer).map_err(drop),
            Reply::Async(tx) => tx.send(answer).map_err(drop),
        };
    }
}

/// The sending side of the writer thread; clones share the thread, which stops when the last
/// clone is dropped.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.op.fmt(f)
    }
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub(super) fn start(conn: Connection) -> Result<Writer, StorageError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("kv-mock-sqlite-writer".into())
            .spawn(move || run(conn, queue))
            .map_err(|e| StorageError::io(format!("could not start the writer thread: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Runs `op` and waits until it is committed (or refused). Waiting blocks the calling
    /// thread; on a multi-threaded tokio runtime it does so through `block_in_place`, so the
    /// runtime moves its other tasks to another worker meanwhile.
    pub(super) fn run(&self, op: Op) -> Result<i64, StorageError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(op, Reply::Blocking(reply))?;
        let wait = move || answer.recv();
        let answered = match tokio::runtime::Handle::try_current() {
            Ok(rt) if rt.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        };
        answered.map_err(|_| StorageError::io("the writer thread stopped"))?
    }

    /// Hands `op` to the writer now; the future resolves once it is committed (or refused),
    /// blocking no thread meanwhile.
    pub(super) fn run_async(
        &self,
        op: Op,
    ) -> impl std::future::Future<Output = Result<i64, StorageError>> + Send + 'static {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let sent = self.send(op, Reply::Async(reply));
        async move {
            sent?;
            answer
                .await
                .map_err(|_| StorageError::io("the writer thread stopped"))?
        }
    }

    fn send(&self, op: Op, reply: Reply) -> Result<(), StorageError> {
        self.jobs
            .send(Job { op, reply })
            .map_err(|_| StorageError::io("the writer thread stopped"))
    }
}

/// The writer thread's loop: one transaction per group of waiting jobs.
fn run(mut conn: Connection, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let answers = match commit(&mut conn, &group) {
            Ok(answers) => answers,
            Err(e) => {
                tracing::error!(error = %e, jobs = group.len(), "kv-mock could not commit to its database");
                let failed = StorageError::io(e.to_string());
                group.iter().map(|_| Err(failed.clone())).collect()
            }
        };
        let committed = started.elapsed();
        let jobs = group.len();
        for (job, answer) in group.into_iter().zip(answers) {
            if answer.is_ok() {
                apply(job.op);
            }
            job.reply.send(answer);
        }
        tracing::trace!(
            jobs,
            commit_us = committed.as_micros(),
            total_us = started.elapsed().as_micros(),
            "kv-mock committed a group"
        );
    }
}

/// Runs the jobs' statements in one transaction and commits it: each job's answer, or the
/// error that rolled the whole group back.
fn commit(conn: &mut Connection, group: &[Job]) -> Result<Vec<Answer>, rusqlite::Error> {
    let tx = conn.transaction()?;
    let mut answers = Vec::with_capacity(group.len());
    for job in group {
        answers.push(statements(&tx, &job.op)?);
    }
    tx.commit()?;
    Ok(answers)
}

/// Clamps epoch seconds into SQLite's integer.
fn to_sql_time(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

fn put(tx: &Transaction<'_>, row: i64, key: &str, entry: &Entry) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO entries (ns, key, value, metadata, expiration) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value,
             metadata = excluded.metadata, expiration = excluded.expiration",
    )?
    .execute(params![
        row,
        key,
        &entry.value[..],
        entry.metadata.as_ref().map(|m| m.as_json()),
        entry.expiration.map(to_sql_time),
    ])?;
    Ok(())
}

/// A restore's statements: every row of the namespace rewritten from the snapshot. (Writing
/// only the rows that differ from the in-memory view was tried: a single PUT's view is updated
/// by its awaiting task after the commit, so the view can lag the file and such a diff missed
/// rows; a racing test caught it.)
fn restore(
    tx: &Transaction<'_>,
    ns: &Arc<NsState>,
    frozen: &Frozen,
    now: u64,
) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM entries WHERE ns = ?1")?
        .execute([ns.row])?;
    for (key, entry) in frozen.live(now) {
        put(tx, ns.row, key, entry)?;
    }
    Ok(())
}

/// One job's statements. `Ok(Err(Gone))` for a job on a dropped namespace (nothing done).
fn statements(tx: &Transaction<'_>, op: &Op) -> rusqlite::Result<Answer> {
    let ns = match op {
        Op::Write { ns, .. }
        | Op::Sweep { ns, .. }
        | Op::Clear { ns }
        | Op::Restore { ns, .. }
        | Op::Rename { ns, .. }
        | Op::Drop { ns } => Some(ns),
        Op::Create { .. } | Op::Set { .. } => None,
    };
    if ns.is_some_and(|ns| ns.gone.load(Ordering::SeqCst)) {
        return Ok(Err(StorageError::Gone));
    }
    match op {
        Op::Write { ns, batch, .. } => {
            for write in batch {
                match write {
                    Write::Put { key, entry } => put(tx, ns.row, key, entry)?,
                    Write::Delete { key } => {
                        tx.prepare_cached("DELETE FROM entries WHERE ns = ?1 AND key = ?2")?
                            .execute(params![ns.row, key])?;
                    }
                }
            }
        }
        Op::Sweep { ns, now } => {
            tx.prepare_cached(
                "DELETE FROM entries WHERE expiration <= ?2 AND expiration IS NOT NULL AND ns = ?1",
            )?
            .execute(params![ns.row, to_sql_time(*now)])?;
        }
        Op::Clear { ns } => {
            tx.prepare_cached("DELETE FROM entries WHERE ns = ?1")?
                .execute([ns.row])?;
        }
        Op::Restore { ns, frozen, now } => restore(tx, ns, frozen, *now)?,
        Op::Rename { ns, title } => {
            tx.prepare_cached("UPDATE namespaces SET title = ?2 WHERE ns = ?1")?
                .execute(params![ns.row, title])?;
        }
        Op::Drop { ns } => {
            tx.prepare_cached("DELETE FROM entries WHERE ns = ?1")?
                .execute([ns.row])?;
            tx.prepare_cached("DELETE FROM namespaces WHERE ns = ?1")?
                .execute([ns.row])?;
            ns.gone.store(true, Ordering::SeqCst);
        }
        Op::Create { id, title } => {
            tx.prepare_cached("INSERT INTO namespaces (id, title) VALUES (?1, ?2)")?
                .execute(params![id, title])?;
            return Ok(Ok(tx.last_insert_rowid()));
        }
        Op::Set { name, value } => {
            tx.prepare_cached("INSERT OR REPLACE INTO settings (name, value) VALUES (?1, ?2)")?
                .execute(params![name, value])?;
        }
    }
    Ok(Ok(0))
}

/// Applies a committed job to its read view.
fn apply(op: Op) {
    // The views fail only once dropped, which the writer checked before committing.
    let _ = match op {
        Op::Write { ns, batch, now } => ns.view.write(batch, now),
        Op::Sweep { ns, now } => ns.view.sweep(now),
        Op::Clear { ns } => ns.view.clear(),
        Op::Restore { ns, frozen, now } => ns.view.restore(&frozen, now),
        Op::Drop { ns } => {
            ns.view.drop_namespace();
            Ok(())
        }
        Op::Rename { .. } | Op::Create { .. } | Op::Set { .. } => Ok(()),
    };
}
