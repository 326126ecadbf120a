//! The node: btcd's `server.go`. [`Server::start`] loads the ban list and the address book,
//! binds the listeners, starts the connection manager and the `server` thread (btcd's
//! `peerHandler`), which owns all peer state ([`ServerState`]) and is the only place it
//! changes; [`run_until_stopped`] adds the JSON-RPC port and the signal loop on the main
//! thread.
//!
//! Threads: `server` (peer state, bans, relay, RPC queries), `reaper` (joins the threads of
//! disconnected peers, btcd's per-peer `peerDoneHandler`), plus those of the connection
//! manager (`connmgr`, `listen-N`, `dial-N`), the address manager (`addrmgr`), the RPC server
//! (`rpc`, `rpc-N`) and each peer (`pN-*`). Everything talks to the `server` thread through
//! one bounded channel of [`ServerMsg`]s: new connections from `listen-N`/`dial-N`,
//! handshakes, bans and addresses to relay from the peers' [`ServerPeer`] handlers, and
//! control requests from the RPC workers (closures run with `&mut ServerState`, answered
//! through a one-slot reply channel).
//!
//! No wait cycle through that channel: the server thread never blocks on a thread that may
//! itself be waiting to send to it. Its calls into the connection manager wait only for the
//! `connmgr` thread, which never calls back (the connection callbacks run on `listen-N` and
//! `dial-N`) and answers with `try_send`; its `queue_message` calls never wait (a peer's
//! outbox takes the message, or disconnects the peer when it is full); peer handlers hold
//! no lock the server thread takes while they send. Senders that must be heard (connections, handshakes, bans) wait while the
//! channel is full, selecting on quit so a stop always frees them; notifications the node can
//! do without (addresses to relay) are dropped when it is full. `SIGUSR1` dumps never block.
//!
//! Shutdown (SIGINT, SIGTERM or the `stop` RPC) drops the quit sender; the server thread then
//! stops in order (listeners and connection manager, peers, the reaper, the address
//! manager's final save), joins everything it started and closes the signal loop, after which
//! the main thread stops the RPC server, removes the cookie and exits 0.

pub mod addr_relay;
pub mod admission;
pub mod banlist;
pub mod control;
pub mod disconnect_log;
pub mod error;
pub mod eviction;
pub mod fd_limit;
pub mod server_peer;
pub mod state;
pub mod sync;

use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded, select, tick};
use parking_lot::Mutex;

use crate::addrmgr::{AddrManager, AddressPriority};
use crate::config::Config;
use crate::connmgr::{self, ConnManager, ConnReq, ConnTarget, InboundSlot};
use crate::peer::{self, Peer};
use crate::rpc::{self, Auth, RpcServer};
use crate::socks::{Dialer, Proxy, RoutingConfig};
use crate::thread::spawn_service_thread;
use crate::wire::{NetAddress, ServiceFlag};

pub use admission::Admission;
pub use banlist::{BanEntry, BanList};
pub use control::ServerControl;
pub use error::Error;
pub use server_peer::{PeerContext, ServerPeer};
pub use state::{PeerEntry, ServerState};

/// Inbound sockets the connection manager accepts beyond `--maxpeers`: a full node must
/// still see a newcomer to evict for it (Core accepts, then evicts or closes), and evicted
/// peers hold their socket until the reaper has joined them.
pub const INBOUND_EVICTION_HEADROOM: usize = 16;

/// Services we advertise: none of the block-serving bits, since this node keeps no blocks
/// (btcd's `defaultServices` minus `SFNodeNetwork` and `SFNodeBloom`).
pub const LOCAL_SERVICES: u64 = 0;

/// Capacity of the reaper's channel; beyond it the server keeps done peers and retries.
pub const REAPER_QUEUE_LEN: usize = 256;

/// How long an RPC call waits for the server thread to answer before reporting it busy.
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the server thread runs its periodic work: expired bans, our own address, and a
/// sweep for disconnected peers whose done notice ([`ServerMsg::Done`]) was lost to a full
/// channel.
pub const SERVER_TICK_INTERVAL: Duration = Duration::from_secs(1);

/// Timeout of one outbound dial (btcd's `defaultConnectTimeout`).
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(30);

