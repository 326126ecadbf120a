//! Benchmark section `chain`: headers validated and connected per second in-process, against
//! the floor of one double SHA-256 of 80 bytes per header measured in the same run; then the
//! same with `headers.dat` appends (fsync per 2,000-header batch) and the time to load the file
//! back.

#[path = "../chain_support.rs"]
mod chain_support;

#[path = "../server_support.rs"]
#[allow(dead_code)]
mod server_support;

use btcnode::chain::{Chain, ChainParams};
use btcnode::params::Network;
use btcnode::wire::{BlockHeader, sha256d};
use chain_support::{LoopbackNode, TempDir, mine_chain};
use std::hint::black_box;
use std::time::{Duration, Instant, UNIX_EPOCH};

/// Headers in the benchmark chain (regtest, mined at the start of the run).
const N: usize = 1_000_000;

/// Headers per `process_headers` call, as in a full `headers` message.
const BATCH: usize = 2000;

fn per_sec(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// Runs the `chain` section.
pub fn run() {
    let genesis = ChainParams::for_network(Network::Regtest).genesis;
    let t = Instant::now();
    let headers: Vec<BlockHeader> = mine_chain(&genesis, N, 1, 1);
    println!("mined {N} regtest headers in {:.2?}", t.elapsed());
    let now = UNIX_EPOCH + Duration::from_secs(u64::from(headers[N - 1].timestamp) + 60);

    // Floor: one sha256d of the 80 header bytes per header.
    let t = Instant::now();
    for h in &headers {
        black_box(sha256d(&h.to_bytes()));
    }
    let floor = t.elapsed();
    let floor_rate = per_sec(N, floor);
    println!(
        "floor  sha256d(80 bytes)          {:>12.0} headers/s",
        floor_rate
    );

    // Validated and connected, in memory.
    let mut chain = Chain::new(Network::Regtest);
    let t = Instant::now();
    for batch in headers.chunks(BATCH) {
        if let Err(e) = chain.process_headers(batch, now) {
            println!("unexpected error: {e}");
            return;
        }
    }
    let mem = t.elapsed();
    let mem_rate = per_sec(N, mem);
    println!(
        "validate+connect (in memory)     {:>12.0} headers/s  ({:.2}x floor time)",
        mem_rate,
        mem.as_secs_f64() / floor.as_secs_f64()
    );
    assert_eq!(chain.height() as usize, N);
    drop(chain);

    // With headers.dat: append + fsync per batch.
    let dir = TempDir::new("bench-chain");
    let mut chain = match Chain::open(dir.path(), Network::Regtest) {
        Ok(c) => c,
        Err(e) => {
            println!("cannot open a chain in {}: {e}", dir.path().display());
            return;
        }
    };
    let t = Instant::now();
    for batch in headers.chunks(BATCH) {
        if let Err(e) = chain.process_headers(batch, now) {
            println!("unexpected error: {e}");
            return;
        }
    }
    let disk = t.elapsed();
    println!(
        "validate+connect+append+fsync    {:>12.0} headers/s  ({:.2}x floor time)",
        per_sec(N, disk),
        disk.as_secs_f64() / floor.as_secs_f64()
    );
    drop(chain);

    // Loading the file back validates every record again.
    let rss_before = rss_mib();
    let t = Instant::now();
    let chain = match Chain::open(dir.path(), Network::Regtest) {
        Ok(c) => c,
        Err(e) => {
            println!("cannot reopen: {e}");
            return;
        }
    };
    let load = t.elapsed();
    println!(
        "load headers.dat ({N} headers)  {:>9.2?}  = {:.0} headers/s",
        load,
        per_sec(N, load)
    );
    assert_eq!(chain.height() as usize, N);
    if let (Some(before), Some(after)) = (rss_before, rss_mib()) {
        println!(
            "resident memory of the loaded chain: {} MiB ({} bytes per header)",
            after.saturating_sub(before),
            after.saturating_sub(before) * 1024 * 1024 / N as u64
        );
    }
    println!(
        "goal >= 1,000,000 headers/s validated: {}",
        if mem_rate >= 1e6 { "met" } else { "NOT met" }
    );
    drop(chain);
    loopback_sync(&headers[..LOOPBACK_N]);
}

/// Headers synced between two nodes over loopback.
const LOOPBACK_N: usize = 100_000;

/// Wall time for one node to sync `headers` from another over a loopback TCP connection
/// (real `Peer`s, `sync` threads, getheaders/headers round trips of 2,000).
fn loopback_sync(headers: &[BlockHeader]) {
    let n = headers.len();
    let wall = UNIX_EPOCH + Duration::from_secs(u64::from(headers[n - 1].timestamp) + 60);
    let mut a_chain = Chain::new(Network::Regtest);
    for batch in headers.chunks(BATCH) {
        if let Err(e) = a_chain.process_headers(batch, wall) {
            println!("unexpected error: {e}");
            return;
        }
    }
    let a = LoopbackNode::new(a_chain, wall);
    let b = LoopbackNode::new(Chain::new(Network::Regtest), wall);
    let want = a.chain.read().tip_hash();
    let t = Instant::now();
    let _pair = b.connect(&a);
    while b.chain.read().tip_hash() != want {
        if t.elapsed() > Duration::from_secs(60) {
            println!("loopback sync stuck at height {}", b.chain.read().height());
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let d = t.elapsed();
    println!(
        "loopback sync of {n} headers (handshake included): {d:.2?} = {:.0} headers/s (goal < 2 s: {})",
        per_sec(n, d),
        if d < Duration::from_secs(2) {
            "met"
        } else {
            "NOT met"
        }
    );
    a.shutdown();
    b.shutdown();
    process_sync(headers);
}

/// Wall time for one `btcnode` process to sync `headers` from another over loopback: from
/// starting the second process until its RPC reports the full height.
fn process_sync(headers: &[BlockHeader]) {
    use server_support::{Node, temp_dir};
    let n = headers.len();
    // Re-time the chain so its tip is a minute old: the serving node must not be in
    // initial sync.
    let genesis = ChainParams::for_network(Network::Regtest).genesis;
    let now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as u32;
    let spacing = (now - 60 - genesis.timestamp) / n as u32;
    let headers = mine_chain(&genesis, n, spacing, 3);
    let dir = temp_dir("bench-chain-a");
    if std::fs::create_dir_all(dir.join("regtest")).is_err() {
        println!("cannot create {}", dir.display());
        return;
    }
    let bytes: Vec<u8> = headers.iter().flat_map(|h| h.to_bytes()).collect();
    if std::fs::write(dir.join("regtest").join("headers.dat"), bytes).is_err() {
        println!("cannot write headers.dat");
        return;
    }
    let a = Node::start("bench-chain-a", &[format!("--datadir={}", dir.display())]);
    let t = Instant::now();
    let b = Node::start(
        "bench-chain-b",
        &[format!("--connect=127.0.0.1:{}", a.port)],
    );
    let want = serde_json::json!(n);
    loop {
        if b.try_call("getblockcount", &[]).ok() == Some(want.clone()) {
            break;
        }
        if t.elapsed() > Duration::from_secs(60) {
            println!("process sync did not finish in 60 s");
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let d = t.elapsed();
    println!(
        "btcnode process sync of {n} headers over loopback (start included): {d:.2?} (goal < 2 s: {})",
        if d < Duration::from_secs(2) {
            "met"
        } else {
            "NOT met"
        }
    );
}

/// This process's resident set size in MiB (Linux).
fn rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}
