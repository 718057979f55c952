//! [`GuardedStream`]: checks every request head on a connection before hyper sees it, so a
//! request hyper could not parse gets an envelope (400, 414 or 431, code
//! [`codes::MALFORMED_REQUEST`]) instead of hyper's bare answer with an empty body.
//!
//! The check repeats hyper's own (the same `httparse` settings and the checks hyper makes after
//! it: method, target, `Content-Length`, `Transfer-Encoding`, the head and target sizes), and it
//! follows the body framing (a length or chunks) to find where the next head starts, so
//! pipelined and keep-alive requests are checked too. Whatever it cannot follow (an upgrade, a
//! chunked body it does not understand, the HTTP/2 preface, a connection cut mid-head) it hands
//! to hyper untouched from then on, as if it were not there.
//!
//! A rejected head is never given to hyper: reads stop, [`GuardedStream::rejected`] fires, the
//! connection is shut down gracefully (answers to earlier pipelined requests are finished), and
//! the envelope is written just before the socket is closed.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BytesMut};
use http::StatusCode;
use kv_types::{Envelope, codes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// The longest head hyper reads before answering 431 (its default `max_buf_size`).
pub(crate) const MAX_HEAD_BYTES: usize = 8192 + 4096 * 100;
/// Most headers hyper accepts (more is 431).
pub(crate) const MAX_HEADERS: usize = 100;
/// The longest request target hyper accepts (longer is 414).
pub(crate) const MAX_TARGET_BYTES: usize = u16::MAX as usize - 1;
/// How much is read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// Where the stream is in the request it is reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// The next bytes are a request head.
    Head,
    /// This many bytes of a body are still to come.
    Body(u64),
    /// Inside a chunked body.
    Chunked(Chunk),
    /// No longer checked: everything goes to hyper as it comes.
    PassThrough,
    /// A head was refused: nothing more goes to hyper.
    Rejected,
}

/// Where a chunked body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading the hex size (`digits` so far).
    Size { size: u64, digits: u32 },
    /// Whitespace after the size.
    SizeSpace { size: u64 },
    /// A `;` extension, up to the CR.
    Extension { size: u64 },
    /// The LF after the size line.
    SizeLf { size: u64 },
    /// This many data bytes still to come.
    Data(u64),
    /// The CR after the data.
    DataCr,
    /// The LF after the data.
    DataLf,
    /// At the start of a trailer line (or of the final empty line).
    TrailerStart,
    /// Inside a trailer line.
    TrailerLine,
    /// The LF ending a trailer line.
    TrailerLf,
    /// The LF of the final empty line.
    EndLf,
}

/// What the check of the bytes at a head boundary found.
#[derive(Debug, PartialEq, Eq)]
enum HeadCheck {
    /// Not a whole head yet.
    Partial,
    /// A head of `len` bytes hyper will accept, and the framing of what follows it.
    Complete { len: usize, then: Framing },
    /// Not for this check (the HTTP/2 preface): hand everything to hyper.
    PassThrough,
    /// A head hyper would refuse.
    Reject { status: StatusCode, message: String },
}

fn reject(status: StatusCode, message: impl Into<String>) -> HeadCheck {
    HeadCheck::Reject {
        status,
        message: message.into(),
    }
}

