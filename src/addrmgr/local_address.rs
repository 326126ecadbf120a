//! Our own addresses and which one to advertise to a given peer, by how well the peer can
//! reach each of them. btcd counterpart: `AddLocalAddress`, `getReachabilityFrom` and
//! `GetBestLocalAddress` in `addrmgr/addrmanager.go`.

use super::error::Error;
use super::known_address::wire_timestamp;
use super::network::{
    is_ipv4, is_onion_cat_tor, is_rfc3964, is_rfc4380, is_rfc6052, is_rfc6145, is_routable,
};
use crate::wire::{AddrV2, NetAddress, ServiceFlag};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::SystemTime;

/// How a local address was discovered; later kinds are trusted more (btcd's
/// `AddressPriority`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AddressPriority {
    /// The address is on a local interface (`InterfacePrio`).
    Interface = 0,
    /// The address has been explicitly bound to (`BoundPrio`).
    Bound = 1,
    /// The address was obtained from UPnP (`UpnpPrio`).
    Upnp = 2,
    /// The address was obtained from an external HTTP service (`HTTPPrio`).
    Http = 3,
    /// The address was given with `--externalip` (`ManualPrio`).
    Manual = 4,
}

/// Reachability of a local address from a remote one, worst to best (btcd's constants in
/// `getReachabilityFrom`).
pub mod reach {
    /// The remote cannot reach it.
    pub const UNREACHABLE: u8 = 0;
    /// It may or may not work.
    pub const DEFAULT: u8 = 1;
    /// Teredo to Teredo.
    pub const TEREDO: u8 = 2;
    /// IPv6 that is tunnelled, or offered to a Teredo peer.
    pub const IPV6_WEAK: u8 = 3;
    /// IPv4.
    pub const IPV4: u8 = 4;
    /// Native IPv6.
    pub const IPV6_STRONG: u8 = 5;
    /// The same overlay network (Tor to Tor, I2P to I2P, CJDNS to CJDNS).
    pub const PRIVATE: u8 = 6;
}

/// How well `remote` can reach `local` (btcd's `getReachabilityFrom`, extended to I2P and
/// CJDNS: the same overlay is private, any other pairing with them is default).
pub fn reachability_from(local: &AddrV2, remote: &AddrV2) -> u8 {
    let local = local.canonical();
    let remote = remote.canonical();
    if !is_routable(&remote) {
        return reach::UNREACHABLE;
    }
    match remote {
        AddrV2::TorV3(_) => {
            return match local {
                AddrV2::TorV3(_) => reach::PRIVATE,
                // Modern v3 clients cannot connect to deprecated v2 services.
                _ if is_onion_cat_tor(&local) => reach::UNREACHABLE,
                _ if is_routable(&local) && is_ipv4(&local) => reach::IPV4,
                _ => reach::DEFAULT,
            };
        }
        AddrV2::I2p(_) => {
            return match local {
                AddrV2::I2p(_) => reach::PRIVATE,
                _ => reach::DEFAULT,
            };
        }
        AddrV2::Cjdns(_) => {
            return match local {
                AddrV2::Cjdns(_) => reach::PRIVATE,
                _ => reach::DEFAULT,
            };
        }
        _ => {}
    }
    // We cannot be sure the remote can use an overlay address of ours.
    if matches!(local, AddrV2::TorV3(_) | AddrV2::I2p(_) | AddrV2::Cjdns(_)) {
        return reach::DEFAULT;
    }
    if is_onion_cat_tor(&remote) {
        if is_onion_cat_tor(&local) {
            return reach::PRIVATE;
        }
        if is_routable(&local) && is_ipv4(&local) {
            return reach::IPV4;
        }
        return reach::DEFAULT;
    }
    if is_rfc4380(&remote) {
        return ipv6_reach(&local, reach::IPV6_WEAK);
    }
    if is_ipv4(&remote) {
        if is_routable(&local) && is_ipv4(&local) {
            return reach::IPV4;
        }
        return reach::UNREACHABLE;
    }
    // IPv6 remote.
    let tunnelled = is_rfc3964(&local) || is_rfc6052(&local) || is_rfc6145(&local);
    // Only prefer IPv6 when it is not tunnelled.
    let ipv6 = if tunnelled {
        reach::IPV6_WEAK
    } else {
        reach::IPV6_STRONG
    };
    ipv6_reach(&local, ipv6)
}

/// How well `local` reaches a Teredo or IPv6 remote: not at all unless routable, then Teredo,
/// IPv4, or `ipv6` (weak or strong) for an IPv6 local address.
fn ipv6_reach(local: &AddrV2, ipv6: u8) -> u8 {
    if !is_routable(local) {
        return reach::DEFAULT;
    }
    if is_rfc4380(local) {
        return reach::TEREDO;
    }
    if is_ipv4(local) {
        return reach::IPV4;
    }
    ipv6
}

/// Our advertisable addresses with their scores, in the order they were added.
#[derive(Debug, Default, Clone)]
pub struct LocalAddresses {
    addrs: Vec<(NetAddress, i32)>,
}

impl LocalAddresses {
    /// Adds `na` with `priority` (btcd's `AddLocalAddress`). Adding a known address again
    /// with a higher priority raises its score to that priority plus one, as btcd does.
    pub fn add(&mut self, na: &NetAddress, priority: AddressPriority) -> Result<(), Error> {
        let mut na = *na;
        na.addr = na.addr.canonical();
        if !is_routable(&na.addr) {
            return Err(Error::NotRoutable(na.to_string()));
        }
        let prio = priority as i32;
        match self
            .addrs
            .iter_mut()
            .find(|(a, _)| a.addr == na.addr && a.port == na.port)
        {
            Some((_, score)) if *score < prio => *score = prio + 1,
            Some(_) => {}
            None => self.addrs.push((na, prio)),
        }
        Ok(())
    }

