//! [`RetryConfig`]: how many times, how long between attempts, and until when.

use std::time::Duration;

/// How failed attempts are retried.
///
/// Retried: HTTP 408, 429, 500, 502, 503 and 504, connection failures and timeouts, and a value
/// source (a file, a replayable stream) that failed while being sent: exactly the errors for
/// which [`Error::is_retryable`](crate::Error::is_retryable) is true. Every KV
/// operation of this crate is idempotent (a put writes the same value again, a delete deletes
/// again), so re-sending is safe; namespace creation checks for its own earlier success.
///
/// Between attempts the client waits what the server asks (`retry-after-ms`, else `Retry-After`
/// in seconds or as an HTTP date), else an exponential backoff with full jitter: a uniform random
/// wait in `[0, min(max_backoff, initial_backoff × 2^(n-1))]` before retry `n`. After a 429 it
/// waits at least 1 s, the per-key write limit of the service. It never sleeps past the
/// `deadline`: when the next wait would end after it, the call returns at once with the error,
/// carrying the wait; and each attempt's timeout is capped by the time left.
///
/// # Defaults, and why
///
/// | field | default |
/// |---|---|
/// | `max_retries` | 10 |
/// | `initial_backoff` | 500 ms |
/// | `max_backoff` | 8 s |
/// | `deadline` | 120 s |
///
/// The official SDKs retry twice (0.5 s doubling to 8 s); that cannot ride out the service's
/// 1-write-per-second-per-key limit when a handful of tasks write the same key: each contender
/// needs up to one more second per writer ahead of it, so 2 retries fail as soon as three writers
/// collide. Ten retries let about ten concurrent writers of one key all land, and, with backoff
/// capped at 8 s, cover a transient 5xx outage of about a minute. `object_store` allows 10 retries
/// within 3 minutes; a KV call usually sits inside a request handler, so the deadline here is
/// shorter, 2 minutes, still more than the sum of the capped backoffs on average (full jitter
/// halves the expected wait). The base and cap are the SDKs' own, so this client backs off no
/// harder than the official ones.
///
/// ```
/// use std::time::Duration;
/// use kv_client::RetryConfig;
///
/// let fast = RetryConfig { max_retries: 3, deadline: Duration::from_secs(10), ..RetryConfig::default() };
/// assert_eq!(fast.initial_backoff, Duration::from_millis(500));
/// let none = RetryConfig::none();
/// assert_eq!(none.max_retries, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first attempt (so at most `max_retries + 1` attempts).
    pub max_retries: u32,
    /// Backoff cap of the first retry; doubles for each further retry.
    pub initial_backoff: Duration,
    /// Largest backoff cap.
    pub max_backoff: Duration,
    /// Total time a call may take, attempts and waits included, from its start.
    pub deadline: Duration,
}

impl RetryConfig {
    /// No retry: one attempt, whatever happens.
    pub fn none() -> RetryConfig {
        RetryConfig {
            max_retries: 0,
            ..RetryConfig::default()
        }
    }
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 10,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            deadline: Duration::from_secs(120),
        }
    }
}