/// Checks the bytes at a head boundary as hyper's HTTP/1 server would parse them.
fn check_head(bytes: &[u8]) -> HeadCheck {
    const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0";
    if bytes.starts_with(H2_PREFACE) {
        return HeadCheck::PassThrough;
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if bytes.len() >= MAX_HEAD_BYTES => {
            return reject(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                format!("The request head is larger than {MAX_HEAD_BYTES} bytes."),
            );
        }
        Ok(httparse::Status::Partial) => return HeadCheck::Partial,
        Err(httparse::Error::TooManyHeaders) => {
            return reject(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                format!("The request has more than {MAX_HEADERS} headers."),
            );
        }
        Err(e) => {
            return reject(
                StatusCode::BAD_REQUEST,
                format!("The request is not valid HTTP/1.1: {e}."),
            );
        }
    };
    let target = request.path.unwrap_or("");
    if target.len() > MAX_TARGET_BYTES {
        return reject(
            StatusCode::URI_TOO_LONG,
            format!("The request target is longer than {MAX_TARGET_BYTES} bytes."),
        );
    }
    let method = request.method.unwrap_or("");
    if http::Method::from_bytes(method.as_bytes()).is_err() {
        return reject(StatusCode::BAD_REQUEST, "The request method is not valid.");
    }
    if http::Uri::try_from(target).is_err() {
        return reject(
            StatusCode::BAD_REQUEST,
            "The request target is not a valid URI.",
        );
    }
    let http11 = request.version == Some(1);
    // Body framing, as hyper decides it (RFC 9112 §6.3).
    let mut transfer_encoding = false;
    let mut chunked = false;
    let mut content_length: Option<u64> = None;
    let mut upgrade = method == "CONNECT";
    for header in request.headers.iter() {
        if header.name.len() >= 1 << 16 {
            return reject(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "A header name is longer than 64 KiB.",
            );
        }
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            if !http11 {
                return reject(
                    StatusCode::BAD_REQUEST,
                    "HTTP/1.0 requests cannot have Transfer-Encoding.",
                );
            }
            transfer_encoding = true;
            content_length = None;
            chunked = std::str::from_utf8(header.value).is_ok_and(|v| {
                v.rsplit(',')
                    .next()
                    .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
            });
        } else if header.name.eq_ignore_ascii_case("content-length") {
            if transfer_encoding {
                continue;
            }
            let Some(len) = digits(header.value) else {
                return reject(StatusCode::BAD_REQUEST, "The Content-Length is not valid.");
            };
            if content_length.is_some_and(|prev| prev != len) {
                return reject(
                    StatusCode::BAD_REQUEST,
                    "The request has Content-Length headers that disagree.",
                );
            }
            if len > u64::MAX - 2 {
                return reject(
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "The Content-Length is too large.",
                );
            }
            content_length = Some(len);
        } else if header.name.eq_ignore_ascii_case("upgrade") && http11 {
            upgrade = true;
        }
    }
    if transfer_encoding && !chunked {
        return reject(
            StatusCode::BAD_REQUEST,
            "The last Transfer-Encoding of a request must be chunked.",
        );
    }
    let then = if upgrade {
        Framing::PassThrough
    } else if transfer_encoding {
        Framing::Chunked(Chunk::Size { size: 0, digits: 0 })
    } else {
        match content_length {
            Some(n) if n > 0 => Framing::Body(n),
            _ => Framing::Head,
        }
    };
    HeadCheck::Complete { len, then }
}

/// A `Content-Length` value: ASCII digits only (no sign, no list), as hyper reads it.
fn digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, b| match b {
        b'0'..=b'9' => n.checked_mul(10)?.checked_add(u64::from(b - b'0')),
        _ => None,
    })
}

/// One step of a chunked body over `bytes`: how many bytes it consumed and the next state, or
/// `None` when the body does not look like what hyper's decoder expects (then the stream stops
/// checking and hyper reports the error in the body).
fn chunk_step(state: Chunk, bytes: &[u8]) -> Option<(usize, Framing)> {
    let Some(&b) = bytes.first() else {
        return Some((0, Framing::Chunked(state)));
    };
    let next = |c: Chunk| Some((1, Framing::Chunked(c)));
    match state {
        Chunk::Data(n) => {
            let take = usize::try_from(n).unwrap_or(usize::MAX).min(bytes.len());
            let left = n - take as u64;
            let c = if left == 0 {
                Chunk::DataCr
            } else {
                Chunk::Data(left)
            };
            Some((take, Framing::Chunked(c)))
        }
        Chunk::Size { size, digits } => match (b as char).to_digit(16) {
            Some(d) if digits < 16 => next(Chunk::Size {
                size: size * 16 + u64::from(d),
                digits: digits + 1,
            }),
            None if digits > 0 => match b {
                b' ' | b'\t' => next(Chunk::SizeSpace { size }),
                b';' => next(Chunk::Extension { size }),
                b'\r' => next(Chunk::SizeLf { size }),
                _ => None,
            },
            _ => None,
        },
        Chunk::SizeSpace { size } => match b {
            b' ' | b'\t' => next(Chunk::SizeSpace { size }),
            b';' => next(Chunk::Extension { size }),
            b'\r' => next(Chunk::SizeLf { size }),
            _ => None,
        },
        Chunk::Extension { size } => match b {
            b'\r' => next(Chunk::SizeLf { size }),
            b'\n' => None,
            _ => next(Chunk::Extension { size }),
        },
        Chunk::SizeLf { size } => match (b, size) {
            (b'\n', 0) => next(Chunk::TrailerStart),
            (b'\n', n) => next(Chunk::Data(n)),
            _ => None,
        },
        Chunk::DataCr => (b == b'\r').then_some((1, Framing::Chunked(Chunk::DataLf))),
        Chunk::DataLf => {
            (b == b'\n').then_some((1, Framing::Chunked(Chunk::Size { size: 0, digits: 0 })))
        }
        Chunk::TrailerStart => match b {
            b'\r' => next(Chunk::EndLf),
            b'\n' => None,
            _ => next(Chunk::TrailerLine),
        },
        Chunk::TrailerLine => match b {
            b'\r' => next(Chunk::TrailerLf),
            _ => next(Chunk::TrailerLine),
        },
        Chunk::TrailerLf => (b == b'\n').then_some((1, Framing::Chunked(Chunk::TrailerStart))),
        Chunk::EndLf => (b == b'\n').then_some((1, Framing::Head)),
    }
}

