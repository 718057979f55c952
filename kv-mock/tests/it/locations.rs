//! Locations over HTTP, with a fixed propagation delay on a frozen clock: each location serves
//! the whole API on its own port, a write is visible at once where it was made and at the others
//! once the clock passes the delay; deletes propagate the same way; concurrent writes converge to
//! the later one everywhere; partitions hold writes back until healed; the control routes.

use std::time::Duration;

use kv_mock::{Clock, KvMock, PropagationDelay};
use serde_json::{Value as Json, json};

const T0: u64 = 1_700_000_000;
const DELAY: Duration = Duration::from_secs(10);

async fn three_locations() -> KvMock {
    KvMock::builder()
        .locations(["iad", "fra", "sin"])
        .propagation_delay(PropagationDelay::fixed(DELAY))
        .rate_limit(false)
        .clock(Clock::frozen_at(T0))
        .start()
        .await
        .expect("mock starts")
}

/// The URL of `rest` under the default namespace, at location `at`.
fn at(mock: &KvMock, location: &str, rest: &str) -> String {
    format!(
        "{}/accounts/{}/storage/kv/namespaces/{}{rest}",
        mock.location(location).expect("a location").base_url(),
        mock.account_id(),
        mock.namespace_id()
    )
}

async fn json_of(r: reqwest::Response) -> Json {
    serde_json::from_slice(&r.bytes().await.expect("body")).expect("a JSON envelope")
}

/// Puts `value` with `metadata` under `key` at `location`, as a multipart form.
async fn put(client: &reqwest::Client, mock: &KvMock, location: &str, key: &str, value: &str) {
    let form = reqwest::multipart::Form::new()
        .text("value", value.to_owned())
        .text("metadata", json!({ "from": location }).to_string());
    let r = client
        .put(at(mock, location, &format!("/values/{key}")))
        .multipart(form)
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 200, "put {key} at {location}");
}

/// The value of `key` at `location`, `None` on 404.
async fn get(client: &reqwest::Client, mock: &KvMock, location: &str, key: &str) -> Option<String> {
    let r = client
        .get(at(mock, location, &format!("/values/{key}")))
        .send()
        .await
        .expect("get");
    match r.status().as_u16() {
        200 => Some(r.text().await.expect("body")),
        404 => None,
        other => panic!("get {key} at {location}: status {other}"),
    }
}

/// The metadata of `key` at `location`, from the metadata route.
async fn metadata(client: &reqwest::Client, mock: &KvMock, location: &str, key: &str) -> Json {
    let r = client
        .get(at(mock, location, &format!("/metadata/{key}")))
        .send()
        .await
        .expect("metadata");
    assert_eq!(r.status(), 200, "metadata of {key} at {location}");
    let body = json_of(r).await;
    body["result"].clone()
}

#[tokio::test]
async fn every_location_serves_on_its_own_port_and_the_first_is_the_default() {
    let mock = three_locations().await;
    let names: Vec<&str> = mock.locations().iter().map(|l| l.name()).collect();
    assert_eq!(names, ["iad", "fra", "sin"]);
    assert_eq!(
        mock.location("iad").expect("iad").base_url(),
        mock.base_url()
    );
    let fra = mock.location("fra").expect("fra");
    assert_ne!(fra.addr(), mock.addr());
    assert!(fra.base_url().ends_with("/client/v4"));
    assert!(mock.location("lhr").is_err());
    // The namespace is global: listed the same at every location.
    let client = reqwest::Client::new();
    for l in mock.locations() {
        let r = client
            .get(format!(
                "{}/accounts/{}/storage/kv/namespaces",
                l.base_url(),
                mock.account_id()
            ))
            .send()
            .await
            .expect("list namespaces");
        let body = json_of(r).await;
        assert_eq!(
            body["result"][0]["id"],
            mock.namespace_id(),
            "at {}",
            l.name()
        );
    }
}

