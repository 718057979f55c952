//! Expiry: keys disappear once their time has come, on a moved clock (or, for a store with a
//! very short minimum TTL, in real time).

use std::time::Duration;

use crate::conformance::harness::Harness;
use crate::conformance::report::{CheckResult, Context, Failure, Outcome, ensure, ensure_eq};
use crate::key::Key;
use crate::options::PutOptions;
use crate::store::KvStore;

use super::{list_all, names, put};

/// Longest real wait the suite accepts when the store has no movable clock.
const MAX_REAL_WAIT_SECS: u64 = 2;

/// Seconds of slack left before an expiry when checking that a key is still there, so a real
/// clock ticking under a moved one cannot expire it early.
const SLACK_SECS: u64 = 30;

/// Whether `key` is gone everywhere: `get`, `get_with_metadata`, `metadata`.
async fn gone<S: KvStore>(store: &S, key: &Key, when: &str) -> Result<(), Failure> {
    ensure_eq!(
        store.get(key).await.ctx("get")?,
        None,
        "get of {key:?} {when}"
    );
    ensure_eq!(
        store
            .get_with_metadata(key)
            .await
            .ctx("get_with_metadata")?,
        None,
        "get_with_metadata of {key:?} {when}"
    );
    ensure_eq!(
        store.metadata(key).await.ctx("metadata")?,
        None,
        "metadata of {key:?} {when}"
    );
    Ok(())
}

/// Whether `key` still holds `value`.
async fn present<S: KvStore>(store: &S, key: &Key, value: &str, when: &str) -> Result<(), Failure> {
    ensure_eq!(
        store.get(key).await.ctx("get")?.as_deref(),
        Some(value.as_bytes()),
        "get of {key:?} {when}"
    );
    Ok(())
}

/// Keys with a TTL or an absolute expiration are there until their time and gone after it (from
/// reads, metadata and lists); keys without expiry stay; an expired key can be deleted and
/// written again. Needs a movable clock; without one it waits in real time only when the
/// store's shortest TTL is at most 2 s, and is skipped otherwise.
pub async fn expiry<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let s = h.scope("expiry");
    let store = h.store();
    let min = h.limits.min_ttl_secs;
    let Some(clock) = &h.clock else {
        return real_time_expiry(h).await;
    };
    let ttl = min.max(SLACK_SECS + 1);
    let short = s.key("short-ttl")?;
    let long = s.key("long-ttl")?;
    let at = s.key("absolute")?;
    let forever = s.key("forever")?;
    let now = h.now_secs();
    put(
        store,
        &short,
        "short",
        PutOptions::new().expiration_ttl(ttl),
    )
    .await?;
    put(
        store,
        &long,
        "long",
        PutOptions::new().expiration_ttl(ttl * 4),
    )
    .await?;
    put(
        store,
        &at,
        "absolute",
        PutOptions::new().expiration(now + ttl * 2),
    )
    .await?;
    put(store, &forever, "forever", PutOptions::new()).await?;

    clock.advance(Duration::from_secs(ttl - SLACK_SECS));
    present(store, &short, "short", "before its TTL ran out").await?;
    let (listed, _) = list_all(store, &s.prefix, None).await?;
    ensure_eq!(listed.len(), 4, "keys listed before any expired");

    clock.advance(Duration::from_secs(SLACK_SECS + 1));
    gone(
        store,
        &short,
        &format!("{} s after a TTL of {ttl}", ttl + 1),
    )
    .await?;
    present(store, &long, "long", "before its TTL ran out").await?;
    present(store, &at, "absolute", "before its expiration").await?;
    let (listed, _) = list_all(store, &s.prefix, None).await?;
    let mut want = vec![at.to_string(), forever.to_string(), long.to_string()];
    want.sort();
    ensure_eq!(names(&listed), want, "list once the short TTL ran out");

    clock.advance(Duration::from_secs(ttl + 1));
    gone(store, &at, "after its absolute expiration").await?;
    present(store, &long, "long", "before its TTL ran out").await?;

    clock.advance(Duration::from_secs(ttl * 2));
    gone(store, &long, "after its TTL ran out").await?;
    present(store, &forever, "forever", "(it never expires)").await?;
    let (listed, _) = list_all(store, &s.prefix, None).await?;
    ensure_eq!(
        names(&listed),
        vec![forever.to_string()],
        "list once every expiring key expired"
    );

    store
        .delete(&short)
        .await
        .ctx("delete of an expired key (deleting a missing key succeeds)")?;
    put(store, &short, "again", PutOptions::new()).await?;
    present(store, &short, "again", "written again after it expired").await?;
    Ok(Outcome::Passed)
}

/// [`expiry`] without a movable clock: waits for real when the shortest TTL is short enough.
async fn real_time_expiry<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let min = h.limits.min_ttl_secs;
    if min == 0 || min > MAX_REAL_WAIT_SECS {
        return Ok(Outcome::Skipped(format!(
            "no movable clock, and the shortest TTL ({min} s) is too long to wait for"
        )));
    }
    let s = h.scope("expiry");
    let store = h.store();
    let key = s.key("short-ttl")?;
    let forever = s.key("forever")?;
    put(store, &key, "short", PutOptions::new().expiration_ttl(min)).await?;
    put(store, &forever, "forever", PutOptions::new()).await?;
    present(store, &key, "short", "right after it was written").await?;
    tokio::time::sleep(Duration::from_millis(min * 1000 + 1100)).await;
    gone(
        store,
        &key,
        &format!("{} ms after a TTL of {min} s", min * 1000 + 1100),
    )
    .await?;
    present(store, &forever, "forever", "(it never expires)").await?;
    let (listed, _) = list_all(store, &s.prefix, None).await?;
    ensure!(
        names(&listed) == vec![forever.to_string()],
        "list after the TTL ran out: {:?}",
        names(&listed)
    );
    Ok(Outcome::Passed)
}
