//! The standalone binary with `--persist DIR`, restarted: it prints the same `account_id` and
//! `namespace_id` lines (and the same `base_url`, given its port or, with port 0, when the port
//! of the previous run is free) and serves what was written before. [`Server`] runs the binary
//! for these tests and for the crash test.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value as Json, json};

/// A running `kv-mock` binary and what it printed; killed (SIGKILL) when dropped.
pub(crate) struct Server {
    child: Child,
    /// The printed `base_url`.
    pub(crate) base_url: String,
    /// The printed `account_id`.
    pub(crate) account_id: String,
    /// The printed `namespace_id` lines: (id, title).
    pub(crate) namespaces: Vec<(String, String)>,
}

impl Server {
    /// Starts `kv-mock --persist DIR --no-rate-limit ARGS...` and reads its lines up to `ready`.
    pub(crate) fn start(dir: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kv-mock"))
            .arg("--persist")
            .arg(dir)
            .arg("--no-rate-limit")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut server = Server {
            child,
            base_url: String::new(),
            account_id: String::new(),
            namespaces: Vec::new(),
        };
        let mut ready = false;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("a line");
            if line == "ready" {
                ready = true;
                break;
            }
            let (name, value) = line.split_once(' ').expect("name value");
            match name {
                "base_url" => server.base_url = value.to_owned(),
                "account_id" => server.account_id = value.to_owned(),
                "namespace_id" => {
                    let (id, title) = value.split_once(' ').expect("id title");
                    server.namespaces.push((id.to_owned(), title.to_owned()));
                }
                _ => {}
            }
        }
        assert!(ready, "the server exited before `ready`");
        server
    }

    /// The URL of `rest` in namespace `ns`.
    pub(crate) fn url(&self, ns: &str, rest: &str) -> String {
        format!(
            "{}/accounts/{}/storage/kv/namespaces/{ns}{rest}",
            self.base_url, self.account_id
        )
    }

    /// The port of `base_url`.
    pub(crate) fn port(&self) -> u16 {
        self.base_url
            .trim_start_matches("http://127.0.0.1:")
            .split('/')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port in base_url")
    }

    /// Kills the process with SIGKILL and waits for it.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("the killed server is reaped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A runtime for the HTTP calls of a test.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Port 0, two namespaces.
const TWO_NAMESPACES: &[&str] = &[
    "--listen",
    "127.0.0.1:0",
    "--namespace",
    "app",
    "--namespace",
    "cache",
];

#[test]
fn a_restarted_server_keeps_its_ids_and_data() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let first = Server::start(dir.path(), TWO_NAMESPACES);
    assert_eq!(first.namespaces.len(), 2);
    let app = first.namespaces[0].0.clone();
    let rt = runtime();
    let client = reqwest::Client::new();
    let expiration = 4_000_000_000u64;
    rt.block_on(async {
        let form = reqwest::multipart::Form::new()
            .text("value", "kept")
            .text("metadata", r#"{"by":"first"}"#);
        let r = client
            .put(first.url(&app, &format!("/values/k?expiration={expiration}")))
            .multipart(form)
            .send()
            .await
            .expect("put");
        assert_eq!(r.status(), 200);
    });
    let (base_url, account_id, namespaces, port) = (
        first.base_url.clone(),
        first.account_id.clone(),
        first.namespaces.clone(),
        first.port(),
    );
    first.kill();

    // Port 0 again: the previous port is free, so it is taken again.
    let second = Server::start(dir.path(), TWO_NAMESPACES);
    assert_eq!(second.account_id, account_id);
    assert_eq!(second.namespaces, namespaces);
    assert_eq!(second.base_url, base_url, "the previous port is reused");
    rt.block_on(async {
        let r = client
            .post(second.url(&app, "/bulk/get"))
            .body(json!({"keys": ["k"], "withMetadata": true}).to_string())
            .send()
            .await
            .expect("bulk get");
        assert_eq!(r.status(), 200);
        let j: Json = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
        assert_eq!(
            j["result"]["values"]["k"],
            json!({"value": "kept", "metadata": {"by": "first"}, "expiration": expiration})
        );
    });

    // The same port given explicitly, and only one of the titles: the same ids.
    let listen = format!("127.0.0.1:{port}");
    drop(second);
    let third = Server::start(dir.path(), &["--listen", &listen, "--namespace", "cache"]);
    assert_eq!(third.base_url, base_url);
    assert_eq!(third.account_id, account_id);
    assert_eq!(third.namespaces, vec![namespaces[1].clone()]);
    rt.block_on(async {
        // The namespace not asked for is still there, with its data.
        let r = client
            .get(third.url(&app, "/values/k"))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.expect("body"), "kept");
    });

    // Port 0 while the previous port is taken: a free one, the same ids.
    third.kill();
    let _taken = std::net::TcpListener::bind(&listen).expect("the port is free again");
    let fourth = Server::start(
        dir.path(),
        &["--listen", "127.0.0.1:0", "--namespace", "app"],
    );
    assert_ne!(fourth.port(), port);
    assert_eq!(fourth.account_id, account_id);
    assert_eq!(fourth.namespaces, vec![namespaces[0].clone()]);
}
