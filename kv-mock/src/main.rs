//! `kv-mock`: the fake KV API as a standalone server, for test suites in any language.
//!
//! ```text
//! cargo run -p kv-mock -- --listen 127.0.0.1:8787 --namespace app --namespace cache
//! ```
//!
//! Prints one `name value` pair per line on stdout (`base_url`, `account_id`, then
//! `namespace_id <id> <title>` per namespace, the default first) and `ready`, then serves until
//! Ctrl-C or SIGTERM. Logs go to stderr (`RUST_LOG=kv_mock=debug` for more). The flags and the
//! serving live in `kv_mock::standalone`, shared with `edge-kv mock`.

use clap::Parser;
use kv_mock::standalone::{self, ServeArgs};

/// jemalloc, whose background threads give freed memory back to the system (glibc's malloc keeps
/// most of it), so the resident memory of a long-running mock falls again after many keys expire.
#[global_allocator]
static ALLOCATOR: standalone::Allocator = standalone::Allocator;

/// A faithful fake of the Workers KV REST API (v4).
#[derive(Debug, Parser)]
#[command(name = "kv-mock", version, about)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
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
    standalone::run(Cli::parse().serve).await
}
