//! The SOCKS5 client against real servers (microsocks, danted, tor in a network namespace)
//! and against an in-process scripted server for the replies real servers do not produce.
//! Everything listens and connects on 127.0.0.1 only.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::Scratch;
use btcnode::socks::{Dialer, Error, Proxy, RoutingConfig, Target};

/// Test helper threads are named too, so a stuck test shows what it waits on.
fn spawn_named<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> JoinHandle<T> {
    btcnode::thread::spawn_named(name.to_string(), 256 * 1024, f).expect("spawn")
}

const TIMEOUT: Duration = Duration::from_secs(5);

/// A child process killed (SIGTERM, then SIGKILL) and reaped on drop.
struct ChildGuard {
    child: Child,
    name: &'static str,
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // SIGTERM first so servers that fork (danted) take their children down with them.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("{}: did not exit on SIGTERM, killing", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn wait_for_port(addr: SocketAddr, child: &mut ChildGuard) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Ok(Some(st)) = child.child.try_wait() {
            panic!("{} exited early: {st}", child.name);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{} did not listen on {addr}", child.name);
}

fn have(cmd: &str) -> bool {
    [
        "/usr/bin/",
        "/usr/sbin/",
        "/bin/",
        "/sbin/",
        "/usr/local/bin/",
    ]
    .iter()
    .any(|d| Path::new(&format!("{d}{cmd}")).exists())
}

/// An echo server on loopback for `n` connections; joined by the test.
fn echo_server(n: usize) -> (SocketAddr, JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let h = spawn_named("t-echo", move || {
        for _ in 0..n {
            let Ok((mut s, _)) = l.accept() else { return };
            s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
            let mut buf = [0u8; 64];
            while let Ok(k) = s.read(&mut buf) {
                if k == 0 || s.write_all(&buf[..k]).is_err() {
                    break;
                }
            }
        }
    });
    (addr, h)
}

fn assert_echoes(mut s: TcpStream) {
    s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    s.write_all(b"version").expect("write");
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).expect("echo");
    assert_eq!(&buf, b"version");
    s.shutdown(Shutdown::Both).expect("shutdown");
}

