//! The version handshake as a state machine: it is told which messages arrived and returns
//! what to send, or why the peer must go. The `pN-neg` thread is its shell (it reads, writes
//! and calls the `on_version` listener). btcd counterpart: `negotiateInboundProtocol`,
//! `negotiateOutboundProtocol`, `readRemoteVersionMsg`, `waitToFinishNegotiation` and the
//! package-level `sentNonces` cache.
//!
//! Order of events (btcd's):
//! - outbound: send `version`; wait for theirs; send `sendaddrv2` (if the negotiated version
//!   is at least 70016) and `verack`; wait for `verack`;
//! - inbound: wait for their `version`; send `version`, `sendaddrv2` (same rule), `verack`;
//!   wait for `verack`.
//!
//! Between their `version` and their `verack`, `sendaddrv2` and `wtxidrelay` (what Bitcoin
//! Core sends there) are accepted and unknown commands ignored; any other known message is a
//! broken handshake.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::error::DisconnectReason;
use super::lru::LruSet;
use crate::wire::msg_reject::reject_code;
use crate::wire::protocol;

/// How long the whole handshake may take (btcd's `negotiateTimeout`): "the duration of
/// inactivity before we timeout a peer that hasn't completed the initial version
/// negotiation".
pub const NEGOTIATE_TIMEOUT: Duration = Duration::from_secs(30);

/// The lowest protocol version a peer may speak (btcd's `MinAcceptableProtocolVersion`,
/// `wire.MultipleAddressVersion`: the version that introduced multiple addresses per
/// `addr`).
pub const MIN_ACCEPTABLE_PROTOCOL_VERSION: u32 = protocol::MULTIPLE_ADDRESS_VERSION;

/// The protocol version from which `sendaddrv2` is exchanged (BIP155, btcd's
/// `wire.AddrV2Version`).
pub const ADDRV2_VERSION: u32 = protocol::ADDR_V2_VERSION;

/// The protocol version from which `reject` messages are understood (BIP61, btcd's
/// `wire.RejectVersion`).
pub const REJECT_VERSION: u32 = protocol::REJECT_VERSION;

/// How many nonces of recently sent `version` messages are remembered to detect connections
/// to ourselves (btcd's `sentNonces = lru.NewCache(50)`).
pub const MAX_SENT_NONCES: usize = 50;

/// BIP61 reject code for a message that could not be decoded.
pub const REJECT_MALFORMED: u8 = reject_code::MALFORMED;
/// BIP61 reject code for an obsolete protocol version.
pub const REJECT_OBSOLETE: u8 = reject_code::OBSOLETE;
/// BIP61 reject code for a duplicate message.
pub const REJECT_DUPLICATE: u8 = reject_code::DUPLICATE;

/// Nonces of the `version` messages this node sent recently, shared by every peer of one
/// node (clone the `Arc`), so an inbound connection from ourselves is recognised.
#[derive(Debug, Clone)]
pub struct SentNonces(Arc<Mutex<LruSet<u64>>>);

impl SentNonces {
    /// An empty cache of [`MAX_SENT_NONCES`] nonces.
    pub fn new() -> SentNonces {
        SentNonces(Arc::new(Mutex::new(LruSet::new(MAX_SENT_NONCES))))
    }

    /// A fresh random nonce for an outgoing `version`, remembered in the cache.
    pub fn new_nonce(&self) -> u64 {
        let nonce: u64 = rand::random();
        self.0.lock().insert(nonce);
        nonce
    }

    /// Whether `nonce` is one we sent recently.
    pub fn contains(&self, nonce: u64) -> bool {
        self.0.lock().contains(&nonce)
    }
}

impl Default for SentNonces {
    fn default() -> Self {
        SentNonces::new()
    }
}

/// A message received during the handshake, as far as negotiation cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received<'a> {
    /// `version` with the remote's protocol version and nonce.
    Version {
        /// The protocol version the remote advertised (negative on the wire counts as 0).
        protocol_version: u32,
        /// The nonce of their `version`.
        nonce: u64,
    },
    /// `verack`.
    VerAck,
    /// `sendaddrv2` (BIP155).
    SendAddrV2,
    /// `wtxidrelay` (BIP339), which Bitcoin Core sends before its `verack`.
    WtxidRelay,
    /// A command this node does not know; ignored.
    Unknown(&'a str),
    /// Any other known message, by command.
    Other(&'a str),
}

/// A message the shell must send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// Our `version` (the shell builds it, taking a nonce from [`SentNonces::new_nonce`]).
    Version,
    /// `sendaddrv2`.
    SendAddrV2,
    /// `verack`.
    VerAck,
    /// A `reject` to send before disconnecting.
    Reject {
        /// The command rejected.
        command: String,
        /// The BIP61 code.
        code: u8,
        /// Human-readable reason.
        reason: String,
    },
}

