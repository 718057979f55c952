//! Many concurrent clients over loopback: last write wins, reads never mix two writes, and the
//! per-key write limit lets one write through per second.

use std::collections::HashSet;
use std::time::Instant;

use kv_mock::{Clock, KvMock};
use serde_json::{Value as Json, json};

fn ns_url(mock: &KvMock, rest: &str) -> String {
    format!(
        "{}/accounts/{}/storage/kv/namespaces/{}{rest}",
        mock.base_url(),
        mock.account_id(),
        mock.namespace_id()
    )
}

fn multipart(value: &str, metadata: &str) -> (String, String) {
    let boundary = "----kvmockboundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"value\"\r\n\r\n{value}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{metadata}\r\n\
         --{boundary}--\r\n"
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn last_write_wins_with_many_concurrent_writers() {
    let mock = KvMock::builder()
        .rate_limit(false)
        .clock(Clock::frozen_at(1_700_000_000))
        .start()
        .await
        .expect("mock");
    let client = reqwest::Client::new();
    let writers = 16;
    let per_writer = 10;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let client = client.clone();
        let url = ns_url(&mock, "/values/shared");
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                let tag = format!("{w}-{i}");
                let ttl = 1000 + w * 100 + i;
                let (ct, body) = multipart(&tag, &json!({ "tag": tag }).to_string());
                let r = client
                    .put(format!("{url}?expiration_ttl={ttl}"))
                    .header("content-type", ct)
                    .body(body)
                    .send()
                    .await
                    .expect("put");
                assert_eq!(r.status(), 200);
            }
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..4 {
        let client = client.clone();
        let url = ns_url(&mock, "/bulk/get");
        readers.push(tokio::spawn(async move {
            let mut seen = 0;
            for _ in 0..40 {
                let r = client
                    .post(&url)
                    .body(r#"{"keys":["shared"],"withMetadata":true}"#)
                    .send()
                    .await
                    .expect("bulk get");
                let j: Json =
                    serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
                let entry = &j["result"]["values"]["shared"];
                if entry.is_null() {
                    continue;
                }
                seen += 1;
                let tag = entry["value"].as_str().expect("text value").to_owned();
                assert_eq!(
                    entry["metadata"]["tag"],
                    json!(tag),
                    "value and metadata mixed"
                );
                let (w, i) = tag.split_once('-').expect("tag");
                let (w, i): (u64, u64) = (w.parse().expect("w"), i.parse().expect("i"));
                assert_eq!(
                    entry["expiration"],
                    json!(1_700_000_000u64 + 1000 + w * 100 + i),
                    "expiration of another write"
                );
            }
            seen
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    for r in readers {
        r.await.expect("reader");
    }
    let last = mock
        .engine()
        .entry(mock.namespace_id(), "shared")
        .expect("present");
    let tag = String::from_utf8(last.value.to_vec()).expect("utf8");
    // The survivor is the last write of one of the writers.
    assert!(tag.ends_with(&format!("-{}", per_writer - 1)), "{tag}");
    assert_eq!(
        last.metadata
            .and_then(|m| m.decode::<serde_json::Value>().ok()),
        Some(json!({ "tag": tag }))
    );
    assert_eq!(
        mock.requests().len(),
        writers as usize * per_writer as usize + 4 * 40
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limit_lets_one_concurrent_write_through() {
    let mock = KvMock::builder()
        .clock(Clock::frozen_at(1_700_000_000))
        .start()
        .await
        .expect("mock");
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..20 {
        let client = client.clone();
        let url = ns_url(&mock, "/values/hot");
        tasks.push(tokio::spawn(async move {
            let r = client
                .put(url)
                .body(format!("w{w}"))
                .send()
                .await
                .expect("put");
            let status = r.status().as_u16();
            let retry = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (w, status, retry)
        }));
    }
    let mut ok = HashSet::new();
    let mut limited = 0;
    for t in tasks {
        let (w, status, retry) = t.await.expect("task");
        match status {
            200 => {
                ok.insert(format!("w{w}"));
            }
            429 => {
                assert_eq!(retry.as_deref(), Some("1"));
                limited += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    // One write per (real) second at most: the clock is frozen, so only real time can lift it.
    let allowed = 1 + started.elapsed().as_secs() as usize;
    assert!(!ok.is_empty() && ok.len() <= allowed, "{ok:?}");
    assert_eq!(ok.len() + limited, 20);
    let value = mock
        .engine()
        .entry(mock.namespace_id(), "hot")
        .map(|e| String::from_utf8(e.value.to_vec()).expect("utf8"))
        .expect("present");
    assert!(ok.contains(&value), "{value} was refused but stored");
}
