//! The connection manager with real loopback sockets: target outbound, permanent peers
//! across a restart, backoff, failure throttling, cancel, inbound caps, thread joins, and DNS
//! seeding through a fake lookup function (never real DNS).

use std::collections::HashSet;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use btcnode::connmgr::seed::{SEED_AGE_SPREAD, SEED_MIN_AGE, seed_from_dns};
use btcnode::connmgr::{
    Config, ConnManager, ConnReq, ConnState, ConnTarget, DialFn, InboundSlot, MAX_FAILED_ATTEMPTS,
    dial_fn,
};
use btcnode::params::Network;
use btcnode::socks::Dialer;
use btcnode::wire::{NetAddress, ServiceFlag};
use crossbeam_channel::{Receiver, bounded};
use parking_lot::Mutex;

/// The manager's threads are counted by name, so these tests run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const WAIT: Duration = Duration::from_secs(10);

/// Threads of this process named like the connection manager's.
fn manager_threads() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .filter(|n| {
            let n = n.trim();
            n == "connmgr"
                || n.starts_with("dial-")
                || n.starts_with("listen-")
                || n.starts_with("seed-")
        })
        .count()
}

/// The connection manager's threads left after a stop or join. `JoinHandle::join` returns
/// when the kernel clears the thread id, a moment before the task leaves `/proc/self/task`,
/// so a joined thread can still be listed briefly: poll for up to two seconds.
fn threads_left_after_join() -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let n = manager_threads();
        if n == 0 || std::time::Instant::now() >= deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn wait_for(what: &str, cond: impl FnMut() -> bool) {
    assert!(
        crate::support::wait_until(WAIT, cond),
        "timed out waiting for {what}"
    );
}

fn loopback_listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let a = l.local_addr().expect("addr");
    (l, a)
}

fn direct() -> DialFn {
    dial_fn(Dialer::direct(), Duration::from_secs(2))
}

/// Config whose connection and disconnection callbacks report into channels.
fn reporting(dial: DialFn) -> (Config, Receiver<(ConnReq, TcpStream)>, Receiver<ConnReq>) {
    let (conn_tx, conn_rx) = bounded(64);
    let (disc_tx, disc_rx) = bounded(64);
    let mut cfg = Config::new(dial);
    cfg.retry_duration = Duration::from_millis(50);
    cfg.on_connection = Some(Arc::new(move |req, s| {
        let _ = conn_tx.send((req, s));
    }));
    cfg.on_disconnection = Some(Arc::new(move |req| {
        let _ = disc_tx.send(req);
    }));
    (cfg, conn_rx, disc_rx)
}

/// A dial function that records when it is called and always fails.
fn failing_dial() -> (DialFn, Arc<Mutex<Vec<Instant>>>) {
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let a = Arc::clone(&attempts);
    let dial: DialFn = Arc::new(move |_t: &ConnTarget| {
        a.lock().push(Instant::now());
        Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "refused by the test",
        ))
    });
    (dial, attempts)
}

#[test]
fn target_outbound_is_maintained() {
    let _serial = SERIAL.lock();
    // Listeners complete TCP handshakes from their backlog; no accept needed.
    let peers: Vec<(TcpListener, SocketAddr)> = (0..4).map(|_| loopback_listener()).collect();
    let addrs: Vec<SocketAddr> = peers.iter().map(|(_, a)| *a).collect();
    let (mut cfg, conn_rx, disc_rx) = reporting(direct());
    cfg.target_outbound = 3;
    let next = AtomicUsize::new(0);
    cfg.get_new_address = Some(Arc::new(move || {
        let i = next.fetch_add(1, Ordering::SeqCst);
        Some(ConnTarget::Addr(addrs[i % addrs.len()]))
    }));
    let cm = ConnManager::start(cfg, Vec::new()).expect("start");
    let mut up = Vec::new();
    for _ in 0..3 {
        up.push(conn_rx.recv_timeout(WAIT).expect("outbound connection"));
    }
    let snap = cm.snapshot().expect("snapshot");
    assert_eq!(snap.established.len(), 3);
    assert!(
        snap.established
            .iter()
            .all(|r| r.state == ConnState::Established && !r.permanent)
    );

    // The owner drops a peer: the disconnection callback runs and a replacement is dialed.
    let first = up[0].0.id;
    let gone = cm.disconnect(first).expect("disconnect").expect("known");
    assert_eq!(gone.id, first);
    assert_eq!(disc_rx.recv_timeout(WAIT).expect("callback").id, first);
    let (replacement, _s) = conn_rx.recv_timeout(WAIT).expect("replacement");
    assert!(replacement.id > 3);
    // The manager shut the old stream down.
    let mut buf = [0u8; 1];
    assert_eq!(up[0].1.read(&mut buf).expect("eof"), 0);
    let snap = cm.snapshot().expect("snapshot");
    assert_eq!(snap.established.len(), 3);
    cm.stop();
    assert_eq!(threads_left_after_join(), 0, "stop joined every thread");
    assert!(cm.snapshot().is_err(), "stopped");
}

