//! Many tasks writing one key: last write wins, and the service's limit of one write per second
//! per key is met by the client's retry, which honours the `Retry-After` of each 429. The log
//! lines show the waits.
//!
//! Run with `cargo run --example concurrent_writes` (takes a few seconds: one write per second).

use edge_kv::client::Client;
use edge_kv::mock::KvMock;

const WRITERS: usize = 4;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter("kv_client=info")
        .with_target(false)
        .with_ansi(false)
        .without_time()
        .init();

    // The per-key write limit is on by default, as in production.
    let mock = KvMock::start().await?;
    let client = Client::builder()
        .base_url(mock.base_url())
        .account_id(mock.account_id())
        .api_token("unused")
        .build()?;
    let kv = client.namespace(mock.namespace_id());

    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let kv = kv.clone();
        tasks.push(tokio::spawn(async move {
            kv.put("counter", format!("written by task {writer}"))
                .await
                .map(|()| writer)
        }));
    }
    for task in tasks {
        let writer = task.await??;
        println!(
            "task {writer}: write acknowledged after {:.1?}",
            started.elapsed()
        );
    }
    println!(
        "{WRITERS} writers all succeeded in {:.1?}",
        started.elapsed()
    );

    let log = mock.requests();
    let limited = log.iter().filter(|r| r.status == 429).count();
    let landed = log
        .iter()
        .filter(|r| r.method == "PUT" && r.status == 200)
        .count();
    println!("the mock answered {limited} writes with 429 and accepted {landed}");

    let value = kv.get("counter").text().await?;
    println!("final value: {value:?}: the last accepted write wins, whole");
    assert!(value.is_some_and(|v| v.starts_with("written by task")));
    Ok(())
}
