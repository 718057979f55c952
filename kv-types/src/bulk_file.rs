//! Bulk files (wrangler's `kv bulk` JSON: one array of items) read as a stream:
//! [`ArrayScanner`] yields the elements of one JSON array from a byte stream, one at a time,
//! each with its index and byte offset, so a file of any size is read in the memory of one
//! element. `kv-cli`'s bulk commands and `kv-mock`'s seeding and import both read files this way.
//!
//! The scanner only finds where each element starts and ends (strings, escapes and nesting
//! tracked); the element's own JSON is checked when the caller parses it (into a
//! [`BulkWriteItem`](crate::BulkWriteItem), say), and a syntax error there is turned into a byte
//! offset in the file by [`syntax_offset`].
//!
//! ```
//! use kv_types::bulk_file::ArrayScanner;
//!
//! let file = br#"[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]"#;
//! let mut keys = Vec::new();
//! for element in ArrayScanner::new(&file[..]) {
//!     let element = element?;
//!     let item: kv_types::BulkWriteItem = serde_json::from_slice(&element.bytes)?;
//!     keys.push((element.index, element.offset, item.key));
//! }
//! assert_eq!(keys, [(0, 1, "a".to_owned()), (1, 29, "b".to_owned())]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{BufRead, ErrorKind};

/// The largest element kept in memory: a 25 MiB value in base64 (33.4 MiB) with its key and
/// metadata fits. A larger one is skipped and reported (it could not be a valid item).
pub const MAX_ELEMENT_BYTES: usize = 36 * 1024 * 1024;

/// One element of the array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Its position in the array, from 0.
    pub index: u64,
    /// The byte offset of its first byte in the input.
    pub offset: u64,
    /// Its JSON text; empty when it was larger than [`MAX_ELEMENT_BYTES`].
    pub bytes: Vec<u8>,
    /// Its length in bytes (also when too large to keep).
    pub len: u64,
}

impl Element {
    /// Whether it was too large to keep.
    pub fn oversized(&self) -> bool {
        self.len > MAX_ELEMENT_BYTES as u64
    }
}

/// The input is not a JSON array: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a JSON array of items at byte {offset}: {reason}")]
pub struct Malformed {
    /// The byte offset of the problem.
    pub offset: u64,
    /// What was expected or found.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before `[`.
    Start,
    /// After `[`: an element or `]`.
    Open,
    /// After an element: `,` or `]`.
    AfterElement,
    /// After `,`: an element.
    AfterComma,
    /// After `]`: only whitespace.
    Closed,
    /// Done, or stopped at an error.
    Finished,
}

/// The elements of a JSON array read from `R`.
pub struct ArrayScanner<R> {
    reader: R,
    offset: u64,
    state: State,
    index: u64,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn shown(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("{:?}", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// How an element is being scanned.
#[derive(Debug, Clone, Copy)]
struct ValueScan {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// A number, `true`, `false` or `null`: ends before a delimiter.
    scalar: bool,
}

impl<R: BufRead> ArrayScanner<R> {
    /// A scanner of `reader`, which must hold one JSON array (a UTF-8 byte order mark first is
    /// skipped).
    pub fn new(reader: R) -> ArrayScanner<R> {
        ArrayScanner {
            reader,
            offset: 0,
            state: State::Start,
            index: 0,
        }
    }

    fn malformed(&mut self, offset: u64, reason: impl Into<String>) -> Malformed {
        self.state = State::Finished;
        Malformed {
            offset,
            reason: reason.into(),
        }
    }

    /// The next byte that is not whitespace, not consumed; `None` at the end.
    fn peek_non_ws(&mut self) -> Result<Option<u8>, Malformed> {
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    let at = self.offset;
                    return Err(self.malformed(at, format!("cannot read the input: {e}")));
                }
            };
            if buf.is_empty() {
                return Ok(None);
            }
            let mut skip = buf.iter().take_while(|b| is_ws(**b)).count();
            if self.offset == 0 && buf.starts_with(b"\xEF\xBB\xBF") {
                skip = 3;
            }
            let found = buf.get(skip).copied();
            self.reader.consume(skip);
            self.offset += skip as u64;
            if let Some(b) = found {
                return Ok(Some(b));
            }
        }
    }

