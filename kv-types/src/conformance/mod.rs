//! A conformance suite for any [`KvStore`]: what every store of this contract must do, whatever
//! serves it (`spec/CONTRACT.md` in the repository). Enabled by the `conformance` feature, so a
//! store written by someone else (a cache in front of KV, another fake, a client for another
//! transport) can be held to the same checks as this workspace's own: kv-mock's engine, kv-client
//! over HTTP, and the real service.
//!
//! Give the store and what the suite may assume about it to a [`Harness`], then [`run`] every
//! check, or call the checks one by one (each is a public `async fn` taking the harness). A check
//! returns [`Outcome::Passed`], [`Outcome::Skipped`] with the reason (a capability the harness
//! does not give), or a [`Failure`] that says what the store did and what the contract says.
//!
//! ```no_run
//! use kv_types::KvStore;
//! use kv_types::conformance::{self, Harness, WriteLimit};
//!
//! async fn conforms<S: KvStore>(store: S) {
//!     let harness = Harness::new(store).write_limit(WriteLimit::Off);
//!     let report = conformance::run(&harness).await;
//!     println!("{report}");
//!     report.assert_passed();
//! }
//! ```
//!
//! What the suite assumes:
//! - **A Tokio runtime.** It waits with `tokio::time::sleep` (only when the write limit may
//!   apply and there is no movable clock, or for a real-time expiry on a store with a TTL of at
//!   most 2 s) and runs concurrent writes with `tokio::join!`.
//! - **A namespace it may write to.** Every check writes under its own prefix
//!   (`<harness prefix><check name>/`), lists only that prefix and leaves the rest of the
//!   namespace alone; [`run`] deletes what each check wrote. No empty namespace is needed.
//! - **Read your writes.** The suite reads right after it writes, as the contract promises at the
//!   location that wrote. A store that serves reads from elsewhere (another location of the real
//!   service, up to 60 s behind) can fail checks without breaking the contract.
//! - **Checks that move the clock run last** ([`expiry`]), so a client whose own clock checks
//!   absolute expirations (kv-client) still agrees with the store before them.
//!
//! Keys `""`, `.` and `..` cannot be built as a [`Key`](crate::Key), so no store can be handed
//! one; the suite does not probe them.

mod checks;
mod harness;
mod report;

pub use checks::expiry::expiry;
pub use checks::limits::{
    expiration_limit, key_length_limit, list_limit_range, metadata_size_limit, ttl_limit,
    value_size_limit,
};
pub use checks::list::{list_order_and_prefix, list_paging};
pub use checks::values::{metadata_round_trip, odd_keys_round_trip, values_round_trip};
pub use checks::writes::{
    concurrent_writes_never_mix, delete_semantics, last_write_wins, overwrite_replaces_everything,
    write_limit,
};
pub use harness::{Harness, MovableClock, WriteLimit};
pub use report::{CheckResult, Failure, Outcome, Report};

use crate::store::KvStore;

/// The names of every check, in the order [`run`] runs them.
pub const CHECKS: &[&str] = &[
    "values_round_trip",
    "odd_keys_round_trip",
    "metadata_round_trip",
    "key_length_limit",
    "value_size_limit",
    "metadata_size_limit",
    "ttl_limit",
    "expiration_limit",
    "list_limit_range",
    "list_order_and_prefix",
    "list_paging",
    "overwrite_replaces_everything",
    "last_write_wins",
    "concurrent_writes_never_mix",
    "delete_semantics",
    "write_limit",
    "expiry",
];

/// Deletes every key the check `name` wrote (its prefix); a failure to clean up fails the check.
async fn clean_up<S: KvStore>(h: &Harness<S>, name: &str) -> Result<(), Failure> {
    let scope = h.scope(name);
    let (keys, _) = checks::list_all(h.store(), &scope.prefix, None).await?;
    for info in keys {
        let key = crate::Key::with_limits(
            info.name.clone(),
            &crate::Limits {
                max_key_bytes: usize::MAX,
                ..crate::Limits::PRODUCTION
            },
        )
        .map_err(|e| Failure::new(format!("clean-up: listed key {:?}: {e}", info.name)))?;
        report::Context::ctx(
            h.store().delete(&key).await,
            format_args!("clean-up: delete {key:?}"),
        )?;
    }
    Ok(())
}

/// Runs every check of [`CHECKS`] against the harness's store, in that order, cleaning up after
/// each, and reports them all (a failing check does not stop the others).
pub async fn run<S: KvStore>(h: &Harness<S>) -> Report {
    let mut report = Report::default();
    macro_rules! check {
        ($($name:ident),* $(,)?) => {$(
            let mut result = $name(h).await;
            if let Err(failure) = clean_up(h, stringify!($name)).await {
                if result.is_ok() {
                    result = Err(failure);
                }
            }
            report.checks.push((stringify!($name), result));
        )*};
    }
    check!(
        values_round_trip,
        odd_keys_round_trip,
        metadata_round_trip,
        key_length_limit,
        value_size_limit,
        metadata_size_limit,
        ttl_limit,
        expiration_limit,
        list_limit_range,
        list_order_and_prefix,
        list_paging,
        overwrite_replaces_everything,
        last_write_wins,
        concurrent_writes_never_mix,
        delete_semantics,
        write_limit,
        expiry,
    );
    debug_assert_eq!(
        report.checks.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        CHECKS
    );
    report
}
