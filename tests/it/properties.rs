//! Property tests (proptest) of the client against kv-mock over loopback:
//!
//! - any key of 1..=512 bytes of UTF-8 (with `/ ? # % ..`, spaces, control characters,
//!   non-ASCII) round-trips exactly: stored under exactly that name, read back, listed;
//! - any metadata of at most 1024 bytes of JSON round-trips byte for byte;
//! - any value round-trips, empty included, sent as bytes or as a stream cut at random places;
//! - list, over random page sizes and clock moves, returns exactly the live keys with the
//!   prefix, in byte order, each once (checked against a `BTreeMap` model).
//!
//! Each test runs one mock (per-key write limit off) and a modest number of cases.

use crate::kit;
use std::cell::Cell;
use std::collections::BTreeMap;

use bytes::Bytes;
use edge_kv::client::{Body, KvNamespace, RetryConfig};
use edge_kv::mock::{Clock, KvMock};
use edge_kv::types::{KeyInfo, ListOptions, limits::MAX_KEY_BYTES, limits::MAX_METADATA_BYTES};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::value::RawValue;
use tokio::runtime::Runtime;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// A mock with the per-key write limit off, and a client namespace on it that does not retry
/// (so any failure shows as it is).
async fn mock_and_client(clock: Clock) -> (KvMock, KvNamespace) {
    let mock = kit::start_mock(KvMock::builder().rate_limit(false).clock(clock)).await;
    let kv = kit::client_builder(&mock)
        .retry(RetryConfig::none())
        .build()
        .expect("client")
        .namespace(mock.namespace_id());
    (mock, kv)
}

/// Characters that break naive URL handling, and others.
fn key_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select(vec![
            '/', '?', '#', '%', '.', ' ', '+', '&', '=', ';', '\\', ':', '@', '~', '\n', '\t',
            '\r', '\0', '\u{7f}', 'é', '日', '🦀', '\u{feff}', '\u{202e}', '"', '\'', '<', '*',
        ]),
        2 => any::<char>(),
        3 => prop::char::range('a', 'z'),
    ]
}

/// Cuts `s` to at most `max` bytes, at a character boundary.
fn cut_to(mut s: String, max: usize) -> String {
    while s.len() > max {
        s.pop();
    }
    s
}

/// Repeats `chars` then pads with `x` to exactly `MAX_KEY_BYTES` bytes.
fn fill_key(chars: Vec<char>) -> String {
    let mut s = String::new();
    for c in chars.iter().cycle().take(MAX_KEY_BYTES) {
        if s.len() + c.len_utf8() > MAX_KEY_BYTES {
            break;
        }
        s.push(*c);
    }
    while s.len() < MAX_KEY_BYTES {
        s.push('x');
    }
    s
}

/// Valid key names: 1..=512 bytes, not `.` or `..`.
fn key_name() -> impl Strategy<Value = String> {
    prop_oneof![
        5 => vec(key_char(), 1..80).prop_map(String::from_iter),
        2 => vec(key_char(), 1..4).prop_map(fill_key),
        2 => prop::sample::select(vec![
            "../bulk", "a/../../keys", "%2F", "%2f%2F", "?x=1", "#f", "...", ". ", "./", "/..",
            "/", "//", "a//b", "%", "%%", "%zz", "+", " ", "values/k", "bulk", "keys",
        ])
        .prop_map(str::to_owned),
        1 => vec(key_char(), 200..600).prop_map(String::from_iter),
    ]
    .prop_map(|k| cut_to(k, MAX_KEY_BYTES))
    .prop_filter("a valid key", |k| !k.is_empty() && k != "." && k != "..")
}

