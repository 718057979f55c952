//! kv-types' conformance suite against kv-client over kv-mock (loopback), and against the real
//! service when its credentials are in the environment (`real_service`). The suite itself is
//! `kv_types::conformance`; kv-mock's own tests run it against the engine without a socket.

mod real_service;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kv_client::time::{FixedJitter, ManualTime};
use kv_client::{KvNamespace, RetryConfig};
use kv_mock::KvMock;
use kv_types::Limits;
use kv_types::conformance::{self, Harness, MovableClock, WriteLimit};

use crate::kit::{self, SharedSleeper};

/// The mock's clock and the client's, moved together, so the client's own checks of absolute
/// expirations agree with the mock's whatever the suite does to time.
struct BothClocks {
    mock: kv_mock::Clock,
    client: ManualTime,
}

impl MovableClock for BothClocks {
    fn now_secs(&self) -> u64 {
        self.mock.now_secs()
    }

    fn advance(&self, by: Duration) {
        self.mock.advance(by);
        self.client.advance(by);
    }
}

/// A mock on a frozen clock starting at the real time, and a client whose clock is moved with
/// it; retries as given.
async fn client_over_mock(
    rate_limit: bool,
    retry: RetryConfig,
) -> (KvMock, KvNamespace, BothClocks) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .expect("the system clock is after 1970");
    let mock_clock = kv_mock::Clock::frozen_at(now);
    let mock = kit::start_mock(
        KvMock::builder()
            .rate_limit(rate_limit)
            .clock(mock_clock.clone()),
    )
    .await;
    let time = ManualTime::with_wall(UNIX_EPOCH + Duration::from_secs(now));
    let client = kit::client_builder(&mock)
        .limits(Limits::PRODUCTION)
        .retry(retry)
        .clock(time.clone())
        .sleeper(SharedSleeper {
            client: time.clone(),
            mock: mock_clock.clone(),
        })
        .jitter(FixedJitter(0.5))
        .build()
        .expect("client");
    let kv = client.namespace(mock.namespace_id());
    let clocks = BothClocks {
        mock: mock_clock,
        client: time,
    };
    (mock, kv, clocks)
}

/// The write limit on, and no retries, so the suite sees the 429 itself.
#[tokio::test]
async fn client_over_mock_with_the_write_limit() {
    let (mock, kv, clocks) = client_over_mock(true, RetryConfig::none()).await;
    let harness = Harness::new(kv)
        .clock(clocks)
        .write_limit(WriteLimit::Enforced);
    let report = conformance::run(&harness).await;
    println!("{report}");
    report.assert_passed();
    assert_eq!(
        report.skipped().count(),
        0,
        "every check runs against the mock"
    );
    let left = mock
        .engine()
        .namespace(mock.namespace_id())
        .expect("default namespace")
        .stats();
    assert_eq!(left.entries, 0, "run() deletes what every check wrote");
}

/// The write limit off, retries on (the client's defaults otherwise).
#[tokio::test]
async fn client_over_mock_without_the_write_limit() {
    let (_mock, kv, clocks) = client_over_mock(false, RetryConfig::default()).await;
    let harness = Harness::new(kv).clock(clocks).write_limit(WriteLimit::Off);
    let report = conformance::run(&harness).await;
    println!("{report}");
    report.assert_passed();
}
