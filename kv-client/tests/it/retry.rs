//! Retry behaviour against scripted servers: Retry-After in its three forms, deadlines, retries
//! running out, reset connections, slow responses, proxy pages and truncated bodies.

use std::time::Duration;

use crate::scripted_server::{
    Conn, NS, Scripted, builder, fail, ns_path, ok, raw_json, raw_server, start, start_with,
    test_retry,
};
use kv_client::time::{FixedJitter, ManualTime, SystemClock};
use kv_client::{Error, RetryConfig, StopReason};
use kv_types::{ErrorKind, StoreError};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const SECOND: Duration = Duration::from_secs(1);

async fn mount_put_success(s: &Scripted) {
    Mock::given(method("PUT"))
        .and(path(ns_path("/values/k")))
        .respond_with(ok(json!({})))
        .mount(&s.server)
        .await;
}

async fn mount_put_once(s: &Scripted, response: ResponseTemplate) {
    Mock::given(method("PUT"))
        .and(path(ns_path("/values/k")))
        .respond_with(response)
        .up_to_n_times(1)
        .mount(&s.server)
        .await;
}

fn rate_limited() -> ResponseTemplate {
    fail(429, 19012, "same key written twice within 1 s")
}

#[tokio::test]
async fn retry_after_seconds_then_success() {
    let s = start().await;
    mount_put_once(&s, rate_limited().insert_header("retry-after", "3")).await;
    mount_put_success(&s).await;
    s.kv.put("k", "v").await.expect("second attempt succeeds");
    assert_eq!(s.time.sleeps(), vec![3 * SECOND]);
    assert_eq!(s.server.received_requests().await.expect("log").len(), 2);
}

#[tokio::test]
async fn retry_after_http_date_then_success() {
    let s = start().await;
    let date = httpdate::fmt_http_date(kv_client::time::Clock::wall(&s.time) + 5 * SECOND);
    mount_put_once(
        &s,
        rate_limited().insert_header("retry-after", date.as_str()),
    )
    .await;
    mount_put_success(&s).await;
    s.kv.put("k", "v").await.expect("second attempt succeeds");
    assert_eq!(s.time.sleeps(), vec![5 * SECOND]);
}

#[tokio::test]
async fn retry_after_ms_wins_over_retry_after() {
    let s = start().await;
    mount_put_once(
        &s,
        fail(503, 19018, "busy")
            .insert_header("retry-after-ms", "250")
            .insert_header("retry-after", "9"),
    )
    .await;
    mount_put_success(&s).await;
    s.kv.put("k", "v").await.expect("second attempt succeeds");
    assert_eq!(s.time.sleeps(), vec![Duration::from_millis(250)]);
}

#[tokio::test]
async fn rate_limit_waits_at_least_one_second() {
    let s = start().await;
    // No Retry-After, and one asking for less than the per-key limit.
    mount_put_once(&s, rate_limited()).await;
    mount_put_once(&s, rate_limited().insert_header("retry-after-ms", "10")).await;
    mount_put_success(&s).await;
    s.kv.put("k", "v").await.expect("third attempt succeeds");
    assert_eq!(s.time.sleeps(), vec![SECOND, SECOND]);
}

#[tokio::test]
async fn wait_longer_than_the_deadline_returns_at_once() {
    let s = start_with(RetryConfig {
        deadline: Duration::from_secs(10),
        ..test_retry()
    })
    .await;
    mount_put_once(&s, rate_limited().insert_header("retry-after", "30")).await;
    mount_put_success(&s).await;
    let err = s.kv.put("k", "v").await.expect_err("rate limited");
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(err.retry_after(), Some(30 * SECOND));
    assert!(err.is_retryable());
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    let attempts = err.attempts().expect("attempts");
    assert_eq!(attempts.count, 1);
    assert!(matches!(
        attempts.stop,
        StopReason::WaitBeyondDeadline { wait, .. } if wait == 30 * SECOND
    ));
    assert!(s.time.sleeps().is_empty(), "never sleeps past the deadline");
    assert_eq!(err.key(), Some("k"));
    assert!(err.to_string().contains("past the retry deadline"), "{err}");
}

