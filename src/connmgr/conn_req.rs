//! Connection requests and their states (btcd's `ConnReq` and `ConnState`).

use std::fmt;

use super::ConnTarget;

/// The state of a connection request (btcd's `ConnState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnState {
    /// Registered, being dialed or waiting to be retried.
    Pending,
    /// Dialed successfully; the owner has the stream.
    Established,
    /// Disconnected by the owner and not to be retried.
    Disconnected,
    /// The last dial failed; a retry or a replacement follows.
    Failing,
    /// Removed while still pending.
    Canceled,
}

/// A request for an outbound connection (btcd's `ConnReq`). The manager hands out copies;
/// the id is what the owner uses to disconnect or remove it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnReq {
    /// Unique id, assigned when the request is registered (from 1).
    pub id: u64,
    /// Where to connect; `None` until an automatic request has picked an address.
    pub addr: Option<ConnTarget>,
    /// Permanent requests are retried with backoff forever, until removed.
    pub permanent: bool,
    /// The request's state.
    pub state: ConnState,
    /// Consecutive failed attempts of a permanent request (reset on success).
    pub retry_count: u32,
}

impl ConnReq {
    /// A new request for `addr` (its id is assigned by the manager).
    pub fn new(addr: ConnTarget, permanent: bool) -> ConnReq {
        ConnReq {
            id: 0,
            addr: Some(addr),
            permanent,
            state: ConnState::Pending,
            retry_count: 0,
        }
    }
}

impl fmt::Display for ConnReq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.addr {
            Some(a) => write!(f, "{a} (reqid {})", self.id),
            None => write!(f, "reqid {}", self.id),
        }
    }
}
