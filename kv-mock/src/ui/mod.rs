//! The mock's web page at `/__mock/ui`: one self-contained page (HTML, CSS and a little
//! JavaScript, embedded in the binary, no build step, nothing from a CDN) to look at the fake's
//! state while tests and dev stacks run. It uses only the API and the control routes a script
//! would use; it adds no state and no second path to any of them.
//!
//! The three files are served under a restrictive Content-Security-Policy ([`CSP`]): only this
//! origin's own script, style and `fetch`, no inline script, no frames, no forms posting
//! anywhere. The script builds every element with `textContent` (never `innerHTML`), so nothing
//! from a key, a value or metadata is ever read as HTML.

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::header;

use crate::control::CONTROL_PREFIX;
use crate::http::ApiState;

/// The path of the page.
pub const UI_PATH: &str = "/__mock/ui";

/// The Content-Security-Policy of the page and its files.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

const INDEX_HTML: &str = include_str!("index.html");
const APP_JS: &str = include_str!("app.js");
const APP_CSS: &str = include_str!("app.css");

/// One embedded file with its content type and the page's security headers.
fn embedded(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn index() -> Response {
    embedded("text/html; charset=utf-8", INDEX_HTML)
}

async fn script() -> Response {
    embedded("text/javascript; charset=utf-8", APP_JS)
}

async fn style() -> Response {
    embedded("text/css; charset=utf-8", APP_CSS)
}

/// The page's routes, merged into the control routes (so under the same access rule).
pub(crate) fn routes() -> Router<ApiState> {
    debug_assert!(UI_PATH.starts_with(CONTROL_PREFIX));
    Router::new()
        .route(UI_PATH, get(index))
        .route(&format!("{UI_PATH}/"), get(index))
        .route(&format!("{UI_PATH}/app.js"), get(script))
        .route(&format!("{UI_PATH}/app.css"), get(style))
}

#[cfg(test)]
mod tests;
