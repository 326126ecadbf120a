//! The headers-first sync rules as a plain state machine: told about peers, the messages they
//! send and the time, it updates the [`Chain`] and returns the [`Action`]s to carry out — what
//! to send to whom, whom to punish or drop. It does no I/O and starts no threads; the `sync`
//! thread is a thin shell that feeds it from the peers' message handlers and a ticker and
//! turns actions into wire messages. btcd counterpart: `netsync/manager.go` (`SyncManager`,
//! `startSync`, `handleHeadersMsg`, `handleInvMsg`, the stall sampling) plus the serving parts
//! of `server.go` (`OnGetHeaders`, `OnGetBlocks`); anti-DoS as Bitcoin Core's
//! `net_processing.cpp` (`MAX_UNCONNECTING_HEADERS`, `sendheaders` announcements).

use crate::chain::Error;
use crate::chain::{Chain, MAX_BLOCK_HEADERS_PER_MSG};
use crate::wire::{BlockHeader, Hash};
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

/// A peer's id, as the server numbers connections.
pub type PeerId = u64;

/// The ban score at which a peer is banned (btcd's default `--banthreshold`).
pub const BAN_THRESHOLD: u32 = 100;

/// More `headers` messages than this that do not connect, from one peer, earn it a ban
/// (Core `MAX_UNCONNECTING_HEADERS`).
pub const MAX_UNCONNECTING_HEADERS: u32 = 10;

/// The headers-sync peer is replaced when a getheaders goes unanswered this long, plus
/// [`HEADERS_TIMEOUT_PER_HEADER`] per header it announced beyond ours (Core
/// `HEADERS_DOWNLOAD_TIMEOUT_BASE`). Only the chosen sync peer is timed, as in Core.
pub const HEADERS_TIMEOUT_BASE: Duration = Duration::from_secs(15 * 60);

/// Added to [`HEADERS_TIMEOUT_BASE`] per expected header (Core
/// `HEADERS_DOWNLOAD_TIMEOUT_PER_HEADER`).
pub const HEADERS_TIMEOUT_PER_HEADER: Duration = Duration::from_millis(1);

/// How often sync progress is logged (btcd's block progress logger interval).
pub const PROGRESS_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// A new tip is announced with `headers` only when it is at most this many headers past what
/// the peer knows; otherwise not at all (Core sends an inv then, but an inv promises blocks
/// this node does not serve) (Core `MAX_BLOCKS_TO_ANNOUNCE`).
pub const MAX_BLOCKS_TO_ANNOUNCE: usize = 8;

/// Tunables; tests shorten the timeouts.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// See [`HEADERS_TIMEOUT_BASE`].
    pub headers_timeout_base: Duration,
    /// See [`HEADERS_TIMEOUT_PER_HEADER`].
    pub headers_timeout_per_header: Duration,
    /// See [`PROGRESS_LOG_INTERVAL`].
    pub progress_interval: Duration,
    /// Answer getheaders with our headers while still in initial sync. Core and btcd do not
    /// (they would serve a chain that may not be the best; Core sends an empty `headers`);
    /// a private regtest network may want to.
    pub serve_during_initial_sync: bool,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            headers_timeout_base: HEADERS_TIMEOUT_BASE,
            headers_timeout_per_header: HEADERS_TIMEOUT_PER_HEADER,
            progress_interval: PROGRESS_LOG_INTERVAL,
            serve_during_initial_sync: false,
        }
    }
}

/// What the sync manager knows about a newly connected peer (from its version message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerInfo {
    /// We dialed it.
    pub outbound: bool,
    /// It advertises `NODE_NETWORK` (a full node that can serve the whole header chain).
    pub full_node: bool,
    /// Its `start_height` from the version message.
    pub start_height: i32,
}

/// Why the sync manager wants a peer gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The sync peer did not answer a getheaders within the stall timeout.
    Stalled,
}

impl From<DropReason> for crate::peer::DisconnectReason {
    fn from(r: DropReason) -> Self {
        match r {
            DropReason::Stalled => crate::peer::DisconnectReason::Stalled {
                waiting_for: "headers",
            },
        }
    }
}

