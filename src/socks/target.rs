//! Where a connection goes: an IP socket address, or a name (host name or .onion) with a port.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use super::Error;

/// A dial target. Names are kept as names so that, through a proxy, they are sent to the
/// proxy as SOCKS5 domain addresses and never resolved locally.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// An IPv4 or IPv6 socket address.
    Addr(SocketAddr),
    /// A host name or a `.onion` name, and a port.
    Host {
        /// The name, without brackets or port.
        host: String,
        /// The port.
        port: u16,
    },
}

impl Target {
    /// A target for a name and port; an IP literal becomes [`Target::Addr`].
    pub fn host(host: &str, port: u16) -> Target {
        match host.trim_start_matches('[').trim_end_matches(']').parse() {
            Ok(ip) => Target::Addr(SocketAddr::new(ip, port)),
            Err(_) => Target::Host {
                host: host.to_string(),
                port,
            },
        }
    }

    /// Whether this is a Tor onion service name (`*.onion`).
    pub fn is_onion(&self) -> bool {
        match self {
            Target::Addr(_) => false,
            Target::Host { host, .. } => is_onion_host(host),
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        match self {
            Target::Addr(a) => a.port(),
            Target::Host { port, .. } => *port,
        }
    }
}

/// Whether a host name is a Tor onion service name (ends in `.onion`, any case, with an
/// optional trailing dot).
pub fn is_onion_host(host: &str) -> bool {
    let h = host.strip_suffix('.').unwrap_or(host);
    h.len() > ".onion".len()
        && h.get(h.len() - ".onion".len()..)
            .is_some_and(|s| s.eq_ignore_ascii_case(".onion"))
}

impl From<SocketAddr> for Target {
    fn from(a: SocketAddr) -> Target {
        Target::Addr(a)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Addr(a) => write!(f, "{a}"),
            Target::Host { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

impl FromStr for Target {
    type Err = Error;

    /// Parses `1.2.3.4:8333`, `[2001:db8::1]:8333`, `example.com:8333` or `xyz.onion:8333`.
    fn from_str(s: &str) -> Result<Target, Error> {
        if let Ok(a) = s.parse::<SocketAddr>() {
            return Ok(Target::Addr(a));
        }
        let bad = || Error::BadTarget(s.to_string());
        let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        if host.is_empty() || host.contains(':') || host.contains('[') {
            return Err(bad());
        }
        Ok(Target::Host {
            host: host.to_string(),
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        assert_eq!(
            "127.0.0.1:8333".parse::<Target>().expect("v4"),
            Target::Addr("127.0.0.1:8333".parse().expect("addr"))
        );
        assert_eq!(
            "[::1]:18444".parse::<Target>().expect("v6"),
            Target::Addr("[::1]:18444".parse().expect("addr"))
        );
        let onion = "abcdefghijklmnop.onion:8333"
            .parse::<Target>()
            .expect("onion");
        assert!(onion.is_onion());
        assert_eq!(onion.to_string(), "abcdefghijklmnop.onion:8333");
        let host = "seed.example:8333".parse::<Target>().expect("host");
        assert!(!host.is_onion());
        assert_eq!(host.port(), 8333);
        for bad in ["", "nohost", ":8333", "host:", "host:99999", "::1:8333"] {
            assert!(bad.parse::<Target>().is_err(), "{bad:?} parsed");
        }
        assert!(is_onion_host("X.ONION."));
        assert!(!is_onion_host(".onion"));
        assert_eq!(
            Target::host("[::1]", 1),
            Target::Addr("[::1]:1".parse().expect("addr"))
        );
    }
}