#[tokio::test]
async fn unavailable_until_retries_run_out() {
    let s = start().await; // 3 retries, jitter = full cap
    Mock::given(method("PUT"))
        .and(path(ns_path("/values/k")))
        .respond_with(fail(503, 19018, "injected"))
        .mount(&s.server)
        .await;
    let err = s.kv.put("k", "v").await.expect_err("503 every time");
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.codes(), vec![19018]);
    let attempts = err.attempts().expect("attempts");
    assert_eq!(attempts.count, 4);
    assert_eq!(
        attempts.stop,
        StopReason::RetriesExhausted { max_retries: 3 }
    );
    assert_eq!(attempts.elapsed, Duration::from_millis(3500));
    assert_eq!(
        s.time.sleeps(),
        vec![
            Duration::from_millis(500),
            Duration::from_millis(1000),
            Duration::from_millis(2000)
        ]
    );
    let text = err.to_string();
    assert!(text.contains("after 4 attempts"), "{text}");
    assert!(text.contains("retries exhausted"), "{text}");
    assert_eq!(s.server.received_requests().await.expect("log").len(), 4);
}

#[tokio::test]
async fn backoff_stops_at_the_deadline() {
    let s = start_with(RetryConfig {
        max_retries: 10,
        deadline: Duration::from_secs(2),
        ..RetryConfig::default()
    })
    .await;
    Mock::given(method("GET"))
        .and(path(ns_path("/values/k")))
        .respond_with(fail(500, 19019, "boom"))
        .mount(&s.server)
        .await;
    let err = s.kv.get("k").bytes().await.expect_err("500 every time");
    // Waits 0.5 s and 1 s; the next 2 s would end past the 2 s deadline.
    assert_eq!(s.time.sleeps(), vec![Duration::from_millis(500), SECOND]);
    let attempts = err.attempts().expect("attempts");
    assert_eq!(attempts.count, 3);
    assert!(matches!(
        attempts.stop,
        StopReason::WaitBeyondDeadline { .. }
    ));
}

#[tokio::test]
async fn full_jitter_picks_within_the_cap() {
    let server = wiremock::MockServer::start().await;
    let time = ManualTime::new();
    let client = builder(&server.uri(), &time, test_retry())
        .jitter(FixedJitter(0.25))
        .build()
        .expect("client");
    Mock::given(method("DELETE"))
        .and(path(ns_path("/values/k")))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(ns_path("/values/k")))
        .respond_with(ok(json!({})))
        .mount(&server)
        .await;
    client
        .namespace(NS)
        .delete("k")
        .await
        .expect("third attempt");
    assert_eq!(
        time.sleeps(),
        vec![Duration::from_millis(125), Duration::from_millis(250)]
    );
}

