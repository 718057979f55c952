//! [`PutBuilder`]: a write with its options, sent when awaited.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use http::Method;
use http::header::CONTENT_TYPE;
use kv_types::{Expiration, Metadata, PutOptions, ValidationError};
use reqwest::multipart::{Form, Part};
use serde::Serialize;
use serde::de::IgnoredAny;
use tracing::Instrument;

use crate::body::Body;
use crate::error::{Context, Error, Operation};
use crate::namespace::KvNamespace;
use crate::response::{envelope, transport};
use crate::retry::runner::{Failure, Step, run};
use crate::trace::op_span;
use crate::upload::{self, UploadFailure, Watch};

/// A boxed future of this crate.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

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
        let span = op_span(&ctx);
        self.send_in(ctx).instrument(span).await
    }

    async fn send_in(self, ctx: Context) -> Result<(), Error> {
        let PutBuilder {
            ns,
            key,
            body,
            options,
            metadata_error,
        } = self;
        let inner = ns.inner();
        let limits = inner.limits;
        let key = ns.key(&ctx, &key)?;
        if let Some(e) = metadata_error {
            return Err(Error::validation(&ctx, e));
        }
        options
            .check(&limits)
            .map_err(|e| Error::validation(&ctx, e))?;
        let mut url = ns.value_url(&key);
        match options.effective_expiration() {
            Some(Expiration::Ttl(ttl)) => {
                crate::endpoint::set_query(&mut url, &[("expiration_ttl", ttl.to_string())]);
            }
            Some(Expiration::At(at)) => {
                limits
                    .check_expiration(at, inner.now_epoch())
                    .map_err(|e| Error::validation(&ctx, e))?;
                crate::endpoint::set_query(&mut url, &[("expiration", at.to_string())]);
            }
            None => {}
        }
        upload::check(&body, &limits).await.map_err(|e| match e {
            Ok(rule) => Error::validation(&ctx, rule),
            Err(io) => Error::Body {
                ctx: ctx.boxed(),
                source: Box::new(io),
            },
        })?;
        let metadata = options.metadata.as_ref();
        run(
            inner,
            &ctx,
            || body.is_replayable(),
            |_| {
                let url = url.clone();
                let (ctx, body) = (&ctx, &body);
                async move {
                    let watch = Arc::new(Watch::default());
                    let prepared =
                        match upload::for_attempt(body, limits.max_value_bytes, &watch).await {
                            Ok(Some(p)) => p,
                            Ok(None) => {
                                return Step::Stop(Error::Body {
                                    ctx: ctx.boxed(),
                                    source: "the value stream was already consumed".into(),
                                });
                            }
                            Err(io) => {
                                return Step::Stop(Error::Body {
                                    ctx: ctx.boxed(),
                                    source: Box::new(io),
                                });
                            }
                        };
                    let request = inner.request(Method::PUT, url);
                    let request = match metadata {
                        None => request
                            .header(CONTENT_TYPE, "application/octet-stream")
                            .body(prepared.into_reqwest()),
                        Some(m) => {
                            let len = prepared.len();
                            let body = prepared.into_reqwest();
                            let part = match len {
                                Some(len) => Part::stream_with_length(body, len),
                                None => Part::stream(body),
                            };
                            let part = match part
                                .file_name("value")
                                .mime_str("application/octet-stream")
                            {
                                Ok(p) => p,
                                Err(e) => return transport(ctx, e),
                            };
                            let form = Form::new()
                                .text("metadata", m.as_json().to_owned())
                                .part("value", part);
                            request.multipart(form)
                        }
                    };
                    let sent = request.send().await;
                    if let Some(failure) = watch.take() {
                        return upload_failure(ctx, failure, limits.max_value_bytes);
                    }
                    match sent {
                        Err(e) => transport(ctx, e),
                        Ok(response) => match envelope::<IgnoredAny>(inner, ctx, response).await {
                            Step::Done(_) => Step::Done(()),
                            Step::Retry(f) => Step::Retry(f),
                            Step::Stop(e) => Step::Stop(e),
                        },
                    }
                }
            },
        )
        .await
    }
}

/// The step after our own side stopped the upload.
fn upload_failure(ctx: &Context, failure: UploadFailure, max: usize) -> Step<()> {
    match failure {
        UploadFailure::TooLarge(len) => Step::Stop(Error::validation(
            ctx,
            ValidationError::ValueTooLarge { len, max },
        )),
        UploadFailure::Source(source) => Step::Retry(Failure::new(Error::Body {
            ctx: ctx.boxed(),
            source,
        })),
    }
}

impl IntoFuture for PutBuilder {
    type Output = Result<(), Error>;
    type IntoFuture = BoxFuture<Result<(), Error>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
