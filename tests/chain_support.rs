//! Helpers for the chain tests and the chain benchmark: regtest header mining, test data and
//! scratch directories.

#![allow(dead_code)]

use btcnode::chain::pow::check_proof_of_work;
use btcnode::params::Network;
use btcnode::wire::{BlockHeader, Hash};

pub use crate::support::Scratch as TempDir;

/// Regtest's bits (its proof-of-work limit): about one nonce in two succeeds.
pub const REGTEST_BITS: u32 = 0x207f_ffff;

/// Mines a regtest header on `prev` at `timestamp`; `tag` goes into the merkle root so two
/// branches from the same parent differ.
pub fn mine(prev: &BlockHeader, timestamp: u32, tag: u8) -> BlockHeader {
    mine_with(prev.block_hash(), timestamp, tag, REGTEST_BITS, 4)
}

/// Mines a header with the given fields against the regtest limit.
pub fn mine_with(prev: Hash, timestamp: u32, tag: u8, bits: u32, version: i32) -> BlockHeader {
    // The regtest limit, 2^255 - 1 (building ChainParams per header would dominate mining).
    let limit = btcnode::chain::U256::ONE
        .shl(255)
        .wrapping_sub(&btcnode::chain::U256::ONE);
    let mut h = BlockHeader {
        version,
        prev_block: prev,
        merkle_root: Hash([tag; 32]),
        timestamp,
        bits,
        nonce: 0,
    };
    while check_proof_of_work(&h.block_hash(), bits, &limit).is_err() {
        h.nonce += 1;
    }
    h
}

/// `n` regtest headers after `start`, one per `spacing` seconds.
pub fn mine_chain(start: &BlockHeader, n: usize, spacing: u32, tag: u8) -> Vec<BlockHeader> {
    let mut out = Vec::with_capacity(n);
    let mut prev = *start;
    for _ in 0..n {
        let h = mine(&prev, prev.timestamp + spacing, tag);
        out.push(h);
        prev = h;
    }
    out
}

/// Mainnet blocks 1–256 from `blocks1-256.bz2` (records: magic u32 LE, length u32 LE, block),
/// decompressed with the `bzip2` tool; returns their headers.
/// `None` (and `check` skipped) without test data.
pub fn mainnet_headers_1_256(check: &str) -> Option<Vec<BlockHeader>> {
    let path = crate::support::testdata_or_skip(check, "data/blocks1-256.bz2")?;
    let out = std::process::Command::new("bzip2")
        .arg("-dc")
        .arg(&path)
        .output()
        .expect("run bzip2 -dc");
    assert!(out.status.success(), "bzip2 -dc {}", path.display());
    let data = out.stdout;
    let mut headers = Vec::new();
    let mut pos = 0;
    while pos + 8 <= data.len() {
        let magic = u32::from_le_bytes(data[pos..pos + 4].try_into().expect("4 bytes"));
        assert_eq!(magic, Network::Mainnet.magic());
        let len = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().expect("4 bytes")) as usize;
        let block = &data[pos + 8..pos + 8 + len];
        headers.push(BlockHeader::from_bytes(
            block[..80].try_into().expect("80 bytes"),
        ));
        pos += 8 + len;
    }
    Some(headers)
}

/// The headers in `blockheaders-mainnet-1-11.txt` (one hex header per line).
/// `None` (and `check` skipped) without test data.
pub fn mainnet_headers_1_11(check: &str) -> Option<Vec<BlockHeader>> {
    let path = crate::support::testdata_or_skip(check, "data/blockheaders-mainnet-1-11.txt")?;
    let text = std::fs::read_to_string(path).expect("read blockheaders-mainnet-1-11.txt");
    let headers = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let l = l.trim();
            let bytes: Vec<u8> = (0..l.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&l[i..i + 2], 16).expect("hex"))
                .collect();
            BlockHeader::from_bytes(bytes.as_slice().try_into().expect("80 bytes"))
        })
        .collect();
    Some(headers)
}

