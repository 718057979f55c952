//! The packer of every bulk call: items, already in their wire form, packed lazily into request
//! bodies within an item count and a byte limit. Bulk writes and deletes send a JSON array
//! (`[item,item]`); bulk gets a `{"keys":[...]}` object: the same packer with another frame.
//!
//! [`chunks`] turns a stream of numbered, encoded (or refused) items into a stream of chunks,
//! pulling the next item only when the chunk being filled needs it: memory holds one partial
//! chunk, whatever the length of the input.

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
use kv_types::ValidationError;

use crate::error::Error;

/// One input item, numbered by its 0-based position in the input: its key, and its wire form or
/// the error that kept it out.
pub(crate) struct Numbered {
    pub(crate) index: u64,
    pub(crate) key: String,
    pub(crate) wire: Result<Vec<u8>, Error>,
}

/// An item that is not sent: its index, key and error.
pub(crate) struct Invalid {
    pub(crate) index: u64,
    pub(crate) key: String,
    pub(crate) error: Error,
}

/// One request's worth of items.
pub(crate) struct Chunk {
    /// The request body; empty when every item of the chunk was invalid (nothing to send).
    pub(crate) body: Bytes,
    /// The keys packed, in order.
    pub(crate) keys: Vec<String>,
    /// The input index of each key of `keys`.
    pub(crate) indexes: Vec<u64>,
    /// Items refused before packing since the previous chunk, reported with this one.
    pub(crate) invalid: Vec<Invalid>,
}

/// What surrounds the items of a body.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    open: Vec<u8>,
    close: Vec<u8>,
}

impl Frame {
    /// A JSON array: the body of a bulk write or delete.
    pub(crate) fn array() -> Frame {
        Frame {
            open: b"[".to_vec(),
            close: b"]".to_vec(),
        }
    }

    /// The body of a bulk get: `{"keys":[...],"type":"text"}`, with `"withMetadata":true` when
    /// asked; the same bytes as serializing [`kv_types::BulkGetRequest`].
    pub(crate) fn bulk_get(with_metadata: bool) -> Frame {
        let close = if with_metadata {
            br#"],"type":"text","withMetadata":true}"#.to_vec()
        } else {
            br#"],"type":"text"}"#.to_vec()
        };
        Frame {
            open: br#"{"keys":["#.to_vec(),
            close,
        }
    }
}

/// Packs serialized items into bodies within the item and byte limits.
pub(crate) struct Packer {
    max_items: usize,
    max_bytes: usize,
    frame: Frame,
    /// Whether a key already in the chunk being filled is left out of its body (bulk gets: the
    /// key is read once; it stays in `keys` so its item is counted and answered).
    dedup: bool,
    body: Vec<u8>,
    /// Items in `body`.
    in_body: usize,
    keys: Vec<String>,
    indexes: Vec<u64>,
    invalid: Vec<Invalid>,
}

impl Packer {
    pub(crate) fn new(max_items: usize, max_bytes: usize, frame: Frame, dedup: bool) -> Packer {
        Packer {
            max_items: max_items.max(1),
            max_bytes,
            frame,
            dedup,
            body: Vec::new(),
            in_body: 0,
            keys: Vec::new(),
            indexes: Vec::new(),
            invalid: Vec::new(),
        }
    }

    /// The byte limit of one body.
    pub(crate) fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The size of a body holding only `item`; over [`max_bytes`](Self::max_bytes) it fits in
    /// no request.
    pub(crate) fn alone(&self, item: &[u8]) -> usize {
        self.frame.open.len() + item.len() + self.frame.close.len()
    }

    /// Adds one serialized item, and gives back the chunk it completed, if any. An item whose
    /// [`alone`](Self::alone) size is over the limit must be refused instead (see [`chunks`]).
    pub(crate) fn push(&mut self, index: u64, key: String, item: &[u8]) -> Option<Chunk> {
        if self.dedup && self.keys.contains(&key) {
            self.keys.push(key);
            self.indexes.push(index);
            return None;
        }
        let with = self.body.len() + 1 + item.len() + self.frame.close.len();
        let full = self.in_body >= self.max_items || with > self.max_bytes;
        let done = if self.in_body > 0 && full {
            self.take()
        } else {
            None
        };
        if self.in_body == 0 {
            self.body.extend_from_slice(&self.frame.open);
        } else {
            self.body.push(b',');
        }
        self.body.extend_from_slice(item);
        self.in_body += 1;
        self.keys.push(key);
        self.indexes.push(index);
        done
    }

    /// Notes an item kept out; it is reported with the next chunk.
    pub(crate) fn refuse(&mut self, invalid: Invalid) {
        self.invalid.push(invalid);
    }

    /// The chunk being filled, if it holds anything.
    pub(crate) fn take(&mut self) -> Option<Chunk> {
        if self.keys.is_empty() && self.invalid.is_empty() {
            return None;
        }
        let mut body = std::mem::take(&mut self.body);
        if self.in_body > 0 {
            body.extend_from_slice(&self.frame.close);
        }
        self.in_body = 0;
        Some(Chunk {
            body: Bytes::from(body),
            keys: std::mem::take(&mut self.keys),
            indexes: std::mem::take(&mut self.indexes),
            invalid: std::mem::take(&mut self.invalid),
        })
    }
}

