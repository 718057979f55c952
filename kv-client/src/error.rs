//! [`Error`]: everything a call can fail with, and the context every failure carries: the
//! [`Operation`], the key, and after retries the [`Attempts`] and why retrying stopped.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use kv_types::{ApiErrorDetail, ValidationError};

/// A boxed error from a value stream supplied by the caller.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The operation a call performs, as errors and tracing spans name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Write one value.
    Put,
    /// Read one value.
    Get,
    /// Read a value with the metadata of the same write.
    GetWithMetadata,
    /// Read the metadata of one key.
    Metadata,
    /// Delete one key.
    Delete,
    /// List keys.
    List,
    /// Bulk write.
    BulkPut,
    /// Bulk delete.
    BulkDelete,
    /// Bulk read.
    BulkGet,
    /// Create a namespace.
    CreateNamespace,
    /// List namespaces.
    ListNamespaces,
    /// Read one namespace.
    GetNamespace,
    /// Rename a namespace.
    RenameNamespace,
    /// Delete a namespace.
    DeleteNamespace,
}

impl Operation {
    /// The operation's name, in snake case (`"put"`, `"bulk_get"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Put => "put",
            Operation::Get => "get",
            Operation::GetWithMetadata => "get_with_metadata",
            Operation::Metadata => "metadata",
            Operation::Delete => "delete",
            Operation::List => "list",
            Operation::BulkPut => "bulk_put",
            Operation::BulkDelete => "bulk_delete",
            Operation::BulkGet => "bulk_get",
            Operation::CreateNamespace => "create_namespace",
            Operation::ListNamespaces => "list_namespaces",
            Operation::GetNamespace => "get_namespace",
            Operation::RenameNamespace => "rename_namespace",
            Operation::DeleteNamespace => "delete_namespace",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the retry loop stopped and returned the error it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// The failure is not one that a retry can fix (a 400, a 403, a decode error...).
    NotRetryable,
    /// Every retry allowed by [`RetryConfig::max_retries`](crate::RetryConfig::max_retries) was used.
    RetriesExhausted {
        /// The number of retries allowed.
        max_retries: u32,
    },
    /// The retry deadline has passed.
    DeadlineReached {
        /// The deadline, counted from the start of the call.
        deadline: Duration,
    },
    /// The wait before the next attempt (asked by the server or from backoff) is longer than the
    /// time left before the deadline, so the call returned at once instead of sleeping.
    WaitBeyondDeadline {
        /// The wait that would have been needed.
        wait: Duration,
        /// The time that was left.
        left: Duration,
    },
    /// The value was a one-shot stream that had started: it cannot be sent again.
    BodyNotReplayable,
    /// The client's retry budget is spent: too many calls are failing and retrying at once (the
    /// service is likely down), so this one stopped at its first failure. Successes refill it.
    RetryBudgetSpent {
        /// Tokens the retry needed.
        cost: u32,
        /// Tokens that were left.
        left: u32,
    },
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::NotRetryable => f.write_str("not retryable"),
            StopReason::RetriesExhausted { max_retries } => {
                write!(f, "retries exhausted ({max_retries} allowed)")
            }
            StopReason::DeadlineReached { deadline } => {
                write!(f, "retry deadline of {deadline:?} reached")
            }
            StopReason::WaitBeyondDeadline { wait, left } => write!(
                f,
                "the next attempt would be in {wait:?}, past the retry deadline ({left:?} left)"
            ),
            StopReason::BodyNotReplayable => f.write_str("the value stream cannot be re-sent"),
            StopReason::RetryBudgetSpent { cost, left } => write!(
                f,
                "the client's retry budget is spent (a retry costs {cost}, {left} left)"
            ),
        }
    }
}

/// How many attempts a call made, how long they took and why retrying stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    /// Attempts made (1 when the first one failed for good).
    pub count: u32,
    /// Time from the start of the call to the error, by the client's clock.
    pub elapsed: Duration,
    /// Why no further attempt was made.
    pub stop: StopReason,
}

impl fmt::Display for Attempts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.count == 1 { "" } else { "s" };
        write!(
            f,
            "after {} attempt{plural} in {:?}: {}",
            self.count, self.elapsed, self.stop
        )
    }
}

