//! The control endpoints under `/__mock/`: clock, rate limit, faults, request log, reset, and
//! locations ([`locations`]). The same controls [`KvMock`](crate::KvMock) offers in Rust, for
//! suites in other languages.

mod locations;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use http::HeaderMap;
use kv_types::codes;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::engine::Engine;
use crate::fault::{Fault, FaultMatch};
use crate::http::ApiState;
use crate::http::body::read_json;
use crate::http::envelope::ok;
use crate::http::errors::ApiError;

/// The reserved path prefix of the control endpoints.
pub const CONTROL_PREFIX: &str = "/__mock";

/// Largest control request body, in bytes.
const MAX_CONTROL_BODY: usize = 64 * 1024;

impl ApiState {
    /// Clears data (leaving the initial namespaces, empty), faults and the request log. The
    /// clock and the rate-limit switch are kept. A storage failure is returned once the rest
    /// is done.
    pub(crate) fn reset(&self) -> Result<(), crate::EngineError> {
        let reset = self.engine.reset(&self.served.initial);
        self.faults.clear();
        self.log.clear();
        reset
    }
}

/// A control request's JSON body, of at most [`MAX_CONTROL_BODY`] bytes.
pub(crate) async fn body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    what: &str,
) -> Result<T, ApiError> {
    read_json(
        body,
        headers,
        MAX_CONTROL_BODY,
        |len| {
            ApiError::new(
                413,
                codes::INVALID_REQUEST_BODY,
                format!("Control request body of {len} bytes exceeds {MAX_CONTROL_BODY}."),
            )
        },
        what,
    )
    .await
}

async fn info(State(s): State<ApiState>) -> Response {
    let mut info = json!({
        "base_url": s.base_url(),
        "account_id": &*s.account_id,
        "namespace_id": s.served.initial.first().map(|n| n.id.clone()),
        "namespaces": s.engine.list_namespaces(),
    });
    // With locations: which one answers, and where every one is served.
    if let Some(location) = s.location_name() {
        info["location"] = json!(location);
        info["locations"] = json!(s.served.locations);
    }
    ok(info)
}

fn clock_json(engine: &Engine) -> serde_json::Value {
    let clock = engine.clock();
    json!({
        "now": clock.now_secs(),
        "now_millis": clock.now_millis(),
        "frozen": clock.is_frozen(),
    })
}

async fn get_clock(State(s): State<ApiState>) -> Response {
    ok(clock_json(&s.engine))
}

#[derive(Deserialize)]
struct Advance {
    #[serde(default)]
    seconds: u64,
    #[serde(default)]
    millis: u64,
}