/// Attempts to find an automatic outbound address before giving up for now (btcd's
/// `newAddressFunc` loop).
pub const NEW_ADDRESS_TRIES: usize = 100;

/// A request run on the server thread with the peer state.
pub type ControlFn = Box<dyn FnOnce(&mut ServerState) + Send>;

/// What the server thread receives.
pub enum ServerMsg {
    /// Run a closure with the peer state (RPC queries and commands).
    Control(ControlFn),
    /// Write a state dump of every peer and service thread to the log (SIGUSR1).
    Dump,
    /// A new connection (btcd's `newPeers`): admit it or refuse it.
    NewPeer {
        /// The entry to keep.
        entry: Box<PeerEntry>,
        /// The socket, started only once admitted.
        stream: TcpStream,
    },
    /// A peer completed its handshake.
    Ready(u64),
    /// A peer is disconnecting (btcd's `donePeers`), sent by its `on_disconnect` listener
    /// before its socket is shut down.
    Done(u64),
    /// A peer's ban score reached the threshold: ban its host (btcd's `banPeers`).
    Ban {
        /// The host.
        ip: IpAddr,
        /// Why.
        reason: String,
    },
    /// Fresh addresses from peer `from` to relay (Core's `RelayAddress`).
    RelayAddrs {
        /// The peer they came from.
        from: u64,
        /// The addresses.
        addrs: Vec<NetAddress>,
    },
}

/// The orderly-stop switch shared by the signal loop, the `stop` RPC and the server thread.
#[derive(Clone)]
pub struct Shutdown {
    quit_tx: Arc<Mutex<Option<Sender<()>>>>,
}

impl Shutdown {
    fn new() -> (Shutdown, Receiver<()>) {
        let (tx, rx) = bounded(0);
        (
            Shutdown {
                quit_tx: Arc::new(Mutex::new(Some(tx))),
            },
            rx,
        )
    }

    /// Requests the stop. Returns false if a stop was already requested.
    pub fn request(&self) -> bool {
        // Dropping the only sender disconnects `quit`, which every loop selects on.
        self.quit_tx.lock().take().is_some()
    }

    /// Whether a stop has been requested.
    pub fn is_requested(&self) -> bool {
        self.quit_tx.lock().is_none()
    }
}

/// A connection target from `host:port`.
pub fn target_of(addr: &str) -> Option<ConnTarget> {
    if let Ok(sa) = addr.parse::<SocketAddr>() {
        return Some(ConnTarget::Addr(sa));
    }
    let (host, port) = addr.rsplit_once(':')?;
    Some(ConnTarget::host(host, port.parse().ok()?))
}

fn proxy_of(addr: &Option<String>, user: &Option<String>, pass: &Option<String>) -> Option<Proxy> {
    let addr = addr.as_ref()?.parse::<SocketAddr>().ok()?;
    Some(Proxy {
        addr,
        credentials: user.clone().zip(pass.clone()),
        isolation: false,
    })
}

/// The running node.
pub struct Server {
    tx: Sender<ServerMsg>,
    shutdown: Shutdown,
    handle: Option<JoinHandle<()>>,
    config: Arc<Config>,
    started_at: Instant,
    listen_addrs: Vec<SocketAddr>,
    chain: Arc<parking_lot::RwLock<crate::chain::Chain>>,
}

