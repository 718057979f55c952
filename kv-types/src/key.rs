//! [`Key`]: a validated key name and its percent-encoded path segment.

use std::borrow::{Borrow, Cow};
use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ValidationError;
use crate::limits::Limits;

/// Every byte outside the unreserved set of RFC 3986 (`A-Z a-z 0-9 - . _ ~`) is encoded, `/`
/// included, so a key is always exactly one path segment.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A key name: 1 to 512 bytes of UTF-8, not `.` or `..`. Case-sensitive; any other character is
/// allowed, `/`, `?`, `#`, `%`, spaces and non-ASCII included.
///
/// ```
/// use kv_types::Key;
///
/// let key = Key::new("users/42?x#y")?;
/// assert_eq!(key.to_path_segment(), "users%2F42%3Fx%23y");
/// assert_eq!(Key::from_path_segment("users%2F42%3Fx%23y")?, key);
/// # Ok::<(), kv_types::ValidationError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(String);

impl Key {
    /// Validates `name` against the production limits.
    pub fn new(name: impl Into<String>) -> Result<Key, ValidationError> {
        Key::with_limits(name, &Limits::PRODUCTION)
    }

    /// Validates `name` against the given limits.
    pub fn with_limits(name: impl Into<String>, limits: &Limits) -> Result<Key, ValidationError> {
        let name = name.into();
        limits.check_key(&name)?;
        Ok(Key(name))
    }

    /// Decodes a percent-encoded path segment (decoded exactly once) and validates the result.
    pub fn from_path_segment(segment: &str) -> Result<Key, ValidationError> {
        Key::new(Key::decode_path_segment(segment)?.into_owned())
    }

    /// Decodes a percent-encoded path segment exactly once, without checking the name against
    /// any limit (borrowed when nothing is encoded). For a server that checks names against its
    /// own [`Limits`] later; [`from_path_segment`](Self::from_path_segment) is this and
    /// [`Key::new`].
    ///
    /// ```
    /// use kv_types::Key;
    ///
    /// assert_eq!(Key::decode_path_segment("a%2F..%2Fb")?, "a/../b");
    /// assert_eq!(Key::decode_path_segment("")?, ""); // not a valid key, but decoded
    /// assert!(Key::decode_path_segment("%FF").is_err());
    /// # Ok::<(), kv_types::ValidationError>(())
    /// ```
    pub fn decode_path_segment(segment: &str) -> Result<Cow<'_, str>, ValidationError> {
        percent_decode_str(segment)
            .decode_utf8()
            .map_err(|_| ValidationError::KeyNotUtf8 {
                segment: segment.to_owned(),
            })
    }

    /// The key as one path segment: every byte outside the unreserved set percent-encoded.
    pub fn to_path_segment(&self) -> String {
        utf8_percent_encode(&self.0, PATH_SEGMENT).to_string()
    }

    /// The key name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Length of the name in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: a key is never empty. Present for symmetry with [`len`](Self::len).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The name, by value.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Key {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Key {
    type Error = ValidationError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Key::new(value)
    }
}

impl TryFrom<String> for Key {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Key::new(value)
    }
}

impl std::str::FromStr for Key {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Key::new(s)
    }
}

impl Serialize for Key {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Key::new(name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_boundary_ascii() {
        assert!(Key::new("k".repeat(512)).is_ok());
        assert_eq!(
            Key::new("k".repeat(513)),
            Err(ValidationError::KeyTooLong { len: 513, max: 512 })
        );
    }

    #[test]
    fn length_boundary_multibyte_across_the_limit() {
        // 510 ASCII bytes + a 3-byte character = 513 bytes, though only 511 characters.
        let over = format!("{}€", "a".repeat(510));
        assert_eq!(over.chars().count(), 511);
        assert_eq!(
            Key::new(over),
            Err(ValidationError::KeyTooLong { len: 513, max: 512 })
        );
        // 509 + 3 = 512 bytes exactly.
        let at = format!("{}€", "a".repeat(509));
        assert_eq!(Key::new(at).map(|k| k.len()), Ok(512));
    }

    #[test]
    fn empty_and_dots() {
        assert_eq!(Key::new(""), Err(ValidationError::EmptyKey));
        assert_eq!(
            Key::new("."),
            Err(ValidationError::DotKey { key: ".".into() })
        );
        assert_eq!(
            Key::new(".."),
            Err(ValidationError::DotKey { key: "..".into() })
        );
        assert!(Key::new("...").is_ok());
        assert!(Key::new("a/../b").is_ok());
    }

    fn round_trip(name: &str) -> String {
        let key = Key::new(name).expect("valid key");
        let segment = key.to_path_segment();
        assert!(!segment.contains('/'), "segment {segment} has a slash");
        assert_eq!(Key::from_path_segment(&segment).expect("decodes"), key);
        segment
    }

    #[test]
    fn encoding_round_trips() {
        assert_eq!(round_trip("a/b"), "a%2Fb");
        assert_eq!(round_trip("a?b"), "a%3Fb");
        assert_eq!(round_trip("a#b"), "a%23b");
        assert_eq!(round_trip("100%"), "100%25");
        assert_eq!(round_trip("with space"), "with%20space");
        assert_eq!(round_trip("../bulk"), "..%2Fbulk");
        assert_eq!(round_trip("a/../../keys"), "a%2F..%2F..%2Fkeys");
        assert_eq!(
            round_trip("ключ-日本"),
            "%D0%BA%D0%BB%D1%8E%D1%87-%E6%97%A5%E6%9C%AC"
        );
        assert_eq!(round_trip("safe-._~AZaz09"), "safe-._~AZaz09");
        round_trip("%2F literally");
        round_trip("+&=;:@$,");
    }

    #[test]
    fn decoding_is_done_once() {
        // "%252F" decodes to the three characters "%2F", not to "/".
        assert_eq!(
            Key::from_path_segment("%252F").expect("decodes").as_str(),
            "%2F"
        );
    }

    #[test]
    fn decoding_rejects_bad_utf8_and_bad_keys() {
        assert!(matches!(
            Key::from_path_segment("%FF"),
            Err(ValidationError::KeyNotUtf8 { .. })
        ));
        assert_eq!(
            Key::from_path_segment("%2E%2E"),
            Err(ValidationError::DotKey { key: "..".into() })
        );
    }

    #[test]
    fn serde_validates() {
        let key: Key = serde_json::from_str("\"a/b\"").expect("valid");
        assert_eq!(key.as_str(), "a/b");
        assert!(serde_json::from_str::<Key>("\"\"").is_err());
    }
}
