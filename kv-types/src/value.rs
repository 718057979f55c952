//! [`Value`]: the bytes stored under a key, with the conversions users expect.

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ValidationError;

/// A value: any bytes, 0 to 25 MiB. The edge API infers the stored form from what it is given
/// (text stays text, an object is stored as its JSON text, binary as bytes); the stored form is
/// always bytes, and so is this type.
///
/// ```
/// use kv_types::Value;
///
/// assert_eq!(Value::from("hello").as_bytes(), b"hello");
/// assert_eq!(Value::from(vec![0u8, 159]).len(), 2);
/// let json = Value::json(&serde_json::json!({"a": 1}))?;
/// assert_eq!(json.as_bytes(), br#"{"a":1}"#);
/// # Ok::<(), kv_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Value(Bytes);

impl Value {
    /// The JSON text of any `Serialize`.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Value, ValidationError> {
        serde_json::to_vec(value)
            .map(|v| Value(Bytes::from(v)))
            .map_err(|e| ValidationError::ValueNotJson {
                reason: e.to_string(),
            })
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value is empty (an empty value is allowed).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bytes, by value (no copy).
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The value as UTF-8 text, if it is.
    pub fn as_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The value parsed as JSON into `T`.
    pub fn parse_json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.0)
    }
}

impl From<Bytes> for Value {
    fn from(b: Bytes) -> Self {
        Value(b)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value(Bytes::from(v))
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value(Bytes::copy_from_slice(v))
    }
}

impl<const N: usize> From<&[u8; N]> for Value {
    fn from(v: &[u8; N]) -> Self {
        Value(Bytes::copy_from_slice(v))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value(Bytes::from(s))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::from(s.as_str())
    }
}

impl From<Value> for Bytes {
    fn from(v: Value) -> Self {
        v.0
    }
}

impl AsRef<[u8]> for Value {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    #[test]
    fn conversions() {
        assert_eq!(Value::from("é").as_bytes(), "é".as_bytes());
        assert_eq!(Value::from(String::from("s")).as_text(), Some("s"));
        assert_eq!(Value::from(&b"\x00\xff"[..]).as_text(), None);
        assert_eq!(Value::from(Bytes::from_static(b"b")).into_bytes(), "b");
        assert!(Value::from(Vec::new()).is_empty());
    }

    #[test]
    fn json_round_trip() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Point {
            x: i32,
        }
        let v = Value::json(&Point { x: 3 }).expect("serializes");
        assert_eq!(v.parse_json::<Point>().expect("parses"), Point { x: 3 });
    }

    #[test]
    fn json_failure_is_typed() {
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1);
        assert!(matches!(
            Value::json(&map),
            Err(ValidationError::ValueNotJson { .. })
        ));
    }

    #[test]
    fn value_size_boundary() {
        let limits = Limits::PRODUCTION;
        let at = Value::from(vec![0u8; 25 * 1024 * 1024]);
        assert!(limits.check_value_len(at.len()).is_ok());
        let over = Value::from(vec![0u8; 25 * 1024 * 1024 + 1]);
        assert_eq!(
            limits.check_value_len(over.len()),
            Err(ValidationError::ValueTooLarge {
                len: 26_214_401,
                max: 26_214_400
            })
        );
    }
}
