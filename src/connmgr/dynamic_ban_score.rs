//! btcd's `DynamicBanScore`: a persistent score plus a transient one that decays
//! exponentially (half-life one minute) and is forgotten after half an hour. Misbehaviour
//! that is bad in any amount raises the persistent part; floods raise the transient part, so
//! a burst bans a peer while the same messages spread over time do not. Plain struct, no
//! locking: the owner (the server's per-peer state) wraps it as it needs, and every method
//! takes `now`.

use std::fmt;
use std::sync::LazyLock;
use std::time::Instant;

/// Time, in seconds, for the transient score to decay to half (btcd's `Halflife`).
pub const HALFLIFE: u64 = 60;

/// Age, in seconds, after which the transient score counts as zero (btcd's `Lifetime`).
pub const LIFETIME: u64 = 1800;

/// The decay constant, ln 2 / half-life (btcd's `lambda`).
const LAMBDA: f64 = std::f64::consts::LN_2 / HALFLIFE as f64;

/// Decay factors precomputed for the first this-many seconds (btcd's `precomputedLen`):
/// the common case of scores raised in quick succession needs no `exp`.
pub const PRECOMPUTED_LEN: usize = 64;

/// `exp(-λ t)` for t = 0..PRECOMPUTED_LEN seconds (btcd's `precomputedFactor`).
static PRECOMPUTED_FACTOR: LazyLock<[f64; PRECOMPUTED_LEN]> = LazyLock::new(|| {
    let mut f = [0.0; PRECOMPUTED_LEN];
    for (i, v) in f.iter_mut().enumerate() {
        *v = (-(i as f64) * LAMBDA).exp();
    }
    f
});

/// The decay factor after `t` whole seconds.
pub fn decay_factor(t: u64) -> f64 {
    match usize::try_from(t) {
        Ok(i) if i < PRECOMPUTED_LEN => PRECOMPUTED_FACTOR[i],
        _ => (-(t as f64) * LAMBDA).exp(),
    }
}

/// A ban score: persistent plus decaying transient part (btcd's `DynamicBanScore`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DynamicBanScore {
    /// When the transient part was last raised; `None` before the first time.
    last: Option<Instant>,
    transient: f64,
    persistent: u32,
}

/// Whole seconds from `last` to `now`, or `None` if `now` is earlier.
fn whole_secs(last: Instant, now: Instant) -> Option<u64> {
    now.checked_duration_since(last).map(|d| d.as_secs())
}

impl DynamicBanScore {
    /// A zero score.
    pub fn new() -> DynamicBanScore {
        DynamicBanScore::default()
    }

    /// The score at `now`: persistent plus the transient part decayed to `now` (btcd's
    /// `int`). A transient part older than [`LIFETIME`] counts as zero.
    pub fn int(&self, now: Instant) -> u32 {
        let Some(last) = self.last else {
            return self.persistent;
        };
        match whole_secs(last, now) {
            Some(dt) if self.transient >= 1.0 && dt <= LIFETIME => {
                // `as` saturates: a huge transient score cannot wrap.
                let t = (self.transient * decay_factor(dt)) as u32;
                self.persistent.saturating_add(t)
            }
            _ => self.persistent,
        }
    }

    /// Raises the persistent and transient parts as of `now` and returns the score at `now`.
    ///
    /// Unlike btcd, `increase(0, 0, now)` returns the decayed score: btcd returns the
    /// transient part as it was when last raised, which can be far above the real score.
    pub fn increase(&mut self, persistent: u32, transient: u32, now: Instant) -> u32 {
        self.persistent = self.persistent.saturating_add(persistent);
        if transient > 0 {
            match self.last.map(|last| whole_secs(last, now)) {
                // Never raised, or older than its lifetime: start over.
                None => self.transient = 0.0,
                Some(Some(dt)) if dt > LIFETIME => self.transient = 0.0,
                Some(Some(dt)) if self.transient > 1.0 && dt > 0 => {
                    self.transient *= decay_factor(dt);
                }
                // `now` before the last raise (or no time passed): no decay.
                Some(_) => {}
            }
            self.transient += f64::from(transient);
            self.last = Some(now);
        }
        self.int(now)
    }

    /// Sets both parts to zero.
    pub fn reset(&mut self) {
        *self = DynamicBanScore::default();
    }
}

impl fmt::Display for DynamicBanScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "persistent {} + transient {:.3}",
            self.persistent, self.transient
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// btcd's TestDynamicBanScoreDecay.
    #[test]
    fn decays_like_btcd() {
        let mut bs = DynamicBanScore::new();
        let base = Instant::now();
        assert_eq!(bs.increase(100, 50, base), 150);
        assert_eq!(bs.int(base + secs(60)), 125, "half-life");
        assert_eq!(bs.int(base + secs(7 * 60)), 100, "decay after 7m");
    }

    /// btcd's TestDynamicBanScoreLifetime.
    #[test]
    fn lifetime_like_btcd() {
        let mut bs = DynamicBanScore::new();
        let base = Instant::now();
        bs.increase(0, u32::MAX, base);
        // 3, not 4: precision loss, 3.999... truncated.
        assert_eq!(bs.int(base + secs(LIFETIME)), 3);
        assert_eq!(bs.int(base + secs(LIFETIME + 1)), 0);
    }

    /// btcd's TestDynamicBanScoreReset.
    #[test]
    fn reset_like_btcd() {
        let now = Instant::now();
        let mut bs = DynamicBanScore::new();
        assert_eq!(bs.int(now), 0);
        bs.increase(100, 0, now);
        assert_eq!(bs.int(now), 100);
        bs.reset();
        assert_eq!(bs.int(now), 0);
    }

    #[test]
    fn increase_by_zero_returns_the_decayed_score() {
        let mut bs = DynamicBanScore::new();
        let base = Instant::now();
        bs.increase(0, 50, base);
        // btcd returns 50 here.
        assert_eq!(bs.increase(0, 0, base + secs(60)), 25);
    }

    #[test]
    fn repeated_increases_decay_in_between() {
        let mut bs = DynamicBanScore::new();
        let base = Instant::now();
        bs.increase(0, 100, base);
        // 100 halves to 50 over a minute, then +100.
        assert_eq!(bs.increase(0, 100, base + secs(60)), 150);
        // Past the lifetime the old part is dropped before adding.
        assert_eq!(bs.increase(0, 10, base + secs(60 + LIFETIME + 1)), 10);
        // An earlier instant does not decay or panic.
        assert_eq!(bs.int(base), 0);
        assert!((decay_factor(63) - (-63.0 * LAMBDA).exp()).abs() < 1e-15);
        assert_eq!(decay_factor(0), 1.0);
    }
}
