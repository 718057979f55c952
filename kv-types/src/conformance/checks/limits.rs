//! Every limit, probed at its boundary: the last value allowed works, the first one over is
//! refused with a validation error naming the rule, and a refused write writes nothing.

use crate::conformance::harness::Harness;
use crate::conformance::report::{
    CheckResult, Context, Failure, Outcome, ensure, ensure_eq, refused,
};
use crate::error::ValidationError;
use crate::key::Key;
use crate::limits::Limits;
use crate::metadata::Metadata;
use crate::options::{ListOptions, PutOptions};
use crate::store::KvStore;
use crate::value::Value;

use super::{list_all, names, put};

/// Limits under which the suite can build keys and metadata over the store's own limits.
const UNCHECKED: Limits = Limits {
    max_key_bytes: usize::MAX,
    max_metadata_bytes: usize::MAX,
    ..Limits::PRODUCTION
};

/// A key of exactly `len` bytes: `prefix` padded with `k`.
fn key_of_len(prefix: &str, len: usize, tail: &str) -> Result<Key, Failure> {
    let pad = len
        .checked_sub(prefix.len() + tail.len())
        .ok_or_else(|| Failure::new("unreachable: prefix checked by the caller"))?;
    Key::with_limits(format!("{prefix}{}{tail}", "k".repeat(pad)), &UNCHECKED)
        .map_err(|e| Failure::new(format!("the suite built an invalid key: {e}")))
}

/// A key of `max_key_bytes` bytes (one ending in a 3-byte character too) is written, read and
/// listed; one byte more (ASCII, or a 3-byte character crossing the limit) is refused by `put`,
/// `get` and `delete` with `KeyTooLong`, and nothing is written.
pub async fn key_length_limit<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let s = h.scope("key_length_limit");
    let store = h.store();
    let max = h.limits.max_key_bytes;
    if s.prefix.len() + 3 > max {
        return Ok(Outcome::Skipped(format!(
            "the key prefix {:?} does not fit under the store's key limit of {max} bytes",
            s.prefix
        )));
    }
    let at = key_of_len(&s.prefix, max, "")?;
    let at_multibyte = key_of_len(&s.prefix, max, "€")?;
    for key in [&at, &at_multibyte] {
        put(store, key, "at the limit", PutOptions::new()).await?;
        let got = store.get(key).await.ctx("get of a key at the limit")?;
        ensure_eq!(
            got.as_deref(),
            Some(&b"at the limit"[..]),
            "get of a key of exactly {max} bytes"
        );
    }
    let (listed, _) = list_all(store, &s.prefix, None).await?;
    let mut expected = vec![at.to_string(), at_multibyte.to_string()];
    expected.sort();
    ensure_eq!(names(&listed), expected, "list of the keys at the limit");

    let over = key_of_len(&s.prefix, max + 1, "")?;
    let over_multibyte = key_of_len(&s.prefix, max + 1, "€")?;
    for key in [&over, &over_multibyte] {
        let too_long = |v: &ValidationError| matches!(v, ValidationError::KeyTooLong { len, max: m } if *len == max + 1 && *m == max);
        refused(
            store.put(key, Value::from("v"), PutOptions::new()).await,
            &format!("put of a key of {} bytes", max + 1),
            too_long,
        )?;
        refused(
            store.get(key).await,
            &format!("get of a key of {} bytes", max + 1),
            too_long,
        )?;
        refused(
            store.delete(key).await,
            &format!("delete of a key of {} bytes", max + 1),
            too_long,
        )?;
    }
    let (listed, _) = list_all(store, &s.prefix, None).await?;
    ensure_eq!(
        names(&listed),
        expected,
        "list after refused writes of over-long keys (nothing written)"
    );
    Ok(Outcome::Passed)
}

