//! SOCKS5 wire format (RFC 1928, RFC 1929, Tor's RESOLVE): building requests and parsing
//! replies. No I/O here, so the reply parser can be tested and fuzzed on plain bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{Error, Target};

/// The SOCKS protocol version this client speaks.
pub const SOCKS_VERSION: u8 = 5;
/// Authentication method: none.
pub const AUTH_NONE: u8 = 0x00;
/// Authentication method: username/password (RFC 1929).
pub const AUTH_USERPASS: u8 = 0x02;
/// The method-selection answer meaning "none of the offered methods is acceptable".
pub const AUTH_NO_ACCEPTABLE: u8 = 0xFF;
/// Version of the username/password sub-negotiation.
pub const USERPASS_VERSION: u8 = 0x01;
/// Command: CONNECT.
pub const CMD_CONNECT: u8 = 0x01;
/// Command: Tor's RESOLVE extension (a name to an address, over the Tor network).
pub const CMD_TOR_RESOLVE: u8 = 0xF0;
/// Address type: IPv4.
pub const ATYP_IPV4: u8 = 0x01;
/// Address type: domain name (one length byte, then the name).
pub const ATYP_DOMAIN: u8 = 0x03;
/// Address type: IPv6.
pub const ATYP_IPV6: u8 = 0x04;
/// Longest domain name or credential a one-byte length prefix can carry.
pub const MAX_FIELD_LEN: usize = 255;
/// Reply code: succeeded.
pub const REPLY_SUCCEEDED: u8 = 0x00;

/// The address a reply reports as bound (for CONNECT) or resolved (for RESOLVE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundAddr {
    /// An IPv4 or IPv6 address and port.
    Ip(SocketAddr),
    /// A domain name and port.
    Domain(String, u16),
    /// No address: Tor's error replies carry address type 0 and six zero bytes.
    None,
}

/// A parsed request reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply code: 0 succeeded, 1..8 RFC 1928 failures, others proxy-specific.
    pub code: u8,
    /// The bound or resolved address.
    pub bound: BoundAddr,
}

impl Reply {
    /// The reply as a result: the bound address on success, the reply code's error otherwise.
    pub fn into_result(self) -> Result<BoundAddr, Error> {
        if self.code == REPLY_SUCCEEDED {
            Ok(self.bound)
        } else {
            Err(Error::from_reply_code(self.code))
        }
    }
}

/// What [`parse_reply`] found in a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A whole reply, and how many bytes of the buffer it took.
    Complete(Reply, usize),
    /// The buffer holds the start of a reply that is this many bytes long in all (or at
    /// least this long, when the length is not known yet); read up to it and parse again.
    NeedMore(usize),
}

/// Parses a request reply (`VER REP RSV ATYP BND.ADDR BND.PORT`) from the start of `buf`.
///
/// Handles all three address types, and Tor's error form (address type 0 followed by six
/// zero bytes, only with a non-zero reply code). Never reads past the reply, so bytes that
/// follow a CONNECT reply stay with the stream.
pub fn parse_reply(buf: &[u8]) -> Result<Parsed, Error> {
    if buf.len() < 5 {
        if let Some(&v) = buf.first()
            && v != SOCKS_VERSION
        {
            return Err(Error::BadVersion(v));
        }
        return Ok(Parsed::NeedMore(5));
    }
    let (ver, code, rsv, atyp) = (buf[0], buf[1], buf[2], buf[3]);
    if ver != SOCKS_VERSION {
        return Err(Error::BadVersion(ver));
    }
    if rsv != 0 {
        return Err(Error::BadReserved(rsv));
    }
    let total = match atyp {
        ATYP_IPV4 => 4 + 4 + 2,
        ATYP_IPV6 => 4 + 16 + 2,
        ATYP_DOMAIN => 4 + 1 + usize::from(buf[4]) + 2,
        0 if code != REPLY_SUCCEEDED => 4 + 6,
        other => return Err(Error::BadAddressType(other)),
    };
    if buf.len() < total {
        return Ok(Parsed::NeedMore(total));
    }
    let port = u16::from_be_bytes([buf[total - 2], buf[total - 1]]);
    let bound = match atyp {
        ATYP_IPV4 => {
            let o: [u8; 4] = [buf[4], buf[5], buf[6], buf[7]];
            BoundAddr::Ip(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(o)), port))
        }
        ATYP_IPV6 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&buf[4..20]);
            BoundAddr::Ip(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(o)), port))
        }
        ATYP_DOMAIN => {
            let name = &buf[5..total - 2];
            BoundAddr::Domain(String::from_utf8_lossy(name).into_owned(), port)
        }
        _ => BoundAddr::None,
    };
    Ok(Parsed::Complete(Reply { code, bound }, total))
}

