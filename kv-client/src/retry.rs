//! Retrying: the policy ([`RetryConfig`]), exponential backoff with full jitter, `Retry-After`
//! parsing, and the client's retry budget ([`RetryBudget`]). The loop that uses them is
//! [`execute`](crate::execute); what is worth retrying is the [classifier](crate::classify)'s
//! decision, how much retrying costs is the budget's.

pub(crate) mod backoff;
pub(crate) mod budget;
pub(crate) mod config;
pub(crate) mod retry_after;

pub use budget::RetryBudget;
pub use config::RetryConfig;
