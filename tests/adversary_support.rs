//! Helpers for the adversarial suite and the soak driver: sockets bound to a chosen loopback
//! source address, raw frames, an honest scripted peer that pings and records round trips,
//! and /proc readings of the node process. Nothing here dials anything but 127.0.0.0/8.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use btcnode::params::Network;
use btcnode::wire::message_header::{checksum, command_bytes};
use btcnode::wire::{
    Message, MsgHeaders, MsgPing, MsgPong, MsgVersion, NetAddress, PROTOCOL_VERSION, ServiceFlag,
    encode_message, read_message,
};
use parking_lot::Mutex;
use socket2::{Domain, Socket, Type};

/// The network the node under attack runs.
pub const NET: Network = Network::Regtest;

/// A TCP connection to `dst` from `src` (any 127.0.0.0/8 address works on loopback), so
/// attackers can come from their own hosts and /24s. std cannot bind before connecting,
/// hence `socket2`.
pub fn connect_from(src: Ipv4Addr, dst: SocketAddr) -> std::io::Result<TcpStream> {
    assert!(src.is_loopback() && dst.ip().is_loopback(), "loopback only");
    let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    s.bind(&SocketAddr::from((src, 0)).into())?;
    s.connect_timeout(&dst.into(), Duration::from_secs(5))?;
    Ok(s.into())
}

/// A frame with `declared` as its length field (which may lie) and `payload` after it.
pub fn frame_with_len(command: &str, declared: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(24 + payload.len());
    b.extend_from_slice(&NET.magic().to_le_bytes());
    b.extend_from_slice(&command_bytes(command).expect("command fits"));
    b.extend_from_slice(&declared.to_le_bytes());
    b.extend_from_slice(&checksum(payload));
    b.extend_from_slice(payload);
    b
}

/// A well-formed frame of any command and payload (also commands the node does not know).
pub fn frame(command: &str, payload: &[u8]) -> Vec<u8> {
    frame_with_len(command, payload.len() as u32, payload)
}

/// The framed bytes of a message.
pub fn encode(m: &Message) -> Vec<u8> {
    encode_message(m, PROTOCOL_VERSION, NET.magic()).expect("encodable")
}

/// A `version` message from a scripted peer.
pub fn version_msg(nonce: u64) -> MsgVersion {
    let na = NetAddress::from_socket_addr(([127, 0, 0, 1], 18444).into(), ServiceFlag::NONE);
    MsgVersion::new(
        PROTOCOL_VERSION as i32,
        ServiceFlag::NODE_NETWORK | ServiceFlag::NODE_WITNESS,
        1_700_000_000,
        na,
        na,
        nonce,
        "/adversary:1.0/".to_string(),
        0,
        false,
    )
}

/// Reads one message from a blocking socket.
pub fn recv(s: &mut TcpStream) -> Result<Message, btcnode::wire::Error> {
    read_message(s, PROTOCOL_VERSION, NET.magic()).map(|(m, _)| m)
}

/// The version handshake with the node as the inbound side (`we_dialed`) or the outbound
/// side; returns once the node's `verack` has been read.
pub fn handshake(s: &mut TcpStream, we_dialed: bool, nonce: u64) -> Result<(), String> {
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    // Our small writes go out at once, so timings measure the node, not Nagle.
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    let send = |s: &mut TcpStream, m: &Message| s.write_all(&encode(m)).map_err(|e| e.to_string());
    if we_dialed {
        send(s, &Message::Version(version_msg(nonce)))?;
    }
    loop {
        match recv(s).map_err(|e| e.to_string())? {
            Message::Version(_) => {
                if !we_dialed {
                    send(s, &Message::Version(version_msg(nonce)))?;
                }
                send(s, &Message::SendAddrV2)?;
                send(s, &Message::Verack)?;
            }
            Message::Verack => return Ok(()),
            _ => {}
        }
    }
}

