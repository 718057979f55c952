//! Turning an HTTP response (or its absence) into a [`Step`] of the retry loop: envelopes,
//! statuses, `Retry-After`, bodies that are not JSON.

use bytes::Bytes;
use kv_types::{ApiErrorDetail, Envelope};
use reqwest::{RequestBuilder, Response};
use serde::de::DeserializeOwned;

use crate::client::Inner;
use crate::error::{Context, Error, retryable_status};
use crate::retry::retry_after::asked_wait;
use crate::retry::runner::{Failure, Step};

/// The most characters of a non-JSON body kept in an error.
const SNIPPET_CHARS: usize = 200;

/// Sends `request` and decodes the envelope of a successful answer.
pub(crate) async fn send_envelope<T: DeserializeOwned>(
    inner: &Inner,
    ctx: &Context,
    request: RequestBuilder,
) -> Step<Envelope<T>> {
    match request.send().await {
        Ok(response) => envelope(inner, ctx, response).await,
        Err(e) => transport(ctx, e),
    }
}

/// Sends `request` and returns the `result` of a successful envelope.
pub(crate) async fn send_result<T: DeserializeOwned>(
    inner: &Inner,
    ctx: &Context,
    request: RequestBuilder,
) -> Step<T> {
    match send_envelope::<T>(inner, ctx, request).await {
        Step::Done(env) => match env.result {
            Some(result) => Step::Done(result),
            None => Step::Stop(Error::decode(ctx, 200, "the envelope has no result")),
        },
        Step::Retry(f) => Step::Retry(f),
        Step::Stop(e) => Step::Stop(e),
    }
}

/// Decodes the envelope of `response`; a failure status becomes the matching error.
pub(crate) async fn envelope<T: DeserializeOwned>(
    inner: &Inner,
    ctx: &Context,
    response: Response,
) -> Step<Envelope<T>> {
    let status = response.status().as_u16();
    if !response.status().is_success() {
        return failure(inner, ctx, response).await;
    }
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(e) => return transport(ctx, e),
    };
    match serde_json::from_slice::<Envelope<T>>(&body) {
        Ok(env) if env.success => Step::Done(env),
        Ok(env) => Step::Stop(Error::Api {
            ctx: ctx.boxed(),
            status,
            errors: env.errors,
            retry_after: None,
            body: None,
        }),
        Err(e) => Step::Stop(Error::decode(
            ctx,
            status,
            format!("{e}; body starts {:?}", snippet(&body)),
        )),
    }
}

/// The error of a response with a failure status, retryable or not.
pub(crate) async fn failure<T>(inner: &Inner, ctx: &Context, response: Response) -> Step<T> {
    let status = response.status().as_u16();
    let asked = asked_wait(response.headers(), inner.clock.wall());
    let body = response.bytes().await.unwrap_or_default();
    let (errors, text) = error_details(&body);
    let ctx = ctx.boxed();
    let error = match status {
        401 | 403 => Error::Unauthorized {
            ctx,
            status,
            errors,
        },
        404 => Error::NotFound {
            ctx,
            status,
            errors,
        },
        429 => Error::RateLimited {
            ctx,
            retry_after: asked,
            errors,
        },
        _ => Error::Api {
            ctx,
            status,
            errors,
            retry_after: asked,
            body: text,
        },
    };
    if retryable_status(status) {
        Step::Retry(Failure {
            error,
            asked,
            rate_limited: status == 429,
        })
    } else {
        tracing::debug!(status, "request failed");
        Step::Stop(error)
    }
}

/// The `errors` of an envelope body, or the start of a body that is not one.
pub(crate) fn error_details(body: &Bytes) -> (Vec<ApiErrorDetail>, Option<String>) {
    match serde_json::from_slice::<Envelope<serde_json::Value>>(body) {
        Ok(env) => (env.errors, None),
        Err(_) if body.is_empty() => (Vec::new(), None),
        Err(_) => (Vec::new(), Some(snippet(body))),
    }
}

/// Whether `errors` holds `code`.
pub(crate) fn has_code(errors: &[ApiErrorDetail], code: u32) -> bool {
    errors.iter().any(|e| e.code == code)
}

/// A request that got no response: retryable, except when the request could not even be built.
pub(crate) fn transport<T>(ctx: &Context, source: reqwest::Error) -> Step<T> {
    let retry = !source.is_builder();
    let error = Error::Transport {
        ctx: ctx.boxed(),
        source,
    };
    if retry {
        Step::Retry(Failure::new(error))
    } else {
        Step::Stop(error)
    }
}

/// The first characters of a body, as lossy UTF-8.
pub(crate) fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .take(SNIPPET_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_of_envelopes_and_pages() {
        let env = Bytes::from_static(
            br#"{"success":false,"errors":[{"code":10009,"message":"get: 'key not found'"}],"messages":[],"result":null}"#,
        );
        let (errors, text) = error_details(&env);
        assert!(has_code(&errors, 10009));
        assert_eq!(text, None);
        let html = Bytes::from_static(b"<html><body>502 Bad Gateway</body></html>");
        let (errors, text) = error_details(&html);
        assert!(errors.is_empty());
        assert_eq!(
            text.as_deref(),
            Some("<html><body>502 Bad Gateway</body></html>")
        );
        let long = Bytes::from(vec![b'x'; 1000]);
        assert_eq!(error_details(&long).1.map(|t| t.len()), Some(SNIPPET_CHARS));
    }
}
