//! The standalone server: its flags ([`ServeArgs`]) and how it runs ([`run`]), shared by the
//! `kv-mock` binary and `edge-kv mock`, so both take the same flags and print the same lines.
//!
//! [`run`] prints one `name value` pair per line on stdout (`base_url`, `account_id`, then
//! `namespace_id <id> <title>` per namespace, the default first, with `--location` the
//! `propagation_seed` and one `location <name> <base_url>` per location, then `ui_url`, the web
//! page) and `ready`, then serves until Ctrl-C or SIGTERM. Logs go to stderr through whatever
//! `tracing` subscriber the binary set.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use kv_types::Limits;

use crate::{Clock, KvMock, MockBuilder, PropagationDelay};

/// The global allocator of the standalone binaries (`kv-mock`, `edge-kv`): jemalloc. With the
/// background threads that [`run`] turns on, it gives memory freed by the server back to the
/// system within about ten seconds (its `dirty_decay_ms`), even while no request comes in; the
/// system's allocator and mimalloc keep much of it (BENCHMARKS.md, Persistence, P5). A binary of
/// your own that serves through [`run`] gets the same by declaring it:
///
/// ```no_run
/// #[global_allocator]
/// static ALLOCATOR: kv_mock::standalone::Allocator = kv_mock::standalone::Allocator;
/// # fn main() {}
/// ```
pub use tikv_jemallocator::Jemalloc as Allocator;