/// Where the handshake stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for the remote's `version`.
    AwaitVersion,
    /// Their `version` is in; waiting for their `verack`.
    AwaitVerAck,
    /// The handshake is complete.
    Done,
}

/// The result of one received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Messages to send, in order.
    pub send: Vec<Outgoing>,
    /// Whether the handshake is now complete.
    pub done: bool,
}

/// The handshake has failed: send `reject` (if any, only when the remote understands it)
/// and disconnect with `reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// A reject to send first.
    pub reject: Option<Outgoing>,
    /// Why the peer is dropped.
    pub reason: DisconnectReason,
}

/// The handshake of one peer.
#[derive(Debug, Clone)]
pub struct Negotiation {
    inbound: bool,
    our_version: u32,
    min_version: u32,
    allow_self_connection: bool,
    deadline: Instant,
    state: State,
    advertised_version: Option<u32>,
    negotiated_version: u32,
    wants_addrv2: bool,
    wtxid_relay: bool,
}

impl Negotiation {
    /// A handshake for an inbound or outbound peer speaking at most `our_version`, accepting
    /// remotes from `min_version`, that must finish within `timeout` of `now`.
    pub fn new(
        inbound: bool,
        our_version: u32,
        min_version: u32,
        timeout: Duration,
        now: Instant,
    ) -> Negotiation {
        Negotiation {
            inbound,
            our_version,
            min_version,
            allow_self_connection: false,
            deadline: now + timeout,
            state: State::AwaitVersion,
            advertised_version: None,
            negotiated_version: our_version,
            wants_addrv2: false,
            wtxid_relay: false,
        }
    }

    /// Lets tests connect a node to itself (btcd's `AllowSelfConns`).
    pub fn allow_self_connection(mut self, allow: bool) -> Negotiation {
        self.allow_self_connection = allow;
        self
    }

    /// What to send before anything arrives: our `version` when outbound, nothing inbound.
    pub fn start(&self) -> Vec<Outgoing> {
        if self.inbound {
            Vec::new()
        } else {
            vec![Outgoing::Version]
        }
    }

    /// When the handshake times out.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the handshake has timed out at `now`.
    pub fn timed_out(&self, now: Instant) -> bool {
        self.state != State::Done && now >= self.deadline
    }

    /// Where the handshake stands.
    pub fn state(&self) -> State {
        self.state
    }

    /// The protocol version the remote advertised, once known.
    pub fn advertised_version(&self) -> Option<u32> {
        self.advertised_version
    }

    /// The negotiated protocol version: the lower of ours and theirs (ours until theirs is
    /// known).
    pub fn negotiated_version(&self) -> u32 {
        self.negotiated_version
    }

    /// Whether the remote asked for `addrv2` with `sendaddrv2`.
    pub fn wants_addrv2(&self) -> bool {
        self.wants_addrv2
    }

    /// Whether the remote sent `wtxidrelay`.
    pub fn wtxid_relay(&self) -> bool {
        self.wtxid_relay
    }

    /// Feeds one received message. `sent_nonces` is the node's cache of nonces it sent.
    pub fn receive(
        &mut self,
        msg: Received<'_>,
        sent_nonces: &SentNonces,
    ) -> Result<Step, Failure> {
        match self.state {
            State::AwaitVersion => self.receive_first(msg, sent_nonces),
            State::AwaitVerAck => self.receive_before_verack(msg),
            // The shell stops feeding after completion; anything more is the in handler's.
            State::Done => Ok(Step {
                send: Vec::new(),
                done: true,
            }),
        }
    }

