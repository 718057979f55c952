//! The server roles of the child process: kv-mock, or the bare hyper baseline, each on a tokio
//! runtime with one worker thread (so the client, in the parent, and the server each have about
//! one of the two cores), until the parent closes our stdin.

use edge_kv::mock::KvMock;

use crate::{bare_server, child};

/// The tokio runtime every server role runs on.
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))
}

/// Serves kv-mock (per-key write limit off, since the load rewrites the same keys).
pub(crate) fn serve_mock() -> Result<(), String> {
    let rt = runtime()?;
    let mock = rt
        .block_on(KvMock::builder().rate_limit(false).start())
        .map_err(|e| format!("kv-mock: {e}"))?;
    child::serve_commands(
        &[
            ("base_url", mock.base_url().to_owned()),
            ("account_id", mock.account_id().to_owned()),
            ("namespace_id", mock.namespace_id().to_owned()),
        ],
        |_| Vec::new(),
    );
    drop(mock);
    Ok(())
}

/// Serves the bare hyper baseline (fixed 200 with a small JSON body for every request).
pub(crate) fn serve_hyper() -> Result<(), String> {
    let rt = runtime()?;
    let addr = rt
        .block_on(bare_server::start())
        .map_err(|e| format!("bare hyper: {e}"))?;
    let id = "0".repeat(32);
    child::serve_commands(
        &[
            ("base_url", format!("http://{addr}/client/v4")),
            ("account_id", id.clone()),
            ("namespace_id", id),
        ],
        |_| Vec::new(),
    );
    Ok(())
}
