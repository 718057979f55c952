//! The retry budget: one token bucket per [`Client`](crate::Client), as the AWS SDKs keep
//! (their "standard" retry mode). A retry takes tokens from it; a call that succeeds gives some
//! back; when it is empty, a failed call stops at once with its error instead of retrying. So when
//! the service is down, a thousand concurrent calls make about a thousand requests and a bounded
//! number of retries, not eleven thousand, and the retries come back as the service does.

use std::sync::atomic::{AtomicU32, Ordering};

/// The retry budget of a client: a bucket of `capacity` tokens, full at the start.
///
/// - A retry after a failure costs `retry_cost` tokens, `timeout_retry_cost` after a timeout (a
///   timeout is the costliest failure: the attempt held a connection for its whole timeout).
/// - A call that succeeds at its first attempt returns `success_refund` tokens; one that
///   succeeds after retries returns what its last retry took.
/// - When a retry would need more tokens than are left, the call fails at once with its error,
///   and [`StopReason::RetryBudgetSpent`](crate::StopReason::RetryBudgetSpent).
///
/// Retries after a 429 are not charged: a rate limit answer says the service is up and asks for a
/// wait the client always takes (at least 1 s), while the budget is for
/// failures that say the service is struggling (5xx, timeouts, refused connections).
///
/// The defaults are the AWS SDKs': capacity 500, a retry 5, a retry after a timeout 10, a success
/// 1: with the service down, at most 100 retries are made across all calls of the client before
/// every call fails at its first error; five successes pay for one retry again.
///
/// ```
/// use kv_client::{Client, RetryBudget};
///
/// let small = RetryBudget { capacity: 50, ..RetryBudget::default() };
/// let client = Client::builder()
///     .base_url("http://127.0.0.1:8787/client/v4")
///     .account_id("acc")
///     .api_token("tok")
///     .retry_budget(small)
///     .build()?;
/// assert_eq!(client.retry_budget_left(), Some(50));
/// let unbudgeted = Client::builder()
///     .base_url("http://127.0.0.1:8787/client/v4")
///     .account_id("acc")
///     .api_token("tok")
///     .retry_budget(None)
///     .build()?;
/// assert_eq!(unbudgeted.retry_budget_left(), None);
/// # Ok::<(), kv_client::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryBudget {
    /// Tokens when full (and at the start).
    pub capacity: u32,
    /// Tokens a retry takes.
    pub retry_cost: u32,
    /// Tokens a retry after a timeout takes.
    pub timeout_retry_cost: u32,
    /// Tokens a call that succeeded at its first attempt gives back.
    pub success_refund: u32,
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget {
            capacity: 500,
            retry_cost: 5,
            timeout_retry_cost: 10,
            success_refund: 1,
        }
    }
}

/// The bucket of one client.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    budget: RetryBudget,
    tokens: AtomicU32,
}

impl TokenBucket {
    pub(crate) fn new(budget: RetryBudget) -> TokenBucket {
        TokenBucket {
            budget,
            tokens: AtomicU32::new(budget.capacity),
        }
    }

    /// Tokens left.
    pub(crate) fn left(&self) -> u32 {
        self.tokens.load(Ordering::Relaxed)
    }

    /// The cost of a retry after a failure, timed out or not.
    pub(crate) fn cost(&self, timed_out: bool) -> u32 {
        if timed_out {
            self.budget.timeout_retry_cost
        } else {
            self.budget.retry_cost
        }
    }

    /// Takes `cost` tokens for a retry; `false` (and nothing taken) when fewer are left.
    pub(crate) fn take(&self, cost: u32) -> bool {
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| t.checked_sub(cost))
            .is_ok()
    }

    /// A call succeeded; `last_retry_cost` is what its last retry took (0 when it made none).
    pub(crate) fn succeeded(&self, last_retry_cost: u32) {
        let refund = if last_retry_cost == 0 {
            self.budget.success_refund
        } else {
            last_retry_cost
        };
        let capacity = self.budget.capacity;
        let _ = self
            .tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(t.saturating_add(refund).min(capacity))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_spend_and_successes_refill_up_to_capacity() {
        let bucket = TokenBucket::new(RetryBudget {
            capacity: 12,
            ..RetryBudget::default()
        });
        assert!(bucket.take(bucket.cost(false)));
        assert!(bucket.take(bucket.cost(false)));
        assert_eq!(bucket.left(), 2);
        assert!(!bucket.take(bucket.cost(false)), "5 > 2 left");
        assert_eq!(bucket.left(), 2, "a refused take takes nothing");
        for _ in 0..3 {
            bucket.succeeded(0);
        }
        assert_eq!(bucket.left(), 5);
        assert!(bucket.take(5));
        bucket.succeeded(5);
        assert_eq!(
            bucket.left(),
            5,
            "a success after a retry returns that retry's cost"
        );
        for _ in 0..20 {
            bucket.succeeded(0);
        }
        assert_eq!(bucket.left(), 12, "never over capacity");
        assert_eq!(bucket.cost(true), 10);
    }
}
