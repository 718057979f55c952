//! [`GetRequest`]: reading one value as bytes, text, JSON or a stream.

use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::header::ACCEPT;
use http::{HeaderMap, Method, StatusCode};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::error::{Context, Error, Operation};
use crate::namespace::{KvNamespace, not_found_or_none};
use crate::put::BoxFuture;
use crate::response::{failure, transport};
use crate::retry::runner::{Step, run};
use crate::trace::op_span;

/// A read of one value, made by [`KvNamespace::get`]. Pick the form; a missing (or expired) key
/// is `Ok(None)`. Awaiting it directly gives the bytes.
#[must_use = "a get does nothing until awaited"]
#[derive(Debug, Clone)]
pub struct GetRequest {
    ns: KvNamespace,
    key: String,
}

/// A value read with its expiration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Read {
    pub(crate) value: Bytes,
    pub(crate) expiration: Option<u64>,
}

/// The `expiration` header of a value read, in epoch seconds.
fn expiration_header(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("expiration")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

impl GetRequest {
    pub(crate) fn new(ns: KvNamespace, key: String) -> GetRequest {
        GetRequest { ns, key }
    }

    fn ctx(&self) -> Context {
        self.ns.ctx(Operation::Get).with_key(self.key.as_str())
    }

    /// The value's bytes.
    pub async fn bytes(self) -> Result<Option<Bytes>, Error> {
        let ctx = self.ctx();
        let span = op_span(&ctx);
        async { Ok(self.ns.read(&ctx).await?.map(|r| r.value)) }
            .instrument(span)
            .await
    }

    /// The value as UTF-8 text; a decode error if it is not UTF-8.
    pub async fn text(self) -> Result<Option<String>, Error> {
        let ctx = self.ctx();
        let span = op_span(&ctx);
        async {
            match self.ns.read(&ctx).await? {
                None => Ok(None),
                Some(r) => String::from_utf8(r.value.into())
                    .map(Some)
                    .map_err(|e| Error::decode(&ctx, 200, format!("the value is not UTF-8: {e}"))),
            }
        }
        .instrument(span)
        .await
    }

    /// The value parsed as JSON into `T`; a decode error if it does not parse.
    pub async fn json<T: DeserializeOwned>(self) -> Result<Option<T>, Error> {
        let ctx = self.ctx();
        let span = op_span(&ctx);
        async {
            match self.ns.read(&ctx).await? {
                None => Ok(None),
                Some(r) => serde_json::from_slice(&r.value).map(Some).map_err(|e| {
                    Error::decode(
                        &ctx,
                        200,
                        format!("the value is not the JSON expected: {e}"),
                    )
                }),
            }
        }
        .instrument(span)
        .await
    }

    /// The value as a stream of chunks, read as they arrive. Retries cover the request up to the
    /// response headers; an error while reading the stream ends it with that error.
    pub async fn stream(self) -> Result<Option<ValueStream>, Error> {
        let ctx = self.ctx();
        let span = op_span(&ctx);
        async {
            let key = self.ns.key(&ctx, &self.key)?;
            let inner = self.ns.inner();
            let url = self.ns.value_url(&key);
            let response = run(
                inner,
                &ctx,
                || true,
                |_| {
                    let request = inner
                        .request(Method::GET, url.clone())
                        .header(ACCEPT, "application/octet-stream");
                    let ctx = &ctx;
                    async move {
                        let response = match request.send().await {
                            Ok(r) => r,
                            Err(e) => return transport(ctx, e),
                        };
                        if response.status() == StatusCode::NOT_FOUND {
                            return not_found_or_none(ctx, response).await;
                        }
                        if !response.status().is_success() {
                            return failure(inner, ctx, response).await;
                        }
                        Step::Done(Some(response))
                    }
                },
            )
            .await?;
            Ok(response.map(|response| ValueStream {
                expiration: expiration_header(response.headers()),
                len: response.content_length(),
                inner: Box::pin(response.bytes_stream()),
                ctx,
            }))
        }
        .instrument(span)
        .await
    }
}

impl IntoFuture for GetRequest {
    type Output = Result<Option<Bytes>, Error>;
    type IntoFuture = BoxFuture<Result<Option<Bytes>, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.bytes())
    }
}

impl KvNamespace {
    /// Reads a value and its `expiration` header, with retries, under the caller's span.
    pub(crate) async fn read(&self, ctx: &Context) -> Result<Option<Read>, Error> {
        let key = self.key(ctx, ctx.key().unwrap_or_default())?;
        let inner = self.inner();
        let url = self.value_url(&key);
        run(
            inner,
            ctx,
            || true,
            |_| {
                let request = inner
                    .request(Method::GET, url.clone())
                    .header(ACCEPT, "application/octet-stream");
                async move {
                    let response = match request.send().await {
                        Ok(r) => r,
                        Err(e) => return transport(ctx, e),
                    };
                    if response.status() == StatusCode::NOT_FOUND {
                        return not_found_or_none(ctx, response).await;
                    }
                    if !response.status().is_success() {
                        return failure(inner, ctx, response).await;
                    }
                    let expiration = expiration_header(response.headers());
                    match response.bytes().await {
                        Ok(value) => Step::Done(Some(Read { value, expiration })),
                        Err(e) => transport(ctx, e),
                    }
                }
            },
        )
        .await
    }
}

/// A value being read as a stream of chunks. Each item is a chunk, or the error that ended the
/// read (a [`Error::Transport`] naming the key).
pub struct ValueStream {
    inner: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    ctx: Context,
    expiration: Option<u64>,
    len: Option<u64>,
}

impl ValueStream {
    /// When the key expires, in epoch seconds, if it does.
    pub fn expiration(&self) -> Option<u64> {
        self.expiration
    }

    /// The length of the value, when the response said it.
    pub fn content_length(&self) -> Option<u64> {
        self.len
    }
}

impl std::fmt::Debug for ValueStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueStream")
            .field("ctx", &self.ctx)
            .field("expiration", &self.expiration)
            .field("content_length", &self.len)
            .finish_non_exhaustive()
    }
}

impl Stream for ValueStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match this.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Err(source))) => Poll::Ready(Some(Err(Error::Transport {
                ctx: this.ctx.boxed(),
                source,
            }))),
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(chunk))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
