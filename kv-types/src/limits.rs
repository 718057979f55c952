//! The numbers of the contract (`spec/CONTRACT.md`, "Limits"): production limits as constants, and [`Limits`] so a fake can be
//! configured with smaller ones in tests.
//!
//! Every check of a limit lives here, so the client (which validates before sending) and the mock
//! (which enforces on receipt) cannot drift apart.

use crate::error::ValidationError;

/// Longest key, in bytes of its UTF-8 encoding.
pub const MAX_KEY_BYTES: usize = 512;
/// Largest value, in bytes: 25 MiB.
pub const MAX_VALUE_BYTES: usize = 25 * 1024 * 1024;
/// Largest metadata, in bytes of its serialized JSON.
pub const MAX_METADATA_BYTES: usize = 1024;
/// Shortest `expiration_ttl`, in seconds; also how far in the future an absolute `expiration`
/// must be.
pub const MIN_TTL_SECS: u64 = 60;
/// Smallest `limit` a list request may ask for.
pub const MIN_LIST_LIMIT: u32 = 10;
/// Largest `limit` a list request may ask for, and the default.
pub const MAX_LIST_LIMIT: u32 = 1000;
/// Most items in one bulk write or bulk delete.
pub const MAX_BULK_ITEMS: usize = 10_000;
/// Largest body of one bulk write or bulk delete, in bytes (100 MB).
pub const MAX_BULK_BYTES: usize = 100_000_000;
/// Most keys in one bulk get.
pub const MAX_BULK_GET_KEYS: usize = 100;
/// Longest namespace title, in characters (Cloudflare's OpenAPI: `maxLength: 512`).
pub const MAX_NAMESPACE_TITLE_CHARS: usize = 512;
/// Writes allowed to one key per second.
pub const WRITES_PER_KEY_PER_SECOND: u32 = 1;

/// The limits a store enforces. [`Limits::PRODUCTION`] (also the [`Default`]) holds the numbers of
/// the real service; a fake may be configured with smaller ones so tests of a limit stay small.
///
/// ```
/// use kv_types::Limits;
///
/// let small = Limits { max_value_bytes: 1024, ..Limits::PRODUCTION };
/// assert!(small.check_value_len(1024).is_ok());
/// assert!(small.check_value_len(1025).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest key, in bytes.
    pub max_key_bytes: usize,
    /// Largest value, in bytes.
    pub max_value_bytes: usize,
    /// Largest metadata JSON, in bytes.
    pub max_metadata_bytes: usize,
    /// Shortest TTL, in seconds.
    pub min_ttl_secs: u64,
    /// Smallest list `limit`.
    pub min_list_limit: u32,
    /// Largest (and default) list `limit`.
    pub max_list_limit: u32,
    /// Most items in a bulk write or delete.
    pub max_bulk_items: usize,
    /// Largest bulk write or delete body, in bytes.
    pub max_bulk_bytes: usize,
    /// Most keys in a bulk get.
    pub max_bulk_get_keys: usize,
}

impl Limits {
    /// The numbers of the real service.
    pub const PRODUCTION: Limits = Limits {
        max_key_bytes: MAX_KEY_BYTES,
        max_value_bytes: MAX_VALUE_BYTES,
        max_metadata_bytes: MAX_METADATA_BYTES,
        min_ttl_secs: MIN_TTL_SECS,
        min_list_limit: MIN_LIST_LIMIT,
        max_list_limit: MAX_LIST_LIMIT,
        max_bulk_items: MAX_BULK_ITEMS,
        max_bulk_bytes: MAX_BULK_BYTES,
        max_bulk_get_keys: MAX_BULK_GET_KEYS,
    };

    /// Checks a key name: not empty, not `.` or `..`, at most `max_key_bytes` of UTF-8.
    pub fn check_key(&self, name: &str) -> Result<(), ValidationError> {
        match name {
            "" => Err(ValidationError::EmptyKey),
            "." | ".." => Err(ValidationError::DotKey {
                key: name.to_owned(),
            }),
            _ if name.len() > self.max_key_bytes => Err(ValidationError::KeyTooLong {
                len: name.len(),
                max: self.max_key_bytes,
            }),
            _ => Ok(()),
        }
    }

    /// Checks the length of a value, in bytes.
    pub fn check_value_len(&self, len: usize) -> Result<(), ValidationError> {
        if len > self.max_value_bytes {
            Err(ValidationError::ValueTooLarge {
                len,
                max: self.max_value_bytes,
            })
        } else {
            Ok(())
        }
    }

    /// Checks the length of serialized metadata, in bytes.
    pub fn check_metadata_len(&self, len: usize) -> Result<(), ValidationError> {
        if len > self.max_metadata_bytes {
            Err(ValidationError::MetadataTooLarge {
                len,
                max: self.max_metadata_bytes,
            })
        } else {
            Ok(())
        }
    }

