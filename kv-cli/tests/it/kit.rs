//! What every test of the binary needs: a kv-mock on 127.0.0.1 kept running on its own runtime,
//! and a way to run `edge-kv` against it and look at its exit code, stdout and stderr.

use std::io::Write;
use std::process::{Command, Stdio};

use kv_mock::{KvMock, KvStore, RequestRecord};
use kv_types::Key;

/// The token the mock accepts.
pub(crate) const TOKEN: &str = "cli-test-token";

/// Keys that break naive URL building: one of each, plus all at once.
pub(crate) const ODD_KEYS: [&str; 7] = [
    "a/b/c",
    "100%",
    "what?x=1",
    "frag#ment",
    "with space",
    "ключ-日本-🙂",
    "/all %2F? #ü/",
];

/// The variables that could reach the binary from the test's own environment.
const AMBIENT: [&str; 8] = [
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_ACCOUNT_ID",
    "CLOUDFLARE_API_BASE_URL",
    "CLOUDFLARE_BASE_URL",
    "CLOUDFLARE_EMAIL",
    "CLOUDFLARE_API_KEY",
    "KV_MOCK_TOKEN",
    "RUST_LOG",
];

/// A kv-mock served from a runtime of its own, so the test thread can block on the binary.
pub(crate) struct Mock {
    mock: KvMock,
    rt: tokio::runtime::Runtime,
}

impl Mock {
    /// A mock with a token and no per-key write limit (tests rewrite keys at once).
    pub(crate) fn start() -> Mock {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the mock");
        let mock = rt
            .block_on(
                KvMock::builder()
                    .rate_limit(false)
                    .api_token(TOKEN)
                    .namespace("cli default")
                    .start(),
            )
            .expect("the mock starts");
        Mock { mock, rt }
    }

    /// The mock itself (faults, request log).
    pub(crate) fn mock(&self) -> &KvMock {
        &self.mock
    }

    /// The default namespace's id.
    pub(crate) fn ns(&self) -> &str {
        self.mock.namespace_id()
    }

    /// The binary with the mock's endpoint and credentials in its environment.
    pub(crate) fn cli<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut run = Run::bare(args);
        run.command
            .env("CLOUDFLARE_API_TOKEN", TOKEN)
            .env("CLOUDFLARE_ACCOUNT_ID", self.mock.account_id())
            .env("CLOUDFLARE_API_BASE_URL", self.mock.base_url());
        run
    }

    /// A key command's arguments on the default namespace: `key VERB --namespace-id NS REST...`.
    pub(crate) fn key_args(&self, verb: &str, rest: &[&str]) -> Vec<String> {
        let mut args = vec!["key".to_owned(), verb.to_owned()];
        args.extend(["--namespace-id".to_owned(), self.ns().to_owned()]);
        args.extend(rest.iter().map(|s| (*s).to_owned()));
        args
    }

    /// A bulk command's arguments on the default namespace.
    pub(crate) fn bulk_args(&self, verb: &str, rest: &[&str]) -> Vec<String> {
        let mut args = vec!["bulk".to_owned(), verb.to_owned()];
        args.extend(["--namespace-id".to_owned(), self.ns().to_owned()]);
        args.extend(rest.iter().map(|s| (*s).to_owned()));
        args
    }

    /// The value stored under `key` in the default namespace, read without HTTP.
    pub(crate) fn stored(&self, key: &str) -> Option<Vec<u8>> {
        let store = self.mock.store().expect("the default namespace");
        let key = Key::new(key).expect("a valid key");
        self.rt
            .block_on(store.get(&key))
            .expect("the engine reads")
            .map(|b| b.to_vec())
    }

    /// How many keys the default namespace holds.
    pub(crate) fn count(&self) -> usize {
        let store = self.mock.store().expect("the default namespace");
        let mut n = 0;
        let mut options = kv_types::ListOptions::default();
        loop {
            let page = self
                .rt
                .block_on(store.list(options.clone()))
                .expect("the engine lists");
            n += page.keys.len();
            match page.cursor {
                Some(c) => options.cursor = Some(c),
                None => return n,
            }
        }
    }

    /// The API requests served so far.
    pub(crate) fn requests(&self) -> Vec<RequestRecord> {
        self.mock.requests()
    }
}

