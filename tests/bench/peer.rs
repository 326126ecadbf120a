//! `peer` benchmarks: handshakes per second over loopback, ping round trips with 100 peers,
//! messages per second through one peer's send pipeline, and resident memory, threads and CPU
//! with 100, 500 and 1,000 idle handshaken inbound peers. Each figure is printed with a
//! baseline measured in the same run (bare loopback sockets, parked threads).
//!
//! The remote ends of the idle peers live in a child process (this binary again, told by an
//! environment variable) so the node's memory is measured alone; the floor of a parked peer
//! thread is measured in another child.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use btcnode::params::Network;
use btcnode::peer::{Config, MessageListeners, Peer};
use btcnode::wire::{
    Message, MsgPing, MsgPong, MsgVersion, NetAddress, PROTOCOL_VERSION, ServiceFlag,
    encode_message, read_message, write_message,
};
use parking_lot::Mutex;

const NET: Network = Network::Regtest;
const REMOTE_ENV: &str = "BTCNODE_BENCH_PEER_REMOTE";
const FLOOR_ENV: &str = "BTCNODE_BENCH_PEER_FLOOR";
/// Set to `idle` to run only the idle-peer memory and CPU part, or to `pipeline` to skip it
/// and run only handshakes, ping round trips and the send pipeline (keeps runs short).
const ONLY_ENV: &str = "BTCNODE_BENCH_PEER_ONLY";

