//! [`ServerState`]: the peer state the `server` thread owns (btcd's `peerState` plus bans,
//! added nodes and counters), and what the server does with it: admit and drop peers, ban,
//! relay addresses, answer RPC queries, write the SIGUSR1 dump. Only the `server` thread
//! touches it.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use parking_lot::Mutex;

use crate::addrmgr::AddrManager;
use crate::addrmgr::group_key;
use crate::config::{Config, IpNet, canonical_ip};
use crate::connmgr::{ConnManager, ConnReq};
use crate::peer::{DisconnectReason, Peer};
use crate::rpc::error::*;
use crate::rpc::{AddNodeCommand, DisconnectTarget, NodeAddress, PeerInfo, RpcError};
use crate::server::addr_relay::relay_targets;
use crate::server::admission::{Admission, Decision, NewConnection, PeerCounts};
use crate::server::banlist::BanList;
use crate::server::disconnect_log::{DisconnectLog, DisconnectRecord};
use crate::server::eviction::{
    EvictionCandidate, EvictionNetwork, EvictionPlan, EvictionStatus, select_node_to_evict,
};
use crate::server::server_peer::ServerPeer;
use crate::wire::{AddrV2, Message, MsgPing, NetAddress};

/// What the server keeps about one connected peer (btcd's `serverPeer` as seen from
/// `peerState`).
pub struct PeerEntry {
    /// The peer (its threads and queues).
    pub peer: Peer,
    /// Its handlers and their state.
    pub sp: Arc<ServerPeer>,
    /// The connection request, for outbound peers.
    pub conn_req: Option<ConnReq>,
    /// The /16 group of an automatic outbound peer.
    pub group: Option<String>,
    /// Whether the handshake is complete.
    pub ready: bool,
}

/// The peer state owned by the `server` thread.
pub struct ServerState {
    /// The configuration.
    pub config: Arc<Config>,
    /// Banned hosts.
    pub banlist: BanList,
    /// Peers by id.
    pub peers: BTreeMap<u64, PeerEntry>,
    /// Persistent peers from `--addpeer`/`--connect`/`addnode add`: host:port and the
    /// connection manager's request id.
    pub added_nodes: Vec<(String, u64)>,
    /// When the node started.
    pub started_at: Instant,
    /// Bytes received from peers that have gone.
    pub bytes_recv_done: u64,
    /// Bytes sent to peers that have gone.
    pub bytes_sent_done: u64,
    /// The address book.
    pub addrmgr: Arc<AddrManager>,
    /// The connection manager (set once started).
    pub connmgr: Option<Arc<ConnManager>>,
    /// Groups of automatic outbound peers, read by the address picker on `dial-N` threads.
    pub outbound_groups: Arc<Mutex<HashSet<String>>>,
    /// Key of the daily relay choice.
    pub relay_secret: u64,
    /// Peers disconnected and waiting to be handed to the reaper.
    pub to_reap: Vec<Peer>,
    /// The last peers lost and why (`getdisconnects`, the dump).
    pub disconnects: DisconnectLog,
    /// Automatic outbound connections the connection manager keeps (0 with `--connect`):
    /// the slots inbound peers may never take.
    pub target_outbound: usize,
    /// Request ids of `addnode onetry` dials: manual, so admitted like `--addpeer`.
    pub onetry_reqs: HashSet<u64>,
    /// Secret key of the keyed netgroups eviction protects (Core's `nKeyedNetGroup`), so
    /// nobody can choose addresses whose groups will be protected.
    pub netgroup_key: std::hash::RandomState,
}

/// The netgroup of `ip`: addrmgr's `group_key`, as btcd's server uses it.
pub fn ip_group(ip: IpAddr) -> String {
    group_key(&AddrV2::from_ip(ip))
}

/// Disconnects the SIGUSR1 dump lists (the newest), enough to see a pattern in one screen.
pub const DUMP_DISCONNECTS: usize = 10;

