//! The access rule of the control routes (`/__mock/`): the API's credentials when some are set,
//! or a separate control token; the web page's own files stay open; a server beyond loopback
//! with no token refuses to start unless allowed.

use std::process::Command;

use kv_mock::{KvMock, MockError};

async fn status(req: reqwest::RequestBuilder) -> u16 {
    req.send()
        .await
        .expect("the mock answers")
        .status()
        .as_u16()
}

fn control(mock: &KvMock, rest: &str) -> String {
    format!("http://{}/__mock{rest}", mock.addr())
}

/// A request to each kind of control route, and whether it changes state.
fn every_route(
    mock: &KvMock,
    client: &reqwest::Client,
) -> Vec<(&'static str, reqwest::RequestBuilder)> {
    vec![
        ("info", client.get(control(mock, "/info"))),
        (
            "clock",
            client
                .post(control(mock, "/clock/advance"))
                .body(r#"{"seconds": 1}"#),
        ),
        ("faults", client.get(control(mock, "/faults"))),
        ("requests", client.get(control(mock, "/requests"))),
        ("reset", client.post(control(mock, "/reset"))),
        ("snapshot", client.post(control(mock, "/snapshot"))),
        ("export", client.get(control(mock, "/export"))),
        ("import", client.post(control(mock, "/import")).body("[]")),
        ("rate-limit", client.get(control(mock, "/rate-limit"))),
    ]
}

#[tokio::test]
async fn with_an_api_token_every_control_route_needs_it_but_the_page() {
    let mock = KvMock::builder()
        .api_token("api-secret")
        .start()
        .await
        .expect("starts");
    let client = reqwest::Client::new();
    for (name, req) in every_route(&mock, &client) {
        assert_eq!(status(req).await, 403, "{name} without the token");
    }
    for (name, req) in every_route(&mock, &client) {
        assert_eq!(
            status(req.bearer_auth("wrong")).await,
            403,
            "{name} with a wrong token"
        );
    }
    for (name, req) in every_route(&mock, &client) {
        assert_eq!(
            status(req.bearer_auth("api-secret")).await,
            200,
            "{name} with the token"
        );
    }
    let snapshot = mock.snapshot().expect("snapshot");
    let restore = client
        .post(control(&mock, "/restore"))
        .body(format!(r#"{{"id": "{snapshot}"}}"#));
    assert_eq!(status(restore).await, 403);
    for file in ["/ui", "/ui/", "/ui/app.js", "/ui/app.css"] {
        assert_eq!(
            status(client.get(control(&mock, file))).await,
            200,
            "{file} holds no data"
        );
    }
}

#[tokio::test]
async fn email_and_key_credentials_open_the_control_routes_too() {
    let mock = KvMock::builder()
        .email_key("me@example.com", "k3y")
        .start()
        .await
        .expect("starts");
    let client = reqwest::Client::new();
    let info = || client.get(control(&mock, "/info"));
    assert_eq!(status(info()).await, 403);
    let with = info()
        .header("X-Auth-Email", "me@example.com")
        .header("X-Auth-Key", "k3y");
    assert_eq!(status(with).await, 200);
}

#[tokio::test]
async fn a_control_token_replaces_the_api_credentials_on_the_control_routes_only() {
    let mock = KvMock::builder()
        .api_token("api-secret")
        .control_token("control-secret")
        .start()
        .await
        .expect("starts");
    let client = reqwest::Client::new();
    for (name, req) in every_route(&mock, &client) {
        assert_eq!(
            status(req.bearer_auth("api-secret")).await,
            403,
            "{name} with the API token"
        );
    }
    for (name, req) in every_route(&mock, &client) {
        assert_eq!(
            status(req.bearer_auth("control-secret")).await,
            200,
            "{name}"
        );
    }
    let keys = format!(
        "{}/accounts/{}/storage/kv/namespaces/{}/keys",
        mock.base_url(),
        mock.account_id(),
        mock.namespace_id()
    );
    assert_eq!(
        status(client.get(&keys).bearer_auth("control-secret")).await,
        403
    );
    assert_eq!(
        status(client.get(&keys).bearer_auth("api-secret")).await,
        200
    );
    // A control token alone: the API stays open, the control routes do not.
    let mock = KvMock::builder()
        .control_token("c")
        .start()
        .await
        .expect("starts");
    assert_eq!(status(client.get(control(&mock, "/info"))).await, 403);
    assert_eq!(
        status(client.get(control(&mock, "/info")).bearer_auth("c")).await,
        200
    );
}

#[tokio::test]
async fn without_credentials_on_loopback_the_control_routes_are_open() {
    let mock = KvMock::start().await.expect("starts");
    let client = reqwest::Client::new();
    for (name, req) in every_route(&mock, &client) {
        assert_eq!(status(req).await, 200, "{name}");
    }
}

#[tokio::test]
async fn beyond_loopback_without_a_token_the_start_is_refused_unless_allowed() {
    for addr in ["0.0.0.0:0", "[::]:0", "192.0.2.1:0"] {
        let addr: std::net::SocketAddr = addr.parse().expect("address");
        let err = KvMock::builder()
            .listen(addr)
            .start()
            .await
            .expect_err("refused");
        assert!(matches!(err, MockError::Insecure { .. }), "{addr}: {err:?}");
        assert!(err.to_string().contains("--allow-insecure"), "{err}");
    }
    // Allowed, or with a token, the start goes on to bind (192.0.2.1, a documentation address,
    // is not this machine's, so nothing is exposed: the bind fails).
    let unbindable: std::net::SocketAddr = "192.0.2.1:0".parse().expect("address");
    for builder in [
        KvMock::builder().listen(unbindable).allow_insecure(true),
        KvMock::builder().listen(unbindable).api_token("t"),
        KvMock::builder().listen(unbindable).control_token("t"),
    ] {
        let err = builder
            .start()
            .await
            .expect_err("not this machine's address");
        assert!(matches!(err, MockError::Bind { .. }), "{err:?}");
    }
}

#[test]
fn the_binary_refuses_beyond_loopback_and_warns_when_allowed() {
    let out = Command::new(env!("CARGO_BIN_EXE_kv-mock"))
        .args(["--listen", "0.0.0.0:0"])
        .env_remove("KV_MOCK_TOKEN")
        .env_remove("KV_MOCK_CONTROL_TOKEN")
        .output()
        .expect("the binary runs");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "never ready");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not loopback") && stderr.contains("--allow-insecure"),
        "{stderr}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_kv-mock"))
        .args(["--listen", "192.0.2.1:0", "--allow-insecure"])
        .env_remove("KV_MOCK_TOKEN")
        .env_remove("KV_MOCK_CONTROL_TOKEN")
        .env("RUST_LOG", "kv_mock=warn")
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("WARN") && stderr.contains("--allow-insecure"),
        "{stderr}"
    );
    assert!(stderr.contains("could not listen on 192.0.2.1"), "{stderr}");
}
