//! Metadata: a put with `createdBy`, `version` and `tags`, read back typed, alone or with the
//! value of the same write.
//!
//! Run with `cargo run --example metadata`.

use edge_kv::mock::KvMock;
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DocMeta {
    created_by: String,
    version: u32,
    tags: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = KvMock::start().await?;
    let client = edge_kv::client_for(&mock)?;
    let kv = client.namespace(mock.namespace_id());

    let meta = DocMeta {
        created_by: "alice".into(),
        version: 2,
        tags: vec!["draft".into(), "q4".into()],
    };
    kv.put("docs/plan", "the plan").metadata(&meta).await?;
    println!("put docs/plan with metadata {meta:?}");

    let only_meta: Option<Option<DocMeta>> = kv.metadata("docs/plan").await?;
    println!("metadata(docs/plan) -> {only_meta:?}");

    let both = kv.get_with_metadata::<DocMeta>("docs/plan").await?;
    if let Some(both) = &both {
        println!(
            "get_with_metadata(docs/plan) -> {:?} with {:?}",
            String::from_utf8_lossy(&both.value),
            both.metadata
        );
    }
    assert_eq!(both.and_then(|b| b.metadata), Some(meta));

    // Listing shows each key's metadata too.
    for key in kv.list().prefix("docs/").send().await?.keys {
        println!(
            "list: {} {:?}",
            key.name,
            key.metadata.map(|m| m.to_string())
        );
    }

    // Metadata over 1024 bytes is refused before sending.
    let huge = DocMeta {
        created_by: "x".repeat(2000),
        version: 1,
        tags: vec![],
    };
    match kv.put("docs/huge", "v").metadata(&huge).await {
        Err(e) => println!("metadata of 2000+ bytes refused: {e}"),
        Ok(()) => return Err("oversized metadata was accepted".into()),
    }
    Ok(())
}
