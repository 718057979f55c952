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
