//! The crash test: concurrent writers against `kv-mock --persist DIR`, the server killed with
//! SIGKILL at a random moment, restarted on the same directory, and every key checked:
//!
//! - **lost**: a key whose last acknowledged write (put or delete) is not what is stored, and
//!   neither is the write that was in flight on it when the server died (which may or may not
//!   have landed: it was never acknowledged);
//! - **torn**: an entry whose value, metadata and expiration are not all of one write (each
//!   write puts its sequence number in all three).
//!
//! Both must be zero. `cargo test` runs 20 rounds; more, with the figures (RELIABILITY.md):
//! `KV_MOCK_CRASH_ROUNDS=25 cargo test -p kv-mock --test it crash -- --nocapture`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value as Json, json};
use tokio::sync::Mutex;

use crate::persisted_server::{Server, runtime};

/// Concurrent writers; each owns its keys, so the writes of one key are in order.
const WRITERS: usize = 16;
/// Keys per writer.
const KEYS_PER_WRITER: usize = 8;
/// Expirations are `BASE + seq`, far enough in the future to be valid.
const BASE: u64 = 4_000_000_000;

/// What a key holds after a write: nothing (a delete) or the write with this sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    Absent,
    Seq(u64),
}

/// The model of one key: its last acknowledged write, and the write in flight when the server
/// died (it may or may not have landed).
#[derive(Debug, Clone, Copy)]
struct KeyModel {
    acked: Version,
    in_flight: Option<Version>,
}

/// What the writers did and what the checks found, over all rounds.
#[derive(Debug, Default)]
struct Figures {
    rounds: usize,
    acknowledged: u64,
    refused: u64,
    in_flight_landed: u64,
    in_flight_absent: u64,
    lost: u64,
    torn: u64,
}

fn key_name(writer: usize, k: usize) -> String {
    format!("w{writer:02}/k{k}")
}

/// The value of write `seq` of `key`: its sequence number first, a length that varies.
fn value_of(key: &str, seq: u64) -> String {
    let pad = usize::try_from(seq % 700).unwrap_or(0) + 50;
    format!("{seq}:{key}:{}", "x".repeat(pad))
}

/// One writer: puts (single, with metadata and expiration), bulk puts of three keys and deletes
/// on its own keys until a request fails (the server died). Updates `model` as it goes.
async fn writer(
    client: reqwest::Client,
    server: Arc<(String, String)>,
    writer: usize,
    model: Arc<Mutex<BTreeMap<String, KeyModel>>>,
    mut seq: u64,
    counts: Arc<Mutex<Figures>>,
) -> u64 {
    let (values, bulk) = (&server.0, &server.1);
    loop {
        seq += 1;
        let choice = rand::random::<u32>() % 10;
        let first = rand::random::<u32>() as usize % KEYS_PER_WRITER;
        let (keys, version, request) = if choice < 6 {
            let key = key_name(writer, first);
            let form = reqwest::multipart::Form::new()
                .text("value", value_of(&key, seq))
                .text("metadata", json!({ "seq": seq }).to_string());
            let url = format!("{values}{key}?expiration={}", BASE + seq);
            (
                vec![key],
                Version::Seq(seq),
                client.put(url).multipart(form),
            )
        } else if choice < 9 {
            let keys: Vec<String> = (0..3)
                .map(|i| key_name(writer, (first + i) % KEYS_PER_WRITER))
                .collect();
            let items: Vec<Json> = keys
                .iter()
                .map(|key| {
                    json!({
                        "key": key,
                        "value": value_of(key, seq),
                        "metadata": { "seq": seq },
                        "expiration": BASE + seq,
                    })
                })
                .collect();
            let body = Json::Array(items).to_string();
            (
                keys,
                Version::Seq(seq),
                client.put(bulk.as_str()).body(body),
            )
        } else {
            let key = key_name(writer, first);
            let url = format!("{values}{key}");
            (vec![key], Version::Absent, client.delete(url))
        };
        {
            let mut model = model.lock().await;
            for key in &keys {
                if let Some(m) = model.get_mut(key) {
                    m.in_flight = Some(version);
                }
            }
        }
        let answered = request.send().await;
        match answered {
            Ok(r) if r.status() == 200 => {
                let mut model = model.lock().await;
                for key in &keys {
                    if let Some(m) = model.get_mut(key) {
                        m.acked = version;
                        m.in_flight = None;
                    }
                }
                counts.lock().await.acknowledged += 1;
            }
            Ok(r) => {
                // Refused: it must not be there, but the check only needs it not acknowledged.
                counts.lock().await.refused += 1;
                eprintln!("a write was refused: {}", r.status());
                return seq;
            }
            Err(_) => return seq,
        }
    }
}

