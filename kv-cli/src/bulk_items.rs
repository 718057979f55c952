//! One element of a bulk file read as what the command needs: a put item (wrangler's
//! `{key, value, base64?, expiration?, expiration_ttl?, metadata?}`) or a key (a string, or an
//! object with a `name`, as `key list --json` prints). Everything the service would refuse is
//! checked here against the limits, so a bad item is reported by its index and the others go.

use base64::Engine;
use kv_client::BulkPutItem;
use kv_types::{Key, Limits, Metadata, PutOptions};
use serde::Deserialize;
use serde_json::value::RawValue;

use kv_types::bulk_file::{Element, MAX_ELEMENT_BYTES, Malformed, syntax_offset};

/// Why one item cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ItemError {
    /// Its index in the input.
    pub(crate) index: u64,
    /// Its byte offset in the input.
    pub(crate) offset: u64,
    /// Its key, when it has a readable one.
    pub(crate) key: Option<String>,
    /// What is wrong.
    pub(crate) reason: String,
}

impl std::fmt::Display for ItemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "item {} (byte {}", self.index, self.offset)?;
        if let Some(key) = &self.key {
            write!(f, ", key {key:?}")?;
        }
        write!(f, "): {}", self.reason)
    }
}

/// An element that is not valid JSON breaks the file (its offset), any other problem is the
/// item's own.
pub(crate) enum Bad {
    /// The file is broken here.
    File(Malformed),
    /// This item cannot be sent.
    Item(ItemError),
}

fn item_error(element: &Element, key: Option<&str>, reason: impl Into<String>) -> Bad {
    Bad::Item(ItemError {
        index: element.index,
        offset: element.offset,
        key: key.map(str::to_owned),
        reason: reason.into(),
    })
}

/// Parses the element's JSON into `T`: a syntax error breaks the file, a wrong shape is the
/// item's.
fn parse<'a, T: Deserialize<'a>>(element: &'a Element, shape: &str) -> Result<T, Bad> {
    if element.oversized() {
        return Err(item_error(
            element,
            None,
            format!(
                "{} bytes, larger than any item can be ({MAX_ELEMENT_BYTES})",
                element.len
            ),
        ));
    }
    serde_json::from_slice(&element.bytes).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            let offset = syntax_offset(element, e.line(), e.column());
            Bad::File(Malformed {
                offset,
                reason: format!("item {} is not valid JSON: {e}", element.index),
            })
        } else {
            item_error(element, None, format!("expected {shape}: {e}"))
        }
    })
}

/// A put item as wrangler's file holds it.
#[derive(Deserialize)]
struct WirePut<'a> {
    key: String,
    value: String,
    #[serde(default)]
    base64: bool,
    #[serde(default)]
    expiration: Option<u64>,
    #[serde(default)]
    expiration_ttl: Option<u64>,
    #[serde(default, borrow)]
    metadata: Option<&'a RawValue>,
}

/// One put item, checked against `limits` at `now` (epoch seconds).
pub(crate) fn put_item(element: &Element, limits: &Limits, now: u64) -> Result<BulkPutItem, Bad> {
    let mut wire: WirePut<'_> = parse(
        element,
        "an object {\"key\": string, \"value\": string, ...}",
    )?;
    let key = wire.key.as_str();
    let bad = |reason: String| item_error(element, Some(key), reason);
    Key::with_limits(key, limits).map_err(|e| bad(e.to_string()))?;
    let value = if wire.base64 {
        base64::engine::general_purpose::STANDARD
            .decode(wire.value.as_bytes())
            .map_err(|e| bad(format!("`base64` is true but the value is not base64: {e}")))?
    } else {
        std::mem::take(&mut wire.value).into_bytes()
    };
    limits
        .check_value_len(value.len())
        .map_err(|e| bad(e.to_string()))?;
    let mut options = PutOptions::new();
    options.expiration = wire.expiration;
    options.expiration_ttl = wire.expiration_ttl;
    if let Some(m) = wire.metadata.filter(|m| m.get() != "null") {
        let m = Metadata::from_json_with_limits(m.get(), limits).map_err(|e| bad(e.to_string()))?;
        options.metadata = Some(m);
    }
    options.check(limits).map_err(|e| bad(e.to_string()))?;
    if let (Some(at), None) = (options.expiration, options.expiration_ttl) {
        limits
            .check_expiration(at, now)
            .map_err(|e| bad(e.to_string()))?;
    }
    Ok(BulkPutItem {
        key: wire.key,
        value: value.into(),
        options,
    })
}

