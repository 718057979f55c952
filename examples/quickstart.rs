//! The five-minute tour: start the fake in-process, then put, get, get with metadata, list and
//! delete through the client, exactly as against the real service.
//!
//! Run with `cargo run --example quickstart`: no server, no account, no network.

use edge_kv::client::Client;
use edge_kv::mock::KvMock;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Owner {
    team: String,
    version: u32,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The fake: a KV REST API on 127.0.0.1 with one account and one namespace.
    let mock = KvMock::start().await?;
    println!("kv-mock listening at {}", mock.base_url());

    // The client, pointed at it. Against the real service: `Client::from_env()`.
    let client = Client::builder()
        .base_url(mock.base_url())
        .account_id(mock.account_id())
        .api_token("any-token-works-when-the-mock-has-none")
        .build()?;
    let kv = client.namespace(mock.namespace_id());

    kv.put("greeting", "hello, world").await?;
    println!("put greeting = \"hello, world\"");

    let greeting = kv.get("greeting").text().await?;
    println!("get greeting -> {greeting:?}");

    let owner = Owner {
        team: "storage".into(),
        version: 3,
    };
    kv.put("config/site", r#"{"theme":"dark"}"#)
        .expiration_ttl(3600)
        .metadata(&owner)
        .await?;
    println!("put config/site with metadata {owner:?} and a TTL of 3600 s");

    if let Some(found) = kv.get_with_metadata::<Owner>("config/site").await? {
        println!(
            "get_with_metadata config/site -> value {:?}, metadata {:?}, expires at {:?}",
            String::from_utf8_lossy(&found.value),
            found.metadata,
            found.expiration
        );
    }

    let page = kv.list().prefix("config/").send().await?;
    let names: Vec<&str> = page.keys.iter().map(|k| k.name.as_str()).collect();
    println!(
        "list prefix \"config/\" -> {names:?} (complete: {})",
        page.complete
    );

    kv.delete("greeting").await?;
    let gone = kv.get("greeting").text().await?;
    println!("delete greeting; get greeting -> {gone:?}");
    assert_eq!(gone, None);

    println!(
        "done: {} requests served by the mock",
        mock.requests().len()
    );
    Ok(())
}