/// Reads every key back (bulk get with metadata, which reads all fields of an entry at once)
/// and checks it against the model; a landed in-flight write becomes the acknowledged state.
async fn check(
    client: &reqwest::Client,
    server: &Server,
    ns: &str,
    model: &mut BTreeMap<String, KeyModel>,
    figures: &mut Figures,
) {
    let names: Vec<String> = model.keys().cloned().collect();
    for chunk in names.chunks(50) {
        let r = client
            .post(server.url(ns, "/bulk/get"))
            .body(json!({ "keys": chunk, "withMetadata": true }).to_string())
            .send()
            .await
            .expect("bulk get");
        assert_eq!(r.status(), 200);
        let j: Json = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
        for key in chunk {
            let found = &j["result"]["values"][key];
            let stored = if found.is_null() {
                Version::Absent
            } else {
                let value = found["value"].as_str().expect("a text value");
                let seq = value
                    .split(':')
                    .next()
                    .and_then(|s| s.parse::<u64>().ok())
                    .expect("a sequence number in the value");
                let whole = value == value_of(key, seq)
                    && found["metadata"] == json!({ "seq": seq })
                    && found["expiration"] == json!(BASE + seq);
                if !whole {
                    figures.torn += 1;
                    eprintln!("torn entry {key}: {found}");
                }
                Version::Seq(seq)
            };
            let m = model.get_mut(key).expect("a modelled key");
            if stored == m.acked {
                if m.in_flight.is_some_and(|v| v != m.acked) {
                    figures.in_flight_absent += 1;
                }
            } else if Some(stored) == m.in_flight {
                figures.in_flight_landed += 1;
                m.acked = stored;
            } else {
                figures.lost += 1;
                eprintln!(
                    "lost write on {key}: stored {stored:?}, acknowledged {:?}, in flight {:?}",
                    m.acked, m.in_flight
                );
            }
            m.in_flight = None;
        }
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let rounds: usize = std::env::var("KV_MOCK_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let rt = runtime();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("a client");
    let model: Arc<Mutex<BTreeMap<String, KeyModel>>> = Arc::new(Mutex::new(
        (0..WRITERS)
            .flat_map(|w| (0..KEYS_PER_WRITER).map(move |k| key_name(w, k)))
            .map(|k| {
                let m = KeyModel {
                    acked: Version::Absent,
                    in_flight: None,
                };
                (k, m)
            })
            .collect(),
    ));
    let counts = Arc::new(Mutex::new(Figures::default()));
    let mut seqs = [0u64; WRITERS];
    let args = ["--listen", "127.0.0.1:0", "--namespace", "crash"];
    for round in 0..=rounds {
        let server = Server::start(dir.path(), &args);
        let ns = server.namespaces[0].0.clone();
        rt.block_on(async {
            let mut m = model.lock().await;
            let mut c = counts.lock().await;
            check(&client, &server, &ns, &mut m, &mut c).await;
        });
        if round == rounds {
            break;
        }
        let urls = Arc::new((server.url(&ns, "/values/"), server.url(&ns, "/bulk")));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                rt.spawn(writer(
                    client.clone(),
                    Arc::clone(&urls),
                    w,
                    Arc::clone(&model),
                    seqs[w],
                    Arc::clone(&counts),
                ))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(
            50 + u64::from(rand::random::<u16>() % 700),
        ));
        server.kill();
        for (w, handle) in writers.into_iter().enumerate() {
            seqs[w] = rt.block_on(handle).expect("a writer");
        }
        rt.block_on(counts.lock()).rounds += 1;
    }
    let figures = rt.block_on(counts.lock());
    println!(
        "crash test: {} rounds, {} writes acknowledged, {} refused, in flight at the kill: {} landed, {} absent; lost {}, torn {}",
        figures.rounds,
        figures.acknowledged,
        figures.refused,
        figures.in_flight_landed,
        figures.in_flight_absent,
        figures.lost,
        figures.torn
    );
    assert!(figures.acknowledged > 0, "the writers wrote something");
    assert_eq!(figures.refused, 0, "no write is refused");
    assert_eq!(figures.lost, 0, "no acknowledged write is lost");
    assert_eq!(figures.torn, 0, "no entry mixes two writes");
}
