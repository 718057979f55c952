//! The control routes of locations: `GET /__mock/locations` (each location with where it is
//! served, whether it is partitioned and the writes on their way to it), `POST /__mock/settle`
//! (deliver everything pending), `POST /__mock/partition` and `POST /__mock/heal` (body
//! `{"location": "sin"}`; heal also takes `{}`, every location). Each answers with the state of
//! the locations afterwards, the body of `GET /__mock/locations`. Without locations the list is
//! empty and partition is a 404 (no such location).

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::{CONTROL_PREFIX, body};
use crate::engine::{PendingKind, PendingWrite};
use crate::http::ApiState;
use crate::http::envelope::ok;
use crate::http::errors::ApiError;

/// The body of partition and heal.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Target {
    /// The location; heal without it heals every location.
    #[serde(default)]
    location: Option<String>,
}

fn pending_json(p: &PendingWrite) -> Json {
    json!({
        "namespace": p.namespace,
        "key": p.key,
        "kind": match p.kind {
            PendingKind::Put => "put",
            PendingKind::Delete => "delete",
        },
        "from": p.from,
        "to": p.to,
        "due_ms": p.due_ms,
        "held": p.held,
    })
}

/// `{"seed": "N", "locations": [{"name", "base_url", "partitioned", "pending": [...]}]}`.
fn status_json(s: &ApiState) -> Json {
    let locations: Vec<Json> = s
        .engine
        .location_status()
        .iter()
        .map(|l| {
            let base_url = s
                .served
                .locations
                .iter()
                .find(|served| served.name == l.name)
                .map(|served| served.base_url.as_str());
            json!({
                "name": l.name,
                "base_url": base_url,
                "partitioned": l.partitioned,
                "pending": l.pending.iter().map(pending_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        // A string: a u64 seed may exceed what a JSON number holds exactly in JavaScript.
        "seed": s.engine.propagation_seed().map(|seed| seed.to_string()),
        "locations": locations,
    })
}

async fn list(State(s): State<ApiState>) -> Response {
    ok(status_json(&s))
}

async fn settle(State(s): State<ApiState>) -> Response {
    s.engine.settle();
    ok(status_json(&s))
}

async fn partition(
    State(s): State<ApiState>,
    headers: HeaderMap,
    b: Body,
) -> Result<Response, ApiError> {
    let t: Target = body(&headers, b, r#"{"location": name}"#).await?;
    let name = t
        .location
        .ok_or_else(|| ApiError::bad_body("A partition needs \"location\": the name of one."))?;
    s.engine.partition(&name)?;
    Ok(ok(status_json(&s)))
}

async fn heal(
    State(s): State<ApiState>,
    headers: HeaderMap,
    b: Body,
) -> Result<Response, ApiError> {
    let t: Target = body(
        &headers,
        b,
        r#"{"location": name} or {} for every location"#,
    )
    .await?;
    match t.location {
        Some(name) => s.engine.heal(&name)?,
        None => s.engine.heal_all(),
    }
    Ok(ok(status_json(&s)))
}

/// The routes, merged into the control routes.
pub(super) fn routes() -> Router<ApiState> {
    let p = CONTROL_PREFIX;
    Router::new()
        .route(&format!("{p}/locations"), get(list))
        .route(&format!("{p}/settle"), post(settle))
        .route(&format!("{p}/partition"), post(partition))
        .route(&format!("{p}/heal"), post(heal))
}
