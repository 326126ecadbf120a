//! [`ServerPeer`]: the node's handlers for one peer's messages (btcd's `serverPeer` and its
//! `On*` methods). They run on that peer's `pN-in` thread (and `pN-neg` for `version`), touch
//! only this peer's [`ServerPeerState`], the thread-safe address manager and the server
//! thread's channel; peer-set changes (bans, relay to other peers, handshake done) go to the
//! `server` thread as [`ServerMsg`]s.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, Sender, select};
use parking_lot::Mutex;

use crate::addrmgr::AddrManager;
use crate::config::Config;
use crate::connmgr::{DynamicBanScore, InboundSlot};
use crate::netsync::SyncMsg;
use crate::netsync::sync_listeners::peer_info;
use crate::peer::{DisconnectReason, LruSet, MessageListeners, Peer};
use crate::server::ServerMsg;
use crate::server::addr_relay::{ADDR_RELAY_MAX_AGE, ADDR_RELAY_MAX_COUNT, AddrTokenBucket};
use crate::wire::protocol::BIP0111_VERSION;
use crate::wire::{
    Message, MsgAddr, MsgAddrV2, MsgFeeFilter, MsgFilterAdd, MsgFilterLoad, MsgGetBlocks,
    MsgGetData, MsgGetHeaders, MsgHeaders, MsgInv, MsgNotFound, MsgReject, MsgVersion, NetAddress,
};

/// Addresses remembered per peer as known to it, so we do not send them back (btcd's
/// `maxKnownAddrsPerPeer`... btcd keeps an unbounded map; Core keeps a 5,000-entry filter).
pub const MAX_KNOWN_ADDRESSES: usize = 5000;

/// Largest fee rate a `feefilter` may carry: 21 million BTC in satoshi (btcd's
/// `btcutil.MaxSatoshi`); anything above is nonsense and disconnects the peer.
pub const MAX_SATOSHI: i64 = 21_000_000 * 100_000_000;

/// Addresses whose timestamp is this far in the future get one five days in the past (btcd's
/// `OnAddr`), so a peer cannot make an address look fresh forever.
pub const ADDR_FUTURE_TOLERANCE: Duration = Duration::from_secs(10 * 60);

/// The timestamp given to an address from the future (btcd: now minus five days).
pub const ADDR_FUTURE_PENALTY: Duration = Duration::from_secs(5 * 24 * 60 * 60);

/// Addresses last seen longer ago than this are stale and dropped (btcd's `numMissingDays`:
/// the address manager counts them as bad).
pub const ADDR_STALE_AGE: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Messages remembered per direction for the state dump.
pub const RECENT_MESSAGES: usize = 4;

/// What the server-side handlers keep about one peer.
#[derive(Debug)]
pub struct ServerPeerState {
    /// btcd's decaying ban score.
    pub ban_score: DynamicBanScore,
    /// Whether we already answered a `getaddr` on this connection (btcd's `sentAddrs`).
    pub sent_addrs: bool,
    /// Core's addr token bucket.
    pub addr_bucket: AddrTokenBucket,
    /// Addresses the peer knows (sent by it or to it), as `host:port`.
    pub known_addresses: LruSet<String>,
    /// The peer's `feefilter` (satoshi per kvB).
    pub fee_filter: i64,
    /// Addresses accepted from the peer (Core's `addr_processed`).
    pub addr_processed: u64,
    /// Addresses dropped by the rate limit (Core's `addr_rate_limited`).
    pub addr_rate_limited: u64,
    /// Whether the handshake is complete (`verack` received).
    pub ready: bool,
    /// When we next advertise our own address to the peer.
    pub next_local_addr_at: Option<Instant>,
    /// The last messages received: command and time.
    pub recent_recv: VecDeque<(String, SystemTime)>,
    /// The last messages sent: command and time.
    pub recent_sent: VecDeque<(String, SystemTime)>,
    /// When it last sent headers that extended our best chain (Core's `m_last_block_time`,
    /// which inbound eviction protects).
    pub last_block_time: Option<SystemTime>,
}