async fn advance_clock(
    State(s): State<ApiState>,
    headers: HeaderMap,
    b: Body,
) -> Result<Response, ApiError> {
    let a: Advance = body(&headers, b, r#"{"seconds": int} or {"millis": int}"#).await?;
    s.engine
        .clock()
        .advance(Duration::from_secs(a.seconds).saturating_add(Duration::from_millis(a.millis)));
    Ok(ok(clock_json(&s.engine)))
}

#[derive(Deserialize)]
struct SetClock {
    now: u64,
}

async fn set_clock(
    State(s): State<ApiState>,
    headers: HeaderMap,
    b: Body,
) -> Result<Response, ApiError> {
    let t: SetClock = body(&headers, b, r#"{"now": epoch seconds}"#).await?;
    s.engine.clock().set(t.now);
    Ok(ok(clock_json(&s.engine)))
}

#[derive(Deserialize, Serialize)]
struct RateLimit {
    enabled: bool,
}

async fn get_rate_limit(State(s): State<ApiState>) -> Response {
    ok(RateLimit {
        enabled: s.engine.rate_limit_enabled(),
    })
}

async fn set_rate_limit(
    State(s): State<ApiState>,
    headers: HeaderMap,
    b: Body,
) -> Result<Response, ApiError> {
    let r: RateLimit = body(&headers, b, r#"{"enabled": bool}"#).await?;
    s.engine.set_rate_limit(r.enabled);
    Ok(ok(r))
}

/// A fault as the control endpoint takes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    kind: String,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    delay_ms: Option<u64>,
    #[serde(default)]
    times: Option<u32>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    key: Option<String>,
}

impl FaultSpec {
    fn into_fault(self) -> Result<Fault, ApiError> {
        let mut fault = match self.kind.as_str() {
            "status" => {
                let status = self
                    .status
                    .filter(|s| (100..=599).contains(s))
                    .ok_or_else(|| {
                        ApiError::bad_body("A status fault needs \"status\" between 100 and 599.")
                    })?;
                let mut f = Fault::status(status);
                for (k, v) in self.headers {
                    if http::HeaderName::try_from(k.as_str()).is_err()
                        || http::HeaderValue::try_from(v.as_str()).is_err()
                    {
                        return Err(ApiError::bad_body(format!("Invalid fault header {k:?}.")));
                    }
                    f = f.header(k, v);
                }
                f
            }
            "delay" => {
                Fault::delay(Duration::from_millis(self.delay_ms.ok_or_else(|| {
                    ApiError::bad_body("A delay fault needs \"delay_ms\".")
                })?))
            }
            "reset" => Fault::reset(),
            "truncate_body" => Fault::truncate_body(),
            other => {
                return Err(ApiError::bad_body(format!(
                    "Unknown fault kind {other:?}: use status, delay, reset or truncate_body."
                )));
            }
        };
        let mut matcher = FaultMatch::any();
        if let Some(m) = self.method {
            matcher = matcher.with_method(m);
        }
        if let Some(p) = self.path {
            matcher = matcher.with_path(p);
        }
        if let Some(k) = self.key {
            matcher = matcher.with_key(k);
        }
        fault = fault.times(self.times.unwrap_or(1)).matching(matcher);
        Ok(fault)
    }
}

async fn add_fault(
    State(s): State<ApiState>,
    headers: HeaderMap,
    b: Body,
) -> Result<Response, ApiError> {
    let spec: FaultSpec = body(
        &headers,
        b,
        r#"{"kind": "status"|"delay"|"reset"|"truncate_body", "status"?, "headers"?, "delay_ms"?, "times"?, "method"?, "path"?, "key"?}"#,
    )
    .await?;
    let fault = spec.into_fault()?;
    s.faults.inject(fault.clone());
    Ok(ok(fault))
}

async fn list_faults(State(s): State<ApiState>) -> Response {
    ok(s.faults.pending())
}

async fn clear_faults(State(s): State<ApiState>) -> Response {
    s.faults.clear();
    ok(json!({}))
}

async fn list_requests(State(s): State<ApiState>) -> Response {
    ok(s.log.snapshot())
}

async fn clear_requests(State(s): State<ApiState>) -> Response {
    s.log.clear();
    ok(json!({}))
}

async fn reset(State(s): State<ApiState>) -> Response {
    match s.reset() {
        Ok(()) => ok(json!({})),
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn not_found(request: Request) -> Response {
    ApiError::new(
        404,
        codes::ROUTE_NOT_FOUND,
        format!(
            "No control route for {} {}.",
            request.method(),
            request.uri().path()
        ),
    )
    .into_response()
}

/// Middleware of the control routes: 403 code 10000 `Authentication error` unless the request
/// carries the control credentials (the API's, or the control token).
async fn require_control_auth(
    State(state): State<ApiState>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    if state.control_credentials.accepts(request.headers()) {
        next.run(request).await
    } else {
        ApiError::authentication().into_response()
    }
}

/// The control routes under [`CONTROL_PREFIX`], to merge beside the API's (they are outside its
/// layers: no faults, not logged). When `state` has credentials for them (the API's, or a control
/// token), every control route requires them, but the web page's own files (no data in them).
/// Every other path under the prefix is a 404 envelope of its own.
pub(crate) fn routes(state: &ApiState) -> Router<ApiState> {
    let p = CONTROL_PREFIX;
    let guarded = Router::new()
        .route(&format!("{p}/info"), get(info))
        .route(&format!("{p}/clock"), get(get_clock))
        .route(&format!("{p}/clock/advance"), post(advance_clock))
        .route(&format!("{p}/clock/set"), post(set_clock))
        .route(
            &format!("{p}/rate-limit"),
            get(get_rate_limit).post(set_rate_limit),
        )
        .route(
            &format!("{p}/faults"),
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route(
            &format!("{p}/requests"),
            get(list_requests).delete(clear_requests),
        )
        .route(&format!("{p}/reset"), post(reset))
        .merge(crate::data_routes::routes())
        .merge(locations::routes());
    let guarded = if state.control_credentials.is_required() {
        guarded.route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_control_auth,
        ))
    } else {
        guarded
    };
    guarded
        .merge(crate::ui::routes())
        .route(p, any(not_found))
        .route(&format!("{p}/"), any(not_found))
        .route(&format!("{p}/{{*rest}}"), any(not_found))
        .method_not_allowed_fallback(crate::http::method_not_allowed)
}
