//! Network addresses as carried by `version`, `addr` and `addrv2` (BIP155), and service flags.
//! btcd counterpart: `wire/netaddress.go`, `wire/netaddressv2.go`, `wire/protocol.go`.
//!
//! Encoding and decoding live with the messages that carry them; this file holds the types.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Service bits a node advertises (btcd's `ServiceFlag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct ServiceFlag(pub u64);

impl ServiceFlag {
    /// No services.
    pub const NONE: ServiceFlag = ServiceFlag(0);
    /// A full node that serves the whole block chain (`SFNodeNetwork`).
    pub const NODE_NETWORK: ServiceFlag = ServiceFlag(1);
    /// BIP64 getutxo support (`SFNodeGetUTXO`).
    pub const NODE_GETUTXO: ServiceFlag = ServiceFlag(1 << 1);
    /// BIP111 bloom filtering (`SFNodeBloom`).
    pub const NODE_BLOOM: ServiceFlag = ServiceFlag(1 << 2);
    /// BIP144 segregated witness (`SFNodeWitness`).
    pub const NODE_WITNESS: ServiceFlag = ServiceFlag(1 << 3);
    /// Xthin blocks (`SFNodeXthin`).
    pub const NODE_XTHIN: ServiceFlag = ServiceFlag(1 << 4);
    /// Bit 5, reserved (`SFNodeBit5`).
    pub const NODE_BIT5: ServiceFlag = ServiceFlag(1 << 5);
    /// BIP157 committed filters (`SFNodeCF`).
    pub const NODE_CF: ServiceFlag = ServiceFlag(1 << 6);
    /// Segwit2x (`SFNode2X`).
    pub const NODE_2X: ServiceFlag = ServiceFlag(1 << 7);
    /// BIP159: serves the last 288 blocks only (`SFNodeNetworkLimited`).
    pub const NODE_NETWORK_LIMITED: ServiceFlag = ServiceFlag(1 << 10);
    /// BIP324 v2 transport (`NODE_P2P_V2` in Bitcoin Core).
    pub const NODE_P2P_V2: ServiceFlag = ServiceFlag(1 << 11);

    /// Whether every bit of `other` is set in `self`.
    pub fn has(self, other: ServiceFlag) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for ServiceFlag {
    type Output = ServiceFlag;
    fn bitor(self, rhs: ServiceFlag) -> ServiceFlag {
        ServiceFlag(self.0 | rhs.0)
    }
}

/// BIP155 network id of an IPv4 address.
pub const BIP155_IPV4: u8 = 1;
/// BIP155 network id of an IPv6 address.
pub const BIP155_IPV6: u8 = 2;
/// BIP155 network id of a Tor v2 onion (deprecated; read only).
pub const BIP155_TORV2: u8 = 3;
/// BIP155 network id of a Tor v3 onion (32-byte ed25519 public key).
pub const BIP155_TORV3: u8 = 4;
/// BIP155 network id of an I2P address (32-byte SHA-256 of the destination).
pub const BIP155_I2P: u8 = 5;
/// BIP155 network id of a CJDNS address (IPv6 in fc00::/8).
pub const BIP155_CJDNS: u8 = 6;

/// BIP155 caps the address field at 512 bytes; longer is a protocol violation.
pub const MAX_ADDRV2_ADDR_LEN: usize = 512;

/// The address part of a BIP155 network address: every kind is a first-class value,
/// not only what fits in 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddrV2 {
    /// IPv4.
    Ipv4(Ipv4Addr),
    /// IPv6 (never an IPv4-mapped address: those decode as [`AddrV2::Ipv4`]).
    Ipv6(Ipv6Addr),
    /// Tor v2 onion service, 10 bytes (deprecated; decoded, never sent).
    TorV2([u8; 10]),
    /// Tor v3 onion service: the 32-byte ed25519 public key.
    TorV3([u8; 32]),
    /// I2P: SHA-256 of the destination.
    I2p([u8; 32]),
    /// CJDNS: an IPv6 address in fc00::/8.
    Cjdns(Ipv6Addr),
}

