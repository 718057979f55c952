//! What a check found ([`Outcome`], [`Failure`]) and what a run found ([`Report`]), with the
//! small helpers the checks use to say what went wrong.

use std::fmt;

use crate::error::ValidationError;
use crate::store::{ErrorKind, StoreError};

/// A check passed, or did not apply to this store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Every assertion of the check held.
    Passed,
    /// The check did not run, for this reason (a capability the harness does not give).
    Skipped(String),
}

/// A check failed: what the store did against what the contract says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    message: String,
}

impl Failure {
    /// A failure with this message.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
        }
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// What one check returns.
pub type CheckResult = Result<Outcome, Failure>;

/// The outcome of every check of one [`run`](super::run), in the order they ran.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Each check's name and outcome.
    pub checks: Vec<(&'static str, CheckResult)>,
}

impl Report {
    /// The checks that failed, with their failures.
    pub fn failures(&self) -> impl Iterator<Item = (&'static str, &Failure)> {
        self.checks
            .iter()
            .filter_map(|(name, r)| r.as_ref().err().map(|f| (*name, f)))
    }

    /// The checks that were skipped, with the reason.
    pub fn skipped(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.checks.iter().filter_map(|(name, r)| match r {
            Ok(Outcome::Skipped(why)) => Some((*name, why.as_str())),
            _ => None,
        })
    }

    /// Whether no check failed (skipped checks do not fail a run).
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// Panics with the whole report when a check failed; for use at the end of a test.
    #[track_caller]
    pub fn assert_passed(&self) {
        if !self.passed() {
            panic!("the store does not conform:\n{self}");
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, result) in &self.checks {
            match result {
                Ok(Outcome::Passed) => writeln!(f, "ok      {name}")?,
                Ok(Outcome::Skipped(why)) => writeln!(f, "skipped {name}: {why}")?,
                Err(failure) => writeln!(f, "FAILED  {name}: {failure}")?,
            }
        }
        let failed = self.failures().count();
        let skipped = self.skipped().count();
        write!(
            f,
            "{} checks: {} passed, {failed} failed, {skipped} skipped",
            self.checks.len(),
            self.checks.len() - failed - skipped
        )
    }
}

/// Fails the check with a message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::conformance::report::Failure::new(format!($($fmt)+)));
        }
    };
}

/// Fails the check unless `left == right`, showing both.
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($fmt:tt)+) => {
        match (&$left, &$right) {
            (l, r) => {
                if l != r {
                    return Err($crate::conformance::report::Failure::new(format!(
                        "{}: got {:?}, expected {:?}",
                        format_args!($($fmt)+),
                        l,
                        r
                    )));
                }
            }
        }
    };
}

pub(crate) use {ensure, ensure_eq};

/// Turns a store error into a failure naming the operation.
pub(crate) trait Context<T> {
    /// The value, or a failure saying `what` failed and how.
    fn ctx(self, what: impl fmt::Display) -> Result<T, Failure>;
}

impl<T, E: StoreError> Context<T> for Result<T, E> {
    fn ctx(self, what: impl fmt::Display) -> Result<T, Failure> {
        self.map_err(|e| Failure::new(format!("{what} failed ({:?}): {e}", e.kind())))
    }
}

/// Checks that `result` is a refusal for breaking a rule: an error of kind
/// [`ErrorKind::Validation`] and, when the store names the rule, one that `rule` accepts.
pub(crate) fn refused<T: fmt::Debug, E: StoreError>(
    result: Result<T, E>,
    what: &str,
    rule: impl Fn(&ValidationError) -> bool,
) -> Result<(), Failure> {
    match result {
        Ok(v) => Err(Failure::new(format!(
            "{what} was accepted (answered {v:?}); the contract refuses it"
        ))),
        Err(e) if e.kind() != ErrorKind::Validation => Err(Failure::new(format!(
            "{what} was refused with kind {:?}, expected Validation: {e}",
            e.kind()
        ))),
        Err(e) => match e.validation() {
            Some(v) if !rule(v) => Err(Failure::new(format!(
                "{what} was refused for the wrong rule: {v}"
            ))),
            _ => Ok(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{0:?}")]
    struct Kind(ErrorKind, Option<ValidationError>);

    impl StoreError for Kind {
        fn kind(&self) -> ErrorKind {
            self.0
        }
        fn validation(&self) -> Option<&ValidationError> {
            self.1.as_ref()
        }
    }

    const TOO_LONG: ValidationError = ValidationError::KeyTooLong { len: 513, max: 512 };

    fn is_too_long(v: &ValidationError) -> bool {
        matches!(v, ValidationError::KeyTooLong { .. })
    }

    #[test]
    fn refused_accepts_only_the_right_refusal() {
        let ok: Result<(), Kind> = Err(Kind(ErrorKind::Validation, Some(TOO_LONG)));
        assert_eq!(refused(ok, "put", is_too_long), Ok(()));
        let unnamed: Result<(), Kind> = Err(Kind(ErrorKind::Validation, None));
        assert_eq!(refused(unnamed, "put", is_too_long), Ok(()));

        let accepted: Result<u8, Kind> = Ok(7);
        let f = refused(accepted, "put of a long key", is_too_long).expect_err("accepted");
        assert_eq!(
            f.message(),
            "put of a long key was accepted (answered 7); the contract refuses it"
        );
        let other: Result<(), Kind> = Err(Kind(ErrorKind::Other, None));
        let f = refused(other, "put", is_too_long).expect_err("wrong kind");
        assert!(
            f.message().contains("kind Other, expected Validation"),
            "{f}"
        );
        let wrong: Result<(), Kind> =
            Err(Kind(ErrorKind::Validation, Some(ValidationError::EmptyKey)));
        let f = refused(wrong, "put", is_too_long).expect_err("wrong rule");
        assert!(f.message().contains("wrong rule"), "{f}");
    }

    #[test]
    fn context_names_the_operation_and_the_kind() {
        let r: Result<(), Kind> = Err(Kind(ErrorKind::Unavailable, None));
        let f = r.ctx("get \"k\"").expect_err("an error");
        assert_eq!(f.message(), "get \"k\" failed (Unavailable): Unavailable");
    }

    #[test]
    fn report_counts_and_fails_only_on_failures() {
        let mut report = Report::default();
        report.checks.push(("a", Ok(Outcome::Passed)));
        report
            .checks
            .push(("b", Ok(Outcome::Skipped("no clock".into()))));
        assert!(report.passed());
        report.assert_passed();
        report.checks.push(("c", Err(Failure::new("broken"))));
        assert!(!report.passed());
        assert_eq!(
            report.to_string(),
            "ok      a\nskipped b: no clock\nFAILED  c: broken\n3 checks: 1 passed, 1 failed, 1 skipped"
        );
        let panic = std::panic::catch_unwind(|| report.assert_passed()).expect_err("panics");
        let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(text.contains("FAILED  c: broken"), "{text}");
    }
}