impl Server {
    /// Creates the data directory, loads the ban list and address book, binds the
    /// listeners and starts the connection manager and the server thread. `on_exit` runs on
    /// the server thread after everything it owns has stopped (it wakes the main thread's
    /// signal loop).
    pub fn start(mut config: Config, on_exit: Box<dyn FnOnce() + Send>) -> Result<Server, Error> {
        config.max_peers = fd_limit::apply(config.max_peers, INBOUND_EVICTION_HEADROOM);
        let net_dir = config.net_dir();
        std::fs::create_dir_all(&net_dir).map_err(|source| Error::DataDir {
            path: net_dir.clone(),
            source,
        })?;
        let config = Arc::new(config);
        let mut listeners = Vec::new();
        for &addr in &config.listen {
            listeners
                .push(TcpListener::bind(addr).map_err(|source| Error::Listen { addr, source })?);
        }
        let listen_addrs: Vec<SocketAddr> = listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect();

        let addrmgr = Arc::new(AddrManager::new(&config.datadir, config.network, None));
        if let Err(e) = addrmgr.start() {
            // A bad peers.json is set aside by the address manager; anything else is logged
            // and the node runs with an empty book.
            log::warn!("address manager: {e}");
        }
        // An --externalip without a port gets the port we listen on (Bitcoin Core's
        // `GetListenPort`): that is where peers can reach us.
        let external_port = listen_addrs
            .first()
            .map_or(config.network.default_port(), |a| a.port());
        for ip in &config.external_ips {
            let host = crate::config::normalize_address(ip, external_port);
            match host.parse::<SocketAddr>() {
                Ok(sa) => {
                    let na = NetAddress::from_socket_addr(sa, ServiceFlag(LOCAL_SERVICES));
                    if let Err(e) = addrmgr.add_local_address(&na, AddressPriority::Manual) {
                        log::warn!("--externalip {ip}: {e}");
                    }
                }
                Err(_) => log::warn!("--externalip {ip}: not an ip address"),
            }
        }

        let (shutdown, quit_rx) = Shutdown::new();
        let (tx, rx) = bounded(config.server_queue_len.max(1));
        let mut state = ServerState::new(config.clone(), addrmgr.clone());
        let started_at = state.started_at;
        let chain = sync::open_chain(&config);
        let sync_handle =
            sync::start_sync(chain.clone(), tx.clone(), quit_rx.clone()).map_err(|source| {
                Error::Spawn {
                    name: "sync".into(),
                    source,
                }
            })?;
        let ctx = Arc::new(PeerContext {
            config: config.clone(),
            addrmgr: addrmgr.clone(),
            server_tx: tx.clone(),
            quit: quit_rx.clone(),
            listening: !listen_addrs.is_empty(),
            listen_port: listen_addrs.first().map(|a| a.port()),
            sync_tx: Some(sync_handle.sender()),
        });

        let mut peer_cfg = peer::Config::new(config.network);
        peer_cfg.user_agent_name = "btcnode".into();
        peer_cfg.user_agent_version = env!("CARGO_PKG_VERSION").into();
        peer_cfg.user_agent_comments = config.ua_comments.clone();
        peer_cfg.services = ServiceFlag(LOCAL_SERVICES);
        peer_cfg.negotiate_timeout = config.peer_timeout;
        peer_cfg.max_send_buffer = config.max_send_buffer;
        peer_cfg.max_receive_buffer = config.max_receive_buffer;
        {
            let chain = chain.clone();
            peer_cfg.newest_block = Some(Arc::new(move || {
                let c = chain.read();
                Some((c.tip_hash(), i32::try_from(c.height()).unwrap_or(i32::MAX)))
            }));
        }
        let peer_cfg = Arc::new(peer_cfg);

        let dialer = Dialer::new(RoutingConfig {
            proxy: proxy_of(&config.proxy, &config.proxy_user, &config.proxy_pass),
            onion_proxy: proxy_of(&config.onion, &config.onion_user, &config.onion_pass),
            no_onion: config.no_onion,
            tor_isolation: config.tor_isolation,
        });
        let mut cm_cfg = connmgr::Config::new(connmgr::dial_fn(dialer.clone(), DIAL_TIMEOUT));
        // The server decides which inbound peers stay (admission and eviction); the
        // connection manager's cap only bounds sockets, with room for the newcomers that
        // ask for an eviction and the evicted peers not yet reaped.
        cm_cfg.max_inbound = config.max_peers + INBOUND_EVICTION_HEADROOM;
        let new_entry = {
            let (ctx, peer_cfg) = (ctx.clone(), peer_cfg.clone());
            move |inbound: bool, addr: String, ip: Option<IpAddr>, persistent: bool| {
                let sp = Arc::new(ServerPeer::new(ctx.clone(), ip, persistent));
                let mut cfg = (*peer_cfg).clone();
                cfg.listeners = sp.clone();
                let cfg = Arc::new(cfg);
                let peer = if inbound {
                    Peer::new_inbound(&cfg)
                } else {
                    Peer::new_outbound(&cfg, &addr)
                };
                (peer, sp)
            }
        };
        {
            let (ctx, new_entry) = (ctx.clone(), new_entry.clone());
            cm_cfg.on_connection = Some(Arc::new(move |req: ConnReq, stream: TcpStream| {
                let addr = stream
                    .peer_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_else(|_| {
                        req.addr.as_ref().map(|a| a.to_string()).unwrap_or_default()
                    });
                let ip = stream.peer_addr().ok().map(|a| a.ip());
                let (peer, sp) = new_entry(false, addr, ip, req.permanent);
                ctx.send(ServerMsg::NewPeer {
                    entry: Box::new(PeerEntry {
                        peer,
                        sp,
                        conn_req: Some(req),
                        group: None,
                        ready: false,
                    }),
                    stream,
                });
            }));
        }
        {
            let (ctx, new_entry) = (ctx.clone(), new_entry.clone());
            cm_cfg.on_accept = Some(Arc::new(
                move |stream: TcpStream, addr: SocketAddr, slot: InboundSlot| {
                    let (peer, sp) = new_entry(true, addr.to_string(), Some(addr.ip()), false);
                    sp.set_inbound_slot(slot);
                    ctx.send(ServerMsg::NewPeer {
                        entry: Box::new(PeerEntry {
                            peer,
                            sp,
                            conn_req: None,
                            group: None,
                            ready: false,
                        }),
                        stream,
                    });
                },
            ));
        }
        if config.connect.is_empty() {
            // Automatic outbound connections from the address book (btcd's
            // `newAddressFunc`): one per group, skipping recent attempts early on.
            let (addrmgr, groups) = (addrmgr.clone(), state.outbound_groups.clone());
            let default_port = config.network.default_port();
            cm_cfg.get_new_address = Some(Arc::new(move || {
                for tries in 0..NEW_ADDRESS_TRIES {
                    let ka = addrmgr.get_address()?;
                    let na = *ka.net_address();
                    let Some(sa) = na.socket_addr() else { continue };
                    let group = crate::addrmgr::group_key(&na.addr);
                    if Admission::group_limited(&group) && groups.lock().contains(&group) {
                        continue;
                    }
                    if tries < 30
                        && ka
                            .last_attempt()
                            .and_then(|t| t.elapsed().ok())
                            .is_some_and(|d| d < Duration::from_secs(600))
                    {
                        continue;
                    }
                    if tries < 50 && sa.port() != default_port {
                        continue;
                    }
                    addrmgr.attempt(&na);
                    return Some(ConnTarget::Addr(sa));
                }
                None
            }));
        } else {
            cm_cfg.target_outbound = 0;
        }
        // btcd: the outbound target never exceeds max peers.
        cm_cfg.target_outbound = cm_cfg
            .target_outbound
            .min(u32::try_from(config.max_peers).unwrap_or(u32::MAX));
        state.target_outbound = cm_cfg.target_outbound as usize;
        let cm = Arc::new(
            ConnManager::start(cm_cfg, listeners).map_err(|e| Error::Spawn {
                name: "connmgr".into(),
                source: std::io::Error::other(e.to_string()),
            })?,
        );
        for addr in config.connect.iter().chain(config.addpeer.iter()) {
            match target_of(addr) {
                Some(t) => match cm.connect(ConnReq::new(t, true)) {
                    Ok(id) => state.added_nodes.push((addr.clone(), id)),
                    Err(e) => log::warn!("cannot add peer {addr}: {e}"),
                },
                None => log::warn!("invalid peer address {addr}"),
            }
        }
        state.connmgr = Some(cm);

        let mut seed_threads = Vec::new();
        if !config.no_dns_seed && config.connect.is_empty() {
            let lookup_dialer = dialer.clone();
            let am = addrmgr.clone();
            seed_threads = connmgr::seed::seed_from_dns(
                config.network.dns_seeds(),
                config.network.default_port(),
                ServiceFlag::NONE,
                Arc::new(move |host: &str| lookup_dialer.lookup(host, DIAL_TIMEOUT)),
                Arc::new(move |addrs: Vec<NetAddress>| {
                    // btcd credits seed results to the first address as source.
                    if let Some(src) = addrs.first().copied() {
                        am.add_addresses(&addrs, &src);
                    }
                }),
            );
        }

        let (reap_tx, reap_rx) = bounded::<Peer>(REAPER_QUEUE_LEN);
        let reaper = spawn_service_thread("reaper".to_string(), move || reaper_handler(reap_rx))
            .map_err(|source| Error::Spawn {
                name: "reaper".into(),
                source,
            })?;
        let handle = spawn_service_thread("server".to_string(), move || {
            server_handler(state, rx, quit_rx, reap_tx);
            sync_handle.stop();
            let _ = reaper.join();
            for h in seed_threads {
                let _ = h.join();
            }
            addrmgr.stop();
            log::info!("server stopped");
            on_exit();
        })
        .map_err(|source| Error::Spawn {
            name: "server".into(),
            source,
        })?;
        log::info!(
            "btcnode {} started on {} (data in {}), listening on {:?}",
            env!("CARGO_PKG_VERSION"),
            config.network,
            net_dir.display(),
            listen_addrs
        );
        Ok(Server {
            tx,
            shutdown,
            handle: Some(handle),
            config,
            started_at,
            listen_addrs,
            chain,
        })
    }

