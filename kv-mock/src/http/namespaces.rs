//! `GET/POST /namespaces` and `GET/PUT/DELETE /namespaces/{ns}`.

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use http::HeaderMap;
use kv_types::{NamespaceTitle, ResultInfo, codes};

use super::ApiState;
use super::body::read_json;
use super::envelope::{ok, ok_empty, ok_with_info};
use super::errors::ApiError;
use super::path::ApiPath;
use super::query::QueryParams;

/// Largest body of a create or rename, in bytes.
const MAX_TITLE_BODY: usize = 64 * 1024;
/// Default and largest `per_page` of the namespace list (Cloudflare's OpenAPI).
const DEFAULT_PER_PAGE: u64 = 20;
const MAX_PER_PAGE: u64 = 1000;

async fn read_title(body: Body, headers: &HeaderMap) -> Result<String, ApiError> {
    let t: NamespaceTitle = read_json(
        body,
        headers,
        MAX_TITLE_BODY,
        |len| {
            ApiError::new(
                413,
                codes::INVALID_REQUEST_BODY,
                format!("The request body of {len} bytes exceeds the limit of {MAX_TITLE_BODY}."),
            )
        },
        r#"{"title": string}"#,
    )
    .await?;
    Ok(t.title)
}

fn positive(query: &QueryParams, name: &str, default: u64, max: u64) -> Result<u64, ApiError> {
    match query.get(name) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_query(format!(
                "Invalid {name} {raw:?}: must be an integer between 1 and {max}."
            ))),
        },
    }
}

/// `GET /namespaces?page&per_page&order&direction`: ordered by `title` (the default) or `id`,
/// `asc` (the default) or `desc`; `result_info` is `{count, page, per_page, total_count}`.
pub(crate) async fn list_namespaces(
    State(state): State<ApiState>,
    _path: ApiPath,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let page = positive(&query, "page", 1, u64::MAX)?;
    let per_page = positive(&query, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)?;
    let mut all = state.engine.list_namespaces();
    match query.get("order") {
        None | Some("title") => all.sort_by(|a, b| a.title.cmp(&b.title).then(a.id.cmp(&b.id))),
        Some("id") => all.sort_by(|a, b| a.id.cmp(&b.id)),
        Some(other) => {
            return Err(ApiError::bad_query(format!(
                "Invalid order {other:?}: must be \"id\" or \"title\"."
            )));
        }
    }
    match query.get("direction") {
        None | Some("asc") => {}
        Some("desc") => all.reverse(),
        Some(other) => {
            return Err(ApiError::bad_query(format!(
                "Invalid direction {other:?}: must be \"asc\" or \"desc\"."
            )));
        }
    }
    let total = all.len() as u64;
    let skip = usize::try_from((page - 1).saturating_mul(per_page)).unwrap_or(usize::MAX);
    let take = usize::try_from(per_page).unwrap_or(usize::MAX);
    let items: Vec<_> = all.into_iter().skip(skip).take(take).collect();
    let info = ResultInfo {
        count: Some(items.len() as u64),
        page: Some(page),
        per_page: Some(per_page),
        total_count: Some(total),
        cursor: None,
    };
    Ok(ok_with_info(items, info))
}

/// `POST /namespaces` `{title}`.
pub(crate) async fn create_namespace(
    State(state): State<ApiState>,
    _path: ApiPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let title = read_title(body, &headers).await?;
    Ok(ok(state.engine.create_namespace(&title)?))
}

/// `GET /namespaces/{ns}`.
pub(crate) async fn get_namespace(
    State(state): State<ApiState>,
    path: ApiPath,
) -> Result<Response, ApiError> {
    Ok(ok(state.engine.get_namespace(path.namespace())?))
}

/// `PUT /namespaces/{ns}` `{title}`: renames.
pub(crate) async fn rename_namespace(
    State(state): State<ApiState>,
    path: ApiPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // A missing namespace is reported before the body is looked at.
    state.namespace(path.namespace(), "rename namespace")?;
    let title = read_title(body, &headers).await?;
    Ok(ok(state
        .engine
        .rename_namespace(path.namespace(), &title)?))
}

/// `DELETE /namespaces/{ns}`.
pub(crate) async fn delete_namespace(
    State(state): State<ApiState>,
    path: ApiPath,
) -> Result<Response, ApiError> {
    state.engine.delete_namespace(path.namespace())?;
    Ok(ok_empty())
}
