//! String forms of network addresses, as btcd and Bitcoin Core print them: dotted IPv4,
//! RFC 5952 IPv6, Tor v3 `<56 base32>.onion` with its SHA3-256 checksum, Tor v2
//! `<16 base32>.onion`, I2P `<52 base32>.b32.i2p`, CJDNS as IPv6; and `host:port` with IPv6
//! in brackets, which is how btcd's `peers.json` stores an address (`NetAddressKey`).
//! btcd counterpart: the `String()` methods in `wire/netaddressv2.go`, `addrmgr.NetAddressKey`
//! and `AddrManager.HostToNetAddress` (without its DNS lookup: host names are refused here,
//! resolving is the caller's business).

use super::netaddress::{AddrV2, NetAddress};
use sha3::{Digest, Sha3_256};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// RFC 4648 base32 alphabet, lower case as Tor, I2P and bitcoind print it.
const BASE32_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Tor v3 onion address version byte (rend-spec-v3 and BIP155).
const TORV3_VERSION: u8 = 0x03;

/// Prefix hashed into the Tor v3 onion checksum (rend-spec-v3).
const TORV3_CHECKSUM_PREFIX: &[u8] = b".onion checksum";

/// Suffix of Tor onion host names.
const ONION_SUFFIX: &str = ".onion";

/// Suffix of I2P host names (the base32 of the destination hash).
const I2P_SUFFIX: &str = ".b32.i2p";

/// Why a string is not an address btcnode can store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrParseError {
    /// The offending input (cut to 100 characters).
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl AddrParseError {
    fn new(input: &str, reason: &'static str) -> AddrParseError {
        AddrParseError {
            input: input.chars().take(100).collect(),
            reason,
        }
    }
}

impl fmt::Display for AddrParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid address {:?}: {}", self.input, self.reason)
    }
}

impl std::error::Error for AddrParseError {}

/// Lower-case base32 without padding.
fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32_ALPHABET[((acc >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(
            BASE32_ALPHABET[((acc << (5 - bits)) & 31) as usize],
        ));
    }
    out
}

/// Decodes base32 (either case, no padding) into exactly `N` bytes; leftover bits must be
/// zero so every value has one spelling.
fn base32_decode<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != (N * 8).div_ceil(5) {
        return None;
    }
    let mut out = [0u8; N];
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut n = 0;
    for c in s.bytes() {
        let v = match c.to_ascii_lowercase() {
            c @ b'a'..=b'z' => c - b'a',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = ((acc << 5) | u32::from(v)) & 0xffff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(n)? = (acc >> bits) as u8;
            n += 1;
        }
    }
    if n != N || acc & ((1 << bits) - 1) != 0 {
        return None;
    }
    Some(out)
}

/// The two checksum bytes of a Tor v3 onion address:
/// `SHA3-256(".onion checksum" || pubkey || 0x03)[..2]`.
pub fn torv3_checksum(pubkey: &[u8; 32]) -> [u8; 2] {
    let mut h = Sha3_256::new();
    h.update(TORV3_CHECKSUM_PREFIX);
    h.update(pubkey);
    h.update([TORV3_VERSION]);
    let d = h.finalize();
    [d[0], d[1]]
}

/// An [`AddrV2`] written as a host the way btcd writes it (`.onion`, `.b32.i2p`, dotted IPv4
/// for IPv4-mapped IPv6). A wrapper because `AddrV2`'s own `Display` is the wire JSON form.
pub struct Host<'a>(pub &'a AddrV2);

impl fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            AddrV2::Ipv4(ip) => write!(f, "{ip}"),
            // An IPv4-mapped IPv6 address prints dotted, as Go's net.IP does.
            AddrV2::Ipv6(ip) => match ip.to_ipv4_mapped() {
                Some(v4) => write!(f, "{v4}"),
                None => write!(f, "{ip}"),
            },
            AddrV2::Cjdns(ip) => write!(f, "{ip}"),
            AddrV2::TorV2(k) => write!(f, "{}{ONION_SUFFIX}", base32_encode(k)),
            AddrV2::TorV3(k) => {
                let mut raw = [0u8; 35];
                raw[..32].copy_from_slice(k);
                raw[32..34].copy_from_slice(&torv3_checksum(k));
                raw[34] = TORV3_VERSION;
                write!(f, "{}{ONION_SUFFIX}", base32_encode(&raw))
            }
            AddrV2::I2p(k) => write!(f, "{}{I2P_SUFFIX}", base32_encode(k)),
        }
    }
}

