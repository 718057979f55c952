//! The conformance suite against the real Workers KV service, through kv-client. Runs only when
//! `CLOUDFLARE_API_TOKEN`, `CLOUDFLARE_ACCOUNT_ID` and `KV_NAMESPACE_ID` are set (optionally
//! `CLOUDFLARE_BASE_URL`), and is skipped with a message otherwise. It writes under a fresh
//! `conformance/<id>/` prefix of that namespace and deletes what it wrote; the checks that need
//! a movable clock (expiry) or an observable write limit are skipped.

use kv_client::Client;
use kv_types::conformance::{self, Harness, WriteLimit};

/// What must be set for this test to run.
const REQUIRED: [&str; 3] = [
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_ACCOUNT_ID",
    "KV_NAMESPACE_ID",
];

/// The variables of [`REQUIRED`] that are missing or empty.
fn missing() -> Vec<&'static str> {
    REQUIRED
        .into_iter()
        .filter(|name| std::env::var(name).map_or(true, |v| v.trim().is_empty()))
        .collect()
}

#[tokio::test]
async fn real_service() {
    let missing = missing();
    if !missing.is_empty() {
        println!(
            "skipped: the conformance suite against the real service needs {} (missing: {})",
            REQUIRED.join(", "),
            missing.join(", ")
        );
        return;
    }
    let client =
        Client::from_env().unwrap_or_else(|e| panic!("the client from the environment: {e}"));
    let namespace = std::env::var("KV_NAMESPACE_ID").unwrap_or_default();
    let harness =
        Harness::new(client.namespace(namespace.trim())).write_limit(WriteLimit::MayApply);
    let report = conformance::run(&harness).await;
    println!("{report}");
    report.assert_passed();
}
