//! The standalone binary: prints where it listens, serves the API and the control endpoints, and
//! stops on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value as Json, json};

/// Kills the child if the test fails before stopping it.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn standalone_server_prints_and_serves() {
    let child = Command::new(env!("CARGO_BIN_EXE_kv-mock"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--namespace",
            "app data",
            "--namespace",
            "cache",
            "--account-id",
            "0123456789abcdef0123456789abcdef",
            "--no-rate-limit",
            "--frozen-at",
            "1700000000",
            "--max-value-bytes",
            "16",
        ])
        .env("KV_MOCK_TOKEN", "t0ken")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut guard = Guard(child);
    let stdout = guard.0.stdout.take().expect("stdout");
    let mut base_url = String::new();
    let mut account = String::new();
    let mut ui_url = String::new();
    let mut namespaces = Vec::new();
    for line in BufReader::new(stdout).lines().take(10) {
        let line = line.expect("line");
        if line == "ready" {
            break;
        }
        let (name, value) = line.split_once(' ').expect("name value");
        match name {
            "base_url" => base_url = value.to_owned(),
            "account_id" => account = value.to_owned(),
            "ui_url" => ui_url = value.to_owned(),
            "namespace_id" => {
                let (id, title) = value.split_once(' ').expect("id title");
                namespaces.push((id.to_owned(), title.to_owned()));
            }
            other => panic!("unexpected line {other}"),
        }
    }
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
    assert_eq!(account, "0123456789abcdef0123456789abcdef");
    assert_eq!(namespaces.len(), 2);
    assert_eq!(namespaces[0].1, "app data");
    let ns = namespaces[0].0.clone();
    let origin = base_url.trim_end_matches("/client/v4").to_owned();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = reqwest::Client::new();
        // The web page, printed as `ui_url`, needs no credentials (its files hold no data).
        assert_eq!(ui_url, format!("{origin}/__mock/ui"));
        let r = client.get(&ui_url).send().await.expect("the page");
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/html; charset=utf-8")
        );
        let url =
            |rest: &str| format!("{base_url}/accounts/{account}/storage/kv/namespaces/{ns}{rest}");
        let r = client
            .put(url("/values/k"))
            .body("v")
            .send()
            .await
            .expect("put");
        assert_eq!(
            r.status(),
            403,
            "the token from the environment is required"
        );
        let r = client
            .put(url("/values/k?expiration_ttl=60"))
            .bearer_auth("t0ken")
            .body("v")
            .send()
            .await
            .expect("put");
        assert_eq!(r.status(), 200);
        // No rate limit.
        let r = client
            .put(url("/values/k?expiration_ttl=60"))
            .bearer_auth("t0ken")
            .body("v2")
            .send()
            .await
            .expect("put");
        assert_eq!(r.status(), 200);
        // The value limit from the command line.
        let r = client
            .put(url("/values/big"))
            .bearer_auth("t0ken")
            .body("x".repeat(17))
            .send()
            .await
            .expect("put");
        assert_eq!(r.status(), 413);
        let r = client
            .get(url("/values/k"))
            .bearer_auth("t0ken")
            .send()
            .await
            .expect("get");
        assert_eq!(
            r.headers().get("expiration").and_then(|v| v.to_str().ok()),
            Some("1700000060")
        );
        // Move the frozen clock over HTTP (the control routes need the token too): the key
        // expires.
        let r = client
            .post(format!("{origin}/__mock/clock/advance"))
            .body(json!({"seconds": 60}).to_string())
            .send()
            .await
            .expect("advance");
        assert_eq!(r.status(), 403, "the control routes need the API token");
        let r = client
            .post(format!("{origin}/__mock/clock/advance"))
            .bearer_auth("t0ken")
            .body(json!({"seconds": 60}).to_string())
            .send()
            .await
            .expect("advance");
        let j: Json = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
        assert_eq!(j["result"]["now"], json!(1_700_000_060u64));
        let r = client
            .get(url("/values/k"))
            .bearer_auth("t0ken")
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 404);
        let r = client
            .get(format!("{origin}/__mock/requests"))
            .bearer_auth("t0ken")
            .send()
            .await
            .expect("requests");
        let j: Json = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
        assert_eq!(j["result"].as_array().map(Vec::len), Some(6));
    });

    // SIGTERM stops it.
    let pid = guard.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status();
    if killed.is_ok_and(|s| s.success()) {
        let mut exited = None;
        for _ in 0..200 {
            if let Ok(Some(status)) = guard.0.try_wait() {
                exited = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let status = exited.expect("the server stops on SIGTERM");
        assert!(status.success(), "{status:?}");
    }
}
