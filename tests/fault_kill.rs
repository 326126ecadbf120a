//! Faults: SIGKILL at random (seeded) moments of activity, 50 times each, and every file
//! still loads.
//!
//! - The real `btcnode` (regtest, no DNS seeds, a peers.json preloaded from
//!   peers.sample.json, `--connect` only to a second local btcnode that serves 40,000 regtest
//!   headers, so it never dials elsewhere) is killed while it syncs those headers into
//!   headers.dat and RPC `setban` calls make it rewrite banlist.json; each restart must load
//!   peers.json, banlist.json and headers.dat without setting any aside, keep every ban the
//!   RPC confirmed, and the chain must end complete.
//! - A child copy of this test binary appends headers to headers.dat, saves peers.json and
//!   rewrites banlist.json through the module APIs in a tight loop and is killed mid-write;
//!   after each kill all three files load with everything the child reported durable.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use btcnode::addrmgr::{AddrManager, AddrManagerConfig, LoadOutcome, book_rng, load_peers};
use btcnode::chain::Chain;
use btcnode::params::Network;
use btcnode::server::BanList;
use btcnode::wire::{BlockHeader, Hash};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::json;

use crate::fault_support::{CHILD_ENV, Scratch, child_scenario, recent_headers, spawn_node};
use crate::server_support::{Node, free_port, wait_until};

/// How many times each test kills.
const KILLS: usize = 50;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/peers.sample.json");

