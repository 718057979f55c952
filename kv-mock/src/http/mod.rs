//! The HTTP face: one axum [`Router`] for every endpoint of the contract and the `/__mock/`
//! control routes, with faults and the request log as its layers, built by a plain function
//! ([`router`]) so it can be tested without a socket. [`KvMock`](crate::KvMock) and the
//! standalone binary serve exactly this router.

mod account_rate;
mod auth;
pub(crate) mod body;
mod bulk;
pub(crate) mod envelope;
pub(crate) mod errors;
mod keys;
mod namespaces;
pub(crate) mod path;
pub(crate) mod query;
mod values;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use kv_types::{Namespace, codes};

use errors::ApiError;

pub use auth::Credentials;

use crate::engine::Engine;
use crate::fault::FaultSet;
use crate::request_log::RequestLog;

/// Where the API lives: the path of the base URL (`http://host:port/client/v4`).
pub const BASE_PATH: &str = "/client/v4";

/// What the router shares: the engine, the account id, the credentials, the waiting faults and
/// the request log.
#[derive(Debug, Clone)]
pub struct ApiState {
    pub(crate) engine: Engine,
    pub(crate) account_id: Arc<str>,
    pub(crate) credentials: Arc<Credentials>,
    /// What the control routes under `/__mock/` accept: the API's credentials, or a separate
    /// control token ([`with_control_token`](Self::with_control_token)).
    pub(crate) control_credentials: Arc<Credentials>,
    pub(crate) account_limiter: Option<Arc<account_rate::AccountLimiter>>,
    pub(crate) faults: Arc<FaultSet>,
    pub(crate) log: Arc<RequestLog>,
    pub(crate) served: Arc<Served>,
    /// The location this router serves (an index into the engine's locations; 0, the default,
    /// without locations).
    pub(crate) location: usize,
}

/// What the control routes report and restore: where the mock is served and the namespaces a
/// reset leaves.
#[derive(Debug)]
pub(crate) struct Served {
    /// `http://host:port/client/v4` once served; the bare [`BASE_PATH`] before.
    pub(crate) base_url: Box<str>,
    /// The namespaces a reset leaves (empty), the default one first.
    pub(crate) initial: Vec<Namespace>,
    /// With locations: each location's name and base URL, in the engine's order.
    pub(crate) locations: Vec<ServedLocation>,
}

/// One location as served: its name and its base URL.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct ServedLocation {
    pub(crate) name: String,
    pub(crate) base_url: String,
}

impl ApiState {
    /// The state of an API over `engine` for the account `account_id`, accepting `credentials`,
    /// with no fault waiting and an empty request log. The namespaces `engine` holds now are the
    /// ones a reset (`POST /__mock/reset`) leaves.
    pub fn new(
        engine: Engine,
        account_id: impl Into<String>,
        credentials: Credentials,
    ) -> ApiState {
        let initial = engine.list_namespaces();
        let credentials = Arc::new(credentials);
        ApiState {
            engine,
            account_id: Arc::from(account_id.into()),
            control_credentials: Arc::clone(&credentials),
            credentials,
            account_limiter: None,
            faults: Arc::default(),
            log: Arc::default(),
            served: Arc::new(Served {
                base_url: BASE_PATH.into(),
                initial,
                locations: Vec::new(),
            }),
            location: 0,
        }
    }

    /// Records where the router is served and the namespaces a reset leaves (the default one
    /// first).
    pub(crate) fn served_at(mut self, base_url: String, initial: Vec<Namespace>) -> ApiState {
        self.served = Arc::new(Served {
            base_url: base_url.into(),
            initial,
            locations: Vec::new(),
        });
        self
    }

    /// Records where each location is served (the engine's locations, in order).
    pub(crate) fn serving_locations(mut self, locations: Vec<ServedLocation>) -> ApiState {
        self.served = Arc::new(Served {
            base_url: self.served.base_url.clone(),
            initial: self.served.initial.clone(),
            locations,
        });
        self
    }

    /// The same API as location `at` of the engine serves it: its reads and writes go to that
    /// location, its requests are logged with its name; everything else is shared.
    pub(crate) fn at_location(&self, at: usize) -> ApiState {
        ApiState {
            location: at,
            ..self.clone()
        }
    }

    /// The name of the location this state serves, when the engine has locations.
    pub(crate) fn location_name(&self) -> Option<&str> {
        self.engine
            .location_names()
            .get(self.location)
            .map(String::as_str)
    }

    /// The base URL of the location this state serves (the mock's, without locations).
    pub(crate) fn base_url(&self) -> &str {
        self.served
            .locations
            .get(self.location)
            .map_or(&*self.served.base_url, |l| l.base_url.as_str())
    }

