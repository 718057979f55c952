//! The `tracing` spans: `kv` for each operation, `kv.attempt` for each attempt of the retry loop.
//! Spans and events carry the operation, namespace, key (or title), attempt number, status and
//! waits; never a header, a token or a value. When no subscriber wants a span, the future runs
//! bare, without the instrumentation wrapper.

use std::future::Future;
use std::time::Duration;

use futures_util::future::Either;
use tracing::instrument::Instrumented;
use tracing::{Instrument, Span};

use crate::error::Context;

/// The span of one operation: `kv` with fields `op`, `namespace`, `key` and `title`.
pub(crate) fn op_span(ctx: &Context) -> Span {
    tracing::info_span!(
        "kv",
        op = ctx.operation().as_str(),
        namespace = ctx.namespace(),
        key = ctx.key(),
        title = ctx.title()
    )
}

/// The span of one attempt: `kv.attempt` with its number and timeout.
pub(crate) fn attempt_span(number: u32, timeout: Duration) -> Span {
    tracing::debug_span!(
        "kv.attempt",
        attempt = number,
        timeout_ms = timeout.as_millis() as u64
    )
}

/// `future` run in `span`, or bare when the span is disabled (no subscriber wants it). A plain
/// function, not an `async fn`: an `async fn` would hold `future` twice (as its argument and
/// while awaiting it), doubling the size of every future it wraps.
pub(crate) fn in_span<F: Future>(span: Span, future: F) -> Either<F, Instrumented<F>> {
    if span.is_disabled() {
        Either::Left(future)
    } else {
        Either::Right(future.instrument(span))
    }
}
