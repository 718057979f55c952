//! [`Request`]: what an operation sends (method, URL, body), described once and built again for
//! each attempt. A value body is made for each attempt by [`upload`](crate::upload): files and
//! replayable sources are made again, a one-shot stream is taken from its slot.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderValue, Method};
use kv_types::Metadata;
use reqwest::multipart::{Form, Part};
use reqwest::{RequestBuilder, Url};

use crate::body::Body;
use crate::client::Inner;
use crate::error::{Context, Error};
use crate::upload::{self, Watch};

const JSON: HeaderValue = HeaderValue::from_static("application/json");
const OCTET_STREAM: HeaderValue = HeaderValue::from_static("application/octet-stream");

/// The body of a request.
pub(crate) enum Payload<'a> {
    /// No body.
    Empty,
    /// A JSON document, already encoded.
    Json(Bytes),
    /// A value: the raw body, or with metadata a `multipart/form-data` of `metadata` and `value`.
    Value {
        /// The value.
        body: &'a Body,
        /// The metadata stored with it.
        metadata: Option<&'a Metadata>,
        /// The most bytes a stream may yield before it is cut off.
        max: usize,
    },
}

/// One request of an operation, as [`execute`](crate::execute::execute) sends it.
pub(crate) struct Request<'a> {
    method: Method,
    url: Url,
    payload: Payload<'a>,
    accept_value: bool,
}

/// One attempt's request, and the watch of its upload when it sends a value.
pub(crate) struct Built {
    pub(crate) request: RequestBuilder,
    pub(crate) upload: Option<(Arc<Watch>, usize)>,
}

impl<'a> Request<'a> {
    /// A request without a body.
    pub(crate) fn new(method: Method, url: Url) -> Request<'a> {
        Request {
            method,
            url,
            payload: Payload::Empty,
            accept_value: false,
        }
    }

    /// A request with a JSON body.
    pub(crate) fn json(method: Method, url: Url, body: impl Into<Bytes>) -> Request<'a> {
        Request::new(method, url).payload(Payload::Json(body.into()))
    }

    /// Sets the body.
    pub(crate) fn payload(mut self, payload: Payload<'a>) -> Request<'a> {
        self.payload = payload;
        self
    }

    /// Asks for the raw value (`Accept: application/octet-stream`).
    pub(crate) fn accept_value(mut self) -> Request<'a> {
        self.accept_value = true;
        self
    }

    /// Whether the body can be sent (again): false once a one-shot stream has started.
    pub(crate) fn can_resend(&self) -> bool {
        match &self.payload {
            Payload::Value { body, .. } => body.is_replayable(),
            Payload::Empty | Payload::Json(_) => true,
        }
    }

    /// The request of one attempt. The auth and `User-Agent` headers are the HTTP client's
    /// defaults.
    pub(crate) async fn build(&self, inner: &Inner, ctx: &Context) -> Result<Built, Error> {
        let mut request = inner.http.request(self.method.clone(), self.url.clone());
        if self.accept_value {
            request = request.header(ACCEPT, OCTET_STREAM);
        }
        let (body, metadata, max) = match &self.payload {
            Payload::Empty => {
                return Ok(Built {
                    request,
                    upload: None,
                });
            }
            Payload::Json(bytes) => {
                return Ok(Built {
                    request: request.header(CONTENT_TYPE, JSON).body(bytes.clone()),
                    upload: None,
                });
            }
            Payload::Value {
                body,
                metadata,
                max,
            } => (*body, *metadata, *max),
        };
        let watch = Arc::new(Watch::default());
        let prepared = match upload::for_attempt(body, max, &watch).await {
            Ok(Some(p)) => p,
            Ok(None) => {
                return Err(Error::Body {
                    ctx: ctx.boxed(),
                    source: "the value stream was already consumed".into(),
                });
            }
            Err(io) => {
                return Err(Error::Body {
                    ctx: ctx.boxed(),
                    source: Box::new(io),
                });
            }
        };
        let request = match metadata {
            None => request
                .header(CONTENT_TYPE, OCTET_STREAM)
                .body(prepared.into_reqwest()),
            Some(m) => {
                let len = prepared.len();
                let body = prepared.into_reqwest();
                let part = match len {
                    Some(len) => Part::stream_with_length(body, len),
                    None => Part::stream(body),
                };
                let part = part
                    .file_name("value")
                    .mime_str("application/octet-stream")
                    .map_err(|source| Error::Transport {
                        ctx: ctx.boxed(),
                        source,
                    })?;
                let form = Form::new()
                    .text("metadata", m.as_json().to_owned())
                    .part("value", part);
                request.multipart(form)
            }
        };
        Ok(Built {
            request,
            upload: Some((watch, max)),
        })
    }
}
