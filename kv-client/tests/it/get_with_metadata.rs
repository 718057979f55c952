//! get_with_metadata against a scripted server: a round whose two value reads differ, or that
//! takes a second or more, is never trusted.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use crate::scripted_server::{builder, ns_path, ok, start, test_retry};
use kv_client::Error;
use kv_client::time::Clock;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn mount_value(server: &MockServer, body: &str, times: Option<u64>) {
    let mock = Mock::given(method("GET"))
        .and(path(ns_path("/values/k")))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(body.to_owned()));
    match times {
        Some(n) => mock.up_to_n_times(n).mount(server).await,
        None => mock.mount(server).await,
    }
}

async fn mount_metadata(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(ns_path("/metadata/k")))
        .respond_with(ok(json!({"m": 1})))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_round_that_saw_a_change_is_read_again() {
    let s = start().await;
    mount_value(&s.server, "old", Some(1)).await;
    mount_value(&s.server, "new", None).await;
    mount_metadata(&s.server).await;
    let read =
        s.kv.get_with_metadata::<serde_json::Value>("k")
            .await
            .expect("read")
            .expect("present");
    assert_eq!(read.value, "new");
    assert_eq!(read.metadata, Some(json!({"m": 1})));
    assert_eq!(s.server.received_requests().await.expect("log").len(), 6);
}

#[tokio::test]
async fn a_key_that_keeps_changing_gives_up() {
    let s = start().await;
    for i in 0..20 {
        mount_value(&s.server, &format!("v{i}"), Some(1)).await;
    }
    mount_metadata(&s.server).await;
    let err =
        s.kv.get_with_metadata::<serde_json::Value>("k")
            .await
            .expect_err("never stable");
    assert!(
        matches!(err, Error::Inconsistent { rounds: 5, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

/// A clock that moves 400 ms forward each time it is read.
#[derive(Debug)]
struct Crawling(Mutex<Instant>);

impl Clock for Crawling {
    fn now(&self) -> Instant {
        let mut t = self.0.lock().expect("lock");
        *t += Duration::from_millis(400);
        *t
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
}

#[tokio::test]
async fn a_round_of_a_second_or_more_is_not_trusted() {
    let s = start().await;
    mount_value(&s.server, "same", None).await;
    mount_metadata(&s.server).await;
    let client = builder(&s.server.uri(), &s.time, test_retry())
        .clock(Crawling(Mutex::new(Instant::now())))
        .build()
        .expect("client");
    let err = client
        .namespace(crate::scripted_server::NS)
        .get_with_metadata::<serde_json::Value>("k")
        .await
        .expect_err("every round looks slow");
    assert!(matches!(err, Error::Inconsistent { .. }), "{err:?}");
}
