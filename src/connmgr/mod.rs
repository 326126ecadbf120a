//! Connection management: keeps the node's outbound connections filled, retries permanent
//! peers with backoff, accepts inbound sockets within caps, scores misbehaviour and seeds the
//! address book from DNS. btcd counterpart: `connmgr`.
//!
//! Threads: `connmgr` owns every connection request and is fed by one bounded channel;
//! `dial-N` threads (short-lived, one per dial, joined by `connmgr`) dial and run the
//! connection callback; `listen-N` threads (one per listener) accept and run the accept
//! callback; `seed-N` threads (short-lived, joined by their caller) run one DNS seed lookup
//! each. In: targets to connect to, listeners, an address source; out: connected
//! `TcpStream`s through callbacks. It does not know about peers or the wire protocol: the
//! owner does the handshake and tells the manager when to disconnect.
//!
//! The rules are plain structs taking `now`: [`ConnRules`] (requests, retry backoff,
//! failure throttling, target outbound), [`InboundLimiter`] (inbound caps) and
//! [`DynamicBanScore`].

pub mod accept_backoff;
mod conn_req;
mod connmanager;
pub mod dynamic_ban_score;
mod error;
mod inbound;
mod rules;
pub mod seed;

pub use conn_req::{ConnReq, ConnState};
pub use connmanager::{
    Config, ConnManager, DEFAULT_MAX_INBOUND, DialFn, GetNewAddressFn, OnAcceptFn, OnConnectionFn,
    OnDisconnectionFn, REQUESTS_CHANNEL_CAPACITY, Snapshot, dial_fn,
};
pub use dynamic_ban_score::DynamicBanScore;
pub use error::Error;
pub use inbound::{
    InboundGroup, InboundLimiter, InboundRejected, InboundSlot, MAX_PENDING_HANDSHAKES_PER_GROUP,
};
pub use rules::{
    Action, ConnRules, DEFAULT_RETRY_DURATION, DEFAULT_TARGET_OUTBOUND, MAX_FAILED_ATTEMPTS,
    MAX_RETRY_DURATION, RetryPolicy,
};

/// Where an outbound connection goes: a socket address, a host name or a .onion name.
pub type ConnTarget = crate::socks::Target;