#[tokio::test]
async fn a_put_reaches_the_other_locations_after_the_delay_with_its_metadata() {
    let mock = three_locations().await;
    let client = reqwest::Client::new();
    put(&client, &mock, "iad", "greeting", "hello").await;
    // Read-your-writes where it was made, absent elsewhere.
    assert_eq!(
        get(&client, &mock, "iad", "greeting").await.as_deref(),
        Some("hello")
    );
    assert_eq!(get(&client, &mock, "fra", "greeting").await, None);
    mock.clock().advance(DELAY - Duration::from_millis(1));
    assert_eq!(get(&client, &mock, "fra", "greeting").await, None);
    mock.clock().advance(Duration::from_millis(1));
    for l in ["fra", "sin"] {
        assert_eq!(
            get(&client, &mock, l, "greeting").await.as_deref(),
            Some("hello")
        );
        assert_eq!(
            metadata(&client, &mock, l, "greeting").await,
            json!({ "from": "iad" })
        );
    }
}

#[tokio::test]
async fn requests_are_logged_with_their_location() {
    let mock = three_locations().await;
    let client = reqwest::Client::new();
    put(&client, &mock, "iad", "k", "v").await;
    assert_eq!(get(&client, &mock, "sin", "k").await, None);
    let log = mock.requests();
    let seen: Vec<(&str, Option<&str>, u16)> = log
        .iter()
        .map(|r| (r.method.as_str(), r.location.as_deref(), r.status))
        .collect();
    assert_eq!(seen, [("PUT", Some("iad"), 200), ("GET", Some("sin"), 404)]);
}

#[tokio::test]
async fn without_locations_nothing_changes() {
    let mock = KvMock::start().await.expect("mock starts");
    assert!(mock.locations().is_empty());
    assert!(mock.location("iad").is_err());
    assert_eq!(mock.propagation_seed(), None);
    let client = reqwest::Client::new();
    let r = client
        .get(format!("http://{}/__mock/requests", mock.addr()))
        .send()
        .await
        .expect("log");
    assert_eq!(r.status(), 200);
    assert_eq!(json_of(r).await["result"], json!([]));
}

fn control(mock: &KvMock, rest: &str) -> String {
    format!("http://{}/__mock{rest}", mock.addr())
}

/// POSTs `body` to the control route `rest`, expecting `status`; the envelope's result.
async fn post_control(
    client: &reqwest::Client,
    mock: &KvMock,
    rest: &str,
    body: Json,
    status: u16,
) -> Json {
    let r = client
        .post(control(mock, rest))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("control request");
    assert_eq!(r.status(), status, "POST /__mock{rest} {body}");
    json_of(r).await["result"].clone()
}

#[tokio::test]
async fn a_delete_propagates_the_same_way() {
    let mock = three_locations().await;
    let client = reqwest::Client::new();
    put(&client, &mock, "iad", "k", "v").await;
    mock.clock().advance(DELAY);
    assert_eq!(get(&client, &mock, "fra", "k").await.as_deref(), Some("v"));
    let r = client
        .delete(at(&mock, "iad", "/values/k"))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 200);
    assert_eq!(get(&client, &mock, "iad", "k").await, None);
    assert_eq!(get(&client, &mock, "fra", "k").await.as_deref(), Some("v"));
    mock.clock().advance(DELAY);
    assert_eq!(get(&client, &mock, "fra", "k").await, None);
    assert_eq!(get(&client, &mock, "sin", "k").await, None);
}

#[tokio::test]
async fn two_writes_of_one_key_at_two_locations_converge_to_the_later_one() {
    let mock = three_locations().await;
    let client = reqwest::Client::new();
    put(&client, &mock, "iad", "k", "first").await;
    mock.clock().advance(Duration::from_secs(2));
    put(&client, &mock, "fra", "k", "second").await;
    // Each sees its own write before the other's arrives.
    assert_eq!(
        get(&client, &mock, "iad", "k").await.as_deref(),
        Some("first")
    );
    assert_eq!(
        get(&client, &mock, "fra", "k").await.as_deref(),
        Some("second")
    );
    // iad's write reaches fra first (at 10 s) and loses there to the newer one already held.
    mock.clock().advance(DELAY);
    for l in ["iad", "fra", "sin"] {
        assert_eq!(
            get(&client, &mock, l, "k").await.as_deref(),
            Some("second"),
            "at {l}"
        );
        assert_eq!(
            metadata(&client, &mock, l, "k").await,
            json!({ "from": "fra" }),
            "at {l}"
        );
    }
}

