//! [`Clock`]: the time the mock lives in, which tests move.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The mock's notion of "now", shared (it is a cheap handle) by the engine and the server.
///
/// Everything time-based reads it: expiry, the validation of `expiration` and `expiration_ttl`,
/// the per-key write limit and the account rate limit. The two limits read a [`Stamp`] (this
/// clock and real time together), so that a real second always frees what a second of this clock
/// would.
///
/// - [`Clock::system`] (the default) is the system time plus an offset that
///   [`advance`](Self::advance) moves forward, so time keeps flowing and tests can jump ahead.
/// - [`Clock::frozen_at`] stands still and moves only when told ([`advance`](Self::advance),
///   [`set`](Self::set)).
///
/// ```
/// use std::time::Duration;
/// use kv_mock::Clock;
///
/// let clock = Clock::frozen_at(1_700_000_000);
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.now_secs(), 1_700_000_090);
/// let shared = clock.clone();
/// shared.set(1_800_000_000);
/// assert_eq!(clock.now_secs(), 1_800_000_000);
/// ```
#[derive(Clone)]
pub struct Clock {
    inner: Arc<ClockInner>,
}

enum ClockInner {
    /// System time plus `offset_ms` (which may be negative after [`Clock::set`]).
    System { offset_ms: AtomicI64 },
    /// A fixed time in milliseconds since the epoch.
    Frozen { now_ms: AtomicU64 },
}

impl Clock {
    /// The system time plus an offset (zero at first) that tests move forward.
    pub fn system() -> Clock {
        Clock {
            inner: Arc::new(ClockInner::System {
                offset_ms: AtomicI64::new(0),
            }),
        }
    }

    /// A clock that stands at `epoch_secs` (seconds since the Unix epoch) until moved.
    pub fn frozen_at(epoch_secs: u64) -> Clock {
        Clock {
            inner: Arc::new(ClockInner::Frozen {
                now_ms: AtomicU64::new(epoch_secs.saturating_mul(1000)),
            }),
        }
    }

    /// Whether this clock stands still between moves.
    pub fn is_frozen(&self) -> bool {
        matches!(*self.inner, ClockInner::Frozen { .. })
    }

    /// Now, in whole seconds since the Unix epoch.
    pub fn now_secs(&self) -> u64 {
        self.now_millis() / 1000
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now_millis(&self) -> u64 {
        match &*self.inner {
            ClockInner::System { offset_ms } => {
                let offset = offset_ms.load(Ordering::SeqCst);
                let now = i128::from(system_millis()) + i128::from(offset);
                u64::try_from(now.max(0)).unwrap_or(u64::MAX)
            }
            ClockInner::Frozen { now_ms } => now_ms.load(Ordering::SeqCst),
        }
    }

    /// Now on this clock and in real time, for a limit that a moved clock lifts at once and that
    /// real time lifts however the clock stands (see [`Stamp::since`]).
    pub(crate) fn stamp(&self) -> Stamp {
        Stamp {
            clock_ms: self.now_millis(),
            real: Instant::now(),
        }
    }

    /// Moves the clock forward by `by` (millisecond precision).
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        match &*self.inner {
            ClockInner::System { offset_ms } => {
                let ms = i64::try_from(ms).unwrap_or(i64::MAX);
                // fetch_update never fails with a closure that always returns Some.
                let _ = offset_ms.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                    Some(o.saturating_add(ms))
                });
            }
            ClockInner::Frozen { now_ms } => {
                let _ = now_ms.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                    Some(n.saturating_add(ms))
                });
            }
        }
    }

    /// Sets the time to `epoch_secs`. On a system clock this sets the offset so that now reads
    /// `epoch_secs`, and time keeps flowing from there.
    pub fn set(&self, epoch_secs: u64) {
        let target = epoch_secs.saturating_mul(1000);
        match &*self.inner {
            ClockInner::System { offset_ms } => {
                let offset = i128::from(target) - i128::from(system_millis());
                let offset =
                    i64::try_from(offset).unwrap_or(if offset < 0 { i64::MIN } else { i64::MAX });
                offset_ms.store(offset, Ordering::SeqCst);
            }
            ClockInner::Frozen { now_ms } => now_ms.store(target, Ordering::SeqCst),
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock")
            .field("frozen", &self.is_frozen())
            .field("now_millis", &self.now_millis())
            .finish()
    }
}

/// A moment read by [`Clock::stamp`]: the mock's time and the real (monotonic) time together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    clock_ms: u64,
    real: Instant,
}

impl Stamp {
    /// How long ago `earlier` was: the longer of the time passed on the mock's clock and the real
    /// time passed. The one rule of both time limits: moving the clock forward lifts a limit at
    /// once, and a frozen (or set back) clock never traps a client that retries, since a real
    /// second always frees what a second of the clock would.
    pub(crate) fn since(self, earlier: Stamp) -> Duration {
        let on_clock = Duration::from_millis(self.clock_ms.saturating_sub(earlier.clock_ms));
        on_clock.max(self.real.saturating_duration_since(earlier.real))
    }
}

fn system_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_moves_only_when_told() {
        let c = Clock::frozen_at(100);
        assert_eq!(c.now_secs(), 100);
        assert!(c.is_frozen());
        c.advance(Duration::from_millis(1500));
        assert_eq!(c.now_millis(), 101_500);
        assert_eq!(c.now_secs(), 101);
        c.set(5);
        assert_eq!(c.now_secs(), 5);
    }

    #[test]
    fn system_follows_the_system_time_plus_offset() {
        let c = Clock::system();
        assert!(!c.is_frozen());
        let before = system_millis() / 1000;
        c.advance(Duration::from_secs(3600));
        let now = c.now_secs();
        assert!(now >= before + 3600, "{now} vs {before}");
        assert!(now <= system_millis() / 1000 + 3601);
        c.set(1_000);
        assert!((1_000..1_010).contains(&c.now_secs()));
    }

    #[test]
    fn a_stamp_counts_the_longer_of_clock_and_real_time() {
        let c = Clock::frozen_at(100);
        let t0 = c.stamp();
        // The frozen clock does not move; real time does (a little).
        assert!(c.stamp().since(t0) < Duration::from_secs(1));
        c.advance(Duration::from_millis(1500));
        let t1 = c.stamp();
        assert!(t1.since(t0) >= Duration::from_millis(1500));
        // Set back: the clock's part is zero, real time still counts.
        c.set(0);
        let later = Stamp {
            real: t0.real + Duration::from_secs(2),
            ..c.stamp()
        };
        assert_eq!(later.since(t0), Duration::from_secs(2));
        assert_eq!(t0.since(t1), Duration::ZERO);
    }

    #[test]
    fn clones_share_the_time() {
        let a = Clock::frozen_at(0);
        let b = a.clone();
        b.advance(Duration::from_secs(7));
        assert_eq!(a.now_secs(), 7);
    }
}