/// What a failure is about: the operation, the namespace, the key (or the namespace title), and
/// the attempts made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    op: Operation,
    namespace: Option<Arc<str>>,
    key: Option<String>,
    title: Option<String>,
    attempts: Option<Attempts>,
}

impl Context {
    pub(crate) fn new(op: Operation) -> Context {
        Context {
            op,
            namespace: None,
            key: None,
            title: None,
            attempts: None,
        }
    }

    pub(crate) fn with_namespace(mut self, namespace: impl Into<Arc<str>>) -> Context {
        self.namespace = Some(namespace.into());
        self
    }

    pub(crate) fn with_key(mut self, key: impl Into<String>) -> Context {
        self.key = Some(key.into());
        self
    }

    /// The title of the namespace being created or renamed.
    pub(crate) fn with_title(mut self, title: impl Into<String>) -> Context {
        self.title = Some(title.into());
        self
    }

    pub(crate) fn boxed(&self) -> Box<Context> {
        Box::new(self.clone())
    }

    /// The operation.
    pub fn operation(&self) -> Operation {
        self.op
    }

    /// The namespace id, for operations on a namespace.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The key, for operations on one key.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The namespace title, for creating or renaming a namespace.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// The attempts, when the request was sent at least once.
    pub fn attempts(&self) -> Option<&Attempts> {
        self.attempts.as_ref()
    }

    /// `" (after 3 attempts in 2.1s: retries exhausted)"`, or nothing when a single attempt
    /// failed for a reason retrying cannot fix.
    fn attempts_note(&self) -> String {
        match &self.attempts {
            Some(a) if a.count > 1 || a.stop != StopReason::NotRetryable => format!(" ({a})"),
            _ => String::new(),
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.op)?;
        if let Some(key) = &self.key {
            write!(f, " {key:?}")?;
        }
        if let Some(title) = &self.title {
            write!(f, " (title {title:?})")?;
        }
        if let Some(ns) = &self.namespace {
            write!(f, " in namespace {ns}")?;
        }
        Ok(())
    }
}

/// Formats the `errors` of an envelope: `": [10009] get: 'key not found'; [...] ..."`.
fn details(errors: &[ApiErrorDetail]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = errors
        .iter()
        .map(|e| format!("[{}] {}", e.code, e.message))
        .collect();
    format!(": {}", parts.join("; "))
}

fn wait_note(wait: &Option<Duration>) -> String {
    match wait {
        Some(w) => format!(", retry after {w:?}"),
        None => String::new(),
    }
}

fn body_note(body: &Option<String>) -> String {
    match body {
        Some(b) => format!(": non-JSON body {b:?}"),
        None => String::new(),
    }
}

