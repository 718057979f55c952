//! Per-key write pacing and coalescing against kv-mock with its per-key write limit on: no
//! write refused, every call answered by the write that carried it, last write wins, keys
//! independent, the pacer's table empties itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kv_client::{Body, Error, KvNamespace};

use crate::kit::Service;

/// A service on frozen clocks whose client paces writes (or not).
async fn service(pacing: bool, retry: kv_client::RetryConfig) -> Service {
    crate::kit::start_configured(|b| b.write_pacing(pacing).retry(retry)).await
}

/// What a run of hot writers did.
#[derive(Debug)]
pub(crate) struct HotRun {
    pub(crate) ok: usize,
    pub(crate) failed: usize,
    pub(crate) puts: usize,
    pub(crate) refused: usize,
    pub(crate) elapsed: Duration,
    pub(crate) stored: Option<String>,
    pub(crate) last_made: String,
}

/// `tasks` tasks each writing key `hot` `writes` times as fast as they can; every call is
/// numbered as it is made (the put is submitted at its first poll, in this one-thread runtime,
/// with no yield between the number and the submission).
async fn hot_writers(s: &Service, tasks: usize, writes: usize) -> HotRun {
    let made = Arc::new(AtomicU64::new(0));
    let last = Arc::new(std::sync::Mutex::new((0u64, String::new())));
    let start = s.time.elapsed();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let (kv, made, last) = (s.kv.clone(), Arc::clone(&made), Arc::clone(&last));
        handles.push(tokio::spawn(async move {
            let mut results = Vec::new();
            for i in 0..writes {
                let value = format!("t{t}-w{i}");
                let n = made.fetch_add(1, Ordering::SeqCst);
                {
                    let mut l = last.lock().expect("lock");
                    if n >= l.0 {
                        *l = (n, value.clone());
                    }
                }
                results.push(kv.put("hot", value).await);
            }
            results
        }));
    }
    let mut ok = 0;
    let mut failed = 0;
    for h in handles {
        for r in h.await.expect("task") {
            match r {
                Ok(()) => ok += 1,
                Err(_) => failed += 1,
            }
        }
    }
    let elapsed = s.time.elapsed() - start;
    let requests = s.mock.requests();
    let puts: Vec<_> = requests
        .iter()
        .filter(|r| r.method == "PUT" && r.key.as_deref() == Some("hot"))
        .collect();
    let stored = s.kv.get("hot").text().await.expect("read");
    let last_made = last.lock().expect("lock").1.clone();
    HotRun {
        ok,
        failed,
        puts: puts.len(),
        refused: puts.iter().filter(|r| r.status == 429).count(),
        elapsed,
        stored,
        last_made,
    }
}

#[tokio::test]
async fn a_hundred_writers_of_one_key_are_never_refused() {
    let s = service(true, kv_client::RetryConfig::default()).await;
    let run = hot_writers(&s, 100, 10).await;
    println!("with pacing: {run:?}");
    assert_eq!((run.ok, run.failed), (1000, 0), "{run:?}");
    assert_eq!(run.refused, 0, "{run:?}");
    assert_eq!(
        run.stored.as_deref(),
        Some(run.last_made.as_str()),
        "last write wins"
    );
    assert!(
        run.puts as u64 <= run.elapsed.as_secs() + 1,
        "at most one write a second: {run:?}"
    );
    assert!(run.puts < 100, "writes were merged: {run:?}");
    // The pacer's table empties once the key's window has passed.
    s.advance(Duration::from_secs(2));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(s.client.paced_keys(), Some(0));
}