/// The flags of the standalone server (`kv-mock`, and `edge-kv mock`).
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one; with `--persist`, the port of the previous
    /// run when it is free).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// Title of a namespace to create at start (repeatable; the first is the default).
    #[arg(long = "namespace", value_name = "TITLE")]
    pub namespaces: Vec<String>,
    /// Account id (default: random, 32 hex characters).
    #[arg(long)]
    pub account_id: Option<String>,
    /// Require `Authorization: Bearer <TOKEN>`.
    #[arg(long, env = "KV_MOCK_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Require `X-Auth-Email` (with `--auth-key`).
    #[arg(long, requires = "auth_key")]
    pub auth_email: Option<String>,
    /// Require `X-Auth-Key` (with `--auth-email`).
    #[arg(
        long,
        env = "KV_MOCK_AUTH_KEY",
        hide_env_values = true,
        requires = "auth_email"
    )]
    pub auth_key: Option<String>,
    /// Turn off the per-key limit of one write per second.
    #[arg(long)]
    pub no_rate_limit: bool,
    /// Limit the account to this many API requests per `--account-rate-window-secs` (Cloudflare:
    /// 1200 per 300 s); off unless given.
    #[arg(long, value_name = "REQUESTS")]
    pub account_rate_limit: Option<u32>,
    /// The window of `--account-rate-limit`, in seconds.
    #[arg(long, default_value_t = 300)]
    pub account_rate_window_secs: u64,
    /// Start with a frozen clock at this time (epoch seconds) instead of the system time.
    #[arg(long, value_name = "EPOCH_SECS")]
    pub frozen_at: Option<u64>,
    /// Longest key, in bytes.
    #[arg(long, default_value_t = Limits::PRODUCTION.max_key_bytes)]
    pub max_key_bytes: usize,
    /// Largest value, in bytes.
    #[arg(long, default_value_t = Limits::PRODUCTION.max_value_bytes)]
    pub max_value_bytes: usize,
    /// Largest metadata JSON, in bytes.
    #[arg(long, default_value_t = Limits::PRODUCTION.max_metadata_bytes)]
    pub max_metadata_bytes: usize,
    /// Shortest expiration TTL, in seconds.
    #[arg(long, default_value_t = Limits::PRODUCTION.min_ttl_secs)]
    pub min_ttl_secs: u64,
    /// Smallest list `limit`.
    #[arg(long, default_value_t = Limits::PRODUCTION.min_list_limit)]
    pub min_list_limit: u32,
    /// Largest (and default) list `limit`.
    #[arg(long, default_value_t = Limits::PRODUCTION.max_list_limit)]
    pub max_list_limit: u32,
    /// Most items in a bulk write or delete.
    #[arg(long, default_value_t = Limits::PRODUCTION.max_bulk_items)]
    pub max_bulk_items: usize,
    /// Largest bulk write or delete body, in bytes.
    #[arg(long, default_value_t = Limits::PRODUCTION.max_bulk_bytes)]
    pub max_bulk_bytes: usize,
    /// Most keys in a bulk get.
    #[arg(long, default_value_t = Limits::PRODUCTION.max_bulk_get_keys)]
    pub max_bulk_get_keys: usize,
    /// Keep namespaces, entries and the account id in a SQLite database in this directory
    /// (`DIR/kv-mock.sqlite3`), so a restart finds them and prints the same `account_id` and
    /// `namespace_id` lines; in memory without it.
    #[arg(long, value_name = "DIR")]
    pub persist: Option<std::path::PathBuf>,
    /// Load FILE (wrangler's bulk JSON: `[{key, value, base64?, expiration?, expiration_ttl?,
    /// metadata?}]`) into the default namespace before `ready`, or with `TITLE=FILE` into the
    /// namespace titled TITLE (created if no `--namespace` names it). Repeatable. A missing or
    /// malformed file, or a bad item, stops the start with a message naming the item, and
    /// nothing of any file is loaded.
    #[arg(long = "seed", value_name = "[TITLE=]FILE")]
    pub seeds: Vec<crate::SeedSpec>,
    /// Require `Authorization: Bearer <TOKEN>` on the control routes (`/__mock/`, but the web
    /// page's files) instead of the API's credentials (which they require when `--token` or
    /// `--auth-email`/`--auth-key` is given).
    #[arg(long, env = "KV_MOCK_CONTROL_TOKEN", hide_env_values = true)]
    pub control_token: Option<String>,
    /// Listen on an address that is not loopback even though the control routes need no token
    /// (refused without this flag; a warning is logged with it).
    #[arg(long)]
    pub allow_insecure: bool,
    // Locations (see `kv_mock::engine::locations`).
    /// Serve this location on its own port (repeatable; the first is the default, on `--listen`,
    /// the others on the next ports). A write reaches the other locations after a propagation
    /// delay. Locations are kept in memory: not with `--persist`.
    #[arg(long = "location", value_name = "NAME", conflicts_with = "persist")]
    pub locations: Vec<String>,
    /// Seed of the random propagation delays (default: random; printed as `propagation_seed`
    /// so a run can be repeated).
    #[arg(long, value_name = "N", requires = "locations")]
    pub propagation_seed: Option<u64>,
    /// Propagation delay: `SECS` (fixed) or `MIN..MAX` (drawn uniformly per write and location),
    /// in seconds, decimals allowed (default 0..60).
    #[arg(long, value_name = "SECS|MIN..MAX", value_parser = parse_delay, requires = "locations")]
    pub propagation_delay: Option<PropagationDelay>,
}

/// `SECS` or `MIN..MAX`, in (decimal) seconds, as a [`PropagationDelay`].
fn parse_delay(s: &str) -> Result<PropagationDelay, String> {
    let secs = |part: &str| {
        part.trim()
            .parse::<f64>()
            .ok()
            .and_then(|v| Duration::try_from_secs_f64(v).ok())
            .ok_or_else(|| {
                format!("{part:?} is not a number of seconds (>= 0): use SECS or MIN..MAX")
            })
    };
    match s.split_once("..") {
        None => Ok(PropagationDelay::fixed(secs(s)?)),
        Some((min, max)) => {
            let (min, max) = (secs(min)?, secs(max)?);
            if min > max {
                return Err(format!("{s:?}: MIN is greater than MAX"));
            }
            Ok(PropagationDelay::between(min, max))
        }
    }
}

impl ServeArgs {
    /// The limits these flags set.
    pub fn limits(&self) -> Limits {
        Limits {
            max_key_bytes: self.max_key_bytes,
            max_value_bytes: self.max_value_bytes,
            max_metadata_bytes: self.max_metadata_bytes,
            min_ttl_secs: self.min_ttl_secs,
            min_list_limit: self.min_list_limit,
            max_list_limit: self.max_list_limit,
            max_bulk_items: self.max_bulk_items,
            max_bulk_bytes: self.max_bulk_bytes,
            max_bulk_get_keys: self.max_bulk_get_keys,
        }
    }