#[test]
fn any_valid_key_round_trips_exactly() {
    let rt = runtime();
    let (mock, kv) = rt.block_on(mock_and_client(Clock::system()));
    runner(128)
        .run(&key_name(), |key| {
            rt.block_on(async {
                let value = format!("value of {key:?}");
                kv.put(&key, value.as_str())
                    .await
                    .map_err(|e| TestCaseError::fail(format!("put {key:?}: {e}")))?;
                let stored = mock.engine().entry(mock.namespace_id(), &key);
                prop_assert_eq!(
                    stored.map(|e| e.value),
                    Some(Bytes::from(value.clone())),
                    "the engine holds the value under exactly the key"
                );
                let names: Vec<String> = mock
                    .store()
                    .expect("namespace")
                    .list_sync(&ListOptions::new())
                    .expect("engine list")
                    .keys
                    .into_iter()
                    .map(|k| k.name)
                    .collect();
                prop_assert_eq!(names, vec![key.clone()], "one key, no other");
                let read = kv
                    .get(&key)
                    .text()
                    .await
                    .map_err(|e| TestCaseError::fail(format!("get {key:?}: {e}")))?;
                prop_assert_eq!(read.as_deref(), Some(value.as_str()));
                let page = kv
                    .list()
                    .prefix(key.as_str())
                    .limit(10)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("list {key:?}: {e}")))?;
                let listed: Vec<&str> = page.keys.iter().map(|k| k.name.as_str()).collect();
                prop_assert_eq!(listed, vec![key.as_str()], "listed under its prefix");
                let meta: Option<Option<serde_json::Value>> = kv
                    .metadata(&key)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("metadata {key:?}: {e}")))?;
                prop_assert_eq!(meta, Some(None));
                kv.delete(&key)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("delete {key:?}: {e}")))?;
                prop_assert!(mock.engine().entry(mock.namespace_id(), &key).is_none());
                Ok(())
            })
        })
        .expect("every key round-trips");
}

/// Any JSON value.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `{"v": value, "pad": "xxx..."}` of exactly `MAX_METADATA_BYTES` bytes, or `value` when it
/// is already too long for that.
fn padded_to_limit(value: serde_json::Value) -> serde_json::Value {
    let base = serde_json::json!({"pad": "", "v": value.clone()});
    let len = serde_json::to_string(&base).map_or(usize::MAX, |t| t.len());
    match MAX_METADATA_BYTES.checked_sub(len) {
        Some(n) => serde_json::json!({"pad": "x".repeat(n), "v": value}),
        None => value,
    }
}

/// Metadata texts of at most `MAX_METADATA_BYTES` bytes. A top-level `null` is left out: the
/// contract answers `null` for a key without metadata, so metadata that is `null` reads back as
/// none (an ambiguity of the wire format, not a loss).
fn metadata_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => json_value(),
        1 => json_value().prop_map(padded_to_limit),
    ]
    .prop_map(|v| serde_json::to_string(&v).expect("JSON values serialize"))
    .prop_filter("within the metadata limit, not null", |t| {
        t.len() <= MAX_METADATA_BYTES && t != "null"
    })
}

#[test]
fn any_metadata_within_the_limit_round_trips() {
    let rt = runtime();
    let (mock, kv) = rt.block_on(mock_and_client(Clock::system()));
    let saw_limit = Cell::new(false);
    runner(128)
        .run(&metadata_text(), |text| {
            saw_limit.set(saw_limit.get() || text.len() == MAX_METADATA_BYTES);
            rt.block_on(async {
                let meta: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
                let raw = RawValue::from_string(text.clone()).expect("raw JSON");
                kv.put("meta", "value")
                    .metadata(&raw)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("put {text}: {e}")))?;
                let stored = mock
                    .engine()
                    .entry(mock.namespace_id(), "meta")
                    .and_then(|e| e.metadata)
                    .map(|m| m.as_json().to_owned());
                prop_assert_eq!(
                    stored.as_deref(),
                    Some(text.as_str()),
                    "stored byte for byte"
                );
                let read: Option<Option<Box<RawValue>>> = kv
                    .metadata("meta")
                    .await
                    .map_err(|e| TestCaseError::fail(format!("metadata: {e}")))?;
                let read = read.flatten().map(|r| r.get().to_owned());
                prop_assert_eq!(read.as_deref(), Some(text.as_str()), "read byte for byte");
                let decoded: Option<Option<serde_json::Value>> = kv
                    .metadata("meta")
                    .await
                    .map_err(|e| TestCaseError::fail(format!("metadata: {e}")))?;
                prop_assert_eq!(decoded, Some(Some(meta)));
                let page = kv
                    .list()
                    .prefix("meta")
                    .await
                    .map_err(|e| TestCaseError::fail(format!("list: {e}")))?;
                let listed: Vec<Option<&str>> = page
                    .keys
                    .iter()
                    .map(|k| k.metadata.as_ref().map(|m| m.as_json()))
                    .collect();
                prop_assert_eq!(listed, vec![Some(text.as_str())], "listed byte for byte");
                Ok(())
            })
        })
        .expect("every metadata round-trips");
    assert!(saw_limit.get(), "a case at exactly the limit ran");
}