/// The client greeting: version, then the methods offered.
pub fn greeting(with_userpass: bool) -> Vec<u8> {
    if with_userpass {
        vec![SOCKS_VERSION, 2, AUTH_NONE, AUTH_USERPASS]
    } else {
        vec![SOCKS_VERSION, 1, AUTH_NONE]
    }
}

/// Checks the proxy's method selection against what was offered; returns the chosen method.
pub fn parse_method_selection(reply: [u8; 2], offered_userpass: bool) -> Result<u8, Error> {
    if reply[0] != SOCKS_VERSION {
        return Err(Error::BadVersion(reply[0]));
    }
    match reply[1] {
        AUTH_NONE => Ok(AUTH_NONE),
        AUTH_USERPASS if offered_userpass => Ok(AUTH_USERPASS),
        AUTH_NO_ACCEPTABLE => Err(Error::NoAcceptableAuthMethod),
        other => Err(Error::UnexpectedAuthMethod(other)),
    }
}

/// The RFC 1929 username/password request.
pub fn userpass_request(username: &str, password: &str) -> Result<Vec<u8>, Error> {
    let (u, p) = (username.as_bytes(), password.as_bytes());
    if u.is_empty() || p.is_empty() || u.len() > MAX_FIELD_LEN || p.len() > MAX_FIELD_LEN {
        return Err(Error::BadCredentials);
    }
    let mut out = Vec::with_capacity(3 + u.len() + p.len());
    out.push(USERPASS_VERSION);
    out.push(u.len() as u8); // fits: checked against MAX_FIELD_LEN above
    out.extend_from_slice(u);
    out.push(p.len() as u8); // fits: checked against MAX_FIELD_LEN above
    out.extend_from_slice(p);
    Ok(out)
}

/// Checks the RFC 1929 status reply.
pub fn parse_userpass_reply(reply: [u8; 2]) -> Result<(), Error> {
    if reply[0] != USERPASS_VERSION {
        return Err(Error::BadAuthVersion(reply[0]));
    }
    if reply[1] != 0 {
        return Err(Error::AuthFailed(reply[1]));
    }
    Ok(())
}