#[tokio::test]
async fn the_control_routes_show_pending_writes_and_settle_them() {
    let mock = three_locations().await;
    let client = reqwest::Client::new();
    put(&client, &mock, "iad", "k", "v").await;
    let r = client
        .get(control(&mock, "/locations"))
        .send()
        .await
        .expect("locations");
    assert_eq!(r.status(), 200);
    let status = json_of(r).await["result"].clone();
    assert_eq!(
        status["seed"],
        json!(mock.propagation_seed().expect("a seed").to_string())
    );
    let locations = status["locations"].as_array().expect("a list");
    assert_eq!(locations.len(), 3);
    assert_eq!(locations[0]["name"], "iad");
    assert_eq!(locations[0]["base_url"], mock.base_url());
    assert_eq!(locations[0]["pending"], json!([]));
    let due = T0 * 1000 + 10_000;
    assert_eq!(
        locations[1]["pending"],
        json!([{ "namespace": mock.namespace_id(), "key": "k", "kind": "put", "from": "iad",
                 "to": "fra", "due_ms": due, "held": false }])
    );
    let settled = post_control(&client, &mock, "/settle", json!({}), 200).await;
    assert!(
        settled["locations"]
            .as_array()
            .expect("a list")
            .iter()
            .all(|l| l["pending"] == json!([]))
    );
    assert_eq!(get(&client, &mock, "sin", "k").await.as_deref(), Some("v"));
    // Every location answers the control routes; info names the one that answered.
    let r = client
        .get(format!(
            "http://{}/__mock/info",
            mock.location("sin").expect("sin").addr()
        ))
        .send()
        .await
        .expect("info");
    let info = json_of(r).await["result"].clone();
    assert_eq!(info["location"], "sin");
    assert_eq!(
        info["base_url"],
        mock.location("sin").expect("sin").base_url()
    );
}

#[tokio::test]
async fn a_partition_holds_writes_back_and_both_sides_converge_after_healing() {
    let mock = three_locations().await;
    let client = reqwest::Client::new();
    let cut = post_control(
        &client,
        &mock,
        "/partition",
        json!({ "location": "sin" }),
        200,
    )
    .await;
    assert_eq!(cut["locations"][2]["partitioned"], true);
    put(&client, &mock, "iad", "k", "from iad").await;
    mock.clock().advance(Duration::from_secs(2));
    put(&client, &mock, "sin", "k", "from sin").await;
    put(&client, &mock, "sin", "only-sin", "x").await;
    mock.clock().advance(DELAY * 3);
    mock.settle();
    // Nothing crossed the partition; fra got iad's write.
    assert_eq!(
        get(&client, &mock, "fra", "k").await.as_deref(),
        Some("from iad")
    );
    assert_eq!(
        get(&client, &mock, "sin", "k").await.as_deref(),
        Some("from sin")
    );
    assert_eq!(get(&client, &mock, "iad", "only-sin").await, None);
    let held = client
        .get(control(&mock, "/locations"))
        .send()
        .await
        .expect("locations");
    let held = json_of(held).await["result"].clone();
    assert!(
        held["locations"][2]["pending"]
            .as_array()
            .expect("a list")
            .iter()
            .all(|p| p["held"] == true)
    );
    // Heal (every location, `{}`): everything held is due, and the later write wins everywhere.
    post_control(&client, &mock, "/heal", json!({}), 200).await;
    for l in ["iad", "fra", "sin"] {
        assert_eq!(
            get(&client, &mock, l, "k").await.as_deref(),
            Some("from sin"),
            "at {l}"
        );
        assert_eq!(
            get(&client, &mock, l, "only-sin").await.as_deref(),
            Some("x"),
            "at {l}"
        );
    }
    // Bad bodies and unknown locations are typed errors.
    post_control(&client, &mock, "/partition", json!({}), 400).await;
    post_control(
        &client,
        &mock,
        "/partition",
        json!({ "location": "lhr" }),
        404,
    )
    .await;
    post_control(&client, &mock, "/heal", json!({ "where": "sin" }), 400).await;
}

