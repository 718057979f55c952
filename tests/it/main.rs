//! The workspace's cross-crate tests, one binary: kv-client against kv-mock (values, lists,
//! bulk, namespaces, faults), the fault matrix, concurrency, properties, the conformance suite,
//! the schema checks against Cloudflare's OpenAPI, the `cloudflare` crate against the mock,
//! secrets, and the (ignored by default) soak run.
//!
//! Run one part with a filter: `cargo test -p edge-kv --test it fault_matrix`.

mod client_account_rate;
mod client_bulk_progress;
mod client_faults;
mod client_list_bulk;
mod client_locations;
mod client_namespaces;
mod client_pacing;
mod client_retry_budget;
mod client_values;
mod cloudflare_crate;
mod concurrency;
mod conformance;
mod fault_matrix;
mod kit;
mod properties;
mod schema;
mod secrets;
mod soak;