    /// A mock builder configured by these flags.
    pub fn builder(&self) -> MockBuilder {
        let mut builder = KvMock::builder()
            .listen(self.listen)
            .limits(self.limits())
            .rate_limit(!self.no_rate_limit);
        if let Some(max) = self.account_rate_limit {
            builder = builder.account_rate_limit(
                max,
                std::time::Duration::from_secs(self.account_rate_window_secs),
            );
        }
        if let Some(at) = self.frozen_at {
            builder = builder.clock(Clock::frozen_at(at));
        }
        if let Some(id) = &self.account_id {
            builder = builder.account_id(id.clone());
        }
        if let Some(token) = &self.token {
            builder = builder.api_token(token.clone());
        }
        if let (Some(email), Some(key)) = (&self.auth_email, &self.auth_key) {
            builder = builder.email_key(email.clone(), key.clone());
        }
        for title in &self.namespaces {
            builder = builder.namespace(title.clone());
        }
        if let Some(dir) = &self.persist {
            builder = builder.persist(dir.clone());
        }
        if let Some(token) = &self.control_token {
            builder = builder.control_token(token.clone());
        }
        builder = builder.allow_insecure(self.allow_insecure);
        for seed in &self.seeds {
            builder = match &seed.title {
                None => builder.seed(seed.file.clone()),
                Some(title) => builder.seed_into(title.clone(), seed.file.clone()),
            };
        }
        builder = self.with_locations(builder);
        builder
    }
}

impl ServeArgs {
    /// The locations, propagation seed and delay of these flags, on `builder`.
    fn with_locations(&self, mut builder: MockBuilder) -> MockBuilder {
        if self.locations.is_empty() {
            return builder;
        }
        builder = builder.locations(self.locations.iter().cloned());
        if let Some(seed) = self.propagation_seed {
            builder = builder.propagation_seed(seed);
        }
        if let Some(delay) = &self.propagation_delay {
            builder = builder.propagation_delay(delay.clone());
        }
        builder
    }
}

/// The lines printed on stdout once the mock serves: `base_url`, `account_id`, one
/// `namespace_id <id> <title>` per namespace, with locations `propagation_seed <n>` and one
/// `location <name> <base_url>` per location, `ui_url` (the web page), then `ready`.
pub fn ready_lines(mock: &KvMock) -> String {
    let mut out = String::new();
    out.push_str(&format!("base_url {}\n", mock.base_url()));
    out.push_str(&format!("account_id {}\n", mock.account_id()));
    for ns in mock.namespaces() {
        out.push_str(&format!("namespace_id {} {}\n", ns.id, ns.title));
    }
    // With locations: the seed of the delays, then each location, the default first.
    if let Some(seed) = mock.propagation_seed() {
        out.push_str(&format!("propagation_seed {seed}\n"));
    }
    for l in mock.locations() {
        out.push_str(&format!("location {} {}\n", l.name(), l.base_url()));
    }
    out.push_str(&format!("ui_url {}\n", mock.ui_url()));
    out.push_str("ready\n");
    out
}

/// Starts the mock these flags describe, prints [`ready_lines`], and serves until Ctrl-C or
/// SIGTERM. A mock that cannot start is reported on stderr and gives a failure exit code.
pub async fn run(args: ServeArgs) -> ExitCode {
    purge_in_background();
    let mock = match args.builder().start().await {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("kv-mock: {e}");
            return ExitCode::FAILURE;
        }
    };
    let out = ready_lines(&mock);
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        tracing::warn!("kv-mock could not write its address to stdout");
    }
    drop(stdout);
    shutdown_signal().await;
    tracing::info!("kv-mock stopping");
    drop(mock);
    ExitCode::SUCCESS
}

/// Turns on jemalloc's background threads, which purge freed pages on their own schedule rather
/// than when a thread of the server next allocates (an idle server would keep them). Without
/// [`Allocator`] as the global allocator this starts an unused jemalloc's threads, no more.
fn purge_in_background() {
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::debug!(error = %e, "kv-mock could not start the allocator's background threads");
    }
}

/// Waits for Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
