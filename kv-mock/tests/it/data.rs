//! A mock's data moved as a whole: seeding (`MockBuilder::seed`, `--seed`), export / import over
//! HTTP (`GET /__mock/export`, `POST /__mock/import`), and snapshots (`KvMock::snapshot` /
//! `restore`, `POST /__mock/snapshot` / `POST /__mock/restore`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use kv_mock::{Clock, KvMock, MockError};
use serde_json::{Value as Json, json};

const T0: u64 = 1_700_000_000;

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the seed file");
    path
}

const GOOD: &str = r#"[
  {"key": "user:1", "value": "{\"name\":\"Ada\"}", "metadata": {"role": "admin"}},
  {"key": "bin", "value": "AAEC/w==", "base64": true, "expiration": 1700003600},
  {"key": "short", "value": "x", "expiration_ttl": 5}
]"#;

fn control(mock: &KvMock, rest: &str) -> String {
    format!("http://{}/__mock{rest}", mock.addr())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_builder_seeds_namespaces_before_it_serves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = write(dir.path(), "good.json", GOOD);
    let cache = write(dir.path(), "cache.json", r#"[{"key": "c", "value": "1"}]"#);
    let mock = KvMock::builder()
        .clock(Clock::frozen_at(T0))
        .seed(&good)
        .seed_into("cache", &cache)
        .start()
        .await
        .expect("starts");
    let e = mock.engine();
    let user = e.entry(mock.namespace_id(), "user:1").expect("seeded");
    assert_eq!(&user.value[..], br#"{"name":"Ada"}"#);
    assert_eq!(
        user.metadata.map(|m| m.as_json().to_owned()).as_deref(),
        Some(r#"{"role": "admin"}"#)
    );
    let bin = e.entry(mock.namespace_id(), "bin").expect("seeded");
    assert_eq!(
        (&bin.value[..], bin.expiration),
        (&[0u8, 1, 2, 255][..], Some(T0 + 3600))
    );
    // Seeding rules: a TTL under the 60 s minimum is allowed.
    assert_eq!(
        e.entry(mock.namespace_id(), "short")
            .and_then(|v| v.expiration),
        Some(T0 + 5)
    );
    let titles: Vec<_> = mock.namespaces().iter().map(|n| n.title.as_str()).collect();
    assert_eq!(titles, ["kv-mock", "cache"]);
    let cache_id = &mock.namespaces()[1].id;
    assert_eq!(e.entry(cache_id, "c").map(|v| v.value), Some("1".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_seed_file_stops_the_start_and_loads_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let good = write(dir.path(), "good.json", GOOD);
    let bad = write(
        dir.path(),
        "bad.json",
        r#"[{"key": "fine", "value": "v"}, {"key": "big", "value": "v", "metadata": "#,
    );
    let err = KvMock::builder()
        .persist(&data)
        .seed(&good)
        .seed(&bad)
        .start()
        .await
        .expect_err("a broken seed file");
    assert!(matches!(err, MockError::Seed { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("bad.json") && message.contains("ends inside item 1"),
        "{message}"
    );
    let missing = KvMock::builder()
        .seed(dir.path().join("nope.json"))
        .start()
        .await
        .expect_err("a missing seed file");
    assert!(matches!(missing, MockError::SeedFile { .. }), "{missing:?}");
    // Nothing of the good file either: the database holds no key.
    let mock = KvMock::builder()
        .persist(&data)
        .start()
        .await
        .expect("starts");
    assert!(mock.engine().entry(mock.namespace_id(), "user:1").is_none());
    assert!(mock.engine().entry(mock.namespace_id(), "fine").is_none());
    // An item that breaks a rule is named with its index, byte offset and key.
    let long = write(
        dir.path(),
        "long.json",
        &format!(r#"[{{"key": "{}", "value": "v"}}]"#, "k".repeat(513)),
    );
    let err = KvMock::builder()
        .seed(&long)
        .start()
        .await
        .expect_err("a key too long");
    let message = err.to_string();
    assert!(message.contains("item 0 (byte 1, key \"kkk"), "{message}");
    assert!(message.contains("512"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_import_over_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = write(dir.path(), "good.json", GOOD);
    let mock = KvMock::builder()
        .clock(Clock::frozen_at(T0))
        .seed(&good)
        .namespace("main")
        .namespace("copy")
        .start()
        .await
        .expect("starts");
    let client = reqwest::Client::new();
    let r = client
        .get(control(&mock, "/export"))
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let exported = r.bytes().await.expect("body");
    let mut direct = Vec::new();
    mock.engine()
        .export(mock.namespace_id(), &mut direct)
        .expect("export");
    assert_eq!(
        &exported[..],
        &direct[..],
        "the default namespace, as Engine::export writes it"
    );
    let items: Json = serde_json::from_slice(&exported).expect("JSON");
    assert_eq!(items.as_array().map(Vec::len), Some(3));

    let copy = mock.namespaces()[1].id.clone();
    let r = client
        .post(control(&mock, &format!("/import?namespace={copy}")))
        .body(exported.clone())
        .send()
        .await
        .expect("import");
    assert_eq!(r.status(), 200);
    let j: Json = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
    assert_eq!(j["result"], json!({"keys": 3}));
    let again = client
        .get(control(&mock, &format!("/export?namespace={copy}")))
        .send()
        .await
        .expect("export")
        .bytes()
        .await
        .expect("body");
    assert_eq!(again, exported, "export then import is the identity");

    // A bad item: 400 naming it, nothing loaded.
    let r = client
        .post(control(&mock, &format!("/import?namespace={copy}")))
        .body(r#"[{"key": "new", "value": "v"}, {"key": "x", "value": "!", "base64": true}]"#)
        .send()
        .await
        .expect("import");
    assert_eq!(r.status(), 400);
    let j: Json = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
    let message = j["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.starts_with("import: item 1 (byte 31, key \"x\"): "),
        "{message}"
    );
    assert!(mock.engine().entry(&copy, "new").is_none());
    // An unknown namespace: the contract's 404.
    let r = client
        .get(control(
            &mock,
            "/export?namespace=0123456789abcdef0123456789abcdef",
        ))
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), 404);

    // A large body, streamed in: 20,000 items of 1 KiB (about 21 MB).
    let value = "v".repeat(1024);
    let mut big = String::from("[");
    for i in 0..20_000 {
        if i > 0 {
            big.push(',');
        }
        big.push_str(&format!(r#"{{"key":"k{i:05}","value":"{value}"}}"#));
    }
    big.push(']');
    let r = client
        .post(control(&mock, &format!("/import?namespace={copy}")))
        .body(big)
        .send()
        .await
        .expect("import");
    assert_eq!(r.status(), 200);
    let j: Json = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
    assert_eq!(j["result"]["keys"], json!(20_000));
    let r = client
        .get(control(&mock, &format!("/export?namespace={copy}")))
        .send()
        .await
        .expect("export");
    let items: Json = serde_json::from_slice(&r.bytes().await.expect("body")).expect("JSON");
    assert_eq!(items.as_array().map(Vec::len), Some(20_003));
}

#[test]
fn the_binary_seeds_before_ready_and_refuses_a_bad_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = write(dir.path(), "good.json", GOOD);
    let cache = write(
        dir.path(),
        "cache.json",
        r#"[{"key": "c", "value": "cached"}]"#,
    );
    let bad = write(
        dir.path(),
        "bad.json",
        r#"[{"key": "a", "value": "v"}, {"key": 7, "value": "v"}]"#,
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kv-mock"))
        .args(["--listen", "127.0.0.1:0", "--seed"])
        .arg(&bad)
        .output()
        .expect("the binary runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.json") && stderr.contains("item 1 (byte 29)"),
        "{stderr}"
    );
    assert!(stderr.contains("invalid type: integer `7`"), "{stderr}");
    assert!(out.stdout.is_empty(), "never ready");

    let mut child = Command::new(env!("CARGO_BIN_EXE_kv-mock"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--frozen-at",
            "1700000000",
            "--seed",
        ])
        .arg(&good)
        .arg("--seed")
        .arg(format!("cache={}", cache.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines().take(10) {
        let line = line.expect("line");
        if line == "ready" {
            break;
        }
        lines.push(line);
    }
    let base_url = lines
        .iter()
        .find_map(|l| l.strip_prefix("base_url "))
        .expect("base_url")
        .to_owned();
    let account = lines
        .iter()
        .find_map(|l| l.strip_prefix("account_id "))
        .expect("account")
        .to_owned();
    let ids: Vec<(String, String)> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("namespace_id "))
        .filter_map(|v| v.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())))
        .collect();
    assert_eq!(
        ids.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(),
        ["kv-mock", "cache"]
    );
    let get = |ns: &str, key: &str| {
        let url = format!("{base_url}/accounts/{account}/storage/kv/namespaces/{ns}/values/{key}");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        rt.block_on(async {
            reqwest::get(url)
                .await
                .expect("get")
                .bytes()
                .await
                .expect("body")
        })
    };
    assert_eq!(&get(&ids[0].0, "user:1")[..], br#"{"name":"Ada"}"#);
    assert_eq!(&get(&ids[1].0, "c")[..], b"cached");
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_restore_over_http_and_in_rust() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = write(dir.path(), "good.json", GOOD);
    let mock = KvMock::builder()
        .clock(Clock::frozen_at(T0))
        .seed(&good)
        .start()
        .await
        .expect("starts");
    let client = reqwest::Client::new();
    let post = |path: &str, body: String| client.post(control(&mock, path)).body(body).send();
    let r = post("/snapshot", String::new()).await.expect("snapshot");
    assert_eq!(r.status(), 200);
    let j: Json = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
    let id = j["result"]["id"].as_str().expect("an id").to_owned();
    assert_eq!(id.len(), 32);
    let seeded = {
        let mut out = Vec::new();
        mock.engine()
            .export(mock.namespace_id(), &mut out)
            .expect("export");
        out
    };
    // A test writes over HTTP and makes a namespace.
    let url = format!(
        "{}/accounts/{}/storage/kv/namespaces/{}/values/user:1",
        mock.base_url(),
        mock.account_id(),
        mock.namespace_id()
    );
    assert_eq!(
        client
            .put(&url)
            .body("changed")
            .send()
            .await
            .expect("put")
            .status(),
        200
    );
    let made = mock
        .engine()
        .create_namespace("made by a test")
        .expect("create");
    let r = post("/restore", json!({ "id": id }).to_string())
        .await
        .expect("restore");
    assert_eq!(r.status(), 200);
    let body = client
        .get(&url)
        .send()
        .await
        .expect("get")
        .bytes()
        .await
        .expect("body");
    assert_eq!(&body[..], br#"{"name":"Ada"}"#);
    assert!(mock.engine().namespace(&made.id).is_none());
    let r = post("/restore", json!({ "id": "0".repeat(32) }).to_string())
        .await
        .expect("restore");
    assert_eq!(r.status(), 404);
    let r = post("/restore", "{}".to_owned()).await.expect("restore");
    assert_eq!(r.status(), 400);

    // In Rust: the same.
    let again = mock.snapshot().expect("snapshot");
    mock.store()
        .expect("default")
        .delete_sync("bin")
        .expect("delete");
    mock.restore(&again).expect("restore");
    let mut out = Vec::new();
    mock.engine()
        .export(mock.namespace_id(), &mut out)
        .expect("export");
    assert_eq!(out, seeded);
    let r = client
        .delete(control(&mock, &format!("/snapshot/{again}")))
        .send()
        .await
        .expect("forget");
    assert_eq!(r.status(), 200);
    assert!(mock.restore(&again).is_err(), "forgotten");
}