impl AddrV2 {
    /// The BIP155 network id.
    pub fn network_id(&self) -> u8 {
        match self {
            AddrV2::Ipv4(_) => BIP155_IPV4,
            AddrV2::Ipv6(_) => BIP155_IPV6,
            AddrV2::TorV2(_) => BIP155_TORV2,
            AddrV2::TorV3(_) => BIP155_TORV3,
            AddrV2::I2p(_) => BIP155_I2P,
            AddrV2::Cjdns(_) => BIP155_CJDNS,
        }
    }

    /// An IP address as an `AddrV2`; IPv4-mapped IPv6 addresses become IPv4.
    pub fn from_ip(ip: IpAddr) -> AddrV2 {
        match ip {
            IpAddr::V4(v4) => AddrV2::Ipv4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddrV2::Ipv4(v4),
                None => AddrV2::Ipv6(v6),
            },
        }
    }

    /// The IP address, for the kinds that have one a socket can dial directly.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            AddrV2::Ipv4(v4) => Some(IpAddr::V4(*v4)),
            AddrV2::Ipv6(v6) => Some(IpAddr::V6(*v6)),
            _ => None,
        }
    }

    /// The 16-byte legacy (`addr` message) form, for the kinds that have one: IPv4 as
    /// IPv4-mapped IPv6, IPv6 as is, Tor v2 in the OnionCat range fd87:d87e:eb43::/48.
    pub fn to_legacy_bytes(&self) -> Option<[u8; 16]> {
        match self {
            AddrV2::Ipv4(v4) => Some(v4.to_ipv6_mapped().octets()),
            AddrV2::Ipv6(v6) => Some(v6.octets()),
            AddrV2::TorV2(k) => {
                let mut b = [0u8; 16];
                b[..6].copy_from_slice(&ONION_CAT_PREFIX);
                b[6..].copy_from_slice(k);
                Some(b)
            }
            _ => None,
        }
    }

    /// The address from its 16-byte legacy form (IPv4-mapped becomes IPv4, OnionCat becomes
    /// Tor v2).
    pub fn from_legacy_bytes(b: [u8; 16]) -> AddrV2 {
        if b[..6] == ONION_CAT_PREFIX {
            let mut k = [0u8; 10];
            k.copy_from_slice(&b[6..]);
            return AddrV2::TorV2(k);
        }
        AddrV2::from_ip(IpAddr::V6(Ipv6Addr::from(b)))
    }
}

/// The OnionCat prefix fd87:d87e:eb43::/48 that carries Tor v2 keys in 16-byte addresses.
pub const ONION_CAT_PREFIX: [u8; 6] = [0xfd, 0x87, 0xd8, 0x7e, 0xeb, 0x43];

/// A network address with its services and last-seen time (btcd's `NetAddressV2`; the
/// legacy `NetAddress` is the subset whose address fits in 16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetAddress {
    /// Last time the address was seen, seconds since the Unix epoch (u32 on the wire; absent
    /// in `version` messages, where it is zero).
    pub timestamp: u32,
    /// Services the node at this address advertises.
    pub services: ServiceFlag,
    /// The address.
    pub addr: AddrV2,
    /// The port.
    pub port: u16,
}

impl NetAddress {
    /// An address for a socket address with the given services and a zero timestamp.
    pub fn from_socket_addr(sa: SocketAddr, services: ServiceFlag) -> NetAddress {
        NetAddress {
            timestamp: 0,
            services,
            addr: AddrV2::from_ip(sa.ip()),
            port: sa.port(),
        }
    }

    /// The socket address, for IPv4 and IPv6 addresses.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.addr.ip().map(|ip| SocketAddr::new(ip, self.port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_ipv4_becomes_ipv4() {
        let a = AddrV2::from_legacy_bytes(Ipv4Addr::new(127, 0, 0, 1).to_ipv6_mapped().octets());
        assert_eq!(a, AddrV2::Ipv4(Ipv4Addr::LOCALHOST));
        assert_eq!(
            AddrV2::from_legacy_bytes(a.to_legacy_bytes().expect("v4")),
            a
        );
        let onion = AddrV2::TorV2([7; 10]);
        assert_eq!(
            AddrV2::from_legacy_bytes(onion.to_legacy_bytes().expect("v2")),
            onion
        );
    }
}