/// Something for the shell to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send `getheaders` (btcd `MsgGetHeaders`).
    GetHeaders {
        /// To whom.
        peer: PeerId,
        /// The block locator.
        locator: Vec<Hash>,
        /// Stop hash (zero: as many as allowed).
        stop: Hash,
    },
    /// Send `headers` (btcd `MsgHeaders`).
    Headers {
        /// To whom.
        peer: PeerId,
        /// The headers.
        headers: Vec<BlockHeader>,
    },
    /// Send `notfound` for blocks (no block store here).
    NotFoundBlocks {
        /// To whom.
        peer: PeerId,
        /// The block hashes asked for.
        hashes: Vec<Hash>,
    },
    /// Send `sendheaders` (BIP130): announce new blocks to us with headers.
    SendHeaders {
        /// To whom.
        peer: PeerId,
    },
    /// Raise the peer's ban score by `score` (btcd `addBanScore`); [`BAN_THRESHOLD`] bans.
    Misbehaving {
        /// Whom.
        peer: PeerId,
        /// Persistent score to add.
        score: u32,
        /// Why, for the log.
        reason: String,
    },
    /// The peer sent headers that extended our best chain (inbound eviction protects the
    /// peers that did so most recently, as Core's `m_last_block_time`).
    NovelHeaders {
        /// Who.
        peer: PeerId,
    },
    /// Disconnect the peer.
    Disconnect {
        /// Whom.
        peer: PeerId,
        /// Why.
        reason: DropReason,
    },
}

#[derive(Debug)]
struct PeerState {
    info: PeerInfo,
    /// It sent `sendheaders`: announce to it with headers.
    prefers_headers: bool,
    /// We sent it `sendheaders`.
    sent_sendheaders: bool,
    /// Non-connecting headers messages so far.
    unconnecting: u32,
    /// The newest header we know it has (sent by it or to it).
    best_known: Option<Hash>,
    /// When our outstanding getheaders to it was sent.
    getheaders_at: Option<Instant>,
    /// When it last answered a getheaders.
    answered_at: Option<Instant>,
    /// It stalled as sync peer; never pick it again.
    stalled: bool,
}

/// The headers-first sync state machine (btcd `SyncManager`).
#[derive(Debug)]
pub struct SyncManager {
    config: SyncConfig,
    peers: BTreeMap<PeerId, PeerState>,
    sync_peer: Option<PeerId>,
    /// The sync peer answered with fewer than 2,000 headers: we have caught up with it.
    synced: bool,
    progress_at: Option<Instant>,
    progress_count: usize,
}

impl SyncManager {
    /// A sync manager with no peers.
    pub fn new(config: SyncConfig) -> SyncManager {
        SyncManager {
            config,
            peers: BTreeMap::new(),
            sync_peer: None,
            synced: false,
            progress_at: None,
            progress_count: 0,
        }
    }

    /// The current sync peer.
    pub fn sync_peer(&self) -> Option<PeerId> {
        self.sync_peer
    }

    /// Whether the sync peer has had nothing more to give us.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Number of peers known.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// A peer finished its handshake (btcd `handleNewPeerMsg`).
    pub fn on_peer_connected(
        &mut self,
        chain: &Chain,
        peer: PeerId,
        info: PeerInfo,
        now: Instant,
    ) -> Vec<Action> {
        self.peers.insert(
            peer,
            PeerState {
                info,
                prefers_headers: false,
                sent_sendheaders: false,
                unconnecting: 0,
                best_known: None,
                getheaders_at: None,
                answered_at: None,
                stalled: false,
            },
        );
        let mut actions = Vec::new();
        if self.synced {
            self.send_sendheaders(peer, &mut actions);
            // Once synced, ask every new peer that claims more than we have.
            if i64::from(info.start_height) > i64::from(chain.height()) {
                self.request_headers(peer, chain.locator(), now, &mut actions);
            }
        } else if self.sync_peer.is_none() {
            self.start_sync(chain, now, &mut actions);
        }
        actions
    }

    /// A peer went away (btcd `handleDonePeerMsg`): pick another sync peer if it was ours.
    pub fn on_peer_disconnected(
        &mut self,
        chain: &Chain,
        peer: PeerId,
        now: Instant,
    ) -> Vec<Action> {
        self.peers.remove(&peer);
        let mut actions = Vec::new();
        if self.sync_peer == Some(peer) {
            self.sync_peer = None;
            if !self.synced {
                self.start_sync(chain, now, &mut actions);
            }
        }
        actions
    }

