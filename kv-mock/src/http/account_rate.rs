//! The account-wide request rate (Cloudflare: 1200 requests per 5 minutes per user). Off unless
//! configured, since a test suite easily sends more than that.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kv_types::codes;

use super::ApiState;
use super::errors::ApiError;
use crate::clock::{Clock, Stamp};

/// Counts the account's requests in a sliding window. A request leaves the window once the
/// window has passed as [`Stamp::since`] measures it (on the mock's clock or in real time,
/// whichever is longer), so a frozen clock cannot keep a client out forever.
#[derive(Debug)]
pub(crate) struct AccountLimiter {
    max_requests: u32,
    window: Duration,
    clock: Clock,
    hits: Mutex<VecDeque<Stamp>>,
}

impl AccountLimiter {
    pub(crate) fn new(max_requests: u32, window: Duration, clock: Clock) -> AccountLimiter {
        AccountLimiter {
            max_requests,
            window,
            clock,
            hits: Mutex::new(VecDeque::new()),
        }
    }

    /// Records a request, or says how many seconds to wait when the window is full.
    pub(crate) fn admit(&self) -> Result<(), u64> {
        let now = self.clock.stamp();
        let mut hits = self.hits.lock().unwrap_or_else(PoisonError::into_inner);
        // Milliseconds until the request made at `at` leaves the window.
        let remaining = |at: Stamp| {
            let left = self.window.saturating_sub(now.since(at)).as_millis();
            u64::try_from(left).unwrap_or(u64::MAX)
        };
        while let Some(first) = hits.front().copied() {
            if remaining(first) > 0 {
                break;
            }
            hits.pop_front();
        }
        if hits.len() >= usize::try_from(self.max_requests).unwrap_or(usize::MAX) {
            let wait_ms = hits.front().copied().map_or(1000, remaining);
            return Err(wait_ms.div_ceil(1000).max(1));
        }
        hits.push_back(now);
        Ok(())
    }

    fn message(&self) -> String {
        format!(
            "Too many requests: this account may send at most {} requests per {} seconds.",
            self.max_requests,
            self.window.as_secs()
        )
    }
}

/// Middleware: 429 code [`codes::ACCOUNT_RATE_LIMITED`] with `Retry-After` when the account is
/// over its rate.
pub(crate) async fn limit_account_rate(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(limiter) = &state.account_limiter
        && let Err(wait) = limiter.admit()
    {
        let mut err = ApiError::new(429, codes::ACCOUNT_RATE_LIMITED, limiter.message());
        err.retry_after = Some(wait);
        return err.into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_fills_and_moves_with_the_clock() {
        let clock = Clock::frozen_at(1000);
        let l = AccountLimiter::new(2, Duration::from_secs(300), clock.clone());
        assert_eq!(l.admit(), Ok(()));
        clock.advance(Duration::from_secs(100));
        assert_eq!(l.admit(), Ok(()));
        assert_eq!(l.admit(), Err(200));
        clock.advance(Duration::from_secs(200));
        assert_eq!(l.admit(), Ok(()));
        assert_eq!(l.admit(), Err(100));
    }

    #[test]
    fn real_time_empties_it_on_a_frozen_clock() {
        let l = AccountLimiter::new(1, Duration::from_millis(50), Clock::frozen_at(0));
        assert_eq!(l.admit(), Ok(()));
        assert_eq!(l.admit(), Err(1));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(l.admit(), Ok(()));
    }
}