/// Waits until the remote closes `s` (EOF or reset), discarding what it sends; returns how
/// long that took, or `None` if it was still open after `timeout`.
pub fn wait_closed(s: &mut TcpStream, timeout: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let left = timeout.checked_sub(start.elapsed())?;
        let _ = s.set_read_timeout(Some(left.max(Duration::from_millis(1))));
        match s.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                if start.elapsed() >= timeout {
                    return None;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
}

/// Whether `s` is still open after `wait` (nothing read counts as open; data is discarded).
pub fn still_open(s: &mut TcpStream, wait: Duration) -> bool {
    wait_closed(s, wait).is_none()
}

/// A test thread with a small stack (the soak driver runs two per peer).
fn small_thread(f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, String> {
    std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(f)
        .map_err(|e| format!("spawn: {e}"))
}

/// Round trips of one honest peer.
#[derive(Default)]
struct PingLog {
    /// nonce -> sent at.
    pending: HashMap<u64, Instant>,
    /// (sent at, round trip) of answered pings.
    answered: Vec<(Instant, Duration)>,
    /// Sent-at of every ping.
    sent: Vec<Instant>,
}

/// Latency figures over a window.
#[derive(Debug, Clone, Copy, Default)]
pub struct PingStats {
    /// Pings sent in the window.
    pub sent: usize,
    /// Of which unanswered.
    pub lost: usize,
    /// Median round trip.
    pub p50: Duration,
    /// 99th percentile (an unanswered ping counts as infinitely slow).
    pub p99: Duration,
    /// Slowest answered.
    pub max: Duration,
}

impl PingStats {
    /// Figures for `sent` pings of which `rtts` were answered.
    pub fn of(sent: usize, mut rtts: Vec<Duration>) -> PingStats {
        rtts.sort();
        let lost = sent.saturating_sub(rtts.len());
        let pct = |p: f64| -> Duration {
            if sent == 0 {
                return Duration::ZERO;
            }
            let rank = ((sent as f64) * p).ceil() as usize;
            let idx = rank.clamp(1, sent) - 1;
            rtts.get(idx).copied().unwrap_or(Duration::MAX)
        };
        PingStats {
            sent,
            lost,
            p50: pct(0.50),
            p99: pct(0.99),
            max: rtts.last().copied().unwrap_or_default(),
        }
    }
}

/// An honest peer: handshakes, then pings every `interval` and answers the node's pings and
/// its `getheaders` (with no headers: the peer knows nothing past genesis, so the node's
/// header sync with it ends at once instead of stalling); a reader thread records round trips
/// and notices if the node drops it.
pub struct HonestPeer {
    stream: TcpStream,
    log: Arc<Mutex<PingLog>>,
    stop: Arc<AtomicBool>,
    /// Dropped to wake the pinger at once.
    wake: Option<crossbeam_channel::Sender<()>>,
    dropped: Arc<Mutex<Option<String>>>,
    threads: Vec<JoinHandle<()>>,
    /// Our end's address as the node sees it.
    pub local_addr: SocketAddr,
}

impl HonestPeer {
    /// Connects from `src` to the node at `node` and handshakes.
    pub fn dial(src: Ipv4Addr, node: SocketAddr, interval: Duration) -> Result<HonestPeer, String> {
        let mut s = connect_from(src, node).map_err(|e| e.to_string())?;
        handshake(&mut s, true, rand::random())?;
        HonestPeer::run(s, interval)
    }

    /// Accepts the node's outbound connection on `l` and handshakes.
    pub fn accept(l: &TcpListener, interval: Duration) -> Result<HonestPeer, String> {
        let (mut s, _) = l.accept().map_err(|e| e.to_string())?;
        handshake(&mut s, false, rand::random())?;
        HonestPeer::run(s, interval)
    }

    fn run(stream: TcpStream, interval: Duration) -> Result<HonestPeer, String> {
        let local_addr = stream.local_addr().map_err(|e| e.to_string())?;
        // A quiet minute means the node is stuck: the reader reports it as a drop.
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        let writer = Arc::new(Mutex::new(stream.try_clone().map_err(|e| e.to_string())?));
        let log = Arc::new(Mutex::new(PingLog::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(Mutex::new(None));
        let mut threads = Vec::new();
        let (wake, sleeper) = crossbeam_channel::bounded::<()>(0);
        {
            let (mut r, writer, log, stop, dropped) = (
                stream.try_clone().map_err(|e| e.to_string())?,
                writer.clone(),
                log.clone(),
                stop.clone(),
                dropped.clone(),
            );
            threads.push(small_thread(move || {
                loop {
                    let m = match recv(&mut r) {
                        Ok(m) => m,
                        Err(e) => {
                            if !stop.load(Ordering::SeqCst) {
                                *dropped.lock() = Some(format!("read: {e}"));
                            }
                            return;
                        }
                    };
                    match m {
                        Message::Pong(MsgPong { nonce }) => {
                            let now = Instant::now();
                            let mut l = log.lock();
                            if let Some(at) = l.pending.remove(&nonce) {
                                l.answered.push((at, now - at));
                            }
                        }
                        Message::Ping(MsgPing { nonce }) => {
                            let pong = encode(&Message::Pong(MsgPong { nonce }));
                            if writer.lock().write_all(&pong).is_err() {
                                return;
                            }
                        }
                        Message::GetHeaders(_) => {
                            let none = encode(&Message::Headers(MsgHeaders { headers: vec![] }));
                            if writer.lock().write_all(&none).is_err() {
                                return;
                            }
                        }
                        _ => {}
                    }
                }
            })?);
        }
        {
            let (writer, log, stop, dropped) =
                (writer.clone(), log.clone(), stop.clone(), dropped.clone());
            threads.push(small_thread(move || {
                let mut nonce = 1u64;
                while !stop.load(Ordering::SeqCst) {
                    let ping = encode(&Message::Ping(MsgPing { nonce }));
                    {
                        let now = Instant::now();
                        let mut l = log.lock();
                        l.pending.insert(nonce, now);
                        l.sent.push(now);
                    }
                    if let Err(e) = writer.lock().write_all(&ping) {
                        if !stop.load(Ordering::SeqCst) {
                            *dropped.lock() = Some(format!("write: {e}"));
                        }
                        return;
                    }
                    nonce += 1;
                    // Nothing is ever sent: the sender's drop (close) is the wake-up.
                    if let Err(crossbeam_channel::RecvTimeoutError::Disconnected) =
                        sleeper.recv_timeout(interval)
                    {
                        return;
                    }
                }
            })?);
        }
        Ok(HonestPeer {
            stream,
            log,
            stop,
            wake: Some(wake),
            dropped,
            threads,
            local_addr,
        })
    }

    /// Why the node dropped us, if it did.
    pub fn dropped(&self) -> Option<String> {
        self.dropped.lock().clone()
    }

    /// The pings sent at or after `since` and before `until`: how many, and the round trips
    /// of those answered.
    pub fn window(&self, since: Instant, until: Instant) -> (usize, Vec<Duration>) {
        let l = self.log.lock();
        let sent = l.sent.iter().filter(|&&t| t >= since && t < until).count();
        let rtts = l
            .answered
            .iter()
            .filter(|(t, _)| *t >= since && *t < until)
            .map(|&(_, d)| d)
            .collect();
        (sent, rtts)
    }

    /// Latency of the pings sent at or after `since` (and before `until`).
    pub fn stats(&self, since: Instant, until: Instant) -> PingStats {
        let (sent, rtts) = self.window(since, until);
        PingStats::of(sent, rtts)
    }

    /// Stops pinging and closes the connection.
    pub fn close(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake.take();
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A line of `/proc/PID/status` in kB (`VmRSS`, `VmHWM`).
pub fn proc_status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Kernel threads of a process.
pub fn proc_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count())
}

/// Open descriptors of a process.
pub fn proc_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// User plus system CPU time of a process, in clock ticks (100 per second on Linux).
pub fn proc_cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the ")" that ends the command name: utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

/// Threads of a process whose name ends in `suffix` (e.g. `-neg`: handshakes under way).
pub fn proc_threads_named(pid: u32, suffix: &str) -> usize {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .filter(|n| n.trim().ends_with(suffix))
        .count()
}

/// Peaks of a process's threads, handshake threads and descriptors, sampled every 20 ms by
/// a background thread until dropped.
pub struct PeakSampler {
    peaks: Arc<Mutex<(usize, usize, usize)>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PeakSampler {
    /// Starts sampling `pid`.
    pub fn start(pid: u32) -> PeakSampler {
        let peaks = Arc::new(Mutex::new((0, 0, 0)));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peaks.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                let (t, n, f) = (
                    proc_threads(pid),
                    proc_threads_named(pid, "-neg"),
                    proc_fds(pid),
                );
                {
                    let mut g = p.lock();
                    g.0 = g.0.max(t);
                    g.1 = g.1.max(n);
                    g.2 = g.2.max(f);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        PeakSampler {
            peaks,
            stop,
            thread: Some(thread),
        }
    }

    /// (threads, handshake threads, descriptors) peaks since the last reset, and resets.
    pub fn take(&self) -> (usize, usize, usize) {
        std::mem::take(&mut *self.peaks.lock())
    }
}

impl Drop for PeakSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
