//! `PUT /{ns}/bulk` (write), `POST /{ns}/bulk/delete` and the deprecated `DELETE /{ns}/bulk`
//! (delete), `POST /{ns}/bulk/get` (get).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use http::HeaderMap;
use kv_types::{
    BulkGetEntry, BulkGetRequest, BulkGetResult, BulkGetType, BulkGetWithMetadataResult,
    BulkResult, ValidationError,
};

use super::ApiState;
use super::body::read_json;
use super::envelope::ok;
use super::errors::ApiError;
use super::path::ApiPath;
use crate::engine::bulk_item::WireItem;

fn too_large(max: usize) -> impl Fn(usize) -> ValidationError {
    move |len| ValidationError::BulkTooLarge { len, max }
}

/// `PUT /{ns}/bulk`: a JSON array of `{key, value, base64?, expiration?, expiration_ttl?,
/// metadata?}`. A body over the size limit (413), not a JSON array of objects with string `key`
/// and `value` (400), or with too many items (413) fails whole; an item that breaks a rule is
/// reported in `unsuccessful_keys` (in the order of the items) and the others are written.
pub(crate) async fn bulk_write(
    State(state): State<ApiState>,
    path: ApiPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let ns = state.namespace(path.namespace(), "bulk write")?;
    let limits = *state.engine.limits();
    let items: Vec<WireItem> = read_json(
        body,
        &headers,
        limits.max_bulk_bytes,
        too_large(limits.max_bulk_bytes),
        "a JSON array of {key, value, base64?, expiration?, expiration_ttl?, metadata?}",
    )
    .await?;
    // A decoding failure makes the item unsuccessful, not the request.
    let result = ns.bulk_put_items(
        items
            .into_iter()
            .map(|item| item.decode(&limits).map_err(|(key, _)| key)),
    )?;
    Ok(ok(result))
}

/// `POST /{ns}/bulk/delete` and `DELETE /{ns}/bulk`: a JSON array of key names.
pub(crate) async fn bulk_delete(
    State(state): State<ApiState>,
    path: ApiPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let ns = state.namespace(path.namespace(), "bulk delete")?;
    let limits = *state.engine.limits();
    let keys: Vec<String> = read_json(
        body,
        &headers,
        limits.max_bulk_bytes,
        too_large(limits.max_bulk_bytes),
        "a JSON array of key names",
    )
    .await?;
    let result: BulkResult = ns.bulk_delete_sync(keys)?;
    Ok(ok(result))
}

/// `POST /{ns}/bulk/get`: `{keys, type?, withMetadata?}`. With `type: "json"`, a value that is
/// not JSON fails the whole request (400, naming the key); with `text` (the default) values are
/// JSON strings (bytes that are not UTF-8 are replaced with U+FFFD).
pub(crate) async fn bulk_get(
    State(state): State<ApiState>,
    path: ApiPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let ns = state.namespace(path.namespace(), "bulk get")?;
    let limits = *state.engine.limits();
    let request: BulkGetRequest = read_json(
        body,
        &headers,
        limits.max_bulk_bytes,
        too_large(limits.max_bulk_bytes),
        r#"{"keys": [..], "type"?: "text"|"json", "withMetadata"?: bool}"#,
    )
    .await?;
    let entries = ns.bulk_get_sync(&request.keys)?;
    let as_json = request.value_type == Some(BulkGetType::Json);
    let convert = |key: &str, bytes: &[u8]| -> Result<serde_json::Value, ApiError> {
        if as_json {
            serde_json::from_slice(bytes).map_err(|e| {
                ApiError::bad_body(format!(
                    "bulk get: the value of key {key:?} is not JSON and type is \"json\": {e}."
                ))
            })
        } else {
            Ok(serde_json::Value::String(
                String::from_utf8_lossy(bytes).into_owned(),
            ))
        }
    };
    if request.with_metadata {
        let mut values = BTreeMap::new();
        for (key, entry) in entries {
            let entry = match entry {
                Some(e) => Some(BulkGetEntry {
                    value: convert(&key, &e.value)?,
                    metadata: e.metadata,
                    expiration: e.expiration,
                }),
                None => None,
            };
            values.insert(key, entry);
        }
        Ok(ok(BulkGetWithMetadataResult { values }))
    } else {
        let mut values = BTreeMap::new();
        for (key, entry) in entries {
            let value = match entry {
                Some(e) => Some(convert(&key, &e.value)?),
                None => None,
            };
            values.insert(key, value);
        }
        Ok(ok(BulkGetResult { values }))
    }
}
