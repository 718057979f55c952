//! Sending a [`Body`] for one attempt: a fresh stream per attempt for replayable sources, the
//! one-shot stream taken from its slot only when the attempt starts reading it (and put back if
//! it read nothing), every stream counted and cut off past the value limit.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use kv_types::{Limits, ValidationError};
use tokio_util::io::ReaderStream;

use crate::body::{Body, ByteStream, Kind, StreamSlot};
use crate::error::BoxError;

/// Why an attempt's upload stopped on our side.
#[derive(Debug)]
pub(crate) enum UploadFailure {
    /// The stream went past the value limit; `len` bytes were seen.
    TooLarge(usize),
    /// The caller's stream (or the file) failed.
    Source(BoxError),
}

/// Where an attempt's stream reports why it stopped.
#[derive(Debug, Default)]
pub(crate) struct Watch(Mutex<Option<UploadFailure>>);

impl Watch {
    fn set(&self, failure: UploadFailure) {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slot.get_or_insert(failure);
    }

    /// The failure, if the stream stopped on our side.
    pub(crate) fn take(&self) -> Option<UploadFailure> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// The error handed to the HTTP stack when the upload is stopped on purpose; the real reason is
/// in the [`Watch`].
#[derive(Debug)]
struct Aborted;

impl fmt::Display for Aborted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("value upload aborted by the client")
    }
}

impl std::error::Error for Aborted {}

/// What can be checked before sending: a value that could not be made, the size of bytes and of
/// a file. Returns `Err(Ok(rule))` for a broken rule, `Err(Err(io))` when the file cannot be
/// read.
pub(crate) async fn check(
    body: &Body,
    limits: &Limits,
) -> Result<(), Result<ValidationError, std::io::Error>> {
    match &body.kind {
        Kind::Invalid(e) => Err(Ok(e.clone())),
        Kind::Bytes(b) => limits.check_value_len(b.len()).map_err(Ok),
        Kind::File(path) => {
            let meta = tokio::fs::metadata(path).await.map_err(Err)?;
            let len = usize::try_from(meta.len()).unwrap_or(usize::MAX);
            limits.check_value_len(len).map_err(Ok)
        }
        Kind::Stream { .. } | Kind::Replayable(_) => Ok(()),
    }
}

/// Reads the start of a one-shot stream, up to `bound` bytes (and the chunk that crosses it), so
/// that every attempt can send it again: a stream that ends within it becomes bytes; of a longer
/// one the start is kept as the stream's head and the rest stays in its slot. Other bodies, and
/// a stream already buffered, are left as they are. `Err` when the caller's stream failed.
pub(crate) async fn buffer_start(body: &mut Body, bound: usize) -> Result<(), BoxError> {
    let Kind::Stream { head, rest } = &mut body.kind else {
        return Ok(());
    };
    if !head.is_empty() {
        return Ok(());
    }
    let taken = rest.lock().unwrap_or_else(PoisonError::into_inner).take();
    let Some(mut stream) = taken else {
        return Ok(());
    };
    let mut seen = 0usize;
    while seen <= bound {
        match stream.next().await {
            Some(Ok(chunk)) => {
                seen = seen.saturating_add(chunk.len());
                head.push(chunk);
            }
            Some(Err(e)) => return Err(e),
            None => {
                let mut all = Vec::with_capacity(seen);
                for chunk in head.drain(..) {
                    all.extend_from_slice(&chunk);
                }
                body.kind = Kind::Bytes(Bytes::from(all));
                return Ok(());
            }
        }
    }
    tracing::debug!(
        buffered = seen,
        "value stream longer than the replay buffer"
    );
    *rest.lock().unwrap_or_else(PoisonError::into_inner) = Some(stream);
    Ok(())
}

/// The body of one attempt.
pub(crate) enum AttemptBody {
    /// Bytes in memory.
    Bytes(Bytes),
    /// A counted stream, and its length when known (a file's size).
    Stream(Limited, Option<u64>),
}

impl AttemptBody {
    /// The length, when known.
    pub(crate) fn len(&self) -> Option<u64> {
        match self {
            AttemptBody::Bytes(b) => Some(b.len() as u64),
            AttemptBody::Stream(_, len) => *len,
        }
    }

    /// The body for reqwest.
    pub(crate) fn into_reqwest(self) -> reqwest::Body {
        match self {
            AttemptBody::Bytes(b) => reqwest::Body::from(b),
            AttemptBody::Stream(s, _) => reqwest::Body::wrap_stream(s),
        }
    }
}

/// Makes the body of one attempt. `Ok(None)` when a one-shot stream was already consumed.
pub(crate) async fn for_attempt(
    body: &Body,
    max: usize,
    watch: &Arc<Watch>,
) -> Result<Option<AttemptBody>, std::io::Error> {
    let limited = |stream: Option<ByteStream>, slot: Option<StreamSlot>| Limited {
        head: VecDeque::new(),
        stream,
        slot,
        seen: 0,
        max,
        yielded: false,
        finished: false,
        watch: Arc::clone(watch),
    };
    let (stream, len) = match &body.kind {
        Kind::Bytes(b) => return Ok(Some(AttemptBody::Bytes(b.clone()))),
        Kind::Invalid(_) => return Ok(None),
        Kind::Stream { head, rest } => {
            if !body.is_replayable() {
                return Ok(None);
            }
            let mut stream = limited(None, Some(Arc::clone(rest)));
            stream.head = head.iter().cloned().collect();
            (stream, None)
        }
        Kind::File(path) => {
            let file = tokio::fs::File::open(path).await?;
            let len = file.metadata().await.ok().map(|m| m.len());
            let stream: ByteStream =
                Box::pin(ReaderStream::new(file).map(|r| r.map_err(BoxError::from)));
            (limited(Some(stream), None), len)
        }
        Kind::Replayable(make) => (limited(Some(make()), None), None),
    };
    Ok(Some(AttemptBody::Stream(stream, len)))
}

