//! Workers KV for Rust programs, in one dependency: the shared vocabulary ([`types`]), a typed
//! async client for the KV REST API ([`client`], feature `client`) and a faithful in-process fake
//! of the service for tests ([`mock`], feature `mock`).

pub use kv_types as types;

#[cfg(feature = "client")]
pub use kv_client as client;

#[cfg(feature = "mock")]
pub use kv_mock as mock;

/// Every Rust code block of the README compiles and runs as a doc-test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
