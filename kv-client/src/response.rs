//! Turning an HTTP response into the answer of an attempt: a success goes to the operation's
//! [`Reading`], a failure status becomes the matching [`Error`] (with the wait the server asked
//! for), a 404 saying the key is missing is an answer for the reads whose result is an `Option`.

use bytes::Bytes;
use http::StatusCode;
use kv_types::{ApiErrorDetail, Envelope, codes};
use reqwest::Response;

use crate::client::Inner;
use crate::error::{Context, Error};
use crate::reading::Reading;
use crate::retry::retry_after::asked_wait;

/// The most characters of a non-JSON body kept in an error.
const SNIPPET_CHARS: usize = 200;

/// The answer of `response`, read by `reading`.
pub(crate) async fn read<R: Reading>(
    inner: &Inner,
    ctx: &Context,
    response: Response,
    reading: &R,
) -> Result<R::Output, Error> {
    let status = response.status();
    if status.is_success() {
        if let Some(account) = &inner.account {
            let headers = response.headers();
            account.observe(
                status.as_u16(),
                headers,
                false,
                inner.clock.now(),
                inner.clock.wall(),
            );
        }
        return reading.success(ctx, response).await;
    }
    if status == StatusCode::NOT_FOUND
        && let Some(missing) = reading.missing()
    {
        return missing_key_or_not_found(ctx, response, missing).await;
    }
    Err(failure(inner, ctx, response).await)
}

/// The error of a response with a failure status.
async fn failure(inner: &Inner, ctx: &Context, response: Response) -> Error {
    let status = response.status().as_u16();
    let asked = asked_wait(response.headers(), inner.clock.wall());
    let headers = inner.account.as_ref().map(|_| response.headers().clone());
    let body = response.bytes().await.unwrap_or_default();
    let (errors, text) = error_details(&body);
    if let (Some(account), Some(headers)) = (&inner.account, headers) {
        let refused = crate::account_rate::is_account_refusal(&errors);
        account.observe(
            status,
            &headers,
            refused,
            inner.clock.now(),
            inner.clock.wall(),
        );
    }
    tracing::debug!(status, "request failed");
    let ctx = ctx.boxed();
    match status {
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
    }
}

/// A 404: `missing` when the service says the key is not found (code 10009), else a not-found
/// error (the namespace is missing, or the URL is wrong).
async fn missing_key_or_not_found<T>(
    ctx: &Context,
    response: Response,
    missing: T,
) -> Result<T, Error> {
    let status = response.status().as_u16();
    // A body cut short cannot say whether the key or the namespace is missing: retry the read.
    let body = response.bytes().await.map_err(|e| transport(ctx, e))?;
    let (errors, _) = error_details(&body);
    if has_code(&errors, codes::KEY_NOT_FOUND) {
        Ok(missing)
    } else {
        Err(Error::NotFound {
            ctx: ctx.boxed(),
            status,
            errors,
        })
    }
}

/// The `errors` of an envelope body, or the start of a body that is not one.
pub(crate) fn error_details(body: &Bytes) -> (Vec<ApiErrorDetail>, Option<String>) {
    match serde_json::from_slice::<Envelope<serde::de::IgnoredAny>>(body) {
        Ok(env) => (env.errors, None),
        Err(_) if body.is_empty() => (Vec::new(), None),
        Err(_) => (Vec::new(), Some(snippet(body))),
    }
}

/// Whether `errors` holds `code`.
pub(crate) fn has_code(errors: &[ApiErrorDetail], code: u32) -> bool {
    errors.iter().any(|e| e.code == code)
}

/// A request that got no (whole) response, or could not be built.
pub(crate) fn transport(ctx: &Context, source: reqwest::Error) -> Error {
    Error::Transport {
        ctx: ctx.boxed(),
        source,
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
