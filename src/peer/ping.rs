//! Ping state: when the next ping is due, the nonce of the ping in flight (BIP31) and the
//! latency measured from the matching pong. A plain struct driven with `now: Instant`; the
//! `pN-ping` thread queues the pings, `pN-out` records when one is written and `pN-in` feeds
//! the pongs. btcd counterpart: `peer.pingHandler`, `handlePongMsg` and the ping bookkeeping
//! in `outHandler`.

use std::time::{Duration, Instant};

/// The interval between pings (btcd's `pingInterval`): often enough to keep NATs and the
/// remote's idle timer happy, rarely enough to cost nothing.
pub const PING_INTERVAL: Duration = Duration::from_secs(2 * 60);

/// The protocol version after which pings carry a nonce and are answered with a pong
/// (btcd's `BIP0031Version`; "after" is strict, as in btcd).
pub const BIP0031_VERSION: u32 = crate::wire::protocol::BIP0031_VERSION;

/// Ping bookkeeping for one peer.
#[derive(Debug, Clone)]
pub struct PingState {
    interval: Duration,
    next_ping_at: Instant,
    /// Nonce of the ping in flight; zero when none is (btcd's `lastPingNonce`).
    last_nonce: u64,
    last_ping_at: Option<Instant>,
    last_latency: Option<Duration>,
    min_latency: Option<Duration>,
}

impl PingState {
    /// A ping state whose first ping is due one `interval` after `now`.
    pub fn new(interval: Duration, now: Instant) -> PingState {
        PingState {
            interval,
            next_ping_at: now + interval,
            last_nonce: 0,
            last_ping_at: None,
            last_latency: None,
            min_latency: None,
        }
    }

    /// When the next ping is due.
    pub fn next_ping_at(&self) -> Instant {
        self.next_ping_at
    }

    /// Whether a ping is due at `now`; if so the next one is scheduled one interval later
    /// and the caller sends a ping with a fresh random nonce (never zero, see
    /// [`random_nonce`]).
    pub fn poll(&mut self, now: Instant) -> bool {
        if now < self.next_ping_at {
            return false;
        }
        self.next_ping_at = now + self.interval;
        true
    }

    /// A ping with `nonce` was written at `now` to a peer speaking `pver`. Only pings to
    /// BIP31 peers expect a pong, so only they are recorded.
    pub fn on_ping_sent(&mut self, nonce: u64, pver: u32, now: Instant) {
        if pver > BIP0031_VERSION {
            self.last_nonce = nonce;
            self.last_ping_at = Some(now);
        }
    }

    /// A pong with `nonce` arrived at `now`. If it matches the ping in flight the latency is
    /// recorded and returned; other pongs (late, overlapping, made up) are ignored, as btcd
    /// records stats on a best-effort basis, "only ... if it was for the last ping sent".
    pub fn on_pong(&mut self, nonce: u64, pver: u32, now: Instant) -> Option<Duration> {
        if pver <= BIP0031_VERSION || self.last_nonce == 0 || nonce != self.last_nonce {
            return None;
        }
        let sent = self.last_ping_at?;
        let latency = now.saturating_duration_since(sent);
        self.last_latency = Some(latency);
        self.min_latency = Some(self.min_latency.map_or(latency, |m| m.min(latency)));
        self.last_nonce = 0;
        Some(latency)
    }

    /// Nonce of the ping in flight, zero when none.
    pub fn last_nonce(&self) -> u64 {
        self.last_nonce
    }

    /// When the last recorded ping was written.
    pub fn last_ping_at(&self) -> Option<Instant> {
        self.last_ping_at
    }

    /// Latency measured from the last matching pong.
    pub fn last_latency(&self) -> Option<Duration> {
        self.last_latency
    }

    /// The lowest latency measured (Core's `m_min_ping_time`, which inbound eviction
    /// protects: a low round trip is hard to fake from far away).
    pub fn min_latency(&self) -> Option<Duration> {
        self.min_latency
    }
}

/// A random non-zero ping nonce: zero means "no ping in flight" in the bookkeeping.
pub fn random_nonce() -> u64 {
    loop {
        let n: u64 = rand::random();
        if n != 0 {
            return n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_due_every_interval() {
        let t0 = Instant::now();
        let mut p = PingState::new(PING_INTERVAL, t0);
        assert!(!p.poll(t0 + Duration::from_secs(119)));
        assert!(p.poll(t0 + PING_INTERVAL));
        assert!(!p.poll(t0 + PING_INTERVAL + Duration::from_secs(1)));
        assert!(p.poll(t0 + 2 * PING_INTERVAL));
    }

    #[test]
    fn matching_pong_gives_latency_once() {
        let t0 = Instant::now();
        let mut p = PingState::new(PING_INTERVAL, t0);
        p.on_ping_sent(42, 70016, t0);
        assert_eq!(p.last_nonce(), 42);
        assert_eq!(p.on_pong(41, 70016, t0 + Duration::from_millis(5)), None);
        assert_eq!(
            p.on_pong(42, 70016, t0 + Duration::from_millis(7)),
            Some(Duration::from_millis(7))
        );
        assert_eq!(p.last_nonce(), 0);
        assert_eq!(p.last_latency(), Some(Duration::from_millis(7)));
        assert_eq!(p.min_latency(), Some(Duration::from_millis(7)));
        // A repeated pong no longer matches.
        assert_eq!(p.on_pong(42, 70016, t0 + Duration::from_millis(9)), None);
    }

    #[test]
    fn newer_ping_replaces_older() {
        let t0 = Instant::now();
        let mut p = PingState::new(PING_INTERVAL, t0);
        p.on_ping_sent(1, 70016, t0);
        p.on_ping_sent(2, 70016, t0 + Duration::from_secs(1));
        assert_eq!(p.on_pong(1, 70016, t0 + Duration::from_secs(2)), None);
        assert_eq!(
            p.on_pong(2, 70016, t0 + Duration::from_secs(2)),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn pre_bip31_peer_is_not_tracked() {
        let t0 = Instant::now();
        let mut p = PingState::new(PING_INTERVAL, t0);
        p.on_ping_sent(5, BIP0031_VERSION, t0);
        assert_eq!(p.last_nonce(), 0);
        assert_eq!(p.on_pong(5, BIP0031_VERSION, t0), None);
    }

    #[test]
    fn nonce_is_never_zero() {
        for _ in 0..1000 {
            assert_ne!(random_nonce(), 0);
        }
    }
}
