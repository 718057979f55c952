//! The account's rate budget ([`ClientBuilder::account_rate_limit`](crate::ClientBuilder::account_rate_limit)):
//! every request of the client waits for a slot in a sliding window of `limit` requests per
//! `window`, so the client never trips the service's account limit (1,200 requests per 5
//! minutes, and a five-minute block when it is passed). Slots are handed out in the order asked
//! (each one at least `window` after the one `limit` places before it, so no window of that
//! length ever holds more than `limit`); a wait counts against the call's deadline, and a call
//! whose slot would come after it fails at once with [`Error::AccountBudget`](crate::Error::AccountBudget).
//!
//! The service's own count wins when it says less is left: after every answer the rate-limit
//! headers are read (`x-ratelimit-limit`, `x-ratelimit-remaining`, `x-ratelimit-reset`, and
//! `retry-after` on a 429 for the account): with nothing left, no request goes before the reset;
//! with less than a tenth left, the rest is spread over the time to the reset.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use http::HeaderMap;
use kv_types::codes;

use crate::retry::retry_after::asked_wait;

/// Added to the window between a slot and the one `limit` places after it. The service counts a
/// request when it arrives, the client when it sends: a request sent on a new connection (or on a
/// busy machine) may arrive later than one sent a window after it on a warm connection.
const SEND_MARGIN: Duration = Duration::from_millis(250);

/// The account budget of one client.
#[derive(Debug)]
pub(crate) struct AccountPacer {
    limit: u32,
    window: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The slots handed out that still count (less than a window old, or ahead), in order.
    slots: VecDeque<Instant>,
    /// No slot before this, from what the service said.
    not_before: Option<Instant>,
}

/// A slot that would come after the call's deadline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoSlot {
    /// How long the call would have to wait.
    pub(crate) wait: Duration,
}

impl AccountPacer {
    pub(crate) fn new(limit: u32, window: Duration) -> AccountPacer {
        AccountPacer {
            limit: limit.max(1),
            window,
            state: Mutex::new(State::default()),
        }
    }

    /// The budget, as configured.
    pub(crate) fn budget(&self) -> (u32, Duration) {
        (self.limit, self.window)
    }

    /// Takes the next slot for a request to be sent now or later: the wait until it, or
    /// [`NoSlot`] (and nothing taken) when the wait is longer than `left`.
    pub(crate) fn reserve(&self, now: Instant, left: Duration) -> Result<Duration, NoSlot> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(first) = state.slots.front() {
            if *first + self.window + SEND_MARGIN > now {
                break;
            }
            state.slots.pop_front();
        }
        let mut at = now;
        if let Some(last) = state.slots.back() {
            at = at.max(*last);
        }
        let limit = self.limit as usize;
        if state.slots.len() >= limit {
            let len = state.slots.len();
            at = at.max(state.slots[len - limit] + self.window + SEND_MARGIN);
        }
        if let Some(not_before) = state.not_before {
            at = at.max(not_before);
        }
        let wait = at.saturating_duration_since(now);
        if wait > left {
            return Err(NoSlot { wait });
        }
        state.slots.push_back(at);
        Ok(wait)
    }

    /// Reads what an answer says of the account's budget and slows down when it is low.
    pub(crate) fn observe(
        &self,
        status: u16,
        headers: &HeaderMap,
        account_refused: bool,
        now: Instant,
        wall: std::time::SystemTime,
    ) {
        let number = |name: &str| -> Option<u64> {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
        };
        let hold = if status == 429 && account_refused {
            asked_wait(headers, wall).or(number("x-ratelimit-reset").map(Duration::from_secs))
        } else {
            match (number("x-ratelimit-remaining"), number("x-ratelimit-reset")) {
                (Some(0), Some(reset)) => Some(Duration::from_secs(reset)),
                (Some(remaining), Some(reset)) => {
                    let limit = number("x-ratelimit-limit").unwrap_or(u64::from(self.limit));
                    (remaining.saturating_mul(10) < limit).then(|| {
                        Duration::from_secs(reset) / u32::try_from(remaining).unwrap_or(u32::MAX)
                    })
                }
                _ => None,
            }
        };
        if let Some(hold) = hold.filter(|h| !h.is_zero()) {
            let until = now + hold;
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if state.not_before.is_none_or(|t| t < until) {
                tracing::debug!(
                    hold_ms = hold.as_millis() as u64,
                    "account budget low; holding"
                );
                state.not_before = Some(until);
            }
        }
    }
}

/// Whether a 429's error codes say it is the account's limit (not a key's).
pub(crate) fn is_account_refusal(codes_seen: &[kv_types::ApiErrorDetail]) -> bool {
    codes_seen
        .iter()
        .any(|e| e.code == codes::ACCOUNT_RATE_LIMITED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_holds_at_most_the_limit() {
        let p = AccountPacer::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        let big = Duration::from_secs(1000);
        let w = Duration::from_secs(10) + SEND_MARGIN;
        let waits: Vec<Duration> = (0..7).map(|_| p.reserve(t0, big).expect("slot")).collect();
        let z = Duration::ZERO;
        assert_eq!(waits, [z, z, z, w, w, w, w * 2]);
        assert_eq!(
            p.reserve(t0, Duration::from_secs(15)).map_err(|e| e.wait),
            Err(w * 2),
            "after the deadline: refused, nothing taken"
        );
        // Later: the first three have left the window; the next slot is a window after the 4th.
        let later = t0 + Duration::from_secs(15);
        assert_eq!(
            p.reserve(later, big).expect("slot"),
            w * 2 - Duration::from_secs(15)
        );
    }

    #[test]
    fn headers_saying_the_budget_is_spent_hold_requests() {
        let p = AccountPacer::new(100, Duration::from_secs(10));
        let t0 = Instant::now();
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-limit", 100.into());
        h.insert("x-ratelimit-remaining", 50.into());
        h.insert("x-ratelimit-reset", 4.into());
        p.observe(200, &h, false, t0, std::time::SystemTime::now());
        assert_eq!(p.reserve(t0, Duration::MAX).expect("slot"), Duration::ZERO);
        h.insert("x-ratelimit-remaining", 0.into());
        p.observe(200, &h, false, t0, std::time::SystemTime::now());
        assert_eq!(
            p.reserve(t0, Duration::MAX).expect("slot"),
            Duration::from_secs(4)
        );
    }
}
