//! kv-client against a mock with two locations: one client per location (only the base URL
//! differs); a write through one is visible through the other once the propagation delay has
//! passed on the mock's clock, and a bulk write and list behave the same way.

use std::time::Duration;

use kv_client::{BulkPutItem, Client, KvNamespace};
use kv_mock::{Clock, KvMock, PropagationDelay};

use crate::kit::{START_SECS, client_builder};

const DELAY: Duration = Duration::from_secs(30);

/// A client for the default namespace at `location`.
fn at(mock: &KvMock, location: &str) -> KvNamespace {
    let base = mock.location(location).expect("a location").base_url();
    let client: Client = client_builder(mock)
        .base_url(base)
        .allow_http(true)
        .build()
        .expect("a client");
    client.namespace(mock.namespace_id())
}

#[tokio::test]
async fn a_client_per_location_sees_the_other_locations_writes_after_the_delay() {
    let mock = KvMock::builder()
        .locations(["iad", "fra"])
        .propagation_delay(PropagationDelay::fixed(DELAY))
        .clock(Clock::frozen_at(START_SECS))
        .start()
        .await
        .expect("mock starts");
    let (iad, fra) = (at(&mock, "iad"), at(&mock, "fra"));

    iad.put("greeting", "hello").await.expect("put at iad");
    assert_eq!(
        iad.get("greeting").text().await.expect("get").as_deref(),
        Some("hello")
    );
    assert_eq!(
        fra.get("greeting").text().await.expect("get"),
        None,
        "stale at fra"
    );

    fra.bulk_put([BulkPutItem::new("a", "1"), BulkPutItem::new("b", "2")])
        .await
        .expect("bulk put at fra");
    let listed = |page: kv_types::ListPage| -> Vec<String> {
        page.keys.into_iter().map(|k| k.name).collect()
    };
    assert_eq!(listed(fra.list().send().await.expect("list")), ["a", "b"]);
    assert_eq!(listed(iad.list().send().await.expect("list")), ["greeting"]);

    mock.clock().advance(DELAY);
    assert_eq!(
        fra.get("greeting").text().await.expect("get").as_deref(),
        Some("hello")
    );
    for kv in [&iad, &fra] {
        assert_eq!(
            listed(kv.list().send().await.expect("list")),
            ["a", "b", "greeting"]
        );
    }
}
