//! The connection handler's rules as a plain state machine: pending and established
//! requests, retry backoff, failure throttling, target outbound. It takes events and `now`
//! and returns what to dial; the `connmgr` thread is a thin shell around it, and tests drive
//! it with chosen instants. btcd counterpart: `ConnManager.connHandler` and
//! `handleFailedConn`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{ConnReq, ConnState, ConnTarget};

/// Longest wait between retries of a permanent request (btcd's `maxRetryDuration`), so a
/// peer that comes back is reconnected within five minutes however long it was away.
pub const MAX_RETRY_DURATION: Duration = Duration::from_secs(5 * 60);

/// Consecutive failed automatic connections after which new attempts are spaced by the
/// retry duration (btcd's `maxFailedAttempts`), so a node without working addresses (or
/// without network) does not spin dialing.
pub const MAX_FAILED_ATTEMPTS: u32 = 25;

/// Default base retry duration (btcd's `defaultRetryDuration`).
pub const DEFAULT_RETRY_DURATION: Duration = Duration::from_secs(5);

/// Default number of outbound connections to keep (btcd's `defaultTargetOutbound`).
pub const DEFAULT_TARGET_OUTBOUND: u32 = 8;

/// Backoff for permanent requests: `retry_duration × attempts`, capped at
/// [`MAX_RETRY_DURATION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The base retry duration.
    pub retry_duration: Duration,
}

impl RetryPolicy {
    /// The wait before attempt number `retry_count + 1` of a permanent request that has
    /// failed `retry_count` times in a row.
    pub fn permanent_delay(&self, retry_count: u32) -> Duration {
        self.retry_duration
            .saturating_mul(retry_count)
            .min(MAX_RETRY_DURATION)
    }

    /// The wait before the next automatic request after `failed_attempts` consecutive
    /// failures: none until [`MAX_FAILED_ATTEMPTS`], then the retry duration.
    pub fn new_request_delay(&self, failed_attempts: u32) -> Duration {
        if failed_attempts >= MAX_FAILED_ATTEMPTS {
            self.retry_duration
        } else {
            Duration::ZERO
        }
    }
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Dial this request on a `dial-N` thread (an automatic request has no address yet: the
    /// thread asks for one first).
    Dial(ConnReq),
    /// Close the established connection of this request.
    Close(u64),
}

/// Something scheduled for later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    /// Dial the pending permanent request with this id again.
    Retry(u64),
    /// Make a new automatic request (throttled after many failures).
    NewConnReq,
}

/// The connection handler's state.
#[derive(Debug)]
pub struct ConnRules {
    policy: RetryPolicy,
    target_outbound: u32,
    /// Whether automatic requests can be made (btcd: `GetNewAddress != nil`).
    automatic: bool,
    next_id: u64,
    pending: HashMap<u64, ConnReq>,
    conns: HashMap<u64, ConnReq>,
    failed_attempts: u32,
    timers: Vec<(Instant, Timer)>,
    stopped: bool,
}

impl ConnRules {
    /// Rules for a manager keeping `target_outbound` connections; `automatic` says whether
    /// there is an address source for automatic requests.
    pub fn new(policy: RetryPolicy, target_outbound: u32, automatic: bool) -> ConnRules {
        ConnRules {
            policy,
            target_outbound,
            automatic,
            next_id: 0,
            pending: HashMap::new(),
            conns: HashMap::new(),
            failed_attempts: 0,
            timers: Vec::new(),
            stopped: false,
        }
    }

    /// Allocates the next request id (ids start at 1, like btcd's).
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The automatic requests to make at start: one per outbound slot.
    pub fn start(&mut self) -> Vec<Action> {
        (0..self.target_outbound)
            .filter_map(|_| self.new_conn_req())
            .collect()
    }

    /// Stops all retries and replacements (btcd checks its stop flag in `handleFailedConn`).
    pub fn stop(&mut self) {
        self.stopped = true;
        self.timers.clear();
    }

    /// A new automatic request, registered as pending, if there is an address source.
    pub fn new_conn_req(&mut self) -> Option<Action> {
        if !self.automatic || self.stopped {
            return None;
        }
        let id = self.next_id();
        let req = ConnReq {
            id,
            addr: None,
            permanent: false,
            state: ConnState::Pending,
            retry_count: 0,
        };
        self.pending.insert(id, req.clone());
        Some(Action::Dial(req))
    }

    /// Registers an owner's request (assigning its id) and dials it.
    pub fn connect(&mut self, mut req: ConnReq) -> Action {
        if req.id == 0 {
            req.id = self.next_id();
        }
        req.state = ConnState::Pending;
        self.pending.insert(req.id, req.clone());
        Action::Dial(req)
    }

    /// A dial succeeded. Returns the established request, or `None` if it was canceled
    /// meanwhile (the shell then closes the stream).
    pub fn handle_connected(&mut self, id: u64, addr: ConnTarget) -> Option<ConnReq> {
        let mut req = self.pending.remove(&id)?;
        req.addr = Some(addr);
        req.state = ConnState::Established;
        req.retry_count = 0;
        self.failed_attempts = 0;
        self.conns.insert(id, req.clone());
        Some(req)
    }

