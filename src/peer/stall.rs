//! The stall tracker: deadlines for the responses a sent message expects, checked on a
//! ticker, with deadlines pushed back by the time spent in message handlers (a peer's next
//! message is not read while a handler runs, so that time is not the remote's fault).
//! A plain struct driven with `now: Instant`; the `pN-stall` thread is its shell.
//! btcd counterpart: `peer.maybeAddDeadline` and `peer.stallHandler`.

use std::time::{Duration, Instant};

/// The base time a message that expects a response waits for it before the peer is
/// disconnected for stalling. btcd: "The deadlines are adjusted for callback running times
/// and only checked on each stall tick interval."
pub const STALL_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// The interval between checks for stalled peers (btcd's `stallTickInterval`).
pub const STALL_TICK_INTERVAL: Duration = Duration::from_secs(15);

/// A response the remote peer owes us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expected {
    /// `verack`, owed for our `version`.
    VerAck,
    /// `inv`, owed for `getblocks` or `mempool`.
    Inv,
    /// `block`, one of the answers to `getdata`.
    Block,
    /// `merkleblock`, one of the answers to `getdata`.
    MerkleBlock,
    /// `tx`, one of the answers to `getdata`.
    Tx,
    /// `notfound`, one of the answers to `getdata`.
    NotFound,
    /// `headers`. Never owed per peer: a `getheaders` sets no deadline here. Core times only
    /// the chosen headers-sync peer (15 min plus 1 ms per expected header), which the sync
    /// manager does; a per-peer deadline dropped every link of a fresh regtest network, whose
    /// nodes all withheld headers during initial sync (btcd's 3 x 30 s).
    Headers,
}

const ALL_EXPECTED: [Expected; 7] = [
    Expected::VerAck,
    Expected::Inv,
    Expected::Block,
    Expected::MerkleBlock,
    Expected::Tx,
    Expected::NotFound,
    Expected::Headers,
];

/// The `getdata` answers: receiving any of them settles all of them, as in btcd.
const GETDATA_ANSWERS: [Expected; 4] = [
    Expected::Block,
    Expected::MerkleBlock,
    Expected::Tx,
    Expected::NotFound,
];