/// The whole answer to a refused head: the envelope, and `Connection: close`.
fn rejection(status: StatusCode, message: String) -> Vec<u8> {
    let body = serde_json::to_vec(&Envelope::<()>::failure(codes::MALFORMED_REQUEST, message))
        .unwrap_or_else(|_| {
            b"{\"success\":false,\"errors\":[],\"messages\":[],\"result\":null}".to_vec()
        });
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// A connection whose request heads are checked before hyper reads them (see the module
/// documentation).
#[derive(Debug)]
pub(crate) struct GuardedStream<S> {
    inner: S,
    /// Read from the socket, not yet given to hyper.
    buffered: BytesMut,
    /// How many bytes at the front of `buffered` are checked and may be given to hyper.
    released: usize,
    framing: Framing,
    /// The answer to a refused head, and how much of it is written.
    answer: Option<(Vec<u8>, usize)>,
    rejected: Arc<Notify>,
}

impl<S> GuardedStream<S> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: S) -> GuardedStream<S> {
        GuardedStream {
            inner,
            buffered: BytesMut::new(),
            released: 0,
            framing: Framing::Head,
            answer: None,
            rejected: Arc::new(Notify::new()),
        }
    }

    /// Notified once when a head is refused: the connection should then be shut down
    /// gracefully (hyper finishes what it has and closes; the envelope goes out on the close).
    pub(crate) fn rejected(&self) -> Arc<Notify> {
        Arc::clone(&self.rejected)
    }

    /// Moves `released` over as much of `buffered` as can be checked now.
    fn advance(&mut self) {
        loop {
            let rest = &self.buffered[self.released..];
            match self.framing {
                Framing::PassThrough => {
                    self.released = self.buffered.len();
                    return;
                }
                Framing::Rejected => return,
                _ if rest.is_empty() => return,
                Framing::Head => match check_head(rest) {
                    HeadCheck::Partial => return,
                    HeadCheck::PassThrough => self.framing = Framing::PassThrough,
                    HeadCheck::Complete { len, then } => {
                        self.released += len;
                        self.framing = then;
                    }
                    HeadCheck::Reject { status, message } => {
                        tracing::debug!(%status, %message, "kv-mock refused a malformed request");
                        self.framing = Framing::Rejected;
                        self.answer = Some((rejection(status, message), 0));
                        self.rejected.notify_one();
                        return;
                    }
                },
                Framing::Body(n) => {
                    let take = usize::try_from(n).unwrap_or(usize::MAX).min(rest.len());
                    self.released += take;
                    let left = n - take as u64;
                    self.framing = if left == 0 {
                        Framing::Head
                    } else {
                        Framing::Body(left)
                    };
                }
                Framing::Chunked(state) => match chunk_step(state, rest) {
                    Some((used, next)) => {
                        self.released += used;
                        self.framing = next;
                    }
                    None => self.framing = Framing::PassThrough,
                },
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for GuardedStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.released > 0 {
                let n = this.released.min(buf.remaining());
                buf.put_slice(&this.buffered[..n]);
                this.buffered.advance(n);
                this.released -= n;
                return Poll::Ready(Ok(()));
            }
            match this.framing {
                // Nothing more for hyper; the connection is being shut down gracefully.
                Framing::Rejected => return Poll::Pending,
                Framing::PassThrough if this.buffered.is_empty() => {
                    return Pin::new(&mut this.inner).poll_read(cx, buf);
                }
                _ => {}
            }
            this.advance();
            if this.released > 0 || this.framing == Framing::Rejected {
                continue;
            }
            let mut chunk = [0u8; READ_CHUNK];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                // The client is done: what is left (a head cut short) goes to hyper as it is.
                this.framing = Framing::PassThrough;
                if this.buffered.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            this.buffered.extend_from_slice(read.filled());
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for GuardedStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some((bytes, written)) = &mut this.answer {
            while *written < bytes.len() {
                let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &bytes[*written..]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                *written += n;
            }
            ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