/// Everything a call of this crate can fail with. Each variant names the operation and the key
/// (see [`context`](Self::context)); after the request was sent, also the attempts, the time spent
/// and why retrying stopped. Secrets never appear here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request breaks a rule of the contract (key, TTL, expiration, metadata, value size,
    /// list limit). Nothing was sent, or a stream was cut off before the rest was sent.
    #[error("{ctx}: {source}{}", .ctx.attempts_note())]
    Validation {
        /// What failed.
        ctx: Box<Context>,
        /// The rule broken.
        #[source]
        source: ValidationError,
    },
    /// The namespace (or, where the result is not an `Option`, the key) does not exist.
    #[error("{ctx}: not found (HTTP {status}){}{}", details(.errors), .ctx.attempts_note())]
    NotFound {
        /// What failed.
        ctx: Box<Context>,
        /// The HTTP status.
        status: u16,
        /// The errors of the envelope.
        errors: Vec<ApiErrorDetail>,
    },
    /// The credentials are missing, wrong or lack the permission.
    #[error("{ctx}: unauthorized (HTTP {status}), check the API token or email and key{}{}", details(.errors), .ctx.attempts_note())]
    Unauthorized {
        /// What failed.
        ctx: Box<Context>,
        /// The HTTP status (401 or 403).
        status: u16,
        /// The errors of the envelope.
        errors: Vec<ApiErrorDetail>,
    },
    /// Too many requests (429): the 1-write-per-second limit of a key, or the account's rate.
    #[error("{ctx}: rate limited (HTTP 429){}{}{}", wait_note(.retry_after), details(.errors), .ctx.attempts_note())]
    RateLimited {
        /// What failed.
        ctx: Box<Context>,
        /// How long to wait before trying again: what the server asked (at least 1 s).
        retry_after: Option<Duration>,
        /// The errors of the envelope.
        errors: Vec<ApiErrorDetail>,
    },
    /// The service answered with an error not covered by another variant.
    #[error("{ctx}: API error (HTTP {status}){}{}{}{}", details(.errors), body_note(.body), wait_note(.retry_after), .ctx.attempts_note())]
    Api {
        /// What failed.
        ctx: Box<Context>,
        /// The HTTP status.
        status: u16,
        /// The errors of the envelope (empty when the body was not an envelope).
        errors: Vec<ApiErrorDetail>,
        /// The wait the server asked for with `Retry-After`, if any.
        retry_after: Option<Duration>,
        /// The start of the body, when it was not a JSON envelope (an HTML page from a proxy).
        body: Option<String>,
    },
    /// The request could not be sent or the response not received: connection refused or reset,
    /// TLS, DNS.
    #[error("{ctx}: transport error: {source}{}", .ctx.attempts_note())]
    Transport {
        /// What failed.
        ctx: Box<Context>,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// An attempt took longer than its timeout (the per-attempt timeout, capped by the time left
    /// before the retry deadline).
    #[error("{ctx}: timed out after {timeout:?}{}", .ctx.attempts_note())]
    Timeout {
        /// What failed.
        ctx: Box<Context>,
        /// The timeout of the last attempt.
        timeout: Duration,
    },
    /// The caller's value stream (or file) failed while it was being sent, or the file could not
    /// be read. Retryable: a file or a [`Body::replayable`](crate::Body::replayable) source is
    /// made again for the next attempt (a one-shot stream ends the call with
    /// [`Error::NotReplayable`] instead).
    #[error("{ctx}: the value stream failed: {source}{}", .ctx.attempts_note())]
    Body {
        /// What failed.
        ctx: Box<Context>,
        /// The stream's error.
        #[source]
        source: BoxError,
    },
    /// An attempt failed after a one-shot stream had started to be sent: it cannot be sent again,
    /// so the call stopped instead of retrying with a partial or empty body. Nothing was stored
    /// by that attempt. Make the value with [`Body::replayable`](crate::Body::replayable) or
    /// [`Body::file`](crate::Body::file) to have it retried.
    #[error("{ctx}: not retried, the value is a one-shot stream that had started{}: {source}", .ctx.attempts_note())]
    NotReplayable {
        /// What failed.
        ctx: Box<Context>,
        /// Why the attempt failed.
        #[source]
        source: Box<Error>,
    },
    /// With [write pacing](crate::ClientBuilder::write_pacing), this call's write was merged with
    /// other writes of the same key into one request, carrying this call's value or a later
    /// one, and that request failed: `source` is its error, shared by every call it carried.
    /// Nothing of this call is known to be stored.
    #[error("{ctx}: the paced write that carried this call failed: {source}")]
    Merged {
        /// This call.
        ctx: Box<Context>,
        /// The error of the write that carried it.
        #[source]
        source: Arc<Error>,
    },
    /// With an [account rate budget](crate::ClientBuilder::account_rate_limit), the next free
    /// slot for this request comes after the call's deadline: nothing was sent for it. The
    /// client is sending more than the budget allows; the call may succeed later.
    #[error("{ctx}: the account's rate budget ({limit} requests per {window:?}) has no slot for {wait:?}, past the deadline ({left:?} left){}", .ctx.attempts_note())]
    AccountBudget {
        /// What failed.
        ctx: Box<Context>,
        /// The wait for the next slot.
        wait: Duration,
        /// The time left before the call's deadline.
        left: Duration,
        /// Requests allowed per window.
        limit: u32,
        /// The window.
        window: Duration,
    },
    /// The response could not be decoded: not the JSON expected, truncated, wrong shape.
    #[error("{ctx}: cannot decode the response (HTTP {status}): {reason}{}", .ctx.attempts_note())]
    Decode {
        /// What failed.
        ctx: Box<Context>,
        /// The HTTP status of the response.
        status: u16,
        /// What was wrong.
        reason: String,
    },
    /// The request could not be encoded (its JSON body could not be written). Nothing was sent.
    #[error("{ctx}: cannot encode the request: {reason}")]
    Encode {
        /// What failed.
        ctx: Box<Context>,
        /// What was wrong.
        reason: String,
    },
    /// `get_with_metadata` saw the key change during every read round and gave up.
    #[error(
        "{ctx}: the key changed during each of {rounds} read rounds, no consistent value and metadata"
    )]
    Inconsistent {
        /// What failed.
        ctx: Box<Context>,
        /// Rounds tried.
        rounds: u32,
    },
    /// Some keys of a bulk operation failed; every one of them is listed.
    #[error("{ctx}: {} keys failed, {succeeded} succeeded{}", .failed_keys.len(), first_error(.errors))]
    BulkIncomplete {
        /// What failed.
        ctx: Box<Context>,
        /// Keys that succeeded.
        succeeded: u64,
        /// Every key that failed: reported by the service, or part of a request that failed.
        failed_keys: Vec<String>,
        /// The keys of `failed_keys` that the service itself reported as not done (its
        /// `unsuccessful_keys`): the service refused them, so making the call again is not
        /// known to help, and the error is not [retryable](Error::is_retryable).
        refused_keys: Vec<String>,
        /// The errors of the requests that failed (none when the service reported the keys).
        errors: Vec<Error>,
    },
    /// The client is configured wrongly.
    #[error("invalid client configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// [`Client::from_env`](crate::Client::from_env) needs this environment variable.
    #[error("environment variable {var} is not set")]
    MissingEnv {
        /// The variable's name.
        var: &'static str,
    },
}