impl Expected {
    /// The wire command of the expected message.
    pub fn command(self) -> &'static str {
        match self {
            Expected::VerAck => "verack",
            Expected::Inv => "inv",
            Expected::Block => "block",
            Expected::MerkleBlock => "merkleblock",
            Expected::Tx => "tx",
            Expected::NotFound => "notfound",
            Expected::Headers => "headers",
        }
    }

    fn from_command(command: &str) -> Option<Expected> {
        ALL_EXPECTED.into_iter().find(|e| e.command() == command)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Deadlines for expected responses of one peer.
///
/// Feed it every message written ([`StallTracker::on_send`]) and read
/// ([`StallTracker::on_receive`]), bracket each handler with
/// [`StallTracker::on_handler_start`] / [`StallTracker::on_handler_done`], and call
/// [`StallTracker::on_tick`] every [`STALL_TICK_INTERVAL`]; a `Some` from it means the peer
/// stalled. `ping` is deliberately not tracked: btcd notes pongs come late behind a backlog
/// such as initial block download.
#[derive(Debug, Clone)]
pub struct StallTracker {
    response_timeout: Duration,
    /// Deadline per [`Expected`], indexed by its discriminant (no allocation per peer).
    pending: [Option<Instant>; 7],
    handler_started_at: Option<Instant>,
    /// Handler time accumulated since the last tick (btcd's `deadlineOffset`).
    deadline_offset: Duration,
}

impl StallTracker {
    /// A tracker with the given base response timeout ([`STALL_RESPONSE_TIMEOUT`] in btcd).
    pub fn new(response_timeout: Duration) -> StallTracker {
        StallTracker {
            response_timeout,
            pending: [None; 7],
            handler_started_at: None,
            deadline_offset: Duration::ZERO,
        }
    }

    /// The deadline currently set for `e`, if any (without handler offsets).
    pub fn deadline(&self, e: Expected) -> Option<Instant> {
        self.pending[e.index()]
    }

    /// Every response owed, with its deadline (without handler offsets), in a fixed order.
    /// For state dumps: callers copy this out and release the lock before formatting.
    pub fn pending(&self) -> Vec<(Expected, Instant)> {
        ALL_EXPECTED
            .into_iter()
            .filter_map(|e| self.pending[e.index()].map(|d| (e, d)))
            .collect()
    }

    /// Whether no response is owed.
    pub fn is_idle(&self) -> bool {
        self.pending.iter().all(Option::is_none)
    }

    /// A message with `command` was written at `now`: set a deadline for its response if it
    /// expects one (a later send of the same kind moves the deadline, as btcd's map does).
    pub fn on_send(&mut self, command: &str, now: Instant) {
        let deadline = now + self.response_timeout;
        match command {
            "version" => self.set(Expected::VerAck, deadline),
            "mempool" | "getblocks" => self.set(Expected::Inv, deadline),
            "getdata" => {
                for e in GETDATA_ANSWERS {
                    self.set(e, deadline);
                }
            }
            _ => {}
        }
    }

    /// A message with `command` was read: it settles its own expectation, and any `getdata`
    /// answer settles all of them.
    pub fn on_receive(&mut self, command: &str) {
        let Some(e) = Expected::from_command(command) else {
            return;
        };
        if GETDATA_ANSWERS.contains(&e) {
            for a in GETDATA_ANSWERS {
                self.pending[a.index()] = None;
            }
        } else {
            self.pending[e.index()] = None;
        }
    }

    /// A message handler started at `now`. Unbalanced calls are ignored (btcd warns).
    pub fn on_handler_start(&mut self, now: Instant) {
        if self.handler_started_at.is_some() {
            log::warn!(target: "btcnode::peer", "stall tracker: handler start while a handler is active");
            return;
        }
        self.handler_started_at = Some(now);
    }

    /// The running handler finished at `now`: its duration extends the deadlines checked at
    /// the next tick.
    pub fn on_handler_done(&mut self, now: Instant) {
        let Some(start) = self.handler_started_at.take() else {
            log::warn!(target: "btcnode::peer", "stall tracker: handler done with no handler active");
            return;
        };
        self.deadline_offset += now.saturating_duration_since(start);
    }

    /// The periodic check at `now`: returns the first response that is overdue once the
    /// handler time since the last tick (including a handler still running) is added to its
    /// deadline. The accumulated handler time is then reset, as in btcd.
    pub fn on_tick(&mut self, now: Instant) -> Option<Expected> {
        let mut offset = self.deadline_offset;
        if let Some(start) = self.handler_started_at {
            offset += now.saturating_duration_since(start);
        }
        self.deadline_offset = Duration::ZERO;
        ALL_EXPECTED
            .into_iter()
            .find(|e| matches!(self.pending[e.index()], Some(d) if now >= d + offset))
    }

    fn set(&mut self, e: Expected, deadline: Instant) {
        self.pending[e.index()] = Some(deadline);
    }
}

impl Default for StallTracker {
    fn default() -> Self {
        StallTracker::new(STALL_RESPONSE_TIMEOUT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn each_request_expects_its_response() {
        let t0 = Instant::now();
        for (sent, owed) in [
            ("version", Expected::VerAck),
            ("mempool", Expected::Inv),
            ("getblocks", Expected::Inv),
            ("getdata", Expected::Block),
        ] {
            let mut s = StallTracker::default();
            s.on_send(sent, t0);
            assert!(s.deadline(owed).is_some(), "{sent}");
            assert_eq!(s.on_tick(t0 + secs(15)), None, "{sent} early");
            let late = 30;
            assert_eq!(s.on_tick(t0 + secs(late - 1)), None, "{sent} just in time");
            assert_eq!(s.on_tick(t0 + secs(late)), Some(owed), "{sent} overdue");
        }
    }

    #[test]
    fn pending_lists_owed_responses() {
        let t0 = Instant::now();
        let mut s = StallTracker::new(secs(10));
        assert!(s.pending().is_empty());
        s.on_send("version", t0);
        s.on_send("getblocks", t0 + secs(1));
        // No per-peer deadline for headers: the sync manager times its sync peer (Core).
        s.on_send("getheaders", t0 + secs(1));
        assert_eq!(
            s.pending(),
            vec![
                (Expected::VerAck, t0 + secs(10)),
                (Expected::Inv, t0 + secs(11))
            ]
        );
        s.on_receive("verack");
        assert_eq!(s.pending(), vec![(Expected::Inv, t0 + secs(11))]);
    }

    #[test]
    fn untracked_messages_set_nothing() {
        let mut s = StallTracker::default();
        let t0 = Instant::now();
        for cmd in [
            "ping",
            "inv",
            "addr",
            "headers",
            "tx",
            "block",
            "sendheaders",
        ] {
            s.on_send(cmd, t0);
        }
        assert!(s.is_idle());
        assert_eq!(s.on_tick(t0 + secs(3600)), None);
    }

    #[test]
    fn response_clears_deadline() {
        let t0 = Instant::now();
        let mut s = StallTracker::default();
        s.on_send("getblocks", t0);
        s.on_send("getheaders", t0);
        s.on_receive("inv");
        s.on_receive("headers");
        assert!(s.is_idle());
        assert_eq!(s.on_tick(t0 + secs(1000)), None);
    }

    #[test]
    fn any_getdata_answer_settles_all() {
        for answer in ["block", "merkleblock", "tx", "notfound"] {
            let t0 = Instant::now();
            let mut s = StallTracker::default();
            s.on_send("getdata", t0);
            s.on_receive(answer);
            assert!(s.is_idle(), "{answer}");
        }
    }

    #[test]
    fn handler_time_extends_deadline_at_next_tick() {
        let t0 = Instant::now();
        let mut s = StallTracker::default();
        s.on_send("getdata", t0);
        // A handler runs from 10 s to 35 s: at the 30 s tick it is still running (20 s so
        // far), so the deadline effectively is 50 s.
        s.on_handler_start(t0 + secs(10));
        assert_eq!(s.on_tick(t0 + secs(30)), None);
        s.on_handler_done(t0 + secs(35));
        // Done at 35 s after 25 s: the 45 s tick allows 30 + 25 = 55 s.
        assert_eq!(s.on_tick(t0 + secs(45)), None);
        // The offset was spent at the 45 s tick: at 60 s the response is overdue.
        assert_eq!(s.on_tick(t0 + secs(60)), Some(Expected::Block));
    }

    #[test]
    fn without_handlers_deadline_holds() {
        let t0 = Instant::now();
        let mut s = StallTracker::default();
        s.on_send("getdata", t0);
        s.on_handler_start(t0 + secs(1));
        s.on_handler_done(t0 + secs(2));
        // 1 s of handler time: 30 s is still within 31 s.
        assert_eq!(s.on_tick(t0 + secs(30)), None);
        assert_eq!(s.on_tick(t0 + secs(31)), Some(Expected::Block));
    }

    #[test]
    fn unbalanced_handler_signals_are_ignored() {
        let t0 = Instant::now();
        let mut s = StallTracker::default();
        s.on_handler_done(t0);
        s.on_handler_start(t0);
        s.on_handler_start(t0 + secs(5)); // ignored: start stays at t0
        s.on_handler_done(t0 + secs(10));
        s.on_send("mempool", t0);
        assert_eq!(s.on_tick(t0 + secs(39)), None);
        assert_eq!(s.on_tick(t0 + secs(40)), Some(Expected::Inv));
    }

    #[test]
    fn resend_moves_deadline() {
        let t0 = Instant::now();
        let mut s = StallTracker::new(secs(10));
        s.on_send("getblocks", t0);
        s.on_send("mempool", t0 + secs(8));
        assert_eq!(s.on_tick(t0 + secs(12)), None);
        assert_eq!(s.on_tick(t0 + secs(18)), Some(Expected::Inv));
    }
}