    /// Number of local addresses.
    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    /// Every local address with its score, in the order they were added.
    pub fn list(&self) -> Vec<(NetAddress, i32)> {
        self.addrs.clone()
    }

    /// The local address to advertise to `remote` (btcd's `GetBestLocalAddress`): best
    /// reachability, then best score, earliest added on ties. With none reachable, an
    /// unroutable placeholder (0.0.0.0, or :: for an IPv6-like remote) with port 0.
    pub fn best(&self, remote: &NetAddress, now: SystemTime) -> NetAddress {
        let mut best_reach = reach::UNREACHABLE;
        let mut best_score = AddressPriority::Interface as i32;
        let mut best = None;
        for (na, score) in &self.addrs {
            let r = reachability_from(&na.addr, &remote.addr);
            if r > best_reach || (r == best_reach && *score > best_score) {
                best_reach = r;
                best_score = *score;
                best = Some(*na);
            }
        }
        if let Some(na) = best {
            log::debug!(target: "btcnode::addrmgr", "suggesting address {na} for {remote}");
            return na;
        }
        log::debug!(target: "btcnode::addrmgr", "no worthy address for {remote}");
        let remote_addr = remote.addr.canonical();
        let addr = if matches!(remote_addr, AddrV2::TorV3(_))
            || is_ipv4(&remote_addr)
            || is_onion_cat_tor(&remote_addr)
        {
            AddrV2::Ipv4(Ipv4Addr::UNSPECIFIED)
        } else {
            AddrV2::Ipv6(Ipv6Addr::UNSPECIFIED)
        };
        NetAddress {
            timestamp: wire_timestamp(now),
            services: ServiceFlag::NODE_NETWORK
                | ServiceFlag::NODE_WITNESS
                | ServiceFlag::NODE_BLOOM,
            addr,
            port: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn na(s: &str) -> NetAddress {
        NetAddress {
            timestamp: 0,
            services: ServiceFlag::NODE_NETWORK,
            addr: crate::wire::netaddress_str::parse_host(s).expect(s),
            port: 8333,
        }
    }

    #[test]
    fn reachability_table() {
        let tor3 = AddrV2::TorV3([5; 32]);
        let cases: &[(&str, AddrV2, u8)] = &[
            ("12.1.2.3", na("13.1.2.3").addr, reach::IPV4),
            ("2602:100::1", na("13.1.2.3").addr, reach::UNREACHABLE),
            ("12.1.2.3", na("2602:100::2").addr, reach::IPV4),
            ("2602:100::1", na("2602:100::2").addr, reach::IPV6_STRONG),
            ("2002:c01:203::1", na("2602:100::2").addr, reach::IPV6_WEAK),
            ("2001::1", na("2602:100::2").addr, reach::TEREDO),
            ("2001::1", na("2001::2").addr, reach::TEREDO),
            ("2602:100::1", na("2001::2").addr, reach::IPV6_WEAK),
            ("12.1.2.3", na("2001::2").addr, reach::IPV4),
            ("12.1.2.3", tor3, reach::IPV4),
            ("fd87:d87e:eb43::1", tor3, reach::UNREACHABLE),
            (
                "fd87:d87e:eb43::1",
                na("fd87:d87e:eb43::2").addr,
                reach::PRIVATE,
            ),
            ("12.1.2.3", na("10.0.0.1").addr, reach::UNREACHABLE),
        ];
        for (local, remote, want) in cases {
            assert_eq!(
                reachability_from(&na(local).addr, remote),
                *want,
                "{local} -> {remote}"
            );
        }
        assert_eq!(reachability_from(&tor3, &tor3), reach::PRIVATE);
        assert_eq!(
            reachability_from(&tor3, &na("13.1.2.3").addr),
            reach::DEFAULT
        );
        let i2p = AddrV2::I2p([1; 32]);
        assert_eq!(reachability_from(&i2p, &i2p), reach::PRIVATE);
        assert_eq!(
            reachability_from(&na("12.1.2.3").addr, &i2p),
            reach::DEFAULT
        );
    }

    #[test]
    fn best_local_address_by_reach_then_score() {
        let now = UNIX_EPOCH;
        let mut l = LocalAddresses::default();
        assert!(l.add(&na("10.0.0.1"), AddressPriority::Manual).is_err());
        l.add(&na("12.1.2.3"), AddressPriority::Interface)
            .expect("add");
        l.add(&na("12.1.2.4"), AddressPriority::Bound).expect("add");
        l.add(&na("2602:100::1"), AddressPriority::Interface)
            .expect("add");
        assert_eq!(l.best(&na("13.1.2.3"), now), na("12.1.2.4"));
        assert_eq!(l.best(&na("2602:100::9"), now), na("2602:100::1"));
        // Raising a known address's priority gives priority + 1 (btcd).
        l.add(&na("12.1.2.3"), AddressPriority::Bound).expect("add");
        assert_eq!(l.best(&na("13.1.2.3"), now), na("12.1.2.3"));
        // Nothing reachable: an unroutable placeholder of the remote's family.
        let empty = LocalAddresses::default();
        let p = empty.best(&na("13.1.2.3"), now);
        assert_eq!(p.addr, AddrV2::Ipv4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(p.port, 0);
        let p = empty.best(&na("2602:100::9"), now);
        assert_eq!(p.addr, AddrV2::Ipv6(Ipv6Addr::UNSPECIFIED));
    }
}
