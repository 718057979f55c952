//! Against kv-mock: injected faults, the per-key write limit under concurrent writers, a cut-off
//! stream that stores nothing, and authentication.

use crate::kit;
use std::time::Duration;

use crate::kit::{start, start_with};
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use kv_client::{Body, Client, Error, RetryConfig};
use kv_mock::{Fault, FaultMatch, KvMock};
use kv_types::Limits;

#[tokio::test]
async fn injected_503s_are_retried() {
    let s = start().await;
    s.mock.inject(
        Fault::status(503)
            .times(2)
            .matching(FaultMatch::method("PUT")),
    );
    s.kv.put("k", "v").await.expect("third attempt");
    assert_eq!(s.time.sleeps().len(), 2);
    assert_eq!(
        s.kv.get("k").text().await.expect("get").as_deref(),
        Some("v")
    );
}

#[tokio::test]
async fn injected_429_with_retry_after() {
    let s = start().await;
    s.mock.inject(
        Fault::status(429)
            .header("Retry-After", "4")
            .matching(FaultMatch::key("k")),
    );
    s.kv.put("k", "v").await.expect("second attempt");
    assert_eq!(s.time.sleeps(), vec![Duration::from_secs(4)]);
}

/// An injected status answers a request whose body is still coming (a 5 MiB one-shot stream,
/// past kv-client's replay buffer): the client must get that answer (the 429, and so an error
/// that says why it cannot retry), not a broken pipe, as it does from the routes' own refusals.
#[tokio::test]
async fn an_injected_429_reaches_a_client_still_sending_its_body() {
    let s = start().await;
    s.mock.inject(
        Fault::status(429)
            .header("Retry-After", "4")
            .matching(FaultMatch::key("k")),
    );
    let chunk = Bytes::from(vec![b'b'; 64 * 1024]);
    let body = Body::stream(stream::iter(
        (0..80).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    ));
    let err =
        s.kv.put("k", body)
            .await
            .expect_err("refused once, not replayable");
    assert!(matches!(err, Error::NotReplayable { .. }), "{err:?}");
    assert_eq!(err.status(), Some(429), "{err:?}");
    assert_eq!(s.kv.get("k").bytes().await.expect("get"), None);
}

#[tokio::test]
async fn reset_and_truncated_responses_are_retried() {
    let s = start().await;
    s.kv.put("k", "value").await.expect("put");
    s.mock
        .inject(Fault::reset().matching(FaultMatch::method("GET")));
    assert_eq!(
        s.kv.get("k")
            .text()
            .await
            .expect("after a reset")
            .as_deref(),
        Some("value")
    );
    s.mock
        .inject(Fault::truncate_body().matching(FaultMatch::method("GET")));
    assert_eq!(
        s.kv.get("k")
            .text()
            .await
            .expect("after a truncated body")
            .as_deref(),
        Some("value")
    );
    let statuses: Vec<u16> = s.mock.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![200, 0, 200, 200, 200]);
}

#[tokio::test]
async fn delay_past_the_attempt_timeout_is_retried() {
    let s = start().await;
    let client = kit::client_builder(&s.mock)
        .attempt_timeout(Duration::from_millis(150))
        .sleeper(s.time.clone())
        .clock(s.time.clone())
        .build()
        .expect("client");
    let kv = client.namespace(s.mock.namespace_id());
    s.kv.put("k", "v").await.expect("put");
    s.mock.inject(Fault::delay(Duration::from_secs(3)));
    assert_eq!(
        kv.get("k").text().await.expect("retried").as_deref(),
        Some("v")
    );
}

#[tokio::test]
async fn cut_off_stream_stores_nothing() {
    let s = start().await;
    let source = stream::iter((0..5).map(|_| Ok(Bytes::from(vec![1u8; 10_000]))))
        .chain(stream::iter([Err(std::io::Error::other("source died"))]));
    let err =
        s.kv.put("partial", Body::stream(source))
            .await
            .expect_err("cut off");
    // Short: it failed while the client read its start ahead, before anything was sent.
    assert!(matches!(err, Error::Body { .. }), "{err:?}");
    assert_eq!(s.kv.get("partial").bytes().await.expect("get"), None);
    // Long: it failed while being sent.
    let chunk = Bytes::from(vec![1u8; 64 * 1024]);
    let source = stream::iter((0..40).map(move |_| Ok(chunk.clone())))
        .chain(stream::iter([Err(std::io::Error::other("source died"))]));
    let err =
        s.kv.put("partial", Body::stream(source))
            .await
            .expect_err("cut off");
    assert!(matches!(err, Error::NotReplayable { .. }), "{err:?}");
    assert_eq!(s.kv.get("partial").bytes().await.expect("get"), None);

    // Past the value limit: cut off, nothing stored, nothing overwritten.
    let limits = Limits {
        max_value_bytes: 1000,
        ..Limits::PRODUCTION
    };
    let s = start_with(KvMock::builder(), limits).await;
    s.kv.put("k", "old").await.expect("put");
    s.advance(Duration::from_secs(2));
    let big = stream::iter((0..20).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![2u8; 100]))));
    let err =
        s.kv.put("k", Body::stream(big))
            .await
            .expect_err("too large");
    assert!(err.validation_error().is_some(), "{err:?}");
    assert_eq!(
        s.kv.get("k").text().await.expect("get").as_deref(),
        Some("old")
    );
}

