//! Why a peer went away ([`DisconnectReason`], a value, not an error) and what can fail when
//! setting one up ([`Error`]).

use std::fmt;
use std::time::Duration;

/// Why a peer was disconnected. The first reason recorded wins; it is what
/// [`crate::peer::Peer::wait_for_disconnect`] returns, what the logs print and what RPC shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// [`crate::peer::Peer::disconnect`] was called (by the server, a ban, shutdown).
    Requested,
    /// The remote closed the connection (end of stream).
    RemoteClosed,
    /// Reading from the socket failed.
    ReadError(String),
    /// Writing to the socket failed.
    WriteError(String),
    /// A write did not complete within the write timeout: the remote stopped reading.
    WriteTimeout(Duration),
    /// No complete message arrived within the idle timeout.
    IdleTimeout(Duration),
    /// The version handshake did not complete within the negotiate timeout.
    NegotiateTimeout(Duration),
    /// A response the remote owed did not arrive in time.
    Stalled {
        /// The command of the overdue response.
        expected: &'static str,
    },
    /// The remote's version carried a nonce we sent: we connected to ourselves.
    SelfConnection,
    /// The remote's protocol version is below the minimum we accept.
    ProtocolVersionTooLow {
        /// The version the remote advertised.
        version: u32,
        /// The lowest version accepted.
        min: u32,
    },
    /// The remote sent a second `version`.
    DuplicateVersion,
    /// The remote sent a second `verack`.
    DuplicateVerAck,
    /// The first message was not `version`.
    VersionNotFirst {
        /// The command that came first.
        command: String,
    },
    /// A message other than the negotiation messages arrived between `version` and `verack`.
    InvalidHandshake {
        /// The offending command.
        command: String,
    },
    /// The `on_version` listener refused the remote's version.
    VersionRejected {
        /// The listener's reason.
        reason: String,
    },
    /// The remote sent `reject` during the handshake (btcd rejects a version whose services
    /// lack what it requires, e.g. `required services 0x1 not offered`).
    Rejected {
        /// What the remote said: the rejected command, the code and its reason, printable.
        by_remote: String,
    },
    /// The first message did not start with this network's magic: most likely a BIP324 v2
    /// handshake (Core 26+ tries v2 first and falls back to v1 when we close).
    NotV1Message,
    /// `sendaddrv2` arrived after the handshake was complete (BIP155 forbids it).
    SendAddrV2AfterHandshake,
    /// A message could not be framed or decoded (bad magic, checksum, size or payload).
    Malformed(String),
    /// More messages were queued than the peer's pending limit: it is not reading them.
    SendQueueFull(usize),
    /// The bytes queued for the peer stayed over its send budget (Core's `-maxsendbuffer`)
    /// for twice the write timeout (a writer that is stuck altogether ends with
    /// [`DisconnectReason::WriteTimeout`] first): it reads too slowly for what it asks for.
    SendBufferFull {
        /// Bytes queued (framing included) when it was dropped.
        queued: usize,
        /// The send budget in bytes.
        limit: usize,
    },
    /// A thread of the peer panicked (for example in a listener).
    Panicked {
        /// The thread's name.
        thread: String,
    },
    /// The peer could not be started (socket options, thread creation).
    Setup(String),
    /// Inbound was full and a new inbound peer arrived: this one was the youngest of the
    /// netgroup with the most evictable peers (Core's `AttemptToEvictConnection`).
    Evicted {
        /// Its netgroup.
        group: String,
        /// Evictable peers in that netgroup, itself included.
        group_peers: usize,
    },
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::Requested => write!(f, "disconnect requested"),
            DisconnectReason::RemoteClosed => write!(f, "remote closed the connection"),
            DisconnectReason::ReadError(e) => write!(f, "read error: {e}"),
            DisconnectReason::WriteError(e) => write!(f, "write error: {e}"),
            DisconnectReason::WriteTimeout(d) => {
                write!(f, "write timed out after {d:?}: the remote stopped reading")
            }
            DisconnectReason::IdleTimeout(d) => write!(f, "no message for {d:?} (idle timeout)"),
            DisconnectReason::NegotiateTimeout(d) => {
                write!(f, "version handshake not complete within {d:?}")
            }
            DisconnectReason::Stalled { expected } => {
                write!(f, "stalled: no {expected} in time")
            }
            DisconnectReason::SelfConnection => write!(f, "connected to self"),
            DisconnectReason::ProtocolVersionTooLow { version, min } => {
                write!(f, "protocol version {version} is below the minimum {min}")
            }
            DisconnectReason::DuplicateVersion => write!(f, "duplicate version message"),
            DisconnectReason::DuplicateVerAck => write!(f, "duplicate verack message"),
            DisconnectReason::VersionNotFirst { command } => {
                write!(f, "first message was {command:?}, not version")
            }
            DisconnectReason::InvalidHandshake { command } => {
                write!(f, "unexpected {command:?} during the version handshake")
            }
            DisconnectReason::VersionRejected { reason } => {
                write!(f, "version rejected: {reason}")
            }
            DisconnectReason::Rejected { by_remote } => {
                write!(f, "rejected by the remote: {by_remote}")
            }
            DisconnectReason::NotV1Message => write!(
                f,
                "not a v1 message (a BIP324 v2 handshake?); v2 is not enabled"
            ),
            DisconnectReason::SendAddrV2AfterHandshake => {
                write!(f, "sendaddrv2 after the handshake")
            }
            DisconnectReason::Malformed(e) => write!(f, "malformed message: {e}"),
            DisconnectReason::SendQueueFull(n) => {
                write!(
                    f,
                    "more than {n} messages pending: the remote is not reading"
                )
            }
            DisconnectReason::SendBufferFull { queued, limit } => write!(
                f,
                "send buffer full: {queued} bytes queued over the {limit}-byte budget for twice the write timeout"
            ),
            DisconnectReason::Panicked { thread } => write!(f, "thread {thread} panicked"),
            DisconnectReason::Setup(e) => write!(f, "peer setup failed: {e}"),
            DisconnectReason::Evicted { group, group_peers } => write!(
                f,
                "evicted for a new inbound peer: youngest of {group_peers} evictable peers in netgroup {group}"
            ),
        }
    }
}

/// What can fail when using a peer's API.
#[derive(Debug)]
pub enum Error {
    /// A connection was already associated with the peer.
    AlreadyConnected,
    /// A socket operation needed to set up the connection failed.
    Socket {
        /// What was being done.
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// A locator had more hashes than a `getblocks`/`getheaders` message may carry.
    TooManyLocatorHashes {
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::AlreadyConnected => write!(f, "peer already has a connection"),
            Error::Socket { op, source } => write!(f, "socket {op} failed: {source}"),
            Error::TooManyLocatorHashes { count, max } => {
                write!(
                    f,
                    "locator has {count} hashes, more than the limit of {max}"
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Socket { source, .. } => Some(source),
            _ => None,
        }
    }
}