#[test]
fn permanent_peer_reconnects_after_restart() {
    let _serial = SERIAL.lock();
    let (listener, addr) = loopback_listener();
    let (cfg, conn_rx, _disc_rx) = reporting(direct());
    let cm = ConnManager::start(cfg, Vec::new()).expect("start");
    let id = cm
        .connect(ConnReq::new(ConnTarget::Addr(addr), true))
        .expect("connect");
    let (req, stream) = conn_rx.recv_timeout(WAIT).expect("connected");
    assert_eq!((req.id, req.permanent), (id, true));

    // The peer goes down; the owner reports it; the manager keeps retrying with backoff.
    drop(listener);
    drop(stream);
    cm.disconnect(id).expect("disconnect");
    wait_for("two failed retries", || {
        cm.snapshot()
            .expect("snapshot")
            .pending
            .iter()
            .any(|r| r.id == id && r.retry_count >= 2)
    });
    // The peer comes back on the same address; the same request reconnects.
    let listener = TcpListener::bind(addr).expect("rebind the same port");
    let (again, _s) = conn_rx.recv_timeout(WAIT).expect("reconnected");
    assert_eq!(again.id, id);
    assert_eq!(again.retry_count, 0, "success resets the backoff");
    drop(listener);
    cm.stop();
    assert_eq!(threads_left_after_join(), 0);
}

#[test]
fn permanent_retries_back_off_linearly() {
    let _serial = SERIAL.lock();
    let (dial, attempts) = failing_dial();
    let mut cfg = Config::new(dial);
    let retry = Duration::from_millis(40);
    cfg.retry_duration = retry;
    let cm = ConnManager::start(cfg, Vec::new()).expect("start");
    let target = ConnTarget::Addr(SocketAddr::from(([127, 0, 0, 1], 9)));
    let id = cm.connect(ConnReq::new(target, true)).expect("connect");
    wait_for("four attempts", || attempts.lock().len() >= 4);
    let times = attempts.lock().clone();
    for (i, w) in times.windows(2).take(3).enumerate() {
        let want = retry * (i as u32 + 1);
        assert!(
            w[1] - w[0] >= want,
            "retry {} came after {:?}, before its backoff {want:?}",
            i + 1,
            w[1] - w[0]
        );
    }
    let removed = cm.remove(id).expect("remove").expect("known");
    assert_eq!(removed.state, ConnState::Canceled);
    assert!(cm.snapshot().expect("snapshot").pending.is_empty());
    cm.stop();
    assert_eq!(threads_left_after_join(), 0);
}

