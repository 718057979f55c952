//! Injectable time for the retry loop: a [`Clock`] (monotonic and wall time), a [`Sleeper`] (the
//! waits between attempts) and a [`Jitter`] (the random part of backoff). The defaults use the
//! system clock, tokio's timer and a thread-local RNG; tests plug in [`ManualTime`] and
//! [`FixedJitter`] so backoff runs in microseconds and can be asserted exactly.
//!
//! Per-attempt timeouts always use tokio's timer (real time, or tokio's paused time in tests):
//! they bound real network waits, which an injected sleeper cannot shorten.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A boxed sleep future, as [`Sleeper::sleep`] returns it.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where the retry loop reads the time: monotonic time for the deadline and elapsed time, wall
/// time for `Retry-After` dates and for checking an absolute `expiration`.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Monotonic now.
    fn now(&self) -> Instant;
    /// Wall-clock now.
    fn wall(&self) -> SystemTime;
}

/// How the retry loop waits between attempts.
pub trait Sleeper: Send + Sync + fmt::Debug {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// The random part of backoff: full jitter picks a wait uniformly in `[0, max]`.
pub trait Jitter: Send + Sync + fmt::Debug {
    /// A duration in `[0, max]`.
    fn pick(&self, max: Duration) -> Duration;
}

/// The system clock: [`Instant::now`] and [`SystemTime::now`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Sleeps with [`tokio::time::sleep`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Uniform random jitter from the thread-local RNG.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomJitter;

impl Jitter for RandomJitter {
    fn pick(&self, max: Duration) -> Duration {
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::random_range(0..=nanos))
    }
}

/// Deterministic jitter: always the same fraction of the maximum (clamped to `0.0..=1.0`).
/// `FixedJitter(1.0)` gives plain exponential backoff, `FixedJitter(0.0)` no wait at all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixedJitter(pub f64);

impl Jitter for FixedJitter {
    fn pick(&self, max: Duration) -> Duration {
        max.mul_f64(self.0.clamp(0.0, 1.0))
    }
}

#[derive(Debug, Default)]
struct ManualState {
    offset: Duration,
    sleeps: Vec<Duration>,
}

/// A manual clock and sleeper in one: sleeping advances the clock at once and records the wait.
/// Clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use kv_client::time::{Clock, ManualTime, Sleeper};
///
/// # async fn demo() {
/// let time = ManualTime::new();
/// let before = time.now();
/// time.sleep(Duration::from_secs(3)).await; // returns at once
/// assert_eq!(time.now() - before, Duration::from_secs(3));
/// assert_eq!(time.sleeps(), vec![Duration::from_secs(3)]);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ManualTime {
    start: Instant,
    wall_start: SystemTime,
    state: Arc<Mutex<ManualState>>,
}

impl ManualTime {
    /// A clock starting now, with a wall time of the current second (whole seconds, so HTTP
    /// dates computed from it round-trip exactly).
    pub fn new() -> ManualTime {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        ManualTime::with_wall(UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// A clock whose wall time starts at `wall`.
    pub fn with_wall(wall: SystemTime) -> ManualTime {
        ManualTime {
            start: Instant::now(),
            wall_start: wall,
            state: Arc::new(Mutex::new(ManualState::default())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut state = self.lock();
        state.offset = state.offset.saturating_add(by);
    }

    /// Every wait asked of the sleeper, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }

    /// The sum of every wait asked of the sleeper.
    pub fn total_slept(&self) -> Duration {
        self.lock().sleeps.iter().sum()
    }

    /// Time passed since this clock was made.
    pub fn elapsed(&self) -> Duration {
        self.lock().offset
    }
}

impl Default for ManualTime {
    fn default() -> Self {
        ManualTime::new()
    }
}

impl Clock for ManualTime {
    fn now(&self) -> Instant {
        self.start + self.lock().offset
    }

    fn wall(&self) -> SystemTime {
        self.wall_start + self.lock().offset
    }
}

impl Sleeper for ManualTime {
    fn sleep(&self, duration: Duration) -> Sleep {
        {
            let mut state = self.lock();
            state.offset = state.offset.saturating_add(duration);
            state.sleeps.push(duration);
        }
        Box::pin(std::future::ready(()))
    }
}

/// Seconds since the epoch of a wall time (0 before the epoch).
pub(crate) fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_jitter_stays_in_range() {
        let max = Duration::from_millis(10);
        for _ in 0..100 {
            assert!(RandomJitter.pick(max) <= max);
        }
        assert_eq!(RandomJitter.pick(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn fixed_jitter_is_a_fraction() {
        let max = Duration::from_secs(4);
        assert_eq!(FixedJitter(0.5).pick(max), Duration::from_secs(2));
        assert_eq!(FixedJitter(7.0).pick(max), max);
    }

    #[tokio::test]
    async fn manual_time_advances_on_sleep() {
        let t = ManualTime::new();
        let wall = t.wall();
        t.sleep(Duration::from_secs(2)).await;
        t.advance(Duration::from_secs(1));
        assert_eq!(
            t.wall().duration_since(wall).expect("forward"),
            Duration::from_secs(3)
        );
        assert_eq!(t.total_slept(), Duration::from_secs(2));
    }
}
