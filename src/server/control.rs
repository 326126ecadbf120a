//! [`ServerControl`]: the node's side of the JSON-RPC methods. Each call runs on an `rpc-N`
//! worker, sends a closure to the `server` thread and waits (at most [`CONTROL_TIMEOUT`]) for
//! its answer, so peer state is only ever touched by the server thread. btcd counterpart: the
//! `rpcServer` methods that query `server` (`ConnectedCount`, `Peers`, `AddPeer`, ...).

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Sender, bounded};

use crate::clock::unix_now;
use crate::config::{Config, IpNet};
use crate::rpc::error::*;
use crate::rpc::types::*;
use crate::server::{CONTROL_TIMEOUT, ServerMsg, ServerState, Shutdown};

/// The RPC layer's handle on the server.
#[derive(Clone)]
pub struct ServerControl {
    tx: Sender<ServerMsg>,
    shutdown: Shutdown,
    config: Arc<Config>,
    started_at: Instant,
    chain: Option<Arc<parking_lot::RwLock<crate::chain::Chain>>>,
}

fn busy() -> RpcError {
    RpcError::new(RPC_MISC_ERROR, "the node is stopping or busy; try again")
}

impl ServerControl {
    /// A handle sending to the server thread's channel `tx`.
    pub fn new(
        tx: Sender<ServerMsg>,
        shutdown: Shutdown,
        config: Arc<Config>,
        started_at: Instant,
    ) -> ServerControl {
        ServerControl {
            tx,
            shutdown,
            config,
            started_at,
            chain: None,
        }
    }

    /// Serves the chain's RPC methods (`getblockcount`, `getblockheader`, ...) from `chain`.
    pub fn with_chain(mut self, chain: Arc<parking_lot::RwLock<crate::chain::Chain>>) -> Self {
        self.chain = Some(chain);
        self
    }

    /// Runs `f` on the server thread and returns its result, or an error if the server does
    /// not answer within [`CONTROL_TIMEOUT`].
    pub fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut ServerState) -> R + Send + 'static,
    ) -> Result<R, RpcError> {
        let (reply_tx, reply_rx) = bounded(1);
        let job: crate::server::ControlFn = Box::new(move |state| {
            // The caller may have timed out and gone; then the answer is dropped.
            let _ = reply_tx.try_send(f(state));
        });
        self.tx
            .send_timeout(ServerMsg::Control(job), CONTROL_TIMEOUT)
            .map_err(|_| busy())?;
        reply_rx.recv_timeout(CONTROL_TIMEOUT).map_err(|_| busy())
    }
}

impl NodeControl for ServerControl {
    fn peer_info(&self) -> Vec<PeerInfo> {
        self.query(|s| s.peer_info()).unwrap_or_default()
    }

    fn connection_count(&self) -> usize {
        self.query(|s| s.ready_count()).unwrap_or(0)
    }

    fn network_info(&self) -> NetworkInfo {
        let (inbound, outbound, local) = self
            .query(|s| {
                let inbound = s
                    .peers
                    .values()
                    .filter(|e| e.ready && e.peer.inbound())
                    .count();
                (
                    inbound,
                    s.ready_count() - inbound,
                    s.addrmgr.local_addresses(),
                )
            })
            .unwrap_or_default();
        let proxy = self.config.proxy.clone().unwrap_or_default();
        let onion = self
            .config
            .onion
            .clone()
            .or_else(|| self.config.proxy.clone())
            .unwrap_or_default();
        let net = |name: &str, proxy: &str, reachable: bool| NetworkEntry {
            name: name.to_string(),
            limited: !reachable,
            reachable,
            proxy: proxy.to_string(),
            proxy_randomize_credentials: self.config.tor_isolation,
        };
        let v: Vec<u32> = env!("CARGO_PKG_VERSION")
            .split('.')
            .map(|p| p.parse().unwrap_or(0))
            .collect();
        NetworkInfo {
            version: v.first().copied().unwrap_or(0) * 10000
                + v.get(1).copied().unwrap_or(0) * 100
                + v.get(2).copied().unwrap_or(0),
            subversion: self.config.user_agent(),
            protocolversion: crate::wire::PROTOCOL_VERSION,
            localservices: format!("{:016x}", crate::server::LOCAL_SERVICES),
            localrelay: false,
            timeoffset: 0,
            networkactive: true,
            connections: inbound + outbound,
            connections_in: inbound,
            connections_out: outbound,
            networks: vec![
                net("ipv4", &proxy, true),
                net("ipv6", &proxy, true),
                net("onion", &onion, !self.config.no_onion && !onion.is_empty()),
            ],
            relayfee: 0.00001,
            incrementalfee: 0.00001,
            // Every address we advertise: --externalip and those peers saw us at.
            localaddresses: local
                .into_iter()
                .map(|(na, score)| LocalAddress {
                    address: na.addr.to_string(),
                    port: na.port,
                    score: u32::try_from(score).unwrap_or(0),
                })
                .collect(),
            warnings: String::new(),
        }
    }