/// One run of the binary, to configure then [`Run::run`].
pub(crate) struct Run {
    command: Command,
    stdin: Option<Vec<u8>>,
}

impl Run {
    /// The binary with none of the test's CLOUDFLARE_* variables.
    pub(crate) fn bare<I, S>(args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = Command::new(env!("CARGO_BIN_EXE_edge-kv"));
        command.args(args);
        for var in AMBIENT {
            command.env_remove(var);
        }
        Run {
            command,
            stdin: None,
        }
    }

    /// Sets or unsets (`None`) a variable.
    pub(crate) fn env(mut self, var: &str, value: Option<&str>) -> Run {
        match value {
            Some(v) => self.command.env(var, v),
            None => self.command.env_remove(var),
        };
        self
    }

    /// Feeds these bytes to stdin.
    pub(crate) fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Run {
        self.stdin = Some(bytes.into());
        self
    }

    /// Runs it to the end.
    pub(crate) fn run(mut self) -> Out {
        self.command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.command.spawn().expect("edge-kv starts");
        if let Some(bytes) = self.stdin.take() {
            let mut stdin = child.stdin.take().expect("a stdin pipe");
            // A writer thread, so a large input cannot deadlock against a full stdout pipe.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
        }
        let output = child.wait_with_output().expect("edge-kv runs");
        Out {
            code: output.status.code().expect("an exit code, not a signal"),
            stdout: output.stdout,
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }
}

/// What a run gave.
#[derive(Debug)]
pub(crate) struct Out {
    /// The exit code.
    pub(crate) code: i32,
    /// stdout, as bytes.
    pub(crate) stdout: Vec<u8>,
    /// stderr.
    pub(crate) stderr: String,
}

impl Out {
    /// stdout as text.
    pub(crate) fn text(&self) -> &str {
        std::str::from_utf8(&self.stdout).expect("stdout is UTF-8")
    }

    /// stdout parsed as one JSON document.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.text()))
    }

    /// Asserts a success with nothing on stderr, and returns itself.
    #[track_caller]
    pub(crate) fn ok(self) -> Out {
        assert_eq!(self.code, 0, "exit code; stderr: {}", self.stderr);
        assert_eq!(self.stderr, "", "stderr of a success");
        self
    }

    /// Asserts this exit code, and returns itself.
    #[track_caller]
    pub(crate) fn code(self, code: i32) -> Out {
        assert_eq!(
            self.code,
            code,
            "exit code; stdout: {:?}; stderr: {}",
            self.text(),
            self.stderr
        );
        self
    }
}

/// A temporary directory for input files.
pub(crate) fn dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// Writes `bytes` to `name` in `dir` and gives its path as a string.
pub(crate) fn file(dir: &tempfile::TempDir, name: &str, bytes: impl AsRef<[u8]>) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("the file is written");
    path.to_str().expect("a UTF-8 path").to_owned()
}

/// Whether `line` is the summary of `bulk VERB` with these counts:
/// `bulk put: 3 done, 1 failed; 1.2 KiB of items in 0.1 s (40 keys/s)`.
pub(crate) fn is_summary(line: &str, verb: &str, done: u64, failed: u64) -> bool {
    let head = format!("bulk {verb}: {done} done, {failed} failed; ");
    line.strip_prefix(&head).is_some_and(|rest| {
        rest.contains(" of items in ") && rest.ends_with(" keys/s)") && !rest.contains('\n')
    })
}

impl Out {
    /// Asserts stderr is exactly the summary of `bulk VERB` with these counts.
    #[track_caller]
    pub(crate) fn only_summary(self, verb: &str, done: u64, failed: u64) -> Out {
        let line = self
            .stderr
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("{:?}", self.stderr));
        assert!(is_summary(line, verb, done, failed), "{:?}", self.stderr);
        self
    }
}