#[tokio::test]
async fn the_rust_controls_partition_and_heal() {
    let mock = three_locations().await;
    mock.partition("fra").expect("fra exists");
    assert!(mock.partition("lhr").is_err());
    let iad = mock.store_at("iad").expect("iad");
    let fra = mock.store_at("fra").expect("fra");
    iad.put_sync("k", "v".into(), kv_types::PutOptions::new())
        .expect("put");
    mock.clock().advance(DELAY);
    assert_eq!(fra.get_sync("k").expect("get"), None);
    let status = mock.location_status();
    assert!(status[1].partitioned && status[1].pending.iter().all(|p| p.held));
    mock.heal("fra").expect("fra exists");
    assert_eq!(
        fra.get_sync("k").expect("get").map(|v| v.value),
        Some("v".into())
    );
}

/// Kills the standalone server if a test fails before it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the standalone binary with `args` and returns it with the lines it printed before
/// `ready`.
fn standalone(args: &[&str]) -> (Child, Vec<String>) {
    use std::io::{BufRead, BufReader};
    let mut child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_kv-mock"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the binary starts"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let lines = BufReader::new(stdout)
        .lines()
        .map(|l| l.expect("a line"))
        .take_while(|l| l != "ready")
        .take(20)
        .collect();
    (child, lines)
}

#[test]
fn the_standalone_server_serves_locations_and_prints_them() {
    let (_child, lines) = standalone(&[
        "--listen",
        "127.0.0.1:0",
        "--location",
        "iad",
        "--location",
        "fra",
        "--propagation-seed",
        "42",
        "--propagation-delay",
        "5..5",
        "--frozen-at",
        "1700000000",
        "--no-rate-limit",
    ]);
    let value = |name: &str| {
        lines
            .iter()
            .filter_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(value("propagation_seed"), ["42"], "{lines:?}");
    let located = value("location");
    assert_eq!(located.len(), 2, "{lines:?}");
    let (iad, fra) = (
        located[0].strip_prefix("iad ").expect("iad first"),
        located[1].strip_prefix("fra ").expect("fra second"),
    );
    assert_eq!(value("base_url"), [iad]);
    assert_ne!(iad, fra);
    let ns = value("namespace_id")[0]
        .split(' ')
        .next()
        .expect("an id")
        .to_owned();
    let account = value("account_id")[0].clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = reqwest::Client::new();
        let url =
            |base: &str| format!("{base}/accounts/{account}/storage/kv/namespaces/{ns}/values/k");
        let r = client.put(url(iad)).body("v").send().await.expect("put");
        assert_eq!(r.status(), 200);
        let r = client.get(url(fra)).send().await.expect("get");
        assert_eq!(r.status(), 404, "not yet at fra");
        let origin = iad.trim_end_matches("/client/v4");
        let r = client
            .post(format!("{origin}/__mock/clock/advance"))
            .header("content-type", "application/json")
            .body(r#"{"seconds": 5}"#)
            .send()
            .await
            .expect("advance");
        assert_eq!(r.status(), 200);
        let r = client.get(url(fra)).send().await.expect("get");
        assert_eq!(r.status(), 200, "at fra after the delay");
        assert_eq!(r.text().await.expect("body"), "v");
    });
}

#[test]
fn the_standalone_server_refuses_locations_it_cannot_serve() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kv-mock"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .output()
            .expect("the binary runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let dir = dir.path().to_str().expect("a UTF-8 path");
    let (ok, err) = run(&["--location", "iad", "--location", "fra", "--persist", dir]);
    assert!(!ok && err.contains("--persist"), "{err}");
    let (ok, err) = run(&["--location", "iad", "--propagation-delay", "9..3"]);
    assert!(!ok && err.contains("MIN is greater than MAX"), "{err}");
    let (ok, err) = run(&["--location", "iad", "--propagation-delay", "soon"]);
    assert!(!ok && err.contains("not a number of seconds"), "{err}");
    let (ok, err) = run(&["--location", "IAD"]);
    assert!(
        !ok && err.contains("a location name is 1 to 32 characters"),
        "{err}"
    );
    let (ok, err) = run(&["--location", "iad", "--location", "iad"]);
    assert!(!ok && err.contains("unique"), "{err}");
    let (ok, err) = run(&["--propagation-seed", "1"]);
    assert!(!ok && err.contains("--location"), "{err}");
}
