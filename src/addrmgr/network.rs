//! Network classes of addresses: which reserved range an address is in, whether it is
//! routable on the public internet, and its network group (the key bucket placement uses so
//! one operator's range cannot fill the book). Pure functions, no threads.
//! btcd counterpart: `addrmgr/network.go`.
//!
//! Differences from btcd, each deliberate:
//! - IPv4 multicast (224.0.0.0/4), IPv4 class E (240.0.0.0/4) and IPv6 multicast (ff00::/8)
//!   are not routable; btcd accepts them and would gossip and dial them.
//! - I2P and CJDNS (which btcd skips) are first-class: I2P is routable and grouped as
//!   `i2p:N`, CJDNS is routable in fc00::/8 and grouped as `cjdns:N`, where N is four bits of
//!   the key-derived part of the address, as btcd does for Tor (`tor:N`).

use crate::wire::AddrV2;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The IP view btcd's checks work on (its legacy `NetAddress.IP`): IPv4, or 16 bytes of IPv6
/// with Tor v2 in its OnionCat encoding.
#[derive(Clone, Copy)]
enum Ip {
    V4([u8; 4]),
    V6([u8; 16]),
}

fn legacy_ip(addr: &AddrV2) -> Option<Ip> {
    match addr.canonical() {
        AddrV2::Ipv4(v4) => Some(Ip::V4(v4.octets())),
        a @ (AddrV2::Ipv6(_) | AddrV2::TorV2(_)) => a.to_legacy_bytes().map(Ip::V6),
        _ => None,
    }
}

/// Whether `addr` is inside the IPv4 network `net`/`ones`.
fn in_v4(addr: &AddrV2, net: [u8; 4], ones: u32) -> bool {
    match legacy_ip(addr) {
        Some(Ip::V4(b)) => {
            let mask = u32::MAX.checked_shl(32 - ones).unwrap_or(0);
            u32::from_be_bytes(b) & mask == u32::from_be_bytes(net) & mask
        }
        _ => false,
    }
}

/// Whether `addr` is inside the IPv6 network `net`/`ones`.
fn in_v6(addr: &AddrV2, net: Ipv6Addr, ones: u32) -> bool {
    match legacy_ip(addr) {
        Some(Ip::V6(b)) => {
            let mask = u128::MAX.checked_shl(128 - ones).unwrap_or(0);
            u128::from_be_bytes(b) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

const fn v6(s: [u16; 8]) -> Ipv6Addr {
    Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
}

/// Whether the address is IPv4 (including IPv4-mapped IPv6).
pub fn is_ipv4(addr: &AddrV2) -> bool {
    matches!(legacy_ip(addr), Some(Ip::V4(_)))
}

/// Loopback (127.0.0.0/8, ::1) or 0.0.0.0/8: btcd's "local".
pub fn is_local(addr: &AddrV2) -> bool {
    match legacy_ip(addr) {
        Some(Ip::V4(b)) => b[0] == 127 || b[0] == 0,
        Some(Ip::V6(b)) => Ipv6Addr::from(b) == Ipv6Addr::LOCALHOST,
        None => false,
    }
}

/// Tor v2 in the OnionCat range fd87:d87e:eb43::/48 (part of RFC 4193).
pub fn is_onion_cat_tor(addr: &AddrV2) -> bool {
    in_v6(addr, v6([0xfd87, 0xd87e, 0xeb43, 0, 0, 0, 0, 0]), 48)
}

/// RFC 1918 private IPv4: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16.
pub fn is_rfc1918(addr: &AddrV2) -> bool {
    in_v4(addr, [10, 0, 0, 0], 8)
        || in_v4(addr, [172, 16, 0, 0], 12)
        || in_v4(addr, [192, 168, 0, 0], 16)
}

/// RFC 2544 benchmarking: 198.18.0.0/15.
pub fn is_rfc2544(addr: &AddrV2) -> bool {
    in_v4(addr, [198, 18, 0, 0], 15)
}

/// RFC 3849 IPv6 documentation: 2001:db8::/32.
pub fn is_rfc3849(addr: &AddrV2) -> bool {
    in_v6(addr, v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]), 32)
}

/// RFC 3927 IPv4 link-local autoconfiguration: 169.254.0.0/16.
pub fn is_rfc3927(addr: &AddrV2) -> bool {
    in_v4(addr, [169, 254, 0, 0], 16)
}

/// RFC 3964 6to4: 2002::/16.
pub fn is_rfc3964(addr: &AddrV2) -> bool {
    in_v6(addr, v6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16)
}

/// RFC 4193 IPv6 unique local: fc00::/7.
pub fn is_rfc4193(addr: &AddrV2) -> bool {
    in_v6(addr, v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]), 7)
}

