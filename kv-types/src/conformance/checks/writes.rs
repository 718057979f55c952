//! Writes over writes: a write replaces everything, the last write wins, concurrent writes never
//! mix, deletes, and the per-key write limit.

use crate::conformance::harness::{Harness, WriteLimit};
use crate::conformance::report::{CheckResult, Context, Failure, Outcome, ensure, ensure_eq};
use crate::metadata::Metadata;
use crate::options::PutOptions;
use crate::store::{ErrorKind, KvStore, StoreError};
use crate::value::Value;

use super::{list_all, names, put};

fn metadata(value: &serde_json::Value) -> Result<Metadata, Failure> {
    Metadata::new(value).map_err(|e| Failure::new(format!("the suite built bad metadata: {e}")))
}

/// A write replaces value, metadata and expiration together: writing again without metadata or
/// expiration clears them, and writing again with new ones replaces them.
pub async fn overwrite_replaces_everything<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let s = h.scope("overwrite_replaces_everything");
    let store = h.store();
    let key = s.key("k")?;
    let first = metadata(&serde_json::json!({"write": 1}))?;
    put(
        store,
        &key,
        "first",
        PutOptions::new().metadata(first).expiration_ttl(3600),
    )
    .await?;
    h.between_writes().await;
    put(store, &key, "second", PutOptions::new()).await?;
    let got = store
        .get_with_metadata(&key)
        .await
        .ctx("get_with_metadata after the overwrite")?;
    ensure!(
        got.as_ref().is_some_and(|g| g.value == "second"),
        "value after the overwrite: {got:?}"
    );
    let got = got.unwrap_or_else(|| unreachable!("checked just above"));
    ensure_eq!(
        got.metadata,
        None,
        "metadata after a write without metadata"
    );
    ensure_eq!(
        got.expiration,
        None,
        "expiration after a write without expiration"
    );
    ensure_eq!(
        store
            .metadata(&key)
            .await
            .ctx("metadata after the overwrite")?,
        Some(None),
        "metadata() after a write without metadata"
    );

    h.between_writes().await;
    let third = metadata(&serde_json::json!({"write": 3}))?;
    let before = h.now_secs();
    put(
        store,
        &key,
        "third",
        PutOptions::new()
            .metadata(third.clone())
            .expiration_ttl(7200),
    )
    .await?;
    let got = store
        .get_with_metadata(&key)
        .await
        .ctx("get_with_metadata")?;
    ensure!(
        got.as_ref().is_some_and(|g| g.value == "third"
            && g.metadata.as_ref() == Some(&third)
            && g.expiration
                .is_some_and(|e| e >= before + 7200 && e <= h.now_secs() + 7201)),
        "after a third write (metadata {{\"write\":3}}, TTL 7200 at {before}): {got:?}"
    );
    let (listed, _) = list_all(store, &s.prefix, None).await?;
    ensure_eq!(
        listed.len(),
        1,
        "keys listed after three writes of one key: {:?}",
        names(&listed)
    );
    ensure_eq!(listed[0].metadata.as_ref(), Some(&third), "listed metadata");
    Ok(Outcome::Passed)
}

/// Of successive writes to one key, the last one is what every read sees.
pub async fn last_write_wins<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let s = h.scope("last_write_wins");
    let store = h.store();
    let key = s.key("k")?;
    for round in 1..=4 {
        if round > 1 {
            h.between_writes().await;
        }
        let meta = metadata(&serde_json::json!({ "round": round }))?;
        put(
            store,
            &key,
            format!("round {round}"),
            PutOptions::new().metadata(meta.clone()),
        )
        .await?;
        let got = store.get(&key).await.ctx("get")?;
        ensure_eq!(
            got.as_deref(),
            Some(format!("round {round}").as_bytes()),
            "get right after write {round}"
        );
        ensure_eq!(
            store.metadata(&key).await.ctx("metadata")?,
            Some(Some(meta)),
            "metadata right after write {round}"
        );
    }
    Ok(Outcome::Passed)
}

