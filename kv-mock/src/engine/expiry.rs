//! [`ExpiryIndex`]: the keys that expire, ordered by when, so expired entries are found and
//! freed without scanning the namespace. A persistent set (`imbl`): a clone costs nothing and
//! shares every node until one of the two is changed, so a snapshot of a namespace is O(1).

use std::sync::Arc;

use imbl::OrdSet;

/// Keys with an expiration, ordered by (expiration, key). Sweeping pops from the front every key
/// whose time has come; the cost is proportional to the keys that expired, never to the size of
/// the namespace.
#[derive(Debug, Default, Clone)]
pub(crate) struct ExpiryIndex {
    by_time: OrdSet<(u64, Arc<str>)>,
}

impl ExpiryIndex {
    /// Records that `key` expires at `at`.
    pub(crate) fn insert(&mut self, at: u64, key: Arc<str>) {
        self.by_time.insert((at, key));
    }

    /// Forgets that `key` expires at `at` (after an overwrite or a delete).
    pub(crate) fn remove(&mut self, at: u64, key: &Arc<str>) {
        self.by_time.remove(&(at, Arc::clone(key)));
    }

    /// Removes and returns the earliest key whose expiration is `<= now`, if any.
    pub(crate) fn pop_expired(&mut self, now: u64) -> Option<(u64, Arc<str>)> {
        match self.by_time.get_min() {
            Some((at, _)) if *at <= now => self.by_time.remove_min(),
            _ => None,
        }
    }

    /// Keys tracked.
    pub(crate) fn len(&self) -> usize {
        self.by_time.len()
    }

    /// Forgets everything.
    pub(crate) fn clear(&mut self) {
        self.by_time.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_only_what_expired_in_order() {
        let mut idx = ExpiryIndex::default();
        idx.insert(30, Arc::from("c"));
        idx.insert(10, Arc::from("a"));
        idx.insert(20, Arc::from("b"));
        idx.remove(20, &Arc::from("b"));
        assert!(idx.pop_expired(9).is_none());
        let mut taken = Vec::new();
        while let Some((t, k)) = idx.pop_expired(30) {
            taken.push((t, k.to_string()));
        }
        assert_eq!(taken, vec![(10, "a".to_owned()), (30, "c".to_owned())]);
        assert_eq!(idx.len(), 0);
        assert!(idx.pop_expired(u64::MAX).is_none());
    }
}
