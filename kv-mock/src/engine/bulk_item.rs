//! One item of wrangler's bulk JSON, `{key, value, base64?, expiration?, expiration_ttl?,
//! metadata?}`, in both directions: [`WireItem`] decodes one as a bulk write and an import read it
//! (its form only: the engine checks the rules of the write), [`write_item`] writes an entry as
//! an export does.

use std::io::Write;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kv_types::expiration::parse_wire_seconds;
use kv_types::{Limits, Metadata, PutOptions, ValidationError, Value};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::bulk::BulkPut;
use super::entry::Entry;

/// One item as received: only `key` and `value` (strings) are required for it to be readable;
/// the rest is decoded by [`decode`](Self::decode).
#[derive(Deserialize)]
pub(crate) struct WireItem {
    key: String,
    value: String,
    #[serde(default)]
    base64: Option<bool>,
    #[serde(default)]
    expiration: Option<serde_json::Value>,
    #[serde(default)]
    expiration_ttl: Option<serde_json::Value>,
    #[serde(default)]
    metadata: Option<Box<RawValue>>,
}

/// A number of seconds as an item carries it: a positive integer, or a string of one.
fn seconds(v: &serde_json::Value, ttl: bool, limits: &Limits) -> Result<u64, ValidationError> {
    match v {
        serde_json::Value::String(s) => parse_wire_seconds(s, ttl, limits),
        other => parse_wire_seconds(&other.to_string(), ttl, limits),
    }
}

impl WireItem {
    /// Decodes the item's form (base64, the expiration numbers, metadata that is JSON); the
    /// rules of the write (sizes, key name, expiration) are the engine's to check. A failure
    /// gives the key back with what is wrong. `limits` only word the messages.
    pub(crate) fn decode(self, limits: &Limits) -> Result<BulkPut, (String, ValidationError)> {
        let WireItem {
            key,
            value,
            base64,
            expiration,
            expiration_ttl,
            metadata,
        } = self;
        let decoded = (|| -> Result<(Value, PutOptions), ValidationError> {
            let value = if base64.unwrap_or(false) {
                Value::from(STANDARD.decode(value.as_bytes()).map_err(|e| {
                    ValidationError::ValueNotJson {
                        reason: format!("value is not valid base64: {e}"),
                    }
                })?)
            } else {
                Value::from(value)
            };
            let mut options = PutOptions::new();
            match (&expiration_ttl, &expiration) {
                (Some(ttl), _) if !ttl.is_null() => {
                    options.expiration_ttl = Some(seconds(ttl, true, limits)?);
                }
                (_, Some(at)) if !at.is_null() => {
                    options.expiration = Some(seconds(at, false, limits)?);
                }
                _ => {}
            }
            if let Some(m) = metadata {
                options.metadata = Some(Metadata::from_json_any_size(m.get())?);
            }
            Ok((value, options))
        })();
        match decoded {
            Ok((value, options)) => Ok(BulkPut {
                key,
                value,
                options,
            }),
            Err(e) => Err((key, e)),
        }
    }
}

/// An entry as an export writes it.
#[derive(Serialize)]
struct OutItem<'a> {
    key: &'a str,
    value: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    base64: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a Metadata>,
}

/// Writes `entry` under `key` as one item: the value as a JSON string when it is UTF-8, else in
/// base64 with `"base64": true`; `expiration` (epoch seconds) and `metadata` (its JSON text as
/// stored) only when the entry has them (metadata that is `null` counts as none).
pub(crate) fn write_item(out: &mut impl Write, key: &str, entry: &Entry) -> std::io::Result<()> {
    let (value, base64) = match std::str::from_utf8(&entry.value) {
        Ok(text) => (std::borrow::Cow::Borrowed(text), false),
        Err(_) => (std::borrow::Cow::Owned(STANDARD.encode(&entry.value)), true),
    };
    let item = OutItem {
        key,
        value,
        base64,
        expiration: entry.expiration,
        // A top-level `null` reads back as none (the wire's own ambiguity): left out, so an
        // export of the import is the same bytes.
        metadata: entry.metadata.as_ref().filter(|m| m.as_json() != "null"),
    };
    serde_json::to_writer(out, &item).map_err(std::io::Error::other)
}
