//! Admission: whether a new connection may become a peer. A plain struct over chosen
//! counts, no sockets, run by the `server` thread in `ServerState::add_peer`.
//!
//! btcd's `handleAddPeerMsg` refuses banned hosts and anything past `--maxpeers`, so inbound
//! peers can take every slot and lock out the node's own outbound connections (an eclipse).
//! Here, as in Bitcoin Core, outbound slots are reserved: `--maxpeers` keeps btcd's meaning
//! (all peers), inbound gets what is left after the outbound target and the manual peers
//! (`--connect`, `--addpeer`, RPC `addnode`), and a full inbound side asks for an eviction
//! ([`crate::server::eviction`]) instead of refusing outright.

use std::fmt;

/// How many peers of each kind are connected now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerCounts {
    /// Inbound peers (whitelisted ones included: they count, as in Core).
    pub inbound: usize,
    /// Automatic outbound peers (from the address book).
    pub auto_outbound: usize,
}

/// The kind of connection asking to be admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewConnection {
    /// An accepted socket.
    Inbound {
        /// Covered by `--whitelist`.
        whitelisted: bool,
        /// Its host is banned.
        banned: bool,
    },
    /// A dial from the address book.
    AutoOutbound {
        /// Its netgroup (addrmgr's `group_key`).
        group: String,
        /// Another automatic outbound peer is already in that group.
        group_taken: bool,
        /// Its host is banned.
        banned: bool,
    },
    /// `--connect`, `--addpeer` or RPC `addnode`: the operator asked for it.
    Manual,
}

/// What to do with a new connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Start it.
    Admit,
    /// Inbound is full: evict an inbound peer first, refuse if nobody can go.
    EvictFirst,
    /// Refuse it.
    Refuse(Refusal),
}

/// Why a connection was refused: what the log says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The host is banned.
    Banned,
    /// Every automatic outbound slot is in use.
    OutboundFull {
        /// The outbound target.
        target: usize,
    },
    /// One automatic outbound peer per netgroup (btcd's `outboundGroups`).
    GroupTaken {
        /// The group.
        group: String,
    },
    /// No inbound slots at all (max peers is all outbound).
    NoInboundSlots,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Banned => write!(f, "banned"),
            Refusal::OutboundFull { target } => {
                write!(f, "all {target} automatic outbound slots in use")
            }
            Refusal::GroupTaken { group } => {
                write!(f, "already have an outbound peer in group {group}")
            }
            Refusal::NoInboundSlots => write!(f, "no inbound slots (max peers all outbound)"),
        }
    }
}

/// The slot rules: `--maxpeers`, the automatic outbound target and the manual peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// `--maxpeers` (btcd's meaning: inbound and outbound together).
    pub max_peers: usize,
    /// Automatic outbound connections the connection manager keeps (0 with `--connect`).
    pub target_outbound: usize,
    /// Manual peers configured (`--connect`, `--addpeer`, `addnode add`): each reserves a slot.
    pub manual: usize,
}

impl Admission {
    /// Inbound slots: max peers minus the reserved outbound ones (btcd: inbound gets what
    /// the outbound target leaves).
    pub fn max_inbound(&self) -> usize {
        self.max_peers
            .saturating_sub(self.target_outbound)
            .saturating_sub(self.manual)
    }

    /// Whether groups of this kind get one automatic outbound peer only. Local and
    /// unroutable addresses all share one addrmgr group; limiting them to one peer would
    /// stop a loopback or LAN test network from ever having two, and they are not the
    /// internet-wide address space an eclipse attacker buys.
    pub fn group_limited(group: &str) -> bool {
        group != "local" && group != "unroutable"
    }