/// A value of exactly `max_value_bytes` round-trips; one byte more is refused with
/// `ValueTooLarge` and leaves the previous value in place.
pub async fn value_size_limit<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let s = h.scope("value_size_limit");
    let store = h.store();
    let max = h.limits.max_value_bytes;
    let key = s.key("big")?;
    let at: Vec<u8> = (0..max).map(|i| (i % 251) as u8).collect();
    put(store, &key, at.clone(), PutOptions::new()).await?;
    let got = store.get(&key).await.ctx("get of a value at the limit")?;
    ensure!(
        got.as_deref() == Some(&at[..]),
        "a value of exactly {max} bytes read back as {} bytes{}",
        got.as_ref().map_or(0, |g| g.len()),
        if got.as_ref().is_some_and(|g| g.len() == max) {
            " with other contents"
        } else {
            ""
        }
    );
    drop(at);
    h.between_writes().await;
    refused(
        store
            .put(&key, Value::from(vec![7u8; max + 1]), PutOptions::new())
            .await,
        &format!("put of a value of {} bytes", max + 1),
        |v| matches!(v, ValidationError::ValueTooLarge { max: m, .. } if *m == max),
    )?;
    let after = store.get(&key).await.ctx("get after a refused write")?;
    ensure!(
        after.as_ref().is_some_and(|a| a.len() == max),
        "after a refused oversize write the value is {:?} bytes, expected the previous {max}",
        after.map(|a| a.len())
    );
    let fresh = s.key("never")?;
    refused(
        store
            .put(&fresh, Value::from(vec![7u8; max + 1]), PutOptions::new())
            .await,
        &format!("put of a value of {} bytes", max + 1),
        |v| matches!(v, ValidationError::ValueTooLarge { .. }),
    )?;
    ensure_eq!(
        store.get(&fresh).await.ctx("get after a refused write")?,
        None,
        "a key whose only write was refused"
    );
    Ok(Outcome::Passed)
}

/// JSON text of exactly `len` bytes: a string of `len - 2` characters and its quotes.
fn metadata_of_len(len: usize) -> Result<Metadata, Failure> {
    let text = format!("\"{}\"", "m".repeat(len.saturating_sub(2)));
    Metadata::from_json_with_limits(text, &UNCHECKED)
        .map_err(|e| Failure::new(format!("the suite built invalid metadata: {e}")))
}

/// Metadata of exactly `max_metadata_bytes` round-trips; one byte more is refused with
/// `MetadataTooLarge`, writing nothing.
pub async fn metadata_size_limit<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let s = h.scope("metadata_size_limit");
    let store = h.store();
    let max = h.limits.max_metadata_bytes;
    let at = metadata_of_len(max)?;
    let key = s.key("at")?;
    put(store, &key, "v", PutOptions::new().metadata(at.clone())).await?;
    let got = store.metadata(&key).await.ctx("metadata at the limit")?;
    ensure!(
        got.as_ref() == Some(&Some(at)),
        "metadata of exactly {max} bytes read back as {}",
        match &got {
            None => "an absent key".to_owned(),
            Some(None) => "no metadata".to_owned(),
            Some(Some(m)) => format!("{} other bytes", m.len()),
        }
    );
    let over = metadata_of_len(max + 1)?;
    let key = s.key("over")?;
    refused(
        store
            .put(&key, Value::from("v"), PutOptions::new().metadata(over))
            .await,
        &format!("put with metadata of {} bytes", max + 1),
        |v| matches!(v, ValidationError::MetadataTooLarge { len, max: m } if *len == max + 1 && *m == max),
    )?;
    ensure_eq!(
        store.get(&key).await.ctx("get after a refused write")?,
        None,
        "a key whose only write (with too much metadata) was refused"
    );
    Ok(Outcome::Passed)
}

/// A TTL of `min_ttl_secs` is accepted (the key expires about then); one second less is refused
/// with `TtlTooShort`, writing nothing.
pub async fn ttl_limit<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let s = h.scope("ttl_limit");
    let store = h.store();
    let min = h.limits.min_ttl_secs;
    let key = s.key("at")?;
    let before = h.now_secs();
    put(store, &key, "v", PutOptions::new().expiration_ttl(min)).await?;
    let after = h.now_secs();
    let got = store
        .get_with_metadata(&key)
        .await
        .ctx("get_with_metadata of a key with the shortest TTL")?;
    let exp = got.as_ref().and_then(|g| g.expiration);
    ensure!(
        exp.is_some_and(|e| (before + min..=after + min + 1).contains(&e)),
        "a TTL of {min} written between {before} and {after} gave expiration {exp:?}"
    );
    if min > 0 {
        let short = s.key("short")?;
        refused(
            store
                .put(
                    &short,
                    Value::from("v"),
                    PutOptions::new().expiration_ttl(min - 1),
                )
                .await,
            &format!("put with a TTL of {}", min - 1),
            |v| matches!(v, ValidationError::TtlTooShort { ttl, min: m } if *ttl == min - 1 && *m == min),
        )?;
        ensure_eq!(
            store.get(&short).await.ctx("get after a refused write")?,
            None,
            "a key whose only write (TTL too short) was refused"
        );
    }
    Ok(Outcome::Passed)
}

