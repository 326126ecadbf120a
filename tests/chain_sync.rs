//! The sync manager's rules, driven in process: two nodes' `SyncManager`s wired back to back
//! (each action delivered to the other side's handler), with chosen instants instead of sleeps.

use crate::chain_support::{mine, mine_chain, mine_with};
use btcnode::chain::{Chain, ChainParams};
use btcnode::netsync::sync_manager::{BAN_THRESHOLD, DropReason, MAX_UNCONNECTING_HEADERS};
use btcnode::netsync::{Action, PeerInfo, SyncConfig, SyncManager};
use btcnode::params::Network;
use btcnode::wire::{BlockHeader, Hash};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const OUT_FULL: PeerInfo = PeerInfo {
    outbound: true,
    full_node: true,
    start_height: 0,
};

fn peer(start_height: i32) -> PeerInfo {
    PeerInfo {
        start_height,
        ..OUT_FULL
    }
}

/// A regtest chain of `n` headers whose tip is recent at the returned "now".
fn recent_chain(n: usize) -> (Vec<BlockHeader>, SystemTime) {
    let genesis = ChainParams::for_network(Network::Regtest).genesis;
    let end: u32 = 1_767_225_600; // 2026-01-01
    let spacing = (end - genesis.timestamp) / n as u32;
    let headers = mine_chain(&genesis, n, spacing, 1);
    let now = UNIX_EPOCH + Duration::from_secs(u64::from(headers[n - 1].timestamp) + 600);
    (headers, now)
}

/// One node: its chain and sync manager.
struct Node {
    chain: Chain,
    sync: SyncManager,
}

impl Node {
    fn new() -> Node {
        Node {
            chain: Chain::new(Network::Regtest),
            sync: SyncManager::new(SyncConfig::default()),
        }
    }
}

/// Delivers actions between `a` (peer id 1 as seen by b) and `b` (peer id 2 as seen by a)
/// until neither has anything more to say; returns every action seen.
fn pump(
    a: &mut Node,
    b: &mut Node,
    first: Vec<(char, Action)>,
    now: Instant,
    wall: SystemTime,
) -> Vec<(char, Action)> {
    let mut queue: std::collections::VecDeque<(char, Action)> = first.into();
    let mut seen = Vec::new();
    let mut steps = 0;
    while let Some((from, action)) = queue.pop_front() {
        steps += 1;
        assert!(steps < 10_000, "message loop does not end");
        seen.push((from, action.clone()));
        let (to, to_name, from_id) = if from == 'a' {
            (&mut *b, 'b', 1)
        } else {
            (&mut *a, 'a', 2)
        };
        let replies = match action {
            Action::GetHeaders { locator, stop, .. } => to
                .sync
                .on_getheaders(&to.chain, from_id, &locator, &stop, wall),
            Action::Headers { headers, .. } => {
                to.sync
                    .on_headers(&mut to.chain, from_id, &headers, now, wall)
            }
            Action::SendHeaders { .. } => {
                to.sync.on_sendheaders(from_id);
                Vec::new()
            }
            _ => Vec::new(),
        };
        queue.extend(replies.into_iter().map(|r| (to_name, r)));
    }
    seen
}