    /// The header chain (shared with the `sync` thread).
    pub fn chain(&self) -> Arc<parking_lot::RwLock<crate::chain::Chain>> {
        self.chain.clone()
    }

    /// The addresses peers can connect to.
    pub fn listen_addrs(&self) -> &[SocketAddr] {
        &self.listen_addrs
    }

    /// The switch that stops this server.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// The RPC layer's view of this server.
    pub fn control(&self) -> ServerControl {
        ServerControl::new(
            self.tx.clone(),
            self.shutdown.clone(),
            self.config.clone(),
            self.started_at,
        )
        .with_chain(self.chain.clone())
    }

    /// Asks the server thread for a state dump in the log; never blocks.
    pub fn dump(&self) {
        if self.tx.try_send(ServerMsg::Dump).is_err() {
            log::warn!("state dump skipped: the server thread is busy or stopping");
        }
    }

    /// Requests the stop and waits until the server thread has stopped everything.
    pub fn stop_and_join(mut self) {
        self.shutdown.request();
        self.join();
    }

    /// Waits for the server thread (after a stop was requested elsewhere).
    pub fn join(&mut self) {
        if let Some(h) = self.handle.take()
            && h.join().is_err()
        {
            log::error!("the server thread panicked");
        }
    }
}

/// Runs on thread `reaper` (btcd's per-peer `peerDoneHandler`, one thread for all): waits
/// for each disconnected peer's threads to end. Returns when the server thread drops its
/// sender, after the peers in hand are joined.
fn reaper_handler(rx: Receiver<Peer>) {
    for peer in rx.iter() {
        let reason = peer.wait_for_disconnect();
        log::debug!("{peer}: threads joined ({reason})");
        drop(peer);
        if rx.is_empty() {
            // The peers that left freed their buffers: hand the pages back to the OS, once
            // per wave of departures.
            crate::thread::release_freed_heap();
        }
    }
}

