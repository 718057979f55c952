//! [`Expiration`]: when a key stops existing.

use crate::error::ValidationError;
use crate::limits::Limits;

/// When a written key expires: at an absolute time, or after a TTL counted from the write.
///
/// ```
/// use kv_types::{Expiration, Limits};
///
/// let now = 1_700_000_000;
/// assert_eq!(Expiration::Ttl(300).resolve(now, &Limits::PRODUCTION), Ok(now + 300));
/// assert!(Expiration::Ttl(59).resolve(now, &Limits::PRODUCTION).is_err());
/// assert!(Expiration::At(now + 30).resolve(now, &Limits::PRODUCTION).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expiration {
    /// At this time, in seconds since the Unix epoch; at least 60 s in the future when written.
    At(u64),
    /// This many seconds after the write; at least 60.
    Ttl(u64),
}

impl Expiration {
    /// Checks the rule and gives the absolute expiration (epoch seconds) for a write at `now`.
    pub fn resolve(self, now: u64, limits: &Limits) -> Result<u64, ValidationError> {
        match self {
            Expiration::At(at) => {
                limits.check_expiration(at, now)?;
                Ok(at)
            }
            Expiration::Ttl(ttl) => {
                limits.check_ttl(ttl)?;
                Ok(now.saturating_add(ttl))
            }
        }
    }

    /// Checks the parts of the rule that do not depend on the time (the minimum TTL). An absolute
    /// expiration can only be checked against a clock, by [`resolve`](Self::resolve).
    pub fn check(self, limits: &Limits) -> Result<(), ValidationError> {
        match self {
            Expiration::At(_) => Ok(()),
            Expiration::Ttl(ttl) => limits.check_ttl(ttl),
        }
    }
}

/// Parses a query parameter that must be a positive integer of seconds (`expiration` or
/// `expiration_ttl` as received on the wire), mapping text that is not one to the rule's error.
pub fn parse_wire_seconds(raw: &str, ttl: bool, limits: &Limits) -> Result<u64, ValidationError> {
    match raw.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ if ttl => Err(ValidationError::TtlNotInteger {
            raw: raw.to_owned(),
            min: limits.min_ttl_secs,
        }),
        _ => Err(ValidationError::ExpirationNotInteger {
            raw: raw.to_owned(),
            min: limits.min_ttl_secs,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Limits = Limits::PRODUCTION;

    #[test]
    fn ttl_59_and_60() {
        assert_eq!(
            Expiration::Ttl(59).resolve(1000, &P),
            Err(ValidationError::TtlTooShort { ttl: 59, min: 60 })
        );
        assert_eq!(Expiration::Ttl(60).resolve(1000, &P), Ok(1060));
        assert!(Expiration::Ttl(59).check(&P).is_err());
        assert!(Expiration::Ttl(60).check(&P).is_ok());
    }

    #[test]
    fn absolute_needs_sixty_seconds() {
        assert!(Expiration::At(1059).resolve(1000, &P).is_err());
        assert_eq!(Expiration::At(1060).resolve(1000, &P), Ok(1060));
    }

    #[test]
    fn wire_seconds() {
        assert_eq!(parse_wire_seconds("300", true, &P), Ok(300));
        for bad in ["", "abc", "-5", "60.5", "0"] {
            assert!(matches!(
                parse_wire_seconds(bad, true, &P),
                Err(ValidationError::TtlNotInteger { .. })
            ));
            assert!(matches!(
                parse_wire_seconds(bad, false, &P),
                Err(ValidationError::ExpirationNotInteger { .. })
            ));
        }
    }
}