#[test]
fn chain_sync_two_nodes_reach_the_same_tip() {
    let (headers, wall) = recent_chain(5000);
    let now = Instant::now();
    let mut a = Node::new();
    for part in headers.chunks(2000) {
        a.chain.process_headers(part, wall).expect("valid");
    }
    let mut b = Node::new();
    // a sees b inbound; b dialed a, which claims height 5000.
    let from_a = a.sync.on_peer_connected(
        &a.chain,
        2,
        PeerInfo {
            outbound: false,
            ..peer(0)
        },
        now,
    );
    assert!(from_a.is_empty(), "an inbound peer is never a sync peer");
    let from_b = b.sync.on_peer_connected(&b.chain, 1, peer(5000), now);
    assert_eq!(b.sync.sync_peer(), Some(1));
    let first: Vec<(char, Action)> = from_b.into_iter().map(|x| ('b', x)).collect();
    let seen = pump(&mut a, &mut b, first, now, wall);

    assert_eq!(b.chain.tip_hash(), a.chain.tip_hash());
    assert_eq!(b.chain.height(), 5000);
    assert!(b.sync.is_synced());
    // 2000 + 2000 + 1000: three getheaders, the last reply short.
    let getheaders = seen
        .iter()
        .filter(|(f, x)| *f == 'b' && matches!(x, Action::GetHeaders { .. }))
        .count();
    assert_eq!(getheaders, 3);
    assert!(
        seen.iter()
            .any(|(f, x)| *f == 'b' && matches!(x, Action::SendHeaders { peer: 1 }))
    );
    assert!(
        !seen
            .iter()
            .any(|(_, x)| matches!(x, Action::Misbehaving { .. }))
    );

    // a mines one more header; b learns it by announcement (b prefers headers: it sent
    // sendheaders, so a announces with headers).
    a.sync.on_sendheaders(2);
    let next = mine(&headers[4999], headers[4999].timestamp + 600, 1);
    let wall = wall + Duration::from_secs(600);
    // a gets it from a third peer (id 3) and announces to b.
    a.sync.on_peer_connected(&a.chain, 3, peer(5000), now);
    let mut a_synced = a.sync.on_headers(&mut a.chain, 3, &[], now, wall);
    a_synced.retain(|x| !matches!(x, Action::SendHeaders { peer: 3 }));
    let announce = a.sync.on_headers(&mut a.chain, 3, &[next], now, wall);
    let to_b: Vec<(char, Action)> = announce
        .into_iter()
        .chain(a_synced)
        .filter(|x| match x {
            Action::Headers { peer, .. } => *peer == 2,
            _ => false,
        })
        .map(|x| ('a', x))
        .collect();
    assert!(
        matches!(&to_b[..], [('a', Action::Headers { headers, .. })] if headers == &vec![next]),
        "{to_b:?}"
    );
    pump(&mut a, &mut b, to_b, now, wall);
    assert_eq!(b.chain.tip_hash(), next.block_hash());
}

#[test]
fn chain_sync_asks_a_peer_that_arrived_during_the_sync_once_it_is_done() {
    let (headers, wall) = recent_chain(100);
    let now = Instant::now();
    let mut n = Node::new();
    n.sync.on_peer_connected(&n.chain, 1, peer(100), now);
    // Peer 2 arrives while peer 1 is the sync peer and claims more: not asked yet.
    let acts = n.sync.on_peer_connected(&n.chain, 2, peer(150), now);
    assert!(
        !acts
            .iter()
            .any(|a| matches!(a, Action::GetHeaders { peer: 2, .. })),
        "{acts:?}"
    );
    let acts = n.sync.on_headers(&mut n.chain, 1, &headers, now, wall);
    assert!(n.sync.is_synced());
    // Synced at 100: peer 2 claims 150, so it is asked now.
    assert!(
        acts.iter()
            .any(|a| matches!(a, Action::GetHeaders { peer: 2, .. })),
        "{acts:?}"
    );
}

