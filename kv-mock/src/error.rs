//! The errors of the mock: [`EngineError`] for operations on the state, [`MockError`] for
//! starting a server.

use kv_types::{ErrorKind, StoreError, ValidationError, codes};

/// Why an operation on the [`Engine`](crate::Engine) failed. Each variant maps to the status, code
/// and message the HTTP face answers with ([`status`](Self::status), [`code`](Self::code),
/// `to_string()`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The request breaks a rule of the contract; nothing was written.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The namespace does not exist (or was deleted).
    #[error("{op}: 'namespace not found'")]
    NamespaceNotFound {
        /// The operation that was attempted, as the message names it.
        op: &'static str,
    },
    /// Another namespace of the account has this title.
    #[error("{op}: 'A namespace with this account ID and title already exists'")]
    DuplicateTitle {
        /// The operation that was attempted (`create namespace` or `rename namespace`).
        op: &'static str,
    },
    /// The namespace title is empty (or only whitespace).
    #[error("{op}: 'A namespace title must not be empty'")]
    InvalidTitle {
        /// The operation that was attempted.
        op: &'static str,
    },
    /// The namespace title is longer than
    /// [`MAX_NAMESPACE_TITLE_CHARS`](kv_types::limits::MAX_NAMESPACE_TITLE_CHARS).
    #[error("{op}: 'A namespace title must be at most {max} characters, not {len}'")]
    TitleTooLong {
        /// The operation that was attempted.
        op: &'static str,
        /// Characters in the title given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The key was written less than a second ago.
    #[error(
        "put: 'Too many writes to the same key: at most one write per second per key is allowed'"
    )]
    RateLimited,
    /// The list cursor was not issued by this mock.
    #[error("list keys: 'Invalid cursor'")]
    InvalidCursor,
    /// The persistent storage could not read or write its database; nothing was written.
    #[error("{op}: 'kv-mock's storage failed: {reason}'")]
    Storage {
        /// The operation that was attempted.
        op: &'static str,
        /// What failed.
        reason: String,
    },
    /// A location name given to [`Engine::with_locations`](crate::Engine::with_locations) breaks
    /// a rule.
    #[error("locations: '{reason}' (got {name:?})")]
    InvalidLocation {
        /// The name given.
        name: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// No location of the mock has this name.
    #[error("locations: 'no location named {name:?}'")]
    UnknownLocation {
        /// The name given.
        name: String,
    },
    /// An import (or a `--seed` file) is not a JSON array of bulk items, or one of its items
    /// breaks a rule; nothing of it was loaded.
    #[error("import: {0}")]
    BadImport(ImportProblem),
    /// An export could not be written to its destination (which went away, say).
    #[error("export: 'could not write: {reason}'")]
    ExportWrite {
        /// What failed.
        reason: String,
    },
    /// No snapshot has this id.
    #[error("restore: 'no snapshot with id {id:?}'")]
    SnapshotNotFound {
        /// The id given.
        id: String,
    },
}

/// What is wrong with an import, and where: the item (its index in the array, from 0) and the
/// byte offset in the input, its key when it has a readable one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    /// The item's index, from 0; `None` when the input is not a JSON array there.
    pub index: Option<u64>,
    /// The byte offset in the input: where the item starts, or where the syntax breaks.
    pub offset: u64,
    /// The item's key, when it has one.
    pub key: Option<String>,
    /// The rule broken, or what was expected.
    pub reason: String,
}

impl std::fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(index) => write!(f, "item {index} (byte {}", self.offset)?,
            None => write!(f, "(byte {}", self.offset)?,
        }
        if let Some(key) = &self.key {
            write!(f, ", key {key:?}")?;
        }
        write!(f, "): {}", self.reason)
    }
}

