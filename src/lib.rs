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

/// A client for a running [`mock::KvMock`](kv_mock::KvMock), with the mock's base URL, account
/// and a placeholder token: the usual first line of a test that talks to the mock over HTTP. For a
/// mock started with credentials (`MockBuilder::api_token`), build the client with the same
/// credentials instead.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mock = edge_kv::mock::KvMock::start().await?;
/// let kv = edge_kv::client_for(&mock)?.namespace(mock.namespace_id());
/// kv.put("k", "v").await?;
/// assert_eq!(kv.get("k").text().await?.as_deref(), Some("v"));
/// # Ok(()) }
/// ```
#[cfg(all(feature = "client", feature = "mock"))]
pub fn client_for(mock: &kv_mock::KvMock) -> Result<kv_client::Client, kv_client::Error> {
    kv_client::Client::builder()
        .base_url(mock.base_url())
        .account_id(mock.account_id())
        .api_token("kv-mock")
        .build()
}
