//! One connection to a remote peer (btcd's `peer` package) as a blocking, thread-per-peer
//! module: the version handshake on `pN-neg`, then reading on `pN-in`, the ordered send
//! pipeline on `pN-queue` and `pN-out`, stall detection on `pN-stall` and pings on
//! `pN-ping` (N is the peer id). In: a connected socket and messages to queue; out: message
//! callbacks ([`MessageListeners`]) and, in the end, a [`DisconnectReason`].
//!
//! Every rule lives in a plain struct driven with `now: Instant` and tested without sleeping:
//! [`Negotiation`] (handshake), [`StallTracker`], [`PingState`], [`SendQueue`] and
//! [`InvTrickle`] (send pipeline), [`DuplicateRequestFilter`] and [`LruSet`] (known
//! inventory, sent nonces). The threads in [`peer`] are thin shells around them.
//! `pN-in` reads with a short socket timeout into the wire [`Framer`](crate::wire::Framer),
//! so a timeout never loses bytes; the idle clock restarts with each complete message.

pub mod config;
pub mod conn;
pub mod error;
pub mod ingress;
pub mod listeners;
pub mod lru;
pub mod negotiate;
#[allow(clippy::module_inception)]
pub mod peer;
pub mod ping;
pub mod send_queue;
pub mod stall;

pub use config::{Config, IDLE_TIMEOUT, READ_POLL_TIMEOUT, WRITE_TIMEOUT};
pub use conn::Conn;
pub use error::{DisconnectReason, Error};
pub use listeners::{MessageListeners, NoListeners};
pub use lru::LruSet;
pub use negotiate::{NEGOTIATE_TIMEOUT, Negotiation, SentNonces};
pub use peer::{DebugState, Peer, StatsSnap};
pub use ping::{PING_INTERVAL, PingState};
pub use send_queue::{DuplicateRequestFilter, InvTrickle, SendQueue, TRICKLE_INTERVAL};
pub use stall::{Expected, STALL_RESPONSE_TIMEOUT, STALL_TICK_INTERVAL, StallTracker};