#[test]
fn chain_sync_announces_by_headers_only_to_peers_that_asked_for_them() {
    let (headers, wall) = recent_chain(100);
    let now = Instant::now();
    let mut n = Node::new();
    n.sync.on_peer_connected(&n.chain, 1, peer(100), now);
    n.sync.on_peer_connected(&n.chain, 2, peer(0), now);
    n.sync.on_peer_connected(&n.chain, 3, peer(0), now);
    n.sync.on_sendheaders(3);
    let acts = n.sync.on_headers(&mut n.chain, 1, &headers, now, wall);
    // Short reply from the sync peer: synced, sendheaders to everyone.
    assert!(n.sync.is_synced());
    let sendheaders = acts
        .iter()
        .filter(|x| matches!(x, Action::SendHeaders { .. }))
        .count();
    assert_eq!(sendheaders, 3);
    let next = mine(&headers[99], headers[99].timestamp + 600, 1);
    let acts = n.sync.on_headers(
        &mut n.chain,
        1,
        &[next],
        now,
        wall + Duration::from_secs(600),
    );
    // Peer 1 is credited with novel headers (eviction protection). Only peer 3 sent
    // sendheaders: it alone hears of the tip, by headers. No block inv to anyone: this node
    // serves no blocks.
    assert_eq!(
        acts,
        vec![
            Action::NovelHeaders { peer: 1 },
            Action::Headers {
                peer: 3,
                headers: vec![next]
            }
        ]
    );
}

#[test]
fn chain_sync_switches_from_a_stalled_sync_peer() {
    let now = Instant::now();
    let mut n = Node::new();
    let config = SyncConfig {
        headers_timeout_base: Duration::from_secs(5),
        headers_timeout_per_header: Duration::from_millis(1),
        ..SyncConfig::default()
    };
    n.sync = SyncManager::new(config);
    n.sync.on_peer_connected(&n.chain, 1, peer(900), now);
    n.sync.on_peer_connected(&n.chain, 2, peer(800), now);
    assert_eq!(n.sync.sync_peer(), Some(1));
    // 5 s plus 1 ms for each of the 900 headers peer 1 announced beyond ours.
    assert!(
        n.sync
            .tick(&n.chain, now + Duration::from_millis(5899))
            .is_empty()
    );
    let acts = n.sync.tick(&n.chain, now + Duration::from_millis(5900));
    assert_eq!(
        acts[0],
        Action::Disconnect {
            peer: 1,
            reason: DropReason::Stalled
        }
    );
    assert!(matches!(acts[1], Action::GetHeaders { peer: 2, .. }));
    assert_eq!(n.sync.sync_peer(), Some(2));
    // The sync peer disconnecting also moves on (here: to nobody left but a stalled one).
    let acts = n
        .sync
        .on_peer_disconnected(&n.chain, 2, now + Duration::from_secs(6));
    assert!(acts.is_empty());
    assert_eq!(n.sync.sync_peer(), None);
    // A new candidate starts the sync again.
    let acts = n
        .sync
        .on_peer_connected(&n.chain, 3, peer(10), now + Duration::from_secs(7));
    assert!(matches!(acts[..], [Action::GetHeaders { peer: 3, .. }]));
}

#[test]
fn chain_sync_punishes_invalid_headers_and_unconnecting_spam() {
    let (headers, wall) = recent_chain(20);
    let now = Instant::now();
    let mut n = Node::new();
    n.sync.on_peer_connected(&n.chain, 1, peer(20), now);
    n.sync.on_peer_connected(&n.chain, 2, peer(20), now);
    n.sync.on_headers(&mut n.chain, 1, &headers, now, wall);

    // An invalid header (wrong bits) raises the score to the threshold at once.
    let bad = mine_with(
        headers[19].block_hash(),
        headers[19].timestamp + 1,
        7,
        0x2000_ffff,
        4,
    );
    let acts = n.sync.on_headers(&mut n.chain, 2, &[bad], now, wall);
    assert!(matches!(
        &acts[..],
        [Action::Misbehaving { peer: 2, score, .. }] if *score == BAN_THRESHOLD
    ));

    // Headers that do not connect are answered with getheaders, ten times; the 11th bans.
    let stray = mine_with(Hash([9; 32]), headers[19].timestamp + 1, 8, 0x207f_ffff, 4);
    for i in 0..MAX_UNCONNECTING_HEADERS {
        let acts = n.sync.on_headers(&mut n.chain, 2, &[stray], now, wall);
        assert!(
            matches!(&acts[..], [Action::GetHeaders { peer: 2, .. }]),
            "message {i}: {acts:?}"
        );
    }
    let acts = n.sync.on_headers(&mut n.chain, 2, &[stray], now, wall);
    assert!(matches!(
        &acts[..],
        [Action::Misbehaving { peer: 2, score, .. }] if *score == BAN_THRESHOLD
    ));
}