/// A key as a bulk get or delete file holds it.
#[derive(Deserialize)]
#[serde(untagged)]
enum WireKey {
    Name(String),
    Object { name: String },
}

/// One key, checked against `limits`.
pub(crate) fn key_item(element: &Element, limits: &Limits) -> Result<String, Bad> {
    let wire: WireKey = parse(element, "a key: a string, or an object with a \"name\"")?;
    let key = match wire {
        WireKey::Name(k) | WireKey::Object { name: k } => k,
    };
    Key::with_limits(key.as_str(), limits)
        .map_err(|e| item_error(element, Some(&key), e.to_string()))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(text: &str) -> Element {
        Element {
            index: 4,
            offset: 10,
            bytes: text.as_bytes().to_vec(),
            len: text.len() as u64,
        }
    }

    fn item_reason(r: Result<impl std::fmt::Debug, Bad>) -> String {
        match r {
            Err(Bad::Item(e)) => e.to_string(),
            Err(Bad::File(m)) => panic!("a file error: {m}"),
            Ok(v) => panic!("accepted: {v:?}"),
        }
    }

    const NOW: u64 = 1_700_000_000;

    #[test]
    fn put_items_in_wranglers_form() {
        let limits = Limits::PRODUCTION;
        let item = put_item(
            &element(r#"{"key":"a/b c","value":"aGk=","base64":true,"expiration_ttl":600,"metadata":{"n":1}}"#),
            &limits,
            NOW,
        )
        .ok()
        .expect("valid");
        assert_eq!(item.key, "a/b c");
        assert_eq!(item.value.as_bytes(), b"hi");
        assert_eq!(item.options.expiration_ttl, Some(600));
        assert_eq!(
            item.options
                .metadata
                .map(|m| m.as_json().to_owned())
                .as_deref(),
            Some(r#"{"n":1}"#)
        );
    }

    #[test]
    fn bad_items_name_index_offset_key_and_rule() {
        let limits = Limits::PRODUCTION;
        let r = item_reason(put_item(
            &element(r#"{"key":"k","value":"v","expiration_ttl":5}"#),
            &limits,
            NOW,
        ));
        assert!(r.starts_with("item 4 (byte 10, key \"k\"): "), "{r}");
        assert!(r.contains("60"), "{r}");
        let r = item_reason(put_item(&element(r#"{"value":"v"}"#), &limits, NOW));
        assert!(r.contains("missing field `key`"), "{r}");
        let r = item_reason(put_item(
            &element(r#"{"key":"k","value":"!!","base64":true}"#),
            &limits,
            NOW,
        ));
        assert!(r.contains("not base64"), "{r}");
        let r = item_reason(put_item(
            &element(r#"{"key":"","value":"v"}"#),
            &limits,
            NOW,
        ));
        assert!(r.contains("key \"\""), "{r}");
        let r = item_reason(key_item(&element("12"), &limits));
        assert!(r.contains("expected a key"), "{r}");
    }

    #[test]
    fn keys_are_strings_or_objects_with_a_name() {
        let limits = Limits::PRODUCTION;
        assert_eq!(
            key_item(&element(r#""x/y""#), &limits).ok(),
            Some("x/y".to_owned())
        );
        assert_eq!(
            key_item(&element(r#"{"name":"k","expiration":5}"#), &limits).ok(),
            Some("k".to_owned())
        );
    }

    #[test]
    fn a_syntax_error_inside_an_item_breaks_the_file_at_its_offset() {
        match put_item(
            &element(r#"{"key":"k","value":tru}"#),
            &Limits::PRODUCTION,
            NOW,
        ) {
            Err(Bad::File(m)) => assert!(m.offset >= 10 + 19 && m.offset <= 10 + 23, "{m}"),
            _ => panic!("not a file error"),
        }
    }
}
