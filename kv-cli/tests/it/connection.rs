//! Credentials and endpoint: from the environment as wrangler reads them, or from flags; a
//! missing one is named; a wrong token is the service's refusal, never echoed.

use crate::kit::{Mock, Run, TOKEN};

#[test]
fn a_missing_credential_is_named_with_its_flag() {
    let mock = Mock::start();
    let out = mock
        .cli(["namespace", "list"])
        .env("CLOUDFLARE_API_TOKEN", None)
        .run()
        .code(2);
    assert!(out.stdout.is_empty());
    assert_eq!(
        out.stderr,
        "edge-kv: error: CLOUDFLARE_API_TOKEN is not set (or pass --api-token)\n"
    );
    let out = mock
        .cli(["namespace", "list"])
        .env("CLOUDFLARE_ACCOUNT_ID", None)
        .run()
        .code(2);
    assert_eq!(
        out.stderr,
        "edge-kv: error: CLOUDFLARE_ACCOUNT_ID is not set (or pass --account-id)\n"
    );
    assert!(mock.requests().is_empty());
}

#[test]
fn flags_stand_in_for_the_environment() {
    let mock = Mock::start();
    let m = mock.mock();
    let out = Run::bare([
        "namespace",
        "list",
        "--api-token",
        TOKEN,
        "--account-id",
        m.account_id(),
        "--base-url",
        m.base_url(),
    ])
    .run()
    .ok();
    assert_eq!(out.text(), format!("{}\tcli default\n", mock.ns()));
    // CLOUDFLARE_BASE_URL (the SDKs' variable) works as well as wrangler's.
    let out = mock
        .cli(["namespace", "list"])
        .env("CLOUDFLARE_API_BASE_URL", None)
        .env("CLOUDFLARE_BASE_URL", Some(m.base_url()))
        .run()
        .ok();
    assert_eq!(out.text(), format!("{}\tcli default\n", mock.ns()));
    // The flag wins over either variable (a port nothing listens on would fail).
    let out = mock
        .cli(["namespace", "list", "--base-url", m.base_url()])
        .env(
            "CLOUDFLARE_API_BASE_URL",
            Some("http://127.0.0.1:9/client/v4"),
        )
        .env("CLOUDFLARE_BASE_URL", Some("http://127.0.0.1:9/client/v4"))
        .run()
        .ok();
    assert_eq!(out.text(), format!("{}\tcli default\n", mock.ns()));
}

#[test]
fn a_wrong_token_is_a_service_failure_that_never_shows_the_token() {
    let mock = Mock::start();
    let secret = "not-the-token-3c9f";
    let out = mock
        .cli(["key", "get", "--namespace-id", mock.ns(), "k"])
        .env("CLOUDFLARE_API_TOKEN", Some(secret))
        .run()
        .code(1);
    assert!(out.stderr.starts_with("edge-kv: error: "), "{}", out.stderr);
    assert!(
        out.stderr.contains("401") || out.stderr.contains("403"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(secret), "{}", out.stderr);
}