impl ServerPeerState {
    /// A fresh state at `now`.
    pub fn new(now: Instant) -> ServerPeerState {
        ServerPeerState {
            ban_score: DynamicBanScore::new(),
            sent_addrs: false,
            addr_bucket: AddrTokenBucket::new(now),
            known_addresses: LruSet::new(MAX_KNOWN_ADDRESSES),
            fee_filter: 0,
            addr_processed: 0,
            addr_rate_limited: 0,
            ready: false,
            next_local_addr_at: None,
            recent_recv: VecDeque::with_capacity(RECENT_MESSAGES),
            recent_sent: VecDeque::with_capacity(RECENT_MESSAGES),
            last_block_time: None,
        }
    }
}

/// What a ban-score increase leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanVerdict {
    /// Nothing (scoring off, whitelisted, or below the warning level).
    Ok,
    /// Above half the threshold: logged as a warning.
    Warn(u32),
    /// At or over the threshold: ban and disconnect.
    Ban(u32),
}

/// btcd's `addBanScore` rule. The threshold is reached at `score >= threshold` (as Bitcoin
/// Core); btcd's `>` would let a bloom message, scored exactly 100, through although btcd
/// means it to ban at once.
pub fn ban_verdict(score: u32, threshold: u32) -> BanVerdict {
    if score >= threshold {
        BanVerdict::Ban(score)
    } else if score > threshold / 2 {
        BanVerdict::Warn(score)
    } else {
        BanVerdict::Ok
    }
}

/// The peer-independent context every [`ServerPeer`] shares.
pub struct PeerContext {
    /// The node's configuration.
    pub config: Arc<Config>,
    /// The address book.
    pub addrmgr: Arc<AddrManager>,
    /// The server thread's channel.
    pub server_tx: Sender<ServerMsg>,
    /// Disconnected when the node stops (so a send to a stopped server never blocks).
    pub quit: Receiver<()>,
    /// Whether we accept inbound connections (we advertise our address only then).
    pub listening: bool,
    /// The port of our first listener, for the address peers see us at.
    pub listen_port: Option<u16>,
    /// The `sync` thread's channel (headers sync and serving); `None` answers as a node
    /// without a chain.
    pub sync_tx: Option<Sender<SyncMsg>>,
}

impl PeerContext {
    /// Sends `msg` to the server thread, waiting while its channel is full (pushing back
    /// on the sender) and giving up if the node is stopping. For messages that must arrive:
    /// new connections, handshakes, bans.
    pub fn send(&self, msg: ServerMsg) {
        select! {
            send(self.server_tx, msg) -> _ => {},
            recv(self.quit) -> _ => {},
        }
    }

    /// Sends `msg` to the `sync` thread (waiting while it is behind, giving up if the node is
    /// stopping); returns false when there is no sync thread.
    pub fn to_sync(&self, msg: SyncMsg) -> bool {
        let Some(tx) = &self.sync_tx else {
            return false;
        };
        select! {
            send(tx, msg) -> _ => {},
            recv(self.quit) -> _ => {},
        }
        true
    }

    /// Sends a notification the node can do without (addresses to relay) only if the
    /// server thread's channel has room; otherwise drops it with a debug log, so a peer
    /// never waits on a busy server for it.
    pub fn try_send(&self, msg: ServerMsg, what: &str) {
        if let Err(e) = self.server_tx.try_send(msg)
            && e.is_full()
        {
            log::debug!("server busy: dropping {what}");
        }
    }
}

/// The server side of one peer: its listeners and state.
pub struct ServerPeer {
    ctx: Arc<PeerContext>,
    /// Whether the peer is covered by `--whitelist` (exempt from bans and limits).
    pub whitelisted: bool,
    /// Whether the peer is persistent (`--connect`, `--addpeer`, `addnode add`).
    pub persistent: bool,
    /// The state, locked briefly by the handlers and by the server thread for RPC and dumps.
    pub state: Mutex<ServerPeerState>,
    /// The inbound slot of an inbound peer, given back the moment the peer disconnects
    /// (before its socket is shut down), so a remote that saw the close can connect again.
    slot: Mutex<Option<InboundSlot>>,
}

/// The transient ban score a `getdata` of `entries` entries adds. btcd: a large getdata costs
/// us work, so it scores in proportion, and a full one (50,000 entries) adds 99, one short of
/// a ban on its own.
fn getdata_score(entries: usize) -> u32 {
    let length = u32::try_from(entries).unwrap_or(u32::MAX);
    length.saturating_mul(99) / crate::wire::msg_inv::MAX_INV_PER_MSG as u32
}

