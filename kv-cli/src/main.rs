//! `edge-kv`: Workers KV from the command line, on kv-client: namespaces, keys, bulk loads from
//! wrangler's JSON files read as a stream, and `edge-kv mock`, the fake (the `kv-mock` binary's
//! flags and behaviour). Exit codes: see [`failure`].

mod args;
mod bulk;
mod bulk_failed;
mod bulk_input;
mod bulk_items;
mod bulk_send;
mod connect;
mod failure;
mod keys;
mod namespaces;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::failure::CliError;

/// The standalone kv-mock's allocator, so `edge-kv mock` (a long-running kv-mock) shrinks again
/// after many keys expire, as the `kv-mock` binary does.
#[global_allocator]
static ALLOCATOR: kv_mock::standalone::Allocator = kv_mock::standalone::Allocator;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The commands report every failure themselves (and the client's warnings would break the
    // progress bar): only errors are logged unless RUST_LOG says otherwise.
    let quiet_default = if matches!(cli.command, Command::Mock(_)) {
        "kv_mock=info"
    } else {
        "error"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(quiet_default)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("edge-kv: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    if let Command::Mock(mock) = cli.command {
        return kv_mock::standalone::run(mock.serve).await;
    }
    match dispatch(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

async fn dispatch(cli: Cli) -> Result<(), CliError> {
    let limits = match &cli.command {
        Command::Bulk(c) => bulk::limits(c.args()),
        _ => kv_types::Limits::PRODUCTION,
    };
    let client = connect::client(&cli.connection, limits)?;
    match cli.command {
        Command::Namespace(c) => namespaces::run(&client, c, cli.json).await,
        Command::Key(c) => keys::run(&client, c, cli.json).await,
        Command::Bulk(c) => bulk::run(&client, c, cli.json).await,
        Command::Mock(_) => Ok(()),
    }
}
