//! Routing rules: which connections go through which proxy, which are refused, and how names
//! are resolved without leaking them. Mirrors btcd's `--proxy`, `--onion`, `--noonion` and
//! `--torisolation` handling in `config.go`, with its isolation bug fixed.

use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::client::Deadline;
use super::target::is_onion_host;
use super::{Error, Proxy, Target};

/// The routing settings, as the command line gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingConfig {
    /// `--proxy` (with `--proxyuser`/`--proxypass`): every connection goes through it.
    pub proxy: Option<Proxy>,
    /// `--onion` (with `--onionuser`/`--onionpass`): .onion connections go through it.
    pub onion_proxy: Option<Proxy>,
    /// `--noonion`: refuse .onion connections.
    pub no_onion: bool,
    /// `--torisolation`: a fresh random username/password on every proxied connection.
    pub tor_isolation: bool,
}

/// Dials targets and looks up names according to a [`RoutingConfig`].
///
/// - .onion targets: refused with `no_onion`; otherwise through the onion proxy, else the
///   proxy; refused if neither is set (dialing one directly would leak it to DNS).
/// - other targets: through the proxy if set (names sent to it unresolved), else directly.
/// - lookups: IP literals answer themselves; with a proxy, names go to Tor's RESOLVE when
///   the proxy is taken to be Tor (no `no_onion`, no separate onion proxy), and are refused
///   otherwise — the system resolver is never asked while a proxy is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dialer {
    proxy: Option<Proxy>,
    onion_proxy: Option<Proxy>,
    no_onion: bool,
    tor_lookup: bool,
}

impl Dialer {
    /// A dialer that connects directly and uses the system resolver.
    pub fn direct() -> Dialer {
        Dialer::default()
    }

    /// Builds the routing from the settings.
    ///
    /// `tor_isolation` applies to every proxy that is set. btcd applies it to `--proxy` only
    /// when `--proxyuser` or `--proxypass` is also given, so `--proxy --torisolation` alone
    /// silently shares one Tor circuit between all peers; here it always isolates.
    pub fn new(cfg: RoutingConfig) -> Dialer {
        let isolate = |p: Option<Proxy>| {
            p.map(|mut p| {
                p.isolation |= cfg.tor_isolation;
                p
            })
        };
        let proxy = isolate(cfg.proxy);
        let onion_proxy = isolate(cfg.onion_proxy);
        let tor_lookup = proxy.is_some() && !cfg.no_onion && onion_proxy.is_none();
        Dialer {
            proxy,
            onion_proxy,
            no_onion: cfg.no_onion,
            tor_lookup,
        }
    }

    /// The proxy for all connections, as configured (isolation applied).
    pub fn proxy(&self) -> Option<&Proxy> {
        self.proxy.as_ref()
    }

    /// The proxy for .onion connections, as configured (isolation applied).
    pub fn onion_proxy(&self) -> Option<&Proxy> {
        self.onion_proxy.as_ref()
    }

    /// Whether names are resolved through Tor's RESOLVE.
    pub fn resolves_through_tor(&self) -> bool {
        self.tor_lookup
    }

    /// The proxy `target` goes through (`None` for a direct connection), or why it is refused.
    pub fn route(&self, target: &Target) -> Result<Option<&Proxy>, Error> {
        if target.is_onion() {
            if self.no_onion {
                return Err(Error::OnionDisabled(target.to_string()));
            }
            return match self.onion_proxy.as_ref().or(self.proxy.as_ref()) {
                Some(p) => Ok(Some(p)),
                None => Err(Error::OnionWithoutProxy(target.to_string())),
            };
        }
        Ok(self.proxy.as_ref())
    }

    /// Opens a TCP connection to `target` within `timeout` (the whole exchange, including
    /// any SOCKS5 negotiation and, for direct connections to names, every address tried).
    pub fn dial(&self, target: &Target, timeout: Duration) -> Result<TcpStream, Error> {
        if let Some(proxy) = self.route(target)? {
            return proxy.connect(target, timeout);
        }
        let deadline = Deadline::new(Instant::now(), timeout);
        match target {
            Target::Addr(a) => connect_direct(*a, &deadline),
            Target::Host { host, port } => {
                let mut last = None;
                for ip in system_lookup(host)? {
                    match connect_direct(SocketAddr::new(ip, *port), &deadline) {
                        Ok(s) => return Ok(s),
                        Err(e @ Error::TimedOut { .. }) => return Err(e),
                        Err(e) => last = Some(e),
                    }
                }
                Err(last.unwrap_or_else(|| Error::NoAddresses(host.clone())))
            }
        }
    }

