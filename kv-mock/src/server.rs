//! [`KvMock`]: the mock served on a loopback socket, and its [`MockBuilder`].

mod locations;

pub use locations::MockLocation;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use kv_types::{Limits, Namespace};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::engine::{Engine, EngineConfig, NamespaceHandle};
use crate::error::{EngineError, MockError};
use crate::fault::Fault;
use crate::http::{ApiState, BASE_PATH, Credentials, router};
use crate::request_log::RequestRecord;

/// Title of the namespace a mock starts with when none is named.
pub const DEFAULT_NAMESPACE_TITLE: &str = "kv-mock";

/// How often a running server frees the memory of expired entries (they are also freed on every
/// access to their namespace).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Configures and starts a [`KvMock`].
///
/// ```no_run
/// use kv_mock::{Clock, KvMock};
///
/// # async fn demo() -> Result<(), kv_mock::MockError> {
/// let mock = KvMock::builder()
///     .rate_limit(false)
///     .limits(kv_types::Limits { max_value_bytes: 1024, ..kv_types::Limits::PRODUCTION })
///     .api_token("secret")
///     .clock(Clock::frozen_at(1_700_000_000))
///     .start()
///     .await?;
/// println!("{}", mock.base_url());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct MockBuilder {
    limits: Limits,
    rate_limit: bool,
    credentials: Credentials,
    clock: Clock,
    listen: SocketAddr,
    account_id: Option<String>,
    namespaces: Vec<String>,
    account_rate: Option<(u32, Duration)>,
    persist: Option<PathBuf>,
    seeds: Vec<crate::SeedSpec>,
    control_token: Option<String>,
    allow_insecure: bool,
    locations: locations::LocationPlan,
}

impl Default for MockBuilder {
    fn default() -> Self {
        MockBuilder {
            limits: Limits::PRODUCTION,
            rate_limit: true,
            credentials: Credentials::none(),
            clock: Clock::system(),
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            account_id: None,
            namespaces: Vec::new(),
            account_rate: None,
            persist: None,
            seeds: Vec::new(),
            control_token: None,
            allow_insecure: false,
            locations: locations::LocationPlan::default(),
        }
    }
}

impl MockBuilder {
    /// Turns the per-key write limit (one write per second per key) on or off; on by default.
    pub fn rate_limit(mut self, enabled: bool) -> Self {
        self.rate_limit = enabled;
        self
    }

    /// Enforces these limits instead of the production ones.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Requires `Authorization: Bearer <token>` (or the email and key, when also set).
    pub fn api_token(mut self, token: impl Into<String>) -> Self {
        self.credentials = self.credentials.with_token(token);
        self
    }

    /// Requires `X-Auth-Email` and `X-Auth-Key` (or the token, when also set).
    pub fn email_key(mut self, email: impl Into<String>, key: impl Into<String>) -> Self {
        self.credentials = self.credentials.with_email_key(email, key);
        self
    }

    /// Uses this clock (default: [`Clock::system`]).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Listens on this address (default `127.0.0.1:0`, a free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Uses this account id (default: a random one of 32 hex characters).
    pub fn account_id(mut self, id: impl Into<String>) -> Self {
        self.account_id = Some(id.into());
        self
    }

    /// Creates a namespace with this title at start. The first one named is the default
    /// namespace; when none is named there is one, titled [`DEFAULT_NAMESPACE_TITLE`].
    pub fn namespace(mut self, title: impl Into<String>) -> Self {
        self.namespaces.push(title.into());
        self
    }

    /// Limits the account to `max_requests` API requests per `window` (Cloudflare: 1200 per
    /// 5 minutes), answering 429 with `Retry-After` beyond it. Off by default, since test suites
    /// easily send more. The window is measured on the mock's clock, and a request also leaves
    /// it after `window` of real time.
    pub fn account_rate_limit(mut self, max_requests: u32, window: Duration) -> Self {
        self.account_rate = Some((max_requests, window));
        self
    }

    /// Keeps the namespaces, entries and account id in a SQLite database in `dir` (see
    /// [`Engine::persistent`]); a restarted mock finds them there. A starting namespace whose
    /// title is already stored is reused with its id; listening on port 0 takes the port of the
    /// previous run again when it is free. Default: in memory.
    pub fn persist(mut self, dir: impl Into<PathBuf>) -> Self {
        self.persist = Some(dir.into());
        self
    }