#[test]
fn chain_sync_serves_getblocks_getdata_and_inv() {
    let (headers, wall) = recent_chain(600);
    let now = Instant::now();
    let mut n = Node::new();
    for part in headers.chunks(2000) {
        n.chain.process_headers(part, wall).expect("valid");
    }
    n.sync.on_peer_connected(&n.chain, 1, peer(0), now);
    let genesis = [n.chain.hash_at(0).expect("genesis")];
    // getblocks gets nothing: an inv of blocks would promise blocks this node does not keep.
    assert!(n.sync.on_getblocks(1).is_empty());
    let acts = n.sync.on_getdata_blocks(1, &[headers[3].block_hash()]);
    assert!(matches!(&acts[..], [Action::NotFoundBlocks { hashes, .. }] if hashes.len() == 1));
    // While in initial sync (tip a week old) getheaders gets an empty headers (Core), so
    // the asker does not time us out.
    let later = wall + Duration::from_secs(7 * 24 * 3600);
    assert_eq!(
        n.sync
            .on_getheaders(&n.chain, 1, &genesis, &Hash::ZERO, later),
        vec![Action::Headers {
            peer: 1,
            headers: Vec::new()
        }]
    );
    // An inv of a known block asks nothing; of an unknown one, getheaders (when synced or
    // from the sync peer).
    let mut m = Node::new();
    m.sync.on_peer_connected(&m.chain, 1, peer(600), now);
    m.sync
        .on_headers(&mut m.chain, 1, &headers[..100], now, wall); // short: synced
    let acts = m
        .sync
        .on_inv_blocks(&m.chain, 1, &[headers[50].block_hash()], now);
    assert!(acts.is_empty());
    let acts = m
        .sync
        .on_inv_blocks(&m.chain, 1, &[headers[300].block_hash()], now);
    assert!(matches!(&acts[..], [Action::GetHeaders { peer: 1, .. }]));
}