/// The chunks of `items`, packed as they are pulled. An item too large for any body is refused
/// with [`ValidationError::BulkTooLarge`], made into an error by `too_large` (given the key).
pub(crate) fn chunks<S, F>(
    items: S,
    packer: Packer,
    too_large: F,
) -> impl Stream<Item = Chunk> + Send
where
    S: Stream<Item = Numbered> + Send + Unpin,
    F: Fn(&str, ValidationError) -> Error + Send,
{
    stream::unfold(Some((items, packer, too_large)), |state| async move {
        let (mut items, mut packer, too_large) = state?;
        while let Some(Numbered { index, key, wire }) = items.next().await {
            let error = match wire {
                Ok(bytes) => {
                    let len = packer.alone(&bytes);
                    if len <= packer.max_bytes() {
                        if let Some(chunk) = packer.push(index, key, &bytes) {
                            return Some((chunk, Some((items, packer, too_large))));
                        }
                        continue;
                    }
                    let max = packer.max_bytes();
                    too_large(&key, ValidationError::BulkTooLarge { len, max })
                }
                Err(error) => error,
            };
            packer.refuse(Invalid { index, key, error });
        }
        packer.take().map(|chunk| (chunk, None))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv_types::ValidationError;

    fn numbered(keys: &[&str]) -> Vec<Numbered> {
        keys.iter()
            .enumerate()
            .map(|(i, k)| Numbered {
                index: i as u64,
                key: (*k).to_owned(),
                wire: Ok(format!("\"{k}\"").into_bytes()),
            })
            .collect()
    }

    fn refuse(key: &str, rule: ValidationError) -> Error {
        Error::validation(
            &crate::error::Context::new(crate::Operation::BulkPut).with_key(key),
            rule,
        )
    }

    async fn pack(items: Vec<Numbered>, packer: Packer) -> Vec<Chunk> {
        chunks(stream::iter(items), packer, refuse).collect().await
    }

    #[tokio::test]
    async fn packs_by_count() {
        let got = pack(
            numbered(&["a", "b", "c"]),
            Packer::new(2, 1000, Frame::array(), false),
        )
        .await;
        assert_eq!(got.len(), 2);
        assert_eq!(&got[0].body[..], b"[\"a\",\"b\"]");
        assert_eq!(&got[1].body[..], b"[\"c\"]");
        assert_eq!(got[1].keys, vec!["c"]);
        assert_eq!(got[1].indexes, vec![2]);
    }

    #[tokio::test]
    async fn packs_by_bytes_exactly() {
        // Each item is 3 bytes; [x,y] is 1 + 3 + 1 + 3 + 1 = 9 bytes.
        let got = pack(
            numbered(&["a", "b", "c"]),
            Packer::new(100, 9, Frame::array(), false),
        )
        .await;
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].body.len(), 9);
        assert!(got.iter().all(|c| c.body.len() <= 9));
        assert!(
            got.iter()
                .all(|c| serde_json::from_slice::<Vec<String>>(&c.body).is_ok())
        );
    }

    #[tokio::test]
    async fn an_item_alone_over_the_limit_is_refused_and_the_others_go() {
        let mut items = numbered(&["a", "b"]);
        items.insert(
            1,
            Numbered {
                index: 1,
                key: "big".into(),
                wire: Ok(b"\"0123456789\"".to_vec()),
            },
        );
        items[2].index = 2;
        let got = pack(items, Packer::new(100, 8, Frame::array(), false)).await;
        let keys: Vec<&str> = got
            .iter()
            .flat_map(|c| c.keys.iter().map(String::as_str))
            .collect();
        assert_eq!(keys, ["a", "b"]);
        let invalid: Vec<(u64, &str)> = got
            .iter()
            .flat_map(|c| c.invalid.iter().map(|i| (i.index, i.key.as_str())))
            .collect();
        assert_eq!(invalid, [(1, "big")]);
        let rule = got
            .iter()
            .flat_map(|c| &c.invalid)
            .find_map(|i| i.error.validation_error().cloned());
        assert_eq!(
            rule,
            Some(ValidationError::BulkTooLarge { len: 14, max: 8 })
        );
    }

    #[tokio::test]
    async fn bulk_get_frames_and_dedups_within_a_chunk() {
        let got = pack(
            numbered(&["b", "a", "b", "c"]),
            Packer::new(2, usize::MAX, Frame::bulk_get(false), true),
        )
        .await;
        assert_eq!(got.len(), 2);
        assert_eq!(&got[0].body[..], br#"{"keys":["b","a"],"type":"text"}"#);
        assert_eq!(got[0].keys, ["b", "a", "b"]);
        assert_eq!(&got[1].body[..], br#"{"keys":["c"],"type":"text"}"#);
        let with = Frame::bulk_get(true);
        let mut p = Packer::new(5, usize::MAX, with, true);
        assert!(p.push(0, "k".into(), b"\"k\"").is_none());
        let body = p.take().expect("a chunk").body;
        let parsed: kv_types::BulkGetRequest =
            serde_json::from_slice(&body).expect("a bulk get body");
        assert!(parsed.with_metadata);
        assert_eq!(parsed.keys, ["k"]);
    }

    #[tokio::test]
    async fn the_input_is_pulled_lazily() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let pulled = AtomicU64::new(0);
        let items = stream::iter(0..1_000_000u64).map(|i| {
            pulled.fetch_add(1, Ordering::Relaxed);
            Numbered {
                index: i,
                key: format!("k{i}"),
                wire: Ok(format!("\"k{i}\"").into_bytes()),
            }
        });
        let mut s = Box::pin(chunks(
            items,
            Packer::new(10, usize::MAX, Frame::array(), false),
            refuse,
        ));
        let first = s.next().await.expect("a chunk");
        assert_eq!(first.keys.len(), 10);
        assert_eq!(
            pulled.load(Ordering::Relaxed),
            11,
            "one item past the chunk, no more"
        );
    }
}
