//! Tracing: a span per operation and per attempt, retries logged, secrets never.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::scripted_server::{fail, ok, start};
use serde_json::json;
use wiremock::Mock;
use wiremock::matchers::method;

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

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn spans_per_operation_and_attempt_without_secrets() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let s = start().await;
    Mock::given(method("PUT"))
        .respond_with(fail(503, 19018, "busy"))
        .up_to_n_times(1)
        .mount(&s.server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ok(json!({})))
        .mount(&s.server)
        .await;
    s.kv.put("traced/key", "v").await.expect("put");

    let text = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf8");
    assert!(text.contains("kv{op=\"put\""), "{text}");
    assert!(text.contains("key=\"traced/key\""), "{text}");
    assert!(text.contains("kv.attempt{attempt=1"), "{text}");
    assert!(
        text.contains("kv.attempt{attempt=2") || text.contains("attempt failed; retrying"),
        "{text}"
    );
    assert!(text.contains("attempt failed; retrying"), "{text}");
    assert!(!text.contains("test-token-secret"), "{text}");
    assert!(!text.to_lowercase().contains("authorization"), "{text}");
}
