//! The account's rate budget against kv-mock's account limit (which sends the service's
//! rate-limit headers): paced to match, no request is refused, and the run takes about the time
//! the budget allows; a call that cannot get a slot before its deadline fails at once.

use std::time::{Duration, Instant};

use kv_client::Error;

/// `requests` concurrent puts (distinct keys) against a mock allowing `limit` per `window`, with
/// the client paced to the same: the 429s answered and the time taken.
async fn run(limit: u32, window: Duration, requests: usize) -> (usize, Duration) {
    let mock =
        crate::kit::start_mock(kv_mock::KvMock::builder().account_rate_limit(limit, window)).await;
    let client = crate::kit::client_builder(&mock)
        .account_rate_limit(limit, window)
        .build()
        .expect("client");
    let kv = client.namespace(mock.namespace_id());
    let started = Instant::now();
    let calls = (0..requests).map(|i| {
        let kv = kv.clone();
        async move { kv.put(format!("k{i}"), "v").await }
    });
    let results = futures_util::future::join_all(calls).await;
    let took = started.elapsed();
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    let refused = mock.requests().iter().filter(|r| r.status == 429).count();
    (refused, took)
}

/// The least time `requests` take under `limit` per `window`: the first `limit` at once, then
/// `limit` more each window.
fn least(limit: u32, window: Duration, requests: usize) -> Duration {
    window * ((requests as u32 - 1) / limit)
}

#[tokio::test]
async fn paced_to_the_account_budget_nothing_is_refused() {
    let (limit, window, requests) = (10, Duration::from_secs(1), 35);
    let (refused, took) = run(limit, window, requests).await;
    assert_eq!(refused, 0);
    assert!(took >= least(limit, window, requests), "took {took:?}");
}

/// The figure: 60 per 10 s, 500 requests (about 80 s):
/// `cargo test -p edge-kv --test it account_budget_500 -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "takes about 80 s of real time"]
async fn account_budget_500_requests() {
    let (limit, window, requests) = (60, Duration::from_secs(10), 500);
    let (refused, took) = run(limit, window, requests).await;
    println!(
        "{requests} requests at {limit} per {window:?}: {refused} answered 429, {:.1} s (the budget allows {:.0} s at best)",
        took.as_secs_f64(),
        least(limit, window, requests).as_secs_f64()
    );
    assert_eq!(refused, 0);
}

#[tokio::test]
async fn no_slot_before_the_deadline_is_a_clear_error_and_sends_nothing() {
    let mock = crate::kit::start_mock(kv_mock::KvMock::builder()).await;
    let client = crate::kit::client_builder(&mock)
        .account_rate_limit(2, Duration::from_secs(60))
        .retry(kv_client::RetryConfig {
            deadline: Duration::from_secs(5),
            ..kv_client::RetryConfig::default()
        })
        .build()
        .expect("client");
    let kv = client.namespace(mock.namespace_id());
    kv.put("a", "v").await.expect("first slot");
    kv.put("b", "v").await.expect("second slot");
    let started = Instant::now();
    let err = kv.put("c", "v").await.expect_err("no slot for a minute");
    assert!(started.elapsed() < Duration::from_secs(2), "failed at once");
    match &err {
        Error::AccountBudget {
            wait, left, limit, ..
        } => {
            assert!(*wait > *left);
            assert_eq!(*limit, 2);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_retryable());
    assert!(err.to_string().contains("rate budget"), "{err}");
    assert_eq!(mock.requests().len(), 2, "nothing sent for c");
}

#[tokio::test]
async fn the_services_headers_slow_the_client_down() {
    // The mock allows 3 per 2 s; the client thinks it may send 100: the headers hold it back.
    let window = Duration::from_secs(2);
    let mock =
        crate::kit::start_mock(kv_mock::KvMock::builder().account_rate_limit(3, window)).await;
    let client = crate::kit::client_builder(&mock)
        .account_rate_limit(100, window)
        .build()
        .expect("client");
    let kv = client.namespace(mock.namespace_id());
    let started = Instant::now();
    for i in 0..6 {
        kv.put(format!("k{i}"), "v").await.expect("put");
    }
    let refused = mock.requests().iter().filter(|r| r.status == 429).count();
    assert_eq!(
        refused, 0,
        "the remaining count of 0 held the 4th request until the reset"
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    let r = mock.requests();
    assert_eq!(r.len(), 6);
}