fn microsocks(creds: Option<(&str, &str)>) -> (ChildGuard, Proxy) {
    let port = free_port();
    let mut cmd = Command::new("microsocks");
    cmd.args(["-i", "127.0.0.1", "-p", &port.to_string()]);
    if let Some((u, p)) = creds {
        cmd.args(["-u", u, "-P", p]);
    }
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("microsocks is installed (scripts/test.sh installs it)");
    let mut g = ChildGuard {
        child,
        name: "microsocks",
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_for_port(addr, &mut g);
    (g, Proxy::new(addr))
}

#[test]
fn microsocks_no_auth_connects_by_address_and_by_name() {
    let (_ms, proxy) = microsocks(None);
    let (target, echo) = echo_server(2);
    assert_echoes(
        proxy
            .connect(&Target::Addr(target), TIMEOUT)
            .expect("connect"),
    );
    // A name goes to the proxy as a domain address (resolved by microsocks from /etc/hosts).
    let by_name = Target::host("localhost", target.port());
    assert_echoes(proxy.connect(&by_name, TIMEOUT).expect("connect by name"));
    echo.join().expect("echo");
    // A closed port comes back as the proxy's refusal.
    let closed = Target::Addr(SocketAddr::from(([127, 0, 0, 1], free_port())));
    let e = proxy.connect(&closed, TIMEOUT).expect_err("closed port");
    assert!(matches!(e, Error::ConnectionRefused), "{e}");
}

#[test]
fn microsocks_username_password() {
    let (_ms, mut proxy) = microsocks(Some(("btcnode", "s3cret")));
    let (target, echo) = echo_server(1);
    let e = proxy
        .connect(&Target::Addr(target), TIMEOUT)
        .expect_err("no credentials");
    assert!(matches!(e, Error::NoAcceptableAuthMethod), "{e}");
    proxy.credentials = Some(("btcnode".into(), "wrong".into()));
    let e = proxy
        .connect(&Target::Addr(target), TIMEOUT)
        .expect_err("bad password");
    assert!(matches!(e, Error::AuthFailed(_)), "{e}");
    proxy.credentials = Some(("btcnode".into(), "s3cret".into()));
    assert_echoes(
        proxy
            .connect(&Target::Addr(target), TIMEOUT)
            .expect("connect"),
    );
    echo.join().expect("echo");
}

#[test]
fn danted_connects_and_enforces_its_rules() {
    if !have("danted") {
        panic!("danted is not installed (scripts/test.sh installs dante-server)");
    }
    let dir = Scratch::new("danted");
    let port = free_port();
    let conf = dir.0.join("danted.conf");
    std::fs::write(
        &conf,
        format!(
            "logoutput: stderr\n\
             internal: 127.0.0.1 port = {port}\n\
             external: 127.0.0.1\n\
             clientmethod: none\n\
             socksmethod: none\n\
             user.privileged: root\n\
             user.unprivileged: nobody\n\
             client pass {{ from: 127.0.0.0/8 to: 127.0.0.0/8 }}\n\
             socks block {{ from: 0.0.0.0/0 to: 127.0.0.2/32 }}\n\
             socks pass {{ from: 127.0.0.0/8 to: 127.0.0.0/8 }}\n"
        ),
    )
    .expect("conf");
    let child = Command::new("danted")
        .arg("-f")
        .arg(&conf)
        .arg("-p")
        .arg(dir.0.join("danted.pid"))
        .args(["-N", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start danted");
    let mut g = ChildGuard {
        child,
        name: "danted",
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_for_port(addr, &mut g);
    let proxy = Proxy::new(addr);
    let (target, echo) = echo_server(1);
    assert_echoes(
        proxy
            .connect(&Target::Addr(target), TIMEOUT)
            .expect("connect"),
    );
    echo.join().expect("echo");
    let blocked = Target::Addr(SocketAddr::from(([127, 0, 0, 2], target.port())));
    let e = proxy.connect(&blocked, TIMEOUT).expect_err("blocked");
    assert!(matches!(e, Error::NotAllowed), "{e}");
    drop(g);
}

/// What the scripted server saw from one client.
#[derive(Debug, Default, Clone)]
struct Seen {
    methods: Vec<u8>,
    credentials: Option<(String, String)>,
    cmd: u8,
    request_tail: Vec<u8>,
}

/// How the scripted server answers.
#[derive(Clone)]
enum Script {
    /// Choose a method (answering username/password with success), then send these bytes
    /// after the request.
    Reply { method: u8, reply: Vec<u8> },
    /// Send these bytes right after the greeting and close.
    Raw(Vec<u8>),
    /// Send `reply` one byte every `gap` after the request.
    Drip { reply: Vec<u8>, gap: Duration },
}

/// A scripted SOCKS5 server on loopback serving `scripts` in order, one connection each.
fn scripted(scripts: Vec<Script>) -> (SocketAddr, JoinHandle<Vec<Seen>>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let h = spawn_named("t-script", move || {
        let mut seen = Vec::new();
        for script in scripts {
            let (mut s, _) = l.accept().expect("accept");
            s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
            let mut me = Seen::default();
            let mut head = [0u8; 2];
            s.read_exact(&mut head).expect("greeting");
            me.methods = vec![0; usize::from(head[1])];
            s.read_exact(&mut me.methods).expect("methods");
            let (method, reply, gap) = match script {
                Script::Raw(bytes) => {
                    let _ = s.write_all(&bytes);
                    seen.push(me);
                    continue;
                }
                Script::Reply { method, reply } => (method, reply, None),
                Script::Drip { reply, gap } => (0, reply, Some(gap)),
            };
            s.write_all(&[5, method]).expect("method");
            if method == 2 {
                let field = |s: &mut TcpStream| {
                    let mut n = [0u8; 1];
                    s.read_exact(&mut n).expect("len");
                    let mut f = vec![0; usize::from(n[0])];
                    s.read_exact(&mut f).expect("field");
                    String::from_utf8(f).expect("utf8")
                };
                let mut v = [0u8; 1];
                s.read_exact(&mut v).expect("auth version");
                let u = field(&mut s);
                let p = field(&mut s);
                me.credentials = Some((u, p));
                s.write_all(&[1, 0]).expect("auth ok");
            }
            let mut req = [0u8; 4];
            s.read_exact(&mut req).expect("request");
            me.cmd = req[1];
            let tail = match req[3] {
                1 => 6,
                4 => 18,
                _ => {
                    let mut n = [0u8; 1];
                    s.read_exact(&mut n).expect("len");
                    me.request_tail.push(n[0]);
                    usize::from(n[0]) + 2
                }
            };
            let mut t = vec![0; tail];
            s.read_exact(&mut t).expect("tail");
            me.request_tail.extend_from_slice(&t);
            match gap {
                None => {
                    let _ = s.write_all(&reply);
                }
                Some(gap) => {
                    for b in reply {
                        if s.write_all(&[b]).is_err() {
                            break;
                        }
                        std::thread::sleep(gap);
                    }
                }
            }
            seen.push(me);
        }
        seen
    });
    (addr, h)
}

const OK_V4: [u8; 10] = [5, 0, 0, 1, 127, 0, 0, 1, 0x20, 0x8d];

#[test]
fn every_reply_code_from_a_scripted_server() {
    let mut scripts = Vec::new();
    for code in (1..=8u8).chain([0x09, 0xF0, 0xF6]) {
        scripts.push(Script::Reply {
            method: 0,
            reply: vec![5, code, 0, 1, 0, 0, 0, 0, 0, 0],
        });
    }
    let n = scripts.len();
    let (addr, server) = scripted(scripts);
    let proxy = Proxy::new(addr);
    let target = Target::host("peer.example", 8333);
    let mut codes = Vec::new();
    for _ in 0..n {
        let e = proxy.connect(&target, TIMEOUT).expect_err("failure reply");
        codes.push(e.reply_code().expect("a reply error"));
        assert!(!e.to_string().is_empty());
    }
    assert_eq!(codes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 0xF0, 0xF6]);
    let e = Error::from_reply_code(0xF0).to_string();
    assert!(e.contains("descriptor"), "{e}");
    server.join().expect("server");
}

#[test]
fn malformed_replies_from_a_scripted_server() {
    let scripts = vec![
        Script::Raw(vec![4, 0]),
        Script::Raw(vec![5, 0xFF]),
        Script::Raw(vec![5, 0x02]),
        Script::Reply {
            method: 0,
            reply: vec![4, 0, 0, 1, 0, 0, 0, 0, 0, 0],
        },
        Script::Reply {
            method: 0,
            reply: vec![5, 0, 7, 1, 0, 0, 0, 0, 0, 0],
        },
        Script::Reply {
            method: 0,
            reply: vec![5, 0, 0, 9, 0, 0, 0, 0, 0, 0],
        },
        Script::Reply {
            method: 0,
            reply: vec![5, 0, 0, 1, 127, 0],
        },
        Script::Drip {
            reply: OK_V4.to_vec(),
            gap: Duration::from_millis(100),
        },
    ];
    let (addr, server) = scripted(scripts);
    let proxy = Proxy::new(addr);
    let t = Target::Addr(SocketAddr::from(([127, 0, 0, 1], 8333)));
    let short = Duration::from_millis(450);
    let errs: Vec<Error> = (0..8)
        .map(|i| {
            let timeout = if i == 7 { short } else { TIMEOUT };
            proxy.connect(&t, timeout).expect_err("malformed")
        })
        .collect();
    assert!(matches!(errs[0], Error::BadVersion(4)), "{}", errs[0]);
    assert!(
        matches!(errs[1], Error::NoAcceptableAuthMethod),
        "{}",
        errs[1]
    );
    assert!(
        matches!(errs[2], Error::UnexpectedAuthMethod(2)),
        "{}",
        errs[2]
    );
    assert!(matches!(errs[3], Error::BadVersion(4)), "{}", errs[3]);
    assert!(matches!(errs[4], Error::BadReserved(7)), "{}", errs[4]);
    assert!(matches!(errs[5], Error::BadAddressType(9)), "{}", errs[5]);
    assert!(
        matches!(errs[6], Error::UnexpectedEof { .. }),
        "{}",
        errs[6]
    );
    // Each byte arrives well within the timeout, but the whole reply does not.
    assert!(
        matches!(
            errs[7],
            Error::TimedOut {
                during: "read reply",
                ..
            }
        ),
        "{}",
        errs[7]
    );
    server.join().expect("server");
}

#[test]
fn tor_isolation_sends_fresh_credentials_per_connection() {
    let ok = || Script::Reply {
        method: 2,
        reply: OK_V4.to_vec(),
    };
    let (addr, server) = scripted(vec![ok(), ok(), ok()]);
    // --proxy --torisolation without --proxyuser/--proxypass: btcd did not isolate here.
    let dialer = Dialer::new(RoutingConfig {
        proxy: Some(Proxy::new(addr)),
        tor_isolation: true,
        ..RoutingConfig::default()
    });
    let t = Target::Addr(SocketAddr::from(([127, 0, 0, 1], 8333)));
    for _ in 0..3 {
        dialer.dial(&t, TIMEOUT).expect("dial");
    }
    let seen = server.join().expect("server");
    let creds: Vec<(String, String)> = seen
        .iter()
        .map(|s| s.credentials.clone().expect("isolation credentials sent"))
        .collect();
    assert!(seen.iter().all(|s| s.methods.contains(&2)));
    assert_ne!(creds[0], creds[1]);
    assert_ne!(creds[1], creds[2]);
    assert_ne!(creds[0], creds[2]);
}

#[test]
fn lookup_through_proxy_uses_tor_resolve() {
    let (addr, server) = scripted(vec![
        Script::Reply {
            method: 0,
            reply: vec![5, 0, 0, 1, 127, 0, 0, 9, 0, 0],
        },
        Script::Reply {
            method: 0,
            reply: vec![5, 4, 0, 0, 0, 0, 0, 0, 0, 0],
        },
    ]);
    let dialer = Dialer::new(RoutingConfig {
        proxy: Some(Proxy::new(addr)),
        ..RoutingConfig::default()
    });
    let ips = dialer.lookup("seed.example", TIMEOUT).expect("resolve");
    assert_eq!(ips, vec![std::net::IpAddr::from([127, 0, 0, 9])]);
    let e = dialer
        .lookup("missing.example", TIMEOUT)
        .expect_err("fails");
    assert!(matches!(e, Error::HostUnreachable), "{e}");
    let seen = server.join().expect("server");
    assert_eq!(seen[0].cmd, 0xF0);
    assert_eq!(&seen[0].request_tail[1..13], b"seed.example");
}

/// A network namespace with only loopback, deleted on drop.
struct NetNs(String);

impl NetNs {
    fn new() -> Option<NetNs> {
        let name = format!("btcn-tor-{}", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return None;
        }
        let ns = NetNs(name);
        let up = Command::new("ip")
            .args(["-n", &ns.0, "link", "set", "lo", "up"])
            .status()
            .expect("ip link");
        assert!(up.success(), "bringing up lo in {}", ns.0);
        Some(ns)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Relays one TCP connection at a time from a loopback port in this namespace to a Unix
/// socket (tor's SocksPort inside the namespace); returns when `conns` relays are done.
fn unix_relay(sock: PathBuf, conns: usize) -> (SocketAddr, JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let h = spawn_named("t-relay", move || {
        for _ in 0..conns {
            let Ok((tcp, _)) = l.accept() else { return };
            let unix = UnixStream::connect(&sock).expect("tor socket");
            let (mut t2, mut u2) = (
                tcp.try_clone().expect("clone"),
                unix.try_clone().expect("clone"),
            );
            let up = spawn_named("t-relay-up", move || {
                let _ = std::io::copy(&mut t2, &mut u2);
                let _ = u2.shutdown(Shutdown::Write);
            });
            let (mut t, mut u) = (tcp, unix);
            let _ = std::io::copy(&mut u, &mut t);
            let _ = t.shutdown(Shutdown::Both);
            let _ = up.join();
        }
    });
    (addr, h)
}

#[test]
fn tor_resolve_in_a_network_namespace() {
    if !have("tor") {
        panic!("tor is not installed (scripts/test.sh installs it)");
    }
    let Some(ns) = NetNs::new() else {
        crate::support::skip(
            "tor_resolve_in_a_network_namespace",
            "`ip netns add` failed (no network namespaces here)",
        );
        return;
    };
    let dir = Scratch::new("tor");
    let data = dir.0.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    use std::os::unix::fs::PermissionsExt;
    for d in [&dir.0, &data] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    let sock = dir.0.join("socks.sock");
    let torrc = dir.0.join("torrc");
    std::fs::write(
        &torrc,
        format!(
            "SocksPort unix:{} ExtendedErrors\nDataDirectory {}\nSocksTimeout 2\nLog notice file {}\n",
            sock.display(),
            data.display(),
            dir.0.join("tor.log").display()
        ),
    )
    .expect("torrc");
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.0, "tor", "-f"])
        .arg(&torrc)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tor");
    let mut tor = ChildGuard { child, name: "tor" };
    let deadline = Instant::now() + Duration::from_secs(20);
    while UnixStream::connect(&sock).is_err() {
        if let Ok(Some(st)) = tor.child.try_wait() {
            let log = std::fs::read_to_string(dir.0.join("tor.log")).unwrap_or_default();
            panic!("tor exited: {st}\n{log}");
        }
        assert!(Instant::now() < deadline, "tor did not open its SocksPort");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (relay, relay_thread) = unix_relay(sock, 4);
    let proxy = Proxy {
        addr: relay,
        credentials: None,
        isolation: true,
    };
    // Tor answers an IP literal at once, without the network.
    let ips = proxy
        .resolve("127.0.0.1", TIMEOUT)
        .expect("resolve literal");
    assert_eq!(ips, vec![std::net::IpAddr::from([127, 0, 0, 1])]);
    let ips = proxy
        .resolve("10.11.12.13", TIMEOUT)
        .expect("resolve literal");
    assert_eq!(ips, vec![std::net::IpAddr::from([10, 11, 12, 13])]);
    // A name cannot be resolved without a network: Tor's error form (address type 0).
    let dialer = Dialer::new(RoutingConfig {
        proxy: Some(proxy),
        tor_isolation: true,
        ..RoutingConfig::default()
    });
    let e = dialer
        .lookup("seed.btcnode.example", Duration::from_secs(10))
        .expect_err("no network in the namespace");
    assert!(
        matches!(
            e,
            Error::HostUnreachable | Error::GeneralFailure | Error::TtlExpired
        ),
        "{e}"
    );
    // A malformed onion name: Tor's extended error code, at once.
    let onion = Target::host("btcnode-not-a-v3-key.onion", 8333);
    let e = dialer.dial(&onion, TIMEOUT).expect_err("invalid onion");
    assert!(matches!(e, Error::UnknownReply(0xF6)), "{e}");
    assert!(e.to_string().contains("invalid address"), "{e}");
    relay_thread.join().expect("relay");
    drop(tor);
    drop(ns);
}