    /// Loads `file` (wrangler's bulk JSON, `[{key, value, base64?, expiration?, expiration_ttl?,
    /// metadata?}]`) into the default namespace before the mock serves, with the seeding rules of
    /// [`Engine::import`]. Repeatable. A file that is missing, malformed or holds a bad item
    /// makes [`start`](Self::start) fail ([`MockError::Seed`] names the item), and nothing of
    /// any seed file is loaded.
    pub fn seed(mut self, file: impl Into<PathBuf>) -> Self {
        self.seeds.push(crate::SeedSpec {
            title: None,
            file: file.into(),
        });
        self
    }

    /// [`seed`](Self::seed) into the namespace titled `title`, which is created at start (after
    /// the ones named by [`namespace`](Self::namespace)) when none of them has that title.
    pub fn seed_into(mut self, title: impl Into<String>, file: impl Into<PathBuf>) -> Self {
        self.seeds.push(crate::SeedSpec {
            title: Some(title.into()),
            file: file.into(),
        });
        self
    }

    /// Makes the control routes (`/__mock/`: reset, restore, import, export, snapshot, faults,
    /// clock...; not the web page's own files) require `Authorization: Bearer <token>` with this
    /// token. Without it they require the API's credentials when some are set
    /// ([`api_token`](Self::api_token), [`email_key`](Self::email_key)), and nothing otherwise.
    pub fn control_token(mut self, token: impl Into<String>) -> Self {
        self.control_token = Some(token.into());
        self
    }

    /// Allows listening on an address that is not loopback while the control routes require no
    /// credential (anyone who reaches the port could then reset, restore or import). Off by
    /// default: such a [`start`](Self::start) fails with [`MockError::Insecure`]; when allowed,
    /// a warning is logged.
    pub fn allow_insecure(mut self, allowed: bool) -> Self {
        self.allow_insecure = allowed;
        self
    }

    /// Binds the socket, creates the namespaces, loads the seed files and serves in the
    /// background on the current tokio runtime.
    pub async fn start(self) -> Result<KvMock, MockError> {
        let open_control = self.control_token.is_none() && !self.credentials.is_required();
        if open_control && !self.listen.ip().is_loopback() {
            if !self.allow_insecure {
                return Err(MockError::Insecure { addr: self.listen });
            }
            tracing::warn!(
                addr = %self.listen,
                "kv-mock listens beyond loopback with no token: anyone who reaches it can read, reset, restore and import its data (--allow-insecure)"
            );
        }
        let config = EngineConfig {
            limits: self.limits,
            rate_limit: self.rate_limit,
            clock: self.clock,
        };
        let engine = match (
            self.locations.locations(self.persist.is_some())?,
            self.persist,
        ) {
            (Some(locations), _) => {
                Engine::with_locations(config, locations).map_err(MockError::Locations)?
            }
            (None, None) => Engine::new(config),
            (None, Some(dir)) => {
                tokio::task::spawn_blocking(move || Engine::persistent(config, dir))
                    .await
                    .map_err(|e| {
                        MockError::Setup(EngineError::Storage {
                            op: "open the database",
                            reason: e.to_string(),
                        })
                    })?
                    .map_err(MockError::Setup)?
            }
        };
        let mut titles = if self.namespaces.is_empty() {
            vec![DEFAULT_NAMESPACE_TITLE.to_owned()]
        } else {
            self.namespaces
        };
        for title in self.seeds.iter().filter_map(|s| s.title.as_ref()) {
            if !titles.contains(title) {
                titles.push(title.clone());
            }
        }
        let mut namespaces = Vec::with_capacity(titles.len());
        for title in &titles {
            let kept = engine
                .list_namespaces()
                .into_iter()
                .find(|ns| &ns.title == title);
            namespaces.push(match kept {
                Some(ns) => ns,
                None => engine.create_namespace(title).map_err(MockError::Setup)?,
            });
        }
        if !self.seeds.is_empty() {
            let seeds: Vec<(String, PathBuf)> = self
                .seeds
                .iter()
                .map(|seed| {
                    let ns = match &seed.title {
                        None => namespaces.first(),
                        Some(t) => namespaces.iter().find(|ns| &ns.title == t),
                    };
                    (
                        ns.map(|ns| ns.id.clone()).unwrap_or_default(),
                        seed.file.clone(),
                    )
                })
                .collect();
            let seeding = engine.clone();
            tokio::task::spawn_blocking(move || crate::seed::load(&seeding, &seeds))
                .await
                .map_err(|e| {
                    MockError::Setup(EngineError::Storage {
                        op: "seed",
                        reason: e.to_string(),
                    })
                })??;
        }
        let account_id = engine
            .account_id(self.account_id.as_deref())
            .map_err(MockError::Setup)?;
        let (listener, addr) = bind(self.listen, &engine).await?;
        engine
            .keep_setting(KEPT_PORT, addr.port().to_string())
            .map_err(MockError::Setup)?;
        let others = locations::bind_others(&engine, self.listen).await?;
        let other_addrs: Vec<SocketAddr> = others.iter().map(|(_, a)| *a).collect();
        let located = locations::served(&engine, addr, &other_addrs);
        let base_url = format!("http://{addr}{BASE_PATH}");
        let mut state = ApiState::new(engine.clone(), account_id.clone(), self.credentials)
            .served_at(base_url.clone(), namespaces.clone());
        if let Some((max, window)) = self.account_rate {
            state = state.with_account_rate_limit(max, window);
        }
        if let Some(token) = self.control_token {
            state = state.with_control_token(token);
        }
        if !located.is_empty() {
            state = state.serving_locations(located.iter().map(MockLocation::served).collect());
        }
        let (stop, stopped) = watch::channel(());
        let listeners = std::iter::once(listener).chain(others.into_iter().map(|(l, _)| l));
        for (at, listener) in listeners.enumerate() {
            serve(listener, router(state.at_location(at)), stopped.clone());
        }
        let sweeper = tokio::spawn(sweep(engine.clone()));
        tracing::debug!(%addr, "kv-mock listening");
        Ok(KvMock {
            addr,
            base_url,
            account_id,
            namespaces,
            state,
            locations: located,
            _stop: stop,
            sweeper,
        })
    }
}

