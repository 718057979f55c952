//! Retrying: the policy ([`RetryConfig`]), exponential backoff with full jitter, `Retry-After`
//! parsing, and the loop that runs attempts under a deadline.

pub(crate) mod backoff;
pub(crate) mod config;
pub(crate) mod retry_after;
pub(crate) mod runner;

pub use config::RetryConfig;
