//! Streamed values: sent as they come, cut off past the limit; a one-shot stream that ends
//! within the replay buffer is retried like bytes, a longer one never re-sent once an attempt
//! read past the buffer; replayable sources and files are retried whole.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::scripted_server::{
    Conn, NS, builder, fail, ns_path, ok, raw_json, raw_server, start, test_retry,
};
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use kv_client::time::ManualTime;
use kv_client::{Body, Error, STREAM_REPLAY_BUFFER, StopReason};
use kv_types::{Limits, ValidationError};
use serde_json::json;
use wiremock::Mock;
use wiremock::matchers::{method, path};

fn chunks(
    count: usize,
    size: usize,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let chunk = Bytes::from(vec![b'x'; size]);
    stream::iter((0..count).map(move |_| Ok(chunk.clone())))
}

/// Chunks of 4 KiB adding up to more than the replay buffer: `extra` chunks past it.
fn long_chunks(extra: usize) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    chunks(STREAM_REPLAY_BUFFER / 4096 + extra, 4096)
}

const OK_BODY: &str = r#"{"success":true,"errors":[],"messages":[],"result":{}}"#;

#[tokio::test]
async fn stream_is_sent_whole_when_all_goes_well() {
    let s = start().await;
    Mock::given(method("PUT"))
        .and(path(ns_path("/values/k")))
        .respond_with(ok(json!({})))
        .mount(&s.server)
        .await;
    s.kv.put("k", Body::stream(chunks(64, 1024)))
        .await
        .expect("stored");
    let requests = s.server.received_requests().await.expect("log");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body.len(), 64 * 1024);
}

#[tokio::test]
async fn stream_failing_midway_is_not_replayable_and_nothing_is_sent_whole() {
    let s = start().await;
    Mock::given(method("PUT"))
        .respond_with(ok(json!({})))
        .mount(&s.server)
        .await;
    let source = long_chunks(40).chain(stream::iter([Err(std::io::Error::other(
        "upstream hung up",
    ))]));
    let err =
        s.kv.put("k", Body::stream(source))
            .await
            .expect_err("cut off");
    match &err {
        Error::NotReplayable { source, .. } => match source.as_ref() {
            Error::Body { source, .. } => assert_eq!(source.to_string(), "upstream hung up"),
            other => panic!("unexpected cause {other:?}"),
        },
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        err.attempts().map(|a| (a.count, a.stop)),
        Some((1, StopReason::BodyNotReplayable))
    );
    assert!(err.to_string().contains("one-shot stream"), "{err}");
    assert!(
        s.server.received_requests().await.expect("log").is_empty(),
        "the server never got a complete request"
    );
    assert!(s.time.sleeps().is_empty());
}

#[tokio::test]
async fn a_short_stream_failing_while_buffered_sends_nothing() {
    let s = start().await;
    let source = chunks(3, 1000).chain(stream::iter([Err(std::io::Error::other(
        "upstream hung up",
    ))]));
    let err =
        s.kv.put("k", Body::stream(source))
            .await
            .expect_err("the source failed");
    match &err {
        Error::Body { source, .. } => assert_eq!(source.to_string(), "upstream hung up"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(s.server.received_requests().await.expect("log").is_empty());
}

#[tokio::test]
async fn connection_lost_during_a_stream_upload_is_not_replayable() {
    let (uri, server) = raw_server(vec![
        Conn::CloseAfterBytes(STREAM_REPLAY_BUFFER + 64 * 1024),
        Conn::Respond(raw_json(200, OK_BODY)),
    ])
    .await;
    let time = ManualTime::new();
    let client = builder(&uri, &time, test_retry()).build().expect("client");
    // A slow stream, so the server closes while it is being sent.
    let slow = long_chunks(100).then(|c| async move {
        tokio::time::sleep(Duration::from_micros(200)).await;
        c
    });
    let err = client
        .namespace(NS)
        .put("k", Body::stream(slow))
        .await
        .expect_err("connection lost");
    assert!(matches!(err, Error::NotReplayable { .. }), "{err:?}");
    assert!(
        err.is_retryable(),
        "the caller may try again with a new stream"
    );
    server.abort();
}

#[tokio::test]
async fn replayable_source_is_retried_to_success() {
    let s = start().await;
    Mock::given(method("PUT"))
        .and(path(ns_path("/values/k")))
        .respond_with(fail(503, 19018, "injected"))
        .up_to_n_times(1)
        .mount(&s.server)
        .await;
    Mock::given(method("PUT"))
        .and(path(ns_path("/values/k")))
        .respond_with(ok(json!({})))
        .mount(&s.server)
        .await;
    let made = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&made);
    let body = Body::replayable(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        chunks(10, 100)
    });
    s.kv.put("k", body)
        .metadata(&json!({"m": 1}))
        .await
        .expect("second attempt");
    assert_eq!(made.load(Ordering::SeqCst), 2);
    let requests = s.server.received_requests().await.expect("log");
    assert_eq!(requests.len(), 2);
    let last = String::from_utf8_lossy(&requests[1].body);
    assert!(last.contains(&"x".repeat(1000)), "whole value re-sent");
}