    fn receive_first(
        &mut self,
        msg: Received<'_>,
        sent_nonces: &SentNonces,
    ) -> Result<Step, Failure> {
        let (protocol_version, nonce) = match msg {
            Received::Version {
                protocol_version,
                nonce,
            } => (protocol_version, nonce),
            Received::VerAck => return Err(self.not_first("verack")),
            Received::SendAddrV2 => return Err(self.not_first("sendaddrv2")),
            Received::WtxidRelay => return Err(self.not_first("wtxidrelay")),
            Received::Unknown(c) | Received::Other(c) => return Err(self.not_first(c)),
        };
        if !self.allow_self_connection && sent_nonces.contains(nonce) {
            return Err(Failure {
                reject: None,
                reason: DisconnectReason::SelfConnection,
            });
        }
        self.advertised_version = Some(protocol_version);
        self.negotiated_version = self.our_version.min(protocol_version);
        if protocol_version < self.min_version {
            let reason = format!("protocol version must be {} or greater", self.min_version);
            return Err(Failure {
                reject: Some(Outgoing::Reject {
                    command: "version".to_string(),
                    code: REJECT_OBSOLETE,
                    reason,
                }),
                reason: DisconnectReason::ProtocolVersionTooLow {
                    version: protocol_version,
                    min: self.min_version,
                },
            });
        }
        let mut send = Vec::with_capacity(3);
        if self.inbound {
            send.push(Outgoing::Version);
        }
        if self.negotiated_version >= ADDRV2_VERSION {
            send.push(Outgoing::SendAddrV2);
        }
        send.push(Outgoing::VerAck);
        self.state = State::AwaitVerAck;
        Ok(Step { send, done: false })
    }

    fn receive_before_verack(&mut self, msg: Received<'_>) -> Result<Step, Failure> {
        let nothing = Step {
            send: Vec::new(),
            done: false,
        };
        match msg {
            Received::VerAck => {
                self.state = State::Done;
                Ok(Step {
                    send: Vec::new(),
                    done: true,
                })
            }
            Received::SendAddrV2 => {
                // Honoured only when both sides speak BIP155, as btcd.
                if self.negotiated_version >= ADDRV2_VERSION {
                    self.wants_addrv2 = true;
                }
                Ok(nothing)
            }
            Received::WtxidRelay => {
                self.wtxid_relay = true;
                Ok(nothing)
            }
            Received::Unknown(command) => {
                log::debug!(target: "btcnode::peer", "ignoring unknown {command:?} during the handshake");
                Ok(nothing)
            }
            Received::Version { .. } => Err(Failure {
                reject: self.reject_if_understood(
                    "version",
                    REJECT_DUPLICATE,
                    "duplicate version message",
                ),
                reason: DisconnectReason::DuplicateVersion,
            }),
            Received::Other(command) => Err(Failure {
                reject: None,
                reason: DisconnectReason::InvalidHandshake {
                    command: command.to_string(),
                },
            }),
        }
    }

    fn not_first(&self, command: &str) -> Failure {
        Failure {
            reject: Some(Outgoing::Reject {
                command: command.to_string(),
                code: REJECT_MALFORMED,
                reason: "a version message must precede all others".to_string(),
            }),
            reason: DisconnectReason::VersionNotFirst {
                command: command.to_string(),
            },
        }
    }

