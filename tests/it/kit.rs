//! Test scaffolding for kv-mock: a mock on a frozen clock and a client whose waits move that
//! clock, so the per-key write limit and expiry are exercised without real waiting.

use std::time::{Duration, UNIX_EPOCH};

use kv_client::time::{FixedJitter, ManualTime, Sleep, Sleeper};
use kv_client::{Client, KvNamespace, RetryConfig};
use kv_mock::KvMock;
use kv_types::Limits;

/// Where the frozen clocks start.
pub(crate) const START_SECS: u64 = 1_700_000_000;

/// A sleeper that advances both the client's manual time and the mock's clock.
#[derive(Debug, Clone)]
pub(crate) struct SharedSleeper {
    pub(crate) client: ManualTime,
    pub(crate) mock: kv_mock::Clock,
}

impl Sleeper for SharedSleeper {
    fn sleep(&self, duration: Duration) -> Sleep {
        self.mock.advance(duration);
        self.client.sleep(duration)
    }
}

/// A running mock, the client's time, and a client for the mock's default namespace.
pub(crate) struct Service {
    pub(crate) mock: KvMock,
    pub(crate) time: ManualTime,
    pub(crate) client: Client,
    pub(crate) kv: KvNamespace,
}

impl Service {
    /// Moves both clocks forward.
    pub(crate) fn advance(&self, by: Duration) {
        self.time.advance(by);
        self.mock.clock().advance(by);
    }

    /// The mock's now, in epoch seconds.
    pub(crate) fn now(&self) -> u64 {
        self.mock.clock().now_secs()
    }
}

/// A mock with the defaults (rate limit on, production limits), frozen clocks.
pub(crate) async fn start() -> Service {
    start_with(kv_mock::KvMock::builder(), Limits::PRODUCTION).await
}

/// A mock from `builder` (its clock replaced by a frozen one) and a client with the same limits.
pub(crate) async fn start_with(builder: kv_mock::MockBuilder, limits: Limits) -> Service {
    let mock_clock = kv_mock::Clock::frozen_at(START_SECS);
    let mock = builder
        .clock(mock_clock.clone())
        .limits(limits)
        .start()
        .await
        .expect("mock starts");
    let time = ManualTime::with_wall(UNIX_EPOCH + Duration::from_secs(START_SECS));
    let client = Client::builder()
        .base_url(mock.base_url())
        .account_id(mock.account_id())
        .api_token("any-token")
        .limits(limits)
        .retry(RetryConfig {
            max_retries: 10,
            deadline: Duration::from_secs(120),
            ..RetryConfig::default()
        })
        .attempt_timeout(Duration::from_secs(10))
        .clock(time.clone())
        .sleeper(SharedSleeper {
            client: time.clone(),
            mock: mock_clock,
        })
        .jitter(FixedJitter(0.5))
        .build()
        .expect("client");
    let kv = client.namespace(mock.namespace_id());
    Service {
        mock,
        time,
        client,
        kv,
    }
}