    /// The peer sent `sendheaders` (BIP130).
    pub fn on_sendheaders(&mut self, peer: PeerId) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.prefers_headers = true;
        }
    }

    /// The peer sent `headers` (btcd `handleHeadersMsg`, Core `ProcessHeadersMessage`).
    /// `adjusted_time` is the node's network-adjusted clock for the future-time check.
    pub fn on_headers(
        &mut self,
        chain: &mut Chain,
        peer: PeerId,
        headers: &[BlockHeader],
        now: Instant,
        adjusted_time: SystemTime,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        let Some(state) = self.peers.get_mut(&peer) else {
            return actions;
        };
        state.getheaders_at = None;
        state.answered_at = Some(now);
        let is_sync_peer = self.sync_peer == Some(peer);
        if headers.is_empty() {
            if is_sync_peer {
                self.finish_sync(chain, peer, now, &mut actions);
            }
            return actions;
        }
        match chain.process_headers(headers, adjusted_time) {
            Ok(outcome) => {
                if let Some(state) = self.peers.get_mut(&peer) {
                    state.unconnecting = 0;
                    if let Some((hash, _)) = outcome.last {
                        state.best_known = Some(hash);
                    }
                }
                if outcome.new_tip.is_some() {
                    actions.push(Action::NovelHeaders { peer });
                }
                self.progress_count += outcome.connected;
                self.log_progress(chain, now, adjusted_time);
                if headers.len() == MAX_BLOCK_HEADERS_PER_MSG {
                    // A full reply: the peer has more. Continue from its last header.
                    if let Some(locator) = outcome.last.and_then(|(h, _)| chain.locator_for(&h)) {
                        self.request_headers(peer, locator, now, &mut actions);
                    }
                } else if is_sync_peer {
                    self.finish_sync(chain, peer, now, &mut actions);
                }
                if let Some(change) = outcome.new_tip
                    && self.synced
                {
                    self.announce(chain, peer, change.fork_height, &mut actions);
                }
            }
            Err(Error::DoesNotConnect { hash, .. }) => {
                // Perhaps we missed announcements: ask for what leads to it, but count it.
                let n = match self.peers.get_mut(&peer) {
                    Some(state) => {
                        state.unconnecting += 1;
                        state.unconnecting
                    }
                    None => 0,
                };
                log::debug!("peer {peer}: headers starting at {hash} do not connect ({n} so far)");
                if n > MAX_UNCONNECTING_HEADERS {
                    actions.push(Action::Misbehaving {
                        peer,
                        score: BAN_THRESHOLD,
                        reason: format!("{n} headers messages that do not connect"),
                    });
                } else {
                    self.request_headers(peer, chain.locator(), now, &mut actions);
                }
            }
            Err(e) if e.is_invalid_header() => {
                log::warn!("peer {peer} sent an invalid header: {e}");
                actions.push(Action::Misbehaving {
                    peer,
                    score: BAN_THRESHOLD,
                    reason: e.to_string(),
                });
                if is_sync_peer {
                    self.sync_peer = None;
                    if let Some(state) = self.peers.get_mut(&peer) {
                        state.stalled = true;
                    }
                    self.start_sync(chain, now, &mut actions);
                }
            }
            Err(e) => {
                // From the future or a local disk error: not the peer's fault.
                log::warn!("headers from peer {peer} not accepted: {e}");
            }
        }
        actions
    }

    /// The peer announced blocks by `inv` (btcd `handleInvMsg`): ask it for the headers of
    /// any we do not know.
    pub fn on_inv_blocks(
        &mut self,
        chain: &Chain,
        peer: PeerId,
        hashes: &[Hash],
        now: Instant,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        let Some(last_unknown) = hashes
            .iter()
            .rev()
            .find(|h| chain.header_by_hash(h).is_none())
            .copied()
        else {
            if let (Some(state), Some(last)) = (self.peers.get_mut(&peer), hashes.last()) {
                state.best_known = Some(*last);
            }
            return actions;
        };
        let busy = self
            .peers
            .get(&peer)
            .is_none_or(|p| p.getheaders_at.is_some());
        // During initial sync only the sync peer is asked; its replies cover announcements.
        if busy || (!self.synced && self.sync_peer != Some(peer)) {
            return actions;
        }
        log::debug!("peer {peer} announced unknown block {last_unknown}");
        self.request_headers(peer, chain.locator(), now, &mut actions);
        actions
    }

    /// Whether getheaders gets an empty reply: during initial sync (which includes a chain
    /// with too little work), unless [`SyncConfig::serve_during_initial_sync`].
    fn withholds(&self, chain: &Chain, adjusted_time: SystemTime) -> bool {
        !self.config.serve_during_initial_sync && chain.is_initial_sync(adjusted_time)
    }

    /// The peer sent `getheaders` (btcd `OnGetHeaders`): up to 2,000 headers after the
    /// locator's fork point.
    pub fn on_getheaders(
        &mut self,
        chain: &Chain,
        peer: PeerId,
        locator: &[Hash],
        stop: &Hash,
        adjusted_time: SystemTime,
    ) -> Vec<Action> {
        if self.withholds(chain, adjusted_time) {
            // Core: "Ignoring getheaders ... because active chain has too little work;
            // sending empty response". Silence would make the asker time us out.
            log::debug!("peer {peer}: getheaders during initial sync; sending empty headers");
            return vec![Action::Headers {
                peer,
                headers: Vec::new(),
            }];
        }
        let headers = chain.headers_after(locator, stop, MAX_BLOCK_HEADERS_PER_MSG);
        if let (Some(state), Some(last)) = (self.peers.get_mut(&peer), headers.last()) {
            state.best_known = Some(last.block_hash());
        }
        // An empty reply is still sent: it tells the peer it is up to date.
        vec![Action::Headers { peer, headers }]
    }

    /// The peer sent `getblocks`: nothing is sent back. An inv of blocks is a promise to
    /// serve them, and this node keeps none (Core also answers with nothing when it has
    /// nothing to offer); a btcd that took such invs waited minutes for blocks, then left.
    pub fn on_getblocks(&mut self, peer: PeerId) -> Vec<Action> {
        log::debug!("peer {peer}: getblocks ignored (no blocks kept)");
        Vec::new()
    }

    /// The peer asked for blocks by `getdata`: this node keeps none.
    pub fn on_getdata_blocks(&mut self, peer: PeerId, hashes: &[Hash]) -> Vec<Action> {
        if hashes.is_empty() {
            return Vec::new();
        }
        vec![Action::NotFoundBlocks {
            peer,
            hashes: hashes.to_vec(),
        }]
    }

    /// Periodic work (btcd's stall sampling): replace a sync peer that has not answered, and
    /// ask again when a sync stopped without finishing (say its last reply held a header from
    /// the future that was refused).
    pub fn tick(&mut self, chain: &Chain, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        let Some(peer) = self.sync_peer else {
            if !self.synced {
                self.start_sync(chain, now, &mut actions);
            }
            return actions;
        };
        let base = self.config.headers_timeout_base;
        let idle = self.peers.get(&peer).is_some_and(|p| {
            p.getheaders_at.is_none()
                && p.answered_at
                    .is_some_and(|at| now.saturating_duration_since(at) >= base)
        });
        if idle && !self.synced {
            self.request_headers(peer, chain.locator(), now, &mut actions);
            return actions;
        }
        let height = i64::from(chain.height());
        let ahead = self.peers.get(&peer).map_or(0, |p| {
            (i64::from(p.info.start_height) - height).max(0) as u64
        });
        let timeout = base.saturating_add(
            self.config
                .headers_timeout_per_header
                .saturating_mul(u32::try_from(ahead).unwrap_or(u32::MAX)),
        );
        let stalled = self
            .peers
            .get(&peer)
            .and_then(|p| p.getheaders_at)
            .is_some_and(|at| now.saturating_duration_since(at) >= timeout);
        if stalled {
            log::info!("sync peer {peer} has not answered getheaders in {timeout:?}; switching");
            if let Some(state) = self.peers.get_mut(&peer) {
                state.stalled = true;
                state.getheaders_at = None;
            }
            // Core drops a stalling headers-sync peer only when it claimed more than we have;
            // one that announced nothing new keeps its link (it just is not asked again).
            if ahead > 0 {
                actions.push(Action::Disconnect {
                    peer,
                    reason: DropReason::Stalled,
                });
            }
            self.sync_peer = None;
            self.start_sync(chain, now, &mut actions);
        }
        actions
    }

    /// Picks the best sync candidate and asks it for headers (btcd `startSync`): an outbound
    /// peer that has not stalled, with a start height not below ours; full nodes first, then
    /// the highest start height. (btcnode advertises no `NODE_NETWORK`, keeping no blocks,
    /// yet serves headers, so a peer without it is still a candidate.)
    fn start_sync(&mut self, chain: &Chain, now: Instant, actions: &mut Vec<Action>) {
        let height = i64::from(chain.height());
        let best = self
            .peers
            .iter()
            .filter(|(_, p)| {
                p.info.outbound && !p.stalled && i64::from(p.info.start_height) >= height
            })
            .max_by_key(|(id, p)| {
                (
                    p.info.full_node,
                    p.info.start_height,
                    std::cmp::Reverse(**id),
                )
            })
            .map(|(id, _)| *id);
        let Some(peer) = best else {
            return;
        };
        log::info!(
            "syncing headers from peer {peer} (its height {}, ours {height})",
            self.peers.get(&peer).map_or(0, |p| p.info.start_height)
        );
        self.sync_peer = Some(peer);
        self.progress_at = Some(now);
        self.progress_count = 0;
        self.request_headers(peer, chain.locator(), now, actions);
    }

    fn finish_sync(
        &mut self,
        chain: &Chain,
        peer: PeerId,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        if !self.synced {
            log::info!(
                "header sync with peer {peer} complete at height {} ({})",
                chain.height(),
                chain.tip_hash()
            );
            self.synced = true;
            let ids: Vec<PeerId> = self.peers.keys().copied().collect();
            for id in ids {
                self.send_sendheaders(id, actions);
            }
            // Peers that arrived during the sync and claim more than we now have were never
            // asked (only the sync peer is, until then): ask them now, as a peer arriving
            // after the sync would be.
            let height = i64::from(chain.height());
            let ahead: Vec<PeerId> = self
                .peers
                .iter()
                .filter(|(id, p)| {
                    **id != peer
                        && p.getheaders_at.is_none()
                        && i64::from(p.info.start_height) > height
                })
                .map(|(id, _)| *id)
                .collect();
            for id in ahead {
                self.request_headers(id, chain.locator(), now, actions);
            }
        }
    }

    fn send_sendheaders(&mut self, peer: PeerId, actions: &mut Vec<Action>) {
        if let Some(p) = self.peers.get_mut(&peer)
            && !p.sent_sendheaders
        {
            p.sent_sendheaders = true;
            actions.push(Action::SendHeaders { peer });
        }
    }

    fn request_headers(
        &mut self,
        peer: PeerId,
        locator: Vec<Hash>,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.getheaders_at = Some(now);
        }
        actions.push(Action::GetHeaders {
            peer,
            locator,
            stop: Hash::ZERO,
        });
    }

    /// Tells every peer except `from` that sent `sendheaders` about the new tip, by
    /// `headers` (when few enough). Never by block `inv`: an inv promises the block, and this
    /// node serves none; the others learn of it from their own getheaders.
    fn announce(
        &mut self,
        chain: &Chain,
        from: PeerId,
        fork_height: u32,
        actions: &mut Vec<Action>,
    ) {
        let tip = chain.tip_hash();
        let height = chain.height();
        for (&id, p) in self.peers.iter_mut() {
            if id == from || p.best_known == Some(tip) {
                continue;
            }
            // Headers from where the peer's knowledge ends, or from the fork point.
            let start = p
                .best_known
                .and_then(|h| {
                    if chain.is_in_best_chain(&h) {
                        chain.height_of(&h)
                    } else {
                        None
                    }
                })
                .map_or(fork_height + 1, |h| h + 1);
            let count = height.saturating_sub(start) as usize + 1;
            if !p.prefers_headers {
                continue;
            }
            if start <= height && count <= MAX_BLOCKS_TO_ANNOUNCE {
                let headers: Vec<BlockHeader> = (start..=height)
                    .filter_map(|h| chain.header_at(h))
                    .collect();
                actions.push(Action::Headers { peer: id, headers });
                p.best_known = Some(tip);
            }
        }
    }

    fn log_progress(&mut self, chain: &Chain, now: Instant, adjusted_time: SystemTime) {
        let Some(since) = self.progress_at else {
            self.progress_at = Some(now);
            return;
        };
        let elapsed = now.saturating_duration_since(since);
        if elapsed < self.config.progress_interval {
            return;
        }
        let rate = self.progress_count as f64 / elapsed.as_secs_f64().max(1e-9);
        let tip_time = u64::from(chain.tip_header().timestamp);
        let wall = adjusted_time
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // Ten minutes a block: a fair guess of what is left when no peer height is better.
        let by_time = wall.saturating_sub(tip_time) / 600;
        let by_peer = self
            .sync_peer
            .and_then(|p| self.peers.get(&p))
            .map_or(0, |p| {
                i64::from(p.info.start_height) - i64::from(chain.height())
            })
            .max(0) as u64;
        let remaining = by_peer.max(by_time);
        log::info!(
            "synced headers to height {} ({:.0} headers/s, about {remaining} remaining{})",
            chain.height(),
            rate,
            match Duration::try_from_secs_f64(remaining as f64 / rate) {
                Ok(left) if rate > 0.0 => format!(", {left:.0?} left"),
                _ => String::new(),
            }
        );
        self.progress_at = Some(now);
        self.progress_count = 0;
    }
}