    /// What to do with `new`, given what is connected now.
    pub fn decide(&self, new: &NewConnection, counts: PeerCounts) -> Decision {
        match new {
            NewConnection::Manual => Decision::Admit,
            NewConnection::AutoOutbound {
                group,
                group_taken,
                banned,
            } => {
                if *banned {
                    Decision::Refuse(Refusal::Banned)
                } else if counts.auto_outbound >= self.target_outbound {
                    Decision::Refuse(Refusal::OutboundFull {
                        target: self.target_outbound,
                    })
                } else if *group_taken && Admission::group_limited(group) {
                    Decision::Refuse(Refusal::GroupTaken {
                        group: group.clone(),
                    })
                } else {
                    Decision::Admit
                }
            }
            NewConnection::Inbound {
                whitelisted: true, ..
            } => Decision::Admit,
            NewConnection::Inbound { banned: true, .. } => Decision::Refuse(Refusal::Banned),
            NewConnection::Inbound { .. } => {
                if self.max_inbound() == 0 {
                    Decision::Refuse(Refusal::NoInboundSlots)
                } else if counts.inbound >= self.max_inbound() {
                    Decision::EvictFirst
                } else {
                    Decision::Admit
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: Admission = Admission {
        max_peers: 125,
        target_outbound: 8,
        manual: 0,
    };

    fn inbound() -> NewConnection {
        NewConnection::Inbound {
            whitelisted: false,
            banned: false,
        }
    }

    fn auto(group: &str, group_taken: bool) -> NewConnection {
        NewConnection::AutoOutbound {
            group: group.into(),
            group_taken,
            banned: false,
        }
    }

    #[test]
    fn inbound_gets_max_peers_minus_outbound() {
        assert_eq!(DEFAULT.max_inbound(), 117);
        let with_manual = Admission {
            manual: 2,
            ..DEFAULT
        };
        assert_eq!(with_manual.max_inbound(), 115);
        let tiny = Admission {
            max_peers: 4,
            target_outbound: 8,
            manual: 0,
        };
        assert_eq!(tiny.max_inbound(), 0);
        assert_eq!(
            tiny.decide(&inbound(), PeerCounts::default()),
            Decision::Refuse(Refusal::NoInboundSlots)
        );
    }

    #[test]
    fn full_inbound_asks_for_eviction() {
        let c = |inbound| PeerCounts {
            inbound,
            auto_outbound: 0,
        };
        assert_eq!(DEFAULT.decide(&inbound(), c(116)), Decision::Admit);
        assert_eq!(DEFAULT.decide(&inbound(), c(117)), Decision::EvictFirst);
    }

    #[test]
    fn inbound_never_takes_outbound_slots() {
        // 117 inbound peers (the most there can be) leave all 8 automatic slots.
        let full = PeerCounts {
            inbound: 117,
            auto_outbound: 7,
        };
        assert_eq!(
            DEFAULT.decide(&auto("8.8.0.0", false), full),
            Decision::Admit
        );
        assert_eq!(
            DEFAULT.decide(&NewConnection::Manual, full),
            Decision::Admit
        );
        let outbound_full = PeerCounts {
            inbound: 0,
            auto_outbound: 8,
        };
        assert_eq!(
            DEFAULT.decide(&auto("8.8.0.0", false), outbound_full),
            Decision::Refuse(Refusal::OutboundFull { target: 8 })
        );
    }

    #[test]
    fn manual_always_admitted() {
        let c = PeerCounts {
            inbound: 500,
            auto_outbound: 500,
        };
        let none = Admission {
            max_peers: 0,
            target_outbound: 0,
            manual: 0,
        };
        assert_eq!(none.decide(&NewConnection::Manual, c), Decision::Admit);
    }

    #[test]
    fn whitelisted_inbound_admitted_but_counted() {
        let wl = NewConnection::Inbound {
            whitelisted: true,
            banned: true,
        };
        let full = PeerCounts {
            inbound: 117,
            auto_outbound: 8,
        };
        assert_eq!(DEFAULT.decide(&wl, full), Decision::Admit);
        // It counts: the next ordinary inbound peer needs an eviction.
        let after = PeerCounts {
            inbound: 118,
            ..full
        };
        assert_eq!(DEFAULT.decide(&inbound(), after), Decision::EvictFirst);
    }

    #[test]
    fn banned_refused() {
        let banned = NewConnection::Inbound {
            whitelisted: false,
            banned: true,
        };
        assert_eq!(
            DEFAULT.decide(&banned, PeerCounts::default()),
            Decision::Refuse(Refusal::Banned)
        );
        let banned_out = NewConnection::AutoOutbound {
            group: "1.2.0.0".into(),
            group_taken: false,
            banned: true,
        };
        assert_eq!(
            DEFAULT.decide(&banned_out, PeerCounts::default()),
            Decision::Refuse(Refusal::Banned)
        );
    }

    #[test]
    fn one_automatic_outbound_per_netgroup() {
        assert_eq!(
            DEFAULT.decide(&auto("1.2.0.0", true), PeerCounts::default()),
            Decision::Refuse(Refusal::GroupTaken {
                group: "1.2.0.0".into()
            })
        );
        assert_eq!(
            DEFAULT.decide(&auto("tor:3", true), PeerCounts::default()),
            Decision::Refuse(Refusal::GroupTaken {
                group: "tor:3".into()
            })
        );
        // Loopback test networks keep several.
        assert_eq!(
            DEFAULT.decide(&auto("local", true), PeerCounts::default()),
            Decision::Admit
        );
    }
}
