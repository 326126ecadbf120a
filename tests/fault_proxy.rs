//! Faults: SOCKS5 proxies that fail. A proxy that is down (closed port), one that refuses
//! (real `microsocks` answering a CONNECT to a closed port with a failure reply), one that
//! hangs mid-handshake and one that answers garbage: the dialer returns a clear error
//! within its timeout; the connection manager retries a permanent request through it with
//! growing backoff; once stopped, no `connmgr` or `dial-N` thread is left.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use btcnode::connmgr::{Config, ConnManager, ConnReq, dial_fn};
use btcnode::socks::{Dialer, Error, Proxy, RoutingConfig, Target};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::fault_support::{child_scenario, run_child, thread_names};

/// The whole-exchange timeout the dialer gets in these tests.
const DIAL_TIMEOUT: Duration = Duration::from_millis(300);
/// Slack allowed beyond the timeout for a loaded machine.
const SLACK: Duration = Duration::from_secs(2);

/// How a scripted proxy misbehaves.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Answers the greeting, then says nothing more while holding the connection open.
    Hang,
    /// Answers the greeting with random bytes (seeded) and closes.
    Garbage(u64),
}

/// An in-process misbehaving proxy on 127.0.0.1; records when each connection came.
struct BadProxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Vec<Instant>>>,
}

impl BadProxy {
    fn start(mode: Mode) -> BadProxy {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.set_nonblocking(true).expect("nonblocking listener");
        let addr = l.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let handle = btcnode::thread::spawn_named("t-badproxy".into(), 256 * 1024, move || {
            let mut rng = StdRng::seed_from_u64(match mode {
                Mode::Garbage(s) => s,
                Mode::Hang => 0,
            });
            let mut held: Vec<TcpStream> = Vec::new();
            let mut seen = Vec::new();
            while !stop2.load(Ordering::SeqCst) {
                let mut s = match l.accept() {
                    Ok((s, _)) => s,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(2));
                        continue;
                    }
                };
                seen.push(Instant::now());
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                let mut greeting = [0u8; 3];
                let _ = s.read(&mut greeting);
                match mode {
                    Mode::Hang => {
                        let _ = s.write_all(&[5, 0]);
                        held.push(s);
                    }
                    Mode::Garbage(_) => {
                        let n = rng.random_range(1..64usize);
                        let mut junk: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                        // Never a valid method selection.
                        junk[0] = junk[0].wrapping_add(u8::from(junk[0] == 5));
                        let _ = s.write_all(&junk);
                    }
                }
            }
            seen
        })
        .expect("spawn proxy thread");
        BadProxy {
            addr,
            stop,
            handle: Some(handle),
        }
    }

    /// Stops the proxy and returns when each connection arrived.
    fn finish(mut self) -> Vec<Instant> {
        self.stop.store(true, Ordering::SeqCst);
        self.handle
            .take()
            .map(|h| h.join().expect("proxy thread"))
            .unwrap_or_default()
    }
}

impl Drop for BadProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A real `microsocks` on a free loopback port, killed on drop.
struct Microsocks {
    addr: SocketAddr,
    child: Child,
}

