//! The shared vocabulary of the Workers KV REST API (v4), for `kv-client` and `kv-mock` alike:
//! keys, values, metadata, expiration, put and list options, limits, the response envelope, the
//! error codes and the [`KvStore`] trait. No I/O happens here.
//!
//! A limit, an error code or a message exists here once, so the client (which validates before
//! sending) and the mock (which enforces on receipt) cannot disagree.
//!
//! ```
//! use kv_types::{Key, Limits, Metadata, PutOptions, ValidationError};
//!
//! let key = Key::new("config/site name")?;
//! assert_eq!(key.to_path_segment(), "config%2Fsite%20name");
//!
//! let options = PutOptions::new()
//!     .expiration_ttl(300)
//!     .metadata(Metadata::new(&serde_json::json!({"createdBy": "docs"}))?);
//! options.check(&Limits::PRODUCTION)?;
//!
//! assert!(matches!(
//!     PutOptions::new().expiration_ttl(59).check(&Limits::PRODUCTION),
//!     Err(ValidationError::TtlTooShort { ttl: 59, min: 60 })
//! ));
//! # Ok::<(), ValidationError>(())
//! ```

pub mod bulk;
pub mod bulk_file;
pub mod codes;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod envelope;
pub mod error;
pub mod expiration;
pub mod key;
pub mod limits;
pub mod list;
pub mod metadata;
pub mod namespace;
pub mod options;
pub mod store;
pub mod value;

pub use bulk::{
    BulkGetEntry, BulkGetRequest, BulkGetResult, BulkGetType, BulkGetWithMetadataResult,
    BulkResult, BulkWriteItem,
};
pub use envelope::{ApiErrorDetail, Envelope, ResultInfo};
pub use error::ValidationError;
pub use expiration::Expiration;
pub use key::Key;
pub use limits::Limits;
pub use list::{KeyInfo, ListPage, ValueWithMetadata};
pub use metadata::Metadata;
pub use namespace::{Namespace, NamespaceTitle};
pub use options::{ListOptions, PutOptions};
pub use store::{ErrorKind, KvStore, StoreError};
pub use value::Value;