fn push_recent(q: &mut VecDeque<(String, SystemTime)>, cmd: String) {
    if q.len() == RECENT_MESSAGES {
        q.pop_front();
    }
    q.push_back((cmd, SystemTime::now()));
}

impl ServerPeer {
    /// A server peer for a connection from `ip` (None before the address is known).
    pub fn new(ctx: Arc<PeerContext>, ip: Option<IpAddr>, persistent: bool) -> ServerPeer {
        let whitelisted = ip.is_some_and(|ip| ctx.config.is_whitelisted(ip));
        ServerPeer {
            ctx,
            whitelisted,
            persistent,
            state: Mutex::new(ServerPeerState::new(Instant::now())),
            slot: Mutex::new(None),
        }
    }

    /// Holds `slot` for the life of the connection.
    pub fn set_inbound_slot(&self, slot: InboundSlot) {
        *self.slot.lock() = Some(slot);
    }

    /// The handshake completed: the slot no longer counts as a pending handshake.
    pub fn complete_inbound_slot(&self) {
        if let Some(slot) = &mut *self.slot.lock() {
            slot.complete();
        }
    }

    /// The peer is gone (called by the server thread when it sweeps it): the sync manager
    /// forgets it. Never blocks the server thread: if the sync thread is behind, its stall
    /// check replaces a vanished sync peer anyway.
    pub fn on_done(&self, p: &Peer) {
        if let Some(tx) = &self.ctx.sync_tx {
            let _ = tx.try_send(SyncMsg::PeerDisconnected { peer: p.id() });
        }
    }

    /// btcd's `addBanScore`: raises the score and, at the threshold, bans the host and
    /// disconnects. Returns true if the peer was banned.
    pub fn add_ban_score(&self, p: &Peer, persistent: u32, transient: u32, reason: &str) -> bool {
        let cfg = &self.ctx.config;
        if cfg.no_banning {
            return false;
        }
        if self.whitelisted {
            log::debug!("misbehaving whitelisted {p}: {reason}");
            return false;
        }
        let now = Instant::now();
        let score = {
            let mut s = self.state.lock();
            if persistent == 0 && transient == 0 {
                s.ban_score.int(now)
            } else {
                s.ban_score.increase(persistent, transient, now)
            }
        };
        match ban_verdict(score, cfg.ban_threshold) {
            BanVerdict::Ok => false,
            BanVerdict::Warn(score) => {
                log::warn!("misbehaving {p}: {reason} -- ban score increased to {score}");
                false
            }
            BanVerdict::Ban(score) => {
                log::warn!(
                    "misbehaving {p}: {reason} -- ban score {score} reached {}, banning and disconnecting",
                    cfg.ban_threshold
                );
                if let Some(ip) = p.na().and_then(|na| na.addr.ip()) {
                    self.ctx.send(ServerMsg::Ban {
                        ip,
                        reason: format!("ban score {score}: {reason}"),
                    });
                }
                p.disconnect_with(DisconnectReason::Banned {
                    score,
                    reason: reason.to_string(),
                });
                true
            }
        }
    }

    /// Adds addresses to the peer's known set.
    fn add_known(&self, addrs: &[NetAddress]) {
        let mut s = self.state.lock();
        for a in addrs {
            s.known_addresses.insert(a.to_string());
        }
    }

    /// Sends `addrs` (those not known to the peer) in the form the peer asked for (btcd's
    /// `pushAddrMsg`), and records them as known. Returns how many were sent.
    pub fn push_addresses(&self, p: &Peer, addrs: Vec<NetAddress>) -> usize {
        let fresh: Vec<NetAddress> = {
            let s = self.state.lock();
            addrs
                .into_iter()
                .filter(|a| !s.known_addresses.contains(&a.to_string()))
                .collect()
        };
        let sent = if p.wants_addrv2() {
            p.push_addrv2_msg(fresh)
        } else {
            // A legacy addr message can only carry IPv4/IPv6 (and OnionCat Tor v2).
            p.push_addr_msg(
                fresh
                    .into_iter()
                    .filter(|a| a.addr.to_legacy_bytes().is_some())
                    .collect(),
            )
        };
        self.add_known(&sent);
        sent.len()
    }