fn secs(t: Option<SystemTime>) -> u64 {
    t.map_or(0, crate::clock::unix_secs)
}

fn peer_ip(p: &Peer) -> Option<IpAddr> {
    p.na()
        .and_then(|na| na.addr.ip())
        .map(canonical_ip)
        .or_else(|| {
            p.addr()
                .parse::<std::net::SocketAddr>()
                .ok()
                .map(|sa| canonical_ip(sa.ip()))
        })
}

impl ServerState {
    /// The state at start: bans loaded from disk.
    pub fn new(config: Arc<Config>, addrmgr: Arc<AddrManager>) -> ServerState {
        use rand::RngExt;
        let banlist = BanList::load(&config.banlist_file(), crate::clock::unix_now());
        ServerState {
            config,
            banlist,
            peers: BTreeMap::new(),
            added_nodes: Vec::new(),
            started_at: Instant::now(),
            bytes_recv_done: 0,
            bytes_sent_done: 0,
            addrmgr,
            connmgr: None,
            outbound_groups: Arc::new(Mutex::new(HashSet::new())),
            relay_secret: rand::rng().random(),
            to_reap: Vec::new(),
            target_outbound: crate::connmgr::DEFAULT_TARGET_OUTBOUND as usize,
            onetry_reqs: HashSet::new(),
            netgroup_key: std::hash::RandomState::new(),
            disconnects: DisconnectLog::new(),
        }
    }

    /// Peers that completed the handshake.
    pub fn ready_count(&self) -> usize {
        self.peers.values().filter(|e| e.ready).count()
    }

    /// The slot rules as they stand: `--maxpeers`, the outbound target and the manual peers.
    pub fn admission(&self) -> Admission {
        Admission {
            max_peers: self.config.max_peers,
            target_outbound: self.target_outbound,
            manual: self.added_nodes.len(),
        }
    }

    /// Inbound peers and automatic outbound peers, not counting those already leaving.
    fn counts(&self) -> PeerCounts {
        let mut c = PeerCounts::default();
        for e in self.peers.values() {
            if e.peer.disconnect_reason().is_some() {
                continue;
            }
            if e.peer.inbound() {
                c.inbound += 1;
            } else if e.group.is_some() {
                c.auto_outbound += 1;
            }
        }
        c
    }

    /// The inbound peers eviction may consider (Core's `AttemptToEvictConnection`: inbound,
    /// not already disconnecting), as candidates.
    fn eviction_candidates(&self) -> Vec<EvictionCandidate> {
        use std::hash::BuildHasher;
        self.peers
            .values()
            .filter(|e| e.peer.inbound() && e.peer.disconnect_reason().is_none())
            .map(|e| {
                let s = e.peer.stats();
                let ip = peer_ip(&e.peer);
                let group = ip.map(ip_group).unwrap_or_default();
                let last_block_time = e.sp.state.lock().last_block_time;
                EvictionCandidate {
                    id: s.id,
                    connected: secs(s.conn_time),
                    min_ping: s.min_ping_latency,
                    last_block_time: last_block_time.map(crate::clock::unix_secs),
                    last_tx_time: None,
                    keyed_netgroup: self.netgroup_key.hash_one(&group),
                    network: EvictionNetwork::Ip,
                    is_local: ip.is_some_and(|i| i.is_loopback()),
                    noban: e.sp.whitelisted,
                }
            })
            .collect()
    }

    /// Each inbound peer's standing and who would be evicted next.
    pub fn eviction_plan(&self) -> EvictionPlan {
        select_node_to_evict(&self.eviction_candidates())
    }