#[tokio::test]
async fn a_long_one_shot_stream_answered_with_503_is_not_resent() {
    let err_body =
        r#"{"success":false,"errors":[{"code":19018,"message":"x"}],"messages":[],"result":null}"#;
    let (uri, server) = raw_server(vec![
        Conn::Respond(raw_json(503, err_body)),
        Conn::Respond(raw_json(200, OK_BODY)),
    ])
    .await;
    let time = ManualTime::new();
    let client = builder(&uri, &time, test_retry()).build().expect("client");
    let err = client
        .namespace(NS)
        .put("k", Body::stream(long_chunks(16)))
        .await
        .expect_err("the stream was consumed by the first attempt");
    match &err {
        Error::NotReplayable { source, .. } => assert_eq!(source.status(), Some(503)),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.status(), Some(503));
    assert!(time.sleeps().is_empty(), "no retry was attempted");
    server.abort();
}

#[tokio::test]
async fn a_stream_that_ends_just_past_the_buffer_is_resent_from_its_head() {
    let err_body =
        r#"{"success":false,"errors":[{"code":19018,"message":"x"}],"messages":[],"result":null}"#;
    let (uri, server) = raw_server(vec![
        Conn::Respond(raw_json(503, err_body)),
        Conn::Respond(raw_json(200, OK_BODY)),
    ])
    .await;
    let time = ManualTime::new();
    let client = builder(&uri, &time, test_retry()).build().expect("client");
    // The chunk that crosses the buffer is the last: the whole value is in the buffered head,
    // the rest is empty, so the first attempt never took anything that cannot be sent again.
    client
        .namespace(NS)
        .put("k", Body::stream(long_chunks(1)))
        .await
        .expect("retried from the head");
    let bodies = server.await.expect("server");
    assert_eq!(bodies.len(), 2);
    // Sent chunked (no length known): the same framing twice, holding the whole value.
    assert_eq!(bodies[0], bodies[1]);
    assert!(bodies[1].len() >= STREAM_REPLAY_BUFFER + 4096);
}

#[tokio::test]
async fn a_short_one_shot_stream_answered_with_503_is_resent_whole() {
    let err_body =
        r#"{"success":false,"errors":[{"code":19018,"message":"x"}],"messages":[],"result":null}"#;
    let (uri, server) = raw_server(vec![
        Conn::Respond(raw_json(503, err_body)),
        Conn::Respond(raw_json(200, OK_BODY)),
    ])
    .await;
    let time = ManualTime::new();
    let client = builder(&uri, &time, test_retry()).build().expect("client");
    // Exactly the buffer: it ends within it, so it is sent as bytes.
    let exact = chunks(STREAM_REPLAY_BUFFER / 4096, 4096);
    client
        .namespace(NS)
        .put("k", Body::stream(exact))
        .await
        .expect("retried like bytes");
    assert_eq!(time.sleeps().len(), 1);
    let bodies = server.await.expect("server");
    assert_eq!(bodies.len(), 2);
    assert!(
        bodies.iter().all(|b| b.len() == STREAM_REPLAY_BUFFER),
        "sent whole twice"
    );
}

