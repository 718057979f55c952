//! "Writing different value types": a string, a JSON object (serialized for you), bytes and a
//! stream, each read back.
//!
//! Run with `cargo run --example write_types`.

use bytes::Bytes;
use edge_kv::client::Body;
use edge_kv::mock::KvMock;
use futures_util::stream;
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct User {
    name: String,
    roles: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = KvMock::start().await?;
    let client = edge_kv::client_for(&mock)?;
    let kv = client.namespace(mock.namespace_id());

    // A string.
    kv.put("string", "plain text").await?;
    println!("string -> {:?}", kv.get("string").text().await?);

    // A JSON object: any Serialize, stored as its JSON text.
    let user = User {
        name: "ada".into(),
        roles: vec!["admin".into()],
    };
    kv.put("user", Body::json(&user)).await?;
    println!("json   -> stored {:?}", kv.get("user").text().await?);
    let back: Option<User> = kv.get("user").json().await?;
    println!("json   -> typed {back:?}");
    assert_eq!(back.as_ref(), Some(&user));

    // Bytes: &[u8], Vec<u8> or Bytes.
    let png_header: &[u8] = &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    kv.put("bytes", png_header).await?;
    println!(
        "bytes  -> {:02x?}",
        kv.get("bytes").bytes().await?.as_deref()
    );

    // A stream of chunks, sent as they come.
    let chunks = ["streamed ", "in ", "three chunks"]
        .map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c.as_bytes())));
    kv.put("stream", Body::stream(stream::iter(chunks))).await?;
    println!("stream -> {:?}", kv.get("stream").text().await?);
    Ok(())
}