/// A node for loopback tests and benchmarks: a shared chain, a running `sync` thread and
/// real `Peer`s whose listeners feed it; the action sink queues messages on the peers and
/// records ban-score actions.
pub struct LoopbackNode {
    /// The chain.
    pub chain: std::sync::Arc<parking_lot::RwLock<btcnode::chain::Chain>>,
    /// The sync thread (taken on shutdown).
    pub sync: Option<btcnode::netsync::SyncHandle>,
    /// Connected peers by id.
    pub peers:
        std::sync::Arc<parking_lot::Mutex<std::collections::HashMap<u64, btcnode::peer::Peer>>>,
    /// Peer configuration shared by this node's peers.
    pub cfg: std::sync::Arc<btcnode::peer::Config>,
    /// `Misbehaving` actions seen: (peer, score, reason).
    pub misbehaving: std::sync::Arc<parking_lot::Mutex<Vec<(u64, u32, String)>>>,
}

impl LoopbackNode {
    /// A node over `chain` whose adjusted clock always reads `wall`.
    pub fn new(chain: btcnode::chain::Chain, wall: std::time::SystemTime) -> LoopbackNode {
        use btcnode::netsync::sync_listeners::{SyncListeners, action_message};
        use btcnode::netsync::{Action, SyncConfig, SyncHandle};
        use std::sync::Arc;
        let chain = Arc::new(parking_lot::RwLock::new(chain));
        let peers: Arc<parking_lot::Mutex<std::collections::HashMap<u64, btcnode::peer::Peer>>> =
            Arc::default();
        let misbehaving: Arc<parking_lot::Mutex<Vec<(u64, u32, String)>>> = Arc::default();
        let sink = {
            let peers = peers.clone();
            let misbehaving = misbehaving.clone();
            move |a: Action| {
                if let Some((id, msg)) = action_message(&a) {
                    let p = peers.lock().get(&id).cloned();
                    if let Some(p) = p {
                        p.queue_message(msg, None);
                    }
                } else if let Action::Misbehaving {
                    peer,
                    score,
                    reason,
                } = a
                {
                    misbehaving.lock().push((peer, score, reason));
                }
            }
        };
        let sync = SyncHandle::start(
            chain.clone(),
            SyncConfig::default(),
            std::time::Duration::from_millis(100),
            Box::new(sink),
            Box::new(move || wall),
        )
        .expect("start sync thread");
        let mut cfg = btcnode::peer::Config::new(Network::Regtest);
        cfg.listeners = Arc::new(SyncListeners::new(sync.sender()));
        let c = chain.clone();
        cfg.newest_block = Some(Arc::new(move || {
            let c = c.read();
            Some((c.tip_hash(), c.height() as i32))
        }));
        cfg.services = btcnode::wire::ServiceFlag::NODE_NETWORK;
        cfg.negotiate_timeout = std::time::Duration::from_secs(5);
        cfg.read_poll_timeout = std::time::Duration::from_millis(50);
        cfg.write_timeout = std::time::Duration::from_secs(10);
        LoopbackNode {
            chain,
            sync: Some(sync),
            peers,
            cfg: Arc::new(cfg),
            misbehaving,
        }
    }

    /// Dials `other` over loopback; returns (our outbound peer, its inbound peer).
    pub fn connect(&self, other: &LoopbackNode) -> (btcnode::peer::Peer, btcnode::peer::Peer) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = l.local_addr().expect("addr");
        let dialed = std::net::TcpStream::connect(addr).expect("connect loopback");
        let (accepted, _) = l.accept().expect("accept");
        let out = btcnode::peer::Peer::new_outbound(&self.cfg, &addr.to_string());
        let inb = btcnode::peer::Peer::new_inbound(&other.cfg);
        self.peers.lock().insert(out.id(), out.clone());
        other.peers.lock().insert(inb.id(), inb.clone());
        inb.associate_connection(accepted)
            .expect("associate inbound");
        out.associate_connection(dialed)
            .expect("associate outbound");
        (out, inb)
    }

    /// Disconnects every peer, waits for their threads, stops the sync thread.
    pub fn shutdown(mut self) {
        let peers: Vec<btcnode::peer::Peer> = self.peers.lock().drain().map(|(_, p)| p).collect();
        for p in &peers {
            p.disconnect();
        }
        for p in &peers {
            p.wait_for_disconnect();
        }
        if let Some(s) = self.sync.take() {
            s.stop();
        }
    }
}

/// Number of this process's threads named exactly `name`.
pub fn threads_named(name: &str) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .filter(|n| n.trim() == name)
        .count()
}
