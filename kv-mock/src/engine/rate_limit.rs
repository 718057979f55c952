//! [`RateLimiter`]: at most one write per second per key, on the mock's clock or in real time.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kv_types::limits::WRITES_PER_KEY_PER_SECOND;

/// How long a key stays locked after a write: one second divided by the writes allowed in it.
const WINDOW_MS: u64 = 1000 / WRITES_PER_KEY_PER_SECOND as u64;
const WINDOW: Duration = Duration::from_millis(WINDOW_MS);

/// When a key was last written, on both clocks.
#[derive(Debug, Clone, Copy)]
struct LastWrite {
    clock_ms: u64,
    real: Instant,
}

/// The per-key write limit of one namespace.
///
/// A write is refused when the key was written less than a second ago on the mock's clock **and**
/// less than a second ago in real time. So moving the clock forward lifts the limit at once, and a
/// frozen clock never traps a client that retries: a second of real time lifts it too.
///
/// The table only holds keys written in the last real second (older entries are dropped on every
/// check), so it stays small however many keys are written.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    last: HashMap<Arc<str>, LastWrite>,
    order: VecDeque<(Instant, Arc<str>)>,
}

impl RateLimiter {
    /// Checks whether `key` may be written at `clock_ms` (mock time) / `real` (real time), and
    /// records the write when it may. `Err(())` means the write is refused.
    pub(crate) fn admit(&mut self, key: &Arc<str>, clock_ms: u64, real: Instant) -> Result<(), ()> {
        self.prune(real);
        if let Some(last) = self.last.get(key) {
            let clock_elapsed = clock_ms.saturating_sub(last.clock_ms);
            let real_elapsed = real.saturating_duration_since(last.real);
            if clock_elapsed < WINDOW_MS && real_elapsed < WINDOW {
                return Err(());
            }
        }
        self.last
            .insert(Arc::clone(key), LastWrite { clock_ms, real });
        self.order.push_back((real, Arc::clone(key)));
        Ok(())
    }

    /// Drops entries that no longer lock anything (a real second has passed since them).
    fn prune(&mut self, real: Instant) {
        while let Some((at, _)) = self.order.front() {
            if real.saturating_duration_since(*at) < WINDOW {
                break;
            }
            if let Some((at, key)) = self.order.pop_front()
                && self.last.get(&key).is_some_and(|l| l.real == at)
            {
                self.last.remove(&key);
            }
        }
    }

    /// Keys currently tracked.
    pub(crate) fn len(&self) -> usize {
        self.last.len()
    }

    /// Forgets every write.
    pub(crate) fn clear(&mut self) {
        self.last.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn second_write_within_a_second_is_refused() {
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        assert_eq!(rl.admit(&key("a"), 1_000, t0), Ok(()));
        assert_eq!(rl.admit(&key("a"), 1_999, t0), Err(()));
        // Another key is independent.
        assert_eq!(rl.admit(&key("b"), 1_999, t0), Ok(()));
        // A second on the mock's clock lifts it.
        assert_eq!(rl.admit(&key("a"), 2_000, t0), Ok(()));
    }

    #[test]
    fn real_time_lifts_it_on_a_frozen_clock() {
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        assert_eq!(rl.admit(&key("a"), 5_000, t0), Ok(()));
        assert_eq!(
            rl.admit(&key("a"), 5_000, t0 + Duration::from_millis(999)),
            Err(())
        );
        assert_eq!(
            rl.admit(&key("a"), 5_000, t0 + Duration::from_millis(1000)),
            Ok(())
        );
    }

    #[test]
    fn table_stays_bounded() {
        let mut rl = RateLimiter::default();
        let t0 = Instant::now();
        for i in 0..1000 {
            assert_eq!(rl.admit(&key(&format!("k{i}")), 0, t0), Ok(()));
        }
        assert_eq!(rl.len(), 1000);
        assert_eq!(
            rl.admit(&key("late"), 0, t0 + Duration::from_secs(2)),
            Ok(())
        );
        assert_eq!(rl.len(), 1);
        assert_eq!(rl.order.len(), 1);
        rl.clear();
        assert_eq!(rl.len(), 0);
    }
}
