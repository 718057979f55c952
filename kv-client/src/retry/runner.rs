//! The retry loop: runs attempts, each under a timeout capped by the deadline, waits between them
//! and stops with an error that says how many attempts were made and why it stopped.

use std::future::Future;
use std::time::Duration;

use tracing::Instrument;

use super::backoff::wait_before;
use crate::client::Inner;
use crate::error::{Attempts, Context, Error, StopReason};

/// What one attempt came to.
pub(crate) enum Step<T> {
    /// It succeeded.
    Done(T),
    /// It failed in a way another attempt may fix.
    Retry(Failure),
    /// It failed for good.
    Stop(Error),
}

/// A failed attempt that may be retried.
pub(crate) struct Failure {
    /// The error to return if no further attempt is made.
    pub(crate) error: Error,
    /// The wait the server asked for.
    pub(crate) asked: Option<Duration>,
    /// Whether the server answered 429.
    pub(crate) rate_limited: bool,
}

impl Failure {
    pub(crate) fn new(error: Error) -> Failure {
        Failure {
            error,
            asked: None,
            rate_limited: false,
        }
    }
}

/// Runs `attempt` until it succeeds or retrying stops. `can_resend` says whether the request body
/// can be sent again (false once a one-shot stream has started).
pub(crate) async fn run<T, A, Fut>(
    inner: &Inner,
    ctx: &Context,
    can_resend: impl Fn() -> bool,
    mut attempt: A,
) -> Result<T, Error>
where
    A: FnMut(u32) -> Fut,
    Fut: Future<Output = Step<T>>,
{
    let config = &inner.retry;
    let start = inner.clock.now();
    let elapsed = || inner.clock.now().saturating_duration_since(start);
    let finish = |mut error: Error, count: u32, stop: StopReason| {
        error.set_attempts(Attempts {
            count,
            elapsed: elapsed(),
            stop,
        });
        error
    };
    let mut number = 0u32;
    loop {
        number += 1;
        let left = config.deadline.saturating_sub(elapsed());
        let timeout = inner.attempt_timeout.min(left);
        let span = tracing::debug_span!(
            "kv.attempt",
            attempt = number,
            timeout_ms = timeout.as_millis() as u64
        );
        let step = match tokio::time::timeout(timeout, attempt(number).instrument(span)).await {
            Ok(step) => step,
            Err(_) => Step::Retry(Failure::new(Error::Timeout {
                ctx: ctx.boxed(),
                timeout,
            })),
        };
        let failure = match step {
            Step::Done(value) => return Ok(value),
            Step::Stop(error) => return Err(finish(error, number, StopReason::NotRetryable)),
            Step::Retry(failure) => failure,
        };
        let Failure {
            mut error,
            asked,
            rate_limited,
        } = failure;
        if !can_resend() {
            tracing::warn!(attempt = number, error = %error, "attempt failed after a one-shot stream started; not retrying");
            let wrapped = Error::NotReplayable {
                ctx: ctx.boxed(),
                source: Box::new(error),
            };
            return Err(finish(wrapped, number, StopReason::BodyNotReplayable));
        }
        let retry = number; // the retry this wait would precede
        let wait = wait_before(config, retry, asked, rate_limited, inner.jitter.as_ref());
        if rate_limited || asked.is_some() {
            error.set_retry_after(wait);
        }
        if number > config.max_retries {
            let stop = StopReason::RetriesExhausted {
                max_retries: config.max_retries,
            };
            return Err(finish(error, number, stop));
        }
        let left = config.deadline.saturating_sub(elapsed());
        if left.is_zero() {
            let stop = StopReason::DeadlineReached {
                deadline: config.deadline,
            };
            return Err(finish(error, number, stop));
        }
        if wait >= left {
            return Err(finish(
                error,
                number,
                StopReason::WaitBeyondDeadline { wait, left },
            ));
        }
        tracing::info!(
            attempt = number,
            wait_ms = wait.as_millis() as u64,
            error = %error,
            "attempt failed; retrying"
        );
        inner.sleeper.sleep(wait).await;
    }
}