    /// btcd's `OnAddr`/`OnAddrV2` body: rate limit, fix future timestamps, add to the book
    /// and hand small fresh announcements to the server thread for relay.
    fn handle_addresses(&self, p: &Peer, list: &[NetAddress], command: &str) {
        if list.is_empty() {
            if command == "addrv2" {
                // BIP155: entries with unknown network ids were skipped while decoding; a
                // peer gossiping only a future network type is honest and stays.
                log::debug!("{p}: addrv2 with no address of a known network");
                return;
            }
            log::warn!("{p}: {command} contains no addresses, disconnecting");
            p.disconnect_with(DisconnectReason::Misbehaving {
                reason: format!("{command} with no addresses"),
            });
            return;
        }
        let now = Instant::now();
        let now_unix = crate::clock::unix_now();
        let mut accepted = Vec::with_capacity(list.len());
        {
            let mut s = self.state.lock();
            for na in list {
                if !self.whitelisted && !s.addr_bucket.take(now) {
                    s.addr_rate_limited += 1;
                    continue;
                }
                s.addr_processed += 1;
                let mut na = *na;
                if u64::from(na.timestamp) > now_unix + ADDR_FUTURE_TOLERANCE.as_secs() {
                    na.timestamp =
                        u32::try_from(now_unix.saturating_sub(ADDR_FUTURE_PENALTY.as_secs()))
                            .unwrap_or(0);
                }
                s.known_addresses.insert(na.to_string());
                let stale = u64::from(na.timestamp) + ADDR_STALE_AGE.as_secs() < now_unix;
                if stale || !crate::addrmgr::is_routable(&na.addr) {
                    continue;
                }
                accepted.push(na);
            }
        }
        if accepted.is_empty() {
            log::debug!(
                "{p}: none of the {} addresses of {command} kept (rate limit, stale or unroutable)",
                list.len()
            );
            return;
        }
        let src = p.na().unwrap_or_else(|| {
            NetAddress::from_socket_addr(([0, 0, 0, 0], 0).into(), p.services())
        });
        self.ctx.addrmgr.add_addresses(&accepted, &src);
        if list.len() <= ADDR_RELAY_MAX_COUNT {
            let fresh: Vec<NetAddress> = accepted
                .into_iter()
                .filter(|a| u64::from(a.timestamp) + ADDR_RELAY_MAX_AGE.as_secs() >= now_unix)
                .collect();
            if !fresh.is_empty() {
                self.ctx.try_send(
                    ServerMsg::RelayAddrs {
                        from: p.id(),
                        addrs: fresh,
                    },
                    "addresses to relay",
                );
            }
        }
    }

    /// btcd's `enforceNodeBloomFlag` for a node without `NODE_BLOOM`: ban peers that know
    /// better (BIP111), disconnect the rest.
    fn refuse_bloom(&self, p: &Peer, command: &str) {
        if p.protocol_version() >= BIP0111_VERSION {
            self.add_ban_score(p, 100, 0, command);
        }
        // After a ban the first reason (Banned) stands.
        p.disconnect_with(DisconnectReason::Misbehaving {
            reason: format!("{command} with bloom filtering disabled"),
        });
    }

    /// Our address, if we listen and it is routable, for advertising to `p`.
    fn local_address_for(&self, p: &Peer) -> Option<NetAddress> {
        if !self.ctx.listening {
            return None;
        }
        let remote = p.na()?;
        let local = self.ctx.addrmgr.get_best_local_address(&remote);
        crate::addrmgr::is_routable(&local.addr).then_some(local)
    }

    /// Advertises our own address to `p` if due (once a day); called from the server tick.
    pub fn maybe_advertise_local(&self, p: &Peer, now: Instant) {
        let due = {
            let s = self.state.lock();
            s.ready && s.next_local_addr_at.is_some_and(|t| now >= t)
        };
        if !due {
            return;
        }
        self.state.lock().next_local_addr_at =
            Some(now + crate::server::addr_relay::LOCAL_ADDRESS_BROADCAST_INTERVAL);
        if let Some(local) = self.local_address_for(p) {
            // Our own address must go out even if the peer has "seen" it.
            self.state.lock().known_addresses.remove(&local.to_string());
            self.push_addresses(p, vec![local]);
        }
    }
}