#[test]
fn chain_sync_threads_sync_two_chains() {
    use crate::chain_support::threads_named;
    use btcnode::netsync::{SyncHandle, SyncMsg};
    // Serialised with the other test that starts sync threads, so the count is exact.
    let _serial = crate::peer_support::SERIAL.lock();
    let sync_threads = threads_named("sync");
    use crossbeam_channel::{Sender, bounded};
    use parking_lot::{Mutex, RwLock};
    use std::sync::Arc;

    let (headers, wall) = recent_chain(4500);
    let clock = move || wall;
    let a_chain = Arc::new(RwLock::new(Chain::new(Network::Regtest)));
    for part in headers.chunks(2000) {
        a_chain.write().process_headers(part, wall).expect("valid");
    }
    let b_chain = Arc::new(RwLock::new(Chain::new(Network::Regtest)));

    // Each sink delivers the other node's actions as messages from peer 1 (a, seen by b) or
    // peer 2 (b, seen by a); a slot is filled once the handles exist.
    type Slot = Arc<Mutex<Option<Sender<SyncMsg>>>>;
    fn deliver(slot: &Slot, from: u64, action: Action) {
        let msg = match action {
            Action::GetHeaders { locator, stop, .. } => SyncMsg::GetHeaders {
                peer: from,
                locator,
                stop,
            },
            Action::Headers { headers, .. } => SyncMsg::Headers {
                peer: from,
                headers,
            },
            Action::SendHeaders { .. } => SyncMsg::SendHeaders { peer: from },
            _ => return,
        };
        if let Some(tx) = slot.lock().as_ref() {
            let _ = tx.send(msg);
        }
    }
    let to_a: Slot = Arc::new(Mutex::new(None));
    let to_b: Slot = Arc::new(Mutex::new(None));
    let (seen_tx, seen_rx) = bounded::<Action>(10_000);
    let a = {
        let to_b = to_b.clone();
        SyncHandle::start(
            a_chain.clone(),
            SyncConfig::default(),
            Duration::from_millis(50),
            Box::new(move |x| deliver(&to_b, 1, x)),
            Box::new(clock),
        )
        .expect("start a")
    };
    let b = {
        let to_a = to_a.clone();
        SyncHandle::start(
            b_chain.clone(),
            SyncConfig::default(),
            Duration::from_millis(50),
            Box::new(move |x| {
                let _ = seen_tx.try_send(x.clone());
                deliver(&to_a, 2, x)
            }),
            Box::new(clock),
        )
        .expect("start b")
    };
    *to_a.lock() = Some(a.sender());
    *to_b.lock() = Some(b.sender());
    let inbound = PeerInfo {
        outbound: false,
        ..peer(0)
    };
    a.sender()
        .send(SyncMsg::PeerConnected {
            peer: 2,
            info: inbound,
        })
        .expect("a alive");
    b.sender()
        .send(SyncMsg::PeerConnected {
            peer: 1,
            info: peer(4500),
        })
        .expect("b alive");
    // b sends sendheaders to a once it has caught up.
    loop {
        match seen_rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Action::SendHeaders { peer: 1 }) => break,
            Ok(_) => continue,
            Err(e) => panic!("b did not finish syncing: {e}"),
        }
    }
    assert_eq!(b_chain.read().tip_hash(), a_chain.read().tip_hash());
    // Break the sink cycle before joining.
    to_a.lock().take();
    to_b.lock().take();
    a.stop();
    b.stop();
    assert_eq!(
        crate::support::settled(|| threads_named("sync"), sync_threads),
        sync_threads
    );
}

