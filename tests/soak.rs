//! The soak run behind `scripts/soak.sh` (ignored in normal test runs): one `btcnode` on
//! loopback regtest, `SOAK_PEERS` honest peers (default 1,000) handshaken from their own
//! loopback /24s, each pinging every 10 s and answering the node's pings, for
//! `SOAK_MINUTES` minutes (default 1). Every 10 s it prints the node's resident memory,
//! kernel threads, CPU use, descriptors, peers connected and the ping p50/p99 of that
//! interval; then a summary. Nothing is dialed but 127.0.0.0/8.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::json;

use crate::adversary_support::*;
use crate::server_support::{Node, wait_until};

/// Interval between one peer's pings ("light traffic").
const PING_INTERVAL: Duration = Duration::from_secs(10);

/// Interval between reports.
const REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// Handshakes in flight at once while connecting.
const CONNECT_WORKERS: usize = 32;

fn env_or(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peer `i`'s source address: its own /24 (127.10.0.1, 127.10.1.1, ...), so the node's
/// per-/24 handshake cap does not throttle the ramp-up.
fn source(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 10 + (i / 250) as u8, (i % 250) as u8, 1)
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

#[test]
#[ignore = "soak run: scripts/soak.sh"]
fn soak() {
    let n = env_or("SOAK_PEERS", 1000.0) as usize;
    let minutes = env_or("SOAK_MINUTES", 1.0);
    // The node's only outbound peer is an anchor we serve, so it dials nothing else.
    let anchor_l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let anchor_addr = anchor_l.local_addr().expect("addr");
    let mut node = Node::start(
        "soak",
        &[
            format!("--connect={anchor_addr}"),
            format!("--maxpeers={}", n + 16),
            "--debuglevel=info".to_string(),
        ],
    );
    let pid = node.pid();
    let addr: SocketAddr = ([127, 0, 0, 1], node.port).into();
    let anchor = HonestPeer::accept(&anchor_l, PING_INTERVAL).expect("anchor");
    std::thread::sleep(Duration::from_secs(1));
    let (base_rss, base_threads, base_fds) = (
        proc_status_kb(pid, "VmRSS"),
        proc_threads(pid),
        proc_fds(pid),
    );
    eprintln!(
        "soak: {n} peers, {minutes} min; node pid {pid}: baseline rss {:.1} MB, {base_threads} threads, {base_fds} fds",
        mb(base_rss)
    );

    // Ramp-up.
    let t0 = Instant::now();
    let peers: Arc<Mutex<Vec<HonestPeer>>> = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..CONNECT_WORKERS)
        .map(|_| {
            let (peers, next, failures) = (peers.clone(), next.clone(), failures.clone());
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        return;
                    }
                    match HonestPeer::dial(source(i), addr, PING_INTERVAL) {
                        Ok(p) => peers.lock().push(p),
                        Err(e) => failures.lock().push(format!("peer {i}: {e}")),
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("connect worker");
    }
    let ramp = t0.elapsed();
    let connected = peers.lock().len();
    let f = failures.lock().clone();
    eprintln!(
        "ramp-up: {connected} of {n} handshaken in {ramp:.1?} ({:.0} handshakes/s){}",
        connected as f64 / ramp.as_secs_f64(),
        if f.is_empty() {
            String::new()
        } else {
            format!("; {} failed, first: {}", f.len(), f[0])
        }
    );
    assert!(wait_until(Duration::from_secs(30), || node
        .try_call("getconnectioncount", &[])
        .ok()
        .and_then(|v| v.as_u64())
        == Some(connected as u64 + 1)));
    std::thread::sleep(Duration::from_secs(2));
    let loaded_rss = proc_status_kb(pid, "VmRSS");
    eprintln!(
        "loaded: rss {:.1} MB ({:.1} KiB per peer over baseline), {} threads, {} fds",
        mb(loaded_rss),
        (loaded_rss.saturating_sub(base_rss)) as f64 / connected.max(1) as f64,
        proc_threads(pid),
        proc_fds(pid)
    );

    // Steady state.
    eprintln!(
        "{:>6} {:>9} {:>8} {:>6} {:>6} {:>6} {:>8} {:>9} {:>9}",
        "t", "rss MB", "threads", "cpu %", "fds", "peers", "pings", "p50", "p99"
    );
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(minutes * 60.0);
    let mut last_ticks = proc_cpu_ticks(pid);
    let mut last_at = Instant::now();
    let (mut all_sent, mut all_rtts) = (0usize, Vec::new());
    let (mut max_rss, mut max_threads, mut max_fds, mut max_cpu) = (0u64, 0usize, 0usize, 0f64);
    while Instant::now() < end {
        std::thread::sleep(REPORT_INTERVAL.min(end - Instant::now()));
        let now = Instant::now();
        let ticks = proc_cpu_ticks(pid);
        let cpu = (ticks - last_ticks) as f64 / (now - last_at).as_secs_f64();
        // Pings sent in the last interval up to a second ago (their pongs are in).
        let (mut sent, mut rtts) = (0, Vec::new());
        for p in peers.lock().iter() {
            let (s, r) = p.window(
                last_at - Duration::from_secs(1),
                now - Duration::from_secs(1),
            );
            sent += s;
            rtts.extend(r);
        }
        all_sent += sent;
        all_rtts.extend(rtts.iter().copied());
        let st = PingStats::of(sent, rtts);
        let conns = node
            .try_call("getconnectioncount", &[])
            .map_or(json!(-1), |v| v);
        let (rss, threads, fds) = (
            proc_status_kb(pid, "VmRSS"),
            proc_threads(pid),
            proc_fds(pid),
        );
        max_rss = max_rss.max(rss);
        max_threads = max_threads.max(threads);
        max_fds = max_fds.max(fds);
        max_cpu = max_cpu.max(cpu);
        eprintln!(
            "{:>5.0}s {:>9.1} {:>8} {:>6.1} {:>6} {:>6} {:>8} {:>9.1?} {:>9.1?}",
            (now - start).as_secs_f64(),
            mb(rss),
            threads,
            cpu,
            fds,
            conns,
            format!("{}/{}", st.sent - st.lost, st.sent),
            st.p50,
            st.p99
        );
        last_ticks = ticks;
        last_at = now;
    }
    let total_cpu = proc_cpu_ticks(pid) as f64 / 100.0;
    let dropped: Vec<String> = peers
        .lock()
        .iter()
        .filter_map(|p| p.dropped())
        .chain(anchor.dropped())
        .collect();
    let st = PingStats::of(all_sent, all_rtts);
    eprintln!(
        "summary: {connected} peers held {minutes} min; ramp-up {ramp:.1?} ({:.0} handshakes/s); \
         rss {:.1} MB idle -> {:.1} MB peak ({:.1} KiB/peer), peak {max_threads} threads, peak {max_fds} fds, \
         cpu peak {max_cpu:.1}% of one core ({total_cpu:.1} s total); pings {}/{} answered, p50 {:.1?}, p99 {:.1?}, max {:.1?}; \
         {} peers dropped",
        connected as f64 / ramp.as_secs_f64(),
        mb(base_rss),
        mb(max_rss),
        (max_rss.saturating_sub(base_rss)) as f64 / connected.max(1) as f64,
        st.sent - st.lost,
        st.sent,
        st.p50,
        st.p99,
        st.max,
        dropped.len()
    );

    // Tear-down: every peer goes, the node returns to its baseline and stops cleanly.
    let t = Instant::now();
    for p in std::mem::take(&mut *peers.lock()) {
        p.close();
    }
    let back = wait_until(Duration::from_secs(60), || {
        proc_threads(pid) <= base_threads && proc_fds(pid) <= base_fds
    });
    eprintln!(
        "tear-down: back to {} threads, {} fds in {:.1?} (baseline {base_threads}, {base_fds}); rss {:.1} MB",
        proc_threads(pid),
        proc_fds(pid),
        t.elapsed(),
        mb(proc_status_kb(pid, "VmRSS"))
    );
    anchor.close();
    assert!(node.stop().success());
    assert!(dropped.is_empty(), "dropped: {dropped:?}");
    assert!(back, "threads or descriptors left behind");
}
