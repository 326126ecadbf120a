//! Network addresses as carried by `version`, `addr` and `addrv2` (BIP155), and service flags.
//! btcd counterpart: `wire/netaddress.go`, `wire/netaddressv2.go`, `wire/protocol.go`.
//!
//! This file holds the types, their wire encodings (the legacy 26/30-byte form and the BIP155
//! `addrv2` form) and their JSON form for the `decode`/`encode` tool.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::codec::{Reader, write_varint};
use super::error::Error;
use super::protocol::NET_ADDRESS_TIME_VERSION;

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

/// Largest legacy network address: timestamp 4, services 8, address 16, port 2
/// (btcd's `maxNetAddressPayload` at versions with timestamps).
pub fn max_net_address_payload(pver: u32) -> usize {
    if pver >= NET_ADDRESS_TIME_VERSION {
        30
    } else {
        26
    }
}

/// Largest BIP155 entry: timestamp 4, services varint 9, network id 1, length varint 3,
/// address 512, port 2 (btcd's `maxNetAddressV2Payload`).
pub const MAX_NET_ADDRESS_V2_PAYLOAD: usize = 4 + 9 + 1 + 3 + MAX_ADDRV2_ADDR_LEN + 2;

/// Reads a legacy network address. `with_timestamp` is false inside `version`, and the
/// timestamp is only on the wire from [`NET_ADDRESS_TIME_VERSION`] on.
pub fn read_net_address(
    r: &mut Reader<'_>,
    pver: u32,
    with_timestamp: bool,
) -> Result<NetAddress, Error> {
    let timestamp = if with_timestamp && pver >= NET_ADDRESS_TIME_VERSION {
        r.read_u32_le("address timestamp")?
    } else {
        0
    };
    let services = ServiceFlag(r.read_u64_le("address services")?);
    let addr = AddrV2::from_legacy_bytes(r.read_array::<16>("address ip")?);
    let port = r.read_u16_be("address port")?;
    Ok(NetAddress {
        timestamp,
        services,
        addr,
        port,
    })
}

/// Appends a legacy network address. Kinds with no 16-byte form (Tor v3, I2P) are written as
/// the unspecified address `::`; CJDNS is written as its IPv6 bytes. Only `version` reaches
/// this with such kinds: `addr` skips entries without a legacy form (see `MsgAddr`).
pub fn write_net_address(w: &mut Vec<u8>, pver: u32, na: &NetAddress, with_timestamp: bool) {
    if with_timestamp && pver >= NET_ADDRESS_TIME_VERSION {
        w.extend_from_slice(&na.timestamp.to_le_bytes());
    }
    w.extend_from_slice(&na.services.0.to_le_bytes());
    let ip = match na.addr {
        AddrV2::Cjdns(v6) => v6.octets(),
        other => other.to_legacy_bytes().unwrap_or([0; 16]),
    };
    w.extend_from_slice(&ip);
    w.extend_from_slice(&na.port.to_be_bytes());
}

/// Reads one BIP155 entry. `Ok(None)` means the entry was well formed but is skipped as
/// BIP155 says: an unknown network id (so a future network does not get us disconnected),
/// or an IPv6 entry carrying an IPv4-mapped or OnionCat address, or a CJDNS address outside
/// fc00::/8. A known network id with the wrong length is an error.
pub fn read_net_address_v2(r: &mut Reader<'_>) -> Result<Option<NetAddress>, Error> {
    let timestamp = r.read_u32_le("address timestamp")?;
    let services = ServiceFlag(r.read_varint("address services")?);
    let network_id = r.read_u8("address network id")?;
    let len = r.read_varint("address length")?;
    let want = match network_id {
        BIP155_IPV4 => 4,
        BIP155_IPV6 | BIP155_CJDNS => 16,
        BIP155_TORV2 => 10,
        BIP155_TORV3 | BIP155_I2P => 32,
        _ => {
            if len > MAX_ADDRV2_ADDR_LEN as u64 {
                return Err(Error::InvalidAddressSize { network_id, len });
            }
            // Checked against 512 just above, so the cast cannot truncate.
            r.read_bytes(len as usize + 2, "unknown network address")?;
            return Ok(None);
        }
    };
    if len != want {
        return Err(Error::InvalidAddressSize { network_id, len });
    }
    let raw = r.read_bytes(want as usize, "address")?;
    let port = r.read_u16_be("address port")?;
    let arr16 = || {
        let mut a = [0u8; 16];
        a.copy_from_slice(raw);
        a
    };
    let arr32 = || {
        let mut a = [0u8; 32];
        a.copy_from_slice(raw);
        a
    };
    let addr = match network_id {
        BIP155_IPV4 => AddrV2::Ipv4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3])),
        BIP155_IPV6 => {
            let b = arr16();
            let v6 = Ipv6Addr::from(b);
            if b[..6] == ONION_CAT_PREFIX || v6.to_ipv4_mapped().is_some() {
                return Ok(None);
            }
            AddrV2::Ipv6(v6)
        }
        BIP155_TORV2 => {
            let mut k = [0u8; 10];
            k.copy_from_slice(raw);
            AddrV2::TorV2(k)
        }
        BIP155_TORV3 => AddrV2::TorV3(arr32()),
        BIP155_I2P => AddrV2::I2p(arr32()),
        _ => {
            let b = arr16();
            if b[0] != 0xfc {
                return Ok(None);
            }
            AddrV2::Cjdns(Ipv6Addr::from(b))
        }
    };
    Ok(Some(NetAddress {
        timestamp,
        services,
        addr,
        port,
    }))
}