fn first_error(errors: &[Error]) -> String {
    match errors.first() {
        Some(e) if errors.len() == 1 => format!("; {e}"),
        Some(e) => format!("; {} requests failed, the first: {e}", errors.len()),
        None => String::new(),
    }
}

impl Error {
    /// The context: operation, namespace, key, attempts. `None` for configuration errors.
    pub fn context(&self) -> Option<&Context> {
        match self {
            Error::Validation { ctx, .. }
            | Error::NotFound { ctx, .. }
            | Error::Unauthorized { ctx, .. }
            | Error::RateLimited { ctx, .. }
            | Error::Api { ctx, .. }
            | Error::Transport { ctx, .. }
            | Error::Timeout { ctx, .. }
            | Error::Body { ctx, .. }
            | Error::NotReplayable { ctx, .. }
            | Error::Merged { ctx, .. }
            | Error::AccountBudget { ctx, .. }
            | Error::Decode { ctx, .. }
            | Error::Encode { ctx, .. }
            | Error::Inconsistent { ctx, .. }
            | Error::BulkIncomplete { ctx, .. } => Some(ctx),
            Error::Config { .. } | Error::MissingEnv { .. } => None,
        }
    }

    pub(crate) fn context_mut(&mut self) -> Option<&mut Context> {
        match self {
            Error::Validation { ctx, .. }
            | Error::NotFound { ctx, .. }
            | Error::Unauthorized { ctx, .. }
            | Error::RateLimited { ctx, .. }
            | Error::Api { ctx, .. }
            | Error::Transport { ctx, .. }
            | Error::Timeout { ctx, .. }
            | Error::Body { ctx, .. }
            | Error::NotReplayable { ctx, .. }
            | Error::Merged { ctx, .. }
            | Error::AccountBudget { ctx, .. }
            | Error::Decode { ctx, .. }
            | Error::Encode { ctx, .. }
            | Error::Inconsistent { ctx, .. }
            | Error::BulkIncomplete { ctx, .. } => Some(ctx),
            Error::Config { .. } | Error::MissingEnv { .. } => None,
        }
    }

    pub(crate) fn set_attempts(&mut self, attempts: Attempts) {
        if let Some(ctx) = self.context_mut() {
            ctx.attempts = Some(attempts);
        }
    }

    pub(crate) fn set_retry_after(&mut self, wait: Duration) {
        match self {
            Error::RateLimited { retry_after, .. } | Error::Api { retry_after, .. } => {
                *retry_after = Some(wait)
            }
            _ => {}
        }
    }

    pub(crate) fn validation(ctx: &Context, source: ValidationError) -> Error {
        Error::Validation {
            ctx: ctx.boxed(),
            source,
        }
    }

    pub(crate) fn encode(ctx: &Context, what: &str, source: serde_json::Error) -> Error {
        Error::Encode {
            ctx: ctx.boxed(),
            reason: format!("{what}: {source}"),
        }
    }

