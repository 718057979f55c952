//! `kv-mock`: the fake KV API as a standalone server, for test suites in any language.
//!
//! ```text
//! cargo run -p kv-mock -- --listen 127.0.0.1:8787 --namespace app --namespace cache
//! ```
//!
//! Prints one `name value` pair per line on stdout (`base_url`, `account_id`, then
//! `namespace_id <id> <title>` per namespace, the default first) and `ready`, then serves until
//! Ctrl-C or SIGTERM. Logs go to stderr (`RUST_LOG=kv_mock=debug` for more).

use std::io::Write;
use std::net::SocketAddr;

use clap::Parser;
use kv_mock::{Clock, KvMock};
use kv_types::Limits;

/// A faithful fake of the Workers KV REST API (v4).
#[derive(Debug, Parser)]
#[command(name = "kv-mock", version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Title of a namespace to create at start (repeatable; the first is the default).
    #[arg(long = "namespace", value_name = "TITLE")]
    namespaces: Vec<String>,
    /// Account id (default: random, 32 hex characters).
    #[arg(long)]
    account_id: Option<String>,
    /// Require `Authorization: Bearer <TOKEN>`.
    #[arg(long, env = "KV_MOCK_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Require `X-Auth-Email` (with `--auth-key`).
    #[arg(long, requires = "auth_key")]
    auth_email: Option<String>,
    /// Require `X-Auth-Key` (with `--auth-email`).
    #[arg(
        long,
        env = "KV_MOCK_AUTH_KEY",
        hide_env_values = true,
        requires = "auth_email"
    )]
    auth_key: Option<String>,
    /// Turn off the per-key limit of one write per second.
    #[arg(long)]
    no_rate_limit: bool,
    /// Limit the account to this many API requests per `--account-rate-window-secs` (Cloudflare:
    /// 1200 per 300 s); off unless given.
    #[arg(long, value_name = "REQUESTS")]
    account_rate_limit: Option<u32>,
    /// The window of `--account-rate-limit`, in seconds.
    #[arg(long, default_value_t = 300)]
    account_rate_window_secs: u64,
    /// Start with a frozen clock at this time (epoch seconds) instead of the system time.
    #[arg(long, value_name = "EPOCH_SECS")]
    frozen_at: Option<u64>,
    /// Longest key, in bytes.
    #[arg(long, default_value_t = Limits::PRODUCTION.max_key_bytes)]
    max_key_bytes: usize,
    /// Largest value, in bytes.
    #[arg(long, default_value_t = Limits::PRODUCTION.max_value_bytes)]
    max_value_bytes: usize,
    /// Largest metadata JSON, in bytes.
    #[arg(long, default_value_t = Limits::PRODUCTION.max_metadata_bytes)]
    max_metadata_bytes: usize,
    /// Shortest expiration TTL, in seconds.
    #[arg(long, default_value_t = Limits::PRODUCTION.min_ttl_secs)]
    min_ttl_secs: u64,
    /// Smallest list `limit`.
    #[arg(long, default_value_t = Limits::PRODUCTION.min_list_limit)]
    min_list_limit: u32,
    /// Largest (and default) list `limit`.
    #[arg(long, default_value_t = Limits::PRODUCTION.max_list_limit)]
    max_list_limit: u32,
    /// Most items in a bulk write or delete.
    #[arg(long, default_value_t = Limits::PRODUCTION.max_bulk_items)]
    max_bulk_items: usize,
    /// Largest bulk write or delete body, in bytes.
    #[arg(long, default_value_t = Limits::PRODUCTION.max_bulk_bytes)]
    max_bulk_bytes: usize,
    /// Most keys in a bulk get.
    #[arg(long, default_value_t = Limits::PRODUCTION.max_bulk_get_keys)]
    max_bulk_get_keys: usize,
}

impl Args {
    fn limits(&self) -> Limits {
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

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("kv_mock=info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let mut builder = KvMock::builder()
        .listen(args.listen)
        .limits(args.limits())
        .rate_limit(!args.no_rate_limit);
    if let Some(max) = args.account_rate_limit {
        builder = builder.account_rate_limit(
            max,
            std::time::Duration::from_secs(args.account_rate_window_secs),
        );
    }
    if let Some(at) = args.frozen_at {
        builder = builder.clock(Clock::frozen_at(at));
    }
    if let Some(id) = &args.account_id {
        builder = builder.account_id(id.clone());
    }
    if let Some(token) = &args.token {
        builder = builder.api_token(token.clone());
    }
    if let (Some(email), Some(key)) = (&args.auth_email, &args.auth_key) {
        builder = builder.email_key(email.clone(), key.clone());
    }
    for title in &args.namespaces {
        builder = builder.namespace(title.clone());
    }
    let mock = match builder.start().await {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("kv-mock: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut out = String::new();
    out.push_str(&format!("base_url {}\n", mock.base_url()));
    out.push_str(&format!("account_id {}\n", mock.account_id()));
    for ns in mock.namespaces() {
        out.push_str(&format!("namespace_id {} {}\n", ns.id, ns.title));
    }
    out.push_str("ready\n");
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
    std::process::ExitCode::SUCCESS
}
