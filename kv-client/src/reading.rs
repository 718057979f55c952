//! [`Reading`]: how an operation reads a successful answer, and the readers of this crate: an
//! acknowledgement, the `result` of an envelope, the whole envelope (with its paging), a value,
//! a value's response for streaming, a key's metadata.

use std::future::Future;
use std::marker::PhantomData;

use bytes::Bytes;
use http::HeaderMap;
use kv_types::{ApiErrorDetail, Envelope, Metadata};
use reqwest::Response;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{Context, Error};
use crate::response::{snippet, transport};

/// How an operation reads the answer to its request.
pub(crate) trait Reading: Sync {
    /// What a success gives.
    type Output: Send;

    /// Reads a response with a 2xx status.
    fn success(
        &self,
        ctx: &Context,
        response: Response,
    ) -> impl Future<Output = Result<Self::Output, Error>> + Send;

    /// The answer when the service says the key does not exist (a 404 with code 10009), for the
    /// reads whose result is an `Option`; `None` makes that 404 an error like any other.
    fn missing(&self) -> Option<Self::Output> {
        None
    }
}

/// The status and body of a response; a body cut short is a transport error.
async fn body(ctx: &Context, response: Response) -> Result<(u16, Bytes), Error> {
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(|e| transport(ctx, e))?;
    Ok((status, body))
}

/// The envelope of a successful answer; `success: false` is an [`Error::Api`].
fn envelope<T: DeserializeOwned>(
    ctx: &Context,
    status: u16,
    body: &[u8],
) -> Result<Envelope<T>, Error> {
    match serde_json::from_slice::<Envelope<T>>(body) {
        Ok(env) if env.success => Ok(env),
        Ok(env) => Err(refused(ctx, status, env.errors)),
        Err(e) => Err(not_json(ctx, status, &e, body)),
    }
}

fn refused(ctx: &Context, status: u16, errors: Vec<ApiErrorDetail>) -> Error {
    Error::Api {
        ctx: ctx.boxed(),
        status,
        errors,
        retry_after: None,
        body: None,
    }
}

fn not_json(ctx: &Context, status: u16, e: &serde_json::Error, body: &[u8]) -> Error {
    Error::decode(ctx, status, format!("{e}; body starts {:?}", snippet(body)))
}

/// A success whose result is not needed (put, delete, rename): only `success` is read.
pub(crate) struct Ack;

/// The success bodies of the service and of the fake, recognised without parsing.
const PLAIN_SUCCESS: [&[u8]; 2] = [
    br#"{"success":true,"errors":[],"messages":[],"result":null}"#,
    br#"{"success":true,"errors":[],"messages":[],"result":{}}"#,
];

/// The part of an envelope an [`Ack`] reads; the rest is skipped, not built.
#[derive(Deserialize)]
struct AckEnvelope {
    success: bool,
    #[serde(default)]
    errors: Vec<ApiErrorDetail>,
}

impl Reading for Ack {
    type Output = ();

    async fn success(&self, ctx: &Context, response: Response) -> Result<(), Error> {
        let (status, body) = body(ctx, response).await?;
        acknowledged(ctx, status, &body)
    }
}

/// Whether `body` says the request succeeded.
fn acknowledged(ctx: &Context, status: u16, body: &[u8]) -> Result<(), Error> {
    if PLAIN_SUCCESS.contains(&body) {
        return Ok(());
    }
    match serde_json::from_slice::<AckEnvelope>(body) {
        Ok(env) if env.success => Ok(()),
        Ok(env) => Err(refused(ctx, status, env.errors)),
        Err(e) => Err(not_json(ctx, status, &e, body)),
    }
}

/// The `result` of the envelope, which must be there.
pub(crate) struct ResultOf<T>(PhantomData<fn() -> T>);

impl<T> ResultOf<T> {
    pub(crate) fn new() -> ResultOf<T> {
        ResultOf(PhantomData)
    }
}