    pub(crate) fn decode(ctx: &Context, status: u16, reason: impl Into<String>) -> Error {
        Error::Decode {
            ctx: ctx.boxed(),
            status,
            reason: reason.into(),
        }
    }

    /// The operation that failed.
    pub fn operation(&self) -> Option<Operation> {
        self.context().map(Context::operation)
    }

    /// The key the operation was about.
    pub fn key(&self) -> Option<&str> {
        self.context().and_then(Context::key)
    }

    /// The attempts made, when the request was sent.
    pub fn attempts(&self) -> Option<&Attempts> {
        self.context().and_then(Context::attempts)
    }

    /// The HTTP status the service answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::NotFound { status, .. }
            | Error::Unauthorized { status, .. }
            | Error::Api { status, .. }
            | Error::Decode { status, .. } => Some(*status),
            Error::RateLimited { .. } => Some(429),
            Error::Validation { .. } => None,
            Error::NotReplayable { source, .. } => source.status(),
            Error::Merged { source, .. } => source.status(),
            _ => None,
        }
    }

    /// The error codes of the envelope, if the service answered with one.
    pub fn codes(&self) -> Vec<u32> {
        match self {
            Error::NotFound { errors, .. }
            | Error::Unauthorized { errors, .. }
            | Error::RateLimited { errors, .. }
            | Error::Api { errors, .. } => errors.iter().map(|e| e.code).collect(),
            Error::NotReplayable { source, .. } => source.codes(),
            Error::Merged { source, .. } => source.codes(),
            _ => Vec::new(),
        }
    }

    /// How long the server asked to wait before trying again (`retry-after-ms` or
    /// `Retry-After`; at least 1 s after a 429).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } | Error::Api { retry_after, .. } => *retry_after,
            Error::NotReplayable { source, .. } => source.retry_after(),
            Error::Merged { source, .. } => source.retry_after(),
            Error::AccountBudget { wait, .. } => Some(*wait),
            _ => None,
        }
    }

    /// Whether the same call may succeed if made again later: rate limits, timeouts, transport
    /// failures, the statuses 408, 500, 502, 503, 504, a value source that failed while being
    /// sent, a `get_with_metadata` that never saw the key stable, a one-shot stream that could
    /// not be re-sent after such a failure, and a bulk call whose failed requests all failed so.
    /// A validation error, another 4xx, a decode error, keys the service refused are not. The
    /// same decision as the client's own retries and as [`StoreError::kind`](kv_types::StoreError::kind) (retryable
    /// exactly when the kind is `RateLimited` or `Unavailable`).
    pub fn is_retryable(&self) -> bool {
        crate::classify::is_retryable(crate::classify::kind(self))
    }

    /// The rule broken, for a validation error.
    pub fn validation_error(&self) -> Option<&ValidationError> {
        match self {
            Error::Validation { source, .. } => Some(source),
            _ => None,
        }
    }

    /// Every key that failed, for a bulk operation.
    pub fn failed_keys(&self) -> &[String] {
        match self {
            Error::BulkIncomplete { failed_keys, .. } => failed_keys,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv_types::{ErrorKind, StoreError};

    #[test]
    fn display_names_operation_key_and_attempts() {
        let mut ctx = Context::new(Operation::Put)
            .with_namespace("ns1")
            .with_key("a/b");
        ctx.attempts = Some(Attempts {
            count: 3,
            elapsed: Duration::from_millis(1500),
            stop: StopReason::RetriesExhausted { max_retries: 2 },
        });
        let err = Error::Api {
            ctx: Box::new(ctx),
            status: 503,
            errors: vec![ApiErrorDetail {
                code: 19018,
                message: "injected".into(),
            }],
            retry_after: None,
            body: None,
        };
        let text = err.to_string();
        assert_eq!(
            text,
            "put \"a/b\" in namespace ns1: API error (HTTP 503): [19018] injected \
             (after 3 attempts in 1.5s: retries exhausted (2 allowed))"
        );
        assert!(err.is_retryable());
        assert_eq!(err.status(), Some(503));
        assert_eq!(err.kind(), ErrorKind::Unavailable);
    }

    #[test]
    fn error_is_small() {
        assert!(std::mem::size_of::<Error>() <= 96);
    }
}