#[test]
fn automatic_failures_are_throttled_after_max_attempts() {
    let _serial = SERIAL.lock();
    let (dial, attempts) = failing_dial();
    let mut cfg = Config::new(dial);
    let retry = Duration::from_millis(300);
    cfg.retry_duration = retry;
    cfg.target_outbound = 1;
    cfg.get_new_address = Some(Arc::new(|| {
        Some(ConnTarget::Addr(SocketAddr::from(([127, 0, 0, 1], 9))))
    }));
    let cm = ConnManager::start(cfg, Vec::new()).expect("start");
    let n = MAX_FAILED_ATTEMPTS as usize;
    wait_for("the first attempt after throttling", || {
        attempts.lock().len() > n
    });
    let times = attempts.lock().clone();
    assert!(
        times[n] - times[n - 1] >= retry,
        "attempt {} came {:?} after the {n}th failure",
        n + 1,
        times[n] - times[n - 1]
    );
    assert!(cm.snapshot().expect("snapshot").failed_attempts >= MAX_FAILED_ATTEMPTS);
    cm.stop();
    assert_eq!(threads_left_after_join(), 0);
}

#[test]
fn removing_a_pending_request_cancels_it() {
    let _serial = SERIAL.lock();
    let (listener, addr) = loopback_listener();
    let (gate_tx, gate_rx) = bounded::<()>(1);
    let dial: DialFn = Arc::new(move |t: &ConnTarget| {
        let _ = gate_rx.recv_timeout(WAIT);
        match t {
            ConnTarget::Addr(a) => TcpStream::connect(a),
            ConnTarget::Host { .. } => Err(io::Error::other("test dials addresses only")),
        }
    });
    let (cfg, conn_rx, disc_rx) = reporting(dial);
    let cm = ConnManager::start(cfg, Vec::new()).expect("start");
    let id = cm
        .connect(ConnReq::new(ConnTarget::Addr(addr), true))
        .expect("connect");
    let r = cm.remove(id).expect("remove").expect("pending");
    assert_eq!(r.state, ConnState::Canceled);
    // The dial now completes; the manager closes the late connection.
    gate_tx.send(()).expect("open gate");
    let (mut s, _) = listener.accept().expect("accept");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut buf = [0u8; 1];
    assert_eq!(s.read(&mut buf).expect("eof"), 0, "late connection closed");
    cm.stop();
    assert!(
        conn_rx.try_recv().is_err(),
        "no connection callback for a canceled request"
    );
    assert!(disc_rx.try_recv().is_err(), "nor a disconnection callback");
    assert_eq!(threads_left_after_join(), 0);
}

#[test]
fn stop_waits_for_dials_in_flight() {
    let _serial = SERIAL.lock();
    let done = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&done);
    let dial: DialFn = Arc::new(move |_t: &ConnTarget| {
        std::thread::sleep(Duration::from_millis(200));
        d.fetch_add(1, Ordering::SeqCst);
        Err(io::Error::new(io::ErrorKind::TimedOut, "slow dial"))
    });
    let cm = ConnManager::start(Config::new(dial), Vec::new()).expect("start");
    for port in [1, 2, 3] {
        let t = ConnTarget::Addr(SocketAddr::from(([127, 0, 0, 1], port)));
        cm.connect(ConnReq::new(t, true)).expect("connect");
    }
    assert!(manager_threads() >= 2);
    cm.stop();
    assert_eq!(
        done.load(Ordering::SeqCst),
        3,
        "every dial finished before stop returned"
    );
    assert_eq!(threads_left_after_join(), 0);
    assert!(matches!(
        cm.connect(ConnReq::new(
            ConnTarget::Addr(SocketAddr::from(([127, 0, 0, 1], 1))),
            false
        )),
        Err(btcnode::connmgr::Error::Stopped)
    ));
}

/// Connects a client that the manager admits: its accept callback runs.
fn admitted(
    addr: SocketAddr,
    accepted: &Receiver<(TcpStream, SocketAddr, InboundSlot)>,
) -> (TcpStream, TcpStream, InboundSlot) {
    let client = TcpStream::connect(addr).expect("connect");
    let (s, _, slot) = accepted.recv_timeout(WAIT).expect("accept callback");
    (client, s, slot)
}

/// Connects a client that the manager refuses: it reads EOF, and no callback runs.
fn refused(addr: SocketAddr, accepted: &Receiver<(TcpStream, SocketAddr, InboundSlot)>) {
    let mut client = TcpStream::connect(addr).expect("connect");
    client.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut buf = [0u8; 1];
    let n = client.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "refused socket is closed");
    assert!(
        accepted.try_recv().is_err(),
        "no accept callback for a refused socket"
    );
}

