//! Faults: a data directory on a full filesystem (a 64 KiB tmpfs mounted by the test; needs
//! root, else the tests print SKIPPED). Saving peers.json, banlist.json and headers.dat
//! fails with an error (logged by the node), the previous files stay intact byte for byte,
//! and the process, the address manager and the chain keep running; once space returns,
//! saving works again.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use btcnode::addrmgr::{AddrManager, AddrManagerConfig, LoadOutcome};
use btcnode::chain::Chain;
use btcnode::params::Network;
use btcnode::wire::{BlockHeader, Hash};
use serde_json::json;

use crate::fault_support::{Scratch, SmallFs, recent_headers, spawn_node, write_headers_dat};
use crate::server_support::{Node, free_port, valid_json_file, wait_until};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/peers.sample.json");

fn mount(name: &str) -> Option<SmallFs> {
    let fs = SmallFs::mount(name, "64k");
    if fs.is_none() {
        crate::support::skip(name, "cannot mount a tmpfs here (not root?)");
    }
    fs
}

/// `n` regtest headers on `prev`.
fn mine(chain: &Chain, mut prev: BlockHeader, n: usize, tag: u8) -> Vec<BlockHeader> {
    let limit = chain.params().pow_limit;
    let mut out = Vec::new();
    for _ in 0..n {
        let mut h = BlockHeader {
            version: 4,
            prev_block: prev.block_hash(),
            merkle_root: Hash([tag; 32]),
            timestamp: prev.timestamp + 600,
            bits: 0x207f_ffff,
            nonce: 0,
        };
        while btcnode::chain::pow::check_proof_of_work(&h.block_hash(), h.bits, &limit).is_err() {
            h.nonce += 1;
        }
        out.push(h);
        prev = h;
    }
    out
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

#[test]
fn fault_disk_full_headers_dat_append_fails_and_the_file_stays_loadable() {
    let Some(fs) = mount("disk-headers") else {
        return;
    };
    let dir = fs.dir.join("regtest");
    let mut chain = Chain::open(&dir, Network::Regtest).expect("open chain");
    let first = mine(&chain, chain.tip_header(), 20, 1);
    chain.process_headers(&first, now()).expect("first batch");
    let before = std::fs::read(dir.join("headers.dat")).expect("headers.dat");
    fs.fill();
    // Enough headers that the append cannot fit in what the filler left.
    let more = mine(&chain, *first.last().expect("mined"), 200, 2);
    let got = chain.process_headers(&more, now());
    assert!(got.is_err(), "append on a full disk succeeded");
    let msg = got.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("headers.dat"),
        "error does not name the file: {msg}"
    );
    // The chain keeps running in memory.
    assert!(chain.height() >= 20);
    drop(chain);
    fs.unfill();
    // What was on disk before is still there; a torn tail is cut on open.
    let after = std::fs::read(dir.join("headers.dat")).expect("headers.dat");
    assert!(after.starts_with(&before), "old records damaged");
    let chain = Chain::open(&dir, Network::Regtest).expect("reopen");
    assert!(
        chain.height() >= 20,
        "lost headers: height {}",
        chain.height()
    );
    assert_eq!(chain.header_at(20), Some(first[19]));
    // With space back, appending works again.
    let mut chain = chain;
    let tip = chain.tip_header();
    let again = mine(&chain, tip, 5, 3);
    chain
        .process_headers(&again, now())
        .expect("append after space returned");
}

#[test]
fn fault_disk_full_peers_json_save_fails_and_the_manager_keeps_running() {
    let Some(fs) = mount("disk-peers") else {
        return;
    };
    let path = fs.dir.join("regtest").join("peers.json");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::copy(SAMPLE, &path).expect("copy the sample");
    let original = std::fs::read(&path).expect("read");
    let mut cfg = AddrManagerConfig::new(&fs.dir, Network::Regtest);
    cfg.seed = Some(3);
    cfg.dump_address_interval = Duration::from_millis(20);
    let am = AddrManager::with_config(cfg);
    let outcome = am.start().expect("start addrmgr");
    assert!(
        matches!(outcome, Some(LoadOutcome::Loaded(n)) if n > 0),
        "{outcome:?}"
    );
    fs.fill();
    // Many addresses so a save needs more than the few bytes left.
    for i in 0..2000u32 {
        let [_, a, b, c] = i.to_be_bytes();
        am.add_address_by_ip(&format!("23.{a}.{b}.{c}:8333"))
            .expect("address");
    }
    let err = am.save().expect_err("saving on a full disk succeeded");
    assert!(err.to_string().contains("peers.json"), "{err}");
    // The thread's own saves fail too (logged); it keeps running and answering.
    std::thread::sleep(Duration::from_millis(100));
    assert!(am.num_addresses() >= 64, "{}", am.num_addresses());
    assert!(am.get_address().is_some());
    assert_eq!(
        std::fs::read(&path).expect("read"),
        original,
        "peers.json changed"
    );
    fs.unfill();
    am.save().expect("save once space is back");
    am.stop();
    assert!(valid_json_file(&path));
}

