//! The token never reaches `Debug`, `Display`, errors or logs: a request that fails (wrong token,
//! then a server error until retries run out) is traced at TRACE level for every crate, reqwest
//! and hyper included, and the captured text, the error and the client are searched for it.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use edge_kv::client::{Client, RetryConfig};
use edge_kv::mock::{Fault, KvMock};

const TOKEN: &str = "tok-3f9a0c7e1b5d4e2a8c6b-NEVER-PRINT";
const EMAIL_KEY: &str = "key-a1b2c3d4e5f60718-NEVER-PRINT";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

fn assert_clean(what: &str, text: &str) {
    for secret in [TOKEN, EMAIL_KEY] {
        assert!(!text.contains(secret), "{what} shows a secret:\n{text}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn secrets_stay_out_of_logs_errors_and_debug() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mock = KvMock::builder()
        .api_token("the-right-token")
        .start()
        .await
        .expect("mock");
    let retry = RetryConfig {
        max_retries: 2,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        deadline: Duration::from_secs(10),
    };
    let with_token = Client::builder()
        .base_url(mock.base_url())
        .account_id(mock.account_id())
        .api_token(TOKEN)
        .retry(retry)
        .build()
        .expect("client");
    let with_key = Client::builder()
        .base_url(mock.base_url())
        .account_id(mock.account_id())
        .email_key("dev@example.invalid", EMAIL_KEY)
        .retry(retry)
        .build()
        .expect("client");

    // Refused credentials: 403, code 10000.
    let refused = with_token
        .namespace(mock.namespace_id())
        .put("k", "v")
        .await
        .expect_err("wrong token is refused");
    assert_eq!(refused.status(), Some(403));
    let refused_key = with_key
        .namespace(mock.namespace_id())
        .get("k")
        .text()
        .await
        .expect_err("wrong key is refused");
    assert_eq!(refused_key.status(), Some(403));

    // Retries until they run out, each attempt traced.
    mock.inject(Fault::status(503).times(10));
    let exhausted = with_token
        .namespace(mock.namespace_id())
        .delete("k")
        .await
        .expect_err("503 until the retries run out");
    assert_eq!(exhausted.status(), Some(503));

    for (what, error) in [
        ("refused", &refused),
        ("refused_key", &refused_key),
        ("exhausted", &exhausted),
    ] {
        assert_clean(&format!("{what} Display"), &error.to_string());
        assert_clean(&format!("{what} Debug"), &format!("{error:?}"));
    }
    assert_clean("client Debug", &format!("{with_token:?} {with_key:?}"));

    let logs = String::from_utf8(captured.0.lock().expect("not poisoned").clone()).expect("utf8");
    assert!(
        logs.contains("attempt failed; retrying"),
        "the logs captured the retries:\n{logs}"
    );
    assert_clean("logs", &logs);
}
