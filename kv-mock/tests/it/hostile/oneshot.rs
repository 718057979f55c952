//! Calling the router without a socket: a generated case as an `http::Request`, and the whole
//! answer.

use axum::Router;
use axum::body::Body;
use http::{HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::hostile::answer::Answer;
use crate::hostile::generator::Case;

/// The request `case` describes, if the `http` crate can hold it.
pub(crate) fn build(case: &Case) -> Option<Request<Body>> {
    let method = Method::from_bytes(case.method.as_bytes()).ok()?;
    let uri = Uri::try_from(case.target.as_str()).ok()?;
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(case.body.clone()))
        .ok()?;
    for (name, value) in &case.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(value).ok()?;
        request.headers_mut().append(name, value);
    }
    Some(request)
}

pub(crate) async fn answer_of(app: &Router, request: Request<Body>) -> Answer {
    let response = match app.clone().oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body the router built")
        .to_bytes()
        .to_vec();
    Answer {
        status,
        content_type,
        body,
    }
}