/// A request (`VER CMD RSV ATYP DST.ADDR DST.PORT`). Names go as domain addresses, so the
/// proxy resolves them; IP addresses go as IPv4 or IPv6.
pub fn request(cmd: u8, target: &Target) -> Result<Vec<u8>, Error> {
    let mut out = vec![SOCKS_VERSION, cmd, 0];
    match target {
        Target::Addr(SocketAddr::V4(a)) => {
            out.push(ATYP_IPV4);
            out.extend_from_slice(&a.ip().octets());
        }
        Target::Addr(SocketAddr::V6(a)) => {
            out.push(ATYP_IPV6);
            out.extend_from_slice(&a.ip().octets());
        }
        Target::Host { host, .. } => {
            let name = host.as_bytes();
            if name.is_empty() || name.len() > MAX_FIELD_LEN {
                return Err(Error::HostnameTooLong(name.len()));
            }
            out.push(ATYP_DOMAIN);
            out.push(name.len() as u8); // fits: checked against MAX_FIELD_LEN above
            out.extend_from_slice(name);
        }
    }
    out.extend_from_slice(&target.port().to_be_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(buf: &[u8]) -> (Reply, usize) {
        match parse_reply(buf).expect("parse") {
            Parsed::Complete(r, n) => (r, n),
            other => panic!("incomplete: {other:?}"),
        }
    }

    #[test]
    fn parses_all_three_bound_address_types() {
        let v4 = [5, 0, 0, 1, 127, 0, 0, 1, 0x20, 0x8d, 0xAA];
        let (r, n) = complete(&v4);
        assert_eq!(n, 10, "must not take the byte after the reply");
        assert_eq!(
            r.bound,
            BoundAddr::Ip("127.0.0.1:8333".parse().expect("addr"))
        );
        let mut v6 = vec![5, 0, 0, 4];
        v6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        v6.extend_from_slice(&[0x47, 0x6c]);
        let (r, n) = complete(&v6);
        assert_eq!(n, 22);
        assert_eq!(r.bound, BoundAddr::Ip("[::1]:18284".parse().expect("addr")));
        // go-socks reads the domain form wrongly; the length byte counts the name only.
        let mut dom = vec![5, 0, 0, 3, 11];
        dom.extend_from_slice(b"example.com");
        dom.extend_from_slice(&[0x20, 0x8d]);
        let (r, n) = complete(&dom);
        assert_eq!(n, dom.len());
        assert_eq!(r.bound, BoundAddr::Domain("example.com".into(), 8333));
    }

    #[test]
    fn asks_for_exactly_the_missing_bytes() {
        assert_eq!(parse_reply(&[]).expect("empty"), Parsed::NeedMore(5));
        assert_eq!(
            parse_reply(&[5, 0, 0, 1, 1]).expect("v4"),
            Parsed::NeedMore(10)
        );
        assert_eq!(
            parse_reply(&[5, 0, 0, 4, 0]).expect("v6"),
            Parsed::NeedMore(22)
        );
        assert_eq!(
            parse_reply(&[5, 0, 0, 3, 3, b'a']).expect("d"),
            Parsed::NeedMore(10)
        );
    }

    #[test]
    fn tor_error_reply_with_address_type_zero() {
        let (r, n) = complete(&[5, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(n, 10);
        assert_eq!(r.bound, BoundAddr::None);
        assert!(matches!(r.into_result(), Err(Error::HostUnreachable)));
        // Address type 0 is only Tor's error form; on success it is malformed.
        assert!(matches!(
            parse_reply(&[5, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(Error::BadAddressType(0))
        ));
    }

    #[test]
    fn rejects_malformed_replies() {
        assert!(matches!(parse_reply(&[4]), Err(Error::BadVersion(4))));
        assert!(matches!(
            parse_reply(&[5, 0, 1, 1, 0]),
            Err(Error::BadReserved(1))
        ));
        assert!(matches!(
            parse_reply(&[5, 0, 0, 2, 0]),
            Err(Error::BadAddressType(2))
        ));
    }

    #[test]
    fn every_reply_code_maps_to_its_error() {
        for code in 1..=8u8 {
            let (r, _) = complete(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
            let e = r.into_result().expect_err("failure code");
            assert_eq!(e.reply_code(), Some(code));
        }
        assert!(matches!(
            Error::from_reply_code(0xF0),
            Error::UnknownReply(0xF0)
        ));
    }

    #[test]
    fn requests_encode_targets() {
        let t: Target = "127.0.0.1:8333".parse().expect("t");
        assert_eq!(
            request(CMD_CONNECT, &t).expect("req"),
            [5, 1, 0, 1, 127, 0, 0, 1, 0x20, 0x8d]
        );
        let t = Target::host("a.onion", 80);
        assert_eq!(
            request(CMD_TOR_RESOLVE, &t).expect("req"),
            [
                5, 0xF0, 0, 3, 7, b'a', b'.', b'o', b'n', b'i', b'o', b'n', 0, 80
            ]
        );
        let long = Target::Host {
            host: "a".repeat(256),
            port: 1,
        };
        assert!(matches!(
            request(CMD_CONNECT, &long),
            Err(Error::HostnameTooLong(256))
        ));
        assert!(matches!(
            userpass_request("", "p"),
            Err(Error::BadCredentials)
        ));
        assert_eq!(
            userpass_request("u", "pw").expect("up"),
            [1, 1, b'u', 2, b'p', b'w']
        );
    }

    #[test]
    fn method_selection_checks() {
        assert_eq!(parse_method_selection([5, 0], false).expect("none"), 0);
        assert_eq!(parse_method_selection([5, 2], true).expect("up"), 2);
        assert!(matches!(
            parse_method_selection([5, 2], false),
            Err(Error::UnexpectedAuthMethod(2))
        ));
        assert!(matches!(
            parse_method_selection([5, 0xFF], true),
            Err(Error::NoAcceptableAuthMethod)
        ));
        assert!(matches!(
            parse_userpass_reply([1, 1]),
            Err(Error::AuthFailed(1))
        ));
        assert!(matches!(
            parse_userpass_reply([5, 0]),
            Err(Error::BadAuthVersion(5))
        ));
    }
}
