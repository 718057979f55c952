//! `PUT/GET/DELETE /{ns}/values/{key}` and `GET /{ns}/metadata/{key}`.

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use kv_types::expiration::parse_wire_seconds;
use kv_types::{Expiration, PutOptions, Value};

use super::ApiState;
use super::body::read_value_upload;
use super::envelope::{ok, ok_empty};
use super::errors::ApiError;
use super::path::ApiPath;
use super::query::QueryParams;

/// The expiration a write asks for in its query: `expiration_ttl` wins over `expiration` (which
/// is then not even parsed).
fn put_options(query: &QueryParams, state: &ApiState) -> Result<PutOptions, ApiError> {
    let limits = state.engine.limits();
    let mut options = PutOptions::new();
    if let Some(raw) = query.get("expiration_ttl") {
        options.expiration_ttl = Some(parse_wire_seconds(raw, true, limits)?);
    } else if let Some(raw) = query.get("expiration") {
        options.expiration = Some(parse_wire_seconds(raw, false, limits)?);
    }
    Ok(options)
}

/// `PUT /{ns}/values/{key}`: everything that can be checked is checked before the body is read;
/// a body that is cut off stores nothing.
pub(crate) async fn put_value(
    State(state): State<ApiState>,
    path: ApiPath,
    query: QueryParams,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let ns = state.namespace(&path.namespace, "put")?;
    let limits = *state.engine.limits();
    let key = path.key(&limits)?;
    let mut options = put_options(&query, &state)?;
    if let Some(exp) = options.effective_expiration() {
        Expiration::resolve(exp, state.engine.clock().now_secs(), &limits)?;
    }
    let upload = read_value_upload(body, &headers, &limits).await?;
    options.metadata = upload.metadata;
    ns.put_sync(&key, Value::from(upload.value), options)?;
    Ok(ok_empty())
}

/// `GET /{ns}/values/{key}`: the raw bytes, `application/octet-stream`, and an `expiration`
/// header when the key expires.
pub(crate) async fn get_value(
    State(state): State<ApiState>,
    path: ApiPath,
) -> Result<Response, ApiError> {
    let ns = state.namespace(&path.namespace, "get")?;
    let key = path.key(state.engine.limits())?;
    let entry = ns.get_sync(&key)?.ok_or(ApiError::key_not_found())?;
    let mut response = Response::new(Body::from(entry.value));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Some(exp) = entry.expiration {
        headers.insert("expiration", HeaderValue::from(exp));
    }
    Ok(response)
}

/// `DELETE /{ns}/values/{key}`: deleting a missing key succeeds.
pub(crate) async fn delete_value(
    State(state): State<ApiState>,
    path: ApiPath,
) -> Result<Response, ApiError> {
    let ns = state.namespace(&path.namespace, "delete")?;
    let key = path.key(state.engine.limits())?;
    ns.delete_sync(&key)?;
    Ok(ok_empty())
}

/// `GET /{ns}/metadata/{key}`: the metadata JSON as `result` (`null` when none).
pub(crate) async fn get_metadata(
    State(state): State<ApiState>,
    path: ApiPath,
) -> Result<Response, ApiError> {
    let ns = state.namespace(&path.namespace, "get metadata")?;
    let key = path.key(state.engine.limits())?;
    let metadata = ns.metadata_sync(&key)?.ok_or(ApiError::key_not_found())?;
    Ok(ok(metadata))
}