/// Starts the real node with its data directory on `datadir` and its log outside it.
fn start_node(datadir: &Path, log: &Path, listener_port: u16) -> Node {
    let rpc_port = free_port();
    let node = spawn_node(
        datadir,
        log,
        rpc_port,
        SocketAddr::from(([127, 0, 0, 1], listener_port)),
    );
    assert!(
        wait_until(Duration::from_secs(20), || node
            .try_call("uptime", &[])
            .is_ok()),
        "node did not come up; log:\n{}",
        node.log_text()
    );
    node
}

#[test]
fn fault_disk_full_node_logs_failed_saves_keeps_files_and_keeps_running() {
    let Some(fs) = mount("disk-node") else {
        return;
    };
    let logs = Scratch::new("disk-node-log");
    let log = logs.path().join("node.log");
    let net = fs.dir.join("regtest");
    std::fs::create_dir_all(&net).expect("mkdir");
    std::fs::copy(SAMPLE, net.join("peers.json")).expect("copy the sample");
    let peers_before = std::fs::read(net.join("peers.json")).expect("read");
    // Something to --connect to so the node never dials anywhere else.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let lport = listener.local_addr().expect("addr").port();
    let mut node = start_node(&fs.dir, &log, lport);
    node.call("setban", &[json!("203.0.113.0/24"), json!("add")]);
    let bans_before = std::fs::read(net.join("banlist.json")).expect("banlist.json written");
    fs.fill();
    node.call("setban", &[json!("198.51.100.0/24"), json!("add")]);
    assert!(
        wait_until(Duration::from_secs(5), || node
            .log_text()
            .contains("cannot save ban list")),
        "no logged save failure; log:\n{}",
        node.log_text()
    );
    // The ban holds in memory, the old file is intact, the node still answers.
    let listed = node.call("listbanned", &[]);
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    assert_eq!(
        std::fs::read(net.join("banlist.json")).expect("read"),
        bans_before
    );
    assert!(node.try_call("uptime", &[]).is_ok());
    // The final peers.json save at shutdown fails too: logged, old file intact, clean exit.
    let status = node.stop();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.contains("saving addresses"),
        "no logged peers.json failure; log:\n{text}"
    );
    assert_eq!(
        std::fs::read(net.join("peers.json")).expect("read"),
        peers_before
    );
    assert!(valid_json_file(&net.join("banlist.json")));
    eprintln!("node on a full disk exited with {status}");
    let leftovers: Vec<String> = std::fs::read_dir(&net)
        .expect("list")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temp files left on the full disk: {leftovers:?}"
    );
    drop(listener);

    // Restart on the still-full disk, now syncing from a second node that serves 2,000
    // headers: it starts, loads its files, logs the failed appends to headers.dat, keeps
    // the chain in memory and answers.
    node.datadir = logs.path().join("gone");
    let hdat_before = std::fs::read(net.join("headers.dat")).unwrap_or_default();
    let src = Scratch::new("disk-node-source");
    let headers = recent_headers(2_000);
    write_headers_dat(src.path(), &headers);
    let source = Node::start(
        "disk-source",
        &[format!("--datadir={}", src.path().display())],
    );
    let log2 = logs.path().join("node2.log");
    let mut node2 = start_node(&fs.dir, &log2, source.port);
    let want = json!(2_000);
    assert!(
        wait_until(Duration::from_secs(30), || node2
            .try_call("getblockcount", &[])
            .ok()
            == Some(want.clone())),
        "no sync in memory; log:\n{}",
        node2.log_text()
    );
    assert!(
        node2.log_text().contains("could not append"),
        "no logged headers.dat failure; log:\n{}",
        node2.log_text()
    );
    assert_eq!(
        node2.call("listbanned", &[]).as_array().map(Vec::len),
        Some(1)
    );
    assert!(node2.try_call("uptime", &[]).is_ok());
    node2.stop();
    node2.datadir = logs.path().join("gone2");
    let hdat_after = std::fs::read(net.join("headers.dat")).unwrap_or_default();
    assert!(hdat_after.starts_with(&hdat_before), "headers.dat damaged");
    assert_eq!(hdat_after.len() % 80, 0, "torn headers.dat left");
    drop(source);
}