/// Appends one BIP155 entry.
pub fn write_net_address_v2(w: &mut Vec<u8>, na: &NetAddress) {
    w.extend_from_slice(&na.timestamp.to_le_bytes());
    write_varint(w, na.services.0);
    w.push(na.addr.network_id());
    let (buf, len): ([u8; 32], usize) = match na.addr {
        AddrV2::Ipv4(v4) => (pad(&v4.octets()), 4),
        AddrV2::Ipv6(v6) | AddrV2::Cjdns(v6) => (pad(&v6.octets()), 16),
        AddrV2::TorV2(k) => (pad(&k), 10),
        AddrV2::TorV3(k) | AddrV2::I2p(k) => (k, 32),
    };
    write_varint(w, len as u64);
    w.extend_from_slice(&buf[..len]);
    w.extend_from_slice(&na.port.to_be_bytes());
}

fn pad(b: &[u8]) -> [u8; 32] {
    let mut a = [0u8; 32];
    a[..b.len()].copy_from_slice(b);
    a
}

impl std::fmt::Display for AddrV2 {
    /// The JSON form: IP addresses as usual, other kinds as `kind:hex` (`torv2:`, `torv3:`,
    /// `i2p:`) and `cjdns:` plus the IPv6 text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AddrV2::Ipv4(v4) => write!(f, "{v4}"),
            AddrV2::Ipv6(v6) => write!(f, "{v6}"),
            AddrV2::TorV2(k) => write!(f, "torv2:{}", super::hex::encode(k)),
            AddrV2::TorV3(k) => write!(f, "torv3:{}", super::hex::encode(k)),
            AddrV2::I2p(k) => write!(f, "i2p:{}", super::hex::encode(k)),
            AddrV2::Cjdns(v6) => write!(f, "cjdns:{v6}"),
        }
    }
}

impl std::str::FromStr for AddrV2 {
    type Err = String;

    /// Parses the form [`AddrV2`]'s `Display` writes.
    fn from_str(s: &str) -> Result<AddrV2, String> {
        let key = |hex: &str| -> Result<Vec<u8>, String> { super::hex::decode(hex) };
        let fixed = |v: Vec<u8>, n: usize| -> Result<Vec<u8>, String> {
            if v.len() == n {
                Ok(v)
            } else {
                Err(format!("address {s:?}: want {n} bytes, got {}", v.len()))
            }
        };
        if let Some(h) = s.strip_prefix("torv2:") {
            let v = fixed(key(h)?, 10)?;
            let mut k = [0u8; 10];
            k.copy_from_slice(&v);
            return Ok(AddrV2::TorV2(k));
        }
        for (prefix, torv3) in [("torv3:", true), ("i2p:", false)] {
            if let Some(h) = s.strip_prefix(prefix) {
                let v = fixed(key(h)?, 32)?;
                let mut k = [0u8; 32];
                k.copy_from_slice(&v);
                return Ok(if torv3 {
                    AddrV2::TorV3(k)
                } else {
                    AddrV2::I2p(k)
                });
            }
        }
        if let Some(ip) = s.strip_prefix("cjdns:") {
            return ip
                .parse::<Ipv6Addr>()
                .map(AddrV2::Cjdns)
                .map_err(|e| format!("address {s:?}: {e}"));
        }
        match s.parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) => Ok(AddrV2::Ipv4(v4)),
            Ok(IpAddr::V6(v6)) => Ok(AddrV2::Ipv6(v6)),
            Err(e) => Err(format!("address {s:?}: {e}")),
        }
    }
}

impl serde::Serialize for AddrV2 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for AddrV2 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AddrV2, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for ServiceFlag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for ServiceFlag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ServiceFlag, D::Error> {
        u64::deserialize(d).map(ServiceFlag)
    }
}

/// The JSON shape of a [`NetAddress`].
#[derive(serde::Serialize, serde::Deserialize)]
struct NetAddressJson {
    #[serde(default)]
    timestamp: u32,
    services: ServiceFlag,
    addr: AddrV2,
    port: u16,
}

impl serde::Serialize for NetAddress {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        NetAddressJson {
            timestamp: self.timestamp,
            services: self.services,
            addr: self.addr,
            port: self.port,
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for NetAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<NetAddress, D::Error> {
        let j = NetAddressJson::deserialize(d)?;
        Ok(NetAddress {
            timestamp: j.timestamp,
            services: j.services,
            addr: j.addr,
            port: j.port,
        })
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
