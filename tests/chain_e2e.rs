//! Header sync between real `btcnode` processes on loopback regtest: one node starts with
//! 10,000 headers in its `headers.dat`, another syncs them over P2P and answers the chain RPC
//! methods; a restart keeps the chain.

use crate::chain_support::mine_chain;
use crate::server_support::{Node, temp_dir, wait_until};
use btcnode::chain::ChainParams;
use btcnode::chain::store::HEADERS_FILE;
use btcnode::params::Network;
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `n` regtest headers whose tip is a minute old (so the serving node is not in initial sync).
fn recent_headers(n: usize) -> Vec<btcnode::wire::BlockHeader> {
    let genesis = ChainParams::for_network(Network::Regtest).genesis;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as u32;
    let end = now - 60;
    let spacing = (end - genesis.timestamp) / n as u32;
    mine_chain(&genesis, n, spacing, 1)
}

#[test]
fn chain_e2e_two_nodes_sync_10000_headers_and_restart_keeps_them() {
    let headers = recent_headers(10_000);
    let a_dir = temp_dir("chain-a");
    let net = a_dir.join("regtest");
    std::fs::create_dir_all(&net).expect("create regtest dir");
    let bytes: Vec<u8> = headers.iter().flat_map(|h| h.to_bytes()).collect();
    std::fs::write(net.join(HEADERS_FILE), bytes).expect("write headers.dat");

    let a = Node::start("chain-a", &[format!("--datadir={}", a_dir.display())]);
    assert_eq!(a.call("getblockcount", &[]), json!(10_000));
    let tip = a.call("getbestblockhash", &[]);
    assert_eq!(tip, json!(headers[9_999].block_hash().to_string()));

    let mut b = Node::start("chain-b", &[format!("--connect=127.0.0.1:{}", a.port)]);
    let synced = wait_until(Duration::from_secs(60), || {
        b.try_call("getblockcount", &[]).ok() == Some(json!(10_000))
    });
    assert!(synced, "b did not sync; b log:\n{}", b.log_text());
    assert_eq!(b.call("getbestblockhash", &[]), tip);
    let info = b.call("getblockchaininfo", &[]);
    assert_eq!(info["chain"], "regtest");
    assert_eq!(info["headers"], 10_000);
    // Headers only: no block is held, and a header does not say how many transactions its
    // block has.
    assert_eq!(info["blocks"], 0);
    assert_eq!(info["initialblockdownload"], false);
    let header = b.call("getblockheader", std::slice::from_ref(&tip));
    assert_eq!(header["height"], 10_000);
    assert!(header.get("nTx").is_none(), "{header}");
    assert_eq!(header["confirmations"], 1);
    let hex = b.call("getblockheader", &[tip.clone(), json!(false)]);
    assert_eq!(hex.as_str().map(str::len), Some(160));
    assert_eq!(
        b.call("getblockhash", &[json!(1)]),
        json!(headers[0].block_hash().to_string())
    );

    // Restart b alone: the chain comes back from its headers.dat.
    b.stop();
    let b_dir = b.datadir.clone();
    let b2 = Node::start(
        "chain-b2",
        &[
            format!("--datadir={}", b_dir.display()),
            "--nolisten".to_string(),
        ],
    );
    assert_eq!(b2.call("getblockcount", &[]), json!(10_000));
    assert_eq!(b2.call("getbestblockhash", &[]), tip);
}

/// A scripted peer connected to `node` (inbound there) with the handshake done.
fn scripted(node: &Node) -> crate::peer_support::Remote {
    let s = std::net::TcpStream::connect(("127.0.0.1", node.port)).expect("connect to node");
    let mut r = crate::peer_support::Remote::new(s);
    r.handshake(false);
    r
}

fn banned(node: &Node) -> bool {
    node.try_call("listbanned", &[])
        .ok()
        .and_then(|v| v.as_array().map(|l| !l.is_empty()))
        .unwrap_or(false)
}

#[test]
fn chain_e2e_invalid_header_bans_the_peer() {
    use btcnode::wire::{Message, MsgHeaders};
    let node = Node::start("chain-invalid", &[]);
    let mut r = scripted(&node);
    let genesis = ChainParams::for_network(Network::Regtest).genesis;
    // Valid proof of work for bits 0x2000ffff, but regtest requires 0x207fffff.
    let bad = crate::chain_support::mine_with(
        genesis.block_hash(),
        genesis.timestamp + 600,
        1,
        0x2000_ffff,
        4,
    );
    r.send(&Message::Headers(MsgHeaders { headers: vec![bad] }));
    assert!(
        wait_until(Duration::from_secs(10), || banned(&node)),
        "log:\n{}",
        node.log_text()
    );
    assert_eq!(node.call("getblockcount", &[]), json!(0));
}

