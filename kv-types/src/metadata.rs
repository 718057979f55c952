//! [`Metadata`]: JSON of at most 1024 bytes stored beside a value, kept exactly as given.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::error::ValidationError;
use crate::limits::Limits;

/// Metadata: any JSON value whose serialized form is at most 1024 bytes. It is kept as the JSON
/// text it was given (key order and number forms included) and read back into any
/// `DeserializeOwned`.
///
/// ```
/// use kv_types::Metadata;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct Meta { version: u32 }
///
/// let m = Metadata::new(&Meta { version: 2 })?;
/// assert_eq!(m.as_json(), r#"{"version":2}"#);
/// assert_eq!(m.decode::<Meta>().unwrap(), Meta { version: 2 });
/// assert!(Metadata::new(&"x".repeat(1023)).is_err()); // 1025 bytes with its quotes
/// # Ok::<(), kv_types::ValidationError>(())
/// ```
#[derive(Clone)]
pub struct Metadata(Box<RawValue>);

impl Metadata {
    /// Serializes `value` and checks the size against the production limit.
    pub fn new<T: Serialize + ?Sized>(value: &T) -> Result<Metadata, ValidationError> {
        let text = serde_json::to_string(value).map_err(|e| ValidationError::MetadataNotJson {
            reason: e.to_string(),
        })?;
        Metadata::from_json(text)
    }

    /// Parses JSON text (as received on the wire) and checks the size against the production
    /// limit.
    pub fn from_json(text: impl Into<String>) -> Result<Metadata, ValidationError> {
        Metadata::from_json_with_limits(text, &Limits::PRODUCTION)
    }

    /// Parses JSON text and checks the size against the given limits.
    pub fn from_json_with_limits(
        text: impl Into<String>,
        limits: &Limits,
    ) -> Result<Metadata, ValidationError> {
        let text = text.into();
        limits.check_metadata_len(text.len())?;
        Metadata::from_json_any_size(text)
    }

    /// Parses JSON text without checking its size: for a store that checks the size against its
    /// own limits when it writes (kv-mock's engine), so the rule is checked in one place.
    /// Everything else should use [`from_json`](Self::from_json) or
    /// [`from_json_with_limits`](Self::from_json_with_limits).
    ///
    /// ```
    /// use kv_types::Metadata;
    ///
    /// let big = format!("\"{}\"", "m".repeat(2000));
    /// assert_eq!(Metadata::from_json_any_size(big).map(|m| m.len()), Ok(2002));
    /// assert!(Metadata::from_json_any_size("{nope").is_err());
    /// ```
    pub fn from_json_any_size(text: impl Into<String>) -> Result<Metadata, ValidationError> {
        RawValue::from_string(text.into())
            .map(Metadata)
            .map_err(|e| ValidationError::MetadataNotJson {
                reason: e.to_string(),
            })
    }

    /// The JSON text, exactly as given.
    pub fn as_json(&self) -> &str {
        self.0.get()
    }

    /// Length of the JSON text in bytes.
    pub fn len(&self) -> usize {
        self.0.get().len()
    }

    /// Whether the JSON text is empty; never true for valid JSON.
    pub fn is_empty(&self) -> bool {
        self.0.get().is_empty()
    }

    /// Reads the metadata back into `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }
}

impl PartialEq for Metadata {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Eq for Metadata {}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Metadata").field(&self.0.get()).finish()
    }
}

impl fmt::Display for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.get())
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        Metadata::from_json(raw.get().to_owned()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// JSON text of exactly `len` bytes: a string of `len - 2` characters and its quotes.
    fn json_of_len(len: usize) -> String {
        format!("\"{}\"", "m".repeat(len - 2))
    }

    #[test]
    fn size_boundary() {
        assert_eq!(
            Metadata::from_json(json_of_len(1024)).map(|m| m.len()),
            Ok(1024)
        );
        assert_eq!(
            Metadata::from_json(json_of_len(1025)),
            Err(ValidationError::MetadataTooLarge {
                len: 1025,
                max: 1024
            })
        );
        assert_eq!(Metadata::new(&"m".repeat(1022)).map(|m| m.len()), Ok(1024));
    }

    #[test]
    fn not_json_is_rejected() {
        assert!(matches!(
            Metadata::from_json("{not json"),
            Err(ValidationError::MetadataNotJson { .. })
        ));
    }

    #[test]
    fn kept_exactly_as_given() {
        let text = r#"{"b": 1.50, "a": [true]}"#;
        let m = Metadata::from_json(text).expect("valid");
        assert_eq!(m.as_json(), text);
        assert_eq!(serde_json::to_string(&m).expect("serializes"), text);
        let back: Metadata = serde_json::from_str(text).expect("deserializes");
        assert_eq!(back, m);
    }

    #[test]
    fn typed_read_back() {
        let m = Metadata::new(&serde_json::json!({"tags": ["a", "b"]})).expect("valid");
        let v: std::collections::BTreeMap<String, Vec<String>> = m.decode().expect("decodes");
        assert_eq!(v["tags"], vec!["a", "b"]);
    }
}
