//! kv-types' conformance suite against the engine's namespace store, no socket: with the per-key
//! write limit on and a frozen clock the suite moves, with the limit off, through
//! `Arc<dyn KvStore>`, and with small limits and real time (the path a store without a movable
//! clock takes).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kv_mock::{Clock, Engine, EngineConfig, EngineError, NamespaceHandle};
use kv_types::conformance::{self, Harness, MovableClock, Outcome, WriteLimit};
use kv_types::{KvStore, Limits};

/// The mock's clock, as the suite moves it.
pub(crate) struct MockClock(pub(crate) Clock);

impl MovableClock for MockClock {
    fn now_secs(&self) -> u64 {
        self.0.now_secs()
    }

    fn advance(&self, by: Duration) {
        self.0.advance(by);
    }
}

/// Now, for a frozen clock that starts at the real time (so absolute expirations look sane).
pub(crate) fn real_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(1_700_000_000)
}

/// One namespace of a fresh engine.
fn namespace(limits: Limits, rate_limit: bool, clock: Clock) -> NamespaceHandle {
    let engine = Engine::new(EngineConfig {
        limits,
        rate_limit,
        clock,
    });
    let ns = engine.create_namespace("conformance").expect("create");
    engine.namespace(&ns.id).expect("just created")
}

#[tokio::test]
async fn engine_with_the_write_limit_and_a_moved_clock() {
    let clock = Clock::frozen_at(real_now());
    let store = namespace(Limits::PRODUCTION, true, clock.clone());
    let harness = Harness::new(store)
        .clock(MockClock(clock))
        .write_limit(WriteLimit::Enforced);
    let report = conformance::run(&harness).await;
    println!("{report}");
    report.assert_passed();
    assert_eq!(
        report.skipped().count(),
        0,
        "with a clock and the write limit enforced every check runs"
    );
    let left = harness
        .store()
        .list(kv_types::ListOptions::new())
        .await
        .expect("list");
    assert!(
        left.keys.is_empty(),
        "run() cleans up after every check: {:?}",
        left.keys
    );
}

#[tokio::test]
async fn engine_without_the_write_limit() {
    let clock = Clock::frozen_at(real_now());
    let store = namespace(Limits::PRODUCTION, false, clock.clone());
    let harness = Harness::new(store)
        .clock(MockClock(clock))
        .write_limit(WriteLimit::Off);
    let report = conformance::run(&harness).await;
    println!("{report}");
    report.assert_passed();
}

#[tokio::test]
async fn engine_as_a_dyn_store() {
    let clock = Clock::frozen_at(real_now());
    let store: Arc<dyn KvStore<Error = EngineError>> =
        Arc::new(namespace(Limits::PRODUCTION, true, clock.clone()));
    let harness = Harness::new(store)
        .clock(MockClock(clock))
        .write_limit(WriteLimit::Enforced);
    conformance::run(&harness).await.assert_passed();
}

#[tokio::test]
async fn engine_with_small_limits_in_real_time() {
    let limits = Limits {
        max_key_bytes: 96,
        max_value_bytes: 4096,
        max_metadata_bytes: 64,
        min_ttl_secs: 1,
        min_list_limit: 2,
        max_list_limit: 50,
        ..Limits::PRODUCTION
    };
    let store = namespace(limits, false, Clock::system());
    let harness = Harness::new(store)
        .limits(limits)
        .write_limit(WriteLimit::Off)
        .prefix("c/");
    let report = conformance::run(&harness).await;
    println!("{report}");
    report.assert_passed();
    assert_eq!(
        report.skipped().count(),
        0,
        "a 1 s TTL is waited for in real time"
    );
}