/// How a value is sent.
#[derive(Debug, Clone, Copy)]
enum Send {
    Bytes,
    /// A one-shot stream cut into chunks of this size (raised for large values to keep the
    /// chunk count near 1024).
    Stream(usize),
}

fn value_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(Vec::new()),
        3 => vec(any::<u8>(), 0..=64),
        3 => vec(any::<u8>(), 0..=8192),
        1 => (0usize..=1_000_000, any::<u8>())
            .prop_map(|(len, seed)| (0..len).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()),
    ]
}

fn send_mode() -> impl Strategy<Value = Send> {
    prop_oneof![
        Just(Send::Bytes),
        (1usize..=65_536).prop_map(Send::Stream),
        (1usize..=7).prop_map(Send::Stream),
    ]
}

#[test]
fn any_value_round_trips_empty_included() {
    let rt = runtime();
    let (mock, kv) = rt.block_on(mock_and_client(Clock::system()));
    let saw_empty = Cell::new(false);
    runner(96)
        .run(&(value_bytes(), send_mode()), |(value, mode)| {
            saw_empty.set(saw_empty.get() || value.is_empty());
            rt.block_on(async {
                let value = Bytes::from(value);
                let body = match mode {
                    Send::Bytes => Body::from(value.clone()),
                    Send::Stream(size) => {
                        // At most about 1024 chunks, so tiny chunk sizes stay cheap.
                        let size = size.max(value.len() / 1024).max(1);
                        let chunks: Vec<Result<Bytes, std::io::Error>> = value
                            .chunks(size)
                            .map(|c| Ok(Bytes::copy_from_slice(c)))
                            .collect();
                        Body::stream(futures_util::stream::iter(chunks))
                    }
                };
                kv.put("value", body)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("put {mode:?}: {e}")))?;
                let stored = mock
                    .engine()
                    .entry(mock.namespace_id(), "value")
                    .map(|e| e.value);
                prop_assert!(stored == Some(value.clone()), "stored whole ({mode:?})");
                let read = kv
                    .get("value")
                    .bytes()
                    .await
                    .map_err(|e| TestCaseError::fail(format!("get: {e}")))?;
                prop_assert!(read == Some(value.clone()), "read back whole ({mode:?})");
                Ok(())
            })
        })
        .expect("every value round-trips");
    assert!(saw_empty.get(), "an empty value was among the cases");
}

/// One step of the list model test.
#[derive(Debug, Clone)]
enum Step {
    /// Write a key, expiring this many seconds later if given.
    Put(String, Option<u64>),
    Delete(String),
    /// Move the mock's clock forward this many seconds.
    Advance(u64),
    /// List the prefix page by page, `page` keys per page, moving the clock before page `i` by
    /// `moves[i]` seconds (missing: no move).
    List {
        prefix: String,
        page: u32,
        moves: Vec<u64>,
    },
}

/// Short names from a small alphabet, so prefixes collide and byte order matters (`A` < `a` <
/// `é`, `/` and space before letters).
fn model_key(max_len: usize) -> impl Strategy<Value = String> {
    vec(
        prop::sample::select(vec!['a', 'b', '/', ' ', 'A', '0', '~', 'é', '%']),
        0..=max_len,
    )
    .prop_map(String::from_iter)
}

fn step() -> impl Strategy<Value = Step> {
    let key = || model_key(4).prop_filter("a valid key", |k| !k.is_empty());
    prop_oneof![
        6 => (key(), prop::option::weighted(0.4, 60u64..=300)).prop_map(|(k, t)| Step::Put(k, t)),
        1 => key().prop_map(Step::Delete),
        2 => (0u64..=240).prop_map(Step::Advance),
        2 => (
            model_key(2),
            prop_oneof![3 => 10u32..=13, 1 => 10u32..=1000],
            vec(prop_oneof![3 => Just(0u64), 1 => 1u64..=120], 0..4),
        )
            .prop_map(|(prefix, page, moves)| Step::List { prefix, page, moves }),
    ]
}

/// The model: key -> expiration (epoch seconds).
type Model = BTreeMap<String, Option<u64>>;

fn live(exp: Option<u64>, now: u64) -> bool {
    exp.is_none_or(|e| e > now)
}