/// Parses a host as btcd's `HostToNetAddress` does, without DNS: an IP address (IPv4-mapped
/// IPv6 becomes IPv4, an OnionCat IPv6 address becomes Tor v2), a Tor v2 or v3 `.onion`
/// (the v3 checksum and version are checked) or an I2P `.b32.i2p`. An fc00::/8 address
/// parses as IPv6; CJDNS cannot be told apart by its text (see [`AddrV2::to_cjdns`]).
pub fn parse_host(s: &str) -> Result<AddrV2, AddrParseError> {
    if let Some(b32) = strip_suffix_ignore_case(s, I2P_SUFFIX) {
        return base32_decode::<32>(b32)
            .map(AddrV2::I2p)
            .ok_or_else(|| AddrParseError::new(s, "bad i2p base32"));
    }
    if let Some(b32) = strip_suffix_ignore_case(s, ONION_SUFFIX) {
        return match b32.len() {
            16 => base32_decode::<10>(b32)
                .map(AddrV2::TorV2)
                .ok_or_else(|| AddrParseError::new(s, "bad tor v2 base32")),
            56 => {
                let raw = base32_decode::<35>(b32)
                    .ok_or_else(|| AddrParseError::new(s, "bad tor v3 base32"))?;
                let mut key = [0u8; 32];
                key.copy_from_slice(&raw[..32]);
                if raw[34] != TORV3_VERSION {
                    return Err(AddrParseError::new(s, "tor v3 version is not 3"));
                }
                if raw[32..34] != torv3_checksum(&key) {
                    return Err(AddrParseError::new(s, "tor v3 checksum mismatch"));
                }
                Ok(AddrV2::TorV3(key))
            }
            _ => Err(AddrParseError::new(
                s,
                "onion name is neither 16 nor 56 characters",
            )),
        };
    }
    match s.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => Ok(AddrV2::Ipv4(v4)),
        Ok(IpAddr::V6(v6)) => Ok(AddrV2::from_legacy_bytes(v6.octets())),
        Err(_) => Err(AddrParseError::new(
            s,
            "not an ip address, onion or i2p address (host names are not resolved here)",
        )),
    }
}

fn strip_suffix_ignore_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let (head, tail) = (s.get(..cut)?, s.get(cut..)?);
    tail.eq_ignore_ascii_case(suffix).then_some(head)
}

impl AddrV2 {
    /// The same 16 bytes read as a CJDNS address, for an IPv6 value whose network is known
    /// from elsewhere (a BIP155 network id); other kinds are returned unchanged.
    pub fn to_cjdns(self) -> AddrV2 {
        match self {
            AddrV2::Ipv6(ip) => AddrV2::Cjdns(ip),
            other => other,
        }
    }

    /// The address with the values that have two spellings reduced to one: an IPv4-mapped
    /// IPv6 address becomes IPv4 and an OnionCat IPv6 address becomes Tor v2, as btcd's
    /// `NetAddressV2FromBytes` does. Keys of the address book use this form.
    pub fn canonical(self) -> AddrV2 {
        match self {
            AddrV2::Ipv6(ip) => AddrV2::from_legacy_bytes(ip.octets()),
            other => other,
        }
    }
}

/// `host:port` as btcd's `NetAddressKey` writes it (Go's `net.JoinHostPort`): IPv6 and CJDNS
/// hosts in brackets.
pub fn host_port(addr: &AddrV2, port: u16) -> String {
    HostPort(addr, port).to_string()
}

/// Formats `host:port` without allocating.
struct HostPort<'a>(&'a AddrV2, u16);