/// Files set aside as unloadable (`NAME.bad-<time>`) in `dir`.
fn set_aside_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".bad"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn fault_kill_node_50_times_files_always_load() {
    if child_scenario().is_some() {
        return;
    }
    let scratch = Scratch::new("kill-node");
    let datadir = scratch.path().join("data");
    let net = datadir.join("regtest");
    std::fs::create_dir_all(&net).expect("mkdir");
    std::fs::copy(SAMPLE, net.join("peers.json")).expect("preload peers.json");
    let sample_count = match load_peers(
        &net.join("peers.json"),
        book_rng(Some(1)),
        SystemTime::now(),
    ) {
        (_, LoadOutcome::Loaded(n)) => n,
        (_, other) => panic!("sample does not load: {other:?}"),
    };
    // The header source: a btcnode started with a headers.dat of SOURCE_HEADERS headers.
    let headers = recent_headers(SOURCE_HEADERS);
    let src_dir = scratch.path().join("source");
    std::fs::create_dir_all(src_dir.join("regtest")).expect("mkdir");
    let bytes: Vec<u8> = headers.iter().flat_map(|h| h.to_bytes()).collect();
    std::fs::write(src_dir.join("regtest").join("headers.dat"), bytes).expect("write headers.dat");
    let source = Node::start("kill-source", &[format!("--datadir={}", src_dir.display())]);
    let connect = SocketAddr::from(([127, 0, 0, 1], source.port));
    let mut rng = StdRng::seed_from_u64(0x6b11);
    let mut heights = Vec::with_capacity(KILLS);
    let mut confirmed = 0usize;
    let mut ban_no = 0u32;
    let mut mid_sync_kills = 0;
    for round in 0..KILLS {
        // Every other round, roll headers.dat back to a random whole-record length (an older
        // but valid file) and kill at a random moment after the start, so the kill lands
        // while the node loads its files or syncs and appends headers.
        let hdat = net.join("headers.dat");
        if round % 2 == 1 {
            let aside = set_aside_files(&net);
            assert!(aside.is_empty(), "round {round}: set aside {aside:?}");
            let len = std::fs::metadata(&hdat).map(|m| m.len()).unwrap_or(0);
            let keep = rng.random_range(0..=len / 80) * 80;
            if len > 0 {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&hdat)
                    .expect("open headers.dat");
                f.set_len(keep).expect("truncate headers.dat");
            }
            let log = scratch.path().join(format!("node-{round}.log"));
            let mut node = spawn_node(&datadir, &log, free_port(), connect);
            // Half the time at a random moment of start-up; otherwise once it has started
            // appending, a random moment into the sync.
            if rng.random_range(0..2u8) == 0 {
                std::thread::sleep(Duration::from_millis(rng.random_range(0..300u64)));
            } else {
                let deadline = Instant::now() + Duration::from_secs(5);
                while std::fs::metadata(&hdat).map(|m| m.len()).unwrap_or(0) <= keep
                    && Instant::now() < deadline
                {
                    std::thread::sleep(Duration::from_micros(200));
                }
                std::thread::sleep(Duration::from_micros(rng.random_range(0..20_000u64)));
            }
            node.datadir = scratch.path().join(format!("gone-{round}"));
            let mut child = node.child.take().expect("child");
            child.kill().expect("SIGKILL");
            let status = child.wait().expect("reap");
            assert!(
                !status.success(),
                "round {round}: killed node exited cleanly"
            );
            let after = std::fs::metadata(&hdat).map(|m| m.len()).unwrap_or(0);
            if after > keep && after < (SOURCE_HEADERS * 80) as u64 {
                mid_sync_kills += 1;
            }
            continue;
        }
        let log = scratch.path().join(format!("node-{round}.log"));
        let mut node = spawn_node(&datadir, &log, free_port(), connect);
        assert!(
            wait_until(Duration::from_secs(20), || node
                .try_call("uptime", &[])
                .is_ok()),
            "round {round}: node did not come up; log:\n{}",
            node.log_text()
        );
        // It started with both files loaded, none set aside.
        let aside = set_aside_files(&net);
        assert!(
            aside.is_empty(),
            "round {round}: set aside {aside:?}; log:\n{}",
            node.log_text()
        );
        let bans = node.call("listbanned", &[]);
        let n_bans = bans.as_array().map(Vec::len).unwrap_or(0);
        assert!(
            n_bans >= confirmed,
            "round {round}: {n_bans} bans loaded, {confirmed} confirmed"
        );
        let height = node.call("getblockcount", &[]).as_u64().unwrap_or(0);
        heights.push(height);
        let text = node.log_text();
        assert!(
            text.contains(&format!("loaded {sample_count} addresses"))
                || text.contains("loaded ") && text.contains(" addresses from "),
            "round {round}: peers.json not loaded; log:\n{text}"
        );
        // Activity that rewrites banlist.json, then SIGKILL at a random moment of it.
        let busy_for = Duration::from_millis(rng.random_range(0..120u64));
        let until = Instant::now() + busy_for;
        loop {
            ban_no += 1;
            let [_, a, b, c] = ban_no.to_be_bytes();
            let subnet = format!("{}.{b}.{c}.0/24", 11 + a);
            let r = node.try_call("setban", &[json!(subnet), json!("add"), json!(1_000_000)]);
            if r.is_ok() {
                confirmed += 1;
            }
            if Instant::now() >= until {
                break;
            }
        }
        let mut in_flight = None;
        if rng.random_range(0..2u8) == 0 {
            // Sometimes mid-call: a ban in flight when the kill lands.
            let port = node.rpc_port;
            in_flight = std::thread::Builder::new()
                .name("t-ban".into())
                .spawn(move || {
                    let _ = btcnode::rpc::call(
                        &format!("127.0.0.1:{port}"),
                        &btcnode::rpc::basic_auth_header("u", "p"),
                        "setban",
                        &[json!("10.99.0.0/16"), json!("add")],
                        Duration::from_secs(2),
                    );
                })
                .ok();
            std::thread::sleep(Duration::from_micros(rng.random_range(0..3000u64)));
        }
        // Node's drop removes its data directory: point it elsewhere, the next round needs it.
        node.datadir = scratch.path().join(format!("gone-{round}"));
        let mut child = node.child.take().expect("child");
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reap");
        assert!(
            !status.success(),
            "round {round}: killed node exited cleanly"
        );
        if let Some(h) = in_flight {
            let _ = h.join();
        }
    }
    // A final clean start: everything loads, every confirmed ban is there, and the header
    // sync finishes from what the killed runs left in headers.dat.
    let log = scratch.path().join("node-final.log");
    let mut node = spawn_node(&datadir, &log, free_port(), connect);
    assert!(wait_until(Duration::from_secs(20), || node
        .try_call("uptime", &[])
        .is_ok()));
    let n_bans = node
        .call("listbanned", &[])
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert!(n_bans >= confirmed, "{n_bans} bans, {confirmed} confirmed");
    assert!(set_aside_files(&net).is_empty());
    let start_height = node.call("getblockcount", &[]).as_u64().unwrap_or(0);
    let want = json!(SOURCE_HEADERS);
    assert!(
        wait_until(Duration::from_secs(30), || node
            .try_call("getblockcount", &[])
            .ok()
            == Some(want.clone())),
        "the chain did not complete; log:\n{}",
        node.log_text()
    );
    assert_eq!(
        node.call("getbestblockhash", &[]),
        json!(headers[SOURCE_HEADERS - 1].block_hash().to_string())
    );
    node.stop();
    node.datadir = scratch.path().join("gone-final");
    let mid = heights
        .iter()
        .filter(|&&h| h > 0 && h < SOURCE_HEADERS as u64)
        .count();
    eprintln!(
        "kill node: {KILLS} kills, {confirmed} bans confirmed, {n_bans} loaded; heights at \
         restart {heights:?}; {mid} restarts and {mid_sync_kills} kills mid-sync, {start_height} at the final start"
    );
    drop(source);
}

/// Headers the source node serves.
const SOURCE_HEADERS: usize = 40_000;

