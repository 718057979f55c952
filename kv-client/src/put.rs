//! [`PutBuilder`]: a write with its options, sent when awaited.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use http::Method;
use kv_types::{Expiration, Metadata, PutOptions, ValidationError};
use serde::Serialize;

use crate::body::{Body, STREAM_REPLAY_BUFFER};
use crate::error::{Context, Error, Operation};
use crate::execute::execute;
use crate::namespace::KvNamespace;
use crate::pacing;
use crate::reading::Ack;
use crate::request::{Payload, Request};
use crate::trace::{in_span, op_span};
use crate::upload;

/// A boxed future of this crate.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The future `make` returns, written straight into its box. `Box::pin(make())` builds the
/// future on the stack and then copies all of it into the box (twice, in the release build):
/// 3 KiB per put, most of it not yet initialised, and at concurrency 64 those copies were the
/// largest single source of L1 data-cache misses of a put.
pub(crate) fn boxed<F>(make: impl FnOnce() -> F) -> BoxFuture<F::Output>
where
    F: Future + Send + 'static,
{
    let slot: Box<std::mem::MaybeUninit<F>> = Box::new_uninit();
    let future: Box<F> = Box::write(slot, make());
    Box::into_pin(future)
}

/// A put being built: set options, then `.await` it. Made by [`KvNamespace::put`].
///
/// The options are the edge `put()`'s: `expiration` (epoch seconds), `expiration_ttl` (seconds,
/// wins when both are set) and `metadata`. Everything is validated before anything is sent: the
/// key, the TTL (at least 60), an absolute expiration (at least 60 s ahead by the client's clock),
/// the metadata (JSON of at most 1024 bytes) and the value's size when known (bytes, text, JSON, a
/// file). A stream's size is checked as it is sent.
///
/// Without metadata the value is sent as the raw body (`application/octet-stream`); with
/// metadata as `multipart/form-data` with a `metadata` text part and a `value` file part. Both
/// are retried the same way.
#[must_use = "a put does nothing until awaited"]
#[derive(Debug)]
pub struct PutBuilder {
    ns: KvNamespace,
    key: String,
    body: Body,
    options: PutOptions,
    metadata_error: Option<ValidationError>,
}

impl PutBuilder {
    pub(crate) fn new(ns: KvNamespace, key: String, body: Body) -> PutBuilder {
        PutBuilder {
            ns,
            key,
            body,
            options: PutOptions::new(),
            metadata_error: None,
        }
    }

    /// Expires the key at this time, in seconds since the epoch (at least 60 s ahead).
    pub fn expiration(mut self, epoch_secs: u64) -> Self {
        self.options.expiration = Some(epoch_secs);
        self
    }

    /// Expires the key this many seconds after the write (at least 60). Wins over
    /// [`expiration`](Self::expiration).
    pub fn expiration_ttl(mut self, secs: u64) -> Self {
        self.options.expiration_ttl = Some(secs);
        self
    }

    /// Stores `metadata` (any `Serialize`, at most 1024 bytes of JSON) with the value.
    pub fn metadata<T: Serialize + ?Sized>(mut self, metadata: &T) -> Self {
        let limits = self.ns.inner().limits;
        let made = serde_json::to_string(metadata)
            .map_err(|e| ValidationError::MetadataNotJson {
                reason: e.to_string(),
            })
            .and_then(|text| Metadata::from_json_with_limits(text, &limits));
        match made {
            Ok(m) => {
                self.options.metadata = Some(m);
                self.metadata_error = None;
            }
            Err(e) => self.metadata_error = Some(e),
        }
        self
    }

    /// Stores metadata already made.
    pub fn raw_metadata(mut self, metadata: Metadata) -> Self {
        self.options.metadata = Some(metadata);
        self.metadata_error = None;
        self
    }

    /// Replaces all options at once.
    pub fn options(mut self, options: PutOptions) -> Self {
        self.options = options;
        self.metadata_error = None;
        self
    }

