//! Everything a peer is configured with (btcd's `peer.Config`), including every timeout so
//! tests can shorten them.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::params::Network;
use crate::wire::{Hash, PROTOCOL_VERSION, ServiceFlag};

use super::listeners::{MessageListeners, NoListeners};
use super::negotiate::{MIN_ACCEPTABLE_PROTOCOL_VERSION, NEGOTIATE_TIMEOUT, SentNonces};
use super::ping::PING_INTERVAL;
use super::send_queue::{MAX_PENDING_MESSAGES, TRICKLE_INTERVAL};
use super::stall::{STALL_RESPONSE_TIMEOUT, STALL_TICK_INTERVAL};

/// How long without a complete message before a peer is dropped (btcd's `idleTimeout`):
/// with pings every two minutes, a live peer always sends something well within it.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The longest a single `read` waits before `pN-in` looks at its deadlines again. Disconnect
/// wakes a blocked read by itself (`shutdown`), so this only bounds how late the idle and
/// negotiate timeouts are noticed; long enough that a thousand idle peers cost no CPU.
pub const READ_POLL_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one write may block before the peer is dropped for not reading (btcd has no
/// write deadline; a peer that stops reading would pin its writer forever).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// The send budget per peer in bytes (Bitcoin Core's `DEFAULT_MAXSENDBUFFER`, 1,000 KB):
/// bytes queued for the peer, each message counted with its 24-byte header. While over it,
/// `pN-in` stops reading the peer, as Core stops processing its messages (`fPauseSend`).
pub const DEFAULT_MAX_SEND_BUFFER: usize = 1000 * 1000;

/// The receive budget per peer in bytes (Bitcoin Core's `DEFAULT_MAXRECEIVEBUFFER`,
/// 5,000 KB): the most one message's payload may buffer. Above the largest message (4 MB),
/// so no valid message meets it.
pub const DEFAULT_MAX_RECEIVE_BUFFER: usize = 5000 * 1000;

/// Ingress limit, messages per second a peer may send on average (beyond Core). Honest
/// headers sync is a few messages a second (2,000 headers each); a ping flood is thousands.
pub const DEFAULT_INGRESS_MSGS_PER_SEC: u32 = 2000;

/// Ingress burst in messages: what a quiet peer may send at once before the rate applies.
pub const DEFAULT_INGRESS_MSG_BURST: u32 = 10_000;

/// Ingress limit, bytes per second a peer may send on average (beyond Core): 64 MB/s, well
/// over what a full-speed block download from one peer reaches on loopback.
pub const DEFAULT_INGRESS_BYTES_PER_SEC: u64 = 64 * 1000 * 1000;

/// Ingress burst in bytes: four full blocks.
pub const DEFAULT_INGRESS_BYTE_BURST: u64 = 16 * 1000 * 1000;

/// Reports the node's best block hash and height for `version` (btcd's `NewestBlock`).
pub type NewestBlockFn = dyn Fn() -> Option<(Hash, i32)> + Send + Sync;

/// Configuration of a peer. A node builds one, wraps it in an `Arc` and passes that to every
/// peer, so they share it and its [`Config::sent_nonces`] (self-connection detection; clones
/// share the cache too).
#[derive(Clone)]
pub struct Config {
    /// Message callbacks.
    pub listeners: Arc<dyn MessageListeners>,
    /// The best block for `version`; `None` advertises height 0.
    pub newest_block: Option<Arc<NewestBlockFn>>,
    /// User agent name (BIP14), e.g. "btcnode".
    pub user_agent_name: String,
    /// User agent version, e.g. "0.1.0".
    pub user_agent_version: String,
    /// User agent comments (no '/', ':', '(' or ')').
    pub user_agent_comments: Vec<String>,
    /// The network (its magic frames every message).
    pub network: Network,
    /// Services we advertise.
    pub services: ServiceFlag,
    /// The highest protocol version we speak and advertise.
    pub protocol_version: u32,
    /// The lowest protocol version we accept from a remote.
    pub min_protocol_version: u32,
    /// Ask the remote not to relay transactions (BIP37 relay flag).
    pub disable_relay_tx: bool,
    /// Allow connecting to ourselves (tests only; btcd's `AllowSelfConns`).
    pub allow_self_connections: bool,
    /// Nonces of our recent `version` messages, shared by all peers of the node.
    pub sent_nonces: SentNonces,
    /// Time allowed for the whole handshake.
    pub negotiate_timeout: Duration,
    /// Time allowed between two complete messages after the handshake.
    pub idle_timeout: Duration,
    /// Longest single read wait (see [`READ_POLL_TIMEOUT`]); also how long `pN-in` stays
    /// quiet after a message before it gives back the stack pages the handler used.
    pub read_poll_timeout: Duration,
    /// Longest single write wait.
    pub write_timeout: Duration,
    /// Interval between stall checks.
    pub stall_tick_interval: Duration,
    /// Base time allowed for an expected response.
    pub stall_response_timeout: Duration,
    /// Turn the stall detection off (btcd's `DisableStallHandler`).
    pub disable_stall_handler: bool,
    /// Interval between pings.
    pub ping_interval: Duration,
    /// Interval between inventory trickles.
    pub trickle_interval: Duration,
    /// Most messages waiting behind the one being written.
    pub max_pending_messages: usize,
    /// Send budget in bytes (see [`DEFAULT_MAX_SEND_BUFFER`]).
    pub max_send_buffer: usize,
    /// Receive budget in bytes (see [`DEFAULT_MAX_RECEIVE_BUFFER`]).
    pub max_receive_buffer: usize,
    /// Ingress token bucket: messages per second and burst (0 turns it off).
    pub ingress_msgs_per_sec: u32,
    /// Ingress message burst.
    pub ingress_msg_burst: u32,
    /// Ingress token bucket: bytes per second (0 turns it off).
    pub ingress_bytes_per_sec: u64,
    /// Ingress byte burst.
    pub ingress_byte_burst: u64,
}

impl Config {
    /// btcd's defaults for `network`, no listeners, user agent "btcnode".
    pub fn new(network: Network) -> Config {
        Config {
            listeners: Arc::new(NoListeners),
            newest_block: None,
            user_agent_name: "btcnode".to_string(),
            user_agent_version: env!("CARGO_PKG_VERSION").to_string(),
            user_agent_comments: Vec::new(),
            network,
            services: ServiceFlag::NONE,
            protocol_version: PROTOCOL_VERSION,
            min_protocol_version: MIN_ACCEPTABLE_PROTOCOL_VERSION,
            // relay=0: the node keeps no mempool, so it asks for no transaction invs (as Core's
            // -blocksonly does); relay=1 made Core log txrelay=1 and send them.
            disable_relay_tx: true,
            allow_self_connections: false,
            sent_nonces: SentNonces::new(),
            negotiate_timeout: NEGOTIATE_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            read_poll_timeout: READ_POLL_TIMEOUT,
            write_timeout: WRITE_TIMEOUT,
            stall_tick_interval: STALL_TICK_INTERVAL,
            stall_response_timeout: STALL_RESPONSE_TIMEOUT,
            disable_stall_handler: false,
            ping_interval: PING_INTERVAL,
            trickle_interval: TRICKLE_INTERVAL,
            max_pending_messages: MAX_PENDING_MESSAGES,
            max_send_buffer: DEFAULT_MAX_SEND_BUFFER,
            max_receive_buffer: DEFAULT_MAX_RECEIVE_BUFFER,
            ingress_msgs_per_sec: DEFAULT_INGRESS_MSGS_PER_SEC,
            ingress_msg_burst: DEFAULT_INGRESS_MSG_BURST,
            ingress_bytes_per_sec: DEFAULT_INGRESS_BYTES_PER_SEC,
            ingress_byte_burst: DEFAULT_INGRESS_BYTE_BURST,
        }
    }

    /// The BIP14 user agent: `/name:version(comment; comment)/`.
    pub fn user_agent(&self) -> String {
        let mut ua = format!("/{}:{}", self.user_agent_name, self.user_agent_version);
        if !self.user_agent_comments.is_empty() {
            ua.push('(');
            ua.push_str(&self.user_agent_comments.join("; "));
            ua.push(')');
        }
        ua.push('/');
        ua
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("network", &self.network)
            .field("user_agent", &self.user_agent())
            .field("services", &self.services)
            .field("protocol_version", &self.protocol_version)
            .field("min_protocol_version", &self.min_protocol_version)
            .field("negotiate_timeout", &self.negotiate_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("write_timeout", &self.write_timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_follows_bip14() {
        let mut c = Config::new(Network::Regtest);
        c.user_agent_version = "1.2.3".into();
        assert_eq!(c.user_agent(), "/btcnode:1.2.3/");
        c.user_agent_comments = vec!["a".into(), "b".into()];
        assert_eq!(c.user_agent(), "/btcnode:1.2.3(a; b)/");
    }
}
