//! [`RateLimiter`]: at most one write per second per key, on the mock's clock or in real time.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use kv_types::limits::WRITES_PER_KEY_PER_SECOND;

use crate::clock::Stamp;

/// How long a key stays locked after a write: one second divided by the writes allowed in it.
const WINDOW: Duration = Duration::from_millis(1000 / WRITES_PER_KEY_PER_SECOND as u64);

/// The per-key write limit of one namespace.
///
/// A write is refused when the key was written less than a second ago, as [`Stamp::since`]
/// measures it: the longer of the mock's clock and real time. So moving the clock forward lifts
/// the limit at once, and a frozen clock never traps a client that retries.
///
/// The table only holds keys written in the last second (older entries are dropped on every
/// check), so it stays small however many keys are written.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    last: HashMap<Arc<str>, Stamp>,
    /// The writes recorded, oldest (in real time) first.
    order: VecDeque<(Stamp, Arc<str>)>,
}

impl RateLimiter {
    /// Checks whether `key` may be written `now`, and records the write when it may. `false`
    /// means the write is refused.
    pub(crate) fn admit(&mut self, key: &str, now: Stamp) -> bool {
        self.prune(now);
        let key = match self.last.get_key_value(key) {
            Some((_, last)) if now.since(*last) < WINDOW => return false,
            Some((name, _)) => Arc::clone(name),
            None => Arc::from(key),
        };
        self.last.insert(Arc::clone(&key), now);
        self.order.push_back((now, key));
        true
    }

    /// Drops entries that no longer lock anything (a second has passed since them).
    fn prune(&mut self, now: Stamp) {
        while let Some((at, _)) = self.order.front() {
            if now.since(*at) < WINDOW {
                break;
            }
            if let Some((at, key)) = self.order.pop_front()
                && self.last.get(&key) == Some(&at)
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
    use std::time::Duration;

    use super::*;
    use crate::clock::Clock;

    #[test]
    fn second_write_within_a_second_is_refused() {
        let clock = Clock::frozen_at(1);
        let mut rl = RateLimiter::default();
        assert!(rl.admit("a", clock.stamp()));
        clock.advance(Duration::from_millis(999));
        assert!(!rl.admit("a", clock.stamp()));
        // Another key is independent.
        assert!(rl.admit("b", clock.stamp()));
        // A second on the mock's clock lifts it.
        clock.advance(Duration::from_millis(1));
        assert!(rl.admit("a", clock.stamp()));
    }

    #[test]
    fn real_time_lifts_it_on_a_frozen_clock() {
        let clock = Clock::frozen_at(5);
        let mut rl = RateLimiter::default();
        assert!(rl.admit("a", clock.stamp()));
        assert!(!rl.admit("a", clock.stamp()));
        std::thread::sleep(Duration::from_millis(1010));
        assert!(rl.admit("a", clock.stamp()));
    }

    #[test]
    fn table_stays_bounded() {
        let clock = Clock::frozen_at(0);
        let mut rl = RateLimiter::default();
        for i in 0..1000 {
            assert!(rl.admit(&format!("k{i}"), clock.stamp()));
        }
        assert_eq!(rl.len(), 1000);
        clock.advance(Duration::from_secs(2));
        assert!(rl.admit("late", clock.stamp()));
        assert_eq!(rl.len(), 1);
        assert_eq!(rl.order.len(), 1);
        rl.clear();
        assert_eq!(rl.len(), 0);
    }
}
