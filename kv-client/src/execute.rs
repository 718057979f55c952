//! The one request path: [`execute`] owns the life of every attempt of every operation. It
//! builds the attempt's request from the operation's [`Request`], sends it under the attempt
//! timeout (capped by the time left before the deadline), hands the answer to the operation's
//! [`Reading`], asks the [classifier](crate::classify) whether a failure is worth another
//! attempt, then waits and tries again or stops with an error that says how many attempts were
//! made and why it stopped.

use std::future::Future;

use kv_types::{ErrorKind, ValidationError};

use crate::classify;
use crate::client::Inner;
use crate::error::{Attempts, Context, Error, StopReason};
use crate::reading::Reading;
use crate::request::Request;
use crate::response::{read, transport};
use crate::retry::backoff::wait_before;
use crate::trace::{attempt_span, in_span};
use crate::upload::UploadFailure;

/// Sends `request` until `reading` accepts an answer or retrying stops.
pub(crate) async fn execute<R: Reading>(
    inner: &Inner,
    ctx: &Context,
    request: &Request<'_>,
    reading: &R,
) -> Result<R::Output, Error> {
    retry(
        inner,
        ctx,
        || request.can_resend(),
        || attempt(inner, ctx, request, reading),
    )
    .await
}

/// One attempt: build, send, read.
async fn attempt<R: Reading>(
    inner: &Inner,
    ctx: &Context,
    request: &Request<'_>,
    reading: &R,
) -> Result<R::Output, Error> {
    let built = request.build(inner, ctx).await?;
    let sent = built.request.send().await;
    if let Some((watch, max)) = built.upload
        && let Some(failure) = watch.take()
    {
        return Err(upload_error(ctx, failure, max));
    }
    let response = sent.map_err(|e| transport(ctx, e))?;
    read(inner, ctx, response, reading).await
}

/// The error of an upload our own side stopped.
fn upload_error(ctx: &Context, failure: UploadFailure, max: usize) -> Error {
    match failure {
        UploadFailure::TooLarge(len) => {
            Error::validation(ctx, ValidationError::ValueTooLarge { len, max })
        }
        UploadFailure::Source(source) => Error::Body {
            ctx: ctx.boxed(),
            source,
        },
    }
}

/// The retry loop around `attempt`. `can_resend` says whether the request body can be sent
/// again (false once a one-shot stream has started).
async fn retry<T, A, Fut>(
    inner: &Inner,
    ctx: &Context,
    can_resend: impl Fn() -> bool,
    mut attempt: A,
) -> Result<T, Error>
where
    A: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
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
        let span = attempt_span(number, timeout);
        let outcome = tokio::time::timeout(timeout, in_span(span, attempt())).await;
        let mut error = match outcome {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => error,
            Err(_) => Error::Timeout {
                ctx: ctx.boxed(),
                timeout,
            },
        };
        let kind = classify::kind(&error);
        if !classify::is_retryable(kind) {
            return Err(finish(error, number, StopReason::NotRetryable));
        }
        if !can_resend() {
            tracing::warn!(attempt = number, error = %error, "attempt failed after a one-shot stream started; not retrying");
            let wrapped = Error::NotReplayable {
                ctx: ctx.boxed(),
                source: Box::new(error),
            };
            return Err(finish(wrapped, number, StopReason::BodyNotReplayable));
        }
        let asked = error.retry_after();
        let rate_limited = kind == ErrorKind::RateLimited;
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
