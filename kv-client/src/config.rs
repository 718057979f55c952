//! [`ClientBuilder`]: base URL, account, auth, timeouts, retry, user agent, injected time; and
//! [`Client::from_env`].

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use kv_types::Limits;
use reqwest::Url;

use crate::client::{Client, Inner};
use crate::endpoint::Endpoints;
use crate::error::Error;
use crate::retry::RetryConfig;
use crate::retry::budget::{RetryBudget, TokenBucket};
use crate::secret::{Auth, Secret};
use crate::time::{Clock, Jitter, RandomJitter, Sleeper, SystemClock, TokioSleeper};

/// The base URL of Cloudflare's API, used when none is given.
pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";
/// Default time to establish a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time one attempt may take, from sending the request to reading the whole response
/// (for [`get().stream()`](crate::GetRequest::stream), to receiving the headers).
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);

/// Environment variable with the API token.
pub const ENV_API_TOKEN: &str = "CLOUDFLARE_API_TOKEN";
/// Environment variable with the account id.
pub const ENV_ACCOUNT_ID: &str = "CLOUDFLARE_ACCOUNT_ID";
/// Environment variable with the base URL (optional).
pub const ENV_BASE_URL: &str = "CLOUDFLARE_BASE_URL";
/// Environment variable with the base URL as wrangler names it (optional, read second).
pub const ENV_API_BASE_URL: &str = "CLOUDFLARE_API_BASE_URL";
/// Environment variable with a global API key (used with [`ENV_EMAIL`] when no token is set).
pub const ENV_API_KEY: &str = "CLOUDFLARE_API_KEY";
/// Environment variable with the account email for a global API key.
pub const ENV_EMAIL: &str = "CLOUDFLARE_EMAIL";

/// Builds a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use kv_client::{Client, RetryConfig};
///
/// let client = Client::builder()
///     .base_url("http://127.0.0.1:8787/client/v4")
///     .account_id("acc")
///     .api_token("tok")
///     .attempt_timeout(Duration::from_secs(5))
///     .retry(RetryConfig { max_retries: 3, ..RetryConfig::default() })
///     .build()?;
/// let kv = client.namespace("0123456789abcdef0123456789abcdef");
/// # let _ = kv;
/// # Ok::<(), kv_client::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    base_url: String,
    account_id: Option<String>,
    auth: Option<Auth>,
    connect_timeout: Duration,
    attempt_timeout: Duration,
    retry: RetryConfig,
    retry_budget: Option<RetryBudget>,
    write_pacing: bool,
    account_rate: Option<(u32, Duration)>,
    user_agent: String,
    allow_http: bool,
    limits: Limits,
    clock: Arc<dyn Clock>,
    sleeper: Arc<dyn Sleeper>,
    jitter: Arc<dyn Jitter>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("account_id", &self.account_id)
            .field("auth", &self.auth)
            .field("connect_timeout", &self.connect_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("retry", &self.retry)
            .field("retry_budget", &self.retry_budget)
            .field("write_pacing", &self.write_pacing)
            .field("account_rate", &self.account_rate)
            .field("user_agent", &self.user_agent)
            .field("allow_http", &self.allow_http)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            base_url: DEFAULT_BASE_URL.to_owned(),
            account_id: None,
            auth: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            retry: RetryConfig::default(),
            retry_budget: Some(RetryBudget::default()),
            write_pacing: false,
            account_rate: None,
            user_agent: concat!("kv-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            allow_http: false,
            limits: Limits::PRODUCTION,
            clock: Arc::new(SystemClock),
            sleeper: Arc::new(TokioSleeper),
            jitter: Arc::new(RandomJitter),
        }
    }
}

impl ClientBuilder {
    /// A builder with the defaults: Cloudflare's base URL, [`RetryConfig::default`], a 10 s
    /// connect timeout and a 60 s attempt timeout.
    pub fn new() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The base URL, path prefix included (`http://127.0.0.1:8787/client/v4`); default
    /// [`DEFAULT_BASE_URL`]. `http://` is refused for a host other than loopback unless
    /// [`allow_http`](Self::allow_http) is set.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The account id.
    pub fn account_id(mut self, id: impl Into<String>) -> Self {
        self.account_id = Some(id.into());
        self
    }

    /// Authenticates with an API token (`Authorization: Bearer`).
    pub fn api_token(mut self, token: impl Into<Secret>) -> Self {
        self.auth = Some(Auth::Token(token.into()));
        self
    }

    /// Authenticates with an account email and global API key.
    pub fn email_key(mut self, email: impl Into<String>, key: impl Into<Secret>) -> Self {
        self.auth = Some(Auth::EmailKey {
            email: email.into(),
            key: key.into(),
        });
        self
    }

