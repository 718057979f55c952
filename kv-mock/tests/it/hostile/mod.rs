//! Hostile input against the HTTP layer: a seeded fuzz of generated requests through the router
//! without a socket (100,000 requests) and over loopback (through hyper, faults and the request
//! log), and keys that look like paths. No answer may be a panic, a 5xx (unless a fault was
//! injected) or anything but a well-formed envelope (or the raw bytes of a value read).

mod answer;
mod auth;
mod fuzz_loopback;
mod fuzz_router;
mod generator;
mod malformed_http;
mod oneshot;
mod path_keys;
mod raw_http;
mod rng;

/// The account id every test here uses.
const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
/// The frozen clock's time.
const NOW: u64 = 1_700_000_000;
/// Requests between two resets of the engine (keeps lists and namespaces small).
const RESET_EVERY: usize = 500;
