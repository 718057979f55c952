//! What a list returns: [`KeyInfo`] per key and [`ListPage`] per page; and what a read with
//! metadata returns: [`ValueWithMetadata`].

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::metadata::Metadata;

/// One key of a list page, as the wire carries it: `{name, expiration?, metadata?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// The key name.
    pub name: String,
    /// When the key expires, in epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<u64>,
    /// The key's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// One page of a list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    /// The keys, in byte order of their UTF-8 names.
    pub keys: Vec<KeyInfo>,
    /// The cursor of the next page; `None` on the last page (the wire's `""`).
    pub cursor: Option<String>,
    /// Whether this is the last page.
    pub complete: bool,
}

impl ListPage {
    /// A page from the wire's `result` and `result_info.cursor`: an absent or empty cursor marks
    /// the last page.
    pub fn from_wire(keys: Vec<KeyInfo>, cursor: Option<String>) -> ListPage {
        let cursor = cursor.filter(|c| !c.is_empty());
        ListPage {
            complete: cursor.is_none(),
            keys,
            cursor,
        }
    }
}

/// A value read together with the metadata and expiration of the same write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueWithMetadata {
    /// The value's bytes.
    pub value: Bytes,
    /// The metadata written with it, if any.
    pub metadata: Option<Metadata>,
    /// When it expires, in epoch seconds, if it does.
    pub expiration: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_cursor_is_the_last_page() {
        assert!(ListPage::from_wire(vec![], Some(String::new())).complete);
        assert!(ListPage::from_wire(vec![], None).complete);
        let page = ListPage::from_wire(vec![], Some("c".into()));
        assert!(!page.complete);
        assert_eq!(page.cursor.as_deref(), Some("c"));
    }

    #[test]
    fn key_info_wire_form() {
        let k: KeyInfo =
            serde_json::from_str(r#"{"name":"a","expiration":5,"metadata":{"x":1}}"#).expect("ok");
        assert_eq!(k.expiration, Some(5));
        assert_eq!(k.metadata.as_ref().map(|m| m.as_json()), Some(r#"{"x":1}"#));
        let bare = KeyInfo {
            name: "b".into(),
            expiration: None,
            metadata: None,
        };
        assert_eq!(serde_json::to_string(&bare).expect("ok"), r#"{"name":"b"}"#);
    }
}