/// A stream that counts bytes, cuts off past `max`, records why it stopped in the watch, and
/// returns an unread one-shot stream to its slot when dropped. A one-shot stream's buffered
/// `head` is sent first, before the rest is taken from the slot.
pub(crate) struct Limited {
    head: VecDeque<Bytes>,
    stream: Option<ByteStream>,
    slot: Option<StreamSlot>,
    seen: usize,
    max: usize,
    /// Whether a chunk of `stream` (not of the head) was handed on: the stream cannot go back.
    yielded: bool,
    finished: bool,
    watch: Arc<Watch>,
}

impl Limited {
    fn fail(&mut self, failure: UploadFailure) -> Poll<Option<Result<Bytes, BoxError>>> {
        self.watch.set(failure);
        self.finished = true;
        self.yielded = true;
        self.stream = None;
        Poll::Ready(Some(Err(Box::new(Aborted))))
    }
}

impl Stream for Limited {
    type Item = Result<Bytes, BoxError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        if let Some(chunk) = this.head.pop_front() {
            this.seen = this.seen.saturating_add(chunk.len());
            if this.seen > this.max {
                let seen = this.seen;
                return this.fail(UploadFailure::TooLarge(seen));
            }
            return Poll::Ready(Some(Ok(chunk)));
        }
        if this.stream.is_none() {
            this.stream = this
                .slot
                .as_ref()
                .and_then(|slot| slot.lock().unwrap_or_else(PoisonError::into_inner).take());
        }
        let Some(stream) = this.stream.as_mut() else {
            let e: BoxError = "the value stream was already consumed by an earlier attempt".into();
            return this.fail(UploadFailure::Source(e));
        };
        match stream.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                this.finished = true;
                if !this.yielded {
                    // A rest that was already empty: what goes back to the slot (for another
                    // attempt, which sends the head again) must not be polled past its end.
                    this.stream = Some(Box::pin(futures_util::stream::empty()));
                }
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => this.fail(UploadFailure::Source(e)),
            Poll::Ready(Some(Ok(chunk))) => {
                this.seen = this.seen.saturating_add(chunk.len());
                if this.seen > this.max {
                    let seen = this.seen;
                    tracing::warn!(seen, max = this.max, "value stream too large; cut off");
                    return this.fail(UploadFailure::TooLarge(seen));
                }
                this.yielded = true;
                Poll::Ready(Some(Ok(chunk)))
            }
        }
    }
}

impl Drop for Limited {
    fn drop(&mut self) {
        if self.yielded {
            return;
        }
        if let (Some(stream), Some(slot)) = (self.stream.take(), self.slot.as_ref()) {
            let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
            if slot.is_none() {
                *slot = Some(stream);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    fn chunks(n: usize, size: usize) -> Body {
        Body::stream(stream::iter(
            (0..n).map(move |_| Ok::<_, std::io::Error>(Bytes::from(vec![7u8; size]))),
        ))
    }

    async fn drain(body: &Body, max: usize) -> (usize, Option<UploadFailure>) {
        let watch = Arc::new(Watch::default());
        let prepared = for_attempt(body, max, &watch)
            .await
            .expect("no io")
            .expect("not consumed");
        let AttemptBody::Stream(mut s, _) = prepared else {
            panic!("a stream body");
        };
        let mut total = 0;
        while let Some(item) = s.next().await {
            match item {
                Ok(b) => total += b.len(),
                Err(_) => break,
            }
        }
        (total, watch.take())
    }

    #[tokio::test]
    async fn cut_off_past_the_limit_before_sending_the_rest() {
        let body = chunks(10, 100);
        let (sent, failure) = drain(&body, 450).await;
        assert_eq!(sent, 400);
        assert!(matches!(failure, Some(UploadFailure::TooLarge(500))));
        assert!(!body.is_replayable());
    }

    #[tokio::test]
    async fn exactly_at_the_limit_passes() {
        let body = chunks(4, 100);
        let (sent, failure) = drain(&body, 400).await;
        assert_eq!(sent, 400);
        assert!(failure.is_none());
    }

    #[tokio::test]
    async fn unread_stream_goes_back_to_its_slot() {
        let body = chunks(2, 10);
        let watch = Arc::new(Watch::default());
        let prepared = for_attempt(&body, 100, &watch).await.expect("ok");
        assert!(prepared.is_some());
        drop(prepared);
        assert!(body.is_replayable());
        let (sent, _) = drain(&body, 100).await;
        assert_eq!(sent, 20);
        assert!(!body.is_replayable());
        let again = for_attempt(&body, 100, &watch).await.expect("ok");
        assert!(again.is_none());
    }

    #[tokio::test]
    async fn source_errors_are_recorded() {
        let body = Body::stream(stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Err(std::io::Error::other("disk on fire")),
        ]));
        let (sent, failure) = drain(&body, 100).await;
        assert_eq!(sent, 3);
        match failure {
            Some(UploadFailure::Source(e)) => assert_eq!(e.to_string(), "disk on fire"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn replayable_sources_restart() {
        let body = Body::replayable(|| stream::iter([Ok::<_, std::io::Error>(Bytes::from("xy"))]));
        assert_eq!(drain(&body, 10).await.0, 2);
        assert_eq!(drain(&body, 10).await.0, 2);
        assert!(body.is_replayable());
    }
}
