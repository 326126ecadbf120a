//! One address the book knows, with what it takes to judge it: its source, connection
//! attempts and successes, and whether it is in the tried table. Rules take `now` so tests
//! choose the instant. btcd counterpart: `addrmgr/knownaddress.go`.

use crate::wire::NetAddress;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Attempts more recent than this make an address 100 times less likely to be picked
/// (btcd's `chance`: very recent attempts are less likely to be retried).
pub const RECENT_ATTEMPT_WINDOW: Duration = Duration::from_secs(10 * 60);

/// An address attempted within this window is never judged bad (btcd's `isBad`: give a
/// connection in progress time to finish).
pub const BAD_GRACE_WINDOW: Duration = Duration::from_secs(60);

/// A timestamp further than this in the future marks the address bad (btcd's `isBad`: it
/// claims to be from the future).
pub const MAX_FUTURE_DRIFT: Duration = Duration::from_secs(10 * 60);

/// An address not seen for this long is assumed to have vanished (btcd's `numMissingDays`,
/// 30 days).
pub const NUM_MISSING_DAYS: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Failed attempts without a single success before an address is bad (btcd's `numRetries`).
pub const NUM_RETRIES: u32 = 3;

/// Failures accepted without a success within [`MIN_BAD_DAYS`] (btcd's `maxFailures`).
pub const MAX_FAILURES: u32 = 10;

/// With [`MAX_FAILURES`] failures, an address whose last success is older than this is bad
/// (btcd's `minBadDays`, a week).
pub const MIN_BAD_DAYS: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Failed attempts counted by `chance`. btcd divides by 1.5 per attempt without a limit, so a
/// large count underflows the chance to zero and `GetAddress` spins forever; 100 keeps it
/// positive (1.5^-100 is about 2.5e-18) while ranking every realistic count as btcd does.
pub const MAX_CHANCE_ATTEMPTS: u32 = 100;

/// A known address: what the book keeps per address. Returned by value as a snapshot by
/// [`crate::addrmgr::AddrManager::get_address`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownAddress {
    pub(crate) na: NetAddress,
    pub(crate) src_addr: NetAddress,
    pub(crate) attempts: u32,
    pub(crate) last_attempt: Option<SystemTime>,
    pub(crate) last_success: Option<SystemTime>,
    pub(crate) tried: bool,
    pub(crate) refs: u8,
}

/// The address's last-seen time as a `SystemTime`.
pub(crate) fn timestamp_time(na: &NetAddress) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::from(na.timestamp))
}

/// `now` as a wire timestamp: seconds since the Unix epoch, clamped to the u32 the wire
/// carries.
pub(crate) fn wire_timestamp(now: SystemTime) -> u32 {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    u32::try_from(secs).unwrap_or(u32::MAX)
}

impl KnownAddress {
    /// A fresh address learnt from `src_addr`, never attempted, in no bucket yet.
    pub(crate) fn new(na: NetAddress, src_addr: NetAddress) -> KnownAddress {
        KnownAddress {
            na,
            src_addr,
            attempts: 0,
            last_attempt: None,
            last_success: None,
            tried: false,
            refs: 0,
        }
    }

    /// The address, with its services and last-seen time.
    pub fn net_address(&self) -> &NetAddress {
        &self.na
    }

    /// The peer that told us about this address.
    pub fn src_address(&self) -> &NetAddress {
        &self.src_addr
    }

    /// Connection attempts since the last success.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// When a connection was last attempted (`None`: never).
    pub fn last_attempt(&self) -> Option<SystemTime> {
        self.last_attempt
    }

    /// When a connection last succeeded (`None`: never).
    pub fn last_success(&self) -> Option<SystemTime> {
        self.last_success
    }

    /// Whether the address is in the tried table.
    pub fn is_tried(&self) -> bool {
        self.tried
    }

    /// How many new buckets hold the address (0 when tried).
    pub fn refs(&self) -> u8 {
        self.refs
    }

    /// The relative chance of picking this address (btcd's `chance`): 1, times 0.01 if it
    /// was attempted in the last 10 minutes, divided by 1.5 per failed attempt.
    pub fn chance(&self, now: SystemTime) -> f64 {
        let mut c = 1.0;
        if let Some(t) = self.last_attempt {
            // An attempt in the future counts as just now, as in btcd.
            let since = now.duration_since(t).unwrap_or(Duration::ZERO);
            if since < RECENT_ATTEMPT_WINDOW {
                c *= 0.01;
            }
        }
        for _ in 0..self.attempts.min(MAX_CHANCE_ATTEMPTS) {
            c /= 1.5;
        }
        c
    }

