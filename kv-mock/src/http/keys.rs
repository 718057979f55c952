//! `GET /{ns}/keys`: one page of key names.

use axum::extract::State;
use axum::response::Response;
use kv_types::{ListOptions, ResultInfo, codes};

use super::ApiState;
use super::envelope::ok_with_info;
use super::errors::ApiError;
use super::path::ApiPath;
use super::query::QueryParams;

/// The `limit` parameter: an integer (else 400 with the list-limit code); its range is checked
/// by the engine.
fn parse_limit(raw: &str, state: &ApiState) -> Result<u32, ApiError> {
    match raw.trim().parse::<u64>() {
        Ok(n) => Ok(u32::try_from(n).unwrap_or(u32::MAX)),
        Err(_) => {
            let limits = state.engine.limits();
            Err(ApiError::new(
                400,
                codes::INVALID_LIST_LIMIT,
                format!(
                    "Invalid list limit {raw:?}: not an integer between {} and {}.",
                    limits.min_list_limit, limits.max_list_limit
                ),
            ))
        }
    }
}

/// `GET /{ns}/keys?prefix&limit&cursor`: `result` is `[{name, expiration?, metadata?}]`,
/// `result_info` is `{count, cursor}` with `cursor: ""` on the last page.
pub(crate) async fn list_keys(
    State(state): State<ApiState>,
    path: ApiPath,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let ns = state.namespace(path.namespace(), "list keys")?;
    let mut options = ListOptions::new();
    if let Some(prefix) = query.get("prefix") {
        options = options.prefix(prefix);
    }
    if let Some(cursor) = query.get("cursor") {
        options = options.cursor(cursor);
    }
    if let Some(raw) = query.get("limit") {
        options = options.limit(parse_limit(raw, &state)?);
    }
    let page = ns.list_sync(&options)?;
    let info = ResultInfo {
        count: Some(page.keys.len() as u64),
        cursor: Some(page.cursor.unwrap_or_default()),
        ..ResultInfo::default()
    };
    Ok(ok_with_info(page.keys, info))
}
