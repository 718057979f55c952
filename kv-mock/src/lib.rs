//! kv-mock: a faithful in-process fake of the Workers KV REST API (v4) for test suites, and a
//! standalone server for suites in other languages.
//!
//! - [`Engine`]: the state without HTTP (namespaces, entries, a controllable [`Clock`], expiry,
//!   last write wins, the per-key write limit). [`NamespaceHandle`] implements [`KvStore`].

pub mod clock;
pub mod engine;
pub mod error;
pub mod http;

pub use clock::Clock;
pub use engine::{BulkPut, Engine, EngineConfig, NamespaceHandle, NamespaceStats};
pub use error::{EngineError, MockError};
pub use kv_types::KvStore;