impl EngineError {
    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            EngineError::Validation(v) => v.status(),
            EngineError::NamespaceNotFound { .. } => 404,
            EngineError::DuplicateTitle { .. }
            | EngineError::InvalidTitle { .. }
            | EngineError::TitleTooLong { .. }
            | EngineError::InvalidCursor
            | EngineError::InvalidLocation { .. }
            | EngineError::BadImport(_) => 400,
            EngineError::UnknownLocation { .. } | EngineError::SnapshotNotFound { .. } => 404,
            EngineError::RateLimited => 429,
            EngineError::Storage { .. } | EngineError::ExportWrite { .. } => 500,
        }
    }

    /// The error code of the contract (see [`kv_types::codes`]).
    pub fn code(&self) -> u32 {
        match self {
            EngineError::Validation(v) => v.code(),
            EngineError::NamespaceNotFound { .. } => codes::NAMESPACE_NOT_FOUND,
            EngineError::DuplicateTitle { .. } => codes::DUPLICATE_NAMESPACE_TITLE,
            EngineError::InvalidTitle { .. } | EngineError::TitleTooLong { .. } => {
                codes::INVALID_NAMESPACE_TITLE
            }
            EngineError::RateLimited => codes::KEY_RATE_LIMITED,
            EngineError::InvalidCursor => codes::INVALID_CURSOR,
            EngineError::Storage { .. } | EngineError::ExportWrite { .. } => codes::INTERNAL_ERROR,
            EngineError::InvalidLocation { .. }
            | EngineError::UnknownLocation { .. }
            | EngineError::SnapshotNotFound { .. } => codes::MALFORMED_REQUEST,
            EngineError::BadImport(_) => codes::INVALID_REQUEST_BODY,
        }
    }
}

impl StoreError for EngineError {
    fn kind(&self) -> ErrorKind {
        match self {
            EngineError::Validation(_)
            | EngineError::InvalidTitle { .. }
            | EngineError::TitleTooLong { .. }
            | EngineError::InvalidCursor
            | EngineError::DuplicateTitle { .. }
            | EngineError::InvalidLocation { .. }
            | EngineError::BadImport(_) => ErrorKind::Validation,
            EngineError::NamespaceNotFound { .. }
            | EngineError::UnknownLocation { .. }
            | EngineError::SnapshotNotFound { .. } => ErrorKind::NotFound,
            EngineError::RateLimited => ErrorKind::RateLimited,
            EngineError::Storage { .. } | EngineError::ExportWrite { .. } => ErrorKind::Other,
        }
    }

    fn validation(&self) -> Option<&ValidationError> {
        match self {
            EngineError::Validation(v) => Some(v),
            _ => None,
        }
    }
}

/// Why a [`KvMock`](crate::KvMock) could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// The listening socket could not be bound or read.
    #[error("kv-mock could not listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The default namespace could not be created.
    #[error("kv-mock could not create its namespace: {0}")]
    Setup(#[source] EngineError),
    /// The address is not loopback and the control routes would require no credential: give a
    /// token (`--token`, `--control-token`) or allow it (`--allow-insecure`).
    #[error(
        "kv-mock will not listen on {addr}, which is not loopback, while its control routes need no token: give --token or --control-token, or --allow-insecure to serve them to anyone who can reach it"
    )]
    Insecure {
        /// The address asked for.
        addr: std::net::SocketAddr,
    },
    /// A seed file could not be opened or read.
    #[error("kv-mock could not read the seed file {}: {source}", file.display())]
    SeedFile {
        /// The file.
        file: std::path::PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A seed file is malformed or holds an item that breaks a rule; nothing was loaded.
    #[error("kv-mock could not seed from {}: {source}", file.display())]
    Seed {
        /// The file.
        file: std::path::PathBuf,
        /// What is wrong, and where.
        #[source]
        source: EngineError,
    },
    /// The locations asked for cannot be served: an invalid or repeated name, or locations
    /// with persistence (their replicas are kept in memory).
    #[error("kv-mock could not set up its locations: {0}")]
    Locations(#[source] EngineError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_codes_messages() {
        let e = EngineError::NamespaceNotFound { op: "get" };
        assert_eq!(
            (e.status(), e.code(), e.to_string().as_str()),
            (404, 10013, "get: 'namespace not found'")
        );
        let e = EngineError::DuplicateTitle {
            op: "create namespace",
        };
        assert_eq!(
            (e.status(), e.code(), e.to_string().as_str()),
            (
                400,
                10014,
                "create namespace: 'A namespace with this account ID and title already exists'"
            )
        );
        let e = EngineError::from(ValidationError::KeyTooLong { len: 513, max: 512 });
        assert_eq!((e.status(), e.code()), (414, codes::KEY_TOO_LONG));
        assert_eq!(
            e.to_string(),
            "UTF-8 encoded length of 513 exceeds key length limit of 512."
        );
        assert_eq!(EngineError::RateLimited.kind(), ErrorKind::RateLimited);
        assert_eq!(EngineError::RateLimited.status(), 429);
    }
}
