//! kv-client's integration tests, one binary: the client against scripted servers (wiremock and
//! raw TCP), so every answer the service can give, good or bad, is exercised byte for byte.
//! Tests against kv-mock are cross-crate and live in the workspace's `tests/it`.

mod get_with_metadata;
mod retry;
mod scripted_server;
mod streams;
mod tracing_output;
mod validation;
mod wire;