/// The setting of a persistent engine that keeps the port listened on.
const KEPT_PORT: &str = "port";

/// Binds `listen`, and tells the address it got. Port 0 with a persistent engine that kept the
/// port of its previous run binds that port again when it is free (so a restarted mock keeps
/// its `base_url`), else a free one.
async fn bind(listen: SocketAddr, engine: &Engine) -> Result<(TcpListener, SocketAddr), MockError> {
    let kept = engine
        .setting(KEPT_PORT)
        .and_then(|port| port.parse::<u16>().ok())
        .filter(|&port| listen.port() == 0 && port != 0);
    if let Some(port) = kept {
        match bind_addr(SocketAddr::new(listen.ip(), port)).await {
            Ok(bound) => return Ok(bound),
            Err(e) => {
                tracing::info!(port, error = %e, "kv-mock cannot listen on its previous port; picking a free one");
            }
        }
    }
    bind_addr(listen).await
}

/// Binds a listening socket on `addr`, and tells the address it got.
pub(super) async fn bind_addr(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), MockError> {
    let bind_error = |source| MockError::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    Ok((listener, local))
}

/// Serves `app` on `listener` in the background until `stopped` changes or its sender is
/// dropped, then shuts down gracefully.
fn serve(listener: TcpListener, app: axum::Router, mut stopped: watch::Receiver<()>) {
    let serving = axum::serve(listener, app).with_graceful_shutdown(async move {
        // A send or the drop of the sender: either means stop.
        let _ = stopped.changed().await;
    });
    tokio::spawn(async move {
        if let Err(e) = serving.await {
            tracing::warn!(error = %e, "kv-mock stopped serving");
        }
    });
}

/// Frees the memory of expired entries every [`SWEEP_EVERY`] until aborted.
async fn sweep(engine: Engine) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        engine.purge_expired();
    }
}