#[tokio::test]
async fn concurrent_writers_of_one_key_all_land() {
    let s = start().await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let kv = s.kv.clone();
        tasks.push(tokio::spawn(async move {
            kv.put("hot", format!("writer {i}")).await
        }));
    }
    for task in tasks {
        task.await
            .expect("joined")
            .expect("every write lands despite 429s");
    }
    let rate_limited = s.mock.requests().iter().filter(|r| r.status == 429).count();
    assert!(
        rate_limited >= 5,
        "the per-key limit was hit: {rate_limited}"
    );
    let value = s.kv.get("hot").text().await.expect("get").expect("present");
    assert!(value.starts_with("writer "), "{value}");
    assert!(s.time.sleeps().iter().all(|w| *w >= Duration::from_secs(1)));
}

#[tokio::test]
async fn same_key_twice_in_a_row_waits_out_the_limit() {
    let s = start().await;
    s.kv.put("k", "1").await.expect("first");
    s.kv.put("k", "2").await.expect("second, after a 429");
    assert_eq!(s.time.sleeps(), vec![Duration::from_secs(1)]);
    assert_eq!(
        s.kv.get("k").text().await.expect("get").as_deref(),
        Some("2")
    );
}

#[tokio::test]
async fn authentication() {
    let mock = KvMock::builder()
        .api_token("right-token")
        .email_key("me@example.com", "global-key")
        .start()
        .await
        .expect("mock");
    let with = |builder: kv_client::ClientBuilder| {
        builder
            .base_url(mock.base_url())
            .account_id(mock.account_id())
            .retry(RetryConfig::none())
            .build()
            .expect("client")
            .namespace(mock.namespace_id())
    };
    let wrong = with(Client::builder().api_token("wrong-token"));
    let err = wrong.put("k", "v").await.expect_err("wrong token");
    assert!(
        matches!(err, Error::Unauthorized { status: 403, .. }),
        "{err:?}"
    );
    assert_eq!(err.codes(), vec![kv_types::codes::AUTHENTICATION_ERROR]);
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("wrong-token"), "{shown}");

    with(Client::builder().api_token("right-token"))
        .put("k", "v")
        .await
        .expect("token");
    with(Client::builder().email_key("me@example.com", "global-key"))
        .get("k")
        .bytes()
        .await
        .expect("email and key");
}

/// The case: a one-shot stream refused once by the per-key write limit (another writer
/// wrote the key the same second). One of 10 KiB ends within the replay buffer and is stored on
/// the retry; one of 5 MiB had been sent past the buffer and fails as not replayable.
#[tokio::test]
async fn a_short_stream_refused_with_429_is_stored_on_the_retry() {
    let s = start().await;
    let stream_of = |chunks: usize, size: usize, byte: u8| {
        let chunk = Bytes::from(vec![byte; size]);
        Body::stream(stream::iter(
            (0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
        ))
    };
    s.kv.put("k", "another writer").await.expect("first write");
    s.kv.put("k", stream_of(10, 1024, b's'))
        .await
        .expect("10 KiB stream retried after the 429");
    assert_eq!(
        s.kv.get("k").bytes().await.expect("get").as_deref(),
        Some(&[b's'; 10 * 1024][..])
    );
    let puts = |s: &crate::kit::Service| {
        s.mock
            .requests()
            .iter()
            .filter(|r| r.method == "PUT")
            .map(|r| r.status)
            .collect::<Vec<_>>()
    };
    assert_eq!(puts(&s), [200, 429, 200]);

    s.advance(Duration::from_secs(2));
    s.kv.put("k", "another writer").await.expect("write");
    let err =
        s.kv.put("k", stream_of(80, 64 * 1024, b'b'))
            .await
            .expect_err("5 MiB stream refused once");
    assert!(matches!(err, Error::NotReplayable { .. }), "{err:?}");
    assert_eq!(err.status(), Some(429));
    assert_eq!(
        s.kv.get("k").text().await.expect("get").as_deref(),
        Some("another writer")
    );
}