#[test]
fn inbound_caps_and_handshake_limits() {
    let _serial = SERIAL.lock();
    let (listener, addr) = loopback_listener();
    let (acc_tx, acc_rx) = bounded(16);
    let mut cfg = Config::new(direct());
    cfg.max_inbound = 3;
    cfg.max_pending_handshakes_per_group = 2;
    cfg.on_accept = Some(Arc::new(move |s, peer, slot| {
        let _ = acc_tx.send((s, peer, slot));
    }));
    let cm = ConnManager::start(cfg, vec![listener]).expect("start");
    assert_eq!(cm.listen_addrs(), vec![addr]);
    let (_c1, _s1, mut slot1) = admitted(addr, &acc_rx);
    let (_c2, s2, slot2) = admitted(addr, &acc_rx);
    // Two unfinished handshakes from 127.0.0.0/24: the third waits its turn.
    refused(addr, &acc_rx);
    slot1.complete();
    let (_c4, _s4, _slot4) = admitted(addr, &acc_rx);
    assert_eq!(cm.inbound_count(), 3);
    // Three sockets admitted: the inbound cap is reached.
    slot1.complete();
    refused(addr, &acc_rx);
    // A peer goes away: its slot (and unfinished handshake) is released.
    drop((s2, slot2));
    assert_eq!(cm.inbound_count(), 2);
    let (_c5, _s5, _slot5) = admitted(addr, &acc_rx);
    cm.stop();
    assert_eq!(
        threads_left_after_join(),
        0,
        "stop woke accept() and joined listen-0"
    );
}

#[test]
fn dns_seeding_through_a_fake_lookup() {
    let _serial = SERIAL.lock();
    let asked = Arc::new(Mutex::new(Vec::<String>::new()));
    let a = Arc::clone(&asked);
    let lookup = Arc::new(move |host: &str| {
        a.lock().push(host.to_string());
        if host.starts_with("dnsseed.bluematt") || host.contains(".bluematt") {
            return Err(btcnode::socks::Error::NoAddresses(host.to_string()));
        }
        if host.contains("bitnodes") {
            return Ok(Vec::new());
        }
        Ok(vec![
            IpAddr::from([127, 0, 0, 2]),
            IpAddr::from([127, 0, 0, 3]),
        ])
    });
    let got = Arc::new(Mutex::new(Vec::<NetAddress>::new()));
    let g = Arc::clone(&got);
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let on_seed = Arc::new(move |addrs: Vec<NetAddress>| {
        c.fetch_add(1, Ordering::SeqCst);
        g.lock().extend(addrs);
    });
    let wanted = ServiceFlag(ServiceFlag::NODE_NETWORK.0 | ServiceFlag::NODE_WITNESS.0);
    let net = Network::Mainnet;
    let handles = seed_from_dns(net.dns_seeds(), net.default_port(), wanted, lookup, on_seed);
    assert_eq!(handles.len(), net.dns_seeds().len());
    for h in handles {
        h.join().expect("seed thread");
    }
    assert_eq!(threads_left_after_join(), 0);
    let asked: HashSet<String> = asked.lock().iter().cloned().collect();
    assert!(asked.contains("x9.seed.bitcoin.sipa.be"), "{asked:?}");
    assert!(asked.contains("dnsseed.bitcoin.dashjr-list-of-p2p-nodes.us"));
    assert!(asked.contains("seed.bitnodes.io"));
    // Six seeds: one failed, one empty, four answered with two addresses each.
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let got = got.lock();
    assert_eq!(got.len(), 8);
    for a in got.iter() {
        assert_eq!(a.port, 8333);
        let age = now - u64::from(a.timestamp);
        assert!(age >= SEED_MIN_AGE.as_secs() - 5);
        assert!(age <= (SEED_MIN_AGE + SEED_AGE_SPREAD).as_secs() + 5);
    }
}
