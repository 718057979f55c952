//! Exponential backoff with full jitter, and the wait before the next attempt.

use std::time::Duration;

use kv_types::limits::WRITES_PER_KEY_PER_SECOND;

use super::config::RetryConfig;
use crate::time::Jitter;

/// The least wait after a 429: the service allows one write per second per key.
pub(crate) fn rate_limit_floor() -> Duration {
    Duration::from_secs(1) / WRITES_PER_KEY_PER_SECOND.max(1)
}

/// The cap of the backoff before retry `retry` (1 for the first retry):
/// `min(max_backoff, initial_backoff × 2^(retry-1))`.
pub(crate) fn backoff_cap(config: &RetryConfig, retry: u32) -> Duration {
    let factor = 2u32.saturating_pow(retry.saturating_sub(1));
    config
        .initial_backoff
        .checked_mul(factor)
        .unwrap_or(config.max_backoff)
        .min(config.max_backoff)
}

/// The wait before retry `retry`: what the server asked if it did, else full jitter over the
/// backoff cap; never under 1 s after a 429.
pub(crate) fn wait_before(
    config: &RetryConfig,
    retry: u32,
    asked: Option<Duration>,
    rate_limited: bool,
    jitter: &dyn Jitter,
) -> Duration {
    let wait = match asked {
        Some(asked) => asked,
        None => jitter.pick(backoff_cap(config, retry)),
    };
    if rate_limited {
        wait.max(rate_limit_floor())
    } else {
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::FixedJitter;

    #[test]
    fn caps_double_up_to_the_maximum() {
        let c = RetryConfig::default();
        let caps: Vec<u64> = (1..=7)
            .map(|n| backoff_cap(&c, n).as_millis() as u64)
            .collect();
        assert_eq!(caps, vec![500, 1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(backoff_cap(&c, 1000), Duration::from_secs(8));
    }

    #[test]
    fn full_jitter_uses_the_cap() {
        let c = RetryConfig::default();
        assert_eq!(
            wait_before(&c, 3, None, false, &FixedJitter(0.5)),
            Duration::from_secs(1)
        );
        assert_eq!(
            wait_before(&c, 3, None, false, &FixedJitter(0.0)),
            Duration::ZERO
        );
    }

    #[test]
    fn server_asked_wait_wins_and_429_waits_a_second() {
        let c = RetryConfig::default();
        let j = FixedJitter(1.0);
        assert_eq!(
            wait_before(&c, 1, Some(Duration::from_secs(3)), true, &j),
            Duration::from_secs(3)
        );
        assert_eq!(
            wait_before(&c, 1, Some(Duration::from_millis(10)), true, &j),
            Duration::from_secs(1)
        );
        assert_eq!(
            wait_before(&c, 1, None, true, &FixedJitter(0.0)),
            Duration::from_secs(1)
        );
        assert_eq!(
            wait_before(&c, 1, Some(Duration::from_millis(10)), false, &j),
            Duration::from_millis(10)
        );
    }
}
