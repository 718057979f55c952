//! The control routes that move a mock's data: `GET /__mock/export` and `POST /__mock/import`
//! (a namespace in wrangler's bulk JSON format, both streamed), `POST /__mock/snapshot`,
//! `POST /__mock/restore` and `DELETE /__mock/snapshot/{id}` (the whole state, for test
//! isolation). Merged into the control routes (see [`control`](crate::control)), so under the
//! same access rule.

use std::io::{BufRead, BufReader, Read};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use bytes::Bytes;
use futures_util::TryStreamExt;
use http::{HeaderMap, header};
use kv_types::codes;
use serde::Deserialize;
use serde_json::json;
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::control::CONTROL_PREFIX;
use crate::engine::NamespaceHandle;
use crate::error::EngineError;
use crate::http::ApiState;
use crate::http::body::DRAIN_EXTRA_BYTES;
use crate::http::envelope::ok;
use crate::http::errors::ApiError;
use crate::http::query::QueryParams;

/// Bytes of an export sent per chunk of the response body, and chunks buffered.
const EXPORT_CHUNK: usize = 64 * 1024;
const EXPORT_CHUNKS_BUFFERED: usize = 4;
/// Bytes of an import body read at a time.
const IMPORT_BUFFER: usize = 256 * 1024;

/// The namespace named by `?namespace=ID`, the default one when not given.
fn namespace(
    s: &ApiState,
    query: &QueryParams,
    op: &'static str,
) -> Result<NamespaceHandle, ApiError> {
    let id = match query.get("namespace") {
        Some(id) => id.to_owned(),
        None => s
            .served
            .initial
            .first()
            .map(|ns| ns.id.clone())
            .unwrap_or_default(),
    };
    s.namespace(&id, op)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(500, codes::INTERNAL_ERROR, format!("kv-mock failed: {e}."))
}

/// A `Write` that sends what it is given, in chunks, to the response body. Fails once the
/// client has gone away.
struct BodyWriter {
    chunks: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl std::io::Write for BodyWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.chunks
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `GET /__mock/export?namespace=ID`: the namespace's live entries as a bulk JSON array, streamed
/// as it is written (a failure midway cuts the body off, so a partial export never parses).
async fn export(State(s): State<ApiState>, query: QueryParams) -> Result<Response, ApiError> {
    let ns = namespace(&s, &query, "export")?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(EXPORT_CHUNKS_BUFFERED);
    tokio::task::spawn_blocking(move || {
        let out =
            std::io::BufWriter::with_capacity(EXPORT_CHUNK, BodyWriter { chunks: tx.clone() });
        if let Err(e) = ns.export(out) {
            tracing::warn!(error = %e, "kv-mock export stopped");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let chunks = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(chunks),
    )
        .into_response())
}

/// `POST /__mock/import?namespace=ID`: loads a bulk JSON array (the body, streamed): every item
/// or nothing (400 naming the item, its byte offset and the rule). Answers `{"keys": N}`.
async fn import(
    State(s): State<ApiState>,
    query: QueryParams,
    body: Body,
) -> Result<Response, ApiError> {
    let ns = namespace(&s, &query, "import")?;
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let reader = SyncIoBridge::new(StreamReader::new(stream));
    let done = tokio::task::spawn_blocking(move || {
        let mut input = BufReader::with_capacity(IMPORT_BUFFER, reader);
        let imported = ns.import(&mut input);
        // A refused body is read on (bounded), so a client that sends it whole before reading
        // gets the answer rather than a broken pipe.
        let drained = imported.is_ok() || drain(&mut input);
        (imported, drained)
    })
    .await
    .map_err(internal)?;
    match done {
        (Ok(count), _) => Ok(ok(json!({ "keys": count }))),
        (Err(e), drained) => {
            let mut err = ApiError::from(e);
            err.close = !drained;
            Err(err)
        }
    }
}

/// Reads and throws away up to [`DRAIN_EXTRA_BYTES`] of what is left; whether that was all.
fn drain(input: &mut impl BufRead) -> bool {
    let mut rest = input.take(DRAIN_EXTRA_BYTES as u64 + 1);
    matches!(std::io::copy(&mut rest, &mut std::io::sink()), Ok(n) if n <= DRAIN_EXTRA_BYTES as u64)
}

/// `GET /__mock/snapshot`: the snapshots kept, `[{id, taken_at}]`, oldest first.
async fn list_snapshots(State(s): State<ApiState>) -> Response {
    let all: Vec<_> = s
        .engine
        .snapshots()
        .into_iter()
        .map(|(id, taken_at)| json!({ "id": id, "taken_at": taken_at }))
        .collect();
    ok(all)
}

/// `POST /__mock/snapshot`: freezes every namespace and entry; answers `{"id": ID}`.
async fn snapshot(State(s): State<ApiState>) -> Result<Response, ApiError> {
    let id = s.engine.snapshot()?;
    Ok(ok(json!({ "id": id })))
}

#[derive(Deserialize)]
struct RestoreBody {
    id: String,
}

/// `POST /__mock/restore` `{"id": ID}`: puts back every namespace and entry of the snapshot
/// (404 for an unknown id).
async fn restore(
    State(s): State<ApiState>,
    headers: HeaderMap,
    b: Body,
) -> Result<Response, ApiError> {
    let r: RestoreBody = crate::control::body(&headers, b, r#"{"id": snapshot id}"#).await?;
    let engine = s.engine.clone();
    // A persistent storage rewrites its rows: off the async workers.
    tokio::task::spawn_blocking(move || engine.restore(&r.id))
        .await
        .map_err(internal)??;
    Ok(ok(json!({})))
}

/// `DELETE /__mock/snapshot/{id}`: forgets the snapshot (404 for an unknown id).
async fn forget_snapshot(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if s.engine.forget_snapshot(&id) {
        Ok(ok(json!({})))
    } else {
        Err(EngineError::SnapshotNotFound { id }.into())
    }
}

/// The routes, to merge into the control routes.
pub(crate) fn routes() -> Router<ApiState> {
    let p = CONTROL_PREFIX;
    Router::new()
        .route(&format!("{p}/export"), get(export))
        .route(&format!("{p}/import"), post(import))
        .route(&format!("{p}/snapshot"), get(list_snapshots).post(snapshot))
        .route(&format!("{p}/snapshot/{{id}}"), delete(forget_snapshot))
        .route(&format!("{p}/restore"), post(restore))
}
