//! [`Harness`]: the store under test and what the suite may assume about it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::key::Key;
use crate::limits::Limits;
use crate::store::KvStore;

/// A clock the suite can move: the clock the store under test reads for expiry, TTL checks and
/// its write limit. Fakes have one (kv-mock's `Clock`); the real service does not.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::time::Duration;
/// use kv_types::conformance::MovableClock;
///
/// struct Manual(AtomicU64);
///
/// impl MovableClock for Manual {
///     fn now_secs(&self) -> u64 {
///         self.0.load(Ordering::SeqCst)
///     }
///     fn advance(&self, by: Duration) {
///         self.0.fetch_add(by.as_secs(), Ordering::SeqCst);
///     }
/// }
///
/// let clock = Manual(AtomicU64::new(1_700_000_000));
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now_secs(), 1_700_000_060);
/// ```
pub trait MovableClock: Send + Sync {
    /// Now on the store's clock, in whole seconds since the Unix epoch.
    fn now_secs(&self) -> u64;

    /// Moves the store's clock forward by `by`.
    fn advance(&self, by: Duration);
}

/// Whether the store under test enforces the contract's one write per second per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteLimit {
    /// Enforced: a second write to a key within a second is refused with
    /// [`ErrorKind::RateLimited`](crate::ErrorKind::RateLimited). The suite checks it, and waits
    /// (or moves the clock) one second between two writes of one key elsewhere.
    Enforced,
    /// Off (a fake configured without it): the suite writes keys back to back and checks that
    /// nothing refuses them.
    Off,
    /// May apply but is not reliably observable (the real service): not checked, and the suite
    /// still waits one second between two writes of one key.
    MayApply,
}

/// The store under test and what the suite may assume about it: the limits it enforces, a clock
/// the suite can move (optional), whether it enforces the per-key write limit, and the key prefix
/// every check writes under.
///
/// Checks never assume an empty namespace: each one writes under its own prefix
/// (`<prefix><check name>/`), lists only that prefix, and [`run`](super::run) deletes what a check
/// left behind. A shared namespace, the real service's included, can be used.
///
/// ```no_run
/// use std::time::Duration;
/// use kv_types::conformance::{Harness, MovableClock, WriteLimit};
/// use kv_types::{KvStore, Limits};
///
/// fn harness<S: KvStore>(store: S, clock: impl MovableClock + 'static) -> Harness<S> {
///     Harness::new(store)
///         .limits(Limits::PRODUCTION)
///         .clock(clock)
///         .write_limit(WriteLimit::Enforced)
///         .prefix("my-suite/")
/// }
/// ```
pub struct Harness<S> {
    pub(crate) store: S,
    pub(crate) limits: Limits,
    pub(crate) clock: Option<Arc<dyn MovableClock>>,
    pub(crate) write_limit: WriteLimit,
    pub(crate) prefix: String,
}

impl<S> fmt::Debug for Harness<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("limits", &self.limits)
            .field("clock", &self.clock.as_ref().map(|_| "movable"))
            .field("write_limit", &self.write_limit)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A prefix no other run of the suite uses: time, process and a counter.
fn unique_prefix() -> String {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    format!("conformance/{nanos:x}-{:x}-{run}/", std::process::id())
}

impl<S: KvStore> Harness<S> {
    /// A harness for `store`, assuming the production limits, real time (no movable clock), a
    /// write limit that [may apply](WriteLimit::MayApply), and a fresh random key prefix.
    pub fn new(store: S) -> Harness<S> {
        Harness {
            store,
            limits: Limits::PRODUCTION,
            clock: None,
            write_limit: WriteLimit::MayApply,
            prefix: unique_prefix(),
        }
    }

    /// The limits the store enforces (a fake may be configured with smaller ones); the limit
    /// checks probe exactly these boundaries.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The store's clock, which the suite may move forward. Without one, checks that need time to
    /// pass wait for real only when the store's shortest TTL is at most 2 s, and are skipped
    /// otherwise.
    pub fn clock(mut self, clock: impl MovableClock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Whether the store enforces one write per second per key.
    pub fn write_limit(mut self, write_limit: WriteLimit) -> Self {
        self.write_limit = write_limit;
        self
    }

    /// The prefix of every key the suite writes (default: `conformance/<unique id>/`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The store under test.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Now on the store's clock: the movable clock's when there is one, else the system time.
    pub fn now_secs(&self) -> u64 {
        match &self.clock {
            Some(clock) => clock.now_secs(),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        }
    }

    /// The scope of one check: its key prefix.
    pub(crate) fn scope(&self, check: &str) -> Scope {
        Scope {
            prefix: format!("{}{check}/", self.prefix),
        }
    }

    /// Lets a second pass for the per-key write limit before a key is written again: moves the
    /// clock one second when there is one, else waits a real second. Nothing when the limit is
    /// off.
    pub(crate) async fn between_writes(&self) {
        match (self.write_limit, &self.clock) {
            (WriteLimit::Off, _) => {}
            (_, Some(clock)) => clock.advance(Duration::from_secs(1)),
            (_, None) => tokio::time::sleep(Duration::from_millis(1100)).await,
        }
    }
}

/// The key prefix of one check.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub(crate) prefix: String,
}

impl Scope {
    /// The key `<prefix><name>`.
    pub(crate) fn name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The key `<prefix><name>`, which must be valid under generous limits (the limit checks
    /// build keys over the store's limit on purpose).
    pub(crate) fn key(&self, name: &str) -> Result<Key, super::report::Failure> {
        let full = self.name(name);
        let generous = Limits {
            max_key_bytes: usize::MAX,
            ..Limits::PRODUCTION
        };
        Key::with_limits(full.clone(), &generous).map_err(|e| {
            super::report::Failure::new(format!("the suite built an invalid key {full:?}: {e}"))
        })
    }
}