fn hand_to_reaper(state: &mut ServerState, reap_tx: &Sender<Peer>) {
    let pending = std::mem::take(&mut state.to_reap);
    for p in pending {
        match reap_tx.try_send(p) {
            Ok(()) => {}
            Err(TrySendError::Full(p)) | Err(TrySendError::Disconnected(p)) => {
                state.to_reap.push(p) // retried next poll
            }
        }
    }
}

/// Runs on thread `server` (btcd's `peerHandler`): owns the peer state and serves messages
/// until `quit` is disconnected, then stops the connection manager (listeners and dials),
/// disconnects every peer and hands them to the reaper, and returns.
fn server_handler(
    mut state: ServerState,
    rx: Receiver<ServerMsg>,
    quit: Receiver<()>,
    reap_tx: Sender<Peer>,
) {
    let ticker = tick(SERVER_TICK_INTERVAL);
    loop {
        select! {
            recv(rx) -> msg => match msg {
                Ok(m) => {
                    let done = matches!(m, ServerMsg::Done(_));
                    handle_msg(&mut state, m);
                    if done {
                        hand_to_reaper(&mut state, &reap_tx);
                    }
                }
                Err(_) => break, // every sender is gone
            },
            recv(ticker) -> _ => {
                state.sweep_done_peers();
                hand_to_reaper(&mut state, &reap_tx);
                state.banlist.sweep(crate::clock::unix_now());
                state.advertise_local(Instant::now());
            }
            recv(quit) -> _ => break, // stop requested
        }
    }
    log::info!("server shutting down: stopping listeners and connection manager");
    if let Some(cm) = state.connmgr.take() {
        cm.stop();
    }
    // Connections still queued were never started; dropping them closes them.
    while let Ok(m) = rx.try_recv() {
        if let ServerMsg::Control(f) = m {
            f(&mut state);
        }
    }
    log::info!("disconnecting {} peers", state.peers.len());
    for e in state.peers.values() {
        e.peer.disconnect_with(peer::DisconnectReason::Shutdown);
    }
    let ids: Vec<u64> = state.peers.keys().copied().collect();
    for id in ids {
        if let Some(e) = state.peers.remove(&id) {
            state.to_reap.push(e.peer);
        }
    }
    for p in std::mem::take(&mut state.to_reap) {
        if reap_tx.send(p).is_err() {
            break; // the reaper is gone; nothing left to join with
        }
    }
    drop(reap_tx);
    state.banlist.save();
}