    fn reject_if_understood(&self, command: &str, code: u8, reason: &str) -> Option<Outgoing> {
        (self.negotiated_version >= REJECT_VERSION).then(|| Outgoing::Reject {
            command: command.to_string(),
            code,
            reason: reason.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn neg(inbound: bool) -> Negotiation {
        Negotiation::new(
            inbound,
            70016,
            MIN_ACCEPTABLE_PROTOCOL_VERSION,
            NEGOTIATE_TIMEOUT,
            Instant::now(),
        )
    }

    fn version(pver: u32) -> Received<'static> {
        Received::Version {
            protocol_version: pver,
            nonce: 7,
        }
    }

    #[test]
    fn outbound_sends_version_first_then_verack() {
        let nonces = SentNonces::new();
        let mut n = neg(false);
        assert_eq!(n.start(), vec![Outgoing::Version]);
        let step = n.receive(version(70016), &nonces).expect("version");
        assert_eq!(step.send, vec![Outgoing::SendAddrV2, Outgoing::VerAck]);
        assert!(!step.done);
        let step = n.receive(Received::VerAck, &nonces).expect("verack");
        assert!(step.done);
        assert_eq!(n.state(), State::Done);
    }

    #[test]
    fn inbound_waits_then_answers_with_version() {
        let nonces = SentNonces::new();
        let mut n = neg(true);
        assert!(n.start().is_empty());
        let step = n.receive(version(70015), &nonces).expect("version");
        // 70015 is below BIP155: no sendaddrv2.
        assert_eq!(step.send, vec![Outgoing::Version, Outgoing::VerAck]);
        assert_eq!(n.negotiated_version(), 70015);
        assert_eq!(n.advertised_version(), Some(70015));
    }

    #[test]
    fn negotiated_version_is_the_lower() {
        let nonces = SentNonces::new();
        let mut n = Negotiation::new(true, 70012, 209, NEGOTIATE_TIMEOUT, Instant::now());
        n.receive(version(70016), &nonces).expect("version");
        assert_eq!(n.negotiated_version(), 70012);
        assert_eq!(n.advertised_version(), Some(70016));
    }

    #[test]
    fn core_sequence_is_accepted() {
        let nonces = SentNonces::new();
        let mut n = neg(false);
        n.receive(version(70016), &nonces).expect("version");
        for m in [
            Received::WtxidRelay,
            Received::SendAddrV2,
            Received::Unknown("sendtxrcncl"),
        ] {
            let step = n.receive(m, &nonces).expect("accepted");
            assert!(step.send.is_empty() && !step.done);
        }
        assert!(n.receive(Received::VerAck, &nonces).expect("verack").done);
        assert!(n.wants_addrv2() && n.wtxid_relay());
    }

    #[test]
    fn sendaddrv2_ignored_below_bip155() {
        let nonces = SentNonces::new();
        let mut n = neg(false);
        n.receive(version(70015), &nonces).expect("version");
        n.receive(Received::SendAddrV2, &nonces).expect("ok");
        assert!(!n.wants_addrv2());
    }

    #[test]
    fn version_must_come_first() {
        let nonces = SentNonces::new();
        let mut n = neg(true);
        let f = n.receive(Received::Other("ping"), &nonces).unwrap_err();
        assert_eq!(
            f.reason,
            DisconnectReason::VersionNotFirst {
                command: "ping".into()
            }
        );
        assert!(matches!(
            f.reject,
            Some(Outgoing::Reject {
                code: REJECT_MALFORMED,
                ..
            })
        ));
    }

    #[test]
    fn too_old_is_rejected_as_obsolete() {
        let nonces = SentNonces::new();
        let mut n = neg(true);
        let f = n.receive(version(208), &nonces).unwrap_err();
        assert_eq!(
            f.reason,
            DisconnectReason::ProtocolVersionTooLow {
                version: 208,
                min: 209
            }
        );
        assert!(matches!(
            f.reject,
            Some(Outgoing::Reject {
                code: REJECT_OBSOLETE,
                ..
            })
        ));
    }

    #[test]
    fn own_nonce_is_a_self_connection() {
        let nonces = SentNonces::new();
        let nonce = nonces.new_nonce();
        let mut n = neg(true);
        let f = n
            .receive(
                Received::Version {
                    protocol_version: 70016,
                    nonce,
                },
                &nonces,
            )
            .unwrap_err();
        assert_eq!(f.reason, DisconnectReason::SelfConnection);
        let mut allowed = neg(true).allow_self_connection(true);
        assert!(
            allowed
                .receive(
                    Received::Version {
                        protocol_version: 70016,
                        nonce
                    },
                    &nonces
                )
                .is_ok()
        );
    }

    #[test]
    fn sent_nonces_remember_fifty() {
        let nonces = SentNonces::new();
        let first = nonces.new_nonce();
        for _ in 0..MAX_SENT_NONCES - 1 {
            nonces.new_nonce();
        }
        assert!(nonces.contains(first));
        nonces.new_nonce();
        assert!(!nonces.contains(first));
    }

    #[test]
    fn duplicate_version_is_rejected() {
        let nonces = SentNonces::new();
        let mut n = neg(false);
        n.receive(version(70016), &nonces).expect("version");
        let f = n.receive(version(70016), &nonces).unwrap_err();
        assert_eq!(f.reason, DisconnectReason::DuplicateVersion);
        assert!(matches!(
            f.reject,
            Some(Outgoing::Reject {
                code: REJECT_DUPLICATE,
                ..
            })
        ));
    }

    #[test]
    fn other_message_before_verack_breaks_handshake() {
        let nonces = SentNonces::new();
        let mut n = neg(false);
        n.receive(version(70016), &nonces).expect("version");
        let f = n.receive(Received::Other("getdata"), &nonces).unwrap_err();
        assert_eq!(
            f.reason,
            DisconnectReason::InvalidHandshake {
                command: "getdata".into()
            }
        );
    }

    #[test]
    fn times_out_at_deadline_unless_done() {
        let t0 = Instant::now();
        let nonces = SentNonces::new();
        let mut n = Negotiation::new(false, 70016, 209, Duration::from_secs(5), t0);
        assert!(!n.timed_out(t0 + Duration::from_secs(4)));
        assert!(n.timed_out(t0 + Duration::from_secs(5)));
        n.receive(version(70016), &nonces).expect("version");
        n.receive(Received::VerAck, &nonces).expect("verack");
        assert!(!n.timed_out(t0 + Duration::from_secs(60)));
    }
}
