//! A raw HTTP/1.1 client over a keep-alive connection, so paths reach the server exactly as
//! written (no client library normalizes `..` or re-encodes anything).

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::hostile::generator::Case;

/// Longest wait for one answer.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The request as bytes on the wire.
pub(crate) fn wire(case: &Case) -> Vec<u8> {
    let mut out = format!(
        "{} {} HTTP/1.1\r\nhost: 127.0.0.1\r\n",
        case.method, case.target
    )
    .into_bytes();
    for (name, value) in &case.headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", case.body.len()).as_bytes());
    out.extend_from_slice(&case.body);
    out
}

/// One keep-alive connection and what has been read from it but not used yet.
pub(crate) struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// Why no answer could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The server closed the connection before the first byte of an answer.
    ClosedBeforeAnswer,
    /// Anything else (a broken answer, a timeout): a failure of the test.
    Broken(String),
}

impl Connection {
    /// Connects to `addr`.
    pub(crate) async fn open(addr: std::net::SocketAddr) -> Connection {
        Connection {
            stream: TcpStream::connect(addr).await.expect("connect"),
            buf: Vec::new(),
        }
    }

    async fn fill(&mut self) -> Result<usize, ReadError> {
        let mut chunk = [0u8; 16 * 1024];
        let n = tokio::time::timeout(READ_TIMEOUT, self.stream.read(&mut chunk))
            .await
            .map_err(|_| ReadError::Broken("no answer in time".to_owned()))?
            .map_err(|e| {
                if self.buf.is_empty() {
                    ReadError::ClosedBeforeAnswer
                } else {
                    ReadError::Broken(format!("read: {e}"))
                }
            })?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    async fn take(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        while self.buf.len() < n {
            if self.fill().await? == 0 {
                return Err(ReadError::Broken("connection closed mid-body".to_owned()));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    async fn line(&mut self) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[..i].to_vec();
                self.buf.drain(..i + 2);
                return Ok(line);
            }
            if self.fill().await? == 0 {
                return Err(ReadError::Broken("connection closed mid-line".to_owned()));
            }
        }
    }

    /// Writes raw bytes (a request, several, or part of one).
    pub(crate) async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Sends `request` and reads one answer: status, headers (lowercase names), body. `head`
    /// when the request was a HEAD (no body follows).
    pub(crate) async fn exchange(
        &mut self,
        request: &[u8],
        head: bool,
    ) -> Result<(u16, BTreeMap<String, String>, Vec<u8>), ReadError> {
        if self.stream.write_all(request).await.is_err() {
            return Err(ReadError::ClosedBeforeAnswer);
        }
        self.read_answer(head).await
    }

    /// Reads one answer.
    pub(crate) async fn read_answer(
        &mut self,
        head: bool,
    ) -> Result<(u16, BTreeMap<String, String>, Vec<u8>), ReadError> {
        while self.buf.is_empty() {
            if self.fill().await? == 0 {
                return Err(ReadError::ClosedBeforeAnswer);
            }
        }
        let status_line = String::from_utf8(self.line().await?)
            .map_err(|_| ReadError::Broken("status line not UTF-8".to_owned()))?;
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or(ReadError::Broken(format!("status line {status_line:?}")))?;
        let mut headers = BTreeMap::new();
        loop {
            let line = self.line().await?;
            if line.is_empty() {
                break;
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            let (name, value) = line
                .split_once(':')
                .ok_or(ReadError::Broken(format!("header line {line:?}")))?;
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
        let body = if head || (100..200).contains(&status) || status == 204 || status == 304 {
            Vec::new()
        } else if let Some(len) = headers.get("content-length") {
            let len: usize = len
                .parse()
                .map_err(|_| ReadError::Broken(format!("content-length {len:?}")))?;
            self.take(len).await?
        } else if headers
            .get("transfer-encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
        {
            let mut body = Vec::new();
            loop {
                let size_line = String::from_utf8_lossy(&self.line().await?).into_owned();
                let size =
                    usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|_| ReadError::Broken(format!("chunk size {size_line:?}")))?;
                if size == 0 {
                    while !self.line().await?.is_empty() {}
                    break;
                }
                body.extend(self.take(size).await?);
                self.take(2).await?;
            }
            body
        } else {
            // Until the server closes.
            while self.fill().await? > 0 {}
            std::mem::take(&mut self.buf)
        };
        Ok((status, headers, body))
    }
}
