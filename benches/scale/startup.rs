//! Item 7: `KvMock::start()` plus the first request (a get of a missing key, sent by a reqwest
//! client made beforehand), repeated with a new mock each time, as a test suite starting one
//! mock per test does. Also split into its two parts, and the same with a kv-client built for
//! the new mock (which adds the client's own construction).

use std::time::{Duration, Instant};

use edge_kv::client::Client;
use edge_kv::mock::KvMock;

use crate::stats::{median, verdict};

/// One start: (start, first request, start + first request).
async fn once(http: &reqwest::Client) -> Result<(Duration, Duration, Duration), String> {
    let t0 = Instant::now();
    let mock = KvMock::start().await.map_err(|e| format!("start: {e}"))?;
    let t1 = Instant::now();
    let url = format!(
        "{}/accounts/{}/storage/kv/namespaces/{}/values/missing",
        mock.base_url(),
        mock.account_id(),
        mock.namespace_id()
    );
    let response = http
        .get(url)
        .header("authorization", "Bearer bench-token")
        .send()
        .await
        .map_err(|e| format!("first request: {e}"))?;
    let status = response.status();
    response
        .bytes()
        .await
        .map_err(|e| format!("first request: {e}"))?;
    let t2 = Instant::now();
    if status != reqwest::StatusCode::NOT_FOUND {
        return Err(format!("a missing key answered {status}"));
    }
    Ok((t1 - t0, t2 - t1, t2 - t0))
}

/// One start with a kv-client built for the mock, then its first get.
async fn once_with_client() -> Result<Duration, String> {
    let t0 = Instant::now();
    let mock = KvMock::start().await.map_err(|e| format!("start: {e}"))?;
    let client = Client::builder()
        .base_url(mock.base_url())
        .account_id(mock.account_id())
        .api_token("bench-token")
        .build()
        .map_err(|e| format!("kv-client: {e}"))?;
    let got = client
        .namespace(mock.namespace_id())
        .get("missing")
        .bytes()
        .await
        .map_err(|e| format!("first get: {e}"))?;
    let took = t0.elapsed();
    if got.is_some() {
        return Err("a missing key was found".to_owned());
    }
    Ok(took)
}

fn ms(d: &[Duration]) -> Vec<f64> {
    d.iter().map(|d| d.as_secs_f64() * 1e3).collect()
}

/// Runs item 7 on `rt` (named `flavor` in the table) and prints one row per measure.
pub(crate) fn report(
    rt: &tokio::runtime::Runtime,
    flavor: &str,
    runs: usize,
) -> Result<(), String> {
    let http = reqwest::Client::new();
    let (mut start, mut first, mut total, mut with_client) = (vec![], vec![], vec![], vec![]);
    let cold = rt.block_on(once(&http))?.2;
    for _ in 0..runs {
        let (s, f, t) = rt.block_on(once(&http))?;
        start.push(s);
        first.push(f);
        total.push(t);
        with_client.push(rt.block_on(once_with_client())?);
    }
    let total_ms = median(&ms(&total));
    println!(
        "| {flavor} | {total_ms:.3} | {} | {:.3} | {:.3} | {:.3} | {:.3} |",
        verdict(total_ms <= 2.0),
        median(&ms(&start)),
        median(&ms(&first)),
        cold.as_secs_f64() * 1e3,
        median(&ms(&with_client)),
    );
    Ok(())
}
