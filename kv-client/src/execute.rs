//! The one request path: [`execute`] owns the life of every attempt of every operation. It
//! builds the attempt's request from the operation's [`Request`], sends it under the attempt
//! timeout (capped by the time left before the deadline), hands the answer to the operation's
//! [`Reading`], asks the [classifier](crate::classify) whether a failure is worth another
//! attempt, then waits and tries again or stops with an error that says how many attempts were
//! made and why it stopped.

use std::future::Future;

use kv_types::{ErrorKind, ValidationError};

use crate::account_rate::NoSlot;
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
    let mut last_retry_cost = 0u32;
    loop {
        number += 1;
        if let Some(account) = &inner.account {
            let left = config.deadline.saturating_sub(elapsed());
            match account.reserve(inner.clock.now(), left) {
                Ok(wait) if wait.is_zero() => {}
                Ok(wait) => {
                    tracing::debug!(
                        wait_ms = wait.as_millis() as u64,
                        "waiting for a slot of the account's rate budget"
                    );
                    inner.sleeper.sleep(wait).await;
                }
                Err(NoSlot { wait }) => {
                    let (limit, window) = account.budget();
                    let error = Error::AccountBudget {
                        ctx: ctx.boxed(),
                        wait,
                        left,
                        limit,
                        window,
                    };
                    let stop = StopReason::DeadlineReached {
                        deadline: config.deadline,
                    };
                    // This attempt was never sent.
                    return Err(finish(error, number - 1, stop));
                }
            }
        }
        let left = config.deadline.saturating_sub(elapsed());
        let timeout = inner.attempt_timeout.min(left);
        let span = attempt_span(number, timeout);
        let outcome = tokio::time::timeout(timeout, in_span(span, attempt())).await;
        let mut error = match outcome {
            Ok(Ok(value)) => {
                if let Some(bucket) = &inner.retry_budget {
                    bucket.succeeded(last_retry_cost);
                }
                return Ok(value);
            }
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
        if let Some(bucket) = inner.retry_budget.as_ref().filter(|_| !rate_limited) {
            let cost = bucket.cost(classify::is_timeout(&error));
            if !bucket.take(cost) {
                let left = bucket.left();
                tracing::warn!(attempt = number, cost, left, error = %error, "retry budget spent; not retrying");
                return Err(finish(
                    error,
                    number,
                    StopReason::RetryBudgetSpent { cost, left },
                ));
            }
            last_retry_cost = cost;
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use kv_types::{ApiErrorDetail, StoreError};

    use super::*;
    use crate::error::Operation;
    use crate::time::{FixedJitter, ManualTime};
    use crate::{Client, RetryConfig};

    /// The variant's name; the match is exhaustive, so a new variant must be added here (and to
    /// the samples below, which `every_variant_is_sampled` checks).
    fn variant(e: &Error) -> &'static str {
        match e {
            Error::Validation { .. } => "Validation",
            Error::NotFound { .. } => "NotFound",
            Error::Unauthorized { .. } => "Unauthorized",
            Error::RateLimited { .. } => "RateLimited",
            Error::Api { .. } => "Api",
            Error::Transport { .. } => "Transport",
            Error::Timeout { .. } => "Timeout",
            Error::Body { .. } => "Body",
            Error::NotReplayable { .. } => "NotReplayable",
            Error::Merged { .. } => "Merged",
            Error::AccountBudget { .. } => "AccountBudget",
            Error::Decode { .. } => "Decode",
            Error::Encode { .. } => "Encode",
            Error::Inconsistent { .. } => "Inconsistent",
            Error::BulkIncomplete { .. } => "BulkIncomplete",
            Error::Config { .. } => "Config",
            Error::MissingEnv { .. } => "MissingEnv",
        }
    }

    const VARIANTS: usize = 17;

    fn ctx() -> Box<Context> {
        Box::new(Context::new(Operation::Put).with_key("k"))
    }

    fn api(status: u16) -> Error {
        Error::Api {
            ctx: ctx(),
            status,
            errors: vec![ApiErrorDetail {
                code: 10001,
                message: "m".into(),
            }],
            retry_after: None,
            body: None,
        }
    }

    fn rate_limited() -> Error {
        Error::RateLimited {
            ctx: ctx(),
            retry_after: None,
            errors: Vec::new(),
        }
    }

    fn bulk(refused: &[&str], errors: Vec<Error>) -> Error {
        Error::BulkIncomplete {
            ctx: ctx(),
            succeeded: 1,
            failed_keys: vec!["a".into(), "b".into()],
            refused_keys: refused.iter().map(|k| k.to_string()).collect(),
            errors,
        }
    }

    /// A transport error without a response: a connection refused by a closed local port.
    async fn refused_connection() -> reqwest::Error {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .expect_err("nothing listens")
    }

    fn builder_error() -> reqwest::Error {
        reqwest::Client::new()
            .get("http://exa mple.invalid/")
            .build()
            .expect_err("not a URL")
    }

    /// One sample of each case of the classifier's table, with the kind it must have.
    async fn samples() -> Vec<(&'static str, Error, ErrorKind)> {
        use ErrorKind::*;
        let transport = |source| Error::Transport { ctx: ctx(), source };
        vec![
            (
                "validation",
                Error::validation(&Context::new(Operation::Put), ValidationError::EmptyKey),
                Validation,
            ),
            (
                "404",
                Error::NotFound {
                    ctx: ctx(),
                    status: 404,
                    errors: Vec::new(),
                },
                NotFound,
            ),
            (
                "403",
                Error::Unauthorized {
                    ctx: ctx(),
                    status: 403,
                    errors: Vec::new(),
                },
                Unauthorized,
            ),
            ("429", rate_limited(), RateLimited),
            ("408", api(408), Unavailable),
            ("500", api(500), Unavailable),
            ("502", api(502), Unavailable),
            ("503", api(503), Unavailable),
            ("504", api(504), Unavailable),
            ("400", api(400), Validation),
            ("413", api(413), Validation),
            ("414", api(414), Validation),
            ("409", api(409), Other),
            ("200 with success false", api(200), Other),
            (
                "connection refused",
                transport(refused_connection().await),
                Unavailable,
            ),
            ("request not buildable", transport(builder_error()), Other),
            (
                "timeout",
                Error::Timeout {
                    ctx: ctx(),
                    timeout: Duration::from_secs(1),
                },
                Unavailable,
            ),
            (
                "value source failed",
                Error::Body {
                    ctx: ctx(),
                    source: "disk unplugged".into(),
                },
                Unavailable,
            ),
            (
                "one-shot stream after a 503",
                Error::NotReplayable {
                    ctx: ctx(),
                    source: Box::new(api(503)),
                },
                Unavailable,
            ),
            (
                "one-shot stream after a 400",
                Error::NotReplayable {
                    ctx: ctx(),
                    source: Box::new(api(400)),
                },
                Validation,
            ),
            (
                "merged into a write that got a 503",
                Error::Merged {
                    ctx: ctx(),
                    source: std::sync::Arc::new(api(503)),
                },
                Unavailable,
            ),
            (
                "no slot in the account budget",
                Error::AccountBudget {
                    ctx: ctx(),
                    wait: Duration::from_secs(9),
                    left: Duration::from_secs(1),
                    limit: 60,
                    window: Duration::from_secs(10),
                },
                RateLimited,
            ),
            (
                "decode",
                Error::decode(&Context::new(Operation::Get), 200, "x"),
                Other,
            ),
            (
                "encode",
                Error::Encode {
                    ctx: ctx(),
                    reason: "x".into(),
                },
                Other,
            ),
            (
                "inconsistent",
                Error::Inconsistent {
                    ctx: ctx(),
                    rounds: 5,
                },
                Unavailable,
            ),
            (
                "bulk: keys refused by the service",
                bulk(&["a", "b"], Vec::new()),
                Other,
            ),
            (
                "bulk: refused keys and a 503",
                bulk(&["a"], vec![api(503)]),
                Other,
            ),
            (
                "bulk: requests failed retryably",
                bulk(&[], vec![rate_limited(), api(503)]),
                RateLimited,
            ),
            (
                "bulk: a request failed for good",
                bulk(&[], vec![api(503), api(400)]),
                Validation,
            ),
            (
                "bulk: unauthorized",
                bulk(
                    &[],
                    vec![Error::Unauthorized {
                        ctx: ctx(),
                        status: 401,
                        errors: Vec::new(),
                    }],
                ),
                Unauthorized,
            ),
            ("config", Error::Config { reason: "x".into() }, Other),
            ("missing env", Error::MissingEnv { var: "X" }, Other),
        ]
    }

    #[tokio::test]
    async fn every_variant_is_sampled() {
        let names: std::collections::BTreeSet<&str> =
            samples().await.iter().map(|(_, e, _)| variant(e)).collect();
        assert_eq!(names.len(), VARIANTS, "{names:?}");
    }

    /// The number of attempts the loop makes when the first fails with `error` and the second
    /// would succeed.
    async fn attempts_after(error: Error) -> u32 {
        let time = ManualTime::new();
        let client = Client::builder()
            .base_url("http://127.0.0.1:9/client/v4")
            .account_id("acc")
            .api_token("t")
            .retry(RetryConfig {
                max_retries: 1,
                ..RetryConfig::default()
            })
            .clock(time.clone())
            .sleeper(time)
            .jitter(FixedJitter(0.0))
            .build()
            .expect("client");
        let made = AtomicU32::new(0);
        let mut error = Some(error);
        let got = retry(
            client.inner(),
            &Context::new(Operation::Put),
            || true,
            || {
                made.fetch_add(1, Ordering::SeqCst);
                let outcome = error.take().map_or(Ok(()), Err);
                async move { outcome }
            },
        )
        .await;
        let count = made.load(Ordering::SeqCst);
        assert_eq!(got.is_ok(), count == 2);
        count
    }

    #[tokio::test]
    async fn the_loop_is_retryable_and_kind_agree_for_every_error() {
        let mut wrong = Vec::new();
        for (name, error, expected) in samples().await {
            let kind = StoreError::kind(&error);
            let retryable = error.is_retryable();
            if kind != expected {
                wrong.push(format!("{name}: kind {kind:?}, expected {expected:?}"));
            }
            let expected_retry =
                matches!(expected, ErrorKind::RateLimited | ErrorKind::Unavailable);
            if retryable != expected_retry {
                wrong.push(format!("{name}: is_retryable {retryable}"));
            }
            let retried = attempts_after(error).await == 2;
            if retried != expected_retry {
                wrong.push(format!("{name}: the loop retried: {retried}"));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[tokio::test]
    async fn a_failure_after_a_one_shot_stream_started_is_not_replayable() {
        let client = Client::builder()
            .base_url("http://127.0.0.1:9/client/v4")
            .account_id("acc")
            .api_token("t")
            .build()
            .expect("client");
        let err = retry(
            client.inner(),
            &Context::new(Operation::Put),
            || false,
            || async { Err::<(), _>(api(503)) },
        )
        .await
        .expect_err("not re-sent");
        assert!(matches!(err, Error::NotReplayable { .. }), "{err:?}");
        assert_eq!(
            err.attempts().map(|a| (a.count, a.stop)),
            Some((1, StopReason::BodyNotReplayable))
        );
        assert!(err.is_retryable(), "a new stream may succeed");
    }
}
