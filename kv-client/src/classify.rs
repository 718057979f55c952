//! The one decision of what a failure is: its [`ErrorKind`], and from the kind whether another
//! attempt may succeed. The retry loop, [`Error::is_retryable`] and
//! [`StoreError::kind`](kv_types::StoreError::kind) all ask here, so they cannot disagree.
//!
//! | error | kind | retryable |
//! |---|---|---|
//! | `Validation` | `Validation` | no |
//! | `NotFound` | `NotFound` | no |
//! | `Unauthorized` | `Unauthorized` | no |
//! | `RateLimited` (429) | `RateLimited` | yes |
//! | `Api` with 408, 500, 502, 503, 504 | `Unavailable` | yes |
//! | `Api` with 400, 413 or 414: the service refused the request for a rule it broke | `Validation` | no |
//! | `Api` with any other status (a 409, a 200 with `success: false`) | `Other` | no |
//! | `Transport`: no response (refused, reset, cut short) | `Unavailable` | yes |
//! | `Transport`: the request could not be built | `Other` | no |
//! | `Timeout` | `Unavailable` | yes |
//! | `Body`: the caller's source failed while being read | `Unavailable` | yes |
//! | `NotReplayable`, `Merged` | the kind of the failure it wraps | likewise |
//! | `AccountBudget`: no slot in the account's rate budget before the deadline | `RateLimited` | yes |
//! | `Decode`, `Encode` | `Other` | no |
//! | `Inconsistent`: the key changed during every read round | `Unavailable` | yes |
//! | `BulkIncomplete` with keys the service refused | `Other` | no |
//! | `BulkIncomplete` otherwise | the first failed request's that is not retryable, else the first's | likewise |
//! | `Config`, `MissingEnv` | `Other` | no |
//!
//! Why these: a `Body` failure is the caller's stream or file failing mid-read; the client makes
//! a replayable source again for the next attempt, and a read that failed once may not fail
//! twice. `Inconsistent` means a writer kept changing the key for five rounds: contention that
//! passes, so a later call can succeed. Keys in a bulk call's `unsuccessful_keys` were refused by
//! the service itself for a reason it does not give (the fake refuses invalid items): nothing
//! says another call would be accepted. A 400, 413 or 414 is the service refusing the request
//! itself (a key, value, metadata, TTL or list limit it enforces, whether or not the client knew
//! the rule before sending): the kind a `KvStore` caller checks for a refused write.

use kv_types::ErrorKind;

use crate::error::Error;

/// Statuses worth another attempt: 408, 429, 500, 502, 503, 504.
pub(crate) fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Whether a failure of this kind may be fixed by trying again.
pub(crate) fn is_retryable(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::RateLimited | ErrorKind::Unavailable)
}

/// Whether `error` is an attempt that timed out (ours, or the HTTP stack's): a retry after it
/// costs the retry budget more.
pub(crate) fn is_timeout(error: &Error) -> bool {
    match error {
        Error::Timeout { .. } => true,
        Error::Transport { source, .. } => source.is_timeout(),
        _ => false,
    }
}

/// The kind of `error` (see the table of the module).
pub(crate) fn kind(error: &Error) -> ErrorKind {
    match error {
        Error::Validation { .. } => ErrorKind::Validation,
        Error::NotFound { .. } => ErrorKind::NotFound,
        Error::Unauthorized { .. } => ErrorKind::Unauthorized,
        Error::RateLimited { .. } => ErrorKind::RateLimited,
        Error::Api { status, .. } if retryable_status(*status) => ErrorKind::Unavailable,
        Error::Api {
            status: 400 | 413 | 414,
            ..
        } => ErrorKind::Validation,
        Error::Api { .. } => ErrorKind::Other,
        Error::Transport { source, .. } if source.is_builder() => ErrorKind::Other,
        Error::Transport { .. } | Error::Timeout { .. } | Error::Body { .. } => {
            ErrorKind::Unavailable
        }
        Error::NotReplayable { source, .. } => kind(source),
        Error::Merged { source, .. } => kind(source),
        Error::AccountBudget { .. } => ErrorKind::RateLimited,
        Error::Decode { .. } | Error::Encode { .. } => ErrorKind::Other,
        Error::Inconsistent { .. } => ErrorKind::Unavailable,
        Error::BulkIncomplete {
            refused_keys,
            errors,
            ..
        } => {
            if !refused_keys.is_empty() {
                return ErrorKind::Other;
            }
            let first = errors.first().map(kind);
            errors
                .iter()
                .map(kind)
                .find(|k| !is_retryable(*k))
                .or(first)
                .unwrap_or(ErrorKind::Other)
        }
        Error::Config { .. } | Error::MissingEnv { .. } => ErrorKind::Other,
    }
}
