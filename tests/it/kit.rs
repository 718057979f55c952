//! The one test kit of the cross-crate tests: a mock and a client pointed at it
//! ([`client_builder`], [`start_mock`]), and, for tests of waiting, a mock on a frozen clock with
//! a client whose waits move that clock ([`start`], [`start_with`]), so the per-key write limit
//! and expiry are exercised without real waiting.

use std::time::{Duration, UNIX_EPOCH};

use kv_client::time::{FixedJitter, ManualTime, Sleep, Sleeper};
use kv_client::{Client, ClientBuilder, KvNamespace, RetryConfig};
use kv_mock::{KvMock, MockBuilder};
use kv_types::Limits;

/// A client builder pointed at `mock`: its base URL, its account and a placeholder token (the
/// mock accepts any token unless it was started with credentials). Tests set what they test.
pub(crate) fn client_builder(mock: &KvMock) -> ClientBuilder {
    Client::builder()
        .base_url(mock.base_url())
        .account_id(mock.account_id())
        .api_token("kit-token")
}

/// The mock `builder` describes, started on 127.0.0.1.
pub(crate) async fn start_mock(builder: MockBuilder) -> KvMock {
    builder.start().await.expect("kv-mock starts")
}

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
    let mock = start_mock(builder.clock(mock_clock.clone()).limits(limits)).await;
    let time = ManualTime::with_wall(UNIX_EPOCH + Duration::from_secs(START_SECS));
    let client = client_builder(&mock)
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

/// [`start`], with the client rebuilt on the same frozen clocks with what `configure` adds
/// (pacing, budgets, a retry policy).
pub(crate) async fn start_configured(
    configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> Service {
    let mut s = start().await;
    let time = s.time.clone();
    let builder = client_builder(&s.mock)
        .clock(time.clone())
        .sleeper(SharedSleeper {
            client: time,
            mock: s.mock.clock().clone(),
        })
        .jitter(FixedJitter(0.5));
    s.client = configure(builder).build().expect("client");
    s.kv = s.client.namespace(s.mock.namespace_id());
    s
}
