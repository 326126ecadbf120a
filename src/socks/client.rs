//! The SOCKS5 exchange over a socket, under one deadline, and [`Proxy`], which dials through
//! a SOCKS5 server (CONNECT) or asks Tor to resolve a name (RESOLVE).

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use rand::RngExt;

use super::proto::{self, BoundAddr, Parsed, Reply};
use super::{Error, Target};

/// A point in time by which the whole SOCKS5 exchange must be done. Every connect, read
/// and write uses the time that remains, so a proxy that drips bytes cannot stretch it.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
    timeout: Duration,
}

impl Deadline {
    /// A deadline `timeout` after `now`.
    pub fn new(now: Instant, timeout: Duration) -> Deadline {
        Deadline {
            at: now + timeout,
            timeout,
        }
    }

    /// The time left at `now`, or [`Error::TimedOut`] naming `during` if none is left.
    pub fn remaining_at(&self, now: Instant, during: &'static str) -> Result<Duration, Error> {
        match self.at.checked_duration_since(now) {
            Some(d) if !d.is_zero() => Ok(d),
            _ => Err(Error::TimedOut {
                during,
                timeout: self.timeout,
            }),
        }
    }

    /// The time left now.
    pub fn remaining(&self, during: &'static str) -> Result<Duration, Error> {
        self.remaining_at(Instant::now(), during)
    }

    /// The timeout this deadline was made from.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// A stream whose reads and writes can be given a timeout: what the exchange runs over.
pub trait TimedStream: Read + Write {
    /// Sets both the read and the write timeout.
    fn set_io_timeout(&self, timeout: Duration) -> io::Result<()>;
}

impl TimedStream for TcpStream {
    fn set_io_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(timeout))?;
        self.set_write_timeout(Some(timeout))
    }
}

impl TimedStream for UnixStream {
    fn set_io_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(timeout))?;
        self.set_write_timeout(Some(timeout))
    }
}

fn io_error(e: io::Error, during: &'static str, deadline: &Deadline) -> Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::TimedOut {
            during,
            timeout: deadline.timeout(),
        },
        io::ErrorKind::UnexpectedEof => Error::UnexpectedEof { during },
        _ => Error::Io { during, source: e },
    }
}

fn write_all<S: TimedStream>(
    s: &mut S,
    mut buf: &[u8],
    deadline: &Deadline,
    during: &'static str,
) -> Result<(), Error> {
    while !buf.is_empty() {
        let left = deadline.remaining(during)?;
        s.set_io_timeout(left)
            .map_err(|e| io_error(e, during, deadline))?;
        match s.write(buf) {
            Ok(0) => return Err(Error::UnexpectedEof { during }),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(e, during, deadline)),
        }
    }
    Ok(())
}

/// Reads into `buf[*filled..want]`, resetting the timeout to the time left before each read.
fn read_to<S: TimedStream>(
    s: &mut S,
    buf: &mut [u8],
    filled: &mut usize,
    want: usize,
    deadline: &Deadline,
    during: &'static str,
) -> Result<(), Error> {
    while *filled < want {
        let left = deadline.remaining(during)?;
        s.set_io_timeout(left)
            .map_err(|e| io_error(e, during, deadline))?;
        match s.read(&mut buf[*filled..want]) {
            Ok(0) => return Err(Error::UnexpectedEof { during }),
            Ok(n) => *filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(e, during, deadline)),
        }
    }
    Ok(())
}

fn read_exact<S: TimedStream, const N: usize>(
    s: &mut S,
    deadline: &Deadline,
    during: &'static str,
) -> Result<[u8; N], Error> {
    let mut buf = [0u8; N];
    let mut filled = 0;
    read_to(s, &mut buf, &mut filled, N, deadline, during)?;
    Ok(buf)
}

/// Longest reply: header, a 255-byte domain with its length byte, and the port.
const MAX_REPLY_LEN: usize = 4 + 1 + 255 + 2;

