//! The edge binding's classic function example, in Rust: an HTTP handler that writes a key and answers 201, or
//! 500 with the error message. Served with axum on 127.0.0.1, backed by the mock, and called twice:
//! once with a good key, once with a key the KV rules refuse.
//!
//! Run with `cargo run --example handle_request`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::put;
use edge_kv::client::KvNamespace;
use edge_kv::mock::KvMock;

/// `PUT /notes/{name}` with the note as the body: store it, answer 201, or 500 with the error.
async fn save_note(
    State(kv): State<KvNamespace>,
    Path(name): Path<String>,
    body: String,
) -> (StatusCode, String) {
    match kv
        .put(format!("notes/{name}"), body)
        .expiration_ttl(86_400)
        .await
    {
        Ok(()) => (StatusCode::CREATED, "Created".to_owned()),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = KvMock::start().await?;
    let client = edge_kv::client_for(&mock)?;
    let app = Router::new()
        .route("/notes/{name}", put(save_note))
        .with_state(client.namespace(mock.namespace_id()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    println!("handler listening on http://{addr}");

    let http = reqwest::Client::new();
    for name in ["shopping", &"x".repeat(600)] {
        let res = http
            .put(format!("http://{addr}/notes/{name}"))
            .body("milk, eggs")
            .send()
            .await?;
        let status = res.status();
        let text = res.text().await?;
        let shown = if name.len() > 20 {
            format!("{}… ({} bytes)", &name[..20], name.len())
        } else {
            name.to_owned()
        };
        let text: String = text.chars().take(100).collect();
        println!("PUT /notes/{shown} -> {status} {text}");
    }
    server.abort();
    Ok(())
}
