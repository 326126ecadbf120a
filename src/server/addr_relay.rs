//! Address relay rules beyond btcd, as Bitcoin Core does them: a per-peer token bucket that
//! limits how many addresses a peer may make us process (0.1 address/s, burst 1,000; Core's
//! `MAX_ADDR_RATE_PER_SECOND` and `MAX_ADDR_PROCESSING_TOKEN_BUCKET`), the choice of the two
//! peers a fresh address is forwarded to, and the group key that allows one automatic
//! outbound peer per /16. Plain structs driven with `now`; the `server` thread and the peers'
//! `pN-in` threads use them.

use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

/// Core's `MAX_ADDR_RATE_PER_SECOND`: addresses per second a peer may send us on average.
pub const MAX_ADDR_RATE_PER_SECOND: f64 = 0.1;

/// Core's `MAX_ADDR_PROCESSING_TOKEN_BUCKET`: the burst; also what a `getaddr` we sent adds,
/// since the answer (up to 1,000 addresses) was asked for.
pub const MAX_ADDR_PROCESSING_TOKEN_BUCKET: f64 = 1000.0;

/// Only `addr` messages this small are relayed (Core: a large one is a `getaddr` answer, not
/// a fresh announcement).
pub const ADDR_RELAY_MAX_COUNT: usize = 10;

/// Only addresses seen this recently are relayed (Core: 10 minutes).
pub const ADDR_RELAY_MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// Peers each relayed address goes to (Core: 2 for reachable networks).
pub const ADDR_RELAY_FANOUT: usize = 2;

/// How often we advertise our own listen address to each peer (Core:
/// `AVG_LOCAL_ADDRESS_BROADCAST_INTERVAL`, 24 h).
pub const LOCAL_ADDRESS_BROADCAST_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// A peer's allowance of addresses to process (Core's `m_addr_token_bucket`).
#[derive(Debug, Clone)]
pub struct AddrTokenBucket {
    tokens: f64,
    updated_at: Instant,
}

impl AddrTokenBucket {
    /// A new bucket holding one token, as Core (a new peer may announce itself).
    pub fn new(now: Instant) -> AddrTokenBucket {
        AddrTokenBucket {
            tokens: 1.0,
            updated_at: now,
        }
    }

    /// We sent `getaddr`: allow the answer through.
    pub fn on_getaddr_sent(&mut self) {
        self.tokens += MAX_ADDR_PROCESSING_TOKEN_BUCKET;
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated_at).as_secs_f64();
        self.updated_at = self.updated_at.max(now);
        if self.tokens < MAX_ADDR_PROCESSING_TOKEN_BUCKET {
            self.tokens = (self.tokens + elapsed * MAX_ADDR_RATE_PER_SECOND)
                .min(MAX_ADDR_PROCESSING_TOKEN_BUCKET);
        }
    }

    /// Takes a token for one address; false if the peer is over its rate (the address is
    /// then dropped unprocessed).
    pub fn take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Tokens available at `now` (whole addresses).
    pub fn available(&mut self, now: Instant) -> u64 {
        self.refill(now);
        self.tokens as u64
    }
}

/// Chooses up to [`ADDR_RELAY_FANOUT`] of `candidates` (peer ids) to forward the address
/// `key` to. The choice is keyed by a per-node secret and the current day, so it is stable
/// for a day (a peer repeating an address cannot make it spray) and unpredictable to others.
pub fn relay_targets(key: &str, candidates: &[u64], secret: u64, day: u64) -> Vec<u64> {
    let mut scored: Vec<(u64, u64)> = candidates
        .iter()
        .map(|&id| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (secret, key, day, id).hash(&mut h);
            (h.finish(), id)
        })
        .collect();
    scored.sort_unstable();
    scored
        .into_iter()
        .take(ADDR_RELAY_FANOUT)
        .map(|(_, id)| id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_starts_with_one_token_and_refills_slowly() {
        let t0 = Instant::now();
        let mut b = AddrTokenBucket::new(t0);
        assert!(b.take(t0));
        assert!(!b.take(t0));
        // 0.1/s: one more after 10 s.
        assert!(!b.take(t0 + Duration::from_secs(9)));
        assert!(b.take(t0 + Duration::from_secs(10)));
        // Never more than the burst.
        let later = t0 + Duration::from_secs(1_000_000);
        assert_eq!(b.available(later), 1000);
    }

    #[test]
    fn getaddr_allows_a_full_answer() {
        let t0 = Instant::now();
        let mut b = AddrTokenBucket::new(t0);
        b.on_getaddr_sent();
        let taken = (0..1500).filter(|_| b.take(t0)).count();
        assert_eq!(taken, 1001);
    }

    #[test]
    fn relay_targets_are_stable_per_day() {
        let peers = [1, 2, 3, 4, 5];
        let a = relay_targets("1.2.3.4:8333", &peers, 7, 100);
        assert_eq!(a.len(), 2);
        assert_eq!(a, relay_targets("1.2.3.4:8333", &peers, 7, 100));
        assert_eq!(relay_targets("x", &[9], 7, 100), vec![9]);
        assert!(relay_targets("x", &[], 7, 100).is_empty());
    }
}
