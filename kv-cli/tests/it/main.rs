//! `edge-kv` run as a binary against kv-mock: every command, its stdout, stderr and exit code.
//! One test binary: `cargo test -p kv-cli --test it [FILTER]`.

mod bulk;
mod connection;
mod keys;
mod kit;
mod mock_command;
mod namespaces;
mod progress;
