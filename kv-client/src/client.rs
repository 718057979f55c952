//! [`Client`]: the configured connection to one account, cheap to clone, and the namespace
//! handles it gives.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use kv_types::Limits;
use reqwest::Url;

use crate::config::ClientBuilder;
use crate::endpoint::Endpoints;
use crate::error::Error;
use crate::namespace::KvNamespace;
use crate::retry::RetryConfig;
use crate::retry::budget::TokenBucket;
use crate::time::{Clock, Jitter, Sleeper, epoch_secs};

/// A client of the Workers KV REST API for one account. Cheap to clone (an `Arc` inside), `Send`
/// and `Sync`: make one and share it.
///
/// ```no_run
/// # async fn demo() -> Result<(), kv_client::Error> {
/// use kv_client::Client;
///
/// let client = Client::from_env()?;
/// let kv = client.namespace("0123456789abcdef0123456789abcdef");
/// kv.put("greeting", "hello").expiration_ttl(300).await?;
/// assert_eq!(kv.get("greeting").text().await?.as_deref(), Some("hello"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// The shared state of a client.
pub(crate) struct Inner {
    /// The HTTP client, with the auth headers (marked sensitive) and the `User-Agent` as its
    /// default headers, so no request copies them.
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) endpoints: Endpoints,
    pub(crate) account_id: String,
    pub(crate) retry: RetryConfig,
    /// The account's rate budget, when on.
    pub(crate) account: Option<crate::account_rate::AccountPacer>,
    /// Per-key write pacing, when on.
    pub(crate) pacer: Option<crate::pacing::WritePacer>,
    /// The retry budget, when on.
    pub(crate) retry_budget: Option<TokenBucket>,
    pub(crate) attempt_timeout: Duration,
    pub(crate) limits: Limits,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) sleeper: Arc<dyn Sleeper>,
    pub(crate) jitter: Arc<dyn Jitter>,
}

impl Inner {
    /// Wall-clock now, in epoch seconds, by the client's clock.
    pub(crate) fn now_epoch(&self) -> u64 {
        epoch_secs(self.clock.wall())
    }
}

impl Client {
    /// A builder with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client from the environment: `CLOUDFLARE_API_TOKEN` (or `CLOUDFLARE_EMAIL` and
    /// `CLOUDFLARE_API_KEY`), `CLOUDFLARE_ACCOUNT_ID`, and optionally `CLOUDFLARE_BASE_URL` (or
    /// wrangler's `CLOUDFLARE_API_BASE_URL`). A missing variable is an [`Error::MissingEnv`]
    /// that names it. Use [`ClientBuilder::from_env_with`] to change other settings too.
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env_with(|name| std::env::var(name).ok())?.build()
    }

    pub(crate) fn from_inner(inner: Inner) -> Client {
        Client {
            inner: Arc::new(inner),
        }
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The handle of one namespace, which carries the key operations (the edge API's `kv`
    /// object). Nothing is sent until an operation is awaited.
    pub fn namespace(&self, namespace_id: impl Into<String>) -> KvNamespace {
        KvNamespace::new(self.clone(), namespace_id.into())
    }

    /// The account id.
    pub fn account_id(&self) -> &str {
        &self.inner.account_id
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The retry policy.
    pub fn retry_config(&self) -> &RetryConfig {
        &self.inner.retry
    }

    /// The tokens left in the retry budget ([`RetryBudget`](crate::RetryBudget)); `None` when it
    /// is off.
    pub fn retry_budget_left(&self) -> Option<u32> {
        self.inner.retry_budget.as_ref().map(TokenBucket::left)
    }

    /// With [write pacing](ClientBuilder::write_pacing), the keys the pacer tracks now: those
    /// with a write in flight, waiting, or written less than a second ago (the table empties
    /// itself); `None` when pacing is off.
    pub fn paced_keys(&self) -> Option<usize> {
        self.inner
            .pacer
            .as_ref()
            .map(crate::pacing::WritePacer::busy_keys)
    }

    /// The limits checked before sending.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("account_id", &self.inner.account_id)
            .field("auth", &"***")
            .field("retry", &self.inner.retry)
            .field("attempt_timeout", &self.inner.attempt_timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_send_sync_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<Client>();
        assert_traits::<KvNamespace>();
    }
}
