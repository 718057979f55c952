//! kv-mock: a faithful in-process fake of the Workers KV REST API (v4) for test suites, and a
//! standalone server for suites in other languages.
//!
//! - [`Engine`]: the state without HTTP (namespaces, entries, a controllable [`Clock`], expiry,
//!   last write wins, the per-key write limit). [`NamespaceHandle`] implements [`KvStore`].

pub mod clock;
mod control;
pub mod engine;
pub mod error;
pub mod fault;
pub mod http;
pub mod request_log;
mod server;
mod service;

pub use clock::Clock;
pub use control::CONTROL_PREFIX;
pub use engine::{BulkPut, Engine, EngineConfig, NamespaceHandle, NamespaceStats};
pub use error::{EngineError, MockError};
pub use fault::{Fault, FaultAction, FaultMatch};
pub use http::{ApiState, BASE_PATH, Credentials, router};
pub use kv_types::KvStore;
pub use request_log::RequestRecord;
pub use server::{DEFAULT_NAMESPACE_TITLE, KvMock, MockBuilder};
