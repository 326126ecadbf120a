//! Errors of the SOCKS5 client and of the routing rules around it.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// Everything that can go wrong while dialing or resolving through (or around) a proxy.
///
/// Reply codes 1..8 of RFC 1928 each have their own variant so callers can tell a refused
/// connection from an unreachable host; any other code (Tor's extended codes 0xF0..0xF7 among
/// them) is [`Error::UnknownReply`].
#[derive(Debug)]
pub enum Error {
    /// An I/O error on the socket; `during` says which step of the exchange.
    Io {
        /// The step: "connect to proxy", "send greeting", "read reply", ...
        during: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// The whole exchange did not finish within its timeout.
    TimedOut {
        /// The step that was running when the deadline passed.
        during: &'static str,
        /// The timeout that covered the whole exchange.
        timeout: Duration,
    },
    /// The proxy closed the connection in the middle of the exchange.
    UnexpectedEof {
        /// The step that was running.
        during: &'static str,
    },
    /// The proxy answered with a SOCKS version other than 5.
    BadVersion(u8),
    /// The proxy accepted none of the authentication methods we offered (method 0xFF).
    NoAcceptableAuthMethod,
    /// The proxy chose an authentication method we did not offer.
    UnexpectedAuthMethod(u8),
    /// The username/password sub-negotiation reply had a version other than 1.
    BadAuthVersion(u8),
    /// The proxy rejected the username and password (RFC 1929 status, non-zero).
    AuthFailed(u8),
    /// A username or password is empty or longer than the 255 bytes RFC 1929 allows.
    BadCredentials,
    /// A host name is empty or longer than the 255 bytes a SOCKS5 domain address allows.
    HostnameTooLong(usize),
    /// The reply's reserved byte was not zero.
    BadReserved(u8),
    /// The reply carried an address type other than IPv4 (1), domain (3) or IPv6 (4).
    BadAddressType(u8),
    /// Reply 1: general SOCKS server failure.
    GeneralFailure,
    /// Reply 2: connection not allowed by ruleset.
    NotAllowed,
    /// Reply 3: network unreachable.
    NetworkUnreachable,
    /// Reply 4: host unreachable (Tor also answers this when a RESOLVE fails).
    HostUnreachable,
    /// Reply 5: connection refused.
    ConnectionRefused,
    /// Reply 6: TTL expired (Tor: the request timed out inside Tor).
    TtlExpired,
    /// Reply 7: command not supported (a non-Tor proxy asked to RESOLVE answers this).
    CommandNotSupported,
    /// Reply 8: address type not supported.
    AddressTypeNotSupported,
    /// Any other non-zero reply code.
    UnknownReply(u8),
    /// A RESOLVE reply carried a domain name instead of an address.
    ResolveNotAnAddress,
    /// The target is a .onion address and onion connections are disabled (`--noonion`).
    OnionDisabled(String),
    /// The target is a .onion address and no proxy is configured to reach it.
    OnionWithoutProxy(String),
    /// A name lookup was refused because a proxy is set that cannot resolve names (it is not
    /// Tor, or only an onion proxy is set): using the system resolver would leak the name.
    LookupRefused(String),
    /// The system resolver failed.
    Resolve {
        /// The name being resolved.
        host: String,
        /// The resolver's error.
        source: io::Error,
    },
    /// The name resolved to no addresses, or every address failed to connect.
    NoAddresses(String),
    /// A target string could not be parsed as `host:port`.
    BadTarget(String),
    /// Connecting directly (without a proxy) failed.
    Connect {
        /// The address dialed.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
}

impl Error {
    /// The error for a non-zero reply code.
    pub fn from_reply_code(code: u8) -> Error {
        match code {
            1 => Error::GeneralFailure,
            2 => Error::NotAllowed,
            3 => Error::NetworkUnreachable,
            4 => Error::HostUnreachable,
            5 => Error::ConnectionRefused,
            6 => Error::TtlExpired,
            7 => Error::CommandNotSupported,
            8 => Error::AddressTypeNotSupported,
            other => Error::UnknownReply(other),
        }
    }

    /// The reply code this error stands for, if it is a proxy's reply.
    pub fn reply_code(&self) -> Option<u8> {
        Some(match self {
            Error::GeneralFailure => 1,
            Error::NotAllowed => 2,
            Error::NetworkUnreachable => 3,
            Error::HostUnreachable => 4,
            Error::ConnectionRefused => 5,
            Error::TtlExpired => 6,
            Error::CommandNotSupported => 7,
            Error::AddressTypeNotSupported => 8,
            Error::UnknownReply(c) => *c,
            _ => return None,
        })
    }

    /// The `io::ErrorKind` this error maps to when it leaves the module as an `io::Error`.
    fn kind(&self) -> io::ErrorKind {
        match self {
            Error::Io { source, .. } | Error::Connect { source, .. } => source.kind(),
            Error::Resolve { source, .. } => source.kind(),
            Error::TimedOut { .. } | Error::TtlExpired => io::ErrorKind::TimedOut,
            Error::UnexpectedEof { .. } => io::ErrorKind::UnexpectedEof,
            Error::ConnectionRefused => io::ErrorKind::ConnectionRefused,
            Error::NetworkUnreachable => io::ErrorKind::NetworkUnreachable,
            Error::HostUnreachable => io::ErrorKind::HostUnreachable,
            Error::NotAllowed
            | Error::OnionDisabled(_)
            | Error::OnionWithoutProxy(_)
            | Error::LookupRefused(_) => io::ErrorKind::PermissionDenied,
            Error::BadTarget(_) | Error::HostnameTooLong(_) | Error::BadCredentials => {
                io::ErrorKind::InvalidInput
            }
            Error::NoAddresses(_) => io::ErrorKind::NotFound,
            _ => io::ErrorKind::Other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { during, source } => write!(f, "socks5: {during}: {source}"),
            Error::TimedOut { during, timeout } => {
                write!(f, "socks5: timed out after {timeout:?} during {during}")
            }
            Error::UnexpectedEof { during } => {
                write!(f, "socks5: proxy closed the connection during {during}")
            }
            Error::BadVersion(v) => write!(f, "socks5: proxy answered with version {v}, not 5"),
            Error::NoAcceptableAuthMethod => {
                write!(f, "socks5: proxy accepts none of the offered auth methods")
            }
            Error::UnexpectedAuthMethod(m) => {
                write!(
                    f,
                    "socks5: proxy chose auth method {m:#04x}, which was not offered"
                )
            }
            Error::BadAuthVersion(v) => {
                write!(f, "socks5: username/password reply has version {v}, not 1")
            }
            Error::AuthFailed(s) => {
                write!(
                    f,
                    "socks5: proxy rejected username and password (status {s})"
                )
            }
            Error::BadCredentials => {
                write!(
                    f,
                    "socks5: username and password must be 1 to 255 bytes each"
                )
            }
            Error::HostnameTooLong(n) => {
                write!(
                    f,
                    "socks5: host name of {n} bytes does not fit (1 to 255 allowed)"
                )
            }
            Error::BadReserved(b) => write!(f, "socks5: reply reserved byte is {b:#04x}, not 0"),
            Error::BadAddressType(t) => write!(f, "socks5: reply has unknown address type {t}"),
            Error::GeneralFailure => write!(f, "socks5: general SOCKS server failure (reply 1)"),
            Error::NotAllowed => write!(f, "socks5: connection not allowed by ruleset (reply 2)"),
            Error::NetworkUnreachable => write!(f, "socks5: network unreachable (reply 3)"),
            Error::HostUnreachable => write!(f, "socks5: host unreachable (reply 4)"),
            Error::ConnectionRefused => write!(f, "socks5: connection refused (reply 5)"),
            Error::TtlExpired => write!(f, "socks5: TTL expired (reply 6)"),
            Error::CommandNotSupported => write!(f, "socks5: command not supported (reply 7)"),
            Error::AddressTypeNotSupported => {
                write!(f, "socks5: address type not supported (reply 8)")
            }
            Error::UnknownReply(c) => match tor_extended_reply(*c) {
                Some(what) => write!(f, "socks5: tor: {what} (reply {c:#04x})"),
                None => write!(f, "socks5: unknown reply code {c:#04x}"),
            },
            Error::ResolveNotAnAddress => {
                write!(
                    f,
                    "socks5: tor RESOLVE answered with a name, not an address"
                )
            }
            Error::OnionDisabled(t) => {
                write!(f, "refusing to dial {t}: onion connections are disabled")
            }
            Error::OnionWithoutProxy(t) => {
                write!(
                    f,
                    "cannot dial {t}: onion addresses need a proxy (--proxy or --onion)"
                )
            }
            Error::LookupRefused(h) => write!(
                f,
                "refusing to look up {h}: a proxy is set that cannot resolve names, and the \
                 system resolver would leak the name"
            ),
            Error::Resolve { host, source } => write!(f, "looking up {host}: {source}"),
            Error::NoAddresses(h) => write!(f, "no usable address for {h}"),
            Error::BadTarget(t) => write!(f, "bad target {t:?}: want host:port"),
            Error::Connect { addr, source } => write!(f, "connecting to {addr}: {source}"),
        }
    }
}

/// Tor's extended SOCKS5 error codes (`ExtendedErrors` flag on the SocksPort), for messages.
fn tor_extended_reply(code: u8) -> Option<&'static str> {
    Some(match code {
        0xF0 => "onion service descriptor can not be found",
        0xF1 => "onion service descriptor is invalid",
        0xF2 => "onion service introduction failed",
        0xF3 => "onion service rendezvous failed",
        0xF4 => "onion service missing client authorization",
        0xF5 => "onion service wrong client authorization",
        0xF6 => "onion service invalid address",
        0xF7 => "onion service introduction timed out",
        _ => return None,
    })
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. }
            | Error::Resolve { source, .. }
            | Error::Connect { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        io::Error::new(e.kind(), e)
    }
}