#[test]
fn chain_sync_over_loopback_10000_headers() {
    use crate::chain_support::{LoopbackNode, threads_named};
    // Peer tests count peer threads: do not run beside them.
    let _serial = crate::peer_support::SERIAL.lock();
    let peer_threads = crate::peer_support::peer_thread_count();
    let sync_threads = threads_named("sync");
    let (headers, wall) = recent_chain(10_000);
    let mut a_chain = Chain::new(Network::Regtest);
    for part in headers.chunks(2000) {
        a_chain.process_headers(part, wall).expect("valid");
    }
    let a = LoopbackNode::new(a_chain, wall);
    let b = LoopbackNode::new(Chain::new(Network::Regtest), wall);
    let pair = b.connect(&a);
    let want = a.chain.read().tip_hash();
    let deadline = Instant::now() + Duration::from_secs(30);
    while b.chain.read().tip_hash() != want {
        assert!(
            Instant::now() < deadline,
            "b stuck at {}",
            b.chain.read().height()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(b.chain.read().height(), 10_000);
    assert!(a.misbehaving.lock().is_empty() && b.misbehaving.lock().is_empty());

    // A new header sent by a reaches b's tip.
    let next = mine(&headers[9_999], headers[9_999].timestamp + 1, 1);
    let _ = a.chain.write().process_headers(&[next], wall);
    // a's sync manager learns of new headers only from peers, so announce by hand as a
    // miner would: b gets the header from a's side of the connection.
    pair.1.queue_message(
        btcnode::wire::Message::Headers(btcnode::wire::MsgHeaders {
            headers: vec![next],
        }),
        None,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.chain.read().tip_hash() != next.block_hash() {
        assert!(Instant::now() < deadline, "announcement not taken");
        std::thread::sleep(Duration::from_millis(5));
    }

    // An invalid header from a raises its score to the ban threshold at b.
    let bad = mine_with(next.block_hash(), next.timestamp + 1, 9, 0x2000_ffff, 4);
    pair.1.queue_message(
        btcnode::wire::Message::Headers(btcnode::wire::MsgHeaders { headers: vec![bad] }),
        None,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.misbehaving.lock().is_empty() {
        assert!(Instant::now() < deadline, "invalid header not punished");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(b.misbehaving.lock()[0].1, BAN_THRESHOLD);
    assert_eq!(threads_named("sync"), sync_threads + 2);
    drop(pair);
    a.shutdown();
    b.shutdown();
    // Every peer thread and both sync threads ended and were joined.
    // Joined threads can linger in /proc/self/task for a moment: poll briefly.
    assert!(
        crate::peer_support::wait_until(std::time::Duration::from_secs(10), || {
            crate::peer_support::peer_thread_count() == peer_threads
        }),
        "peer threads: {peer_threads} before, {} after",
        crate::peer_support::peer_thread_count()
    );
    // Other tests in this binary run sync threads of their own: wait for the count to come
    // back instead of reading it once.
    assert!(
        crate::peer_support::wait_until(std::time::Duration::from_secs(10), || {
            threads_named("sync") <= sync_threads
        }),
        "sync threads: {sync_threads} before, {} after",
        threads_named("sync")
    );
}

#[test]
fn chain_sync_retries_after_a_refused_future_header() {
    let (headers, wall) = recent_chain(50);
    let now = Instant::now();
    let config = SyncConfig {
        headers_timeout_base: Duration::from_secs(5),
        ..SyncConfig::default()
    };
    let mut n = Node::new();
    n.sync = SyncManager::new(config);
    n.sync.on_peer_connected(&n.chain, 1, peer(1000), now);
    // The clock is behind: the last header is more than two hours "in the future".
    let early = wall - Duration::from_secs(3 * 3600);
    let acts = n.sync.on_headers(&mut n.chain, 1, &headers, now, early);
    assert!(acts.is_empty(), "{acts:?}");
    assert!(!n.sync.is_synced());
    assert!(
        n.sync
            .tick(&n.chain, now + Duration::from_secs(4))
            .is_empty()
    );
    let acts = n.sync.tick(&n.chain, now + Duration::from_secs(5));
    assert!(
        matches!(&acts[..], [Action::GetHeaders { peer: 1, .. }]),
        "{acts:?}"
    );
}

#[test]
fn chain_sync_progress_logging_runs_on_every_batch() {
    // A zero interval logs after every headers message: the estimate must never panic, even
    // with no elapsed time.
    let (headers, wall) = recent_chain(4000);
    let now = Instant::now();
    let mut n = Node::new();
    n.sync = SyncManager::new(SyncConfig {
        progress_interval: Duration::ZERO,
        ..SyncConfig::default()
    });
    n.sync.on_peer_connected(&n.chain, 1, peer(4000), now);
    for part in headers.chunks(2000) {
        let mut acts = n.sync.on_headers(&mut n.chain, 1, part, now, wall);
        // Each batch extends our best chain: the peer is credited for novel headers.
        assert!(matches!(
            acts.first(),
            Some(Action::NovelHeaders { peer: 1 })
        ));
        acts.remove(0);
        assert!(matches!(&acts[..], [Action::GetHeaders { peer: 1, .. }]));
    }
    assert_eq!(n.chain.height(), 4000);
}

/// A sync peer that announced no more than we have is never dropped for not sending headers
/// (Core); it is only not asked again.
#[test]
fn chain_sync_keeps_a_silent_sync_peer_that_announced_nothing_new() {
    let now = Instant::now();
    let mut n = Node::new();
    n.sync = SyncManager::new(SyncConfig {
        headers_timeout_base: Duration::from_secs(5),
        ..SyncConfig::default()
    });
    n.sync.on_peer_connected(&n.chain, 1, peer(0), now);
    assert_eq!(n.sync.sync_peer(), Some(1));
    let acts = n.sync.tick(&n.chain, now + Duration::from_secs(5));
    assert!(
        !acts.iter().any(|a| matches!(a, Action::Disconnect { .. })),
        "{acts:?}"
    );
}
