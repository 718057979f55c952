//! [`ValidationError`]: one variant per rule of the contract (`spec/CONTRACT.md`), carrying the
//! numbers.

use crate::codes;

/// A rule of the contract that a request breaks. Raised by the client before anything is sent, and
/// by the mock on receipt; [`status`](Self::status) and [`code`](Self::code) give the HTTP status
/// and error code the service answers with, and the message is the one of the contract's table.
///
/// ```
/// use kv_types::{Key, ValidationError};
///
/// let err = Key::new("x".repeat(513)).unwrap_err();
/// assert_eq!(err, ValidationError::KeyTooLong { len: 513, max: 512 });
/// assert_eq!(err.to_string(), "UTF-8 encoded length of 513 exceeds key length limit of 512.");
/// assert_eq!(err.status(), 414);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The key is the empty string.
    #[error("Key names must not be empty.")]
    EmptyKey,
    /// The key is `.` or `..`.
    #[error("Illegal key name \"{key}\". Key names must not be \".\" or \"..\".")]
    DotKey {
        /// The key as given.
        key: String,
    },
    /// The key is longer than the limit, in bytes of UTF-8.
    #[error("UTF-8 encoded length of {len} exceeds key length limit of {max}.")]
    KeyTooLong {
        /// Length of the key in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A percent-encoded key segment does not decode to UTF-8.
    #[error("Key path segment does not decode to UTF-8: {segment:?}.")]
    KeyNotUtf8 {
        /// The segment as received.
        segment: String,
    },
    /// The value is larger than the limit.
    #[error("Value length of {len} exceeds limit of {max}.")]
    ValueTooLarge {
        /// Length of the value in bytes (for a stream, the bytes seen when it was cut off).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The metadata JSON is larger than the limit.
    #[error("Metadata length of {len} exceeds limit of {max}.")]
    MetadataTooLarge {
        /// Length of the serialized metadata in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The metadata is not valid JSON, or could not be serialized to JSON.
    #[error("Metadata must be valid JSON: {reason}.")]
    MetadataNotJson {
        /// What the JSON parser or serializer said.
        reason: String,
    },
    /// A value could not be serialized to JSON.
    #[error("Value could not be serialized to JSON: {reason}.")]
    ValueNotJson {
        /// What the serializer said.
        reason: String,
    },
    /// The TTL is shorter than the minimum.
    #[error("Invalid expiration_ttl of {ttl}. Expiration TTL must be at least {min}.")]
    TtlTooShort {
        /// The TTL asked for, in seconds.
        ttl: u64,
        /// The minimum.
        min: u64,
    },
    /// The TTL is not a positive integer (as received on the wire).
    #[error("Invalid expiration_ttl of {raw}. Expiration TTL must be at least {min}.")]
    TtlNotInteger {
        /// The text received.
        raw: String,
        /// The minimum.
        min: u64,
    },
    /// The absolute expiration is less than the minimum TTL in the future.
    #[error(
        "Invalid expiration of {expiration}. Expiration times must be at least {min} seconds in the future."
    )]
    ExpirationTooSoon {
        /// The expiration asked for, in epoch seconds.
        expiration: u64,
        /// The minimum distance into the future, in seconds.
        min: u64,
    },
    /// The absolute expiration is not a positive integer (as received on the wire).
    #[error(
        "Invalid expiration of {raw}. Expiration times must be at least {min} seconds in the future."
    )]
    ExpirationNotInteger {
        /// The text received.
        raw: String,
        /// The minimum distance into the future, in seconds.
        min: u64,
    },
    /// The list `limit` is outside the allowed range.
    #[error(
        "Invalid key_count_limit of {limit}. Please specify an integer between {min} and {max}."
    )]
    ListLimitOutOfRange {
        /// The limit asked for.
        limit: u32,
        /// Smallest allowed.
        min: u32,
        /// Largest allowed.
        max: u32,
    },
    /// A bulk write or delete has too many items.
    #[error("Bulk request has {count} items, more than the limit of {max}.")]
    BulkTooManyItems {
        /// Items in the request.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A bulk write or delete body is too large.
    #[error("Bulk request body of {len} bytes exceeds limit of {max}.")]
    BulkTooLarge {
        /// Size of the body in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A bulk get asks for too many keys.
    #[error("Bulk get asks for {count} keys, more than the limit of {max}.")]
    BulkGetTooManyKeys {
        /// Keys in the request.
        count: usize,
        /// The limit.
        max: usize,
    },
}

impl ValidationError {
    /// The HTTP status the service answers a request that breaks this rule with.
    pub fn status(&self) -> u16 {
        match self {
            ValidationError::KeyTooLong { .. } => 414,
            ValidationError::ValueTooLarge { .. }
            | ValidationError::MetadataTooLarge { .. }
            | ValidationError::BulkTooManyItems { .. }
            | ValidationError::BulkTooLarge { .. } => 413,
            _ => 400,
        }
    }

    /// The error code of the contract for this rule (see [`codes`]).
    pub fn code(&self) -> u32 {
        match self {
            ValidationError::EmptyKey
            | ValidationError::DotKey { .. }
            | ValidationError::KeyNotUtf8 { .. } => codes::INVALID_KEY,
            ValidationError::KeyTooLong { .. } => codes::KEY_TOO_LONG,
            ValidationError::ValueTooLarge { .. } => codes::VALUE_TOO_LARGE,
            ValidationError::MetadataTooLarge { .. } => codes::METADATA_TOO_LARGE,
            ValidationError::MetadataNotJson { .. } => codes::INVALID_METADATA,
            ValidationError::ValueNotJson { .. } => codes::INVALID_REQUEST_BODY,
            ValidationError::TtlTooShort { .. } | ValidationError::TtlNotInteger { .. } => {
                codes::INVALID_EXPIRATION_TTL
            }
            ValidationError::ExpirationTooSoon { .. }
            | ValidationError::ExpirationNotInteger { .. } => codes::INVALID_EXPIRATION,
            ValidationError::ListLimitOutOfRange { .. } => codes::INVALID_LIST_LIMIT,
            ValidationError::BulkTooManyItems { .. }
            | ValidationError::BulkGetTooManyKeys { .. } => codes::BULK_TOO_MANY_ITEMS,
            ValidationError::BulkTooLarge { .. } => codes::BULK_TOO_LARGE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_the_contracts() {
        assert_eq!(
            ValidationError::ValueTooLarge {
                len: 26_214_401,
                max: 26_214_400
            }
            .to_string(),
            "Value length of 26214401 exceeds limit of 26214400."
        );
        assert_eq!(
            ValidationError::MetadataTooLarge {
                len: 1025,
                max: 1024
            }
            .to_string(),
            "Metadata length of 1025 exceeds limit of 1024."
        );
        assert_eq!(
            ValidationError::TtlTooShort { ttl: 59, min: 60 }.to_string(),
            "Invalid expiration_ttl of 59. Expiration TTL must be at least 60."
        );
        assert_eq!(
            ValidationError::ExpirationTooSoon {
                expiration: 5,
                min: 60
            }
            .to_string(),
            "Invalid expiration of 5. Expiration times must be at least 60 seconds in the future."
        );
    }

    #[test]
    fn statuses_and_codes() {
        let too_long = ValidationError::KeyTooLong { len: 513, max: 512 };
        assert_eq!(
            (too_long.status(), too_long.code()),
            (414, codes::KEY_TOO_LONG)
        );
        let big = ValidationError::ValueTooLarge { len: 2, max: 1 };
        assert_eq!((big.status(), big.code()), (413, codes::VALUE_TOO_LARGE));
        let ttl = ValidationError::TtlTooShort { ttl: 1, min: 60 };
        assert_eq!(
            (ttl.status(), ttl.code()),
            (400, codes::INVALID_EXPIRATION_TTL)
        );
        assert_eq!(ValidationError::EmptyKey.status(), 400);
    }
}