    /// Checks an `expiration_ttl`, in seconds.
    pub fn check_ttl(&self, ttl: u64) -> Result<(), ValidationError> {
        if ttl < self.min_ttl_secs {
            Err(ValidationError::TtlTooShort {
                ttl,
                min: self.min_ttl_secs,
            })
        } else {
            Ok(())
        }
    }

    /// Checks an absolute `expiration` (epoch seconds) against the time `now` (epoch seconds): it
    /// must be at least `min_ttl_secs` in the future.
    pub fn check_expiration(&self, expiration: u64, now: u64) -> Result<(), ValidationError> {
        if expiration < now.saturating_add(self.min_ttl_secs) {
            Err(ValidationError::ExpirationTooSoon {
                expiration,
                min: self.min_ttl_secs,
            })
        } else {
            Ok(())
        }
    }

    /// Checks a list `limit`.
    pub fn check_list_limit(&self, limit: u32) -> Result<(), ValidationError> {
        if limit < self.min_list_limit || limit > self.max_list_limit {
            Err(ValidationError::ListLimitOutOfRange {
                limit,
                min: self.min_list_limit,
                max: self.max_list_limit,
            })
        } else {
            Ok(())
        }
    }

    /// Checks the number of items of a bulk write or delete.
    pub fn check_bulk_items(&self, count: usize) -> Result<(), ValidationError> {
        if count > self.max_bulk_items {
            Err(ValidationError::BulkTooManyItems {
                count,
                max: self.max_bulk_items,
            })
        } else {
            Ok(())
        }
    }

    /// Checks the size in bytes of a bulk write or delete body.
    pub fn check_bulk_bytes(&self, len: usize) -> Result<(), ValidationError> {
        if len > self.max_bulk_bytes {
            Err(ValidationError::BulkTooLarge {
                len,
                max: self.max_bulk_bytes,
            })
        } else {
            Ok(())
        }
    }

    /// Checks the number of keys of a bulk get.
    pub fn check_bulk_get_keys(&self, count: usize) -> Result<(), ValidationError> {
        if count > self.max_bulk_get_keys {
            Err(ValidationError::BulkGetTooManyKeys {
                count,
                max: self.max_bulk_get_keys,
            })
        } else {
            Ok(())
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::PRODUCTION
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Limits = Limits::PRODUCTION;

    #[test]
    fn ttl_boundary() {
        assert_eq!(
            P.check_ttl(59),
            Err(ValidationError::TtlTooShort { ttl: 59, min: 60 })
        );
        assert_eq!(P.check_ttl(60), Ok(()));
    }

    #[test]
    fn expiration_boundary() {
        let now = 1_700_000_000;
        assert!(P.check_expiration(now + 59, now).is_err());
        assert!(P.check_expiration(now, now).is_err());
        assert_eq!(P.check_expiration(now + 60, now), Ok(()));
    }

    #[test]
    fn value_boundary() {
        assert_eq!(P.check_value_len(26_214_400), Ok(()));
        assert_eq!(
            P.check_value_len(26_214_401),
            Err(ValidationError::ValueTooLarge {
                len: 26_214_401,
                max: 26_214_400
            })
        );
        assert_eq!(P.check_value_len(0), Ok(()));
    }

    #[test]
    fn metadata_boundary() {
        assert_eq!(P.check_metadata_len(1024), Ok(()));
        assert!(P.check_metadata_len(1025).is_err());
    }

    #[test]
    fn list_limit_boundaries() {
        assert!(P.check_list_limit(9).is_err());
        assert_eq!(P.check_list_limit(10), Ok(()));
        assert_eq!(P.check_list_limit(1000), Ok(()));
        assert_eq!(
            P.check_list_limit(1001),
            Err(ValidationError::ListLimitOutOfRange {
                limit: 1001,
                min: 10,
                max: 1000
            })
        );
    }

    #[test]
    fn bulk_boundaries() {
        assert_eq!(P.check_bulk_items(10_000), Ok(()));
        assert!(P.check_bulk_items(10_001).is_err());
        assert_eq!(P.check_bulk_get_keys(100), Ok(()));
        assert!(P.check_bulk_get_keys(101).is_err());
        assert_eq!(P.check_bulk_bytes(100_000_000), Ok(()));
        assert!(P.check_bulk_bytes(100_000_001).is_err());
    }

    #[test]
    fn smaller_limits_apply() {
        let small = Limits {
            max_key_bytes: 8,
            ..Limits::PRODUCTION
        };
        assert_eq!(small.check_key("12345678"), Ok(()));
        assert_eq!(
            small.check_key("123456789"),
            Err(ValidationError::KeyTooLong { len: 9, max: 8 })
        );
    }
}
