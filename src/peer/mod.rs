//! One connection to a remote peer: handshake, ordered send queue, stall and idle detection,
//! and ping, each on its own named OS thread. btcd counterpart: `peer`.

pub mod error;
pub mod lru;
pub mod negotiate;
pub mod ping;
pub mod send_queue;
pub mod stall;

pub use error::{DisconnectReason, Error};
pub use lru::LruSet;
pub use negotiate::{NEGOTIATE_TIMEOUT, Negotiation, SentNonces};
pub use ping::{PING_INTERVAL, PingState};
pub use send_queue::{DuplicateRequestFilter, InvTrickle, SendQueue, TRICKLE_INTERVAL};
pub use stall::{STALL_RESPONSE_TIMEOUT, STALL_TICK_INTERVAL, StallTracker};