    fn node_addresses(&self, count: usize, network: Option<&str>) -> Vec<NodeAddress> {
        let network = network.map(str::to_string);
        self.query(move |s| s.node_addresses(count, network.as_deref()))
            .unwrap_or_default()
    }

    fn add_node(&self, addr: &str, command: AddNodeCommand) -> Result<(), RpcError> {
        let addr = crate::config::normalize_address(addr, self.config.network.default_port());
        self.query(move |s| s.add_node(&addr, command))?
    }

    fn disconnect_node(&self, target: DisconnectTarget) -> Result<(), RpcError> {
        self.query(move |s| s.disconnect_node(target))?
    }

    fn ban(&self, net: IpNet, until: Option<u64>) -> Result<(), RpcError> {
        self.query(move |s| {
            let now = unix_now();
            let duration = match until {
                Some(t) if t <= now => {
                    return Err(RpcError::invalid_param(
                        "Error: Absolute timestamp is in the past",
                    ));
                }
                Some(t) => std::time::Duration::from_secs(t - now),
                None => s.config.ban_duration,
            };
            if s.banlist.is_banned(net.addr, now) && net.is_host() {
                return Err(RpcError::new(
                    RPC_CLIENT_NODE_ALREADY_ADDED,
                    "Error: IP/Subnet already banned",
                ));
            }
            s.banlist.ban(net, now, duration, "setban");
            s.disconnect_banned(&net);
            Ok(())
        })?
    }

    fn unban(&self, net: IpNet) -> Result<(), RpcError> {
        self.query(move |s| {
            if s.banlist.unban(&net) {
                Ok(())
            } else {
                Err(RpcError::new(
                    RPC_CLIENT_INVALID_IP_OR_SUBNET,
                    "Error: Unban failed. Requested address/subnet was not previously manually banned.",
                ))
            }
        })?
    }

    fn list_banned(&self) -> Vec<BannedInfo> {
        self.query(|s| {
            let now = unix_now();
            s.banlist
                .list(now)
                .into_iter()
                .map(|e| BannedInfo {
                    ban_duration: e.banned_until.saturating_sub(e.ban_created),
                    time_remaining: e.banned_until.saturating_sub(now),
                    address: e.address,
                    ban_created: e.ban_created,
                    banned_until: e.banned_until,
                })
                .collect()
        })
        .unwrap_or_default()
    }

    fn disconnects(&self) -> Vec<DisconnectInfo> {
        self.query(|s| s.disconnect_info()).unwrap_or_default()
    }

    fn clear_banned(&self) {
        let _ = self.query(|s| s.banlist.clear());
    }

    fn net_totals(&self) -> NetTotals {
        let (recv, sent) = self.query(|s| s.net_totals()).unwrap_or((0, 0));
        NetTotals {
            totalbytesrecv: recv,
            totalbytessent: sent,
            timemillis: crate::clock::unix_millis(std::time::SystemTime::now()),
        }
    }

    fn uptime(&self) -> u64 {
        self.started_at.elapsed().as_secs()
    }

    fn ping(&self) {
        let _ = self.query(|s| s.ping_all());
    }

    fn stop(&self) {
        if self.shutdown.request() {
            log::info!("stop requested over rpc, shutting down");
        }
    }

    fn other(
        &self,
        method: &str,
        params: &[serde_json::Value],
    ) -> Option<Result<serde_json::Value, RpcError>> {
        let chain = self.chain.as_ref()?;
        crate::rpc::chain_json::dispatch(
            &chain.read(),
            method,
            params,
            std::time::SystemTime::now(),
        )
    }
}