/// `n` regtest headers on `prev`.
fn mine(pow_limit: &btcnode::chain::U256, mut prev: BlockHeader, n: usize) -> Vec<BlockHeader> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut h = BlockHeader {
            version: 4,
            prev_block: prev.block_hash(),
            merkle_root: Hash([i as u8; 32]),
            timestamp: prev.timestamp + 600,
            bits: 0x207f_ffff,
            nonce: 0,
        };
        while btcnode::chain::pow::check_proof_of_work(&h.block_hash(), h.bits, pow_limit).is_err()
        {
            h.nonce += 1;
        }
        out.push(h);
        prev = h;
    }
    out
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Child side of [`fault_kill_writer_50_times_files_always_load`]: opens the three files in
/// the directory named by the env var, then appends headers, saves peers.json and bans
/// addresses until killed, printing `DURABLE <height> <bans>` after each durable step.
#[test]
fn child_kill_writer() {
    let Some(dir) = child_scenario() else {
        return;
    };
    let dir = Path::new(&dir);
    let mut chain = Chain::open(dir, Network::Regtest).expect("open headers.dat");
    let mut cfg = AddrManagerConfig::new(dir, Network::Regtest);
    cfg.peers_file = dir.join("peers.json");
    cfg.seed = Some(u64::from(std::process::id()));
    let am = AddrManager::with_config(cfg);
    am.start().expect("start addrmgr");
    let mut bans = BanList::load(&dir.join("banlist.json"), unix_now());
    let limit = chain.params().pow_limit;
    let mut i = 0u32;
    loop {
        i += 1;
        let batch = mine(&limit, chain.tip_header(), 5);
        chain
            .process_headers(&batch, SystemTime::now())
            .expect("append headers");
        let [_, a, b, c] = (i.wrapping_mul(2_654_435_761) >> 8).to_be_bytes();
        am.add_address_by_ip(&format!("{}.{b}.{c}.{a}:8333", 20 + a % 100))
            .expect("addr");
        am.save().expect("save peers.json");
        let ip = std::net::IpAddr::from([10, a, b, c]);
        bans.ban_ip(ip, unix_now(), Duration::from_secs(86_400), "kill test");
        println!("DURABLE {} {}", chain.height(), bans.len());
    }
}

#[test]
fn fault_kill_writer_50_times_files_always_load() {
    if child_scenario().is_some() {
        return;
    }
    let scratch = Scratch::new("kill-writer");
    let dir = scratch.path().to_path_buf();
    std::fs::copy(SAMPLE, dir.join("peers.json")).expect("preload peers.json");
    let exe = std::env::current_exe().expect("test binary");
    let mut rng = StdRng::seed_from_u64(0x6b12);
    let mut durable = (0u64, 0u64);
    let mut torn_seen = 0;
    for round in 0..KILLS {
        let mut child = Command::new(&exe)
            .args([
                "fault_kill::child_kill_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn writer");
        let stdout = child.stdout.take().expect("stdout");
        let height = Arc::new(AtomicU64::new(0));
        let nbans = Arc::new(AtomicU64::new(0));
        let started = Arc::new(AtomicBool::new(false));
        let (h2, b2, s2) = (
            Arc::clone(&height),
            Arc::clone(&nbans),
            Arc::clone(&started),
        );
        let reader = btcnode::thread::spawn_named("t-kill-read".into(), 128 * 1024, move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut it = line.split_whitespace();
                if it.next() == Some("DURABLE")
                    && let (Some(h), Some(b)) = (it.next(), it.next())
                {
                    h2.store(h.parse().unwrap_or(0), Ordering::SeqCst);
                    b2.store(b.parse().unwrap_or(0), Ordering::SeqCst);
                    s2.store(true, Ordering::SeqCst);
                }
            }
        })
        .expect("spawn reader");
        // Wait for the first durable step, then kill at a random moment of the loop.
        assert!(
            wait_until(Duration::from_secs(20), || started.load(Ordering::SeqCst)),
            "round {round}: writer never got going"
        );
        std::thread::sleep(Duration::from_micros(rng.random_range(0..40_000u64)));
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reap");
        assert!(!status.success(), "round {round}: the writer was killed");
        reader.join().expect("reader");
        durable = (height.load(Ordering::SeqCst), nbans.load(Ordering::SeqCst));
        if std::fs::metadata(dir.join("headers.dat"))
            .map(|m| m.len() % 80 != 0)
            .unwrap_or(false)
        {
            torn_seen += 1;
        }
        // All three load, nothing set aside, nothing durable lost.
        let (book, outcome) = load_peers(
            &dir.join("peers.json"),
            book_rng(Some(1)),
            SystemTime::now(),
        );
        assert!(
            matches!(outcome, LoadOutcome::Loaded(_)),
            "round {round}: peers.json {outcome:?}"
        );
        book.check_invariants().expect("peers.json invariants");
        let bans = BanList::load(&dir.join("banlist.json"), unix_now());
        assert!(
            bans.len() as u64 >= durable.1,
            "round {round}: {} bans loaded, {} durable",
            bans.len(),
            durable.1
        );
        let chain = Chain::open(&dir, Network::Regtest).expect("open headers.dat");
        assert!(
            u64::from(chain.height()) >= durable.0,
            "round {round}: height {} loaded, {} durable",
            chain.height(),
            durable.0
        );
        let aside = set_aside_files(&dir);
        assert!(aside.is_empty(), "round {round}: set aside {aside:?}");
    }
    eprintln!(
        "kill writer: {KILLS} kills, height {} and {} bans durable at the end, torn headers.dat tail {torn_seen} times",
        durable.0, durable.1
    );
}
