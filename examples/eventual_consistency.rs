//! Eventual consistency, caught locally: kv-mock with two locations, `iad` and `fra`. A write is
//! visible at once where it was made and reaches the other location only after a propagation
//! delay, as in production (up to 60 s). Code that writes at one location and reads at another
//! sees the stale value here, in a local test, instead of in production; a test that wants the
//! converged state settles the mock first.
//!
//! Run with `cargo run --example eventual_consistency`: no server, no account, no network.

use std::time::Duration;

use edge_kv::client::{Client, KvNamespace};
use edge_kv::mock::{KvMock, PropagationDelay};

/// A client for the mock's default namespace at one location: only the base URL differs.
fn client_at(mock: &KvMock, location: &str) -> Result<KvNamespace, Box<dyn std::error::Error>> {
    let client = Client::builder()
        .base_url(mock.location(location)?.base_url())
        .account_id(mock.account_id())
        .api_token("any-token-works-when-the-mock-has-none")
        .build()?;
    Ok(client.namespace(mock.namespace_id()))
}

/// The code under test: saves a user's theme through one location, then renders the page
/// through another, assuming it reads its own write.
async fn save_then_render(
    saved_at: &KvNamespace,
    rendered_at: &KvNamespace,
    theme: &str,
) -> Result<String, edge_kv::client::Error> {
    saved_at.put("user/42/theme", theme).await?;
    let shown = rendered_at.get("user/42/theme").text().await?;
    Ok(shown.unwrap_or_else(|| "default".to_owned()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Two locations, writes taking 5 to 60 s to reach the other one; a fixed seed makes the
    // delays the same on every run (a mock started without one prints the seed it drew).
    let mock = KvMock::builder()
        .locations(["iad", "fra"])
        .propagation_delay(PropagationDelay::between(
            Duration::from_secs(5),
            PropagationDelay::PRODUCTION_MAX,
        ))
        .propagation_seed(7)
        .rate_limit(false)
        .start()
        .await?;
    for l in mock.locations() {
        println!("location {} at {}", l.name(), l.base_url());
    }
    let (iad, fra) = (client_at(&mock, "iad")?, client_at(&mock, "fra")?);

    // Read-your-writes holds where the write was made...
    let same = save_then_render(&iad, &iad, "dark").await?;
    println!("saved \"dark\" at iad, rendered at iad -> {same:?}");
    assert_eq!(same, "dark");
    // (Settling delivers every pending write now: both locations hold "dark".)
    mock.settle();

    // ...but not across locations: the page rendered at fra shows the stale value.
    let stale = save_then_render(&iad, &fra, "solarized").await?;
    println!("saved \"solarized\" at iad, rendered at fra -> {stale:?} (stale)");
    assert_eq!(stale, "dark", "fra still holds the previous write");
    for pending in mock.engine().pending_writes() {
        println!(
            "  on its way: {} {:?} from {} to {}, due at {} ms",
            pending.key, pending.kind, pending.from, pending.to, pending.due_ms
        );
    }

    // Moving the mock's clock past the longest delay delivers what is due...
    mock.clock().advance(PropagationDelay::PRODUCTION_MAX);
    let later = fra.get("user/42/theme").text().await?;
    println!("60 s later at fra -> {later:?}");
    assert_eq!(later.as_deref(), Some("solarized"));

    // ...and a test that asserts the converged state settles the mock: everything pending is
    // delivered at once, and every location holds the same, last write.
    iad.put("user/42/theme", "light").await?;
    fra.put("user/42/lang", "de").await?;
    mock.settle();
    for (name, kv) in [("iad", &iad), ("fra", &fra)] {
        let theme = kv.get("user/42/theme").text().await?;
        let lang = kv.get("user/42/lang").text().await?;
        println!("settled, at {name}: theme {theme:?}, lang {lang:?}");
        assert_eq!(theme.as_deref(), Some("light"));
        assert_eq!(lang.as_deref(), Some("de"));
    }
    Ok(())
}
