//! The child role `expiry KEYS`: an empty kv-mock measured, then `KEYS` keys with a TTL seeded,
//! measured, the clock moved past the TTL, one request sent (every access to a namespace frees
//! what expired in it), measured again; then the same fill and expiry once more, measured. It
//! reports the four readings and says `ready`.

use std::time::Duration;

use edge_kv::mock::KvMock;
use edge_kv::types::PutOptions;

use crate::{child, readings};

/// The TTL of every seeded key, in seconds.
const TTL: u64 = 3600;

fn prefixed(prefix: &str, fields: Vec<(String, String)>) -> Vec<(String, String)> {
    fields
        .into_iter()
        .map(|(n, v)| (format!("{prefix}{n}"), v))
        .collect()
}

/// Runs the role.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let keys: usize = args
        .first()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| "usage: expiry KEYS".to_owned())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let mock = rt
        .block_on(KvMock::builder().rate_limit(false).start())
        .map_err(|e| format!("kv-mock: {e}"))?;
    let ns = mock.namespace_id().to_owned();
    let list_url = format!(
        "{}/accounts/{}/storage/kv/namespaces/{ns}/keys",
        mock.base_url(),
        mock.account_id()
    );
    let http = reqwest::Client::new();
    let request = || async {
        let response = http
            .get(&list_url)
            .header("authorization", "Bearer bench-token")
            .send()
            .await
            .map_err(|e| format!("list: {e}"))?;
        let status = response.status();
        response.bytes().await.map_err(|e| format!("list: {e}"))?;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("list: {status}"))
        }
    };
    // The empty baseline, after one request (so the server's code and buffers are in place).
    rt.block_on(request())?;
    let mut out = prefixed("empty_", readings::fields());

    let seed = |cycle: usize| -> Result<(), String> {
        let value = vec![b'v'; 16];
        for i in 0..keys {
            mock.engine()
                .seed(
                    &ns,
                    &format!("expiring/{cycle}/{i:08}"),
                    value.clone(),
                    PutOptions::new().expiration_ttl(TTL),
                )
                .map_err(|e| format!("seed: {e}"))?;
        }
        Ok(())
    };
    seed(1)?;
    let store = mock
        .store()
        .ok_or_else(|| "no default namespace".to_owned())?;
    out.push(("full_entries".to_owned(), store.stats().entries.to_string()));
    out.extend(prefixed("full_", readings::fields()));

    mock.clock().advance(Duration::from_secs(TTL + 1));
    rt.block_on(request())?;
    let stats = store.stats();
    out.push(("after_entries".to_owned(), stats.entries.to_string()));
    out.push(("after_expiring".to_owned(), stats.expiring.to_string()));
    out.extend(prefixed("after_", readings::fields()));

    // A second cycle: the memory freed by the first is reused, not added to.
    seed(2)?;
    mock.clock().advance(Duration::from_secs(TTL + 1));
    rt.block_on(request())?;
    out.push((
        "second_entries".to_owned(),
        store.stats().entries.to_string(),
    ));
    out.extend(prefixed("second_", readings::fields()));

    let borrowed: Vec<(&str, String)> = out.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
    child::serve_commands(&borrowed, |_| Vec::new());
    drop(mock);
    Ok(())
}
