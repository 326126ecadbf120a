//! The per-peer ingress limit (beyond Bitcoin Core and btcd, which have none): two token
//! buckets, messages per second and bytes per second, that `pN-in` draws from. When either
//! is dry the reader stops reading for as long as the refill takes; TCP then pushes back on
//! the sender. Nobody is disconnected for it. A flooding peer thus gets at most its rate of
//! the `server` and `sync` threads' time, however fast it can write.
//!
//! A plain struct over explicit instants, so tests advance time instead of sleeping.

use std::time::{Duration, Instant};

/// One token bucket: `rate` tokens a second, holding at most `burst`.
#[derive(Debug, Clone)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
}

impl Bucket {
    fn new(rate: f64, burst: f64) -> Bucket {
        Bucket {
            rate,
            burst: burst.max(1.0),
            tokens: burst.max(1.0),
        }
    }

    fn refill(&mut self, secs: f64) {
        self.tokens = (self.tokens + secs * self.rate).min(self.burst);
    }

    /// How long until the bucket is no longer in debt (zero when it holds tokens).
    fn wait(&self) -> Duration {
        if self.tokens >= 0.0 || self.rate <= 0.0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(-self.tokens / self.rate)
    }
}

/// What a peer's ingress limit has done, for the state dump.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct IngressSnap {
    /// Message tokens left (negative: in debt).
    pub msg_tokens: f64,
    /// Byte tokens left (negative: in debt).
    pub byte_tokens: f64,
    /// Times the reader stopped because a bucket was dry.
    pub throttled: u64,
    /// Total time spent stopped.
    pub throttled_for: Duration,
}

/// A peer's two ingress buckets. Bytes are charged as they are read, messages once framed;
/// either may go into debt by one read or one message, which the next [`IngressLimit::wait`]
/// pays back.
#[derive(Debug, Clone)]
pub struct IngressLimit {
    msgs: Option<Bucket>,
    bytes: Option<Bucket>,
    last: Instant,
    throttled: u64,
    throttled_for: Duration,
}

impl IngressLimit {
    /// Buckets of `msgs_per_sec` (burst `msg_burst`) and `bytes_per_sec` (burst
    /// `byte_burst`), full at `now`. A rate of 0 turns its bucket off.
    pub fn new(
        msgs_per_sec: u32,
        msg_burst: u32,
        bytes_per_sec: u64,
        byte_burst: u64,
        now: Instant,
    ) -> IngressLimit {
        IngressLimit {
            msgs: (msgs_per_sec > 0)
                .then(|| Bucket::new(f64::from(msgs_per_sec), f64::from(msg_burst))),
            bytes: (bytes_per_sec > 0)
                .then(|| Bucket::new(bytes_per_sec as f64, byte_burst as f64)),
            last: now,
            throttled: 0,
            throttled_for: Duration::ZERO,
        }
    }

    fn refill(&mut self, now: Instant) {
        let secs = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now.max(self.last);
        for b in [&mut self.msgs, &mut self.bytes].into_iter().flatten() {
            b.refill(secs);
        }
    }

    /// Charges `n` bytes read at `now`.
    pub fn on_bytes(&mut self, n: usize, now: Instant) {
        self.refill(now);
        if let Some(b) = &mut self.bytes {
            b.tokens -= n as f64;
        }
    }

    /// Charges one message framed at `now`.
    pub fn on_message(&mut self, now: Instant) {
        self.refill(now);
        if let Some(b) = &mut self.msgs {
            b.tokens -= 1.0;
        }
    }

    /// How long the reader must stop before reading again (zero: go on). A non-zero answer
    /// is counted as one throttling of that length.
    pub fn wait(&mut self, now: Instant) -> Duration {
        self.refill(now);
        let w = [&self.msgs, &self.bytes]
            .into_iter()
            .flatten()
            .map(Bucket::wait)
            .max()
            .unwrap_or(Duration::ZERO);
        if !w.is_zero() {
            self.throttled += 1;
            self.throttled_for += w;
        }
        w
    }

    /// The buckets' state for the dump.
    pub fn snap(&self) -> IngressSnap {
        IngressSnap {
            msg_tokens: self.msgs.as_ref().map_or(f64::INFINITY, |b| b.tokens),
            byte_tokens: self.bytes.as_ref().map_or(f64::INFINITY, |b| b.tokens),
            throttled: self.throttled,
            throttled_for: self.throttled_for,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_applies() {
        let t0 = Instant::now();
        let mut l = IngressLimit::new(10, 20, 0, 0, t0);
        for _ in 0..20 {
            l.on_message(t0);
        }
        assert_eq!(l.wait(t0), Duration::ZERO);
        l.on_message(t0); // one into debt
        assert_eq!(l.wait(t0), Duration::from_millis(100));
        // After the wait the debt is paid: reading goes on.
        assert_eq!(l.wait(t0 + Duration::from_millis(100)), Duration::ZERO);
        assert_eq!(l.snap().throttled, 1);
    }

    #[test]
    fn bytes_in_debt_stop_the_reader_for_the_refill_time() {
        let t0 = Instant::now();
        let mut l = IngressLimit::new(0, 0, 1000, 1000, t0);
        l.on_bytes(3000, t0);
        assert_eq!(l.wait(t0), Duration::from_secs(2));
        assert_eq!(l.wait(t0 + Duration::from_secs(2)), Duration::ZERO);
    }

    #[test]
    fn defaults_never_stop_an_honest_headers_sync() {
        use crate::peer::config::*;
        // Full-speed headers sync: a 162 KB headers message every millisecond for a minute
        // is more than any honest peer sends.
        let t0 = Instant::now();
        let mut l = IngressLimit::new(
            DEFAULT_INGRESS_MSGS_PER_SEC,
            DEFAULT_INGRESS_MSG_BURST,
            DEFAULT_INGRESS_BYTES_PER_SEC,
            DEFAULT_INGRESS_BYTE_BURST,
            t0,
        );
        for ms in 0..60_000u64 {
            let now = t0 + Duration::from_millis(ms * 3);
            l.on_bytes(2000 * 81 + 24, now);
            l.on_message(now);
            assert_eq!(l.wait(now), Duration::ZERO, "at {ms}");
        }
    }
}