    /// Resolves `host` to IP addresses (btcd's `lookup`): through Tor's RESOLVE when proxied,
    /// with the system resolver otherwise. `timeout` bounds the Tor exchange; the system
    /// resolver has no timeout of its own in std.
    pub fn lookup(&self, host: &str, timeout: Duration) -> Result<Vec<IpAddr>, Error> {
        if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse() {
            return Ok(vec![ip]);
        }
        if is_onion_host(host) {
            return Err(Error::LookupRefused(host.to_string()));
        }
        match &self.proxy {
            Some(p) if self.tor_lookup => p.resolve(host, timeout),
            Some(_) => Err(Error::LookupRefused(host.to_string())),
            None => system_lookup(host),
        }
    }
}

fn connect_direct(addr: SocketAddr, deadline: &Deadline) -> Result<TcpStream, Error> {
    let left = deadline.remaining("connect")?;
    TcpStream::connect_timeout(&addr, left).map_err(|e| match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => Error::TimedOut {
            during: "connect",
            timeout: deadline.timeout(),
        },
        _ => Error::Connect { addr, source: e },
    })
}

fn system_lookup(host: &str) -> Result<Vec<IpAddr>, Error> {
    let addrs = (host, 0u16).to_socket_addrs().map_err(|e| Error::Resolve {
        host: host.to_string(),
        source: e,
    })?;
    let mut ips: Vec<IpAddr> = Vec::new();
    for a in addrs {
        if !ips.contains(&a.ip()) {
            ips.push(a.ip());
        }
    }
    if ips.is_empty() {
        return Err(Error::NoAddresses(host.to_string()));
    }
    Ok(ips)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(port: u16) -> Proxy {
        Proxy::new(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    #[test]
    fn tor_isolation_applies_to_proxy_without_credentials() {
        // btcd's bug: --proxy --torisolation without --proxyuser/--proxypass did not isolate.
        let d = Dialer::new(RoutingConfig {
            proxy: Some(proxy(9050)),
            tor_isolation: true,
            ..RoutingConfig::default()
        });
        assert!(d.proxy().expect("proxy").isolation);
        let d = Dialer::new(RoutingConfig {
            proxy: Some(proxy(1080)),
            onion_proxy: Some(proxy(9050)),
            tor_isolation: true,
            ..RoutingConfig::default()
        });
        assert!(d.onion_proxy().expect("onion").isolation);
        assert!(d.proxy().expect("proxy").isolation);
    }

    #[test]
    fn onion_routing_rules() {
        let onion = Target::host("abc.onion", 8333);
        let clear: Target = "127.0.0.1:8333".parse().expect("t");
        let d = Dialer::direct();
        assert!(matches!(d.route(&onion), Err(Error::OnionWithoutProxy(_))));
        assert_eq!(d.route(&clear).expect("direct"), None);

        let d = Dialer::new(RoutingConfig {
            onion_proxy: Some(proxy(9050)),
            ..RoutingConfig::default()
        });
        assert_eq!(
            d.route(&onion).expect("onion").map(|p| p.addr.port()),
            Some(9050)
        );
        assert_eq!(d.route(&clear).expect("clear"), None);

        let d = Dialer::new(RoutingConfig {
            proxy: Some(proxy(1080)),
            onion_proxy: Some(proxy(9050)),
            ..RoutingConfig::default()
        });
        assert_eq!(
            d.route(&onion).expect("o").map(|p| p.addr.port()),
            Some(9050)
        );
        assert_eq!(
            d.route(&clear).expect("c").map(|p| p.addr.port()),
            Some(1080)
        );

        let d = Dialer::new(RoutingConfig {
            proxy: Some(proxy(1080)),
            no_onion: true,
            ..RoutingConfig::default()
        });
        assert!(matches!(d.route(&onion), Err(Error::OnionDisabled(_))));
    }

    #[test]
    fn lookups_never_leak_while_proxied() {
        let tor = Dialer::new(RoutingConfig {
            proxy: Some(proxy(9050)),
            ..RoutingConfig::default()
        });
        assert!(tor.resolves_through_tor());
        for cfg in [
            RoutingConfig {
                proxy: Some(proxy(1080)),
                no_onion: true,
                ..RoutingConfig::default()
            },
            RoutingConfig {
                proxy: Some(proxy(1080)),
                onion_proxy: Some(proxy(9050)),
                ..RoutingConfig::default()
            },
        ] {
            let d = Dialer::new(cfg);
            assert!(!d.resolves_through_tor());
            assert!(matches!(
                d.lookup("seed.example", Duration::from_secs(1)),
                Err(Error::LookupRefused(_))
            ));
        }
        // IP literals need no lookup at all, proxied or not.
        assert_eq!(
            tor.lookup("127.0.0.1", Duration::from_secs(1))
                .expect("lit"),
            vec![IpAddr::from([127, 0, 0, 1])]
        );
        assert!(matches!(
            Dialer::direct().lookup("abc.onion", Duration::from_secs(1)),
            Err(Error::LookupRefused(_))
        ));
    }
}
