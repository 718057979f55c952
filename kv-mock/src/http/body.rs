//! Request bodies, streamed and refused at their limit: raw bytes, `multipart/form-data` value
//! uploads, and JSON bodies.
//!
//! A body over its limit is refused (413), and the rest of it is read and thrown away first, so
//! that a client that sends its whole body before it reads (Python's `urllib`, most SDKs) gets
//! the answer instead of a broken pipe. That drain is bounded: at most [`DRAIN_EXTRA_BYTES`] past
//! the limit and [`DRAIN_TIME`]. A body longer than that (announced by `Content-Length` or found
//! while draining) is answered at once with `Connection: close`, and the connection is closed
//! after the answer.

use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::HeaderMap;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use kv_types::{Limits, Metadata, ValidationError};
use serde::de::DeserializeOwned;

use super::errors::ApiError;

/// The most an oversize body is read past its limit (and thrown away) before it is answered.
pub(crate) const DRAIN_EXTRA_BYTES: usize = 8 * 1024 * 1024;
/// The longest an oversize body is read (and thrown away) before it is answered.
pub(crate) const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Slack allowed in a multipart body on top of the value and metadata limits (boundaries, part
/// headers, small extra fields).
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The `Content-Length` of a request, when given and valid.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A body that could not be read to its end (the client went away or sent garbage): nothing is
/// stored.
fn cut_off(e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_body(format!("The request body could not be read: {e}."))
}

/// The refusal of an oversize body, after the drain: `Connection: close` when the body was not
/// read to its end (longer than the bound, or too slow).
fn refused(mut err: ApiError, drained: bool) -> ApiError {
    err.close = !drained;
    err
}

/// Whether a body of `len` bytes over the limit `max` is within the drain bound.
fn drainable(len: usize, max: usize) -> bool {
    len <= max.saturating_add(DRAIN_EXTRA_BYTES)
}

/// Reads and throws away what is left of `stream`, while `seen` (the body bytes so far) stays
/// within the drain bound for `max`, for at most [`DRAIN_TIME`]. Returns whether the body
/// ended.
async fn drain<S, E>(stream: &mut S, mut seen: usize, max: usize) -> bool
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
{
    let rest = async {
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else { return false };
            seen = seen.saturating_add(chunk.len());
            if !drainable(seen, max) {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(DRAIN_TIME, rest)
        .await
        .unwrap_or(false)
}

/// Reads the whole body, refusing it with `too_large(len)` as soon as it exceeds `max` bytes (at
/// once when `Content-Length` says so), so never more than `max` bytes are held. The rest of a
/// refused body is drained within the bound (see the module's documentation).
pub(crate) async fn read_limited<E: Into<ApiError>>(
    body: Body,
    headers: &HeaderMap,
    max: usize,
    too_large: impl Fn(usize) -> E,
) -> Result<Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    if let Some(len) = content_length(headers)
        && len > max
    {
        let drained = drainable(len, max) && drain(&mut stream, 0, max).await;
        return Err(refused(too_large(len).into(), drained));
    }
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(cut_off)?;
        let len = buf.len().saturating_add(chunk.len());
        if len > max {
            drop(buf);
            let drained = drain(&mut stream, len, max).await;
            return Err(refused(too_large(len).into(), drained));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Reads a JSON body of at most `max` bytes into `T`; `what` names the expected shape in the
/// error message.
pub(crate) async fn read_json<T: DeserializeOwned, E: Into<ApiError>>(
    body: Body,
    headers: &HeaderMap,
    max: usize,
    too_large: impl Fn(usize) -> E,
    what: &str,
) -> Result<T, ApiError> {
    let bytes = read_limited(body, headers, max, too_large).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_body(format!("The request body must be {what}: {e}.")))
}

/// A value upload: the bytes, and the metadata when a multipart body carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValueUpload {
    pub(crate) value: Bytes,
    pub(crate) metadata: Option<Metadata>,
}

/// The multipart boundary, when the request is `multipart/form-data`.
fn multipart_boundary(headers: &HeaderMap) -> Option<Result<String, ApiError>> {
    let ct = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let is_multipart = ct
        .split(';')
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("multipart/form-data"));
    if !is_multipart {
        return None;
    }
    Some(multer::parse_boundary(ct).map_err(bad_multipart))
}

fn bad_multipart(e: multer::Error) -> ApiError {
    ApiError::bad_body(format!("The multipart body could not be read: {e}."))
}

/// Reads the body of a value write: raw bytes of any content type, or `multipart/form-data` with
/// a `value` part (text field or file part) and an optional `metadata` part (JSON text, as a
/// text field or an `application/json` part). Other parts are read and ignored.
pub(crate) async fn read_value_upload(
    body: Body,
    headers: &HeaderMap,
    limits: &Limits,
) -> Result<ValueUpload, ApiError> {
    let max_value = limits.max_value_bytes;
    match multipart_boundary(headers) {
        None => {
            let value = read_limited(body, headers, max_value, |len| {
                ValidationError::ValueTooLarge {
                    len,
                    max: max_value,
                }
            })
            .await?;
            Ok(ValueUpload {
                value,
                metadata: None,
            })
        }
        Some(boundary) => read_multipart(body, headers, &boundary?, limits).await,
    }
}

async fn read_multipart(
    body: Body,
    headers: &HeaderMap,
    boundary: &str,
    limits: &Limits,
) -> Result<ValueUpload, ApiError> {
    let max_value = limits.max_value_bytes;
    let max_meta = limits.max_metadata_bytes;
    let max_body = max_value
        .saturating_add(max_meta)
        .saturating_add(MULTIPART_OVERHEAD);
    let too_large = |len| ValidationError::ValueTooLarge {
        len,
        max: max_value,
    };
    let mut stream = body.into_data_stream();
    if let Some(len) = content_length(headers)
        && len > max_body
    {
        let drained = drainable(len, max_body) && drain(&mut stream, 0, max_body).await;
        return Err(refused(too_large(len).into(), drained));
    }
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut value: Option<Bytes> = None;
    let mut metadata: Option<Metadata> = None;
    // Bytes of every part read so far, to bound what extra parts may cost.
    let mut total = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(bad_multipart)? {
        let name = field.name().unwrap_or("").to_owned();
        // The metadata part is kept whole (the body's bound holds it): the engine checks its
        // size, so the answer names its full length.
        let cap = match name.as_str() {
            "value" => max_value,
            "metadata" => max_body,
            _ => 0,
        };
        let mut kept = BytesMut::new();
        let mut seen = 0usize;
        while let Some(chunk) = field.chunk().await.map_err(bad_multipart)? {
            seen = seen.saturating_add(chunk.len());
            total = total.saturating_add(chunk.len());
            if name == "value" && seen > max_value || total > max_body {
                let len = if total > max_body { total } else { seen };
                let drained = drain_multipart(&mut multipart, field, total, max_body).await;
                return Err(refused(too_large(len).into(), drained));
            }
            if seen <= cap {
                kept.extend_from_slice(&chunk);
            }
        }
        match name.as_str() {
            "value" if value.is_some() => {
                return Err(ApiError::bad_body(
                    "The multipart body has more than one `value` part.",
                ));
            }
            "value" => value = Some(kept.freeze()),
            "metadata" => {
                let text = String::from_utf8(kept.to_vec()).map_err(|_| {
                    ValidationError::MetadataNotJson {
                        reason: "the metadata part is not UTF-8 text".into(),
                    }
                })?;
                metadata = Some(Metadata::from_json_any_size(text)?);
            }
            _ => {}
        }
    }
    let value =
        value.ok_or_else(|| ApiError::bad_body("The multipart body has no `value` part."))?;
    Ok(ValueUpload { value, metadata })
}

/// [`drain`] for a multipart body: the rest of the current field, then of every later one.
async fn drain_multipart(
    multipart: &mut multer::Multipart<'static>,
    mut field: multer::Field<'static>,
    mut seen: usize,
    max: usize,
) -> bool {
    let rest = async {
        loop {
            while let Some(chunk) = field.chunk().await? {
                seen = seen.saturating_add(chunk.len());
                if !drainable(seen, max) {
                    return Ok::<bool, multer::Error>(false);
                }
            }
            match multipart.next_field().await? {
                Some(next) => field = next,
                None => return Ok(true),
            }
        }
    };
    matches!(tokio::time::timeout(DRAIN_TIME, rest).await, Ok(Ok(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (HeaderMap, Body) {
        let boundary = "XyZ";
        let mut body = Vec::new();
        for (name, ct, data) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match ct {
                Some(ct) => body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"upload\"\r\nContent-Type: {ct}\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}")
                .parse()
                .expect("header"),
        );
        (headers, Body::from(body))
    }

    #[tokio::test]
    async fn raw_body_within_and_over_the_limit() {
        let limits = Limits {
            max_value_bytes: 4,
            ..Limits::PRODUCTION
        };
        let up = read_value_upload(Body::from("abcd"), &HeaderMap::new(), &limits)
            .await
            .expect("at the limit");
        assert_eq!(up.value, "abcd");
        let err = read_value_upload(Body::from("abcde"), &HeaderMap::new(), &limits)
            .await
            .expect_err("over");
        assert_eq!(err.status, 413);
        assert_eq!(err.message, "Value length of 5 exceeds limit of 4.");
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, "100".parse().expect("header"));
        let err = read_value_upload(Body::empty(), &headers, &limits)
            .await
            .expect_err("content-length over");
        assert_eq!(err.message, "Value length of 100 exceeds limit of 4.");
    }

    #[tokio::test]
    async fn multipart_forms_of_real_clients() {
        let limits = Limits::PRODUCTION;
        // TypeScript SDK: plain fields.
        let (h, b) = multipart(&[("value", None, b"v1"), ("metadata", None, br#"{"a":1}"#)]);
        let up = read_value_upload(b, &h, &limits).await.expect("ts form");
        assert_eq!(up.value, "v1");
        assert_eq!(
            up.metadata.map(|m| m.as_json().to_owned()).as_deref(),
            Some(r#"{"a":1}"#)
        );
        // Python SDK: a file part and an application/json part.
        let (h, b) = multipart(&[
            ("value", Some("application/octet-stream"), &[0, 159, 255]),
            ("metadata", Some("application/json"), b"[1,2]"),
        ]);
        let up = read_value_upload(b, &h, &limits).await.expect("py form");
        assert_eq!(&up.value[..], &[0, 159, 255]);
        assert_eq!(
            up.metadata.map(|m| m.as_json().to_owned()).as_deref(),
            Some("[1,2]")
        );
        // Extra fields are ignored; no metadata is fine.
        let (h, b) = multipart(&[("metadata[a]", None, b"1"), ("value", None, b"")]);
        let up = read_value_upload(b, &h, &limits).await.expect("extra");
        assert_eq!((up.value.len(), up.metadata), (0, None));
    }

    #[tokio::test]
    async fn multipart_failures() {
        let limits = Limits {
            max_value_bytes: 4,
            max_metadata_bytes: 8,
            ..Limits::PRODUCTION
        };
        let (h, b) = multipart(&[("metadata", None, b"{}")]);
        let err = read_value_upload(b, &h, &limits)
            .await
            .expect_err("no value");
        assert_eq!(
            (err.status.as_u16(), err.code),
            (400, kv_types::codes::INVALID_REQUEST_BODY)
        );
        let (h, b) = multipart(&[("value", None, b"12345")]);
        let err = read_value_upload(b, &h, &limits)
            .await
            .expect_err("big value");
        assert_eq!(err.status, 413);
        // Metadata over its limit is read whole; the engine refuses it.
        let (h, b) = multipart(&[("value", None, b"1"), ("metadata", None, b"\"1234567\"")]);
        let up = read_value_upload(b, &h, &limits)
            .await
            .expect("big metadata is the engine's to refuse");
        assert_eq!(up.metadata.map(|m| m.len()), Some(9));
        let (h, b) = multipart(&[("value", None, b"1"), ("metadata", None, b"{nope")]);
        let err = read_value_upload(b, &h, &limits)
            .await
            .expect_err("bad metadata");
        assert_eq!(
            (err.status.as_u16(), err.code),
            (400, kv_types::codes::INVALID_METADATA)
        );
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            "multipart/form-data; boundary=B".parse().expect("header"),
        );
        let err = read_value_upload(
            Body::from("--B\r\nContent-Disposition: form-data; name=\"value\"\r\n\r\nabc"),
            &h,
            &limits,
        )
        .await
        .expect_err("cut off");
        assert_eq!(err.status, 400);
        h.insert(CONTENT_TYPE, "multipart/form-data".parse().expect("header"));
        let err = read_value_upload(Body::from("x"), &h, &limits)
            .await
            .expect_err("no boundary");
        assert_eq!(err.status, 400);
    }
}
