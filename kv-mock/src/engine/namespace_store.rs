//! [`NamespaceStore`]: the entries of one namespace, ordered by name, with their expiry index and
//! per-key write limit.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Instant;

use super::entry::Entry;
use super::expiry::ExpiryIndex;
use super::rate_limit::RateLimiter;

/// The state of one namespace. Always used under its namespace's lock, never across an await.
///
/// Expired entries are removed (memory freed, not only hidden) by [`sweep`](Self::sweep), which
/// every operation calls first; its cost is proportional to the keys that expired since the last
/// call.
#[derive(Debug, Default)]
pub(crate) struct NamespaceStore {
    entries: BTreeMap<Arc<str>, Arc<Entry>>,
    expiry: ExpiryIndex,
    rate: RateLimiter,
}

/// A page of entries from [`NamespaceStore::range`].
pub(crate) struct Range {
    /// The entries, in byte order of their names.
    pub(crate) entries: Vec<(Arc<str>, Arc<Entry>)>,
    /// Whether more entries match after the last one.
    pub(crate) more: bool,
}

impl NamespaceStore {
    /// Removes every entry that has expired at `now` (epoch seconds).
    pub(crate) fn sweep(&mut self, now: u64) {
        while let Some((at, key)) = self.expiry.pop_expired(now) {
            // Only remove the entry if it is still the write that expires at `at`.
            if self
                .entries
                .get(&key)
                .is_some_and(|e| e.expiration == Some(at))
            {
                self.entries.remove(&key);
            }
        }
    }

    /// The live entry under `key`. Call [`sweep`](Self::sweep) first.
    pub(crate) fn get(&self, key: &str) -> Option<Arc<Entry>> {
        self.entries.get(key).cloned()
    }

    /// Stores `entry` under `key`, replacing value, metadata and expiration together.
    pub(crate) fn put(&mut self, key: &str, entry: Entry) {
        let key = self.intern(key);
        if let Some(at) = entry.expiration {
            self.expiry.insert(at, Arc::clone(&key));
        }
        if let Some(old) = self.entries.insert(Arc::clone(&key), Arc::new(entry))
            && let Some(old_at) = old.expiration
            && self.entries.get(&key).and_then(|e| e.expiration) != Some(old_at)
        {
            self.expiry.remove(old_at, &key);
        }
    }

    /// Removes `key`; removing a missing key does nothing.
    pub(crate) fn delete(&mut self, key: &str) {
        if let Some((name, old)) = self.entries.remove_entry(key)
            && let Some(at) = old.expiration
        {
            self.expiry.remove(at, &name);
        }
    }

    /// Up to `limit` entries whose names start with `prefix` and sort after `after` (when given),
    /// in byte order. The cost depends on `limit`, not on the size of the namespace.
    pub(crate) fn range(&self, prefix: &str, after: Option<&str>, limit: usize) -> Range {
        let start: Bound<&str> = match after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        let mut iter = self
            .entries
            .range::<str, _>((start, Bound::Unbounded))
            .take_while(|(name, _)| name.starts_with(prefix));
        let entries: Vec<_> = iter
            .by_ref()
            .take(limit)
            .map(|(name, entry)| (Arc::clone(name), Arc::clone(entry)))
            .collect();
        let more = iter.next().is_some();
        Range { entries, more }
    }

    /// Checks the per-key write limit for `key` and records the write when allowed.
    pub(crate) fn admit_write(&mut self, key: &str, clock_ms: u64, real: Instant) -> bool {
        let key = self.intern(key);
        self.rate.admit(&key, clock_ms, real).is_ok()
    }

    /// Forgets every entry and every recorded write.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.expiry.clear();
        self.rate.clear();
    }

    /// Counts of what is held: entries, expiry index, rate-limit table.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        (self.entries.len(), self.expiry.len(), self.rate.len())
    }

    /// The shared name of `key`: the stored one when present, so the map, the expiry index and
    /// the rate-limit table share one allocation.
    fn intern(&self, key: &str) -> Arc<str> {
        match self.entries.get_key_value(key) {
            Some((name, _)) => Arc::clone(name),
            None => Arc::from(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn entry(v: &'static str, exp: Option<u64>) -> Entry {
        Entry {
            value: Bytes::from_static(v.as_bytes()),
            metadata: None,
            expiration: exp,
        }
    }

    fn names(r: &Range) -> Vec<String> {
        r.entries.iter().map(|(n, _)| n.to_string()).collect()
    }

    #[test]
    fn overwrite_moves_the_expiry() {
        let mut s = NamespaceStore::default();
        s.put("k", entry("a", Some(100)));
        s.put("k", entry("b", Some(200)));
        assert_eq!(s.counts().1, 1);
        s.sweep(150);
        assert_eq!(s.get("k").map(|e| e.value.clone()), Some(Bytes::from("b")));
        s.put("k", entry("c", None));
        assert_eq!(s.counts(), (1, 0, 0));
        s.sweep(u64::MAX);
        assert!(s.get("k").is_some());
    }

    #[test]
    fn same_expiry_overwrite_keeps_the_index() {
        let mut s = NamespaceStore::default();
        s.put("k", entry("a", Some(100)));
        s.put("k", entry("b", Some(100)));
        assert_eq!(s.counts().1, 1);
        s.sweep(100);
        assert_eq!(s.counts(), (0, 0, 0));
    }

    #[test]
    fn delete_forgets_the_expiry() {
        let mut s = NamespaceStore::default();
        s.put("k", entry("a", Some(100)));
        s.delete("k");
        s.delete("missing");
        assert_eq!(s.counts(), (0, 0, 0));
    }

    #[test]
    fn range_with_prefix_and_after() {
        let mut s = NamespaceStore::default();
        for k in ["a", "b/1", "b/2", "b/3", "c"] {
            s.put(k, entry("v", None));
        }
        let r = s.range("b/", None, 2);
        assert_eq!(names(&r), ["b/1", "b/2"]);
        assert!(r.more);
        let r = s.range("b/", Some("b/2"), 2);
        assert_eq!(names(&r), ["b/3"]);
        assert!(!r.more);
        // A cursor before the prefix starts at the prefix.
        let r = s.range("b/", Some("a"), 10);
        assert_eq!(names(&r), ["b/1", "b/2", "b/3"]);
        let r = s.range("", Some("b/3"), 10);
        assert_eq!(names(&r), ["c"]);
    }
}
