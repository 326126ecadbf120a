//! A small bounded least-recently-used set: the peer's known inventory (btcd's
//! `knownInventory`, 1,000 entries) and the nonces of recently sent `version` messages
//! (btcd's `sentNonces`, 50 entries). btcd counterpart: `github.com/decred/dcrd/lru.Cache`.
//!
//! Keys are stored by value, so two equal inventory vectors are one entry (btcd keys its
//! cache by pointer, so a re-announced vector was never found). Memory grows with use, not
//! with the limit: an idle peer's set holds nothing.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A set that keeps at most `limit` keys, evicting the least recently added or touched one.
#[derive(Debug, Clone)]
pub struct LruSet<K> {
    limit: usize,
    /// Key -> the stamp of its newest entry in `order`.
    stamps: HashMap<K, u64>,
    /// Keys in the order they were last added; entries whose stamp is no longer the key's
    /// current stamp are stale and skipped.
    order: VecDeque<(u64, K)>,
    next_stamp: u64,
}

impl<K: Hash + Eq + Clone> LruSet<K> {
    /// An empty set holding at most `limit` keys (a zero limit holds nothing).
    pub fn new(limit: usize) -> LruSet<K> {
        LruSet {
            limit,
            stamps: HashMap::new(),
            order: VecDeque::new(),
            next_stamp: 0,
        }
    }

    /// The number of keys held.
    pub fn len(&self) -> usize {
        self.stamps.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.stamps.is_empty()
    }

    /// Whether `key` is held (does not refresh it, as btcd's `Contains`).
    pub fn contains(&self, key: &K) -> bool {
        self.stamps.contains_key(key)
    }

    /// Adds `key`, or marks it most recently used if held; evicts the least recently used
    /// key when the set is over its limit.
    pub fn insert(&mut self, key: K) {
        if self.limit == 0 {
            return;
        }
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        self.stamps.insert(key.clone(), stamp);
        self.order.push_back((stamp, key));
        while self.stamps.len() > self.limit {
            let Some((s, k)) = self.order.pop_front() else {
                break;
            };
            if self.stamps.get(&k) == Some(&s) {
                self.stamps.remove(&k);
            }
        }
        // Re-touching keys leaves stale entries behind; compact so `order` stays within
        // twice the live size.
        if self.order.len() > 2 * self.limit.max(8) {
            let stamps = &self.stamps;
            self.order.retain(|(s, k)| stamps.get(k) == Some(s));
        }
    }

    /// Removes `key` if held.
    pub fn remove(&mut self, key: &K) {
        self.stamps.remove(key);
        if self.stamps.is_empty() {
            self.order.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used() {
        let mut s = LruSet::new(3);
        for k in [1, 2, 3] {
            s.insert(k);
        }
        s.insert(1); // 1 is now the newest
        s.insert(4); // evicts 2
        assert!(s.contains(&1) && !s.contains(&2) && s.contains(&3) && s.contains(&4));
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn retouching_keeps_order_bounded() {
        let mut s = LruSet::new(2);
        for _ in 0..10_000 {
            s.insert(7);
        }
        assert_eq!(s.len(), 1);
        assert!(s.order.len() <= 16);
        s.insert(8);
        s.insert(9);
        assert!(!s.contains(&7));
    }

    #[test]
    fn zero_limit_holds_nothing() {
        let mut s = LruSet::new(0);
        s.insert(1);
        assert!(s.is_empty());
    }

    #[test]
    fn remove_forgets() {
        let mut s = LruSet::new(2);
        s.insert(1);
        s.remove(&1);
        assert!(!s.contains(&1));
        s.insert(2);
        s.insert(3);
        assert_eq!(s.len(), 2);
    }
}
