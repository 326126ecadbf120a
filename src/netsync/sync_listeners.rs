//! The glue between peers and the `sync` thread: [`SyncListeners`] implements the peer's
//! message callbacks by forwarding the sync-relevant ones as [`SyncMsg`]s, and
//! [`action_message`] turns the sync manager's send actions into wire messages for
//! `Peer::queue_message`. The callbacks run on each peer's `pN-in`/`pN-neg` thread and only
//! do a bounded channel send. btcd counterpart: the `OnHeaders`, `OnInv`, `OnGetHeaders`,
//! `OnGetBlocks`, `OnGetData` and `OnVerAck` handlers of `serverPeer` in `server.go`.

use super::sync_handler::SyncMsg;
use super::sync_manager::{Action, PeerId, PeerInfo};
use crate::peer::{MessageListeners, Peer};
use crate::wire::{
    Hash, InvType, InvVect, Message, MsgGetBlocks, MsgGetData, MsgGetHeaders, MsgHeaders, MsgInv,
    MsgNotFound, PROTOCOL_VERSION, ServiceFlag,
};
use crossbeam_channel::Sender;

/// The hashes of the inventory vectors that name a block (with or without witness).
fn block_hashes(list: &[InvVect]) -> Vec<Hash> {
    list.iter()
        .filter(|iv| iv.inv_type == InvType::BLOCK || iv.inv_type == InvType::WITNESS_BLOCK)
        .map(|iv| iv.hash)
        .collect()
}

/// The [`SyncMsg`] for a received message, if the sync manager cares about it.
pub fn sync_msg_from_wire(peer: PeerId, msg: &Message) -> Option<SyncMsg> {
    match msg {
        Message::Headers(m) => Some(SyncMsg::Headers {
            peer,
            headers: m.headers.clone(),
        }),
        Message::Inv(m) => {
            let hashes = block_hashes(&m.inv_list);
            (!hashes.is_empty()).then_some(SyncMsg::InvBlocks { peer, hashes })
        }
        Message::GetHeaders(m) => Some(SyncMsg::GetHeaders {
            peer,
            locator: m.block_locator_hashes.clone(),
            stop: m.hash_stop,
        }),
        Message::GetBlocks(m) => Some(SyncMsg::GetBlocks {
            peer,
            locator: m.block_locator_hashes.clone(),
            stop: m.hash_stop,
        }),
        Message::GetData(m) => {
            let hashes = block_hashes(&m.inv_list);
            (!hashes.is_empty()).then_some(SyncMsg::GetDataBlocks { peer, hashes })
        }
        Message::SendHeaders => Some(SyncMsg::SendHeaders { peer }),
        _ => None,
    }
}

/// The peer and wire message for a send action; `None` for `Misbehaving` and `Disconnect`,
/// which the server carries out itself (ban score, `Peer::disconnect_with`).
pub fn action_message(action: &Action) -> Option<(PeerId, Message)> {
    let blocks = |hashes: &[crate::wire::Hash]| -> Vec<InvVect> {
        hashes
            .iter()
            .map(|h| InvVect::new(InvType::BLOCK, *h))
            .collect()
    };
    match action {
        Action::GetHeaders {
            peer,
            locator,
            stop,
        } => Some((
            *peer,
            Message::GetHeaders(MsgGetHeaders {
                protocol_version: PROTOCOL_VERSION,
                block_locator_hashes: locator.clone(),
                hash_stop: *stop,
            }),
        )),
        Action::Headers { peer, headers } => Some((
            *peer,
            Message::Headers(MsgHeaders {
                headers: headers.clone(),
            }),
        )),
        Action::NotFoundBlocks { peer, hashes } => Some((
            *peer,
            Message::NotFound(MsgNotFound {
                inv_list: blocks(hashes),
            }),
        )),
        Action::SendHeaders { peer } => Some((*peer, Message::SendHeaders)),
        Action::Misbehaving { .. } | Action::Disconnect { .. } | Action::NovelHeaders { .. } => {
            None
        }
    }
}

/// What the sync manager needs to know about a peer, from its handshake.
pub fn peer_info(p: &Peer) -> PeerInfo {
    PeerInfo {
        outbound: !p.inbound(),
        full_node: p.services().has(ServiceFlag::NODE_NETWORK),
        start_height: p.last_block(),
    }
}

/// Peer callbacks that forward to the `sync` thread. A full channel makes the peer's reader
/// wait, which is the back-pressure we want; a stopped sync thread drops the message.
pub struct SyncListeners {
    tx: Sender<SyncMsg>,
}

impl SyncListeners {
    /// Listeners feeding `tx` (from [`super::SyncHandle::sender`]).
    pub fn new(tx: Sender<SyncMsg>) -> SyncListeners {
        SyncListeners { tx }
    }

    fn forward(&self, p: &Peer, msg: &Message) {
        if let Some(m) = sync_msg_from_wire(p.id(), msg) {
            let _ = self.tx.send(m);
        }
    }
}

impl MessageListeners for SyncListeners {
    fn on_verack(&self, p: &Peer) {
        let _ = self.tx.send(SyncMsg::PeerConnected {
            peer: p.id(),
            info: peer_info(p),
        });
    }

    fn on_headers(&self, p: &Peer, msg: &MsgHeaders) {
        let _ = self.tx.send(SyncMsg::Headers {
            peer: p.id(),
            headers: msg.headers.clone(),
        });
    }

    fn on_inv(&self, p: &Peer, msg: &MsgInv) {
        self.forward(p, &Message::Inv(msg.clone()));
    }

    fn on_get_headers(&self, p: &Peer, msg: &MsgGetHeaders) {
        let _ = self.tx.send(SyncMsg::GetHeaders {
            peer: p.id(),
            locator: msg.block_locator_hashes.clone(),
            stop: msg.hash_stop,
        });
    }

    fn on_get_blocks(&self, p: &Peer, msg: &MsgGetBlocks) {
        let _ = self.tx.send(SyncMsg::GetBlocks {
            peer: p.id(),
            locator: msg.block_locator_hashes.clone(),
            stop: msg.hash_stop,
        });
    }

    fn on_get_data(&self, p: &Peer, msg: &MsgGetData) {
        self.forward(p, &Message::GetData(msg.clone()));
    }

    fn on_send_headers(&self, p: &Peer) {
        let _ = self.tx.send(SyncMsg::SendHeaders { peer: p.id() });
    }
}