    fn consume_one(&mut self) {
        self.reader.consume(1);
        self.offset += 1;
    }

    /// Reads one element starting at the current byte.
    fn element(&mut self, first: u8) -> Result<Element, Malformed> {
        let offset = self.offset;
        let mut scan = ValueScan {
            depth: 0,
            in_string: false,
            escaped: false,
            scalar: !matches!(first, b'{' | b'[' | b'"'),
        };
        if scan.scalar && !(first == b'-' || first.is_ascii_alphanumeric()) {
            return Err(self.malformed(
                offset,
                format!("expected a JSON value, found {}", shown(first)),
            ));
        }
        let mut bytes = Vec::new();
        let mut len: u64 = 0;
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    let at = self.offset;
                    return Err(self.malformed(at, format!("cannot read the input: {e}")));
                }
            };
            if buf.is_empty() {
                if scan.scalar {
                    break;
                }
                let at = self.offset;
                return Err(self.malformed(
                    at,
                    format!(
                        "the input ends inside item {} (which starts at byte {offset})",
                        self.index
                    ),
                ));
            }
            let (used, done) = advance(&mut scan, buf);
            if len + used as u64 <= MAX_ELEMENT_BYTES as u64 {
                bytes.extend_from_slice(&buf[..used]);
            } else {
                bytes = Vec::new();
            }
            len += used as u64;
            self.reader.consume(used);
            self.offset += used as u64;
            if done {
                break;
            }
        }
        let index = self.index;
        self.index += 1;
        Ok(Element {
            index,
            offset,
            bytes,
            len,
        })
    }
}

/// Scans `buf` for the end of the element: the bytes that belong to it, and whether it ended.
fn advance(scan: &mut ValueScan, buf: &[u8]) -> (usize, bool) {
    for (i, &b) in buf.iter().enumerate() {
        if scan.scalar {
            if is_ws(b) || matches!(b, b',' | b']' | b'}' | b'[' | b'{' | b'"') {
                return (i, true);
            }
            continue;
        }
        if scan.in_string {
            if scan.escaped {
                scan.escaped = false;
            } else if b == b'\\' {
                scan.escaped = true;
            } else if b == b'"' {
                scan.in_string = false;
                if scan.depth == 0 {
                    return (i + 1, true);
                }
            }
            continue;
        }
        match b {
            b'"' => scan.in_string = true,
            b'{' | b'[' => scan.depth += 1,
            b'}' | b']' => {
                scan.depth = scan.depth.saturating_sub(1);
                if scan.depth == 0 {
                    return (i + 1, true);
                }
            }
            _ => {}
        }
    }
    (buf.len(), false)
}

