#![doc = include_str!("../README.md")]

pub mod clock;
mod control;
mod data_routes;
pub mod engine;
pub mod error;
pub mod fault;
pub mod http;
pub mod request_log;
mod seed;
mod server;
pub mod standalone;
mod ui;

pub use clock::Clock;
pub use control::CONTROL_PREFIX;
pub use engine::{
    BulkPut, Engine, EngineConfig, LocationStatus, Locations, NamespaceHandle, NamespaceStats,
    PendingKind, PendingWrite, PropagationDelay,
};
pub use error::{EngineError, ImportProblem, MockError};
pub use fault::{Fault, FaultAction, FaultMatch};
pub use http::{ApiState, BASE_PATH, Credentials, router};
pub use kv_types::KvStore;
pub use request_log::RequestRecord;
pub use seed::SeedSpec;
pub use server::{DEFAULT_NAMESPACE_TITLE, KvMock, MockBuilder, MockLocation};
pub use ui::UI_PATH;