    /// Sets the authentication.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Time to establish a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time one attempt may take (capped by the time left before the retry deadline).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// The retry policy.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// The retry budget shared by every call of the client ([`RetryBudget`], on by default with
    /// the AWS SDKs' settings); `None` turns it off, so every call retries as its
    /// [`RetryConfig`] allows whatever the others do.
    pub fn retry_budget(mut self, budget: impl Into<Option<RetryBudget>>) -> Self {
        self.retry_budget = budget.into();
        self
    }

    /// Per-key write pacing and coalescing (off by default). With it, for each key the client
    /// sends at most one write (put or delete) at a time and at most one a second, the
    /// service's per-key limit, so it is never refused for it; writes of a key that arrive while
    /// it waits are merged: only the latest value is sent and every merged call gets that
    /// write's result (`Ok`, or the error as [`Error::Merged`]). A superseded value is released
    /// at once (a one-shot stream is dropped unread). Keys are independent.
    ///
    /// The recommended setting for anything that writes the same key more than once a second
    /// (counters, "last seen" records, configuration written by several tasks): without it
    /// those writes are refused with 429 and retried, each costing a request and at least a
    /// second. It needs a tokio runtime (each busy key has a small task). It paces only this
    /// client's writes: share one client among the tasks of a process.
    pub fn write_pacing(mut self, on: bool) -> Self {
        self.write_pacing = on;
        self
    }

    /// Paces every request of the client to the account's rate budget: at most `requests` in
    /// any `window` (Cloudflare's is `.account_rate_limit(1200, Duration::from_secs(300))` per
    /// user, and passing it blocks every call for five minutes). A request waits for a slot
    /// (slots go in the order asked); the wait counts against the call's
    /// [`deadline`](RetryConfig::deadline), and a call that cannot get a slot before it fails at
    /// once with [`Error::AccountBudget`]. The service's rate-limit headers
    /// (`x-ratelimit-remaining`, `x-ratelimit-reset`, `retry-after`) slow it down further when
    /// they say less is left (other clients of the account).
    ///
    /// Turn it on for batch jobs, imports and anything that may send more than a few requests a
    /// second for minutes; a server handling user requests usually wants a failure instead of a
    /// long wait, and a shorter deadline makes that so. It paces only this client: share one
    /// client per account. A `requests` of 0 or a zero `window` is a [`Error::Config`].
    pub fn account_rate_limit(mut self, requests: u32, window: Duration) -> Self {
        self.account_rate = Some((requests, window));
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Allows `http://` to a host that is not loopback (plain text: the token is readable on the
    /// way).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// The limits checked before sending: [`Limits::PRODUCTION`] by default. Set smaller ones
    /// only to talk to a fake configured with the same.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The clock of the retry loop (deadline, elapsed time, `Retry-After` dates, expiration
    /// checks).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How the retry loop waits between attempts.
    pub fn sleeper(mut self, sleeper: impl Sleeper + 'static) -> Self {
        self.sleeper = Arc::new(sleeper);
        self
    }

    /// The random part of backoff.
    pub fn jitter(mut self, jitter: impl Jitter + 'static) -> Self {
        self.jitter = Arc::new(jitter);
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let account_id = self
            .account_id
            .filter(|a| !a.is_empty())
            .ok_or_else(|| config("the account id is not set"))?;
        let auth = self
            .auth
            .ok_or_else(|| config("no credentials: set an API token or an email and key"))?;
        match &auth {
            Auth::Token(t) if t.expose().is_empty() => {
                return Err(config("the API token is empty"));
            }
            Auth::EmailKey { key, .. } if key.expose().is_empty() => {
                return Err(config("the API key is empty"));
            }
            _ => {}
        }
        if let Some((requests, window)) = self.account_rate
            && (requests == 0 || window.is_zero())
        {
            return Err(config(format!(
                "account_rate_limit({requests}, {window:?}): both must be more than zero"
            )));
        }
        let auth_headers = auth.headers()?;
        let base = parse_base(&self.base_url, self.allow_http)?;
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent)
            .default_headers(auth_headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| config(format!("cannot build the HTTP client: {e}")))?;
        let inner = Inner {
            http,
            endpoints: Endpoints::new(base.clone(), &account_id),
            base,
            account_id,
            retry: self.retry,
            retry_budget: self.retry_budget.map(TokenBucket::new),
            pacer: self.write_pacing.then(crate::pacing::WritePacer::default),
            account: self
                .account_rate
                .map(|(n, w)| crate::account_rate::AccountPacer::new(n, w)),
            attempt_timeout: self.attempt_timeout,
            limits: self.limits,
            clock: self.clock,
            sleeper: self.sleeper,
            jitter: self.jitter,
        };
        Ok(Client::from_inner(inner))
    }

    /// A builder from environment variables found by `lookup`: [`ENV_API_TOKEN`] (or
    /// [`ENV_EMAIL`] and [`ENV_API_KEY`]), [`ENV_ACCOUNT_ID`], and optionally [`ENV_BASE_URL`]
    /// (or wrangler's [`ENV_API_BASE_URL`]). A missing one is a [`Error::MissingEnv`] naming it.
    /// Empty values count as missing.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<ClientBuilder, Error> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut builder = ClientBuilder::new();
        builder = match (get(ENV_API_TOKEN), get(ENV_API_KEY), get(ENV_EMAIL)) {
            (Some(token), _, _) => builder.api_token(token),
            (None, Some(key), Some(email)) => builder.email_key(email, key),
            (None, Some(_), None) => return Err(Error::MissingEnv { var: ENV_EMAIL }),
            (None, None, _) => return Err(Error::MissingEnv { var: ENV_API_TOKEN }),
        };
        let account = get(ENV_ACCOUNT_ID).ok_or(Error::MissingEnv {
            var: ENV_ACCOUNT_ID,
        })?;
        builder = builder.account_id(account);
        if let Some(base) = get(ENV_BASE_URL).or_else(|| get(ENV_API_BASE_URL)) {
            builder = builder.base_url(base);
        }
        Ok(builder)
    }
}