/// A service on real time (kv-mock's per-key limit on), whose client paces writes or not.
async fn real_time_service(pacing: bool) -> Service {
    let mock = crate::kit::start_mock(kv_mock::KvMock::builder()).await;
    let time = kv_client::time::ManualTime::new();
    let client = crate::kit::client_builder(&mock)
        .write_pacing(pacing)
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

/// The same run with and without pacing, on real time, for BENCHMARKS.md (about 2 minutes:
/// without pacing, calls wait up to their 120 s deadline):
/// `cargo test -p edge-kv --test it pacing_comparison -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "takes about 2 minutes of real time"]
async fn pacing_comparison() {
    for pacing in [true, false] {
        let s = real_time_service(pacing).await;
        let started = Instant::now();
        let run = hot_writers(&s, 100, 10).await;
        println!(
            "pacing {pacing}: {} ok, {} failed, {} PUT requests, {} answered 429, {:.1} s, final value of the last call: {}",
            run.ok,
            run.failed,
            run.puts,
            run.refused,
            started.elapsed().as_secs_f64(),
            run.stored.as_deref() == Some(run.last_made.as_str())
        );
    }
}

async fn held(kv: &KvNamespace, key: &str, value: &str) -> Result<(), Error> {
    kv.put(key, value.to_owned()).await
}

#[tokio::test]
async fn merged_callers_get_the_carrying_writes_error_and_nothing_unstored_is_acked() {
    let retry = kv_client::RetryConfig {
        max_retries: 2,
        ..kv_client::RetryConfig::default()
    };
    let s = service(true, retry).await;
    // The first write is held for a while (real time), so the next ones wait and merge.
    s.mock
        .inject(kv_mock::Fault::delay(Duration::from_millis(300)).times(1));
    let first = {
        let kv = s.kv.clone();
        tokio::spawn(async move { held(&kv, "m", "a").await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // While "a" is in flight: 500s for every later request, past the retries.
    s.mock.inject(kv_mock::Fault::status(500).times(u32::MAX));
    // A one-shot stream that is superseded before it is sent is dropped unread.
    let polled = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&polled);
    let stream = futures_util::stream::poll_fn(move |_| {
        flag.store(true, Ordering::SeqCst);
        std::task::Poll::Ready(Some(Ok::<_, std::io::Error>(Bytes::from_static(b"s"))))
    });
    let (b, c, d) = tokio::join!(
        s.kv.put("m", Body::stream(stream)).send(),
        held(&s.kv, "m", "c"),
        held(&s.kv, "m", "d")
    );
    first
        .await
        .expect("task")
        .expect("the first write went before the faults");
    assert!(
        !polled.load(Ordering::SeqCst),
        "the superseded stream was never read"
    );
    for r in [&b, &c, &d] {
        match r {
            Err(Error::Merged { source, .. }) => assert_eq!(source.status(), Some(500)),
            other => panic!("unexpected {other:?}"),
        }
    }
    let e = b.expect_err("failed");
    assert_eq!(e.status(), Some(500));
    assert!(e.is_retryable());
    assert_eq!(e.attempts().map(|a| a.count), Some(3));
    s.mock.clear_faults();
    assert_eq!(
        s.kv.get("m").text().await.expect("get").as_deref(),
        Some("a"),
        "nothing merged was stored, and nothing stored was lost"
    );
    let puts = s
        .mock
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .count();
    assert_eq!(
        puts,
        1 + 3,
        "one write for b, c and d together, with its 2 retries"
    );

    // And a merged write that succeeds answers every caller Ok; deletes merge with puts.
    let (x, y, z) = tokio::join!(
        held(&s.kv, "m", "x"),
        s.kv.delete("m"),
        held(&s.kv, "m", "z")
    );
    x.expect("x");
    y.expect("y");
    z.expect("z");
    assert_eq!(
        s.kv.get("m").text().await.expect("get").as_deref(),
        Some("z")
    );
}

#[tokio::test]
async fn a_429_from_another_writer_waits_for_the_window() {
    let s = service(true, kv_client::RetryConfig::default()).await;
    let other = crate::kit::client_builder(&s.mock).build().expect("client");
    other
        .namespace(s.mock.namespace_id())
        .put("k", "other")
        .await
        .expect("the other writer");
    s.kv.put("k", "ours")
        .await
        .expect("retried after the window");
    let statuses: Vec<u16> = s
        .mock
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [200, 429, 200]);
    assert!(s.time.sleeps().iter().all(|w| *w >= Duration::from_secs(1)));
}

#[tokio::test]
async fn keys_are_independent() {
    // Real time: a thousand keys written twice each take about one window, not a thousand.
    let mock = crate::kit::start_mock(kv_mock::KvMock::builder()).await;
    let client = crate::kit::client_builder(&mock)
        .write_pacing(true)
        .build()
        .expect("client");
    let kv = client.namespace(mock.namespace_id());
    let started = Instant::now();
    let calls = (0..1000).flat_map(|i| {
        let kv = kv.clone();
        [0, 1].map(move |round| {
            let kv = kv.clone();
            async move { kv.put(format!("key/{i}"), format!("{round}")).await }
        })
    });
    let results = futures_util::future::join_all(calls).await;
    let took = started.elapsed();
    assert!(results.iter().all(Result::is_ok));
    let refused = mock.requests().iter().filter(|r| r.status == 429).count();
    assert_eq!(refused, 0);
    // Head-of-line blocking would take 1,000 s; about one window (plus the machine) is right.
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert_eq!(
        kv.get("key/999").text().await.expect("get").as_deref(),
        Some("1")
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(client.paced_keys(), Some(0), "the table empties itself");
}