    /// Core's `AttemptToEvictConnection`: disconnects the inbound peer the eviction rules
    /// pick; false when every inbound peer is protected.
    fn evict_inbound(&mut self) -> bool {
        let cands = self.eviction_candidates();
        let plan = select_node_to_evict(&cands);
        let Some(id) = plan.evict else {
            return false;
        };
        let Some(victim) = cands.iter().find(|c| c.id == id) else {
            return false;
        };
        let group_peers = plan
            .status
            .iter()
            .filter(|(i, s)| {
                *s == EvictionStatus::Candidate
                    && cands
                        .iter()
                        .any(|c| c.id == *i && c.keyed_netgroup == victim.keyed_netgroup)
            })
            .count();
        let Some(e) = self.peers.get(&id) else {
            return false;
        };
        let group = peer_ip(&e.peer).map(ip_group).unwrap_or_default();
        let reason = DisconnectReason::Evicted { group, group_peers };
        log::info!("evicting {}: {reason}", e.peer);
        e.peer.disconnect_with(reason);
        true
    }

    /// Admits a new connection (btcd's `handleAddPeerMsg`, with Core's slot rules, see
    /// [`Admission`]): refuses banned hosts (before any handshake work), keeps the outbound
    /// slots and one automatic outbound peer per group, evicts an inbound peer when inbound
    /// is full, then starts the peer on `stream`.
    pub fn add_peer(&mut self, mut entry: PeerEntry, stream: std::net::TcpStream) {
        let peer = entry.peer.clone();
        let ip = stream.peer_addr().ok().map(|a| canonical_ip(a.ip()));
        let whitelisted = entry.sp.whitelisted;
        let banned = ip.is_some_and(|ip| self.banlist.is_banned(ip, crate::clock::unix_now()));
        let manual = entry.sp.persistent
            || entry
                .conn_req
                .as_ref()
                .is_some_and(|r| self.onetry_reqs.remove(&r.id));
        let group = ip.map(ip_group);
        let new = if peer.inbound() {
            NewConnection::Inbound {
                whitelisted,
                banned,
            }
        } else if manual {
            NewConnection::Manual
        } else {
            let g = group.clone().unwrap_or_default();
            let taken = self.peers.values().any(|e| e.group.as_ref() == Some(&g));
            NewConnection::AutoOutbound {
                group: g,
                group_taken: taken,
                banned: banned && !whitelisted,
            }
        };
        let refuse = |why: &str| {
            log::info!(
                "refusing {peer} ({}): {why}",
                ip.map(|i| i.to_string()).unwrap_or_default()
            );
        };
        let admitted = match self.admission().decide(&new, self.counts()) {
            Decision::Admit => true,
            Decision::EvictFirst => {
                let evicted = self.evict_inbound();
                if !evicted {
                    refuse("inbound full and every inbound peer is protected from eviction");
                }
                evicted
            }
            Decision::Refuse(why) => {
                refuse(&why.to_string());
                false
            }
        };
        if !admitted {
            drop(stream);
            self.release_request(&entry);
            return;
        }
        if matches!(new, NewConnection::AutoOutbound { .. })
            && let Some(g) = &group
        {
            self.outbound_groups.lock().insert(g.clone());
            entry.group = group;
        }
        if let Err(e) = peer.associate_connection(stream) {
            log::warn!("cannot start {peer}: {e}");
            self.release_request(&entry);
            return;
        }
        log::info!(
            "new peer {} ({}, {}){}",
            peer.id(),
            peer.addr(),
            if peer.inbound() {
                "inbound"
            } else {
                "outbound"
            },
            if entry.sp.persistent {
                ", persistent"
            } else {
                ""
            }
        );
        self.peers.insert(peer.id(), entry);
    }

    /// Tells the connection manager a request's connection is gone, so it reconnects
    /// persistent peers and replaces automatic ones.
    fn release_request(&self, entry: &PeerEntry) {
        if let (Some(req), Some(cm)) = (&entry.conn_req, &self.connmgr) {
            let removed = self.added_nodes.iter().all(|(_, id)| *id != req.id) && req.permanent;
            let result = if removed {
                // A persistent request no longer in the added list (addnode remove).
                cm.remove(req.id)
            } else {
                cm.disconnect(req.id)
            };
            if let Err(e) = result {
                log::debug!("connmgr: {e}");
            }
        }
    }

