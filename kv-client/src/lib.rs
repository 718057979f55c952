//! A typed async client for the Workers KV REST API (v4) that never loses a write.
//!
//! - **Feels like the edge API**: `kv.put(key, value).expiration_ttl(300).metadata(&m).await`,
//!   `kv.get(key).json::<T>().await` returning `Option`, a missing key is `None`.
//! - **Validates before sending**: keys, TTLs, expirations, metadata and known value sizes are
//!   checked against [`kv_types::Limits`]; a bad request is an [`Error::Validation`] and sends
//!   nothing.
//! - **Retries safely**: 408, 429, 5xx, connection failures and timeouts are retried with
//!   exponential backoff and full jitter, honouring `retry-after-ms` and `Retry-After`, under a
//!   deadline ([`RetryConfig`]), within a client-wide [`RetryBudget`]. A one-shot stream is
//!   read ahead up to [`STREAM_REPLAY_BUFFER`] (1 MiB): a shorter one is retried like bytes; a
//!   longer one whose attempt read past that is never re-sent: the call fails with
//!   [`Error::NotReplayable`] instead.
//! - **Streams**: values are sent as they come, in bounded memory, and cut off past 25 MiB.
//! - **Testable**: time, sleep and jitter are injectable ([`time`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), kv_client::Error> {
//! use kv_client::{Body, Client};
//!
//! let client = Client::builder()
//!     .base_url("http://127.0.0.1:8787/client/v4")
//!     .account_id("acc")
//!     .api_token("tok")
//!     .build()?;
//! let kv = client.namespace("0123456789abcdef0123456789abcdef");
//! kv.put("greeting", "hello").expiration_ttl(300).metadata(&serde_json::json!({"by": "me"})).await?;
//! kv.put("config", Body::json(&serde_json::json!({"debug": true}))).await?;
//! let text: Option<String> = kv.get("greeting").text().await?;
//! let meta: Option<Option<serde_json::Value>> = kv.metadata("greeting").await?;
//! # let _ = (text, meta); Ok(()) }
//! ```

mod account_rate;
mod body;
mod bulk;
mod classify;
mod client;
mod config;
mod endpoint;
mod error;
mod execute;
mod get;
mod list;
mod namespace;
mod namespaces;
mod pacing;
mod put;
mod reading;
mod request;
mod response;
mod retry;
mod secret;
mod store;
pub mod time;
mod trace;
mod upload;
mod with_metadata;

pub use body::{Body, STREAM_REPLAY_BUFFER};
pub use bulk::{
    BulkFailure, BulkFailureReason, BulkGet, BulkGetValue, BulkProgress, BulkPutItem, BulkReport,
    BulkWrite, DEFAULT_BULK_CONCURRENCY,
};
pub use client::Client;
pub use config::{
    ClientBuilder, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT,
    ENV_ACCOUNT_ID, ENV_API_BASE_URL, ENV_API_KEY, ENV_API_TOKEN, ENV_BASE_URL, ENV_EMAIL,
};
pub use error::{Attempts, BoxError, Context, Error, Operation, StopReason};
pub use get::{GetRequest, ValueStream};
pub use list::ListRequest;
pub use namespace::KvNamespace;
pub use put::{BoxFuture, PutBuilder};
pub use retry::{RetryBudget, RetryConfig};
pub use secret::{Auth, Secret};
pub use with_metadata::WithMetadata;

pub use kv_types;
