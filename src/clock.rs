//! Wall-clock time as Unix seconds, in one place. Rules take `now: Instant` (or a
//! `SystemTime`) as an argument so tests can pass any time; these helpers are for the edges
//! that stamp files, messages and RPC results. A clock set before 1970 reads as 0 rather than
//! failing: nothing a misconfigured machine's clock can do stops the node.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch of `t` (0 before 1970).
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Milliseconds since the Unix epoch of `t` (0 before 1970), as `getnettotals` reports them.
pub fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The current wall-clock time in Unix seconds (0 before 1970).
pub fn unix_now() -> u64 {
    unix_secs(SystemTime::now())
}

/// The time `secs` seconds after the Unix epoch.
pub fn from_unix_secs(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_the_epoch_reads_zero() {
        let before = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(unix_secs(before), 0);
        assert_eq!(unix_millis(before), 0);
        assert_eq!(unix_secs(from_unix_secs(1_700_000_000)), 1_700_000_000);
        assert_eq!(unix_millis(from_unix_secs(2)), 2_000);
    }
}
