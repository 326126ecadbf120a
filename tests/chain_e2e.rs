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
    assert_eq!(info["initialblockdownload"], false);
    let header = b.call("getblockheader", std::slice::from_ref(&tip));
    assert_eq!(header["height"], 10_000);
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
