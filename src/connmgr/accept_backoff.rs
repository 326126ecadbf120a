//! What a listener does when `accept()` fails (out of descriptors, EMFILE, most often): a
//! plain rule, [`AcceptBackoff`], given the time of each failure and success, so it is
//! tested without sockets. Used by `listen-N` threads (and the RPC's accept thread).
//!
//! btcd logs every failed accept and tries again at once; under EMFILE that was about 20
//! warnings a second (issue 12). Here the listener waits longer after each consecutive
//! failure and warns at most once per [`ACCEPT_WARN_INTERVAL`], saying how many it held back.

use std::time::{Duration, Instant};

/// The first wait after a failed `accept()`.
pub const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(100);

/// The longest wait between attempts: descriptors freed by departing peers are used within
/// a second.
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// At most one warning per this interval (a persistent EMFILE must not flood the log).
pub const ACCEPT_WARN_INTERVAL: Duration = Duration::from_secs(60);

/// What to do after one failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptFailure {
    /// How long to wait before the next `accept()`.
    pub wait: Duration,
    /// Warn now, with the number of failures not warned about since the last warning.
    pub warn: Option<u64>,
}

/// The backoff and warning rule for one listener.
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    consecutive: u32,
    last_warn_at: Option<Instant>,
    unwarned: u64,
}

impl AcceptBackoff {
    /// A rule with no failures yet.
    pub fn new() -> AcceptBackoff {
        AcceptBackoff::default()
    }

    /// `accept()` failed at `now`.
    pub fn on_failure(&mut self, now: Instant) -> AcceptFailure {
        let wait = ACCEPT_BACKOFF_MIN
            .saturating_mul(1u32 << self.consecutive.min(4))
            .min(ACCEPT_BACKOFF_MAX);
        self.consecutive = self.consecutive.saturating_add(1);
        let due = self
            .last_warn_at
            .is_none_or(|t| now.saturating_duration_since(t) >= ACCEPT_WARN_INTERVAL);
        let warn = if due {
            self.last_warn_at = Some(now);
            Some(std::mem::take(&mut self.unwarned))
        } else {
            self.unwarned += 1;
            None
        };
        AcceptFailure { wait, warn }
    }

    /// `accept()` succeeded: the next failure waits the shortest time again.
    pub fn on_success(&mut self) {
        self.consecutive = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_per_minute_with_the_count_held_back() {
        let t0 = Instant::now();
        let mut b = AcceptBackoff::new();
        assert_eq!(b.on_failure(t0).warn, Some(0));
        // 20 a second for a minute: no more warnings.
        let mut warned = 0;
        for i in 1..1200u64 {
            if b.on_failure(t0 + Duration::from_millis(50 * i))
                .warn
                .is_some()
            {
                warned += 1;
            }
        }
        assert_eq!(warned, 0);
        assert_eq!(
            b.on_failure(t0 + ACCEPT_WARN_INTERVAL).warn,
            Some(1199),
            "the next warning says how many were held back"
        );
    }

    #[test]
    fn waits_grow_to_the_cap_and_reset_on_success() {
        let t0 = Instant::now();
        let mut b = AcceptBackoff::new();
        let waits: Vec<Duration> = (0..7).map(|_| b.on_failure(t0).wait).collect();
        assert_eq!(waits[0], ACCEPT_BACKOFF_MIN);
        assert_eq!(waits[1], ACCEPT_BACKOFF_MIN * 2);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*waits.last().expect("seven"), ACCEPT_BACKOFF_MAX);
        b.on_success();
        assert_eq!(b.on_failure(t0).wait, ACCEPT_BACKOFF_MIN);
    }
}
