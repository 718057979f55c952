//! kv-mock's integration tests, one binary: the mock over loopback and through its router,
//! oversize bodies answered to clients that send them whole,
//! hostile input, concurrency, kv-types' conformance suite against the engine (in memory and
//! persisted in SQLite), and the standalone
//! server. (`big_upload` is a binary of its own:
//! it measures this process's resident memory, which other tests running beside it would move.)

mod concurrency;
mod conformance;
mod control_auth;
mod crash;
mod data;
mod garbage;
mod hostile;
mod locations;
mod loopback;
mod oversize;
mod persisted_server;
mod persistence;
mod standalone;
mod ui_browser;