/// Runs the section (or, in a child process, the remote or floor helper).
pub fn run() {
    if let Ok(spec) = std::env::var(REMOTE_ENV) {
        remote_main(&spec);
        std::process::exit(0);
    }
    if let Ok(n) = std::env::var(FLOOR_ENV) {
        floor_main(n.parse().unwrap_or(1000));
        std::process::exit(0);
    }
    let only = std::env::var(ONLY_ENV).unwrap_or_default();
    if only != "pipeline" {
        idle_peers();
    }
    if only == "idle" {
        return;
    }
    handshakes();
    ping_rtt();
    send_pipeline();
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Resident memory of this process's thread stacks of the peer stack size (the read-write
/// anonymous mappings of exactly that size; the guard page is a mapping of its own): how
/// many there are and their resident KiB in all. Stacks of ended threads that glibc keeps
/// for reuse are counted too: they are part of what the peers cost.
fn peer_stacks_rss() -> (usize, u64) {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let want = (btcnode::thread::PEER_THREAD_STACK_SIZE / 1024) as u64;
    let (mut count, mut kib, mut is_stack) = (0, 0, false);
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-')
            && let (Ok(a), Ok(b)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16))
        {
            let perms = fields.next().unwrap_or("");
            // Anonymous mappings have no path after offset, device and inode.
            let anonymous = fields.nth(3).is_none();
            is_stack = anonymous && perms == "rw-p" && (b - a) / 1024 == want;
            count += usize::from(is_stack);
        } else if is_stack && first == "Rss:" {
            kib += fields
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    (count, kib)
}

/// User + system CPU time of this process.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14th and 15th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

fn bench_config() -> Config {
    Config::new(NET)
}

fn remote_version(nonce: u64) -> MsgVersion {
    let na = NetAddress::from_socket_addr(([127, 0, 0, 1], 18444).into(), ServiceFlag::NONE);
    MsgVersion::new(
        PROTOCOL_VERSION as i32,
        ServiceFlag::NODE_NETWORK,
        1_700_000_000,
        na,
        na,
        nonce,
        "/bench-remote:1.0/".into(),
        0,
        false,
    )
}

/// Child process: opens N connections to the node, handshakes each with raw messages, says
/// "ready", and holds them until stdin closes.
fn remote_main(spec: &str) {
    let Some((addr, n)) = spec.rsplit_once(',') else {
        return;
    };
    let n: usize = n.parse().unwrap_or(0);
    let magic = NET.magic();
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let Ok(mut s) = TcpStream::connect(addr) else {
            eprintln!("remote: connect {i} failed");
            return;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
        let v = Message::Version(remote_version(0xbe00_0000 + i as u64));
        if write_message(&mut s, &v, PROTOCOL_VERSION, magic).is_err() {
            return;
        }
        let mut got_verack = false;
        while !got_verack {
            match read_message(&mut s, PROTOCOL_VERSION, magic) {
                Ok((Message::Version(_), _)) => {
                    let _ = write_message(&mut s, &Message::SendAddrV2, PROTOCOL_VERSION, magic);
                    let _ = write_message(&mut s, &Message::Verack, PROTOCOL_VERSION, magic);
                }
                Ok((Message::Verack, _)) => got_verack = true,
                Ok(_) => {}
                Err(e) => {
                    eprintln!("remote: handshake {i}: {e}");
                    return;
                }
            }
        }
        conns.push(s);
    }
    println!("ready");
    let _ = std::io::stdout().flush();
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(conns);
}

/// Child process: RSS cost of N parked threads with the peer stack size, printed as KiB per
/// thread in all and KiB of stack per thread.
fn floor_main(n: usize) {
    let before = rss_kib();
    let (tx, rx) = crossbeam_channel::bounded::<()>(0);
    let mut hs = Vec::new();
    for i in 0..n {
        let rx = rx.clone();
        if let Ok(h) = btcnode::thread::spawn_peer_thread(format!("floor-{i}"), move || {
            let _ = rx.recv();
        }) {
            hs.push(h);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = rss_kib();
    let (stacks, stacks_kib) = peer_stacks_rss();
    println!(
        "{} {}",
        (after.saturating_sub(before)) as f64 / n as f64,
        stacks_kib as f64 / stacks.max(1) as f64
    );
    drop(tx);
    for h in hs {
        let _ = h.join();
    }
}

struct Remotes {
    child: std::process::Child,
    /// Kept open so the child never writes to a closed pipe.
    stdout: Option<BufReader<std::process::ChildStdout>>,
}

fn spawn_remotes(addr: &str, n: usize) -> Option<Remotes> {
    let exe = std::env::current_exe().ok()?;
    let child = Command::new(exe)
        .arg("peer")
        .env(REMOTE_ENV, format!("{addr},{n}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    Some(Remotes {
        child,
        stdout: None,
    })
}

fn idle_peers() {
    let cfg = Arc::new(bench_config());
    let listener = match TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => {
            println!("idle peers: cannot listen: {e}");
            return;
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let threads_base = btcnode::thread::thread_count().unwrap_or(0);
    let rss_base = rss_kib();
    let mut peers: Vec<Peer> = Vec::new();
    let mut remotes: Vec<Remotes> = Vec::new();
    let mut per_peer_at_1000 = 0.0;
    println!(
        "idle handshaken inbound peers (remote ends in a child process); base RSS {rss_base} KiB, {threads_base} threads"
    );
    for target in [100usize, 500, 1000] {
        let add = target - peers.len();
        let Some(mut r) = spawn_remotes(&addr, add) else {
            println!("  cannot spawn the remote process");
            return;
        };
        for _ in 0..add {
            let Ok((s, _)) = listener.accept() else {
                println!("  accept failed");
                return;
            };
            let p = Peer::new_inbound(&cfg);
            if p.associate_connection(s).is_err() {
                println!("  associate failed");
                return;
            }
            peers.push(p);
        }
        // The child prints the section header first; wait for its "ready".
        if let Some(out) = r.child.stdout.take() {
            let mut out = BufReader::new(out);
            let mut line = String::new();
            while out.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                if line.trim() == "ready" {
                    break;
                }
                line.clear();
            }
            r.stdout = Some(out);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while !peers.iter().all(Peer::verack_received) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        remotes.push(r);
        // Let every thread reach its idle wait.
        std::thread::sleep(Duration::from_secs(1));
        let rss = rss_kib();
        let threads = btcnode::thread::thread_count().unwrap_or(0);
        let per_peer = rss.saturating_sub(rss_base) as f64 / target as f64;
        if target == 1000 {
            per_peer_at_1000 = per_peer;
        }
        let (stacks, stacks_kib) = peer_stacks_rss();
        let stacks_per_peer = stacks_kib as f64 / target as f64;
        println!(
            "  {target:>5} peers: RSS {rss} KiB (+{} KiB, {per_peer:.1} KiB/peer), {threads} threads ({:.2}/peer); of which stacks {stacks_per_peer:.1} KiB/peer ({stacks} of {} KiB, {:.1} KiB resident each), the rest {:.1} KiB/peer",
            rss.saturating_sub(rss_base),
            threads.saturating_sub(threads_base) as f64 / target as f64,
            btcnode::thread::PEER_THREAD_STACK_SIZE / 1024,
            stacks_kib as f64 / stacks.max(1) as f64,
            per_peer - stacks_per_peer
        );
    }
    // CPU of 1,000 idle peers over 10 s.
    let window = Duration::from_secs(10);
    let c0 = cpu_time();
    let t0 = Instant::now();
    std::thread::sleep(window);
    let used = cpu_time().saturating_sub(c0);
    let wall = t0.elapsed();
    println!(
        "  1000 idle peers: {:.2}% of one core over {:.0?} (goal < 2%)",
        100.0 * used.as_secs_f64() / wall.as_secs_f64(),
        wall
    );
    // Tear down: closing the children's stdin closes their sockets.
    for mut r in remotes {
        drop(r.child.stdin.take());
        let _ = r.child.wait();
    }
    for p in &peers {
        p.disconnect();
    }
    for p in &peers {
        p.wait_for_disconnect();
    }
    // Floor: parked threads with the peer stack size, in a fresh process.
    let floor = Command::new(std::env::current_exe().unwrap_or_default())
        .arg("peer")
        .env(FLOOR_ENV, "5000")
        .output()
        .ok()
        .and_then(|o| {
            let out = String::from_utf8_lossy(&o.stdout).into_owned();
            let mut last = out.lines().last()?.split_whitespace();
            let total = last.next()?.parse::<f64>().ok()?;
            let stack = last.next()?.parse::<f64>().ok()?;
            Some((total, stack))
        });
    match floor {
        Some((f, stack)) => println!(
            "  baseline: a parked peer thread costs {f:.1} KiB RSS, {stack:.1} KiB of it stack (5,000 threads); 5 per peer = {:.1} KiB; per-peer at 1,000 = {:.2}x that floor (goal <= 1.10x, 53 KiB)",
            5.0 * f,
            per_peer_at_1000 / (5.0 * f)
        ),
        None => println!("  baseline: floor measurement failed"),
    }
}

fn handshakes() {
    const N: usize = 500;
    let out_cfg = Arc::new(bench_config());
    let in_cfg = Arc::new(bench_config());
    let Ok(listener) = TcpListener::bind("127.0.0.1:0") else {
        return;
    };
    let Ok(addr) = listener.local_addr() else {
        return;
    };
    // Baseline: bare connect + accept + close.
    let t = Instant::now();
    for _ in 0..N {
        let c = TcpStream::connect(addr);
        let a = listener.accept();
        drop((c, a));
    }
    let bare = N as f64 / t.elapsed().as_secs_f64();
    let mut handshake_time = Duration::ZERO;
    let t = Instant::now();
    for _ in 0..N {
        let start = Instant::now();
        let (Ok(dialed), Ok((accepted, _))) = (TcpStream::connect(addr), listener.accept()) else {
            println!("handshakes: connect failed");
            return;
        };
        let out = Peer::new_outbound(&out_cfg, &addr.to_string());
        let inb = Peer::new_inbound(&in_cfg);
        let _ = inb.associate_connection(accepted);
        let _ = out.associate_connection(dialed);
        while !(out.verack_received() && inb.verack_received()) {
            if !out.connected() && out.disconnect_reason().is_some() {
                break;
            }
            std::thread::yield_now();
        }
        handshake_time += start.elapsed();
        out.disconnect();
        out.wait_for_disconnect();
        inb.wait_for_disconnect();
    }
    let cycle = N as f64 / t.elapsed().as_secs_f64();
    let hs = N as f64 / handshake_time.as_secs_f64();
    println!(
        "handshakes over loopback ({N}, both ends btcnode peers): {hs:.0}/s connect-to-verack ({:.0} us each), {cycle:.0}/s full cycles with teardown; baseline bare connect+accept {bare:.0}/s ({:.2}x)",
        1e6 / hs,
        hs / bare
    );
}

/// Records ping latencies as pongs arrive.
struct PongTimes(Mutex<Vec<Duration>>);

impl MessageListeners for PongTimes {
    fn on_pong(&self, p: &Peer, _msg: &MsgPong) {
        if let Some(l) = p.stats().last_ping_latency {
            self.0.lock().push(l);
        }
    }
}

fn percentile(v: &mut [Duration], q: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i.min(v.len() - 1)]
}

fn ping_rtt() {
    const PEERS: usize = 100;
    let times = Arc::new(PongTimes(Mutex::new(Vec::new())));
    let mut out_cfg = bench_config();
    out_cfg.ping_interval = Duration::from_millis(100);
    out_cfg.listeners = times.clone();
    let mut in_cfg = bench_config();
    in_cfg.ping_interval = Duration::from_millis(100);
    in_cfg.listeners = times.clone();
    let (out_cfg, in_cfg) = (Arc::new(out_cfg), Arc::new(in_cfg));
    let Ok(listener) = TcpListener::bind("127.0.0.1:0") else {
        return;
    };
    let Ok(addr) = listener.local_addr() else {
        return;
    };
    let mut peers = Vec::new();
    for _ in 0..PEERS {
        let (Ok(d), Ok((a, _))) = (TcpStream::connect(addr), listener.accept()) else {
            return;
        };
        let out = Peer::new_outbound(&out_cfg, &addr.to_string());
        let inb = Peer::new_inbound(&in_cfg);
        let _ = inb.associate_connection(a);
        let _ = out.associate_connection(d);
        peers.push(out);
        peers.push(inb);
    }
    std::thread::sleep(Duration::from_secs(3));
    let mut v = std::mem::take(&mut *times.0.lock());
    for p in &peers {
        p.disconnect();
    }
    for p in &peers {
        p.wait_for_disconnect();
    }
    let p50 = percentile(&mut v, 0.5);
    let p99 = percentile(&mut v, 0.99);
    // Baseline: the same ping/pong bytes echoed over one bare loopback socket pair.
    let (bp50, bp99) = bare_ping_rtt(1000);
    println!(
        "ping RTT with {PEERS} peer pairs pinging every 100 ms ({} samples): p50 {p50:?}, p99 {p99:?}; baseline bare socket echo p50 {bp50:?}, p99 {bp99:?} ({:.1}x at p50)",
        v.len(),
        p50.as_secs_f64() / bp50.as_secs_f64().max(1e-9)
    );
}

fn bare_ping_rtt(n: usize) -> (Duration, Duration) {
    let magic = NET.magic();
    let Ok(listener) = TcpListener::bind("127.0.0.1:0") else {
        return (Duration::ZERO, Duration::ZERO);
    };
    let Ok(addr) = listener.local_addr() else {
        return (Duration::ZERO, Duration::ZERO);
    };
    let echo = std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.set_nodelay(true);
            while let Ok((Message::Ping(MsgPing { nonce }), _)) =
                read_message(&mut s, PROTOCOL_VERSION, magic)
            {
                let pong = Message::Pong(MsgPong { nonce });
                if write_message(&mut s, &pong, PROTOCOL_VERSION, magic).is_err() {
                    break;
                }
            }
        }
    });
    let mut v = Vec::with_capacity(n);
    if let Ok(mut s) = TcpStream::connect(addr) {
        let _ = s.set_nodelay(true);
        for i in 0..n {
            let t = Instant::now();
            let ping = Message::Ping(MsgPing { nonce: i as u64 });
            if write_message(&mut s, &ping, PROTOCOL_VERSION, magic).is_err() {
                break;
            }
            if read_message(&mut s, PROTOCOL_VERSION, magic).is_err() {
                break;
            }
            v.push(t.elapsed());
        }
    }
    let _ = echo.join();
    (percentile(&mut v, 0.5), percentile(&mut v, 0.99))
}

