//! [`DisconnectLog`]: the last [`DISCONNECT_LOG_LEN`] peers the node lost and why, so an
//! operator can ask (`getdisconnects`, the SIGUSR1 dump) after the log has scrolled away.
//! Owned by the `server` thread. btcnode's own: neither btcd nor Core keeps one.

use std::collections::VecDeque;

use crate::peer::DisconnectReason;

/// How many disconnects are kept: enough to cover every peer of a full node (125) losing its
/// connection almost once, small enough (about 100 × 200 bytes) to keep forever.
pub const DISCONNECT_LOG_LEN: usize = 100;

/// One lost peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisconnectRecord {
    /// The peer id.
    pub id: u64,
    /// Its address (`host:port`).
    pub addr: String,
    /// Whether it connected to us.
    pub inbound: bool,
    /// Why it went.
    pub reason: DisconnectReason,
    /// When the server saw it go (Unix seconds).
    pub time: u64,
}

/// A ring of the most recent disconnects, oldest first.
#[derive(Debug, Default)]
pub struct DisconnectLog {
    ring: VecDeque<DisconnectRecord>,
}

impl DisconnectLog {
    /// An empty log.
    pub fn new() -> DisconnectLog {
        DisconnectLog {
            ring: VecDeque::with_capacity(DISCONNECT_LOG_LEN),
        }
    }

    /// Records `r`, dropping the oldest record when full.
    pub fn push(&mut self, r: DisconnectRecord) {
        if self.ring.len() == DISCONNECT_LOG_LEN {
            self.ring.pop_front();
        }
        self.ring.push_back(r);
    }

    /// The records, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &DisconnectRecord> {
        self.ring.iter()
    }

    /// The newest `n` records, oldest first.
    pub fn last(&self, n: usize) -> impl Iterator<Item = &DisconnectRecord> {
        self.ring.iter().skip(self.ring.len().saturating_sub(n))
    }

    /// How many records are kept.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether no peer was lost yet.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: u64) -> DisconnectRecord {
        DisconnectRecord {
            id,
            addr: format!("127.0.0.1:{id}"),
            inbound: id.is_multiple_of(2),
            reason: DisconnectReason::RemoteClosed,
            time: id,
        }
    }

    #[test]
    fn keeps_the_newest_hundred_oldest_first() {
        let mut log = DisconnectLog::new();
        for id in 0..250 {
            log.push(rec(id));
        }
        assert_eq!(log.len(), DISCONNECT_LOG_LEN);
        let ids: Vec<u64> = log.iter().map(|r| r.id).collect();
        assert_eq!(ids.first(), Some(&150));
        assert_eq!(ids.last(), Some(&249));
        let last: Vec<u64> = log.last(10).map(|r| r.id).collect();
        assert_eq!(last, (240..250).collect::<Vec<_>>());
    }

    #[test]
    fn last_of_a_short_log_is_all_of_it() {
        let mut log = DisconnectLog::new();
        log.push(rec(1));
        assert_eq!(log.last(10).count(), 1);
        assert!(!DisconnectLog::new().last(10).any(|_| true));
    }
}
