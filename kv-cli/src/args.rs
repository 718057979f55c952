//! The command line: every subcommand and flag, in wrangler's words (`namespace`, `key`, `bulk`),
//! plus `mock`, which takes exactly the flags of the `kv-mock` binary.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use kv_mock::standalone::ServeArgs;

/// Workers KV from the command line: namespaces, keys, streamed bulk loads, and the fake.
#[derive(Debug, Parser)]
#[command(name = "edge-kv", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// How to reach the API.
    #[command(flatten)]
    pub(crate) connection: Connection,
    /// Print one JSON document (JSON lines for `key list --all`) instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// The command.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Credentials and endpoint; each flag wins over its environment variable.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct Connection {
    /// API token [env: CLOUDFLARE_API_TOKEN].
    #[arg(long, global = true, value_name = "TOKEN")]
    pub(crate) api_token: Option<String>,
    /// Account id [env: CLOUDFLARE_ACCOUNT_ID].
    #[arg(long, global = true, value_name = "ID")]
    pub(crate) account_id: Option<String>,
    /// API base URL, e.g. http://127.0.0.1:8787/client/v4 [env: CLOUDFLARE_BASE_URL, or
    /// CLOUDFLARE_API_BASE_URL; default: Cloudflare's].
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) base_url: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create, list, rename and delete namespaces.
    #[command(subcommand)]
    Namespace(NamespaceCommand),
    /// Put, get, list and delete single keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Put, get and delete many keys from a file in wrangler's JSON formats.
    #[command(subcommand)]
    Bulk(BulkCommand),
    /// Start the fake KV API, exactly as the `kv-mock` binary does.
    Mock(Box<MockArgs>),
}

/// `edge-kv mock`: the flags of `kv-mock`.
#[derive(Debug, Args)]
pub(crate) struct MockArgs {
    /// The standalone server's flags.
    #[command(flatten)]
    pub(crate) serve: ServeArgs,
}

/// `edge-kv namespace ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum NamespaceCommand {
    /// Create a namespace; prints its id.
    Create {
        /// The title, unique in the account.
        title: String,
    },
    /// List every namespace of the account.
    List,
    /// Rename a namespace.
    Rename {
        /// The namespace id.
        id: String,
        /// The new title.
        title: String,
    },
    /// Delete a namespace and every key in it.
    Delete {
        /// The namespace id.
        id: String,
    },
}

/// Which namespace a key or bulk command works on.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct NamespaceChoice {
    /// The namespace id.
    #[arg(long, value_name = "ID")]
    pub(crate) namespace_id: Option<String>,
    /// The namespace title, resolved to its id by listing the namespaces.
    #[arg(long, value_name = "TITLE")]
    pub(crate) namespace: Option<String>,
}

/// `edge-kv key ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Write one value (from the argument, or a file with --path).
    Put {
        /// The namespace.
        #[command(flatten)]
        ns: NamespaceChoice,
        /// The key.
        key: String,
        /// The value (UTF-8 text); or give --path.
        #[arg(required_unless_present = "path", conflicts_with = "path")]
        value: Option<String>,
        /// Read the value from this file (any bytes, streamed).
        #[arg(long, value_name = "FILE")]
        path: Option<PathBuf>,
        /// Metadata, as JSON (at most 1024 bytes).
        #[arg(long, value_name = "JSON")]
        metadata: Option<String>,
        /// Expire this many seconds after the write (at least 60).
        #[arg(long, value_name = "SECS")]
        ttl: Option<u64>,
        /// Expire at this time, in epoch seconds.
        #[arg(long, value_name = "EPOCH")]
        expiration: Option<u64>,
    },
    /// Read one value: its raw bytes on stdout.
    Get {
        /// The namespace.
        #[command(flatten)]
        ns: NamespaceChoice,
        /// The key.
        key: String,
        /// Print the value as UTF-8 text followed by a newline (an error if it is not UTF-8).
        #[arg(long)]
        text: bool,
        /// Print the value with its metadata and expiration, as JSON.
        #[arg(long)]
        metadata: bool,
    },
    /// List keys, with their expiration and metadata.
    List {
        /// The namespace.
        #[command(flatten)]
        ns: NamespaceChoice,
        /// Only keys starting with this (literal) prefix.
        #[arg(long)]
        prefix: Option<String>,
        /// Keys per page (10 to 1000).
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
        /// Start after the page that returned this cursor.
        #[arg(long, conflicts_with = "all")]
        cursor: Option<String>,
        /// Every page, not only the first (with --json: one JSON line per key).
        #[arg(long)]
        all: bool,
    },
    /// Delete one key.
    Delete {
        /// The namespace.
        #[command(flatten)]
        ns: NamespaceChoice,
        /// The key.
        key: String,
    },
}

/// `edge-kv bulk ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum BulkCommand {
    /// Write every item of a JSON array of `{key, value, base64?, expiration?,
    /// expiration_ttl?, metadata?}`.
    Put(BulkArgs),
    /// Read every key of a JSON array of keys (strings, or objects with a `name`); prints a JSON
    /// object of key to value (null when missing).
    Get(BulkArgs),
    /// Delete every key of a JSON array of keys (strings, or objects with a `name`).
    Delete(BulkArgs),
}

/// The arguments every bulk command takes.
#[derive(Debug, Clone, Args)]
pub(crate) struct BulkArgs {
    /// The namespace.
    #[command(flatten)]
    pub(crate) ns: NamespaceChoice,
    /// The JSON file; `-` reads stdin.
    pub(crate) file: PathBuf,
    /// Write the items that failed here, in the input's format, to re-run them.
    #[arg(long, value_name = "FILE")]
    pub(crate) failed: Option<PathBuf>,
    /// Requests in flight at once (1 to 64); each holds one chunk of up to the API's limits.
    #[arg(
        long,
        value_name = "N",
        default_value_t = kv_client::DEFAULT_BULK_CONCURRENCY as u16,
        value_parser = clap::value_parser!(u16).range(1..=64),
    )]
    pub(crate) concurrency: u16,
    /// Items per request (1 to 10,000, the API's limit); memory holds about two copies of each
    /// request in flight, so this and --concurrency bound it.
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_CHUNK_ITEMS,
        value_parser = clap::value_parser!(u16).range(1..=10_000),
    )]
    pub(crate) chunk_items: u16,
}

/// Items per bulk request unless `--chunk-items` says otherwise: with 1 KiB values and the default
/// concurrency, a 1 GB file loads within 64 MiB (see BENCHMARKS.md).
pub(crate) const DEFAULT_CHUNK_ITEMS: u16 = 5_000;

impl BulkCommand {
    /// The arguments, whichever the command.
    pub(crate) fn args(&self) -> &BulkArgs {
        match self {
            BulkCommand::Put(a) | BulkCommand::Get(a) | BulkCommand::Delete(a) => a,
        }
    }
}
