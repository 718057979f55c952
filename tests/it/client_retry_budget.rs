//! The retry budget against kv-mock: with every request answered 503, a thousand concurrent
//! puts make at most a thousand requests plus the budget's capacity over the retry cost; the
//! budget refills as calls succeed; turned off, every call retries as its policy allows.

use kv_client::{Error, RetryBudget, StopReason};

use crate::kit::Service;

/// A service on frozen clocks (waits are instant) whose client has `budget`.
async fn service(budget: Option<RetryBudget>) -> Service {
    let s = crate::kit::start_configured(|b| {
        // The waits of every call move the one shared clock: a deadline that cannot end a call.
        b.retry(kv_client::RetryConfig {
            deadline: std::time::Duration::from_secs(1 << 30),
            ..kv_client::RetryConfig::default()
        })
        .retry_budget(budget)
    })
    .await;
    s.mock.set_rate_limit(false);
    s
}

fn puts_sent(s: &Service) -> usize {
    s.mock
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .count()
}

async fn concurrent_puts(s: &Service, n: usize) -> Vec<Result<(), Error>> {
    let calls = (0..n).map(|i| {
        let kv = s.kv.clone();
        async move { kv.put(format!("k{i}"), "v").await }
    });
    futures_util::future::join_all(calls).await
}

#[tokio::test]
async fn a_down_service_gets_a_bounded_number_of_retries() {
    let budget = RetryBudget::default();
    let s = service(Some(budget)).await;
    s.mock.inject(kv_mock::Fault::status(503).times(u32::MAX));
    let results = concurrent_puts(&s, 1000).await;
    let sent = puts_sent(&s);
    let bound = 1000 + (budget.capacity / budget.retry_cost) as usize;
    assert!(sent <= bound, "{sent} requests, bound {bound}");
    assert!(sent > 1000, "the budget allowed some retries: {sent}");
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_err_and(|e| e.status() == Some(503)))
    );
    let spent = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .filter(|e| {
            matches!(
                e.attempts().map(|a| a.stop),
                Some(StopReason::RetryBudgetSpent { .. })
            )
        })
        .count();
    assert!(spent >= 900, "most calls stopped on the budget: {spent}");
    let err = results
        .iter()
        .find_map(|r| r.as_ref().err())
        .expect("an error");
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(s.client.retry_budget_left(), Some(0));

    // The service is back: each success returns a token, five of them pay for a retry.
    s.mock.clear_faults();
    for r in concurrent_puts(&s, 50).await {
        r.expect("the service is back");
    }
    assert_eq!(s.client.retry_budget_left(), Some(50));
    s.mock.clear_requests();
    s.mock.inject(kv_mock::Fault::status(503).times(1));
    s.kv.put("again", "v").await.expect("one retry, paid for");
    assert_eq!(puts_sent(&s), 2);
    assert_eq!(
        s.client.retry_budget_left(),
        Some(50),
        "the retry's cost came back with its success"
    );
}

#[tokio::test]
async fn without_a_budget_every_call_retries_in_full() {
    let s = service(None).await;
    assert_eq!(s.client.retry_budget_left(), None);
    s.mock.inject(kv_mock::Fault::status(503).times(u32::MAX));
    let results = concurrent_puts(&s, 100).await;
    assert!(results.iter().all(Result::is_err));
    assert_eq!(puts_sent(&s), 100 * 11, "10 retries each");
}