    /// The handshake with peer `id` completed.
    pub fn peer_ready(&mut self, id: u64) {
        if let Some(e) = self.peers.get_mut(&id) {
            e.ready = true;
            e.sp.complete_inbound_slot();
            let s = e.peer.stats();
            log::info!(
                "{}: handshake complete, version {} {} height {}",
                e.peer,
                s.protocol_version,
                s.user_agent,
                s.starting_height
            );
        }
    }

    /// Removes peers that have disconnected and whose done notice was lost (the channel was
    /// full): run on the server tick.
    pub fn sweep_done_peers(&mut self) {
        let done: Vec<u64> = self
            .peers
            .iter()
            .filter(|(_, e)| e.peer.disconnect_reason().is_some())
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            self.peer_done(id);
        }
    }

    /// Peer `id` disconnected (btcd's `handleDonePeerMsg`): forget it, record why, tell the
    /// connection manager and the sync manager, and queue it for the reaper, which joins its
    /// threads. Nothing for an id already removed.
    pub fn peer_done(&mut self, id: u64) {
        let Some(entry) = self.peers.remove(&id) else {
            return;
        };
        let stats = entry.peer.stats();
        self.bytes_recv_done += stats.bytes_received;
        self.bytes_sent_done += stats.bytes_sent;
        if let Some(g) = &entry.group {
            self.outbound_groups.lock().remove(g);
        }
        let reason = entry
            .peer
            .disconnect_reason()
            .unwrap_or(DisconnectReason::Requested);
        log::info!("{} disconnected: {reason}", entry.peer);
        self.disconnects.push(DisconnectRecord {
            id,
            addr: entry.peer.addr().to_string(),
            inbound: entry.peer.inbound(),
            reason,
            time: crate::clock::unix_now(),
        });
        self.release_request(&entry);
        entry.sp.on_done(&entry.peer);
        self.to_reap.push(entry.peer.clone());
    }

    /// Bans `ip` for `--banduration` (btcd's `handleBanPeerMsg`) and disconnects its peers.
    pub fn ban_ip(&mut self, ip: IpAddr, reason: &str) {
        if self.config.no_banning || self.config.is_whitelisted(ip) {
            return;
        }
        let now = crate::clock::unix_now();
        self.banlist
            .ban_ip(ip, now, self.config.ban_duration, reason);
        log::info!("banned {ip} for {:?}: {reason}", self.config.ban_duration);
        let prefix = if canonical_ip(ip).is_ipv4() { 32 } else { 128 };
        self.disconnect_banned(&IpNet {
            addr: canonical_ip(ip),
            prefix,
        });
    }

    /// Disconnects every peer inside a newly banned network.
    pub fn disconnect_banned(&mut self, net: &IpNet) {
        for e in self.peers.values() {
            if !e.sp.whitelisted && peer_ip(&e.peer).is_some_and(|ip| net.contains(ip)) {
                e.peer.disconnect_with(DisconnectReason::AddressBanned);
            }
        }
    }

    /// Forwards fresh addresses from peer `from` to two other peers each (Core's
    /// `RelayAddress`), chosen per address and per day.
    pub fn relay_addresses(&mut self, from: u64, addrs: Vec<NetAddress>) {
        let candidates: Vec<u64> = self
            .peers
            .iter()
            .filter(|(id, e)| **id != from && e.ready)
            .map(|(id, _)| *id)
            .collect();
        if candidates.is_empty() {
            return;
        }
        let day = crate::clock::unix_now() / 86400;
        let mut per_peer: BTreeMap<u64, Vec<NetAddress>> = BTreeMap::new();
        for a in addrs {
            for id in relay_targets(&a.to_string(), &candidates, self.relay_secret, day) {
                per_peer.entry(id).or_default().push(a);
            }
        }
        for (id, list) in per_peer {
            if let Some(e) = self.peers.get(&id) {
                let n = e.sp.push_addresses(&e.peer, list);
                if n > 0 {
                    log::debug!("relayed {n} addresses from peer {from} to {}", e.peer);
                }
            }
        }
    }

    /// Advertises our own address to peers it is due for (daily).
    pub fn advertise_local(&mut self, now: Instant) {
        for e in self.peers.values() {
            e.sp.maybe_advertise_local(&e.peer, now);
        }
    }

    /// `getpeerinfo`: the peers that completed the handshake.
    pub fn peer_info(&self) -> Vec<PeerInfo> {
        let plan = self.eviction_plan();
        self.peers
            .values()
            .filter(|e| e.ready)
            .map(|e| {
                let s = e.peer.stats();
                let st = e.sp.state.lock();
                let now = Instant::now();
                PeerInfo {
                    id: s.id,
                    addr: s.addr.clone(),
                    addrlocal: None,
                    services: format!("{:016x}", s.services.0),
                    relaytxes: s.relay_txes,
                    lastsend: secs(s.last_send),
                    lastrecv: secs(s.last_recv),
                    bytessent: s.bytes_sent,
                    bytesrecv: s.bytes_received,
                    conntime: secs(s.conn_time),
                    timeoffset: s.time_offset,
                    pingtime: s.last_ping_latency.map(|d| d.as_secs_f64()),
                    version: s.protocol_version,
                    subver: s.user_agent.clone(),
                    inbound: s.inbound,
                    startingheight: s.starting_height,
                    banscore: st.ban_score.int(now),
                    connection_type: if s.inbound {
                        "inbound"
                    } else if e.sp.persistent {
                        "manual"
                    } else {
                        "outbound-full-relay"
                    }
                    .to_string(),
                    whitelisted: e.sp.whitelisted,
                    addr_processed: st.addr_processed,
                    addr_rate_limited: st.addr_rate_limited,
                    handshake_complete: e.ready,
                    eviction: plan
                        .status
                        .iter()
                        .find(|(id, _)| *id == s.id)
                        .map(|(_, st)| st.label().to_string()),
                    next_eviction: plan.evict == Some(s.id),
                    disconnect_reason: e.peer.disconnect_reason().map(|r| r.to_string()),
                }
            })
            .collect()
    }

    /// `getnodeaddresses`: `count` random known addresses, 0 meaning all of them (Core).
    /// Only `getaddr` replies use the 23% sample ([`AddrManager::address_cache`]).
    pub fn node_addresses(&self, count: usize, network: Option<&str>) -> Vec<NodeAddress> {
        let mut all = self.addrmgr.addresses();
        {
            use rand::seq::SliceRandom;
            all.shuffle(&mut rand::rng());
        }
        let mut out: Vec<NodeAddress> = all
            .into_iter()
            .filter_map(|na| {
                let net = match na.addr {
                    crate::wire::AddrV2::Ipv4(_) => "ipv4",
                    crate::wire::AddrV2::Ipv6(_) => "ipv6",
                    crate::wire::AddrV2::TorV2(_) | crate::wire::AddrV2::TorV3(_) => "onion",
                    crate::wire::AddrV2::I2p(_) => "i2p",
                    crate::wire::AddrV2::Cjdns(_) => "cjdns",
                };
                if network.is_some_and(|n| n != net) {
                    return None;
                }
                Some(NodeAddress {
                    time: u64::from(na.timestamp),
                    services: na.services.0,
                    address: crate::wire::netaddress_str::Host(&na.addr).to_string(),
                    port: na.port,
                    network: net.to_string(),
                })
            })
            .collect();
        if count > 0 {
            out.truncate(count);
        }
        out
    }

    /// `addnode`.
    pub fn add_node(&mut self, addr: &str, command: AddNodeCommand) -> Result<(), RpcError> {
        let Some(cm) = self.connmgr.clone() else {
            return Err(RpcError::new(
                RPC_MISC_ERROR,
                "connection manager not running",
            ));
        };
        let target = crate::server::target_of(addr)
            .ok_or_else(|| RpcError::invalid_param(format!("invalid address {addr:?}")))?;
        match command {
            AddNodeCommand::Add => {
                if self.added_nodes.iter().any(|(a, _)| a == addr) {
                    return Err(RpcError::new(
                        RPC_CLIENT_NODE_ALREADY_ADDED,
                        "Error: Node already added",
                    ));
                }
                let id = cm
                    .connect(ConnReq::new(target, true))
                    .map_err(|e| RpcError::new(RPC_MISC_ERROR, e.to_string()))?;
                self.added_nodes.push((addr.to_string(), id));
                Ok(())
            }
            AddNodeCommand::Remove => {
                let Some(pos) = self.added_nodes.iter().position(|(a, _)| a == addr) else {
                    return Err(RpcError::new(
                        RPC_CLIENT_NODE_NOT_ADDED,
                        "Error: Node could not be removed. It has not been added previously.",
                    ));
                };
                let (_, id) = self.added_nodes.remove(pos);
                // Removing the request stops the retries for good (btcd reconnects anyway).
                if let Err(e) = cm.remove(id) {
                    log::debug!("connmgr remove {id}: {e}");
                }
                for e in self.peers.values() {
                    if e.conn_req.as_ref().is_some_and(|r| r.id == id) {
                        e.peer
                            .disconnect_with(DisconnectReason::Rpc { method: "addnode" });
                    }
                }
                log::info!("removed persistent peer {addr}");
                Ok(())
            }
            AddNodeCommand::OneTry => {
                let id = cm
                    .connect(ConnReq::new(target, false))
                    .map_err(|e| RpcError::new(RPC_MISC_ERROR, e.to_string()))?;
                // Its connection arrives on this thread later: admit it as manual.
                self.onetry_reqs.insert(id);
                Ok(())
            }
        }
    }

    /// `disconnectnode`.
    pub fn disconnect_node(&mut self, target: DisconnectTarget) -> Result<(), RpcError> {
        let mut found = false;
        for e in self.peers.values() {
            let hit = match &target {
                DisconnectTarget::Id(id) => e.peer.id() == *id,
                DisconnectTarget::Address(a) => e.peer.addr() == a,
            };
            if hit {
                e.peer.disconnect_with(DisconnectReason::Rpc {
                    method: "disconnectnode",
                });
                found = true;
            }
        }
        if found {
            Ok(())
        } else {
            Err(RpcError::new(
                RPC_CLIENT_NODE_NOT_CONNECTED,
                "Node not found in connected nodes",
            ))
        }
    }

    /// `getdisconnects`: the last peers lost, oldest first.
    pub fn disconnect_info(&self) -> Vec<crate::rpc::DisconnectInfo> {
        self.disconnects
            .iter()
            .map(|r| crate::rpc::DisconnectInfo {
                id: r.id,
                addr: r.addr.clone(),
                inbound: r.inbound,
                kind: r.reason.kind().to_string(),
                reason: r.reason.to_string(),
                time: r.time,
            })
            .collect()
    }

    /// Bytes received and sent over the node's life.
    pub fn net_totals(&self) -> (u64, u64) {
        let (mut recv, mut sent) = (self.bytes_recv_done, self.bytes_sent_done);
        for e in self.peers.values() {
            let s = e.peer.stats();
            recv += s.bytes_received;
            sent += s.bytes_sent;
        }
        (recv, sent)
    }

    /// Queues a ping to every ready peer (`ping` RPC).
    pub fn ping_all(&mut self) {
        use rand::RngExt;
        for e in self.peers.values().filter(|e| e.ready) {
            let nonce: u64 = rand::rng().random();
            e.peer.queue_message(Message::Ping(MsgPing { nonce }), None);
        }
    }

    /// Logs the SIGUSR1 state dump: a header, the service threads, and one block per peer.
    pub fn dump(&self) {
        let threads = thread_names();
        let services: Vec<&str> = threads
            .iter()
            .filter(|n| !is_peer_thread(n))
            .map(String::as_str)
            .collect();
        log::info!(
            "state dump: network {}, {} peers ({} inbound, {} ready), {} bans, {} addresses, up {}s",
            self.config.network,
            self.peers.len(),
            self.peers.values().filter(|e| e.peer.inbound()).count(),
            self.ready_count(),
            self.banlist.len(),
            self.addrmgr.num_addresses(),
            self.started_at.elapsed().as_secs()
        );
        log::info!("service threads: {}", services.join(" "));
        let now = Instant::now();
        for e in self.peers.values() {
            let s = e.peer.stats();
            let prefix = format!("p{}-", s.id);
            let mine: Vec<&str> = threads
                .iter()
                .filter(|n| n.starts_with(&prefix))
                .map(String::as_str)
                .collect();
            let dbg = e.peer.debug_state();
            let mut waits = dbg.waits_relative(now);
            if waits.is_empty() {
                waits.push("no response".to_string());
            }
            let st = e.sp.state.lock();
            let fmt_recent = |q: &std::collections::VecDeque<(String, SystemTime)>| {
                q.iter()
                    .map(|(c, t)| {
                        let ago = SystemTime::now()
                            .duration_since(*t)
                            .map(|d| d.as_secs_f64())
                            .unwrap_or(0.0);
                        format!("{c} {ago:.1}s ago")
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let ping = if s.last_ping_nonce != 0 {
                format!(
                    "ping {:x} in flight since {}s",
                    s.last_ping_nonce,
                    s.last_ping_time
                        .and_then(|t| SystemTime::now().duration_since(t).ok())
                        .map_or(0, |d| d.as_secs())
                )
            } else {
                "no ping in flight".to_string()
            };
            log::info!(
                "dump peer {} {} {} threads [{}] version {} ({}) ready {}{} | sent {} B, recv {} B | queues: send {} ({}/{} B) inv {} | ingress: msg tokens {:.0} byte tokens {:.0} throttled {}x {:.1}s | last sent: {} | last recv: {} | waits for: {}; {} | ban score {} | addr processed {} rate-limited {}{}{}",
                s.id,
                s.addr,
                if s.inbound { "inbound" } else { "outbound" },
                mine.join(" "),
                s.protocol_version,
                s.user_agent,
                e.ready,
                e.peer
                    .disconnect_reason()
                    .map(|r| format!(" | disconnecting: {r}"))
                    .unwrap_or_default(),
                s.bytes_sent,
                s.bytes_received,
                dbg.send_queue,
                dbg.send_bytes,
                dbg.send_limit,
                dbg.pending_inv,
                dbg.ingress.msg_tokens,
                dbg.ingress.byte_tokens,
                dbg.ingress.throttled,
                dbg.ingress.throttled_for.as_secs_f64(),
                fmt_recent(&st.recent_sent),
                fmt_recent(&st.recent_recv),
                waits.join(", "),
                ping,
                st.ban_score.int(now),
                st.addr_processed,
                st.addr_rate_limited,
                if e.sp.persistent { " | persistent" } else { "" },
                if e.sp.whitelisted {
                    " | whitelisted"
                } else {
                    ""
                },
            );
        }
        for r in self.disconnects.last(DUMP_DISCONNECTS) {
            log::info!(
                "dump disconnect peer {} {} {} at {}: {} ({})",
                r.id,
                r.addr,
                if r.inbound { "inbound" } else { "outbound" },
                r.time,
                r.reason,
                r.reason.kind()
            );
        }
        log::info!("state dump end");
    }
}

fn is_peer_thread(name: &str) -> bool {
    name.strip_prefix('p')
        .and_then(|r| r.split_once('-'))
        .is_some_and(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// Names of this process's threads, from /proc (empty where there is no /proc).
pub fn thread_names() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut names: Vec<String> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect();
    names.sort();
    names
}