/// An absolute expiration less than `min_ttl_secs` ahead (one second short, or in the past) is
/// refused with `ExpirationTooSoon`; one a little over the minimum ahead is accepted and read
/// back exactly; with both given the TTL wins and the absolute time is ignored, even when it
/// would be refused on its own.
pub async fn expiration_limit<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let s = h.scope("expiration_limit");
    let store = h.store();
    let min = h.limits.min_ttl_secs;
    let now = h.now_secs();
    let soon = s.key("soon")?;
    for (at, what) in [
        (
            now + min.saturating_sub(1),
            "one second short of the minimum",
        ),
        (now.saturating_sub(3600), "an hour in the past"),
        (1, "1 (1970)"),
    ] {
        refused(
            store
                .put(&soon, Value::from("v"), PutOptions::new().expiration(at))
                .await,
            &format!("put with expiration {at} ({what}; now is {now})"),
            |v| matches!(v, ValidationError::ExpirationTooSoon { expiration, .. } if *expiration == at),
        )?;
    }
    ensure_eq!(
        store.get(&soon).await.ctx("get after refused writes")?,
        None,
        "a key whose only writes (expiration too soon) were refused"
    );
    // A little over the minimum, as the store's clock may tick between here and the write.
    let at = h.now_secs() + min + 5;
    let key = s.key("at")?;
    put(store, &key, "v", PutOptions::new().expiration(at)).await?;
    let got = store
        .get_with_metadata(&key)
        .await
        .ctx("get_with_metadata")?;
    ensure_eq!(
        got.and_then(|g| g.expiration),
        Some(at),
        "expiration of a key written with expiration {at}"
    );
    let (listed, _) = list_all(store, &s.prefix, None).await?;
    ensure_eq!(
        listed
            .iter()
            .map(|k| (k.name.clone(), k.expiration))
            .collect::<Vec<_>>(),
        vec![(key.to_string(), Some(at))],
        "list entry of a key with an expiration"
    );

    let both = s.key("both")?;
    let before = h.now_secs();
    put(
        store,
        &both,
        "v",
        PutOptions::new().expiration(1).expiration_ttl(3600),
    )
    .await?;
    let after = h.now_secs();
    let exp = store
        .get_with_metadata(&both)
        .await
        .ctx("get_with_metadata")?
        .and_then(|g| g.expiration);
    ensure!(
        exp.is_some_and(|e| (before + 3600..=after + 3601).contains(&e)),
        "with expiration 1 and a TTL of 3600 written at {before}..{after} the expiration is \
         {exp:?}: the TTL must win and the absolute time be ignored"
    );
    Ok(Outcome::Passed)
}

/// A list `limit` under `min_list_limit` or over `max_list_limit` is refused with
/// `ListLimitOutOfRange`; both ends of the range are accepted.
pub async fn list_limit_range<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let s = h.scope("list_limit_range");
    let store = h.store();
    let (lo, hi) = (h.limits.min_list_limit, h.limits.max_list_limit);
    for bad in [lo.checked_sub(1), hi.checked_add(1)].into_iter().flatten() {
        refused(
            store
                .list(ListOptions::new().prefix(&s.prefix).limit(bad))
                .await,
            &format!("list with limit {bad}"),
            |v| matches!(v, ValidationError::ListLimitOutOfRange { limit, .. } if *limit == bad),
        )?;
    }
    for good in [lo, hi] {
        store
            .list(ListOptions::new().prefix(&s.prefix).limit(good))
            .await
            .ctx(format_args!("list with limit {good}"))?;
    }
    Ok(Outcome::Passed)
}