/// RFC 4380 Teredo: 2001::/32.
pub fn is_rfc4380(addr: &AddrV2) -> bool {
    in_v6(addr, v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 32)
}

/// RFC 4843 ORCHID: 2001:10::/28.
pub fn is_rfc4843(addr: &AddrV2) -> bool {
    in_v6(addr, v6([0x2001, 0x10, 0, 0, 0, 0, 0, 0]), 28)
}

/// RFC 4862 IPv6 link-local autoconfiguration: fe80::/64.
pub fn is_rfc4862(addr: &AddrV2) -> bool {
    in_v6(addr, v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]), 64)
}

/// RFC 5737 IPv4 documentation: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24.
pub fn is_rfc5737(addr: &AddrV2) -> bool {
    in_v4(addr, [192, 0, 2, 0], 24)
        || in_v4(addr, [198, 51, 100, 0], 24)
        || in_v4(addr, [203, 0, 113, 0], 24)
}

/// RFC 6052 IPv4-embedded IPv6 well-known prefix: 64:ff9b::/96.
pub fn is_rfc6052(addr: &AddrV2) -> bool {
    in_v6(addr, v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]), 96)
}

/// RFC 6145 IPv4-translated IPv6: ::ffff:0:0:0/96.
pub fn is_rfc6145(addr: &AddrV2) -> bool {
    in_v6(addr, v6([0, 0, 0, 0, 0xffff, 0, 0, 0]), 96)
}

/// RFC 6598 carrier-grade NAT shared space: 100.64.0.0/10.
pub fn is_rfc6598(addr: &AddrV2) -> bool {
    in_v4(addr, [100, 64, 0, 0], 10)
}

/// Multicast: 224.0.0.0/4 (RFC 5771) and ff00::/8 (RFC 4291). Not in btcd.
pub fn is_multicast(addr: &AddrV2) -> bool {
    in_v4(addr, [224, 0, 0, 0], 4) || in_v6(addr, v6([0xff00, 0, 0, 0, 0, 0, 0, 0]), 8)
}

/// IPv4 class E, reserved for future use: 240.0.0.0/4 (RFC 1112). Not in btcd.
pub fn is_class_e(addr: &AddrV2) -> bool {
    in_v4(addr, [240, 0, 0, 0], 4)
}

/// Hurricane Electric's 2001:470::/32, grouped by /36 as bitcoind and btcd do.
fn is_he_net(addr: &AddrV2) -> bool {
    in_v6(addr, v6([0x2001, 0x470, 0, 0, 0, 0, 0, 0]), 32)
}

/// btcd's `IsValid`: not unspecified (0.0.0.0, ::) and not the IPv4 broadcast address.
/// Non-IP kinds are valid, except CJDNS outside fc00::/8.
pub fn is_valid(addr: &AddrV2) -> bool {
    match addr.canonical() {
        AddrV2::Cjdns(ip) => ip.octets()[0] == 0xfc,
        AddrV2::TorV3(_) | AddrV2::I2p(_) => true,
        _ => match legacy_ip(addr) {
            Some(Ip::V4(b)) => b != [0; 4] && Ipv4Addr::from(b) != Ipv4Addr::BROADCAST,
            Some(Ip::V6(b)) => b != [0; 16],
            None => false,
        },
    }
}

/// Whether the address can be reached over its public network: valid and in no reserved
/// range. Tor, I2P and CJDNS (in fc00::/8) are routable. btcd's `IsRoutable` plus multicast
/// and class E.
pub fn is_routable(addr: &AddrV2) -> bool {
    match addr.canonical() {
        AddrV2::TorV3(_) | AddrV2::I2p(_) | AddrV2::Cjdns(_) => is_valid(addr),
        _ => {
            is_valid(addr)
                && !(is_rfc1918(addr)
                    || is_rfc2544(addr)
                    || is_rfc3927(addr)
                    || is_rfc4862(addr)
                    || is_rfc3849(addr)
                    || is_rfc4843(addr)
                    || is_rfc5737(addr)
                    || is_rfc6598(addr)
                    || is_local(addr)
                    || is_multicast(addr)
                    || is_class_e(addr)
                    || (is_rfc4193(addr) && !is_onion_cat_tor(addr)))
        }
    }
}

