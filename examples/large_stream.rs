//! Large values from streams: 500 KiB in 64 KiB chunks, then a 25 MiB stream whose
//! chunks are made on demand (the client holds one chunk at a time, never the whole value), then
//! what happens past 25 MiB: the upload is cut off with a typed error and nothing is stored.
//!
//! Run with `cargo run --example large_stream`.

use bytes::Bytes;
use edge_kv::client::{Body, Error};
use edge_kv::mock::KvMock;
use edge_kv::types::limits::MAX_VALUE_BYTES;
use futures_util::stream;

const CHUNK: usize = 64 * 1024;

/// A stream of `total` bytes in 64 KiB chunks, each made only when the client asks for it.
fn generated(total: usize) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    stream::unfold(0usize, move |sent| async move {
        (sent < total).then(|| {
            let n = CHUNK.min(total - sent);
            let chunk = Bytes::from(vec![(sent / CHUNK % 251) as u8; n]);
            (Ok(chunk), sent + n)
        })
    })
}

/// Resident memory of this process, in MiB (Linux), for a rough before/after.
fn rss_mib() -> Option<f64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096.0 / (1024.0 * 1024.0))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = KvMock::start().await?;
    let client = edge_kv::client_for(&mock)?;
    let kv = client.namespace(mock.namespace_id());

    kv.put("half-mib", Body::stream(generated(500 * 1024)))
        .await?;
    let len = kv.get("half-mib").bytes().await?.map_or(0, |b| b.len());
    println!("500 KiB in 64 KiB chunks: stored {len} bytes");

    let before = rss_mib();
    kv.put("max", Body::stream(generated(MAX_VALUE_BYTES)))
        .await?;
    let after = rss_mib();
    let stored = mock
        .engine()
        .entry(mock.namespace_id(), "max")
        .map_or(0, |e| e.value.len());
    println!("25 MiB stream: stored {stored} bytes");
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "  process memory {b:.1} MiB -> {a:.1} MiB (the mock, in this same process, now holds the 25 MiB value itself)"
        );
    }

    match kv
        .put("too-big", Body::stream(generated(MAX_VALUE_BYTES + 1)))
        .await
    {
        Err(e @ Error::Validation { .. }) => println!("25 MiB + 1 byte: refused: {e}"),
        Err(e) => return Err(format!("unexpected error: {e}").into()),
        Ok(()) => return Err("a value over 25 MiB was accepted".into()),
    }
    let absent = kv.get("too-big").bytes().await?;
    println!(
        "  too-big after the refusal: {:?}",
        absent.as_ref().map(|b| b.len())
    );
    assert!(absent.is_none());
    Ok(())
}
