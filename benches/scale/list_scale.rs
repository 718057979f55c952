//! Item 5: a page of 1000 keys with a prefix, in a namespace of 10k keys and of 1M keys. Keys are
//! `g{i % 10}/key{i:08}`, so the prefix `g5/` matches 1000 keys of the small namespace (one
//! complete page) and 100k of the large one (a first page with a cursor). Timed through kv-client
//! over loopback (the whole stack) and on the engine alone (no HTTP), the two namespaces
//! alternating.

use std::time::{Duration, Instant};

use edge_kv::client::{Client, KvNamespace};
use edge_kv::mock::{KvMock, NamespaceHandle};
use edge_kv::types::{ListOptions, PutOptions};

use crate::stats::{median, paired_ratio, verdict};

/// The prefix listed.
const PREFIX: &str = "g5/";
/// The page size.
const PAGE: u32 = 1000;

/// A mock holding `keys` keys, with a client pointed at it.
struct Filled {
    keys: usize,
    mock: KvMock,
    kv: KvNamespace,
    store: NamespaceHandle,
}

async fn filled(keys: usize) -> Result<Filled, String> {
    let mock = KvMock::builder()
        .rate_limit(false)
        .start()
        .await
        .map_err(|e| format!("kv-mock: {e}"))?;
    let ns = mock.namespace_id().to_owned();
    for i in 0..keys {
        mock.engine()
            .seed(
                &ns,
                &format!("g{}/key{i:08}", i % 10),
                "value",
                PutOptions::new(),
            )
            .map_err(|e| format!("seed: {e}"))?;
    }
    let client = Client::builder()
        .base_url(mock.base_url())
        .account_id(mock.account_id())
        .api_token("bench-token")
        .build()
        .map_err(|e| format!("kv-client: {e}"))?;
    let kv = client.namespace(&ns);
    let store = mock
        .store()
        .ok_or_else(|| "no default namespace".to_owned())?;
    Ok(Filled {
        keys,
        mock,
        kv,
        store,
    })
}

impl Filled {
    /// One page through the client; checks it holds 1000 keys with the prefix.
    async fn page_over_http(&self) -> Result<Duration, String> {
        let start = Instant::now();
        let page = self
            .kv
            .list()
            .prefix(PREFIX)
            .limit(PAGE)
            .send()
            .await
            .map_err(|e| format!("list: {e}"))?;
        let took = start.elapsed();
        self.check(
            page.keys.len(),
            page.keys.iter().all(|k| k.name.starts_with(PREFIX)),
        )?;
        Ok(took)
    }

    /// One page from the engine.
    fn page_in_engine(&self) -> Result<Duration, String> {
        let options = ListOptions::new().prefix(PREFIX).limit(PAGE);
        let start = Instant::now();
        let page = self
            .store
            .list_sync(&options)
            .map_err(|e| format!("list: {e}"))?;
        let took = start.elapsed();
        self.check(
            page.keys.len(),
            page.keys.iter().all(|k| k.name.starts_with(PREFIX)),
        )?;
        Ok(took)
    }

    fn check(&self, len: usize, prefixed: bool) -> Result<(), String> {
        if len == PAGE as usize && prefixed {
            Ok(())
        } else {
            Err(format!(
                "a page of the {}-key namespace had {len} keys (all prefixed: {prefixed})",
                self.keys
            ))
        }
    }
}

fn micros(d: &[Duration]) -> Vec<f64> {
    d.iter().map(|d| d.as_secs_f64() * 1e6).collect()
}

/// Runs item 5 and prints its table.
pub(crate) fn report(
    rt: &tokio::runtime::Runtime,
    small_keys: usize,
    large_keys: usize,
    rounds: usize,
) -> Result<(), String> {
    let small = rt.block_on(filled(small_keys))?;
    let large = rt.block_on(filled(large_keys))?;
    let (mut http_small, mut http_large) = (Vec::new(), Vec::new());
    let (mut engine_small, mut engine_large) = (Vec::new(), Vec::new());
    for round in 0..rounds + 3 {
        let keep = round >= 3; // three warm-up rounds
        let order: [&Filled; 2] = if round % 2 == 0 {
            [&small, &large]
        } else {
            [&large, &small]
        };
        for f in order {
            let over_http = rt.block_on(f.page_over_http())?;
            let in_engine = f.page_in_engine()?;
            if keep {
                let (h, e) = if f.keys == small.keys {
                    (&mut http_small, &mut engine_small)
                } else {
                    (&mut http_large, &mut engine_large)
                };
                h.push(over_http);
                e.push(in_engine);
            }
        }
    }
    println!(
        "## 5. List at scale: a page of {PAGE} keys with a prefix, {small_keys} vs {large_keys} keys\n"
    );
    println!(
        "Median of {rounds} pages each, the two namespaces alternating; the ratio is the median of per-round ratios.\n"
    );
    println!(
        "| path | {small_keys} keys (µs) | {large_keys} keys (µs) | large / small (target <= 1.5) | met |"
    );
    println!("|---|---|---|---|---|");
    for (name, s, l) in [
        (
            "kv-client over loopback (whole stack)",
            &http_small,
            &http_large,
        ),
        (
            "engine alone (`NamespaceHandle::list_sync`)",
            &engine_small,
            &engine_large,
        ),
    ] {
        let (s, l) = (micros(s), micros(l));
        let ratio = paired_ratio(&l, &s);
        println!(
            "| {name} | {:.0} | {:.0} | {ratio:.3} | {} |",
            median(&s),
            median(&l),
            verdict(ratio <= 1.5)
        );
    }
    println!();
    drop((small.mock, large.mock));
    Ok(())
}