/// Reads one reply, byte-exact: never reads past its end.
fn read_reply<S: TimedStream>(s: &mut S, deadline: &Deadline) -> Result<Reply, Error> {
    const DURING: &str = "read reply";
    let mut buf = [0u8; MAX_REPLY_LEN];
    let mut filled = 0;
    loop {
        match proto::parse_reply(&buf[..filled])? {
            Parsed::Complete(reply, _) => return Ok(reply),
            Parsed::NeedMore(want) => {
                let want = want.min(MAX_REPLY_LEN);
                match read_to(s, &mut buf, &mut filled, want, deadline, DURING) {
                    Ok(()) => {}
                    // Some proxies send only `VER REP` of a failure and close: the code is
                    // the useful part.
                    Err(Error::UnexpectedEof { .. })
                        if filled >= 2
                            && buf[0] == proto::SOCKS_VERSION
                            && buf[1] != proto::REPLY_SUCCEEDED =>
                    {
                        return Err(Error::from_reply_code(buf[1]));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
}

/// Runs the whole client side of a SOCKS5 exchange on `s`: greeting, optional
/// username/password, then `cmd` for `target`; returns the proxy's bound (or resolved)
/// address on success.
pub fn negotiate<S: TimedStream>(
    s: &mut S,
    deadline: &Deadline,
    credentials: Option<(&str, &str)>,
    cmd: u8,
    target: &Target,
) -> Result<BoundAddr, Error> {
    // Build everything first so bad input fails before any byte is sent.
    let request = proto::request(cmd, target)?;
    let auth = credentials
        .map(|(u, p)| proto::userpass_request(u, p))
        .transpose()?;
    write_all(
        s,
        &proto::greeting(auth.is_some()),
        deadline,
        "send greeting",
    )?;
    let sel = read_exact::<_, 2>(s, deadline, "read method selection")?;
    let method = proto::parse_method_selection(sel, auth.is_some())?;
    if method == proto::AUTH_USERPASS
        && let Some(auth) = &auth
    {
        write_all(s, auth, deadline, "send username and password")?;
        let r = read_exact::<_, 2>(s, deadline, "read auth reply")?;
        proto::parse_userpass_reply(r)?;
    }
    write_all(s, &request, deadline, "send request")?;
    read_reply(s, deadline)?.into_result()
}

/// A SOCKS5 proxy: where it is, how to log in, and whether to isolate streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// The proxy's address.
    pub addr: SocketAddr,
    /// Username and password (RFC 1929), if the proxy wants them.
    pub credentials: Option<(String, String)>,
    /// Tor stream isolation: send a fresh random username and password on every connection
    /// (overriding `credentials`), so Tor (IsolateSOCKSAuth, on by default) puts each
    /// connection on its own circuit.
    pub isolation: bool,
}

/// Length in bytes of each random isolation credential (hex-encoded to twice this).
const ISOLATION_CREDENTIAL_LEN: usize = 16;

fn random_hex() -> String {
    let bytes: [u8; ISOLATION_CREDENTIAL_LEN] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Proxy {
    /// A proxy without credentials or isolation.
    pub fn new(addr: SocketAddr) -> Proxy {
        Proxy {
            addr,
            credentials: None,
            isolation: false,
        }
    }

    /// The credentials for the next connection: fresh random ones with isolation.
    fn next_credentials(&self) -> Option<(String, String)> {
        if self.isolation {
            Some((random_hex(), random_hex()))
        } else {
            self.credentials.clone()
        }
    }

    fn open(&self, deadline: &Deadline) -> Result<TcpStream, Error> {
        let left = deadline.remaining("connect to proxy")?;
        TcpStream::connect_timeout(&self.addr, left).map_err(|e| match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::TimedOut {
                during: "connect to proxy",
                timeout: deadline.timeout(),
            },
            _ => Error::Io {
                during: "connect to proxy",
                source: e,
            },
        })
    }

    /// Opens a connection to `target` through the proxy (CONNECT). `timeout` covers the
    /// whole exchange, from the TCP connect to the proxy to the last byte of its reply. The
    /// stream returned has no read or write timeout set.
    pub fn connect(&self, target: &Target, timeout: Duration) -> Result<TcpStream, Error> {
        let deadline = Deadline::new(Instant::now(), timeout);
        let mut s = self.open(&deadline)?;
        let creds = self.next_credentials();
        let creds = creds.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
        negotiate(&mut s, &deadline, creds, proto::CMD_CONNECT, target)?;
        let clear = |s: &TcpStream| -> io::Result<()> {
            s.set_read_timeout(None)?;
            s.set_write_timeout(None)
        };
        clear(&s).map_err(|e| Error::Io {
            during: "clear socket timeouts",
            source: e,
        })?;
        log::debug!(target: "btcnode::socks", "connected to {target} through proxy {}", self.addr);
        Ok(s)
    }

    /// Resolves `host` through Tor (RESOLVE, command 0xF0). Tor answers with one address;
    /// its failures come back as reply errors (usually [`Error::HostUnreachable`] or
    /// [`Error::GeneralFailure`]).
    pub fn resolve(&self, host: &str, timeout: Duration) -> Result<Vec<IpAddr>, Error> {
        let deadline = Deadline::new(Instant::now(), timeout);
        let mut s = self.open(&deadline)?;
        let creds = self.next_credentials();
        let creds = creds.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
        let target = Target::Host {
            host: host.to_string(),
            port: 0,
        };
        match negotiate(&mut s, &deadline, creds, proto::CMD_TOR_RESOLVE, &target)? {
            BoundAddr::Ip(a) => Ok(vec![a.ip()]),
            BoundAddr::Domain(..) | BoundAddr::None => Err(Error::ResolveNotAnAddress),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_counts_down() {
        let now = Instant::now();
        let d = Deadline::new(now, Duration::from_secs(5));
        assert_eq!(
            d.remaining_at(now + Duration::from_secs(2), "x")
                .expect("left"),
            Duration::from_secs(3)
        );
        assert!(matches!(
            d.remaining_at(now + Duration::from_secs(5), "read reply"),
            Err(Error::TimedOut {
                during: "read reply",
                ..
            })
        ));
    }

    /// The scripted proxy side of a UnixStream pair: reads what the client sends, answers
    /// with `script`.
    fn run(
        script: Vec<u8>,
        creds: Option<(&str, &str)>,
        target: &Target,
    ) -> (Result<BoundAddr, Error>, Vec<u8>) {
        let (mut client, mut server) = UnixStream::pair().expect("pair");
        server.write_all(&script).expect("script");
        server
            .shutdown(std::net::Shutdown::Write)
            .expect("shutdown");
        let deadline = Deadline::new(Instant::now(), Duration::from_secs(5));
        let r = negotiate(&mut client, &deadline, creds, proto::CMD_CONNECT, target);
        drop(client);
        let mut sent = Vec::new();
        server.read_to_end(&mut sent).expect("read");
        (r, sent)
    }

    #[test]
    fn no_auth_connect_sends_exact_bytes() {
        let t: Target = "127.0.0.1:8333".parse().expect("t");
        let (r, sent) = run(vec![5, 0, 5, 0, 0, 1, 1, 2, 3, 4, 0, 9], None, &t);
        assert_eq!(
            r.expect("ok"),
            BoundAddr::Ip("1.2.3.4:9".parse().expect("a"))
        );
        assert_eq!(sent, [5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0x20, 0x8d]);
    }

    #[test]
    fn userpass_connect_and_failures() {
        let t = Target::host("x.onion", 1);
        let (r, sent) = run(
            vec![5, 2, 1, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0],
            Some(("u", "p")),
            &t,
        );
        r.expect("ok");
        assert_eq!(&sent[..4], &[5, 2, 0, 2]);
        assert_eq!(&sent[4..9], &[1, 1, b'u', 1, b'p']);
        let (r, _) = run(vec![5, 2, 1, 1], Some(("u", "p")), &t);
        assert!(matches!(r, Err(Error::AuthFailed(1))));
        let (r, _) = run(vec![5, 0, 5, 5], None, &t);
        assert!(matches!(r, Err(Error::ConnectionRefused)), "{r:?}");
        let (r, _) = run(vec![5, 0, 5, 0, 0, 1, 0], None, &t);
        assert!(matches!(r, Err(Error::UnexpectedEof { .. })), "{r:?}");
    }

    #[test]
    fn silent_proxy_times_out_within_the_deadline() {
        let (mut client, _server) = UnixStream::pair().expect("pair");
        let deadline = Deadline::new(Instant::now(), Duration::from_millis(100));
        let t: Target = "127.0.0.1:1".parse().expect("t");
        let started = Instant::now();
        let r = negotiate(&mut client, &deadline, None, proto::CMD_CONNECT, &t);
        assert!(matches!(
            r,
            Err(Error::TimedOut {
                during: "read method selection",
                ..
            })
        ));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn isolation_credentials_are_fresh() {
        let mut p = Proxy::new("127.0.0.1:9050".parse().expect("a"));
        p.credentials = Some(("u".into(), "p".into()));
        assert_eq!(p.next_credentials(), p.credentials);
        p.isolation = true;
        let a = p.next_credentials().expect("a");
        let b = p.next_credentials().expect("b");
        assert_ne!(a, b);
        assert_ne!(a.0, a.1);
        assert_eq!(a.0.len(), 2 * ISOLATION_CREDENTIAL_LEN);
    }
}
