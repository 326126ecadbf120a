//! Why a peer went away ([`DisconnectReason`], a value, not an error) and what can fail when
//! setting one up ([`Error`]).

use std::fmt;
use std::time::Duration;

use crate::wire;

/// Why a peer was disconnected. The first reason recorded wins; it is what
/// [`crate::peer::Peer::wait_for_disconnect`] returns, what the logs print and what RPC shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// [`crate::peer::Peer::disconnect`] was called by a library user that gave no reason.
    /// The node itself always says why (one of the variants below).
    Requested,
    /// The peer's ban score reached the threshold (btcd's `addBanScore`): its host is banned.
    Banned {
        /// The score that crossed the threshold.
        score: u32,
        /// What the peer did last.
        reason: String,
    },
    /// The peer's address was banned while it was connected (a ban of its host by another
    /// connection, `setban`, or a refused connection from a banned host).
    AddressBanned,
    /// The peer broke a protocol rule that is not scored but ends the connection (a bloom
    /// message to a node without `NODE_BLOOM`, a bad `feefilter`, an empty `addr`).
    Misbehaving {
        /// What it did.
        reason: String,
    },
    /// An RPC call dropped the peer (`disconnectnode`, `addnode remove`).
    Rpc {
        /// The RPC method.
        method: &'static str,
    },
    /// The node is shutting down.
    Shutdown,
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
        waiting_for: &'static str,
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
    Malformed(wire::Error),
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
            DisconnectReason::Banned { score, reason } => {
                write!(f, "banned: ban score {score} ({reason})")
            }
            DisconnectReason::AddressBanned => write!(f, "its address is banned"),
            DisconnectReason::Misbehaving { reason } => write!(f, "misbehaving: {reason}"),
            DisconnectReason::Rpc { method } => write!(f, "dropped by rpc {method}"),
            DisconnectReason::Shutdown => write!(f, "node shutting down"),
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
            DisconnectReason::Stalled { waiting_for } => {
                write!(f, "stalled: no {waiting_for} in time")
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

impl DisconnectReason {
    /// A short stable name for the variant (for RPC fields, counters and greps), such as
    /// `banned` or `idle_timeout`; [`fmt::Display`] gives the whole story.
    pub fn kind(&self) -> &'static str {
        match self {
            DisconnectReason::Requested => "requested",
            DisconnectReason::Banned { .. } => "banned",
            DisconnectReason::AddressBanned => "address_banned",
            DisconnectReason::Misbehaving { .. } => "misbehaving",
            DisconnectReason::Rpc { .. } => "rpc",
            DisconnectReason::Shutdown => "shutdown",
            DisconnectReason::RemoteClosed => "remote_closed",
            DisconnectReason::ReadError(_) => "read_error",
            DisconnectReason::WriteError(_) => "write_error",
            DisconnectReason::WriteTimeout(_) => "write_timeout",
            DisconnectReason::IdleTimeout(_) => "idle_timeout",
            DisconnectReason::NegotiateTimeout(_) => "negotiate_timeout",
            DisconnectReason::Stalled { .. } => "stalled",
            DisconnectReason::SelfConnection => "self_connection",
            DisconnectReason::ProtocolVersionTooLow { .. } => "protocol_version_too_low",
            DisconnectReason::DuplicateVersion => "duplicate_version",
            DisconnectReason::DuplicateVerAck => "duplicate_verack",
            DisconnectReason::VersionNotFirst { .. } => "version_not_first",
            DisconnectReason::InvalidHandshake { .. } => "invalid_handshake",
            DisconnectReason::VersionRejected { .. } => "version_rejected",
            DisconnectReason::SendAddrV2AfterHandshake => "sendaddrv2_after_handshake",
            DisconnectReason::Malformed(_) => "malformed",
            DisconnectReason::SendQueueFull(_) => "send_queue_full",
            DisconnectReason::Panicked { .. } => "panicked",
            DisconnectReason::Setup(_) => "setup",
            DisconnectReason::Rejected { .. } => "rejected",
            DisconnectReason::NotV1Message => "not_v1_message",
            DisconnectReason::Evicted { .. } => "evicted",
            DisconnectReason::SendBufferFull { .. } => "send_buffer_full",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_short_and_display_tells_why() {
        let r = DisconnectReason::Banned {
            score: 100,
            reason: "filterload".into(),
        };
        assert_eq!(r.kind(), "banned");
        assert_eq!(r.to_string(), "banned: ban score 100 (filterload)");
        let r = DisconnectReason::Stalled {
            waiting_for: "headers",
        };
        assert_eq!(r.kind(), "stalled");
        assert_eq!(r.to_string(), "stalled: no headers in time");
        assert_eq!(
            DisconnectReason::Rpc {
                method: "disconnectnode"
            }
            .kind(),
            "rpc"
        );
        assert_eq!(DisconnectReason::Shutdown.kind(), "shutdown");
    }
}
