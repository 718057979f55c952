//! Bulk write, delete and get: the items and results as the wire carries them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metadata::Metadata;

/// One item of a bulk write: `{key, value, base64?, expiration?, expiration_ttl?, metadata?}`.
/// `value` is text, or base64 of the bytes when `base64` is true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkWriteItem {
    /// The key name.
    pub key: String,
    /// The value: text, or base64 when `base64` is true.
    pub value: String,
    /// Whether `value` is base64.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub base64: bool,
    /// Absolute expiration, in epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<u64>,
    /// TTL in seconds; wins over `expiration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_ttl: Option<u64>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// The result of a bulk write or delete.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkResult {
    /// Keys written or deleted.
    #[serde(default)]
    pub successful_key_count: u64,
    /// Keys that were not.
    #[serde(default)]
    pub unsuccessful_keys: Vec<String>,
}

/// How a bulk get returns values: as text (the default) or parsed JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BulkGetType {
    /// Values as JSON strings.
    #[default]
    Text,
    /// Values parsed as JSON.
    Json,
}

/// The body of a bulk get: `{keys, type?, withMetadata?}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkGetRequest {
    /// The keys to read, at most 100.
    pub keys: Vec<String>,
    /// How to return values.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub value_type: Option<BulkGetType>,
    /// Whether to return metadata and expiration too.
    #[serde(
        rename = "withMetadata",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub with_metadata: bool,
}

/// One value of a bulk get with metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkGetEntry {
    /// The value: a JSON string for `text`, the parsed JSON for `json`.
    pub value: serde_json::Value,
    /// The metadata, `null` when none.
    #[serde(default)]
    pub metadata: Option<Metadata>,
    /// When it expires, in epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<u64>,
}

/// The result of a bulk get without metadata: `{values: {key: value | null}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BulkGetResult {
    /// Each key asked for, with its value, or `null` when absent.
    pub values: BTreeMap<String, Option<serde_json::Value>>,
}

/// The result of a bulk get with metadata: `{values: {key: {value, metadata, expiration?} | null}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BulkGetWithMetadataResult {
    /// Each key asked for, with its entry, or `null` when absent.
    pub values: BTreeMap<String, Option<BulkGetEntry>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_item_wire_form() {
        let item = BulkWriteItem {
            key: "k".into(),
            value: "aGk=".into(),
            base64: true,
            expiration: None,
            expiration_ttl: Some(60),
            metadata: None,
        };
        assert_eq!(
            serde_json::to_string(&item).expect("ok"),
            r#"{"key":"k","value":"aGk=","base64":true,"expiration_ttl":60}"#
        );
        let back: BulkWriteItem = serde_json::from_str(r#"{"key":"k","value":"v"}"#).expect("ok");
        assert!(!back.base64);
    }

    #[test]
    fn get_request_wire_form() {
        let req = BulkGetRequest {
            keys: vec!["a".into()],
            value_type: Some(BulkGetType::Json),
            with_metadata: true,
        };
        assert_eq!(
            serde_json::to_string(&req).expect("ok"),
            r#"{"keys":["a"],"type":"json","withMetadata":true}"#
        );
    }

    #[test]
    fn get_result_with_nulls() {
        let r: BulkGetWithMetadataResult =
            serde_json::from_str(r#"{"values":{"a":{"value":"x","metadata":null},"b":null}}"#)
                .expect("ok");
        assert_eq!(r.values["b"], None);
        assert_eq!(
            r.values["a"].as_ref().map(|e| e.value.clone()),
            Some(serde_json::json!("x"))
        );
    }
}