    /// A dial failed (or no address was available).
    pub fn handle_failed(
        &mut self,
        id: u64,
        addr: Option<ConnTarget>,
        now: Instant,
    ) -> Vec<Action> {
        let Some(req) = self.pending.get_mut(&id) else {
            return Vec::new(); // canceled while dialing
        };
        req.state = ConnState::Failing;
        if addr.is_some() {
            req.addr = addr;
        }
        let req = req.clone();
        self.handle_failed_conn(req, now)
    }

    /// btcd's `handleFailedConn`: back off and retry a permanent request; replace anything
    /// else with a new automatic request, throttled after [`MAX_FAILED_ATTEMPTS`].
    fn handle_failed_conn(&mut self, mut req: ConnReq, now: Instant) -> Vec<Action> {
        if self.stopped {
            return Vec::new();
        }
        if req.permanent {
            req.retry_count = req.retry_count.saturating_add(1);
            let d = self.policy.permanent_delay(req.retry_count);
            log::debug!(target: "btcnode::connmgr", "retrying connection to {req} in {d:?}");
            let id = req.id;
            self.pending.insert(id, req);
            self.timers.push((now + d, Timer::Retry(id)));
            return Vec::new();
        }
        // A non-permanent request is done with; its slot goes to a new automatic request.
        self.pending.remove(&req.id);
        if !self.automatic {
            return Vec::new();
        }
        self.failed_attempts = self.failed_attempts.saturating_add(1);
        let d = self.policy.new_request_delay(self.failed_attempts);
        if d.is_zero() {
            self.new_conn_req().into_iter().collect()
        } else {
            log::debug!(
                target: "btcnode::connmgr",
                "{MAX_FAILED_ATTEMPTS} failed connection attempts: next one in {d:?}"
            );
            self.timers.push((now + d, Timer::NewConnReq));
            Vec::new()
        }
    }

    /// The owner disconnects (`retry`) or removes (`!retry`) request `id`. Returns the
    /// request as it now is (for the disconnection callback) and what to do.
    pub fn handle_disconnected(
        &mut self,
        id: u64,
        retry: bool,
        now: Instant,
    ) -> (Option<ConnReq>, Vec<Action>) {
        let Some(mut req) = self.conns.remove(&id) else {
            // Removing a pending request cancels it; a dial in flight is closed on arrival.
            if let Some(mut req) = self.pending.remove(&id) {
                req.state = ConnState::Canceled;
                self.timers.retain(|(_, t)| *t != Timer::Retry(id));
                return (Some(req), Vec::new());
            }
            return (None, Vec::new());
        };
        let mut actions = vec![Action::Close(id)];
        if !retry {
            req.state = ConnState::Disconnected;
            return (Some(req), actions);
        }
        let established = req.clone();
        if (self.conns.len() as u64) < u64::from(self.target_outbound) || req.permanent {
            req.state = ConnState::Pending;
            actions.extend(self.handle_failed_conn(req, now));
        }
        (Some(established), actions)
    }

    /// Runs the timers due at `now`.
    pub fn poll_timers(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        let mut i = 0;
        while i < self.timers.len() {
            if self.timers[i].0 > now {
                i += 1;
                continue;
            }
            match self.timers.swap_remove(i).1 {
                Timer::Retry(id) => {
                    if let Some(req) = self.pending.get_mut(&id) {
                        req.state = ConnState::Pending;
                        actions.push(Action::Dial(req.clone()));
                    }
                }
                Timer::NewConnReq => actions.extend(self.new_conn_req()),
            }
        }
        actions
    }

    /// When the next timer is due.
    pub fn next_timer(&self) -> Option<Instant> {
        self.timers.iter().map(|(t, _)| *t).min()
    }

    /// A request by id, pending or established.
    pub fn get(&self, id: u64) -> Option<&ConnReq> {
        self.pending.get(&id).or_else(|| self.conns.get(&id))
    }

    /// Pending requests, by id.
    pub fn pending(&self) -> Vec<ConnReq> {
        let mut v: Vec<ConnReq> = self.pending.values().cloned().collect();
        v.sort_by_key(|r| r.id);
        v
    }

    /// Established requests, by id.
    pub fn established(&self) -> Vec<ConnReq> {
        let mut v: Vec<ConnReq> = self.conns.values().cloned().collect();
        v.sort_by_key(|r| r.id);
        v
    }

    /// Consecutive failed automatic attempts.
    pub fn failed_attempts(&self) -> u32 {
        self.failed_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> ConnTarget {
        ConnTarget::Addr(([127, 0, 0, 1], port).into())
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            retry_duration: Duration::from_secs(5),
        }
    }