#[test]
fn chain_e2e_unconnecting_headers_answered_then_banned() {
    use btcnode::wire::{Message, MsgHeaders};
    let node = Node::start("chain-unconnecting", &[]);
    let mut r = scripted(&node);
    let stray = crate::chain_support::mine_with(
        btcnode::wire::Hash([7; 32]),
        1_700_000_000,
        1,
        crate::chain_support::REGTEST_BITS,
        4,
    );
    for i in 0..10 {
        r.send(&Message::Headers(MsgHeaders {
            headers: vec![stray],
        }));
        let m = r.recv_until("getheaders");
        assert_eq!(m.command(), "getheaders", "message {i}");
        assert!(!banned(&node));
    }
    r.send(&Message::Headers(MsgHeaders {
        headers: vec![stray],
    }));
    assert!(
        wait_until(Duration::from_secs(10), || banned(&node)),
        "log:\n{}",
        node.log_text()
    );
}

#[test]
fn chain_e2e_longer_branch_from_a_new_peer_reorganises() {
    let main = recent_headers(2_000);
    // A competing branch from height 1,500 to 2,100, its tip half a minute old.
    let fork = main[1_499];
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as u32;
    let spacing = (now - 30 - fork.timestamp) / 600;
    let branch = mine_chain(&fork, 600, spacing, 2);
    let write = |name: &str, headers: &[btcnode::wire::BlockHeader]| {
        let dir = temp_dir(name);
        std::fs::create_dir_all(dir.join("regtest")).expect("create regtest dir");
        let bytes: Vec<u8> = headers.iter().flat_map(|h| h.to_bytes()).collect();
        std::fs::write(dir.join("regtest").join(HEADERS_FILE), bytes).expect("write");
        format!("--datadir={}", dir.display())
    };
    let a = Node::start("chain-reorg-a", &[write("chain-reorg-a", &main)]);
    let b = Node::start(
        "chain-reorg-b",
        &[format!("--connect=127.0.0.1:{}", a.port)],
    );
    assert!(
        wait_until(Duration::from_secs(30), || b
            .try_call("getblockcount", &[])
            .ok()
            == Some(json!(2_000))),
        "b did not sync; log:\n{}",
        b.log_text()
    );
    let c_headers: Vec<_> = main[..1_500].iter().chain(branch.iter()).copied().collect();
    let _c = Node::start(
        "chain-reorg-c",
        &[
            write("chain-reorg-c", &c_headers),
            format!("--connect=127.0.0.1:{}", b.port),
        ],
    );
    let want = json!(branch[599].block_hash().to_string());
    assert!(
        wait_until(Duration::from_secs(30), || b
            .try_call("getbestblockhash", &[])
            .ok()
            == Some(want.clone())),
        "b did not reorganise; log:\n{}",
        b.log_text()
    );
    assert_eq!(b.call("getblockcount", &[]), json!(2_100));
    assert!(b.log_text().contains("reorganised"));
    // The old tip is still known, off the best chain.
    let old = b.call(
        "getblockheader",
        &[json!(main[1_999].block_hash().to_string())],
    );
    assert_eq!(old["confirmations"], -1);
}

#[test]
fn chain_e2e_python_bitcoinlib_reads_our_headers() {
    // python-bitcoinlib (PyPI) is an independent wire implementation; CI installs it. Where it
    // is missing this test says so and passes, so a bare checkout still tests everything else.
    let have = std::process::Command::new("python3")
        .args(["-c", "import bitcoin.messages"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have {
        eprintln!("python-bitcoinlib not installed: skipping the interop check");
        return;
    }
    let headers = recent_headers(2_500);
    let dir = temp_dir("chain-interop");
    std::fs::create_dir_all(dir.join("regtest")).expect("create regtest dir");
    let bytes: Vec<u8> = headers.iter().flat_map(|h| h.to_bytes()).collect();
    std::fs::write(dir.join("regtest").join(HEADERS_FILE), bytes).expect("write");
    let node = Node::start("chain-interop", &[format!("--datadir={}", dir.display())]);
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/getheaders.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(node.port.to_string())
        .arg("2000")
        .arg(headers[1_999].block_hash().to_string())
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "interop failed: {}{}\nnode log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        node.log_text()
    );
}