/// The live keys of the model with the prefix at `now`, in byte order, with their expiration.
fn expected(model: &Model, prefix: &str, now: u64) -> Vec<(String, Option<u64>)> {
    model
        .iter()
        .filter(|(k, e)| k.starts_with(prefix) && live(**e, now))
        .map(|(k, e)| (k.clone(), *e))
        .collect()
}

async fn list_pages(
    mock: &KvMock,
    kv: &KvNamespace,
    prefix: &str,
    page: u32,
    moves: &[u64],
) -> Result<Vec<KeyInfo>, TestCaseError> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for index in 0..10_000usize {
        if let Some(by) = moves.get(index).filter(|m| **m > 0) {
            mock.clock().advance(std::time::Duration::from_secs(*by));
        }
        let mut request = kv.list().prefix(prefix).limit(page);
        if let Some(c) = cursor.take() {
            request = request.cursor(c);
        }
        let got = request
            .await
            .map_err(|e| TestCaseError::fail(format!("list {prefix:?} page {index}: {e}")))?;
        out.extend(got.keys);
        match got.cursor {
            Some(c) if !c.is_empty() => cursor = Some(c),
            _ => return Ok(out),
        }
    }
    Err(TestCaseError::fail("the listing never ended"))
}

#[test]
fn list_matches_a_btreemap_model() {
    let rt = runtime();
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs();
    let (mock, kv) = rt.block_on(mock_and_client(Clock::frozen_at(start)));
    let lists = Cell::new(0u32);
    let multi_page = Cell::new(0u32);
    runner(64)
        .run(&vec(step(), 1..50), |steps| {
            mock.reset().expect("reset");
            rt.block_on(async {
                let mut model = Model::new();
                for step in &steps {
                    let now = mock.clock().now_secs();
                    match step {
                        Step::Put(key, ttl) => {
                            let mut put = kv.put(key, format!("v-{key}"));
                            if let Some(ttl) = ttl {
                                put = put.expiration_ttl(*ttl);
                            }
                            put.await
                                .map_err(|e| TestCaseError::fail(format!("put {key:?}: {e}")))?;
                            model.insert(key.clone(), ttl.map(|t| now + t));
                        }
                        Step::Delete(key) => {
                            kv.delete(key)
                                .await
                                .map_err(|e| TestCaseError::fail(format!("delete {key:?}: {e}")))?;
                            model.remove(key);
                        }
                        Step::Advance(secs) => {
                            mock.clock().advance(std::time::Duration::from_secs(*secs))
                        }
                        Step::List {
                            prefix,
                            page,
                            moves,
                        } => {
                            lists.set(lists.get() + 1);
                            let before = expected(&model, prefix, now);
                            let got = list_pages(&mock, &kv, prefix, *page, moves).await?;
                            let after_now = mock.clock().now_secs();
                            let after = expected(&model, prefix, after_now);
                            if before.len() > *page as usize {
                                multi_page.set(multi_page.get() + 1);
                            }
                            let got: Vec<(String, Option<u64>)> =
                                got.into_iter().map(|k| (k.name, k.expiration)).collect();
                            let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
                            prop_assert!(
                                names.windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes()),
                                "byte order, each once: {names:?}"
                            );
                            if after_now == now {
                                prop_assert_eq!(&got, &before, "exactly the live keys");
                            } else {
                                // The clock moved during the listing: every key live throughout
                                // is listed, and nothing that was not live at the start.
                                for k in &after {
                                    prop_assert!(got.contains(k), "{k:?} live throughout, missing");
                                }
                                for k in &got {
                                    prop_assert!(before.contains(k), "{k:?} listed, not live");
                                }
                            }
                        }
                    }
                }
                let now = mock.clock().now_secs();
                let engine: Vec<(String, Option<u64>)> = mock
                    .store()
                    .expect("namespace")
                    .list_sync(&ListOptions::new())
                    .expect("engine list")
                    .keys
                    .into_iter()
                    .map(|k| (k.name, k.expiration))
                    .collect();
                prop_assert_eq!(
                    engine,
                    expected(&model, "", now),
                    "engine matches the model"
                );
                Ok(())
            })
        })
        .expect("list matches the model");
    assert!(
        lists.get() > 0 && multi_page.get() > 0,
        "lists ran, some over several pages"
    );
}