    /// Limits the account to `max_requests` API requests per `window` (Cloudflare: 1200 per
    /// 5 minutes), answering 429 with `Retry-After` beyond it. Off unless set. The window is
    /// measured on the engine's clock, and a request also leaves it after `window` of real time.
    pub fn with_account_rate_limit(
        mut self,
        max_requests: u32,
        window: std::time::Duration,
    ) -> ApiState {
        self.account_limiter = Some(Arc::new(account_rate::AccountLimiter::new(
            max_requests,
            window,
            self.engine.clock().clone(),
        )));
        self
    }

    /// Makes the control routes (`/__mock/`, but the web page's own files) require
    /// `Authorization: Bearer <token>` with this token instead of the API's credentials.
    pub fn with_control_token(mut self, token: impl Into<String>) -> ApiState {
        self.control_credentials = Arc::new(Credentials::none().with_token(token));
        self
    }

    /// The namespace `id`, or the contract's 404 naming the operation `op`.
    pub(crate) fn namespace(
        &self,
        id: &str,
        op: &'static str,
    ) -> Result<crate::NamespaceHandle, ApiError> {
        self.engine
            .namespace_at_index(id, self.location)
            .ok_or(ApiError::namespace_not_found(op))
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The account id.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }
}

/// 404 envelope for a path no route matches.
async fn route_not_found(request: Request) -> Response {
    ApiError::new(
        404,
        codes::ROUTE_NOT_FOUND,
        format!(
            "No route for {} {}.",
            request.method(),
            request.uri().path()
        ),
    )
    .into_response()
}

/// 405 envelope for a route that exists but not for this method.
pub(crate) async fn method_not_allowed(request: Request) -> Response {
    ApiError::new(
        405,
        codes::METHOD_NOT_ALLOWED,
        format!(
            "Method {} is not allowed for {}.",
            request.method(),
            request.uri().path()
        ),
    )
    .into_response()
}

/// Everything the mock serves: the KV API under
/// `/client/v4/accounts/{account}/storage/kv/namespaces` (every endpoint of the contract, the
/// optional authentication and account rate limit, envelope errors for unknown routes (404) and
/// methods (405)), with the injected faults and the request log as layers over it, and beside it
/// the control routes under [`CONTROL_PREFIX`](crate::CONTROL_PREFIX), outside those layers.
///
/// ```
/// use kv_mock::http::{ApiState, Credentials, router};
/// use kv_mock::Engine;
///
/// let app: axum::Router = router(ApiState::new(Engine::default(), "acc", Credentials::none()));
/// # let _ = app;
/// ```
pub fn router(state: ApiState) -> Router {
    use bulk::{bulk_delete, bulk_get, bulk_write};
    use keys::list_keys;
    use namespaces::{
        create_namespace, delete_namespace, get_namespace, list_namespaces, rename_namespace,
    };
    use values::{delete_value, get_metadata, get_value, put_value};

    let base = format!("{BASE_PATH}/accounts/{{account}}/storage/kv/namespaces");
    let value_routes = get(get_value).put(put_value).delete(delete_value);
    let api = Router::new()
        .route(&base, get(list_namespaces).post(create_namespace))
        .route(
            &format!("{base}/{{ns}}"),
            get(get_namespace)
                .put(rename_namespace)
                .delete(delete_namespace),
        )
        .route(&format!("{base}/{{ns}}/values/"), value_routes.clone())
        .route(&format!("{base}/{{ns}}/values/{{*key}}"), value_routes)
        .route(&format!("{base}/{{ns}}/metadata/"), get(get_metadata))
        .route(
            &format!("{base}/{{ns}}/metadata/{{*key}}"),
            get(get_metadata),
        )
        .route(&format!("{base}/{{ns}}/keys"), get(list_keys))
        .route(
            &format!("{base}/{{ns}}/bulk"),
            put(bulk_write).delete(bulk_delete),
        )
        .route(&format!("{base}/{{ns}}/bulk/delete"), post(bulk_delete))
        .route(&format!("{base}/{{ns}}/bulk/get"), post(bulk_get))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed);
    // Outermost first: the log, the faults, then the authentication and the account rate limit
    // (each left out when not configured), as one layer: every `Router::layer` wraps each route
    // in another boxed service, cloned and called per request.
    let auth = state
        .credentials
        .is_required()
        .then(|| from_fn_with_state(state.clone(), auth::require_auth));
    let account_rate = state
        .account_limiter
        .is_some()
        .then(|| from_fn_with_state(state.clone(), account_rate::limit_account_rate));
    let layers = tower::ServiceBuilder::new()
        .layer(crate::request_log::LogLayer::new(
            Arc::clone(&state.log),
            state.location_name().map(Arc::from),
        ))
        .layer(crate::fault::FaultLayer::new(Arc::clone(&state.faults)))
        .option_layer(auth)
        .option_layer(account_rate);
    api.layer(layers)
        .merge(crate::control::routes(&state))
        .with_state(state)
}

#[cfg(test)]
mod tests;
