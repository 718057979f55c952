//! Expiring keys: `expiration` (an absolute epoch second) and `expiration_ttl` (seconds from
//! now). The mock's clock is moved forward to show each key expire and read as absent.
//!
//! Run with `cargo run --example expiring_keys`.

use std::time::Duration;

use edge_kv::mock::KvMock;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = KvMock::start().await?;
    let client = edge_kv::client_for(&mock)?;
    let kv = client.namespace(mock.namespace_id());
    let clock = mock.clock();

    let in_one_hour = clock.now_secs() + 3600;
    kv.put("session", "abc").expiration(in_one_hour).await?;
    kv.put("otp", "123456").expiration_ttl(300).await?;
    println!("put session (expires at {in_one_hour}) and otp (TTL 300 s)");
    for key in ["session", "otp"] {
        let found = kv.get_with_metadata::<serde_json::Value>(key).await?;
        println!("  {key}: expiration {:?}", found.and_then(|f| f.expiration));
    }

    clock.advance(Duration::from_secs(301));
    println!("clock moved 301 s forward");
    println!("  otp     -> {:?}", kv.get("otp").text().await?);
    println!("  session -> {:?}", kv.get("session").text().await?);

    clock.advance(Duration::from_secs(3300));
    println!("clock moved to past the hour");
    println!("  session -> {:?}", kv.get("session").text().await?);
    let left = kv.list().send().await?;
    println!("  keys left: {}", left.keys.len());
    assert!(left.keys.is_empty());

    // The rule: a TTL under 60 s is refused before anything is sent.
    match kv.put("too-short", "x").expiration_ttl(59).await {
        Err(e) => println!("TTL of 59 s refused: {e}"),
        Ok(()) => return Err("a TTL of 59 s was accepted".into()),
    }
    Ok(())
}