    fn dialed(actions: &[Action]) -> Vec<u64> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Dial(r) => Some(r.id),
                Action::Close(_) => None,
            })
            .collect()
    }

    #[test]
    fn backoff_is_linear_and_capped() {
        let p = policy();
        assert_eq!(p.permanent_delay(1), Duration::from_secs(5));
        assert_eq!(p.permanent_delay(2), Duration::from_secs(10));
        assert_eq!(p.permanent_delay(59), Duration::from_secs(295));
        assert_eq!(p.permanent_delay(60), MAX_RETRY_DURATION);
        assert_eq!(p.permanent_delay(u32::MAX), MAX_RETRY_DURATION);
        assert_eq!(p.new_request_delay(MAX_FAILED_ATTEMPTS - 1), Duration::ZERO);
        assert_eq!(
            p.new_request_delay(MAX_FAILED_ATTEMPTS),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn permanent_request_retries_at_backoff_instants() {
        let mut r = ConnRules::new(policy(), 0, false);
        let t0 = Instant::now();
        let Action::Dial(req) = r.connect(ConnReq::new(addr(1), true)) else {
            panic!("dial")
        };
        assert!(r.handle_failed(req.id, None, t0).is_empty());
        assert_eq!(r.get(req.id).map(|q| q.state), Some(ConnState::Failing));
        assert_eq!(r.next_timer(), Some(t0 + Duration::from_secs(5)));
        assert!(r.poll_timers(t0 + Duration::from_millis(4999)).is_empty());
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(dialed(&r.poll_timers(t1)), [req.id]);
        r.handle_failed(req.id, None, t1);
        assert_eq!(r.next_timer(), Some(t1 + Duration::from_secs(10)));
        assert_eq!(r.get(req.id).map(|q| q.retry_count), Some(2));
        // Success resets the count; a later disconnect retries after one retry duration.
        let t2 = t1 + Duration::from_secs(10);
        r.poll_timers(t2);
        let est = r.handle_connected(req.id, addr(1)).expect("established");
        assert_eq!(est.retry_count, 0);
        let (gone, actions) = r.handle_disconnected(req.id, true, t2);
        assert_eq!(gone.map(|g| g.state), Some(ConnState::Established));
        assert_eq!(actions, [Action::Close(req.id)]);
        assert_eq!(r.next_timer(), Some(t2 + Duration::from_secs(5)));
    }

    #[test]
    fn failures_are_replaced_then_throttled() {
        let mut r = ConnRules::new(policy(), 1, true);
        let now = Instant::now();
        let mut ids = dialed(&r.start());
        assert_eq!(ids.len(), 1);
        for n in 1..MAX_FAILED_ATTEMPTS {
            let id = ids.pop().expect("one request in flight");
            ids = dialed(&r.handle_failed(id, Some(addr(2)), now));
            assert_eq!(ids.len(), 1, "failure {n} replaced at once");
        }
        let id = ids.pop().expect("in flight");
        assert!(
            r.handle_failed(id, None, now).is_empty(),
            "25th failure throttles"
        );
        assert_eq!(r.failed_attempts(), MAX_FAILED_ATTEMPTS);
        assert_eq!(r.next_timer(), Some(now + Duration::from_secs(5)));
        assert!(
            r.pending().is_empty(),
            "failed automatic requests are dropped"
        );
        let ids = dialed(&r.poll_timers(now + Duration::from_secs(5)));
        assert_eq!(ids.len(), 1);
        // One success resets the count.
        r.handle_connected(ids[0], addr(3)).expect("connected");
        assert_eq!(r.failed_attempts(), 0);
    }

    #[test]
    fn removing_a_pending_request_cancels_it() {
        let mut r = ConnRules::new(policy(), 0, false);
        let Action::Dial(req) = r.connect(ConnReq::new(addr(1), true)) else {
            panic!("dial")
        };
        let (gone, actions) = r.handle_disconnected(req.id, false, Instant::now());
        assert_eq!(gone.map(|g| g.state), Some(ConnState::Canceled));
        assert!(actions.is_empty());
        assert_eq!(
            r.handle_connected(req.id, addr(1)),
            None,
            "late dial is closed"
        );
        assert!(r.handle_failed(req.id, None, Instant::now()).is_empty());
    }

    #[test]
    fn disconnect_below_target_makes_a_new_request() {
        let mut r = ConnRules::new(policy(), 2, true);
        let ids = dialed(&r.start());
        for id in &ids {
            r.handle_connected(*id, addr(*id as u16)).expect("up");
        }
        let (_, actions) = r.handle_disconnected(ids[0], true, Instant::now());
        assert_eq!(actions[0], Action::Close(ids[0]));
        assert_eq!(dialed(&actions).len(), 1);
        let (gone, actions) = r.handle_disconnected(ids[1], false, Instant::now());
        assert_eq!(gone.map(|g| g.state), Some(ConnState::Disconnected));
        assert_eq!(actions, [Action::Close(ids[1])]);
    }

    #[test]
    fn stop_ends_retries() {
        let mut r = ConnRules::new(policy(), 1, true);
        let ids = dialed(&r.start());
        r.stop();
        assert!(r.handle_failed(ids[0], None, Instant::now()).is_empty());
        assert_eq!(r.next_timer(), None);
        assert_eq!(r.new_conn_req(), None);
    }
}