    /// Sends the put; the same as awaiting the builder.
    pub async fn send(self) -> Result<(), Error> {
        let ctx = self.ns.ctx(Operation::Put).with_key(self.key.as_str());
        in_span(op_span(&ctx), self.send_in(&ctx)).await
    }

    async fn send_in(self, ctx: &Context) -> Result<(), Error> {
        let PutBuilder {
            ns,
            key,
            body,
            options,
            metadata_error,
        } = self;
        let inner = ns.inner();
        let limits = inner.limits;
        let key = ns.key(ctx, key)?;
        if let Some(e) = metadata_error {
            return Err(Error::validation(ctx, e));
        }
        options
            .check(&limits)
            .map_err(|e| Error::validation(ctx, e))?;
        let mut url = ns.value_url(&key);
        match options.effective_expiration() {
            Some(Expiration::Ttl(ttl)) => {
                crate::endpoint::set_query(&mut url, &[("expiration_ttl", ttl.to_string())]);
            }
            Some(Expiration::At(at)) => {
                limits
                    .check_expiration(at, inner.now_epoch())
                    .map_err(|e| Error::validation(ctx, e))?;
                crate::endpoint::set_query(&mut url, &[("expiration", at.to_string())]);
            }
            None => {}
        }
        upload::check(&body, &limits).await.map_err(|e| match e {
            Ok(rule) => Error::validation(ctx, rule),
            Err(io) => Error::Body {
                ctx: ctx.boxed(),
                source: Box::new(io),
            },
        })?;
        let max = limits.max_value_bytes;
        let metadata = options.metadata;
        if inner.pacer.is_none() {
            return send_put(&ns, ctx, url, body, metadata.as_ref(), max).await;
        }
        let (owner, carrier) = (ns.clone(), ctx.clone());
        let send: pacing::Send = Box::new(move || {
            boxed(move || async move {
                send_put(&owner, &carrier, url, body, metadata.as_ref(), max).await
            })
        });
        pacing::paced(ns.client(), ctx, send).await
    }
}

/// Sends one validated put. A one-shot stream's start is read ahead here, when the write goes
/// (so a stream superseded under write pacing is never read).
async fn send_put(
    ns: &KvNamespace,
    ctx: &Context,
    url: reqwest::Url,
    mut body: Body,
    metadata: Option<&Metadata>,
    max: usize,
) -> Result<(), Error> {
    upload::buffer_start(&mut body, STREAM_REPLAY_BUFFER)
        .await
        .map_err(|source| Error::Body {
            ctx: ctx.boxed(),
            source,
        })?;
    if let Some(len) = body.known_len() {
        // A short stream became bytes: checked as bytes are.
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        ns.inner()
            .limits
            .check_value_len(len)
            .map_err(|e| Error::validation(ctx, e))?;
    }
    let request = Request::new(Method::PUT, url).payload(Payload::Value {
        body: &body,
        metadata,
        max,
    });
    execute(ns.inner(), ctx, &request, &Ack).await
}

impl IntoFuture for PutBuilder {
    type Output = Result<(), Error>;
    type IntoFuture = BoxFuture<Result<(), Error>>;

    fn into_future(self) -> Self::IntoFuture {
        boxed(|| self.send())
    }
}

#[cfg(test)]
mod tests {
    use crate::Client;

    /// The futures of a put and a get stay small: every byte of them is copied when the future
    /// is boxed. (3264 and 2856 bytes today; a wrapper that held the future twice, as an
    /// `async fn` taking a future does, made them twice as large.)
    #[test]
    fn futures_stay_small() {
        let client = Client::builder()
            .base_url("http://127.0.0.1:9/client/v4")
            .account_id("acc")
            .api_token("t")
            .build()
            .expect("client");
        let kv = client.namespace("ns");
        let put = kv.put("k", "v").send();
        let get = kv.get("k").bytes();
        let (put, get) = (std::mem::size_of_val(&put), std::mem::size_of_val(&get));
        println!("put future {put} bytes, get future {get} bytes");
        assert!(put <= 4096, "put future of {put} bytes");
        assert!(get <= 4096, "get future of {get} bytes");
    }
}
