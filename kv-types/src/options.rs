//! Options of a write ([`PutOptions`]) and of a list ([`ListOptions`]).

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::expiration::Expiration;
use crate::limits::Limits;
use crate::metadata::Metadata;

/// The options of a write, as the edge `put()` takes them: `expiration`, `expirationTtl`,
/// `metadata`. When both expirations are set the TTL wins and `expiration` is ignored, as the API
/// does.
///
/// ```
/// use kv_types::{Expiration, Metadata, PutOptions};
///
/// let opts = PutOptions::new()
///     .expiration(2_000_000_000)
///     .expiration_ttl(300)
///     .metadata(Metadata::new(&serde_json::json!({"v": 1}))?);
/// assert_eq!(opts.effective_expiration(), Some(Expiration::Ttl(300)));
/// # Ok::<(), kv_types::ValidationError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// Absolute expiration, in epoch seconds.
    pub expiration: Option<u64>,
    /// Expiration in seconds from the write; wins over `expiration`.
    pub expiration_ttl: Option<u64>,
    /// Metadata stored with the value; a write without it clears the old one.
    pub metadata: Option<Metadata>,
}

impl PutOptions {
    /// No expiration, no metadata.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the absolute expiration (epoch seconds).
    pub fn expiration(mut self, epoch_secs: u64) -> Self {
        self.expiration = Some(epoch_secs);
        self
    }

    /// Sets the TTL in seconds.
    pub fn expiration_ttl(mut self, secs: u64) -> Self {
        self.expiration_ttl = Some(secs);
        self
    }

    /// Sets the metadata.
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// The expiration that applies: the TTL when set, else the absolute time, else none.
    pub fn effective_expiration(&self) -> Option<Expiration> {
        match (self.expiration_ttl, self.expiration) {
            (Some(ttl), _) => Some(Expiration::Ttl(ttl)),
            (None, Some(at)) => Some(Expiration::At(at)),
            (None, None) => None,
        }
    }

    /// Checks what can be checked without a clock: the TTL and the metadata size.
    pub fn check(&self, limits: &Limits) -> Result<(), ValidationError> {
        if let Some(exp) = self.effective_expiration() {
            exp.check(limits)?;
        }
        if let Some(m) = &self.metadata {
            limits.check_metadata_len(m.len())?;
        }
        Ok(())
    }
}

/// The options of one list request: a literal prefix, a page size (10 to 1000, default 1000) and
/// the cursor of the previous page.
///
/// ```
/// use kv_types::{Limits, ListOptions};
///
/// let opts = ListOptions::new().prefix("users/").limit(100);
/// assert!(opts.check(&Limits::PRODUCTION).is_ok());
/// assert!(ListOptions::new().limit(9).check(&Limits::PRODUCTION).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOptions {
    /// Only keys that start with this (literal, case-sensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Page size; the server's default (1000) when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The cursor returned with the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

impl ListOptions {
    /// The first page of every key, at the default page size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Sets the page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Sets the cursor; an empty cursor means the first page.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        let cursor = cursor.into();
        self.cursor = (!cursor.is_empty()).then_some(cursor);
        self
    }

    /// Checks the page size.
    pub fn check(&self, limits: &Limits) -> Result<(), ValidationError> {
        match self.limit {
            Some(limit) => limits.check_list_limit(limit),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_wins() {
        let o = PutOptions::new().expiration(5).expiration_ttl(60);
        assert_eq!(o.effective_expiration(), Some(Expiration::Ttl(60)));
        let o = PutOptions::new().expiration(5);
        assert_eq!(o.effective_expiration(), Some(Expiration::At(5)));
        assert_eq!(PutOptions::new().effective_expiration(), None);
    }

    #[test]
    fn put_check() {
        let p = Limits::PRODUCTION;
        assert!(PutOptions::new().expiration_ttl(59).check(&p).is_err());
        assert!(PutOptions::new().expiration_ttl(60).check(&p).is_ok());
        // An ignored absolute expiration is not checked when a TTL wins.
        assert!(
            PutOptions::new()
                .expiration(1)
                .expiration_ttl(60)
                .check(&p)
                .is_ok()
        );
        let small = Limits {
            max_metadata_bytes: 4,
            ..p
        };
        let m = Metadata::from_json("12345").expect("valid");
        assert!(PutOptions::new().metadata(m).check(&small).is_err());
    }

    #[test]
    fn list_limits() {
        let p = Limits::PRODUCTION;
        for (limit, ok) in [(9, false), (10, true), (1000, true), (1001, false)] {
            assert_eq!(
                ListOptions::new().limit(limit).check(&p).is_ok(),
                ok,
                "{limit}"
            );
        }
        assert_eq!(ListOptions::new().cursor("").cursor, None);
    }
}