/// A mock of the KV API served on a loopback socket, with one account and a default namespace.
/// Cheap to start (one per test is fine). It serves [`router`](crate::router) with axum's server;
/// dropping it shuts that down gracefully: the port is freed at once, idle connections are
/// closed, and requests under way are answered first.
///
/// ```no_run
/// use std::time::Duration;
/// use kv_mock::{Fault, FaultMatch, KvMock};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let mock = KvMock::start().await?;
/// let url = format!(
///     "{}/accounts/{}/storage/kv/namespaces/{}/values/greeting",
///     mock.base_url(),
///     mock.account_id(),
///     mock.namespace_id()
/// );
/// mock.inject(Fault::status(503).times(1).matching(FaultMatch::method("PUT")));
/// // ... point the client under test at `url` ...
/// mock.clock().advance(Duration::from_secs(3600));
/// for request in mock.requests() {
///     println!("{} {} -> {}", request.method, request.path, request.status);
/// }
/// # Ok(())
/// # }
/// ```
pub struct KvMock {
    addr: SocketAddr,
    base_url: String,
    account_id: String,
    namespaces: Vec<Namespace>,
    state: ApiState,
    /// With locations: each one's name and address, the default first.
    locations: Vec<MockLocation>,
    /// Dropped with the mock, which starts the graceful shutdown (of every location).
    _stop: watch::Sender<()>,
    sweeper: JoinHandle<()>,
}

impl std::fmt::Debug for KvMock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvMock")
            .field("base_url", &self.base_url)
            .field("account_id", &self.account_id)
            .field("namespaces", &self.namespaces)
            .finish()
    }
}

impl KvMock {
    /// Starts a mock with the defaults: `127.0.0.1:0`, production limits, the per-key write
    /// limit on, the system clock, no authentication, one namespace.
    pub async fn start() -> Result<KvMock, MockError> {
        MockBuilder::default().start().await
    }

    /// A builder to configure the mock before starting it.
    pub fn builder() -> MockBuilder {
        MockBuilder::default()
    }

    /// The base URL, `http://127.0.0.1:PORT/client/v4` (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The account id.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The URL of the mock's web page, `http://127.0.0.1:PORT/__mock/ui`: the namespaces and
    /// keys, the clock, the request log and the faults, in a browser.
    pub fn ui_url(&self) -> String {
        format!("http://{}{}", self.addr, crate::UI_PATH)
    }

    /// The id of the default namespace: 32 lowercase hex characters.
    pub fn namespace_id(&self) -> &str {
        self.namespaces.first().map_or("", |n| n.id.as_str())
    }

    /// The namespaces the mock started with, the default one first.
    pub fn namespaces(&self) -> &[Namespace] {
        &self.namespaces
    }

    /// The address it listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// The clock (move it with [`Clock::advance`]).
    pub fn clock(&self) -> &Clock {
        self.state.engine.clock()
    }

    /// The engine: the state without HTTP, for seeding and inspecting.
    pub fn engine(&self) -> &Engine {
        &self.state.engine
    }

    /// The default namespace as a [`KvStore`](kv_types::KvStore), with no HTTP in between;
    /// `None` if a test deleted it (a [`reset`](Self::reset) brings it back).
    pub fn store(&self) -> Option<NamespaceHandle> {
        self.state.engine.namespace(self.namespace_id())
    }

    /// Turns the per-key write limit on or off.
    pub fn set_rate_limit(&self, enabled: bool) {
        self.state.engine.set_rate_limit(enabled);
    }

    /// Injects a fault into the next matching requests.
    pub fn inject(&self, fault: Fault) {
        self.state.faults.inject(fault);
    }

    /// The faults still waiting for requests.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.state.faults.pending()
    }

    /// Removes every waiting fault.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// The requests received so far, oldest first (control endpoints excluded).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state.log.snapshot()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.state.log.clear();
    }

    /// Clears all data (leaving the starting namespaces, empty), faults and the request log; the
    /// clock and the rate-limit switch are kept. Fails only when a persistent storage could not
    /// write (the rest of the reset is done).
    pub fn reset(&self) -> Result<(), EngineError> {
        self.state.reset()
    }
}

impl KvMock {
    /// Freezes every namespace and entry and answers the snapshot's id, for
    /// [`restore`](Self::restore): a suite seeds once, snapshots, and restores before each test.
    /// O(1) in memory whatever the state holds (see [`Engine::snapshot`]).
    pub fn snapshot(&self) -> Result<String, EngineError> {
        self.state.engine.snapshot()
    }

    /// Puts back every namespace and entry of the snapshot `id`, at once (see
    /// [`Engine::restore`]); faults, the request log and the clock are left as they are.
    pub fn restore(&self, id: &str) -> Result<(), EngineError> {
        self.state.engine.restore(id)
    }
}

impl Drop for KvMock {
    fn drop(&mut self) {
        self.sweeper.abort();
    }
}