#[tokio::test]
async fn without_a_clock_the_long_expiry_is_skipped_not_passed() {
    let store = namespace(Limits::PRODUCTION, false, Clock::system());
    let harness = Harness::new(store).write_limit(WriteLimit::Off);
    let outcome = conformance::expiry(&harness).await.expect("no failure");
    assert!(
        matches!(&outcome, Outcome::Skipped(why) if why.contains("60 s")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn the_suite_catches_a_store_that_breaks_a_limit() {
    // An engine enforcing a larger metadata limit than the harness claims: the boundary check
    // must see metadata over the claimed limit accepted.
    let claimed = Limits {
        max_metadata_bytes: 100,
        ..Limits::PRODUCTION
    };
    let store = namespace(Limits::PRODUCTION, false, Clock::frozen_at(real_now()));
    let harness = Harness::new(store)
        .limits(claimed)
        .write_limit(WriteLimit::Off);
    let failure = conformance::metadata_size_limit(&harness)
        .await
        .expect_err("metadata of 101 bytes is accepted by this store");
    assert!(
        failure
            .message()
            .contains("metadata of 101 bytes was accepted"),
        "{failure}"
    );
    // And one whose write limit is off while the harness says it is enforced.
    let store = namespace(Limits::PRODUCTION, false, Clock::frozen_at(real_now()));
    let harness = Harness::new(store).write_limit(WriteLimit::Enforced);
    let failure = conformance::write_limit(&harness)
        .await
        .expect_err("a second write within the second is accepted");
    assert!(
        failure.message().contains("one write per second"),
        "{failure}"
    );
}

/// How [`Broken`] departs from the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    /// Writes drop the metadata.
    DropsMetadata,
    /// Lists come in reverse order.
    ReversedList,
    /// A write of a value keeps the old metadata.
    KeepsOldMetadata,
    /// Deleting a missing key fails.
    DeleteOfMissingFails,
}

/// The engine's store with one defect, to show the suite sees it.
struct Broken {
    inner: NamespaceHandle,
    defect: Defect,
}

#[async_trait::async_trait]
impl KvStore for Broken {
    type Error = EngineError;

    async fn put(
        &self,
        key: &kv_types::Key,
        value: kv_types::Value,
        mut options: kv_types::PutOptions,
    ) -> Result<(), EngineError> {
        match self.defect {
            Defect::DropsMetadata => options.metadata = None,
            Defect::KeepsOldMetadata if options.metadata.is_none() => {
                options.metadata = self.inner.metadata(key).await?.flatten();
            }
            _ => {}
        }
        self.inner.put(key, value, options).await
    }

    async fn get(&self, key: &kv_types::Key) -> Result<Option<bytes::Bytes>, EngineError> {
        self.inner.get(key).await
    }

    async fn get_with_metadata(
        &self,
        key: &kv_types::Key,
    ) -> Result<Option<kv_types::ValueWithMetadata>, EngineError> {
        self.inner.get_with_metadata(key).await
    }

    async fn delete(&self, key: &kv_types::Key) -> Result<(), EngineError> {
        if self.defect == Defect::DeleteOfMissingFails && self.inner.get(key).await?.is_none() {
            return Err(EngineError::NamespaceNotFound { op: "delete" });
        }
        self.inner.delete(key).await
    }

    async fn list(
        &self,
        options: kv_types::ListOptions,
    ) -> Result<kv_types::ListPage, EngineError> {
        let mut page = self.inner.list(options).await?;
        if self.defect == Defect::ReversedList {
            page.keys.reverse();
        }
        Ok(page)
    }
}

#[tokio::test]
async fn the_suite_fails_the_checks_a_defect_breaks() {
    for (defect, failing) in [
        (Defect::DropsMetadata, "metadata_round_trip"),
        (Defect::ReversedList, "list_order_and_prefix"),
        (Defect::KeepsOldMetadata, "overwrite_replaces_everything"),
        (Defect::DeleteOfMissingFails, "delete_semantics"),
    ] {
        let clock = Clock::frozen_at(real_now());
        let inner = namespace(Limits::PRODUCTION, false, clock.clone());
        let harness = Harness::new(Broken { inner, defect })
            .clock(MockClock(clock))
            .write_limit(WriteLimit::Off);
        let report = conformance::run(&harness).await;
        println!("{defect:?}:\n{report}");
        let failed: Vec<&str> = report.failures().map(|(name, _)| name).collect();
        assert!(
            failed.contains(&failing),
            "{defect:?} should fail {failing}; the report:\n{report}"
        );
        assert!(!report.passed());
    }
}

/// The suite against the view of one namespace at the second of three locations (writes made
/// there are read there at once, so every single-location check holds).
#[tokio::test]
async fn a_location_view_passes_the_suite() {
    use kv_mock::{Locations, PropagationDelay};
    let clock = Clock::frozen_at(real_now());
    let config = EngineConfig {
        limits: Limits::PRODUCTION,
        rate_limit: true,
        clock: clock.clone(),
    };
    let locations = Locations::new(["iad", "fra", "sin"])
        .delay(PropagationDelay::fixed(Duration::from_secs(30)))
        .seed(1);
    let engine = Engine::with_locations(config, locations).expect("valid locations");
    let ns = engine.create_namespace("conformance").expect("create");
    let store = engine.namespace_at(&ns.id, "fra").expect("view");
    let harness = Harness::new(store)
        .clock(MockClock(clock))
        .write_limit(WriteLimit::Enforced);
    let report = conformance::run(&harness).await;
    println!("{report}");
    report.assert_passed();
}
