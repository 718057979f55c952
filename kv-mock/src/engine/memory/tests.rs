//! The in-memory storage against a model (a plain map filtered by expiration), and its edge
//! cases.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::*;

fn entry(v: &str, exp: Option<u64>) -> Entry {
    Entry {
        value: Bytes::copy_from_slice(v.as_bytes()),
        metadata: None,
        expiration: exp,
    }
}

fn names(r: &Range) -> Vec<String> {
    r.entries.iter().map(|(n, _)| n.to_string()).collect()
}

/// A small deterministic generator (xorshift64*), so a failing case can be replayed by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A key of 1 to 3 pieces from a small alphabet, so prefixes and overwrites are common.
    fn key(&mut self) -> String {
        const PIECES: [&str; 6] = ["a", "b", "/", "é", "ab", "z"];
        let len = 1 + self.below(3);
        (0..len)
            .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
            .collect()
    }

    fn expiration(&mut self, now: u64) -> Option<u64> {
        match self.below(3) {
            0 => None,
            _ => Some(now + self.below(20)),
        }
    }
}

/// What the storage must answer: every write, hidden once expired.
#[derive(Default)]
struct Model {
    entries: BTreeMap<String, (String, Option<u64>)>,
}

impl Model {
    fn live(&self, now: u64) -> impl Iterator<Item = (&String, &(String, Option<u64>))> {
        self.entries
            .iter()
            .filter(move |(_, (_, exp))| exp.is_none_or(|e| e > now))
    }

    fn get(&self, key: &str, now: u64) -> Option<(String, Option<u64>)> {
        self.live(now)
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v.clone())
    }

    fn range(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        now: u64,
    ) -> (Vec<String>, bool) {
        let matching: Vec<String> = self
            .live(now)
            .map(|(k, _)| k)
            .filter(|k| k.starts_with(prefix) && after.is_none_or(|a| k.as_str() > a))
            .cloned()
            .collect();
        let more = matching.len() > limit;
        (matching.into_iter().take(limit).collect(), more)
    }
}

#[test]
fn matches_the_model() {
    for seed in 1..=40u64 {
        let storage = MemoryStorage
            .create_namespace("0".repeat(32).as_str(), "t")
            .expect("create");
        model_run(&*storage, seed);
    }
}

/// 400 random calls on `storage` (empty), each checked against the model; `seed` replays a
/// case. Shared with the other storages' tests.
pub(in crate::engine) fn model_run(storage: &dyn NamespaceStorage, seed: u64) {
    {
        let mut model = Model::default();
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut now = 1_000u64;
        for step in 0..400 {
            let ctx = format!("seed {seed} step {step}");
            match rng.below(8) {
                0 | 1 => {
                    let (k, exp) = (rng.key(), rng.expiration(now));
                    let v = format!("{seed}-{step}");
                    storage.put(&k, entry(&v, exp), now).expect("put");
                    model.entries.insert(k, (v, exp));
                }
                2 => {
                    let k = rng.key();
                    storage.delete(&k, now).expect("delete");
                    model.entries.remove(&k);
                }
                3 => {
                    let mut batch = Vec::new();
                    for i in 0..rng.below(5) {
                        let key = rng.key();
                        if rng.below(3) == 0 {
                            model.entries.remove(&key);
                            batch.push(Write::Delete { key });
                        } else {
                            let (v, exp) = (format!("{seed}-{step}-{i}"), rng.expiration(now));
                            model.entries.insert(key.clone(), (v.clone(), exp));
                            batch.push(Write::Put {
                                key,
                                entry: entry(&v, exp),
                            });
                        }
                    }
                    storage.write(batch, now).expect("write");
                }
                4 => now += rng.below(6),
                5 => storage.sweep(now).expect("sweep"),
                6 => {
                    let prefix = if rng.below(2) == 0 {
                        String::new()
                    } else {
                        rng.key()
                    };
                    let after = (rng.below(2) == 0).then(|| rng.key());
                    let limit = 1 + rng.below(6) as usize;
                    let got = storage
                        .range(&prefix, after.as_deref(), limit, now)
                        .expect("range");
                    let want = model.range(&prefix, after.as_deref(), limit, now);
                    assert_eq!((names(&got), got.more), want, "{ctx}: range");
                    for (name, e) in &got.entries {
                        let (v, exp) = model.get(name, now).expect("live in the model");
                        assert_eq!((&e.value[..], e.expiration), (v.as_bytes(), exp), "{ctx}");
                    }
                }
                7 if rng.below(2) == 0 => {
                    let keys = vec![rng.key(), rng.key(), rng.key()];
                    let got = storage.get_many(&keys, now).expect("get_many");
                    assert_eq!(got.len(), keys.len(), "{ctx}");
                    for (k, e) in keys.iter().zip(got) {
                        let e = e.map(|e| {
                            (String::from_utf8_lossy(&e.value).into_owned(), e.expiration)
                        });
                        assert_eq!(e, model.get(k, now), "{ctx}: get_many {k:?}");
                    }
                }
                _ => {
                    let k = rng.key();
                    let got = storage.get(&k, now).expect("get");
                    let got =
                        got.map(|e| (String::from_utf8_lossy(&e.value).into_owned(), e.expiration));
                    assert_eq!(got, model.get(&k, now), "{ctx}: get {k:?}");
                }
            }
            // Every call sweeps first: what is held is exactly what is live.
            storage.sweep(now).expect("sweep");
            let live: Vec<_> = model.live(now).collect();
            let want = Counts {
                entries: live.len(),
                expiring: live.iter().filter(|(_, (_, exp))| exp.is_some()).count(),
            };
            assert_eq!(storage.counts(), want, "{ctx}: counts");
        }
    }
}