    /// Whether the address is worthless (btcd's `isBad`): unless attempted in the last
    /// minute, it claims to be from the future, has not been seen for a month, failed
    /// [`NUM_RETRIES`] times and never succeeded, or failed [`MAX_FAILURES`] times with no
    /// success in the last week.
    pub fn is_bad(&self, now: SystemTime) -> bool {
        if let Some(t) = self.last_attempt
            && now
                .checked_sub(BAD_GRACE_WINDOW)
                .is_none_or(|edge| t > edge)
        {
            return false;
        }
        let seen = timestamp_time(&self.na);
        if now
            .checked_add(MAX_FUTURE_DRIFT)
            .is_some_and(|edge| seen > edge)
        {
            return true;
        }
        if now
            .checked_sub(NUM_MISSING_DAYS)
            .is_some_and(|edge| seen < edge)
        {
            return true;
        }
        if self.last_success.is_none() && self.attempts >= NUM_RETRIES {
            return true;
        }
        let recent_success = match (self.last_success, now.checked_sub(MIN_BAD_DAYS)) {
            (Some(s), Some(edge)) => s > edge,
            (Some(_), None) => true,
            (None, _) => false,
        };
        !recent_success && self.attempts >= MAX_FAILURES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{AddrV2, ServiceFlag};
    use std::net::Ipv4Addr;

    const T0: u64 = 1_700_000_000;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn ka(seen: u64) -> KnownAddress {
        let na = NetAddress {
            timestamp: u32::try_from(seen).expect("u32"),
            services: ServiceFlag::NODE_NETWORK,
            addr: AddrV2::Ipv4(Ipv4Addr::new(12, 1, 2, 3)),
            port: 8333,
        };
        KnownAddress::new(na, na)
    }

    #[test]
    fn chance_weights() {
        let now = at(T0);
        let mut k = ka(T0);
        assert_eq!(k.chance(now), 1.0);
        k.last_attempt = Some(at(T0 - 599));
        assert!((k.chance(now) - 0.01).abs() < 1e-12);
        k.last_attempt = Some(at(T0 - 600));
        assert_eq!(k.chance(now), 1.0);
        k.attempts = 2;
        assert!((k.chance(now) - 1.0 / 2.25).abs() < 1e-12);
        // Attempt in the future counts as recent.
        k.last_attempt = Some(at(T0 + 100));
        assert!((k.chance(now) - 0.01 / 2.25).abs() < 1e-12);
        // A huge count never reaches zero (btcd would spin in GetAddress).
        k.attempts = u32::MAX;
        assert!(k.chance(now) > 0.0);
    }

    #[test]
    fn is_bad_at_chosen_instants() {
        let now = at(T0);
        // Fresh and seen now: fine.
        assert!(!ka(T0).is_bad(now));
        // From the future (more than 10 minutes).
        assert!(!ka(T0 + 600).is_bad(now));
        assert!(ka(T0 + 601).is_bad(now));
        // Not seen for 30 days.
        assert!(!ka(T0 - 30 * 86400).is_bad(now));
        assert!(ka(T0 - 30 * 86400 - 1).is_bad(now));
        // ...unless attempted within the last minute.
        let mut k = ka(T0 - 40 * 86400);
        k.last_attempt = Some(at(T0 - 59));
        assert!(!k.is_bad(now));
        k.last_attempt = Some(at(T0 - 60));
        assert!(k.is_bad(now));
        // Three failures, never a success.
        let mut k = ka(T0);
        k.attempts = 2;
        k.last_attempt = Some(at(T0 - 3600));
        assert!(!k.is_bad(now));
        k.attempts = 3;
        assert!(k.is_bad(now));
        // With a success: bad only at ten failures and no success in a week.
        k.last_success = Some(at(T0 - 86400));
        assert!(!k.is_bad(now));
        k.attempts = 10;
        assert!(!k.is_bad(now));
        k.last_success = Some(at(T0 - 7 * 86400));
        assert!(k.is_bad(now));
        k.attempts = 9;
        assert!(!k.is_bad(now));
    }
}
