//! Round-trips: values of every kind, odd keys, metadata.

use bytes::Bytes;

use crate::conformance::harness::Harness;
use crate::conformance::report::{CheckResult, Context, Outcome, ensure, ensure_eq};
use crate::metadata::Metadata;
use crate::options::PutOptions;
use crate::store::KvStore;
use crate::value::Value;

use super::{list_all, names, put};

/// Text, binary (every byte value), empty and JSON values read back byte for byte through `get`
/// and `get_with_metadata`; a key never written is `None` for `get`, `get_with_metadata` and
/// `metadata`.
pub async fn values_round_trip<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let s = h.scope("values_round_trip");
    let store = h.store();
    let binary: Vec<u8> = (0..=255u8).rev().chain(0..=255u8).collect();
    let json = Value::json(&serde_json::json!({"a": [1, 2.5, null], "b": "é"}))
        .map_err(|e| crate::conformance::Failure::new(e.to_string()))?;
    let cases: Vec<(&str, Bytes)> = vec![
        ("text", Bytes::from_static("hello, wörld ✓".as_bytes())),
        ("binary", Bytes::from(binary)),
        ("empty", Bytes::new()),
        ("json", json.clone().into_bytes()),
        ("nul", Bytes::from_static(b"\0")),
    ];
    for (name, bytes) in &cases {
        put(store, &s.key(name)?, bytes.clone(), PutOptions::new()).await?;
    }
    for (name, bytes) in &cases {
        let key = s.key(name)?;
        let got = store.get(&key).await.ctx(format_args!("get {key:?}"))?;
        ensure_eq!(got.as_ref(), Some(bytes), "get {key:?} after writing it");
        let with = store
            .get_with_metadata(&key)
            .await
            .ctx(format_args!("get_with_metadata {key:?}"))?;
        ensure!(
            with.as_ref().is_some_and(|w| w.value == bytes),
            "get_with_metadata {key:?} gave {with:?}, expected the value {bytes:?}"
        );
        let with = with.unwrap_or_else(|| unreachable!("checked just above"));
        ensure_eq!(
            with.metadata,
            None,
            "metadata of {key:?} written without any"
        );
        ensure_eq!(
            with.expiration,
            None,
            "expiration of {key:?} written without any"
        );
    }
    let missing = s.key("never-written")?;
    ensure_eq!(
        store.get(&missing).await.ctx("get of a missing key")?,
        None,
        "get of a key never written"
    );
    ensure_eq!(
        store
            .get_with_metadata(&missing)
            .await
            .ctx("get_with_metadata of a missing key")?,
        None,
        "get_with_metadata of a key never written"
    );
    ensure_eq!(
        store
            .metadata(&missing)
            .await
            .ctx("metadata of a missing key")?,
        None,
        "metadata of a key never written (None, not Some(None))"
    );
    Ok(Outcome::Passed)
}

/// Keys holding `/`, `?`, `#`, `%`, `+`, `&`, dots, spaces, control characters and non-ASCII
/// round-trip exactly, stay distinct (`a/b` is not `a%2Fb`; a key is decoded exactly once) and
/// are each listed once, in byte order.
pub async fn odd_keys_round_trip<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let s = h.scope("odd_keys_round_trip");
    let store = h.store();
    let odd = [
        "a/b",
        "a%2Fb",
        "a%252Fb",
        "q?x=1&y=2",
        "frag#x",
        "100%",
        "%",
        "a/../../bulk",
        "..",
        ".",
        "...",
        "with space",
        " leading and trailing ",
        "tab\there",
        "line\nbreak",
        "ключ",
        "日本/語",
        "emoji 🦀",
        "+&=;:@$,",
        "values/x",
        "A-Z_a-z.0-9~",
    ];
    for name in odd {
        put(
            store,
            &s.key(name)?,
            format!("value of {name}"),
            PutOptions::new(),
        )
        .await?;
    }
    for name in odd {
        let key = s.key(name)?;
        let got = store.get(&key).await.ctx(format_args!("get {key:?}"))?;
        ensure_eq!(
            got.as_deref(),
            Some(format!("value of {name}").as_bytes()),
            "get {key:?}"
        );
    }
    let (listed, _) = list_all(store, &s.prefix, None).await?;
    let mut expected: Vec<String> = odd.iter().map(|n| s.name(n)).collect();
    expected.sort();
    ensure_eq!(
        names(&listed),
        expected,
        "list of the odd keys (each once, in byte order)"
    );
    Ok(Outcome::Passed)
}

/// Metadata of every JSON kind comes back as written (compared as JSON) through
/// `get_with_metadata`, `metadata` and `list`; a key without metadata reads `Some(None)` from
/// `metadata`.
pub async fn metadata_round_trip<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let s = h.scope("metadata_round_trip");
    let store = h.store();
    let cases = [
        (
            "object",
            r#"{"b": 1.5, "a": [true, null, "x"], "nested": {"k": "é"}}"#,
        ),
        ("array", "[1,2,3]"),
        ("string", r#""just text""#),
        ("number", "42"),
        ("bool", "false"),
        ("empty-object", "{}"),
    ];
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    for (name, text) in cases {
        let meta = Metadata::from_json(text)
            .map_err(|e| crate::conformance::Failure::new(format!("metadata {text}: {e}")))?;
        put(store, &s.key(name)?, name, PutOptions::new().metadata(meta)).await?;
    }
    put(store, &s.key("none")?, "none", PutOptions::new()).await?;
    for (name, text) in cases {
        let key = s.key(name)?;
        let with = store
            .get_with_metadata(&key)
            .await
            .ctx(format_args!("get_with_metadata {key:?}"))?;
        let got = with.as_ref().and_then(|w| w.metadata.as_ref());
        ensure!(
            got.and_then(|m| json(m.as_json())) == json(text),
            "get_with_metadata {key:?}: metadata {got:?}, expected {text}"
        );
        ensure!(
            with.as_ref().is_some_and(|w| w.value == name.as_bytes()),
            "get_with_metadata {key:?}: value {with:?}, expected {name:?}"
        );
        let only = store
            .metadata(&key)
            .await
            .ctx(format_args!("metadata {key:?}"))?;
        ensure!(
            only.as_ref()
                .and_then(|m| m.as_ref())
                .and_then(|m| json(m.as_json()))
                == json(text),
            "metadata {key:?}: {only:?}, expected Some(Some({text}))"
        );
    }
    let none = s.key("none")?;
    ensure_eq!(
        store
            .metadata(&none)
            .await
            .ctx("metadata of a key without")?,
        Some(None),
        "metadata of a key written without metadata"
    );
    let (listed, _) = list_all(store, &s.prefix, None).await?;
    for info in &listed {
        let name = info.name.trim_start_matches(&s.prefix);
        let expected = cases.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
        let got = info.metadata.as_ref().and_then(|m| json(m.as_json()));
        ensure!(
            got == expected.and_then(json),
            "list entry {:?}: metadata {:?}, expected {expected:?}",
            info.name,
            info.metadata
        );
    }
    ensure_eq!(listed.len(), cases.len() + 1, "keys listed");
    Ok(Outcome::Passed)
}
