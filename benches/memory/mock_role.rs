//! The child role `serve-mock`: kv-mock on a one-worker runtime, answering `reset` (reset the
//! memory peaks), `stats` (the memory readings, and the length stored under `big`) until stdin
//! closes.

use edge_kv::mock::KvMock;

use crate::{child, readings};

/// The key the upload writes.
pub(crate) const BIG_KEY: &str = "big";

/// Serves kv-mock (per-key write limit off).
pub(crate) fn serve() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let mock = rt
        .block_on(KvMock::builder().rate_limit(false).start())
        .map_err(|e| format!("kv-mock: {e}"))?;
    let engine = mock.engine().clone();
    let ns = mock.namespace_id().to_owned();
    child::serve_commands(
        &[
            ("base_url", mock.base_url().to_owned()),
            ("account_id", mock.account_id().to_owned()),
            ("namespace_id", ns.clone()),
        ],
        |command| match command {
            "reset" => {
                readings::reset_peaks();
                Vec::new()
            }
            _ => {
                let mut fields = readings::fields();
                let held = engine.entry(&ns, BIG_KEY).map_or(0, |e| e.value.len());
                fields.push(("held".to_owned(), held.to_string()));
                fields
            }
        },
    );
    drop(mock);
    Ok(())
}
