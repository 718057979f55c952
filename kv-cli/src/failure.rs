//! [`CliError`]: every way a command fails, and the exit code each one gives.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done |
//! | 1 | the service failed (HTTP error, transport, timeout, rate limit after retries) |
//! | 2 | usage: bad flags or arguments, a missing credential, a value breaking a limit |
//! | 3 | not found: the key, the namespace id or the namespace title |
//! | 4 | a bulk command finished, but some items failed (listed on stderr, `--failed FILE`) |
//! | 5 | the bulk input is not a JSON array of items (stopped at the byte offset given) |

use std::process::ExitCode;

use kv_types::{ErrorKind, StoreError};

/// Exit code: the service failed.
pub(crate) const EXIT_SERVICE: u8 = 1;
/// Exit code: bad usage (clap uses 2 too).
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code: not found.
pub(crate) const EXIT_NOT_FOUND: u8 = 3;
/// Exit code: some bulk items failed.
pub(crate) const EXIT_PARTIAL: u8 = 4;
/// Exit code: the bulk input is malformed.
pub(crate) const EXIT_BAD_INPUT: u8 = 5;

/// A failed command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum CliError {
    /// What the client reported.
    #[error("{0}")]
    Client(#[from] kv_client::Error),
    /// A credential or the endpoint is missing.
    #[error("{var} is not set (or pass {flag})")]
    MissingCredential {
        /// The environment variable.
        var: &'static str,
        /// The flag that can replace it.
        flag: &'static str,
    },
    /// Bad arguments that clap cannot check.
    #[error("{0}")]
    Usage(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The bulk input is not what the command reads.
    #[error("{0}")]
    BadInput(String),
    /// Some bulk items failed (each already reported).
    #[error("{failed} of {total} items failed")]
    Partial {
        /// Items that failed.
        failed: u64,
        /// Items read.
        total: u64,
    },
    /// A local file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// Which file, doing what.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// An I/O error about `what`.
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let what = what.into();
        move |source| CliError::Io { what, source }
    }

    /// The exit code of this failure.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Client(e) => match e {
                kv_client::Error::MissingEnv { .. } | kv_client::Error::Config { .. } => EXIT_USAGE,
                e => match e.kind() {
                    ErrorKind::Validation => EXIT_USAGE,
                    ErrorKind::NotFound => EXIT_NOT_FOUND,
                    _ => EXIT_SERVICE,
                },
            },
            CliError::MissingCredential { .. } | CliError::Usage(_) => EXIT_USAGE,
            CliError::NotFound(_) => EXIT_NOT_FOUND,
            CliError::BadInput(_) => EXIT_BAD_INPUT,
            CliError::Partial { .. } => EXIT_PARTIAL,
            CliError::Io { .. } => EXIT_USAGE,
        }
    }

    /// Reports the failure on stderr and gives its exit code.
    pub(crate) fn report(&self) -> ExitCode {
        eprintln!("edge-kv: error: {self}");
        ExitCode::from(self.exit_code())
    }
}
