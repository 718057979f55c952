//! The `tracing` span of each operation. Each attempt gets a child span `kv.attempt` from the
//! retry loop. Spans and events carry the operation, namespace, key, attempt number, status and
//! waits; never a header, a token or a value.

use tracing::Span;

use crate::error::Context;

/// The span of one operation: `kv` with fields `op`, `namespace` and `key`.
pub(crate) fn op_span(ctx: &Context) -> Span {
    tracing::info_span!(
        "kv",
        op = ctx.operation().as_str(),
        namespace = ctx.namespace(),
        key = ctx.key()
    )
}