impl fmt::Display for HostPort<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let HostPort(addr, port) = self;
        match addr.canonical() {
            AddrV2::Ipv6(_) | AddrV2::Cjdns(_) => write!(f, "[{}]:{port}", Host(addr)),
            _ => write!(f, "{}:{port}", Host(addr)),
        }
    }
}

/// Reads a decimal number of 1 to `max_digits` digits without a leading zero (a lone `0` is
/// fine) at `*i`, advancing past it; the strict grammar of IPv4 octets and ports.
fn read_decimal(b: &[u8], i: &mut usize, max_digits: usize) -> Option<u32> {
    let start = *i;
    let mut v: u32 = 0;
    while let Some(&c) = b.get(*i) {
        if !c.is_ascii_digit() {
            break;
        }
        if *i - start == max_digits {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
        *i += 1;
    }
    let len = *i - start;
    (len > 0 && (len == 1 || b[start] != b'0')).then_some(v)
}

/// The common case of a peers file, `a.b.c.d:port`, in one pass without the general parser's
/// detours. `None` when the string is anything else; the general path then decides.
fn parse_ipv4_host_port_fast(s: &str) -> Option<(AddrV2, u16)> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut octets = [0u8; 4];
    for (k, o) in octets.iter_mut().enumerate() {
        *o = u8::try_from(read_decimal(b, &mut i, 3)?).ok()?;
        let sep = if k == 3 { b':' } else { b'.' };
        if b.get(i) != Some(&sep) {
            return None;
        }
        i += 1;
    }
    let port = u16::try_from(read_decimal(b, &mut i, 5)?).ok()?;
    (i == b.len()).then_some((AddrV2::Ipv4(octets.into()), port))
}

/// Splits and parses `host:port` (IPv6 in brackets) as btcd's `DeserializeNetAddress` does.
pub fn parse_host_port(s: &str) -> Result<(AddrV2, u16), AddrParseError> {
    if let Some(parsed) = parse_ipv4_host_port_fast(s) {
        return Ok(parsed);
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| AddrParseError::new(s, "missing ']'"))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| AddrParseError::new(s, "missing port"))?;
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(AddrParseError::new(s, "bracketed host is not ipv6"));
        }
        (host, port)
    } else {
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| AddrParseError::new(s, "missing port"))?;
        if host.contains(':') {
            return Err(AddrParseError::new(s, "ipv6 host must be in brackets"));
        }
        (host, port)
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AddrParseError::new(s, "port is not a number"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| AddrParseError::new(s, "port out of range"))?;
    Ok((parse_host(host)?, port))
}