#[tokio::test]
async fn file_is_streamed_and_retried() {
    let s = start().await;
    Mock::given(method("PUT"))
        .and(path(ns_path("/values/k")))
        .respond_with(fail(500, 19019, "boom"))
        .up_to_n_times(1)
        .mount(&s.server)
        .await;
    Mock::given(method("PUT"))
        .and(path(ns_path("/values/k")))
        .respond_with(ok(json!({})))
        .mount(&s.server)
        .await;
    let dir = std::env::temp_dir().join(format!("kv-client-streams-{}", std::process::id()));
    tokio::fs::create_dir_all(&dir).await.expect("dir");
    let file = dir.join("value.bin");
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    tokio::fs::write(&file, &content).await.expect("write");
    s.kv.put("k", Body::file(&file))
        .await
        .expect("second attempt");
    let requests = s.server.received_requests().await.expect("log");
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].body, content);
    tokio::fs::remove_dir_all(&dir).await.expect("cleanup");
}

#[tokio::test]
async fn stream_over_25_mib_is_cut_off() {
    let s = start().await;
    Mock::given(method("PUT"))
        .respond_with(ok(json!({})))
        .mount(&s.server)
        .await;
    let max = Limits::PRODUCTION.max_value_bytes;
    let mib = 1024 * 1024;
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    let source = chunks(30, mib).inspect(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let err =
        s.kv.put("big", Body::stream(source))
            .await
            .expect_err("too big");
    assert_eq!(
        err.validation_error(),
        Some(&ValidationError::ValueTooLarge {
            len: max + mib,
            max
        })
    );
    assert_eq!(sent.load(Ordering::SeqCst), 26, "the rest is never pulled");
    assert!(s.server.received_requests().await.expect("log").is_empty());
}

#[tokio::test]
async fn stream_exactly_at_a_small_limit_passes_and_one_byte_more_does_not() {
    let s = start().await;
    Mock::given(method("PUT"))
        .respond_with(ok(json!({})))
        .mount(&s.server)
        .await;
    let client = builder(&s.server.uri(), &s.time, test_retry())
        .limits(Limits {
            max_value_bytes: 1000,
            ..Limits::PRODUCTION
        })
        .build()
        .expect("client");
    let kv = client.namespace(NS);
    kv.put("k", Body::stream(chunks(10, 100)))
        .await
        .expect("at the limit");
    let over = chunks(10, 100).chain(stream::iter([Ok(Bytes::from_static(b"!"))]));
    let err = kv
        .put("k", Body::stream(over))
        .await
        .expect_err("one byte over");
    assert_eq!(
        err.validation_error(),
        Some(&ValidationError::ValueTooLarge {
            len: 1001,
            max: 1000
        })
    );
    // With metadata (multipart) too.
    let over = chunks(11, 100);
    let err = kv
        .put("k", Body::stream(over))
        .metadata(&1)
        .await
        .expect_err("over, multipart");
    assert!(err.validation_error().is_some(), "{err:?}");
}

#[tokio::test]
async fn get_stream_reads_chunks() {
    let s = start().await;
    let value: Vec<u8> = (0..100_000u32).map(|i| (i % 7) as u8).collect();
    Mock::given(method("GET"))
        .and(path(ns_path("/values/k")))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_bytes(value.clone())
                .insert_header("expiration", "1999999999"),
        )
        .mount(&s.server)
        .await;
    let mut stream = s.kv.get("k").stream().await.expect("ok").expect("present");
    assert_eq!(stream.expiration(), Some(1_999_999_999));
    let mut got = Vec::new();
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.expect("chunk"));
    }
    assert_eq!(got, value);
}
