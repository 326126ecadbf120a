//! The `sync` thread: a thin shell around [`SyncManager`]. Peers' input handlers send it
//! [`SyncMsg`]s through one bounded channel; it runs the rules with the shared [`Chain`] under
//! its lock, ticks for stall detection, and hands every resulting [`Action`] to the sink the
//! server gave it (which queues messages on peers, raises ban scores, disconnects). It ends
//! when its quit sender is dropped or every message sender is gone, and is joined by
//! [`SyncHandle::stop`]. btcd counterpart: `netsync.SyncManager.blockHandler`.

use super::sync_manager::{Action, PeerId, PeerInfo, SyncConfig, SyncManager};
use crate::chain::Chain;
use crate::thread::spawn_service_thread;
use crate::wire::{BlockHeader, Hash};
use crossbeam_channel::{Receiver, Sender, bounded, select, tick};
use parking_lot::RwLock;
use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

/// Capacity of the sync thread's channel: peers block briefly when it is full, which pushes
/// back on them instead of growing memory (btcd's `msgChan` is 50 × max peers; one headers
/// message is processed in about a millisecond).
pub const SYNC_QUEUE_LEN: usize = 256;

/// How often the sync thread checks its sync peer for stalls (btcd `stallSampleInterval`).
pub const SYNC_TICK_INTERVAL: Duration = Duration::from_secs(30);

/// What the peers' handlers and the server tell the sync thread.
#[derive(Debug, Clone)]
pub enum SyncMsg {
    /// A peer finished its handshake.
    PeerConnected {
        /// Its id.
        peer: PeerId,
        /// From its version message.
        info: PeerInfo,
    },
    /// A peer went away.
    PeerDisconnected {
        /// Its id.
        peer: PeerId,
    },
    /// A `headers` message.
    Headers {
        /// From whom.
        peer: PeerId,
        /// The headers (at most 2,000; the wire decoder checked).
        headers: Vec<BlockHeader>,
    },
    /// The block entries of an `inv` message.
    InvBlocks {
        /// From whom.
        peer: PeerId,
        /// The announced block hashes.
        hashes: Vec<Hash>,
    },
    /// A `getheaders` message.
    GetHeaders {
        /// From whom.
        peer: PeerId,
        /// Its locator.
        locator: Vec<Hash>,
        /// Its stop hash.
        stop: Hash,
    },
    /// A `getblocks` message.
    GetBlocks {
        /// From whom.
        peer: PeerId,
        /// Its locator.
        locator: Vec<Hash>,
        /// Its stop hash.
        stop: Hash,
    },
    /// The block entries of a `getdata` message.
    GetDataBlocks {
        /// From whom.
        peer: PeerId,
        /// The requested block hashes.
        hashes: Vec<Hash>,
    },
    /// A `sendheaders` message.
    SendHeaders {
        /// From whom.
        peer: PeerId,
    },
}

/// Where the sync thread's actions go (the server routes them to peers).
pub type ActionSink = Box<dyn FnMut(Action) + Send>;

/// The node's network-adjusted clock.
pub type AdjustedClock = Box<dyn Fn() -> SystemTime + Send>;

/// The running `sync` thread.
pub struct SyncHandle {
    tx: Sender<SyncMsg>,
    quit: Option<Sender<()>>,
    join: Option<JoinHandle<()>>,
}

impl SyncHandle {
    /// Starts the `sync` thread over `chain`, ticking every `tick_interval`.
    pub fn start(
        chain: Arc<RwLock<Chain>>,
        config: SyncConfig,
        tick_interval: Duration,
        sink: ActionSink,
        clock: AdjustedClock,
    ) -> io::Result<SyncHandle> {
        let (tx, rx) = bounded(SYNC_QUEUE_LEN);
        let (quit_tx, quit_rx) = bounded::<()>(0);
        let join = spawn_service_thread("sync".to_string(), move || {
            sync_handler(chain, config, tick_interval, rx, quit_rx, sink, clock)
        })?;
        Ok(SyncHandle {
            tx,
            quit: Some(quit_tx),
            join: Some(join),
        })
    }

    /// A sender for peers' handlers (bounded; blocks briefly when the thread is behind).
    pub fn sender(&self) -> Sender<SyncMsg> {
        self.tx.clone()
    }

    /// Stops the thread and joins it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        // Dropping the only quit sender wakes the select.
        self.quit.take();
        if let Some(j) = self.join.take()
            && j.join().is_err()
        {
            log::error!("the sync thread panicked");
        }
    }
}

impl Drop for SyncHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Runs on thread `sync`: feeds messages and ticks to the [`SyncManager`] and the actions to
/// the sink. Returns when `quit` is disconnected or every message sender is gone.
fn sync_handler(
    chain: Arc<RwLock<Chain>>,
    config: SyncConfig,
    tick_interval: Duration,
    rx: Receiver<SyncMsg>,
    quit: Receiver<()>,
    mut sink: ActionSink,
    clock: AdjustedClock,
) {
    let mut sm = SyncManager::new(config);
    let ticker = tick(tick_interval);
    loop {
        let actions = select! {
            recv(quit) -> _ => break, // quit sender dropped: stop
            recv(rx) -> msg => match msg {
                Ok(msg) => handle(&mut sm, &chain, msg, clock()),
                Err(_) => break, // every sender gone: nobody can talk to us
            },
            recv(ticker) -> _ => sm.tick(&chain.read(), Instant::now()),
        };
        for a in actions {
            sink(a);
        }
    }
    log::debug!("sync thread done");
}

fn handle(
    sm: &mut SyncManager,
    chain: &RwLock<Chain>,
    msg: SyncMsg,
    adjusted_time: SystemTime,
) -> Vec<Action> {
    let now = Instant::now();
    match msg {
        SyncMsg::PeerConnected { peer, info } => {
            sm.on_peer_connected(&chain.read(), peer, info, now)
        }
        SyncMsg::PeerDisconnected { peer } => sm.on_peer_disconnected(&chain.read(), peer, now),
        SyncMsg::Headers { peer, headers } => {
            sm.on_headers(&mut chain.write(), peer, &headers, now, adjusted_time)
        }
        SyncMsg::InvBlocks { peer, hashes } => sm.on_inv_blocks(&chain.read(), peer, &hashes, now),
        SyncMsg::GetHeaders {
            peer,
            locator,
            stop,
        } => sm.on_getheaders(&chain.read(), peer, &locator, &stop, adjusted_time),
        SyncMsg::GetBlocks { peer, .. } => sm.on_getblocks(peer),
        SyncMsg::GetDataBlocks { peer, hashes } => sm.on_getdata_blocks(peer, &hashes),
        SyncMsg::SendHeaders { peer } => {
            sm.on_sendheaders(peer);
            Vec::new()
        }
    }
}