impl Microsocks {
    fn start() -> Option<Microsocks> {
        if !std::path::Path::new("/usr/bin/microsocks").exists() {
            return None;
        }
        let port = free_port();
        let child = Command::new("/usr/bin/microsocks")
            .args(["-i", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let m = Microsocks {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&m.addr, Duration::from_millis(200)).is_ok() {
                return Some(m);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Microsocks {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// A loopback address nothing listens on.
fn closed_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

fn dialer(proxy: SocketAddr) -> Dialer {
    Dialer::new(RoutingConfig {
        proxy: Some(Proxy::new(proxy)),
        ..RoutingConfig::default()
    })
}

/// Dials a closed loopback target through `proxy` and returns the error and how long it took.
fn dial_fails(proxy: SocketAddr) -> (Error, Duration) {
    let started = Instant::now();
    let got = dialer(proxy).dial(&Target::Addr(closed_addr()), DIAL_TIMEOUT);
    let took = started.elapsed();
    match got {
        Ok(s) => panic!("dial through a failing proxy connected: {s:?}"),
        Err(e) => {
            assert!(took < DIAL_TIMEOUT + SLACK, "{e} after {took:?}");
            (e, took)
        }
    }
}

#[test]
fn fault_proxy_down_is_a_clear_connect_error() {
    let (e, _) = dial_fails(closed_addr());
    assert!(
        matches!(
            e,
            Error::Io {
                during: "connect to proxy",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("connect to proxy"), "{e}");
}

#[test]
fn fault_proxy_refusing_is_a_clear_reply_error() {
    let Some(m) = Microsocks::start() else {
        crate::support::skip(
            "fault_proxy_refusing_is_a_clear_reply_error",
            "microsocks not available",
        );
        return;
    };
    let (e, _) = dial_fails(m.addr);
    assert!(e.reply_code().is_some(), "not a reply error: {e:?}");
    assert!(!e.to_string().is_empty());
}

#[test]
fn fault_proxy_hanging_mid_handshake_times_out() {
    let p = BadProxy::start(Mode::Hang);
    let (e, took) = dial_fails(p.addr);
    assert!(matches!(e, Error::TimedOut { .. }), "{e:?}");
    assert!(took >= DIAL_TIMEOUT, "gave up early: {took:?}");
    assert!(
        e.to_string().contains("timed out") || e.to_string().contains("time"),
        "{e}"
    );
    assert_eq!(p.finish().len(), 1);
}

#[test]
fn fault_proxy_answering_garbage_is_a_protocol_error() {
    for seed in 0..20 {
        let p = BadProxy::start(Mode::Garbage(seed));
        let (e, _) = dial_fails(p.addr);
        assert!(
            !matches!(e, Error::TimedOut { .. }),
            "seed {seed}: garbage should fail fast: {e:?}"
        );
        assert!(!e.to_string().is_empty());
    }
}

/// The base retry duration the manager gets in these tests.
const RETRY: Duration = Duration::from_millis(40);

/// Runs a connection manager with one permanent request through a failing proxy until it
/// has failed `want` times; checks the backoff between attempts and that every thread is
/// gone after stop. Runs in a child process (see [`run_child`]) so the threads seen are
/// its own.
fn connmgr_retries_through(proxy_addr: SocketAddr, proxy: Option<BadProxy>) {
    // The test's own helper threads (`t-*`) and the test harness's come and go; count the
    // rest (every btcnode thread has a name of its own).
    let ours = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .filter(|n| !n.starts_with("t-") && !n.starts_with("tests-") && !n.contains("::"))
            .collect()
    };
    let before = ours(thread_names());
    let mut cfg = Config::new(dial_fn(dialer(proxy_addr), DIAL_TIMEOUT));
    cfg.retry_duration = RETRY;
    cfg.target_outbound = 0;
    let cm = ConnManager::start(cfg, Vec::new()).expect("start connmgr");
    let id = cm
        .connect(ConnReq::new(Target::Addr(closed_addr()), true))
        .expect("connect request");
    let want = 4;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut retries = 0;
    while Instant::now() < deadline {
        let snap = cm.snapshot().expect("snapshot");
        retries = snap
            .pending
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.retry_count)
            .unwrap_or(0);
        assert!(
            snap.established.is_empty(),
            "connected through a failing proxy"
        );
        if retries >= want {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(retries >= want, "only {retries} retries");
    cm.stop();
    assert!(cm.snapshot().is_err(), "snapshot after stop");
    if let Some(p) = proxy {
        let seen = p.finish();
        assert!(
            seen.len() >= want as usize,
            "{} attempts reached the proxy",
            seen.len()
        );
        // Permanent requests wait retry_duration × failures before the next attempt.
        for (k, w) in seen.windows(2).enumerate() {
            let gap = w[1] - w[0];
            let min = RETRY * (k as u32 + 1);
            assert!(
                gap + Duration::from_millis(5) >= min,
                "attempt {k}: gap {gap:?} < {min:?}"
            );
        }
    }
    // Joined threads can linger in /proc/self/task for a moment: poll briefly.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while ours(thread_names()).len() != before.len() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let after = ours(thread_names());
    let left: Vec<&String> = after
        .iter()
        .filter(|n| *n == "connmgr" || n.starts_with("dial-"))
        .collect();
    assert!(left.is_empty(), "threads left behind: {left:?}");
    assert_eq!(
        after.len(),
        before.len(),
        "threads before {before:?}, after {after:?}"
    );
}

/// Child side of [`fault_proxy_connmgr_retries_with_backoff_and_leaves_no_thread`].
#[test]
fn child_connmgr_through_failing_proxy() {
    let Some(scenario) = child_scenario() else {
        return;
    };
    match scenario.as_str() {
        "down" => connmgr_retries_through(closed_addr(), None),
        "refusing" => match Microsocks::start() {
            Some(m) => connmgr_retries_through(m.addr, None),
            None => crate::support::skip("fault_proxy refusing", "microsocks not available"),
        },
        "hang" => {
            let p = BadProxy::start(Mode::Hang);
            connmgr_retries_through(p.addr, Some(p));
        }
        "garbage" => {
            let p = BadProxy::start(Mode::Garbage(7));
            connmgr_retries_through(p.addr, Some(p));
        }
        other => panic!("unknown scenario {other}"),
    }
}

#[test]
fn fault_proxy_connmgr_retries_with_backoff_and_leaves_no_thread() {
    if child_scenario().is_some() {
        return;
    }
    for scenario in ["down", "refusing", "hang", "garbage"] {
        run_child("fault_proxy::child_connmgr_through_failing_proxy", scenario);
    }
}
