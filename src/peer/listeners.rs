//! Callbacks for received messages (btcd's `MessageListeners`): a trait whose methods all do
//! nothing by default, so a user implements only the ones it needs.
//!
//! Callbacks run on the peer's `pN-in` thread (`on_version`, `on_verack` and
//! `on_send_addr_v2` on `pN-neg`; `on_write` on whichever thread writes), one at a time: a
//! slow callback delays the peer's own reads, as in btcd, and the time spent is added to the
//! peer's stall deadlines. A callback must not call [`Peer::wait_for_disconnect`] on its own
//! peer (that joins the thread it runs on). A panicking callback disconnects its peer only.

use crate::wire::{
    Message, MsgAddr, MsgAddrV2, MsgBlock, MsgCFCheckpt, MsgCFHeaders, MsgCFilter, MsgFeeFilter,
    MsgFilterAdd, MsgFilterLoad, MsgGetBlocks, MsgGetCFCheckpt, MsgGetCFHeaders, MsgGetCFilters,
    MsgGetData, MsgGetHeaders, MsgHeaders, MsgInv, MsgMerkleBlock, MsgNotFound, MsgPing, MsgPong,
    MsgReject, MsgSendCmpct, MsgTx, MsgVersion,
};

use super::peer::Peer;

/// Message callbacks. Every method has an empty default.
#[allow(unused_variables)]
pub trait MessageListeners: Send + Sync {
    /// `getaddr` received.
    fn on_get_addr(&self, p: &Peer) {}
    /// `addr` received.
    fn on_addr(&self, p: &Peer, msg: &MsgAddr) {}
    /// `addrv2` received.
    fn on_addr_v2(&self, p: &Peer, msg: &MsgAddrV2) {}
    /// `ping` received (the pong is already queued).
    fn on_ping(&self, p: &Peer, msg: &MsgPing) {}
    /// `pong` received (ping statistics already updated).
    fn on_pong(&self, p: &Peer, msg: &MsgPong) {}
    /// `mempool` received.
    fn on_mem_pool(&self, p: &Peer) {}
    /// `tx` received.
    fn on_tx(&self, p: &Peer, msg: &MsgTx) {}
    /// `block` received; `wire_len` is its framed size.
    fn on_block(&self, p: &Peer, msg: &MsgBlock, wire_len: usize) {}
    /// `cfilter` received.
    fn on_cfilter(&self, p: &Peer, msg: &MsgCFilter) {}
    /// `cfheaders` received.
    fn on_cfheaders(&self, p: &Peer, msg: &MsgCFHeaders) {}
    /// `cfcheckpt` received.
    fn on_cfcheckpt(&self, p: &Peer, msg: &MsgCFCheckpt) {}
    /// `inv` received.
    fn on_inv(&self, p: &Peer, msg: &MsgInv) {}
    /// `headers` received.
    fn on_headers(&self, p: &Peer, msg: &MsgHeaders) {}
    /// `notfound` received.
    fn on_not_found(&self, p: &Peer, msg: &MsgNotFound) {}
    /// `getdata` received.
    fn on_get_data(&self, p: &Peer, msg: &MsgGetData) {}
    /// `getblocks` received.
    fn on_get_blocks(&self, p: &Peer, msg: &MsgGetBlocks) {}
    /// `getheaders` received.
    fn on_get_headers(&self, p: &Peer, msg: &MsgGetHeaders) {}
    /// `getcfilters` received.
    fn on_get_cfilters(&self, p: &Peer, msg: &MsgGetCFilters) {}
    /// `getcfheaders` received.
    fn on_get_cfheaders(&self, p: &Peer, msg: &MsgGetCFHeaders) {}
    /// `getcfcheckpt` received.
    fn on_get_cfcheckpt(&self, p: &Peer, msg: &MsgGetCFCheckpt) {}
    /// `feefilter` received.
    fn on_fee_filter(&self, p: &Peer, msg: &MsgFeeFilter) {}
    /// `filteradd` received.
    fn on_filter_add(&self, p: &Peer, msg: &MsgFilterAdd) {}
    /// `filterclear` received.
    fn on_filter_clear(&self, p: &Peer) {}
    /// `filterload` received.
    fn on_filter_load(&self, p: &Peer, msg: &MsgFilterLoad) {}
    /// `merkleblock` received.
    fn on_merkle_block(&self, p: &Peer, msg: &MsgMerkleBlock) {}
    /// The remote's `version` arrived and passed the handshake's checks. Returning a reject
    /// sends it and disconnects the peer (btcd's `OnVersion`).
    fn on_version(&self, p: &Peer, msg: &MsgVersion) -> Option<MsgReject> {
        None
    }
    /// The remote's `verack` arrived: the handshake is complete.
    fn on_verack(&self, p: &Peer) {}
    /// `reject` received.
    fn on_reject(&self, p: &Peer, msg: &MsgReject) {}
    /// `sendheaders` received (the peer's preference is already recorded).
    fn on_send_headers(&self, p: &Peer) {}
    /// `sendaddrv2` received during the handshake (the preference is already recorded).
    fn on_send_addr_v2(&self, p: &Peer) {}
    /// `sendcmpct` received (BIP152; btcnode does not do compact blocks itself).
    fn on_send_cmpct(&self, p: &Peer, msg: &MsgSendCmpct) {}
    /// A message was read: its framed size, and the message or the error that ended the
    /// connection. Useful for byte counters across all peers.
    fn on_read(
        &self,
        p: &Peer,
        bytes: usize,
        msg: Option<&Message>,
        err: Option<&crate::wire::Error>,
    ) {
    }
    /// The peer is disconnecting (btcd's `peerDoneHandler` learns it from `WaitForDisconnect`):
    /// called once, on the thread that recorded the first reason, before the socket is shut
    /// down, so the remote sees the close only after this returned. Must not block: it may
    /// run on any thread, including one the callee itself serves.
    fn on_disconnect(&self, p: &Peer, reason: &super::DisconnectReason) {}
    /// A message was written (or failed to be): its framed size and the write error.
    fn on_write(&self, p: &Peer, bytes: usize, msg: &Message, err: Option<&std::io::Error>) {}
}

/// Listeners that ignore everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoListeners;

impl MessageListeners for NoListeners {}
