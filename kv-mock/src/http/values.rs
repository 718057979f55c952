//! `PUT/GET/DELETE /{ns}/values/{key}` and `GET /{ns}/metadata/{key}`.

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use kv_types::expiration::parse_wire_seconds;
use kv_types::{Expiration, Value};

use super::ApiState;
use super::body::read_value_upload;
use super::envelope::{ok, ok_empty};
use super::errors::ApiError;
use super::path::ApiPath;
use super::query::QueryParams;

/// The expiration a write asks for in its query: `expiration_ttl` wins over `expiration` (which
/// is then not even parsed). Only the form is read here; the engine checks the rule.
fn query_expiration(query: &QueryParams, state: &ApiState) -> Result<Option<Expiration>, ApiError> {
    let limits = state.engine.limits();
    Ok(if let Some(raw) = query.get("expiration_ttl") {
        Some(Expiration::Ttl(parse_wire_seconds(raw, true, limits)?))
    } else if let Some(raw) = query.get("expiration") {
        Some(Expiration::At(parse_wire_seconds(raw, false, limits)?))
    } else {
        None
    })
}

/// `PUT /{ns}/values/{key}`: the key and the expiration are checked before the body is read;
/// a body that is cut off stores nothing.
pub(crate) async fn put_value(
    State(state): State<ApiState>,
    path: ApiPath,
    query: QueryParams,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let ns = state.namespace(path.namespace(), "put")?;
    let mut put = ns.begin_put(path.key_name()?)?;
    put.expire(query_expiration(&query, &state)?)?;
    let upload = read_value_upload(body, &headers, state.engine.limits()).await?;
    put.commit_async(Value::from(upload.value), upload.metadata)
        .await?;
    Ok(ok_empty())
}

/// `GET /{ns}/values/{key}`: the raw bytes, `application/octet-stream`, and an `expiration`
/// header when the key expires.
pub(crate) async fn get_value(
    State(state): State<ApiState>,
    path: ApiPath,
) -> Result<Response, ApiError> {
    let ns = state.namespace(path.namespace(), "get")?;
    let entry = ns
        .read(path.key_name()?, "get")?
        .ok_or(ApiError::key_not_found())?;
    let mut response = Response::new(Body::from(entry.value.clone()));
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
    let ns = state.namespace(path.namespace(), "delete")?;
    ns.delete_sync(path.key_name()?)?;
    Ok(ok_empty())
}

/// `GET /{ns}/metadata/{key}`: the metadata JSON as `result` (`null` when none).
pub(crate) async fn get_metadata(
    State(state): State<ApiState>,
    path: ApiPath,
) -> Result<Response, ApiError> {
    let ns = state.namespace(path.namespace(), "get metadata")?;
    let entry = ns
        .read(path.key_name()?, "get metadata")?
        .ok_or(ApiError::key_not_found())?;
    Ok(ok(&entry.metadata))
}