impl MessageListeners for ServerPeer {
    fn on_version(&self, p: &Peer, msg: &MsgVersion) -> Option<MsgReject> {
        log::debug!(
            "{p}: version {} {} height {} services {:?}",
            msg.protocol_version,
            msg.user_agent,
            msg.last_block,
            msg.services
        );
        // Learn our external address from what the peer says it sees (Bitcoin Core's
        // `SeenLocal`), at the lowest priority so --externalip always wins. Only when we
        // listen: the address is only worth advertising then. Only from inbound peers, as
        // Core: they reached us at that address, while an outbound peer may see a proxy's.
        if let Some(port) = self.ctx.listen_port
            && p.inbound()
            && crate::addrmgr::is_routable(&msg.addr_you.addr)
        {
            let mut ours = msg.addr_you;
            ours.port = port;
            ours.services = crate::wire::ServiceFlag(crate::server::LOCAL_SERVICES);
            if self
                .ctx
                .addrmgr
                .add_local_address(&ours, crate::addrmgr::AddressPriority::Interface)
                .is_ok()
            {
                log::debug!("{p}: sees us at {ours}");
            }
        }
        if !p.inbound() {
            // btcd: ask outbound peers for addresses when the book wants more, and mark
            // the address good now that it answered.
            if self.ctx.addrmgr.need_more_addresses() {
                p.queue_message(Message::GetAddr, None);
                self.state.lock().addr_bucket.on_getaddr_sent();
            }
            if let Some(na) = p.na() {
                self.ctx.addrmgr.good(&na);
                self.ctx.addrmgr.set_services(&na, msg.services);
            }
        }
        None
    }

    fn on_verack(&self, p: &Peer) {
        {
            let mut s = self.state.lock();
            s.ready = true;
            // The first advertisement goes out with the first tick after the handshake.
            s.next_local_addr_at = Some(Instant::now());
        }
        self.ctx.send(ServerMsg::Ready(p.id()));
        self.ctx.to_sync(SyncMsg::PeerConnected {
            peer: p.id(),
            info: peer_info(p),
        });
    }

    fn on_get_addr(&self, p: &Peer) {
        // btcd: only inbound peers (an outbound one asking could be fingerprinting us), and
        // only once per connection.
        if !p.inbound() {
            log::debug!("{p}: ignoring getaddr from an outbound peer");
            return;
        }
        {
            let mut s = self.state.lock();
            if s.sent_addrs {
                log::debug!("{p}: ignoring repeated getaddr");
                return;
            }
            s.sent_addrs = true;
        }
        let cache = self.ctx.addrmgr.address_cache();
        let n = self.push_addresses(p, cache);
        log::debug!("{p}: answered getaddr with {n} addresses");
    }

    fn on_addr(&self, p: &Peer, msg: &MsgAddr) {
        self.handle_addresses(p, &msg.addr_list, "addr");
    }

    fn on_addr_v2(&self, p: &Peer, msg: &MsgAddrV2) {
        self.handle_addresses(p, &msg.addr_list, "addrv2");
    }

    fn on_mem_pool(&self, p: &Peer) {
        // btcd: a node without NODE_BLOOM does not serve mempool requests.
        log::debug!("{p}: sent mempool request with bloom filtering disabled, disconnecting");
        p.disconnect_with(DisconnectReason::Misbehaving {
            reason: "mempool with bloom filtering disabled".into(),
        });
    }

    fn on_get_data(&self, p: &Peer, msg: &MsgGetData) {
        if self.add_ban_score(p, 0, getdata_score(msg.inv_list.len()), "getdata") {
            return;
        }
        // No blocks or transactions are kept yet: everything asked for is not found.
        if !msg.inv_list.is_empty() {
            p.queue_message(
                Message::NotFound(MsgNotFound {
                    inv_list: msg.inv_list.clone(),
                }),
                None,
            );
        }
    }

    fn on_get_blocks(&self, p: &Peer, msg: &MsgGetBlocks) {
        let sent = self.ctx.to_sync(SyncMsg::GetBlocks {
            peer: p.id(),
            locator: msg.block_locator_hashes.clone(),
            stop: msg.hash_stop,
        });
        if !sent {
            // No block chain: nothing after any locator (btcd sends no empty inv).
            log::trace!("{p}: getblocks answered with nothing (no chain)");
        }
    }

    fn on_get_headers(&self, p: &Peer, msg: &MsgGetHeaders) {
        if p.send_buffer_full() {
            // Core does not process a peer's messages while its send buffer is full; the
            // reply (up to 162 KB) is not built for a peer that is not reading.
            log::debug!("{p}: send buffer full, getheaders ignored");
            return;
        }
        let sent = self.ctx.to_sync(SyncMsg::GetHeaders {
            peer: p.id(),
            locator: msg.block_locator_hashes.clone(),
            stop: msg.hash_stop,
        });
        if !sent {
            // No header chain: an empty headers message says "nothing after that".
            p.queue_message(
                Message::Headers(MsgHeaders {
                    headers: Vec::new(),
                }),
                None,
            );
        }
    }