#[tokio::test]
async fn not_retryable_statuses_fail_at_once() {
    let s = start().await;
    mount_put_once(&s, fail(403, 10000, "Authentication error")).await;
    let err = s.kv.put("k", "v").await.expect_err("forbidden");
    assert!(
        matches!(err, Error::Unauthorized { status: 403, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(err.attempts().map(|a| a.count), Some(1));
    assert!(s.time.sleeps().is_empty());
    assert!(!format!("{err:?}{err}").contains("test-token-secret"));
}

#[tokio::test]
async fn html_502_from_a_proxy_is_retried_then_reported() {
    let s = start().await;
    let page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    let html = ResponseTemplate::new(502).set_body_raw(page, "text/html");
    mount_put_once(&s, html.clone()).await;
    mount_put_success(&s).await;
    s.kv.put("k", "v")
        .await
        .expect("retried past one proxy page");

    let s = start().await;
    Mock::given(method("PUT"))
        .and(path(ns_path("/values/k")))
        .respond_with(html)
        .mount(&s.server)
        .await;
    let err = s.kv.put("k", "v").await.expect_err("proxy page every time");
    match &err {
        Error::Api {
            status: 502,
            errors,
            body: Some(body),
            ..
        } => {
            assert!(errors.is_empty());
            assert!(body.contains("502 Bad Gateway"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn truncated_json_is_a_decode_error() {
    let s = start().await;
    Mock::given(method("GET"))
        .and(path(ns_path("/keys")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"success":true,"errors":[],"result":[{"name":"a"#,
            "application/json",
        ))
        .mount(&s.server)
        .await;
    let err = s.kv.list().await.expect_err("truncated");
    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(s.server.received_requests().await.expect("log").len(), 1);

    // A success envelope whose result has the wrong shape is a decode error too.
    let s = start().await;
    Mock::given(method("GET"))
        .and(path(ns_path("/metadata/k")))
        .respond_with(ok(json!({"not": "the metadata type"})))
        .mount(&s.server)
        .await;
    let err = s.kv.metadata::<u32>("k").await.expect_err("wrong shape");
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn success_false_on_200_is_an_error() {
    let s = start().await;
    mount_put_once(
        &s,
        ResponseTemplate::new(200).set_body_json(json!({
            "success": false, "errors": [{"code": 7, "message": "nope"}], "messages": [], "result": null
        })),
    )
    .await;
    let err = s.kv.put("k", "v").await.expect_err("success false");
    assert_eq!(err.codes(), vec![7]);
}

#[tokio::test]
async fn slow_response_past_the_attempt_timeout_is_retried() {
    let server = wiremock::MockServer::start().await;
    let time = ManualTime::new();
    let client = builder(&server.uri(), &time, test_retry())
        .attempt_timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    Mock::given(method("GET"))
        .and(path(ns_path("/values/k")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes("late")
                .set_delay(Duration::from_secs(3)),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(ns_path("/values/k")))
        .respond_with(ResponseTemplate::new(200).set_body_bytes("fast"))
        .mount(&server)
        .await;
    let kv = client.namespace(NS);
    assert_eq!(
        kv.get("k").text().await.expect("retried").as_deref(),
        Some("fast")
    );
    assert_eq!(time.sleeps(), vec![Duration::from_millis(500)]);
}

#[tokio::test]
async fn attempt_timeout_is_capped_by_the_deadline() {
    let server = wiremock::MockServer::start().await;
    let time = ManualTime::new();
    let client = builder(
        &server.uri(),
        &time,
        RetryConfig {
            max_retries: 5,
            deadline: Duration::from_millis(300),
            ..RetryConfig::default()
        },
    )
    .clock(SystemClock)
    .attempt_timeout(Duration::from_secs(30))
    .build()
    .expect("client");
    Mock::given(method("GET"))
        .and(path(ns_path("/values/k")))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let err = client
        .namespace(NS)
        .get("k")
        .bytes()
        .await
        .expect_err("too slow");
    match &err {
        Error::Timeout { timeout, .. } => assert!(*timeout <= Duration::from_millis(300)),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let attempts = err.attempts().expect("attempts");
    assert_eq!(attempts.count, 1);
    assert!(matches!(
        attempts.stop,
        StopReason::DeadlineReached { .. } | StopReason::WaitBeyondDeadline { .. }
    ));
}

#[tokio::test]
async fn reset_connection_is_retried() {
    let (uri, server) = raw_server(vec![
        Conn::CloseAfterHead,
        Conn::Respond(raw_json(
            200,
            r#"{"success":true,"errors":[],"messages":[],"result":{}}"#,
        )),
    ])
    .await;
    let time = ManualTime::new();
    let client = builder(&uri, &time, test_retry()).build().expect("client");
    client
        .namespace(NS)
        .put("k", "value")
        .await
        .expect("second connection answers");
    assert_eq!(time.sleeps().len(), 1);
    let bodies = server.await.expect("server");
    assert_eq!(bodies, vec![b"value".to_vec()]);
}

#[tokio::test]
async fn connection_refused_until_retries_run_out() {
    // Bind and drop a listener so the port is (almost certainly) closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let time = ManualTime::new();
    let client = builder(
        &format!("http://127.0.0.1:{port}"),
        &time,
        RetryConfig {
            max_retries: 2,
            ..RetryConfig::default()
        },
    )
    .build()
    .expect("client");
    let err = client
        .namespace(NS)
        .get("k")
        .bytes()
        .await
        .expect_err("refused");
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(err.attempts().map(|a| a.count), Some(3));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn metadata_put_retries_like_a_plain_one() {
    let s = start().await;
    Mock::given(method("PUT"))
        .and(path(ns_path("/values/k")))
        .respond_with(fail(500, 19019, "boom"))
        .up_to_n_times(2)
        .mount(&s.server)
        .await;
    mount_put_success(&s).await;
    s.kv.put("k", "v")
        .metadata(&json!({"a": 1}))
        .await
        .expect("third attempt");
    let requests = s.server.received_requests().await.expect("log");
    assert_eq!(requests.len(), 3);
    for r in &requests {
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            body.contains(r#"{"a":1}"#),
            "every attempt is whole: {body}"
        );
        assert!(body.contains("\r\n\r\nv\r\n"), "{body}");
    }
}

#[tokio::test]
async fn rate_limited_after_retries_carries_the_wait() {
    let s = start_with(RetryConfig {
        max_retries: 1,
        ..test_retry()
    })
    .await;
    Mock::given(method("PUT"))
        .and(path(ns_path("/values/k")))
        .respond_with(rate_limited().insert_header("retry-after", "2"))
        .mount(&s.server)
        .await;
    let err = s.kv.put("k", "v").await.expect_err("429 every time");
    assert_eq!(err.retry_after(), Some(2 * SECOND));
    assert_eq!(
        err.attempts().map(|a| a.stop),
        Some(StopReason::RetriesExhausted { max_retries: 1 })
    );
}