impl<T: DeserializeOwned + Send> Reading for ResultOf<T> {
    type Output = T;

    async fn success(&self, ctx: &Context, response: Response) -> Result<T, Error> {
        let (status, body) = body(ctx, response).await?;
        envelope::<T>(ctx, status, &body)?
            .result
            .ok_or_else(|| Error::decode(ctx, status, "the envelope has no result"))
    }
}

/// The whole envelope, for the paging information of lists.
pub(crate) struct EnvelopeOf<T>(PhantomData<fn() -> T>);

impl<T> EnvelopeOf<T> {
    pub(crate) fn new() -> EnvelopeOf<T> {
        EnvelopeOf(PhantomData)
    }
}

impl<T: DeserializeOwned + Send> Reading for EnvelopeOf<T> {
    type Output = Envelope<T>;

    async fn success(&self, ctx: &Context, response: Response) -> Result<Envelope<T>, Error> {
        let (status, body) = body(ctx, response).await?;
        envelope::<T>(ctx, status, &body)
    }
}

/// A value read with its expiration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Read {
    pub(crate) value: Bytes,
    pub(crate) expiration: Option<u64>,
}

/// The `expiration` header of a value read, in epoch seconds.
pub(crate) fn expiration_header(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("expiration")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// A value, read whole; `None` for a missing key.
pub(crate) struct ValueRead;

impl Reading for ValueRead {
    type Output = Option<Read>;

    async fn success(&self, ctx: &Context, response: Response) -> Result<Option<Read>, Error> {
        let expiration = expiration_header(response.headers());
        let (_, value) = body(ctx, response).await?;
        Ok(Some(Read { value, expiration }))
    }

    fn missing(&self) -> Option<Option<Read>> {
        Some(None)
    }
}

/// A value's response, its body unread (for streaming); `None` for a missing key.
pub(crate) struct ValueResponse;

impl Reading for ValueResponse {
    type Output = Option<Response>;

    async fn success(&self, _: &Context, response: Response) -> Result<Option<Response>, Error> {
        Ok(Some(response))
    }

    fn missing(&self) -> Option<Option<Response>> {
        Some(None)
    }
}

/// A key's metadata: `Some(None)` when it has none, `None` for a missing key.
pub(crate) struct MetadataRead;

impl Reading for MetadataRead {
    type Output = Option<Option<Metadata>>;

    async fn success(
        &self,
        ctx: &Context,
        response: Response,
    ) -> Result<Option<Option<Metadata>>, Error> {
        let (status, body) = body(ctx, response).await?;
        Ok(Some(envelope::<Metadata>(ctx, status, &body)?.result))
    }

    fn missing(&self) -> Option<Option<Option<Metadata>>> {
        Some(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Operation;

    fn ctx() -> Context {
        Context::new(Operation::Put)
    }

    fn ack(body: &str) -> Result<(), Error> {
        acknowledged(&ctx(), 200, body.as_bytes())
    }

    #[test]
    fn an_ack_reads_success_and_errors_only() {
        assert!(ack(r#"{"success":true,"errors":[],"messages":[],"result":null}"#).is_ok());
        assert!(ack(r#"{"result":{"big":[1,2,3]},"messages":["m"],"success":true}"#).is_ok());
        let refused = ack(r#"{"success":false,"errors":[{"code":10001,"message":"no"}]}"#)
            .expect_err("success false");
        assert!(
            matches!(refused, Error::Api { status: 200, .. }),
            "{refused:?}"
        );
        assert_eq!(refused.codes(), vec![10001]);
        let cut = ack(r#"{"success":true,"errors":[],"messages":[],"result":{"unexpec"#)
            .expect_err("truncated");
        assert!(matches!(cut, Error::Decode { status: 200, .. }), "{cut:?}");
        assert!(matches!(ack("{}"), Err(Error::Decode { .. })));
    }
}