/// IPv4 /16 as Go prints a masked address: `a.b.0.0`.
fn v4_slash16(b: [u8; 4]) -> String {
    format!("{}.{}.0.0", b[0], b[1])
}

/// The network group of an address, as btcd's `GroupKey` spells it (these strings are hashed
/// into bucket positions, so they must match byte for byte): `local`, `unroutable`, the /16 of
/// IPv4 (`1.2.0.0`, also for the IPv4 inside RFC 6145/6052/3964 and Teredo addresses),
/// `tor:N` for onions (N the low four bits of the key's first byte), the /32 of IPv6
/// (/36 in he.net) printed as Go prints it; plus `i2p:N` and `cjdns:N` for the networks btcd
/// lacks.
pub fn group_key(addr: &AddrV2) -> String {
    let addr = addr.canonical();
    match addr {
        AddrV2::TorV3(k) => return format!("tor:{}", k[0] & 0x0f),
        AddrV2::I2p(k) => return format!("i2p:{}", k[0] & 0x0f),
        AddrV2::Cjdns(ip) if is_routable(&addr) => {
            // The first byte is the constant 0xfc; the key-derived bits follow it.
            return format!("cjdns:{}", ip.octets()[1] & 0x0f);
        }
        _ => {}
    }
    if is_local(&addr) {
        return "local".to_string();
    }
    if !is_routable(&addr) {
        return "unroutable".to_string();
    }
    let b = match legacy_ip(&addr) {
        Some(Ip::V4(b)) => return v4_slash16(b),
        Some(Ip::V6(b)) => b,
        None => return "unroutable".to_string(),
    };
    if is_rfc6145(&addr) || is_rfc6052(&addr) {
        return v4_slash16([b[12], b[13], b[14], b[15]]);
    }
    if is_rfc3964(&addr) {
        return v4_slash16([b[2], b[3], b[4], b[5]]);
    }
    if is_rfc4380(&addr) {
        // Teredo carries the client's IPv4 in the last four bytes, inverted.
        return v4_slash16([b[12] ^ 0xff, b[13] ^ 0xff, b[14] ^ 0xff, b[15] ^ 0xff]);
    }
    if is_onion_cat_tor(&addr) {
        return format!("tor:{}", b[6] & 0x0f);
    }
    let bits = if is_he_net(&addr) { 36 } else { 32 };
    let masked = u128::from_be_bytes(b) & u128::MAX.checked_shl(128 - bits).unwrap_or(0);
    Ipv6Addr::from(masked).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> AddrV2 {
        crate::wire::netaddress_str::parse_host(s).expect(s)
    }

    /// Every class btcd's network_test.go checks, with the answer for each predicate.
    #[test]
    fn classes_match_btcd_table() {
        type Pred = fn(&AddrV2) -> bool;
        let preds: [(&str, Pred); 16] = [
            ("ipv4", is_ipv4),
            ("local", is_local),
            ("onioncat", is_onion_cat_tor),
            ("1918", is_rfc1918),
            ("2544", is_rfc2544),
            ("3849", is_rfc3849),
            ("3927", is_rfc3927),
            ("3964", is_rfc3964),
            ("4193", is_rfc4193),
            ("4380", is_rfc4380),
            ("4843", is_rfc4843),
            ("4862", is_rfc4862),
            ("5737", is_rfc5737),
            ("6052", is_rfc6052),
            ("6145", is_rfc6145),
            ("6598", is_rfc6598),
        ];
        // (address, the predicates that hold, routable)
        let cases: &[(&str, &[&str], bool)] = &[
            ("10.255.255.255", &["ipv4", "1918"], false),
            ("172.31.255.255", &["ipv4", "1918"], false),
            ("172.32.0.0", &["ipv4"], true),
            ("192.168.1.1", &["ipv4", "1918"], false),
            ("198.19.0.1", &["ipv4", "2544"], false),
            ("198.20.0.1", &["ipv4"], true),
            ("2001:db8::1", &["3849"], false),
            ("169.254.0.1", &["ipv4", "3927"], false),
            ("2002::1", &["3964"], true),
            ("fc00::1", &["4193"], false),
            ("2001::1", &["4380"], true),
            ("2001:10::1", &["4843"], false),
            ("fe80::1", &["4862"], false),
            ("fe80:0:0:1::1", &[], true),
            ("192.0.2.1", &["ipv4", "5737"], false),
            ("198.51.100.1", &["ipv4", "5737"], false),
            ("203.0.113.1", &["ipv4", "5737"], false),
            ("64:ff9b::1.2.3.4", &["6052"], true),
            ("::ffff:0:1.2.3.4", &["6145"], true),
            ("100.64.0.1", &["ipv4", "6598"], false),
            ("100.128.0.1", &["ipv4"], true),
            ("127.0.0.1", &["ipv4", "local"], false),
            ("0.1.2.3", &["ipv4", "local"], false),
            ("::1", &["local"], false),
            ("fd87:d87e:eb43::1", &["onioncat", "4193"], true),
            ("12.1.2.3", &["ipv4"], true),
            ("2a00::1", &[], true),
            ("::ffff:12.1.2.3", &["ipv4"], true),
        ];
        for (s, holds, routable) in cases {
            let addr = a(s);
            for (name, p) in preds {
                assert_eq!(p(&addr), holds.contains(&name), "{s} {name}");
            }
            assert_eq!(is_routable(&addr), *routable, "{s} routable");
        }
    }

    #[test]
    fn invalid_addresses() {
        for s in ["0.0.0.0", "255.255.255.255", "::"] {
            assert!(!is_valid(&a(s)), "{s}");
            assert!(!is_routable(&a(s)), "{s}");
        }
        assert!(!is_valid(&AddrV2::Cjdns("fd00::1".parse().expect("v6"))));
    }

    /// btcd treats these as routable; they are not (multicast cannot be dialed, class E is
    /// reserved).
    #[test]
    fn multicast_and_class_e_not_routable() {
        for s in [
            "224.0.0.1",
            "239.255.255.255",
            "240.0.0.1",
            "254.1.2.3",
            "ff02::1",
            "ff0e::1",
        ] {
            assert!(!is_routable(&a(s)), "{s}");
            assert_eq!(group_key(&a(s)), "unroutable", "{s}");
        }
        assert!(is_routable(&a("223.255.255.255")));
    }

    #[test]
    fn group_keys_as_btcd() {
        let cases = [
            // Local and unroutable.
            ("127.0.0.1", "local"),
            ("::1", "local"),
            ("0.0.0.0", "local"),
            ("::", "unroutable"),
            ("10.1.2.3", "unroutable"),
            ("2001:db8::1", "unroutable"),
            // IPv4 /16, also when mapped.
            ("12.1.2.3", "12.1.0.0"),
            ("::ffff:12.1.2.3", "12.1.0.0"),
            // Embedded IPv4.
            ("::ffff:0:12.1.2.3", "12.1.0.0"),
            ("64:ff9b::12.1.2.3", "12.1.0.0"),
            ("2002:0c01:0203::", "12.1.0.0"),
            ("2001:0:1234::f3fe:fdfc", "12.1.0.0"),
            // IPv6 /32 and he.net /36.
            ("2602:100::1", "2602:100::"),
            ("2001:470:1f10:a1::2", "2001:470:1000::"),
            // Tor v2 via OnionCat: low 4 bits of the first key byte.
            ("fd87:d87e:eb43:1234::5", "tor:2"),
        ];
        for (s, want) in cases {
            assert_eq!(group_key(&a(s)), want, "{s}");
        }
    }

    #[test]
    fn group_keys_of_new_networks() {
        let mut k = [0u8; 32];
        k[0] = 0xa7;
        assert_eq!(group_key(&AddrV2::TorV3(k)), "tor:7");
        assert_eq!(group_key(&AddrV2::I2p(k)), "i2p:7");
        let cj = AddrV2::Cjdns("fc3b::1".parse().expect("v6"));
        assert!(is_routable(&cj));
        assert_eq!(group_key(&cj), "cjdns:11");
        assert!(is_routable(&AddrV2::TorV3(k)));
        assert!(is_routable(&AddrV2::I2p(k)));
        assert!(is_routable(&AddrV2::TorV2([1; 10])));
        assert_eq!(group_key(&AddrV2::TorV2([0x3f; 10])), "tor:15");
    }
}
