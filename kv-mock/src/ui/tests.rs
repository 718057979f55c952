//! The page through the router, without a socket or a browser: what is served, with which
//! content type and security headers, and that the script never parses data as HTML.

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::{CSP, UI_PATH};
use crate::engine::Engine;
use crate::http::{ApiState, Credentials, router};

/// GET `path` through the whole router: the status, the headers and the body as text.
async fn get(path: &str, credentials: Credentials) -> (StatusCode, http::HeaderMap, String) {
    let app = router(ApiState::new(Engine::default(), "acc", credentials));
    let resp = app
        .oneshot(
            Request::get(path)
                .body(Body::empty())
                .expect("a valid request"),
        )
        .await
        .expect("the router answers");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .expect("the body")
        .to_bytes();
    (
        status,
        headers,
        String::from_utf8(body.to_vec()).expect("UTF-8"),
    )
}

fn header<'a>(headers: &'a http::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_page_and_its_files_are_served_with_their_types_and_a_strict_csp() {
    for (path, content_type, needle) in [
        (
            UI_PATH.to_owned(),
            "text/html; charset=utf-8",
            "<title>kv-mock</title>",
        ),
        (
            format!("{UI_PATH}/"),
            "text/html; charset=utf-8",
            "/__mock/ui/app.js",
        ),
        (
            format!("{UI_PATH}/app.js"),
            "text/javascript; charset=utf-8",
            "textContent",
        ),
        (
            format!("{UI_PATH}/app.css"),
            "text/css; charset=utf-8",
            "@media",
        ),
    ] {
        let (status, headers, body) = get(&path, Credentials::none()).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(header(&headers, "content-type"), content_type, "{path}");
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        let csp = header(&headers, "content-security-policy");
        assert_eq!(csp, CSP, "{path}");
        assert!(body.contains(needle), "{path} holds {needle:?}");
    }
}

#[test]
fn the_csp_allows_nothing_inline_nor_from_elsewhere() {
    let directives: Vec<&str> = CSP.split(';').map(str::trim).collect();
    for needed in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'none'",
    ] {
        assert!(directives.contains(&needed), "{needed} in {CSP}");
    }
    assert!(!CSP.contains("unsafe"), "no unsafe-inline nor unsafe-eval");
    let html = include_str!("index.html");
    let inline_handler = html.split(" on").skip(1).any(|rest| {
        let name_len = rest.bytes().take_while(u8::is_ascii_lowercase).count();
        name_len > 0 && rest[name_len..].starts_with('=')
    });
    assert!(
        !html.contains("<script>") && !html.contains(" style=") && !inline_handler,
        "the page has no inline script, style or handler the CSP would block"
    );
}

#[test]
fn the_script_never_parses_data_as_html() {
    let js = include_str!("app.js");
    for sink in [
        ".innerHTML",
        ".outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
    ] {
        assert!(!js.contains(sink), "app.js must not use {sink}");
    }
}

#[tokio::test]
async fn the_page_needs_no_credentials_but_the_control_routes_do() {
    let (status, headers, _) = get(UI_PATH, Credentials::none().with_token("secret")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    for file in ["/app.js", "/app.css", "/"] {
        let (status, _, _) = get(
            &format!("{UI_PATH}{file}"),
            Credentials::none().with_token("secret"),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{file}: the page's own files hold no data"
        );
    }
    // What the page reads, the control routes, needs the token it sends.
    let (status, _, body) = get("/__mock/info", Credentials::none().with_token("secret")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, body) = get(&format!("{UI_PATH}/nope.js"), Credentials::none()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("No control route"), "{body}");
}