#[test]
fn overwrite_moves_the_expiry() {
    overwrite_moves_the_expiry_on(&MemoryNamespace::default());
}

/// [`overwrite_moves_the_expiry`] on any storage (empty).
pub(in crate::engine) fn overwrite_moves_the_expiry_on(s: &dyn NamespaceStorage) {
    s.put("k", entry("a", Some(100)), 0).expect("put");
    s.put("k", entry("b", Some(200)), 0).expect("put");
    assert_eq!(s.counts().expiring, 1);
    let got = s.get("k", 150).expect("get").map(|e| e.value.clone());
    assert_eq!(got, Some(Bytes::from("b")));
    s.put("k", entry("c", None), 150).expect("put");
    assert_eq!(
        s.counts(),
        Counts {
            entries: 1,
            expiring: 0
        }
    );
    assert!(s.get("k", u64::MAX).expect("get").is_some());
}

#[test]
fn same_expiry_overwrite_keeps_the_index() {
    same_expiry_overwrite_keeps_the_index_on(&MemoryNamespace::default());
}

/// [`same_expiry_overwrite_keeps_the_index`] on any storage (empty).
pub(in crate::engine) fn same_expiry_overwrite_keeps_the_index_on(s: &dyn NamespaceStorage) {
    s.put("k", entry("a", Some(100)), 0).expect("put");
    s.put("k", entry("b", Some(100)), 0).expect("put");
    assert_eq!(s.counts().expiring, 1);
    s.sweep(100).expect("sweep");
    assert_eq!(s.counts(), Counts::default());
}

#[test]
fn range_with_prefix_and_after() {
    range_with_prefix_and_after_on(&MemoryNamespace::default());
}

/// [`range_with_prefix_and_after`] on any storage (empty).
pub(in crate::engine) fn range_with_prefix_and_after_on(s: &dyn NamespaceStorage) {
    for k in ["a", "b/1", "b/2", "b/3", "c"] {
        s.put(k, entry("v", None), 0).expect("put");
    }
    let r = s.range("b/", None, 2, 0).expect("range");
    assert_eq!(names(&r), ["b/1", "b/2"]);
    assert!(r.more);
    let r = s.range("b/", Some("b/2"), 2, 0).expect("range");
    assert_eq!(names(&r), ["b/3"]);
    assert!(!r.more);
    // A cursor before the prefix starts at the prefix.
    let r = s.range("b/", Some("a"), 10, 0).expect("range");
    assert_eq!(names(&r), ["b/1", "b/2", "b/3"]);
    let r = s.range("", Some("b/3"), 10, 0).expect("range");
    assert_eq!(names(&r), ["c"]);
}

#[test]
fn a_dropped_namespace_refuses_everything() {
    a_dropped_namespace_refuses_everything_on(&MemoryNamespace::default());
}

/// [`a_dropped_namespace_refuses_everything`] on any storage (empty).
pub(in crate::engine) fn a_dropped_namespace_refuses_everything_on(s: &dyn NamespaceStorage) {
    s.put("k", entry("v", Some(10)), 0).expect("put");
    s.clear().expect("clear");
    assert_eq!(s.counts(), Counts::default());
    s.put("k", entry("v", None), 0).expect("put after clear");
    s.drop_namespace();
    assert_eq!(s.counts(), Counts::default());
    assert_eq!(s.get("k", 0), Err(StorageError::Gone));
    assert_eq!(s.put("k", entry("v", None), 0), Err(StorageError::Gone));
    assert_eq!(s.delete("k", 0), Err(StorageError::Gone));
    assert_eq!(s.write(Vec::new(), 0), Err(StorageError::Gone));
    assert_eq!(s.get_many(&["k".into()], 0), Err(StorageError::Gone));
    assert!(s.range("", None, 1, 0).is_err());
    assert_eq!(s.sweep(0), Err(StorageError::Gone));
    assert_eq!(s.rename("t"), Err(StorageError::Gone));
    assert_eq!(s.clear(), Err(StorageError::Gone));
}