fn send_pipeline() {
    const N: usize = 200_000;
    let magic = NET.magic();
    let one = encode_message(
        &Message::Ping(MsgPing { nonce: 1 }),
        PROTOCOL_VERSION,
        magic,
    )
    .map(|b| b.len())
    .unwrap_or(32);
    let Ok(listener) = TcpListener::bind("127.0.0.1:0") else {
        return;
    };
    let Ok(addr) = listener.local_addr() else {
        return;
    };
    // Baseline: one thread writing the same framed messages one write each.
    let counter = |mut s: TcpStream, want: usize| {
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            let mut got = 0;
            while got < want {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n,
                }
            }
            got
        })
    };
    let bytes = match encode_message(
        &Message::Ping(MsgPing { nonce: 1 }),
        PROTOCOL_VERSION,
        magic,
    ) {
        Ok(b) => b,
        Err(_) => return,
    };
    let (Ok(mut w), Ok((r, _))) = (TcpStream::connect(addr), listener.accept()) else {
        return;
    };
    let _ = w.set_nodelay(true);
    let reader = counter(r, N * one);
    let t = Instant::now();
    for _ in 0..N {
        if w.write_all(&bytes).is_err() {
            break;
        }
    }
    let _ = reader.join();
    let bare = N as f64 / t.elapsed().as_secs_f64();
    drop(w);

    // One peer: handshake with a raw remote, then queue N pings (all may wait at once).
    let mut cfg = bench_config();
    cfg.max_pending_messages = N;
    let cfg = Arc::new(cfg);
    let (Ok(d), Ok((a, _))) = (TcpStream::connect(addr), listener.accept()) else {
        return;
    };
    let p = Peer::new_outbound(&cfg, &addr.to_string());
    let _ = p.associate_connection(d);
    let mut remote = a;
    let _ = remote.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = read_message(&mut remote, PROTOCOL_VERSION, magic);
    let _ = write_message(
        &mut remote,
        &Message::Version(remote_version(42)),
        PROTOCOL_VERSION,
        magic,
    );
    let _ = write_message(&mut remote, &Message::Verack, PROTOCOL_VERSION, magic);
    loop {
        match read_message(&mut remote, PROTOCOL_VERSION, magic) {
            Ok((Message::Verack, _)) => break,
            Ok(_) => {}
            Err(e) => {
                println!("send pipeline: handshake failed: {e}");
                return;
            }
        }
    }
    let reader = counter(remote, N * one);
    let t = Instant::now();
    for i in 0..N {
        p.queue_message(Message::Ping(MsgPing { nonce: i as u64 }), None);
    }
    let got = reader.join().unwrap_or(0);
    let rate = N as f64 / t.elapsed().as_secs_f64();
    p.disconnect();
    p.wait_for_disconnect();
    println!(
        "send pipeline, one peer, {N} pings ({one} bytes each, {} MB received): {rate:.0} msgs/s; baseline one thread write()ing each {bare:.0} msgs/s ({:.2}x)",
        got / 1_000_000,
        rate / bare
    );
}