/// Concurrent writes to one key: afterwards the key holds exactly one of them, and a read never
/// mixes two (the value and the metadata come from the same write). Writes the store refuses
/// with `RateLimited` (the per-key limit) are allowed, and are then not what the key holds.
pub async fn concurrent_writes_never_mix<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let s = h.scope("concurrent_writes_never_mix");
    let store = h.store();
    let key = s.key("k")?;
    let write = |n: u32| {
        let key = key.clone();
        async move {
            let meta = metadata(&serde_json::json!({ "writer": n }))?;
            let r = store
                .put(
                    &key,
                    Value::from(format!("writer {n}")),
                    PutOptions::new().metadata(meta),
                )
                .await;
            match r {
                Ok(()) => Ok(Some(n)),
                Err(e) if e.kind() == ErrorKind::RateLimited => Ok(None),
                Err(e) => Err(Failure::new(format!(
                    "concurrent put {n} failed ({:?}): {e}",
                    e.kind()
                ))),
            }
        }
    };
    let (a, b, c, d, e) = tokio::join!(write(1), write(2), write(3), write(4), write(5));
    let accepted: Vec<u32> = [a?, b?, c?, d?, e?].into_iter().flatten().collect();
    ensure!(
        !accepted.is_empty(),
        "every one of five concurrent writes was refused"
    );
    if h.write_limit == WriteLimit::Off {
        ensure_eq!(
            accepted.len(),
            5,
            "concurrent writes accepted with the write limit off"
        );
    }
    let got = store
        .get_with_metadata(&key)
        .await
        .ctx("get_with_metadata after concurrent writes")?
        .ok_or_else(|| Failure::new("the key is absent after concurrent writes"))?;
    let text = String::from_utf8_lossy(&got.value).into_owned();
    let writer: Option<u32> = text.strip_prefix("writer ").and_then(|n| n.parse().ok());
    ensure!(
        writer.is_some_and(|w| accepted.contains(&w)),
        "after concurrent writes {accepted:?} (accepted) the value is {text:?}"
    );
    let expected = metadata(&serde_json::json!({ "writer": writer }))?;
    ensure_eq!(
        got.metadata,
        Some(expected),
        "metadata read with the value {text:?} (a read must not mix two writes)"
    );
    Ok(Outcome::Passed)
}

/// Deleting a key removes value, metadata and list entry; deleting it again, or deleting a key
/// never written, succeeds; the key can be written again afterwards.
pub async fn delete_semantics<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let s = h.scope("delete_semantics");
    let store = h.store();
    let key = s.key("k")?;
    let keep = s.key("keep")?;
    let meta = metadata(&serde_json::json!({"m": 1}))?;
    put(store, &key, "v", PutOptions::new().metadata(meta)).await?;
    put(store, &keep, "kept", PutOptions::new()).await?;
    store.delete(&key).await.ctx("delete of a key")?;
    ensure_eq!(store.get(&key).await.ctx("get")?, None, "get after delete");
    ensure_eq!(
        store
            .get_with_metadata(&key)
            .await
            .ctx("get_with_metadata")?,
        None,
        "get_with_metadata after delete"
    );
    ensure_eq!(
        store.metadata(&key).await.ctx("metadata")?,
        None,
        "metadata after delete"
    );
    let (listed, _) = list_all(store, &s.prefix, None).await?;
    ensure_eq!(names(&listed), vec![keep.to_string()], "list after delete");
    ensure_eq!(
        store.get(&keep).await.ctx("get of another key")?.as_deref(),
        Some(&b"kept"[..]),
        "a delete touches only its key"
    );
    store
        .delete(&key)
        .await
        .ctx("a second delete of the same key (deleting a missing key succeeds)")?;
    store
        .delete(&s.key("never-written")?)
        .await
        .ctx("delete of a key never written (deleting a missing key succeeds)")?;
    h.between_writes().await;
    put(store, &key, "again", PutOptions::new()).await?;
    ensure_eq!(
        store.get(&key).await.ctx("get")?.as_deref(),
        Some(&b"again"[..]),
        "a key written again after its delete"
    );
    Ok(Outcome::Passed)
}

/// One write per second per key: with the limit enforced a second write within the second is
/// refused with `RateLimited` and changes nothing, other keys and deletes are not limited, and
/// once a second has passed the key can be written again. With the limit off, writes back to
/// back are all accepted.
pub async fn write_limit<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let s = h.scope("write_limit");
    let store = h.store();
    let key = s.key("k")?;
    match h.write_limit {
        WriteLimit::MayApply => {
            return Ok(Outcome::Skipped(
                "the harness says the write limit may apply but is not reliably observable".into(),
            ));
        }
        WriteLimit::Off => {
            for n in 0..5 {
                put(store, &key, format!("{n}"), PutOptions::new()).await?;
            }
            ensure_eq!(
                store.get(&key).await.ctx("get")?.as_deref(),
                Some(&b"4"[..]),
                "after five writes back to back with the limit off"
            );
            return Ok(Outcome::Passed);
        }
        WriteLimit::Enforced => {}
    }
    put(store, &key, "first", PutOptions::new()).await?;
    match store
        .put(&key, Value::from("second"), PutOptions::new())
        .await
    {
        Ok(()) => {
            return Err(Failure::new(
                "a second write to a key right after the first was accepted; the contract \
                 allows one write per second per key",
            ));
        }
        Err(e) => ensure_eq!(
            e.kind(),
            ErrorKind::RateLimited,
            "kind of the error for a second write within a second ({e})"
        ),
    }
    ensure_eq!(
        store.get(&key).await.ctx("get")?.as_deref(),
        Some(&b"first"[..]),
        "the value after a write refused by the write limit"
    );
    put(store, &s.key("other")?, "v", PutOptions::new())
        .await
        .map_err(|f| Failure::new(format!("another key is not limited: {f}")))?;
    store
        .delete(&key)
        .await
        .ctx("a delete right after a write (deletes are not limited)")?;
    h.between_writes().await;
    put(store, &key, "after a second", PutOptions::new())
        .await
        .map_err(|f| Failure::new(format!("a write one second later: {f}")))?;
    Ok(Outcome::Passed)
}