fn handle_msg(state: &mut ServerState, msg: ServerMsg) {
    match msg {
        ServerMsg::Control(f) => f(state),
        ServerMsg::Dump => state.dump(),
        ServerMsg::NewPeer { entry, stream } => state.add_peer(*entry, stream),
        ServerMsg::Ready(id) => state.peer_ready(id),
        ServerMsg::Done(id) => state.peer_done(id),
        ServerMsg::Ban { ip, reason } => state.ban_ip(ip, &reason),
        ServerMsg::RelayAddrs { from, addrs } => state.relay_addresses(from, addrs),
    }
}

/// Runs the node until SIGINT, SIGTERM or the `stop` RPC, on the calling (main) thread:
/// starts the server and the RPC port, then serves signals; returns after everything has been
/// stopped and joined.
pub fn run_until_stopped(config: Config) -> Result<(), Error> {
    use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGUSR1]).map_err(Error::Signals)?;
    let signal_handle = signals.handle();
    let rpc_listen = config.rpc_listen.clone();
    let cookie = config.cookie_file();
    let credentials = config.rpc_user.clone().zip(config.rpc_pass.clone());
    let mut server = Server::start(config, Box::new(move || signal_handle.close()))?;
    let shutdown = server.shutdown();

    let mut rpc_server = None;
    let mut wrote_cookie = false;
    if !rpc_listen.is_empty() {
        let started = (|| {
            let (user, pass) = match &credentials {
                Some(c) => c.clone(),
                None => {
                    let c = rpc::write_cookie(&cookie)?;
                    wrote_cookie = true;
                    c
                }
            };
            let control: Arc<dyn rpc::NodeControl> = Arc::new(server.control());
            RpcServer::start(&rpc_listen, Auth::new(&user, &pass), control)
        })();
        match started {
            Ok(s) => rpc_server = Some(s),
            Err(e) => {
                if wrote_cookie {
                    rpc::remove_cookie(&cookie);
                }
                server.stop_and_join();
                return Err(Error::Rpc(e));
            }
        }
    }

    for signal in signals.forever() {
        match signal {
            SIGUSR1 => server.dump(),
            _ => {
                let name = if signal == SIGINT {
                    "SIGINT"
                } else {
                    "SIGTERM"
                };
                if shutdown.request() {
                    log::info!("received {name}, shutting down");
                } else {
                    log::info!("received {name}, already stopping");
                }
            }
        }
    }
    // The server thread closed the signal loop: it has stopped everything it owns.
    server.join();
    if let Some(mut r) = rpc_server {
        r.stop();
    }
    if wrote_cookie {
        rpc::remove_cookie(&cookie);
    }
    log::info!("shutdown complete");
    Ok(())
}