fn config(reason: impl Into<String>) -> Error {
    Error::Config {
        reason: reason.into(),
    }
}

/// Parses the base URL: http or https, no credentials, `http` only to loopback unless allowed.
fn parse_base(text: &str, allow_http: bool) -> Result<Url, Error> {
    let mut url = Url::parse(text.trim()).map_err(|e| config(format!("base URL {text:?}: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(config("the base URL must not carry credentials"));
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_http || is_loopback(&url) => {}
        "http" => {
            return Err(config(format!(
                "base URL {text:?} is plain http to a host that is not loopback; use https, or allow_http(true)"
            )));
        }
        other => return Err(config(format!("base URL scheme {other:?} is not http(s)"))),
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn env_names_the_missing_variable() {
        let err =
            ClientBuilder::from_env_with(env(&[(ENV_ACCOUNT_ID, "a")])).expect_err("no token");
        assert!(matches!(err, Error::MissingEnv { var: ENV_API_TOKEN }));
        assert_eq!(
            err.to_string(),
            "environment variable CLOUDFLARE_API_TOKEN is not set"
        );
        let err = ClientBuilder::from_env_with(env(&[(ENV_API_TOKEN, "t")])).expect_err("no acc");
        assert!(matches!(
            err,
            Error::MissingEnv {
                var: ENV_ACCOUNT_ID
            }
        ));
        let err = ClientBuilder::from_env_with(env(&[(ENV_API_KEY, "k"), (ENV_ACCOUNT_ID, "a")]))
            .expect_err("no email");
        assert!(matches!(err, Error::MissingEnv { var: ENV_EMAIL }));
        let err = ClientBuilder::from_env_with(env(&[(ENV_API_TOKEN, " "), (ENV_ACCOUNT_ID, "a")]))
            .expect_err("blank token");
        assert!(matches!(err, Error::MissingEnv { var: ENV_API_TOKEN }));
    }

    #[test]
    fn env_reads_base_url() {
        let b = ClientBuilder::from_env_with(env(&[
            (ENV_API_TOKEN, "t"),
            (ENV_ACCOUNT_ID, "a"),
            (ENV_API_BASE_URL, "http://127.0.0.1:1/x"),
        ]))
        .expect("complete");
        assert_eq!(b.base_url, "http://127.0.0.1:1/x");
        assert!(b.build().is_ok());
    }

    #[test]
    fn http_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:8787/client/v4",
            "http://localhost/x",
            "http://[::1]:9/",
            "https://kv.example.com/client/v4",
        ] {
            assert!(parse_base(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "http://kv.example.com/",
            "http://10.0.0.1/",
            "ftp://127.0.0.1/",
            "nope",
        ] {
            assert!(parse_base(bad, false).is_err(), "{bad}");
        }
        assert!(parse_base("http://kv.example.com/", true).is_ok());
        assert!(parse_base("https://user:pw@kv.example.com/", false).is_err());
    }

    #[test]
    fn build_requires_account_and_auth() {
        assert!(matches!(
            ClientBuilder::new().api_token("t").build(),
            Err(Error::Config { .. })
        ));
        assert!(matches!(
            ClientBuilder::new().account_id("a").build(),
            Err(Error::Config { .. })
        ));
        assert!(matches!(
            ClientBuilder::new().account_id("a").api_token("").build(),
            Err(Error::Config { .. })
        ));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let b = ClientBuilder::new()
            .account_id("a")
            .api_token("secret-token-xyz");
        assert!(!format!("{b:?}").contains("secret-token-xyz"));
        let c = b.build().expect("valid");
        assert!(!format!("{c:?}").contains("secret-token-xyz"));
    }
}
