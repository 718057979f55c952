//! The same calls against the real Workers KV service. Needs `CLOUDFLARE_API_TOKEN`,
//! `CLOUDFLARE_ACCOUNT_ID` and `KV_NAMESPACE_ID` (optionally `CLOUDFLARE_BASE_URL`); without them
//! it says exactly what to set and exits with status 2.
//!
//! Run with `cargo run --example real_service`.

use std::process::ExitCode;

use edge_kv::client::Client;

const NAMESPACE_VAR: &str = "KV_NAMESPACE_ID";

#[tokio::main]
async fn main() -> ExitCode {
    let client = match Client::from_env() {
        Ok(client) => client,
        Err(e) => {
            eprintln!("cannot talk to the real service: {e}");
            eprintln!(
                "set CLOUDFLARE_API_TOKEN (an API token with Workers KV Storage edit rights), \
                 CLOUDFLARE_ACCOUNT_ID and {NAMESPACE_VAR}; CLOUDFLARE_BASE_URL is optional."
            );
            return ExitCode::from(2);
        }
    };
    let Ok(namespace) = std::env::var(NAMESPACE_VAR) else {
        eprintln!("set {NAMESPACE_VAR} to the id of a namespace to write to (32 hex characters).");
        return ExitCode::from(2);
    };
    match run(&client, &namespace).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(client: &Client, namespace: &str) -> Result<(), edge_kv::client::Error> {
    let kv = client.namespace(namespace);
    let key = "edge-kv-example/greeting";
    kv.put(key, "hello from edge-kv")
        .expiration_ttl(300)
        .metadata(&serde_json::json!({"createdBy": "real_service example"}))
        .await?;
    println!("put {key}");
    println!("get -> {:?}", kv.get(key).text().await?);
    let page = kv.list().prefix("edge-kv-example/").send().await?;
    println!(
        "list -> {:?}",
        page.keys.iter().map(|k| &k.name).collect::<Vec<_>>()
    );
    kv.delete(key).await?;
    println!("deleted {key}");
    Ok(())
}
