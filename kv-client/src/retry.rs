//! Retrying: the policy ([`RetryConfig`]), exponential backoff with full jitter and `Retry-After`
//! parsing. The loop that uses them is [`execute`](crate::execute).

pub(crate) mod backoff;
pub(crate) mod config;
pub(crate) mod retry_after;

pub use config::RetryConfig;
