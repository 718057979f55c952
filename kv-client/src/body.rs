//! [`Body`]: a value to write, and whether it can be sent again for another attempt.

use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use kv_types::{ValidationError, Value};
use serde::Serialize;

use crate::error::BoxError;

/// A stream of chunks as the client sends it.
pub(crate) type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send>>;

/// A slot holding a one-shot stream until an attempt starts sending it.
pub(crate) type StreamSlot = Arc<Mutex<Option<ByteStream>>>;

/// How much of a one-shot [`Body::stream`] a put reads before its first attempt so it can be
/// sent again: 1 MiB. A stream that ends within it is sent as bytes (and retried like bytes);
/// of a longer one, only this start is held, a quarter of the 4 MiB a streamed put may use.
pub const STREAM_REPLAY_BUFFER: usize = 1024 * 1024;

/// The value of a put: bytes, text, JSON, a one-shot stream, or a source that can make its
/// stream again (a file, a closure).
///
/// Whether it can be sent again decides what happens when an attempt fails: bytes, text, JSON,
/// files and [`replayable`](Self::replayable) sources are sent whole again. Of a one-shot
/// [`stream`](Self::stream), a put first reads up to [`STREAM_REPLAY_BUFFER`] (1 MiB): a stream
/// that ends within it is sent as bytes and retried like bytes; a longer one is sent as the
/// buffered start followed by the rest, and is retried as long as the failed attempt never read
/// past the buffer; after that the call fails with
/// [`Error::NotReplayable`](crate::Error::NotReplayable), never with a retry that would write a
/// partial or empty value.
///
/// Streams are sent chunk by chunk as they come, in bounded memory; one longer than 25 MiB is
/// cut off with a value-too-large error before the rest is sent.
///
/// ```
/// use bytes::Bytes;
/// use kv_client::Body;
///
/// assert!(Body::from("text").is_replayable());
/// assert_eq!(Body::from(vec![1u8, 2, 3]).known_len(), Some(3));
/// let json = Body::json(&serde_json::json!({"a": 1}));
/// assert_eq!(json.known_len(), Some(7));
/// let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from("a"))]);
/// assert!(Body::stream(chunks).is_replayable()); // until an attempt starts reading it
/// ```
pub struct Body {
    pub(crate) kind: Kind,
}

pub(crate) enum Kind {
    /// Bytes in memory.
    Bytes(Bytes),
    /// A value that could not be made (JSON serialization failed); reported before sending.
    Invalid(ValidationError),
    /// A one-shot stream: its start already read (`head`, sent again by every attempt), and the
    /// rest, until an attempt starts reading it.
    Stream { head: Vec<Bytes>, rest: StreamSlot },
    /// A file, opened again for each attempt.
    File(PathBuf),
    /// A closure that makes the stream again for each attempt.
    Replayable(Arc<dyn Fn() -> ByteStream + Send + Sync>),
}

fn boxed_stream<S, B, E>(stream: S) -> ByteStream
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: Into<Bytes> + 'static,
    E: Into<BoxError> + 'static,
{
    Box::pin(stream.map_ok(Into::into).map_err(Into::into))
}

impl Body {
    /// Bytes.
    pub fn bytes(bytes: impl Into<Bytes>) -> Body {
        Body {
            kind: Kind::Bytes(bytes.into()),
        }
    }

    /// The JSON text of any `Serialize` (stored as that text, as the edge API stores objects).
    /// A value that cannot be serialized makes the put fail with a validation error before
    /// anything is sent.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Body {
        match Value::json(value) {
            Ok(v) => Body::bytes(v.into_bytes()),
            Err(e) => Body {
                kind: Kind::Invalid(e),
            },
        }
    }

    /// A one-shot stream of chunks, sent as they come. Its first [`STREAM_REPLAY_BUFFER`] bytes
    /// are read ahead so that a short stream is retried like bytes; a longer one is retried only
    /// if the failed attempt never read past them.
    pub fn stream<S, B, E>(stream: S) -> Body
    where
        S: Stream<Item = Result<B, E>> + Send + 'static,
        B: Into<Bytes> + 'static,
        E: Into<BoxError> + 'static,
    {
        Body {
            kind: Kind::Stream {
                head: Vec::new(),
                rest: Arc::new(Mutex::new(Some(boxed_stream(stream)))),
            },
        }
    }

    /// The contents of a file, streamed; the file is opened again for each attempt, and its size
    /// is checked before anything is sent.
    pub fn file(path: impl Into<PathBuf>) -> Body {
        Body {
            kind: Kind::File(path.into()),
        }
    }

    /// A source that makes its stream again for each attempt, so the put is retried like a put
    /// of bytes.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use kv_client::Body;
    ///
    /// let body = Body::replayable(|| {
    ///     futures_util::stream::iter((0..3).map(|i| Ok::<_, std::io::Error>(Bytes::from(vec![i; 10]))))
    /// });
    /// assert!(body.is_replayable());
    /// ```
    pub fn replayable<F, S, B, E>(make: F) -> Body
    where
        F: Fn() -> S + Send + Sync + 'static,
        S: Stream<Item = Result<B, E>> + Send + 'static,
        B: Into<Bytes> + 'static,
        E: Into<BoxError> + 'static,
    {
        Body {
            kind: Kind::Replayable(Arc::new(move || boxed_stream(make()))),
        }
    }

    /// Whether the value can be sent (again): always, except a one-shot stream that an attempt
    /// has started to read.
    pub fn is_replayable(&self) -> bool {
        match &self.kind {
            Kind::Stream { rest, .. } => rest.lock().map(|s| s.is_some()).unwrap_or(false),
            _ => true,
        }
    }

    /// The length, when known without I/O (bytes, text, JSON).
    pub fn known_len(&self) -> Option<u64> {
        match &self.kind {
            Kind::Bytes(b) => Some(b.len() as u64),
            _ => None,
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Bytes(b) => f.debug_tuple("Body::Bytes").field(&b.len()).finish(),
            Kind::Invalid(e) => f.debug_tuple("Body::Invalid").field(e).finish(),
            Kind::Stream { .. } => f
                .debug_struct("Body::Stream")
                .field("replayable", &self.is_replayable())
                .finish(),
            Kind::File(p) => f.debug_tuple("Body::File").field(p).finish(),
            Kind::Replayable(_) => f.write_str("Body::Replayable"),
        }
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Body::bytes(b)
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Body::bytes(v)
    }
}

impl From<&[u8]> for Body {
    fn from(v: &[u8]) -> Self {
        Body::bytes(Bytes::copy_from_slice(v))
    }
}

impl<const N: usize> From<&[u8; N]> for Body {
    fn from(v: &[u8; N]) -> Self {
        Body::bytes(Bytes::copy_from_slice(v))
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Body::bytes(s)
    }
}

impl From<&String> for Body {
    fn from(s: &String) -> Self {
        Body::bytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<&str> for Body {
    fn from(s: &str) -> Self {
        Body::bytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<Value> for Body {
    fn from(v: Value) -> Self {
        Body::bytes(v.into_bytes())
    }
}
