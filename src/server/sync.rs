//! The server's side of header sync: opens the chain (`headers.dat`), starts the `sync`
//! thread, and carries out its actions. Sends and disconnects run on the `server` thread (as
//! control closures, so the peer set is only touched there); ban-score increases look the
//! peer up there and are applied on the `sync` thread, because reaching the threshold sends a
//! ban request to the `server` thread's own channel. btcd counterpart: the `syncManager`
//! wiring in `server.go` (`newServer`, `peerDoneHandler`'s `DonePeer`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Receiver, Sender, bounded, select};
use parking_lot::RwLock;

use crate::chain::Chain;
use crate::config::Config;
use crate::netsync::sync_handler::SYNC_TICK_INTERVAL;
use crate::netsync::sync_listeners::action_message;
use crate::netsync::{Action, SyncConfig, SyncHandle};
use crate::peer::Peer;
use crate::server::server_peer::ServerPeer;
use crate::server::{CONTROL_TIMEOUT, ServerMsg, ServerState};
use crate::wire::Message;

/// Opens `<datadir>/<network>/headers.dat`; if the file cannot be opened at all the node runs
/// with the chain in memory (a bad file's content never stops it: see `Chain::open`).
pub fn open_chain(config: &Config) -> Arc<RwLock<Chain>> {
    let chain = match Chain::open(&config.net_dir(), config.network) {
        Ok(c) => c,
        Err(e) => {
            log::error!("{e}; keeping the header chain in memory only");
            Chain::new(config.network)
        }
    };
    Arc::new(RwLock::new(chain))
}

/// Starts the `sync` thread over `chain`; its actions go to the `server` thread through
/// `server_tx` (giving up once `quit` is disconnected).
pub fn start_sync(
    chain: Arc<RwLock<Chain>>,
    server_tx: Sender<ServerMsg>,
    quit: Receiver<()>,
) -> std::io::Result<SyncHandle> {
    let sink = move |a: Action| apply(&server_tx, &quit, a);
    SyncHandle::start(
        chain,
        SyncConfig::default(),
        SYNC_TICK_INTERVAL,
        Box::new(sink),
        Box::new(SystemTime::now),
    )
}

fn send(server_tx: &Sender<ServerMsg>, quit: &Receiver<()>, msg: ServerMsg) -> bool {
    select! {
        send(server_tx, msg) -> r => r.is_ok(),
        recv(quit) -> _ => false,
    }
}

/// Runs on thread `sync`: carries out one action.
fn apply(server_tx: &Sender<ServerMsg>, quit: &Receiver<()>, a: Action) {
    if let Some((id, msg)) = action_message(&a) {
        send(
            server_tx,
            quit,
            ServerMsg::Control(Box::new(move |state: &mut ServerState| {
                if let Some(e) = state.peers.get(&id) {
                    // A headers reply to a peer at its send budget is dropped, not queued
                    // and counted afterwards: such a peer is not reading (pN-in already
                    // stopped reading it; these were asked for before it got there).
                    if matches!(msg, Message::Headers(_)) && e.peer.send_buffer_full() {
                        log::debug!("{}: send buffer full, headers reply dropped", e.peer);
                        return;
                    }
                    e.peer.queue_message(msg, None);
                }
            })),
        );
        return;
    }
    match a {
        Action::Disconnect { peer, reason } => {
            send(
                server_tx,
                quit,
                ServerMsg::Control(Box::new(move |state: &mut ServerState| {
                    if let Some(e) = state.peers.get(&peer) {
                        log::info!("{}: disconnecting: {reason:?}", e.peer);
                        e.peer.disconnect_with(reason.into());
                    }
                })),
            );
        }
        Action::NovelHeaders { peer } => {
            send(
                server_tx,
                quit,
                ServerMsg::Control(Box::new(move |state: &mut ServerState| {
                    if let Some(e) = state.peers.get(&peer) {
                        e.sp.state.lock().last_block_time = Some(SystemTime::now());
                    }
                })),
            );
        }
        Action::Misbehaving {
            peer,
            score,
            reason,
        } => {
            let (reply_tx, reply_rx) = bounded::<(Peer, Arc<ServerPeer>)>(1);
            let asked = send(
                server_tx,
                quit,
                ServerMsg::Control(Box::new(move |state: &mut ServerState| {
                    if let Some(e) = state.peers.get(&peer) {
                        let _ = reply_tx.try_send((e.peer.clone(), e.sp.clone()));
                    }
                })),
            );
            let wait = CONTROL_TIMEOUT.min(Duration::from_secs(10));
            if asked && let Ok((p, sp)) = reply_rx.recv_timeout(wait) {
                sp.add_ban_score(&p, score, 0, &reason);
            }
        }
        _ => {}
    }
}
