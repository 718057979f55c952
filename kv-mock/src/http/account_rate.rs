//! The account-wide request rate (Cloudflare: 1200 requests per 5 minutes per user). Off unless
//! configured, since a test suite easily sends more than that. When on, every answer carries the
//! budget as the service's rate-limit headers: `x-ratelimit-limit` (requests per window),
//! `x-ratelimit-remaining` (left in the window now) and `x-ratelimit-reset` (seconds until the
//! oldest request of the window leaves it, freeing a slot; 0 when the window is empty); a
//! refusal adds `Retry-After`.

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

    /// Records a request, or says how many seconds to wait when the window is full; either way
    /// with the budget as it stands after this request.
    pub(crate) fn admit(&self) -> Result<Budget, (u64, Budget)> {
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
        let max = usize::try_from(self.max_requests).unwrap_or(usize::MAX);
        let full = hits.len() >= max;
        if !full {
            hits.push_back(now);
        }
        let reset_ms = hits.front().copied().map_or(0, remaining);
        let budget = Budget {
            limit: self.max_requests,
            remaining: u32::try_from(max.saturating_sub(hits.len())).unwrap_or(u32::MAX),
            reset_secs: reset_ms.div_ceil(1000),
        };
        if full {
            return Err((reset_ms.div_ceil(1000).max(1), budget));
        }
        Ok(budget)
    }

    fn message(&self) -> String {
        format!(
            "Too many requests: this account may send at most {} requests per {} seconds.",
            self.max_requests,
            self.window.as_secs()
        )
    }
}

/// The account's budget after a request, as the rate-limit headers say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    limit: u32,
    remaining: u32,
    reset_secs: u64,
}

impl Budget {
    fn set_headers(self, response: &mut Response) {
        let headers = response.headers_mut();
        headers.insert("x-ratelimit-limit", self.limit.into());
        headers.insert("x-ratelimit-remaining", self.remaining.into());
        headers.insert("x-ratelimit-reset", self.reset_secs.into());
    }
}

/// Middleware: 429 code [`codes::ACCOUNT_RATE_LIMITED`] with `Retry-After` when the account is
/// over its rate; the rate-limit headers on every answer while the limit is on.
pub(crate) async fn limit_account_rate(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(limiter) = &state.account_limiter else {
        return next.run(request).await;
    };
    let (mut response, budget) = match limiter.admit() {
        Ok(budget) => (next.run(request).await, budget),
        Err((wait, budget)) => {
            let mut err = ApiError::new(429, codes::ACCOUNT_RATE_LIMITED, limiter.message());
            err.retry_after = Some(wait);
            (err.into_response(), budget)
        }
    };
    budget.set_headers(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_fills_and_moves_with_the_clock() {
        let clock = Clock::frozen_at(1000);
        let l = AccountLimiter::new(2, Duration::from_secs(300), clock.clone());
        let budget = |remaining, reset_secs| Budget {
            limit: 2,
            remaining,
            reset_secs,
        };
        assert_eq!(l.admit(), Ok(budget(1, 300)));
        clock.advance(Duration::from_secs(100));
        assert_eq!(l.admit(), Ok(budget(0, 200)));
        assert_eq!(l.admit(), Err((200, budget(0, 200))));
        clock.advance(Duration::from_secs(200));
        assert_eq!(l.admit(), Ok(budget(0, 100)));
        assert_eq!(l.admit(), Err((100, budget(0, 100))));
    }

    #[test]
    fn real_time_empties_it_on_a_frozen_clock() {
        let l = AccountLimiter::new(1, Duration::from_millis(50), Clock::frozen_at(0));
        assert!(l.admit().is_ok());
        assert_eq!(l.admit().map_err(|(wait, _)| wait), Err(1));
        std::thread::sleep(Duration::from_millis(60));
        assert!(l.admit().is_ok());
    }
}