impl fmt::Display for NetAddress {
    /// `host:port`, as in btcd's `peers.json` and logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        HostPort(&self.addr, self.port).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn hex32(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex");
        }
        out
    }

    #[test]
    fn torv3_matches_known_vector() {
        // Bitcoin Core's and rust-bitcoin's BIP155 test vector.
        let key = hex32("79bcc625184b05194975c28b66b66b0469f7f6556fb1ac3189a79b40dda32f1f");
        let s = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion";
        assert_eq!(Host(&AddrV2::TorV3(key)).to_string(), s);
        assert_eq!(parse_host(s), Ok(AddrV2::TorV3(key)));
        assert_eq!(parse_host(&s.to_uppercase()), Ok(AddrV2::TorV3(key)));
        // One character changed breaks the checksum.
        let bad = s.replacen('p', "q", 1);
        assert!(parse_host(&bad).is_err());
    }

    #[test]
    fn i2p_and_torv2_round_trip() {
        // Bitcoin Core's I2P vector.
        let key = hex32("a2894dabaec08c0051a481a6dac88b64f98232ae42d4b6fd2fa81952dfe36a87");
        let s = "ukeu3k5oycgaauneqgtnvselmt4yemvoilkln7jpvamvfx7dnkdq.b32.i2p";
        assert_eq!(Host(&AddrV2::I2p(key)).to_string(), s);
        assert_eq!(parse_host(s), Ok(AddrV2::I2p(key)));
        let v2 = AddrV2::TorV2([0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa]);
        assert_eq!(Host(&v2).to_string(), "6hzph5hv6337r6p2.onion");
        assert_eq!(parse_host("6hzph5hv6337r6p2.onion"), Ok(v2));
        assert!(parse_host("6hzph5hv6337r6p.onion").is_err());
        assert!(parse_host("6hzph5hv6337r6p1.onion").is_err());
    }

    #[test]
    fn ip_forms_as_go_prints_them() {
        let cases = [
            ("1.2.3.4", AddrV2::Ipv4(Ipv4Addr::new(1, 2, 3, 4))),
            (
                "2001:db8::1",
                AddrV2::Ipv6("2001:db8::1".parse().expect("v6")),
            ),
            (
                "2001:0:0:1::1",
                AddrV2::Ipv6("2001:0:0:1::1".parse().expect("v6")),
            ),
            (
                "2001:db8:0:1:1:1:1:1",
                AddrV2::Ipv6("2001:db8:0:1:1:1:1:1".parse().expect("v6")),
            ),
        ];
        for (s, a) in cases {
            assert_eq!(Host(&a).to_string(), s);
            assert_eq!(parse_host(s), Ok(a));
        }
        // Mapped IPv4 and OnionCat become their canonical kinds.
        assert_eq!(
            parse_host("::ffff:1.2.3.4"),
            Ok(AddrV2::Ipv4(Ipv4Addr::new(1, 2, 3, 4)))
        );
        assert_eq!(
            parse_host("fd87:d87e:eb43:f1f2:f3f4:f5f6:f7f8:f9fa"),
            Ok(AddrV2::TorV2([
                0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa
            ]))
        );
        assert!(parse_host("seed.bitcoin.sipa.be").is_err());
    }

    #[test]
    fn host_port_brackets_ipv6() {
        let v6: AddrV2 = "2001:db8::1".parse().expect("v6");
        assert_eq!(host_port(&v6, 8333), "[2001:db8::1]:8333");
        assert_eq!(parse_host_port("[2001:db8::1]:8333"), Ok((v6, 8333)));
        let cj = AddrV2::Cjdns("fc00::1".parse().expect("v6"));
        assert_eq!(host_port(&cj, 8333), "[fc00::1]:8333");
        let v4 = AddrV2::Ipv4(Ipv4Addr::new(203, 0, 113, 7));
        assert_eq!(host_port(&v4, 8333), "203.0.113.7:8333");
        assert_eq!(parse_host_port("203.0.113.7:8333"), Ok((v4, 8333)));
        for bad in [
            "203.0.113.7",
            "203.0.113.7:",
            "203.0.113.7:65536",
            "203.0.113.7:+1",
            "203.0.113.256:1",
            "203.0.113:1",
            "203.0.113.7.1:1",
            "01.2.3.4:1",
            "1.2.3.4:65536",
            "1..3.4:1",
            "2001:db8::1:8333",
            "[2001:db8::1]8333",
            "[1.2.3.4]:8333",
            "[2001:db8::1:8333",
            "",
        ] {
            assert!(parse_host_port(bad).is_err(), "{bad}");
        }
        let na = NetAddress {
            timestamp: 0,
            services: crate::wire::ServiceFlag::NONE,
            addr: v6,
            port: 1,
        };
        assert_eq!(na.to_string(), "[2001:db8::1]:1");
    }

    #[test]
    fn fast_ipv4_path_agrees_with_the_general_one() {
        for s in [
            "0.0.0.0:0",
            "255.255.255.255:65535",
            "12.1.2.3:8333",
            "9.8.7.6:08333",
        ] {
            let (host, port) = s.rsplit_once(':').expect("colon");
            let want = (
                host.parse::<AddrV2>().expect("host"),
                port.parse::<u16>().expect("port"),
            );
            assert_eq!(parse_host_port(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn base32_rejects_noncanonical_tail() {
        // 52 characters carry 260 bits for 256: the last 4 must be zero.
        let good = base32_encode(&[0xff; 32]);
        assert_eq!(base32_decode::<32>(&good), Some([0xff; 32]));
        let mut bad = good.clone();
        bad.pop();
        bad.push('7');
        assert_eq!(base32_decode::<32>(&bad), None);
    }
}