    fn on_inv(&self, p: &Peer, msg: &MsgInv) {
        for iv in &msg.inv_list {
            p.add_known_inventory(*iv);
        }
        if let Some(m) =
            crate::netsync::sync_listeners::sync_msg_from_wire(p.id(), &Message::Inv(msg.clone()))
        {
            self.ctx.to_sync(m);
        }
    }

    fn on_headers(&self, p: &Peer, msg: &MsgHeaders) {
        let sent = self.ctx.to_sync(SyncMsg::Headers {
            peer: p.id(),
            headers: msg.headers.clone(),
        });
        if !sent {
            log::trace!("{p}: {} headers ignored (no chain)", msg.headers.len());
        }
    }

    fn on_send_headers(&self, p: &Peer) {
        self.ctx.to_sync(SyncMsg::SendHeaders { peer: p.id() });
    }

    fn on_fee_filter(&self, p: &Peer, msg: &MsgFeeFilter) {
        // btcd: a negative fee or more than all bitcoin is nonsense.
        if msg.min_fee < 0 || msg.min_fee > MAX_SATOSHI {
            log::debug!("{p}: invalid feefilter {}, disconnecting", msg.min_fee);
            p.disconnect_with(DisconnectReason::Misbehaving {
                reason: format!("invalid feefilter {}", msg.min_fee),
            });
            return;
        }
        self.state.lock().fee_filter = msg.min_fee;
    }

    fn on_filter_add(&self, p: &Peer, _msg: &MsgFilterAdd) {
        self.refuse_bloom(p, "filteradd");
    }

    fn on_filter_clear(&self, p: &Peer) {
        self.refuse_bloom(p, "filterclear");
    }

    fn on_filter_load(&self, p: &Peer, _msg: &MsgFilterLoad) {
        self.refuse_bloom(p, "filterload");
    }

    fn on_reject(&self, p: &Peer, msg: &MsgReject) {
        log::info!(
            "{p}: rejected our {} (code {:#04x}): {}",
            msg.cmd,
            msg.code,
            msg.reason
        );
    }

    fn on_disconnect(&self, p: &Peer, _reason: &DisconnectReason) {
        self.slot.lock().take();
        // Never waits (this may run on the server thread itself); a notification lost to a
        // full channel is found by the server's next sweep.
        if let Err(e) = self.ctx.server_tx.try_send(ServerMsg::Done(p.id()))
            && e.is_full()
        {
            log::debug!("server busy: {p}'s done notice waits for the next sweep");
        }
    }

    fn on_read(
        &self,
        _p: &Peer,
        _bytes: usize,
        msg: Option<&Message>,
        _err: Option<&crate::wire::Error>,
    ) {
        if let Some(m) = msg {
            push_recent(&mut self.state.lock().recent_recv, m.command().to_string());
        }
    }

    fn on_write(&self, _p: &Peer, _bytes: usize, msg: &Message, err: Option<&std::io::Error>) {
        if err.is_none() {
            push_recent(
                &mut self.state.lock().recent_sent,
                msg.command().to_string(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_bans_at_or_over() {
        assert_eq!(ban_verdict(10, 100), BanVerdict::Ok);
        assert_eq!(ban_verdict(50, 100), BanVerdict::Ok);
        assert_eq!(ban_verdict(51, 100), BanVerdict::Warn(51));
        assert_eq!(ban_verdict(100, 100), BanVerdict::Ban(100));
        assert_eq!(ban_verdict(150, 100), BanVerdict::Ban(150));
    }

    #[test]
    fn full_getdata_scores_99() {
        let n = crate::wire::msg_inv::MAX_INV_PER_MSG;
        assert_eq!(getdata_score(n), 99);
        assert_eq!(getdata_score(1000), 1);
        assert_eq!(getdata_score(999), 1);
        assert_eq!(getdata_score(505), 0);
        assert_eq!(getdata_score(0), 0);
        // More than the wire allows cannot overflow into a small score.
        assert_eq!(getdata_score(usize::MAX), u32::MAX / n as u32);
    }
}