impl<R: BufRead> Iterator for ArrayScanner<R> {
    type Item = Result<Element, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let state = self.state;
            if state == State::Finished {
                return None;
            }
            let b = match self.peek_non_ws() {
                Ok(b) => b,
                Err(e) => return Some(Err(e)),
            };
            let at = self.offset;
            let Some(b) = b else {
                if state == State::Closed {
                    self.state = State::Finished;
                    return None;
                }
                let reason = if state == State::Start {
                    "the input is empty; expected a JSON array `[...]`".to_owned()
                } else {
                    "the input ends before the array's closing `]`".to_owned()
                };
                return Some(Err(self.malformed(at, reason)));
            };
            match (state, b) {
                (State::Start, b'[') => {
                    self.consume_one();
                    self.state = State::Open;
                }
                (State::Start, b) => {
                    return Some(Err(self.malformed(
                        at,
                        format!("expected a JSON array `[...]`, found {}", shown(b)),
                    )));
                }
                (State::Open | State::AfterElement, b']') => {
                    self.consume_one();
                    self.state = State::Closed;
                }
                (State::AfterElement, b',') => {
                    self.consume_one();
                    self.state = State::AfterComma;
                }
                (State::AfterElement, b) => {
                    return Some(Err(self.malformed(
                        at,
                        format!(
                            "expected `,` or `]` after item {}, found {}",
                            self.index - 1,
                            shown(b)
                        ),
                    )));
                }
                (State::Open | State::AfterComma, b) => {
                    let element = self.element(b);
                    if element.is_ok() {
                        self.state = State::AfterElement;
                    }
                    return Some(element);
                }
                (State::Closed, b) => {
                    return Some(Err(self.malformed(
                        at,
                        format!("unexpected {} after the array's closing `]`", shown(b)),
                    )));
                }
                (State::Finished, _) => return None,
            }
        }
    }
}

/// The byte offset in the input of a syntax error that serde_json found at `line`:`column`
/// (both from 1) of an element starting at `offset`.
pub fn syntax_offset(element: &Element, line: usize, column: usize) -> u64 {
    let mut start = 0usize;
    for _ in 1..line {
        match element.bytes[start..].iter().position(|b| *b == b'\n') {
            Some(p) => start += p + 1,
            None => break,
        }
    }
    element.offset + (start + column.saturating_sub(1)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(input: &str) -> Vec<Result<(u64, u64, String), Malformed>> {
        // A tiny buffer, so elements and whitespace straddle reads.
        let reader = std::io::BufReader::with_capacity(3, input.as_bytes());
        ArrayScanner::new(reader)
            .map(|r| {
                r.map(|e| {
                    (
                        e.index,
                        e.offset,
                        String::from_utf8(e.bytes).expect("utf-8"),
                    )
                })
            })
            .collect()
    }

    #[test]
    fn elements_with_offsets() {
        let got = scan(r#" [ {"key":"a]\"}","v":[1,{}]}, "k2" ,7,null ]  "#);
        assert_eq!(
            got,
            vec![
                Ok((0, 3, r#"{"key":"a]\"}","v":[1,{}]}"#.to_owned())),
                Ok((1, 31, r#""k2""#.to_owned())),
                Ok((2, 37, "7".to_owned())),
                Ok((3, 39, "null".to_owned())),
            ]
        );
        assert_eq!(scan("[]"), vec![]);
        assert_eq!(scan("\u{feff}[\"a\"]").len(), 1);
    }

    #[test]
    fn broken_input_stops_with_the_offset() {
        let last = |s: &str| scan(s).pop().expect("something");
        let err = last(r#"[{"key":"a"} {"key":"b"}]"#).expect_err("no comma");
        assert_eq!(err.offset, 13);
        assert!(
            err.reason.contains("expected `,` or `]` after item 0"),
            "{err}"
        );
        let err = last(r#"[{"key":"a"}, {"key":"#).expect_err("truncated");
        assert_eq!(err.offset, 21);
        assert!(err.reason.contains("ends inside item 1"), "{err}");
        assert_eq!(last("").expect_err("empty").offset, 0);
        assert_eq!(last("  {}").expect_err("object").offset, 2);
        assert_eq!(last(r#"["a"] x"#).expect_err("trailing").offset, 6);
        assert_eq!(last(r#"["a","#).expect_err("unclosed").offset, 5);
        assert_eq!(last(r#"[,]"#).expect_err("comma").offset, 1);
    }

    #[test]
    fn syntax_offsets_count_lines() {
        let element = Element {
            index: 0,
            offset: 100,
            bytes: b"{\n  \"a\": x}".to_vec(),
            len: 11,
        };
        assert_eq!(syntax_offset(&element, 2, 8), 100 + 2 + 7);
    }
}
