//! [`GetRequest`]: reading one value as bytes, text, JSON or a stream.

use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::Method;
use kv_types::Key;
use serde::de::DeserializeOwned;

use crate::error::{Context, Error, Operation};
use crate::execute::execute;
use crate::namespace::KvNamespace;
use crate::put::BoxFuture;
use crate::reading::{Read, ValueRead, ValueResponse, expiration_header};
use crate::request::Request;
use crate::trace::{in_span, op_span};

/// A read of one value, made by [`KvNamespace::get`]. Pick the form; a missing (or expired) key
/// is `Ok(None)`. Awaiting it directly gives the bytes.
#[must_use = "a get does nothing until awaited"]
#[derive(Debug, Clone)]
pub struct GetRequest {
    ns: KvNamespace,
    key: String,
}

impl GetRequest {
    pub(crate) fn new(ns: KvNamespace, key: String) -> GetRequest {
        GetRequest { ns, key }
    }

    fn ctx(&self) -> Context {
        self.ns.ctx(Operation::Get).with_key(self.key.as_str())
    }

    /// Validates the key (moving it), then reads the value.
    async fn read(self, ctx: &Context) -> Result<Option<Read>, Error> {
        let key = self.ns.key(ctx, self.key)?;
        self.ns.read(ctx, &key).await
    }

    /// The value's bytes.
    pub async fn bytes(self) -> Result<Option<Bytes>, Error> {
        let ctx = self.ctx();
        in_span(op_span(&ctx), async {
            Ok(self.read(&ctx).await?.map(|r| r.value))
        })
        .await
    }

    /// The value as UTF-8 text; a decode error if it is not UTF-8.
    pub async fn text(self) -> Result<Option<String>, Error> {
        let ctx = self.ctx();
        in_span(op_span(&ctx), async {
            match self.read(&ctx).await? {
                None => Ok(None),
                Some(r) => String::from_utf8(r.value.into())
                    .map(Some)
                    .map_err(|e| Error::decode(&ctx, 200, format!("the value is not UTF-8: {e}"))),
            }
        })
        .await
    }

    /// The value parsed as JSON into `T`; a decode error if it does not parse.
    pub async fn json<T: DeserializeOwned>(self) -> Result<Option<T>, Error> {
        let ctx = self.ctx();
        in_span(op_span(&ctx), async {
            match self.read(&ctx).await? {
                None => Ok(None),
                Some(r) => serde_json::from_slice(&r.value).map(Some).map_err(|e| {
                    Error::decode(
                        &ctx,
                        200,
                        format!("the value is not the JSON expected: {e}"),
                    )
                }),
            }
        })
        .await
    }

    /// The value as a stream of chunks, read as they arrive. Retries cover the request up to the
    /// response headers; an error while reading the stream ends it with that error.
    pub async fn stream(self) -> Result<Option<ValueStream>, Error> {
        let ctx = self.ctx();
        in_span(op_span(&ctx), async {
            let key = self.ns.key(&ctx, self.key)?;
            let request = Request::new(Method::GET, self.ns.value_url(&key)).accept_value();
            let response = execute(self.ns.inner(), &ctx, &request, &ValueResponse).await?;
            Ok(response.map(|response| ValueStream {
                expiration: expiration_header(response.headers()),
                len: response.content_length(),
                inner: Box::pin(response.bytes_stream()),
                ctx,
            }))
        })
        .await
    }
}

impl IntoFuture for GetRequest {
    type Output = Result<Option<Bytes>, Error>;
    type IntoFuture = BoxFuture<Result<Option<Bytes>, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        crate::put::boxed(|| self.bytes())
    }
}

impl KvNamespace {
    /// Reads a value and its `expiration` header, with retries, under the caller's span.
    pub(crate) async fn read(&self, ctx: &Context, key: &Key) -> Result<Option<Read>, Error> {
        let request = Request::new(Method::GET, self.value_url(key)).accept_value();
        execute(self.inner(), ctx, &request, &ValueRead).await
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
