//! `edge-kv mock`: the fake, with the kv-mock binary's flags and ready lines; the other commands
//! work against it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::kit::Run;

/// Stops the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn mock_serves_what_the_other_commands_use() {
    let child = Command::new(env!("CARGO_BIN_EXE_edge-kv"))
        .args([
            "mock",
            "--listen",
            "127.0.0.1:0",
            "--namespace",
            "from mock",
        ])
        .env("KV_MOCK_TOKEN", "mock-token")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("edge-kv mock starts");
    let mut server = Server(child);
    let stdout = server.0.stdout.take().expect("stdout");
    let mut base_url = String::new();
    let mut account = String::new();
    let mut ns = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        if line == "ready" {
            break;
        }
        let (name, value) = line.split_once(' ').expect("name value");
        match name {
            "base_url" => base_url = value.to_owned(),
            "account_id" => account = value.to_owned(),
            "namespace_id" => ns = value.to_owned(),
            _ => {}
        }
    }
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
    let (id, title) = ns.split_once(' ').expect("id title");
    assert_eq!(title, "from mock");
    let out = Run::bare(["key", "put", "--namespace", "from mock", "k/1", "v"])
        .env("CLOUDFLARE_API_TOKEN", Some("mock-token"))
        .env("CLOUDFLARE_ACCOUNT_ID", Some(&account))
        .env("CLOUDFLARE_API_BASE_URL", Some(&base_url))
        .run()
        .ok();
    assert_eq!(out.text(), format!("Wrote key \"k/1\" in namespace {id}\n"));
    let out = Run::bare(["key", "get", "--namespace-id", id, "k/1"])
        .env("CLOUDFLARE_API_TOKEN", Some("mock-token"))
        .env("CLOUDFLARE_ACCOUNT_ID", Some(&account))
        .env("CLOUDFLARE_API_BASE_URL", Some(&base_url))
        .run()
        .ok();
    assert_eq!(out.stdout, b"v");
}

#[test]
fn mock_help_lists_kv_mocks_flags() {
    let out = Run::bare(["mock", "--help"]).run().ok();
    for flag in [
        "--listen",
        "--namespace",
        "--token",
        "--frozen-at",
        "--max-value-bytes",
    ] {
        assert!(out.text().contains(flag), "{flag}: {}", out.text());
    }
}
