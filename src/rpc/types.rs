//! What the RPC methods return (bitcoind's result shapes, serialized with serde) and
//! [`NodeControl`], the interface the node implements for the RPC layer. Keeping the
//! interface typed lets the RPC layer be tested with a fake node.

use serde::Serialize;
use serde_json::Value;

use crate::config::IpNet;
use crate::rpc::RpcError;

/// One entry of `getpeerinfo` (bitcoind's field names; `banscore` as btcd).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PeerInfo {
    /// The node's id for the peer (`pN-*` thread names use it).
    pub id: u64,
    /// The peer's address, host:port.
    pub addr: String,
    /// Our address as the peer sees it, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addrlocal: Option<String>,
    /// Services the peer offers, 16 hex digits.
    pub services: String,
    /// Whether the peer asked us to relay transactions.
    pub relaytxes: bool,
    /// Unix time of the last message sent.
    pub lastsend: u64,
    /// Unix time of the last message received.
    pub lastrecv: u64,
    /// Total bytes sent.
    pub bytessent: u64,
    /// Total bytes received.
    pub bytesrecv: u64,
    /// Unix time of the connection.
    pub conntime: u64,
    /// The peer's clock offset in seconds.
    pub timeoffset: i64,
    /// Last ping round trip in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pingtime: Option<f64>,
    /// Negotiated protocol version.
    pub version: u32,
    /// The peer's user agent.
    pub subver: String,
    /// Whether the peer connected to us.
    pub inbound: bool,
    /// Height the peer announced.
    pub startingheight: i32,
    /// Current ban score (btcd).
    pub banscore: u32,
    /// bitcoind's connection type: `inbound`, `outbound-full-relay` or `manual`.
    pub connection_type: String,
    /// Whether the peer is whitelisted.
    pub whitelisted: bool,
    /// Inbound peers: why eviction spares it (`protected: netgroup|ping|headers|uptime|
    /// network|whitelist`) or `candidate`. No other node explains this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eviction: Option<String>,
    /// Whether this is the peer a new inbound peer would evict now.
    pub next_eviction: bool,
    /// Addresses from this peer that were processed (Core's `addr_processed`).
    pub addr_processed: u64,
    /// Addresses from this peer dropped by the rate limit (Core's `addr_rate_limited`).
    pub addr_rate_limited: u64,
    /// Whether the version handshake is complete.
    pub handshake_complete: bool,
    /// Why the peer is being disconnected, for a peer still listed while it goes (btcnode's
    /// own field; absent for a live peer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disconnect_reason: Option<String>,
}

/// One network in `getnetworkinfo`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkEntry {
    /// `ipv4`, `ipv6` or `onion`.
    pub name: String,
    /// Whether the network is reachable.
    pub limited: bool,
    /// Whether it is reachable.
    pub reachable: bool,
    /// Proxy used for it (`host:port`), empty if none.
    pub proxy: String,
    /// Whether stream isolation is on.
    pub proxy_randomize_credentials: bool,
}

/// One of our advertised addresses in `getnetworkinfo`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalAddress {
    /// The address.
    pub address: String,
    /// Its port.
    pub port: u16,
    /// How sure we are of it.
    pub score: u32,
}

/// `getnetworkinfo`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkInfo {
    /// Our version as an integer (bitcoind: 10000 * major + 100 * minor + patch).
    pub version: u32,
    /// Our user agent.
    pub subversion: String,
    /// Our protocol version.
    pub protocolversion: u32,
    /// Our services, 16 hex digits.
    pub localservices: String,
    /// Whether we relay transactions.
    pub localrelay: bool,
    /// Median clock offset of peers, seconds.
    pub timeoffset: i64,
    /// Whether networking is on.
    pub networkactive: bool,
    /// Connected peers.
    pub connections: usize,
    /// Inbound peers.
    pub connections_in: usize,
    /// Outbound peers.
    pub connections_out: usize,
    /// Per-network reachability.
    pub networks: Vec<NetworkEntry>,
    /// Minimum relay fee (BTC/kvB).
    pub relayfee: f64,
    /// Incremental fee (BTC/kvB).
    pub incrementalfee: f64,
    /// Addresses we advertise.
    pub localaddresses: Vec<LocalAddress>,
    /// Warnings for the operator.
    pub warnings: String,
}

/// One entry of `getnodeaddresses`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeAddress {
    /// Unix time the address was last seen.
    pub time: u64,
    /// Services it advertised.
    pub services: u64,
    /// The host.
    pub address: String,
    /// The port.
    pub port: u16,
    /// `ipv4`, `ipv6`, `onion`, `i2p` or `cjdns`.
    pub network: String,
}

/// `getnettotals`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetTotals {
    /// Bytes received from all peers since start.
    pub totalbytesrecv: u64,
    /// Bytes sent to all peers since start.
    pub totalbytessent: u64,
    /// Unix time in milliseconds.
    pub timemillis: u64,
}

/// One entry of `listbanned`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BannedInfo {
    /// The banned network, CIDR.
    pub address: String,
    /// When the ban was made, Unix seconds.
    pub ban_created: u64,
    /// When it ends, Unix seconds.
    pub banned_until: u64,
    /// Its total length in seconds.
    pub ban_duration: u64,
    /// Seconds left.
    pub time_remaining: u64,
}

/// `addnode`'s command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddNodeCommand {
    /// Add a persistent peer and connect to it.
    Add,
    /// Remove a persistent peer: disconnect it and stop reconnecting.
    Remove,
    /// Connect once, without retrying.
    OneTry,
}

/// Whom `disconnectnode` disconnects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectTarget {
    /// By address (`host:port`).
    Address(String),
    /// By node id.
    Id(u64),
}

/// One entry of `getdisconnects`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisconnectInfo {
    /// The peer id (as in `getpeerinfo`).
    pub id: u64,
    /// Its address.
    pub addr: String,
    /// Whether it connected to us.
    pub inbound: bool,
    /// The reason's short name (`banned`, `idle_timeout`, ...).
    pub kind: String,
    /// The whole reason.
    pub reason: String,
    /// When it went, Unix seconds.
    pub time: u64,
}

/// The node as the RPC layer sees it. Implemented by the server; every method is called on an
/// `rpc-N` worker thread and may block briefly while the `server` thread answers.
pub trait NodeControl: Send + Sync + 'static {
    /// `getpeerinfo`.
    fn peer_info(&self) -> Vec<PeerInfo>;
    /// `getconnectioncount`.
    fn connection_count(&self) -> usize;
    /// `getnetworkinfo`.
    fn network_info(&self) -> NetworkInfo;
    /// `getnodeaddresses`: up to `count` addresses (0: all), filtered by network name.
    fn node_addresses(&self, count: usize, network: Option<&str>) -> Vec<NodeAddress>;
    /// `addnode`.
    fn add_node(&self, addr: &str, command: AddNodeCommand) -> Result<(), RpcError>;
    /// `disconnectnode`.
    fn disconnect_node(&self, target: DisconnectTarget) -> Result<(), RpcError>;
    /// `setban add`: ban `net` until `until` (Unix seconds), or for `--banduration` if `None`.
    fn ban(&self, net: IpNet, until: Option<u64>) -> Result<(), RpcError>;
    /// `setban remove`.
    fn unban(&self, net: IpNet) -> Result<(), RpcError>;
    /// `listbanned`.
    fn list_banned(&self) -> Vec<BannedInfo>;
    /// `getdisconnects` (btcnode's own): the last peers lost and why, oldest first.
    fn disconnects(&self) -> Vec<DisconnectInfo> {
        Vec::new()
    }
    /// `clearbanned`.
    fn clear_banned(&self);
    /// `getnettotals`.
    fn net_totals(&self) -> NetTotals;
    /// `uptime`, seconds.
    fn uptime(&self) -> u64;
    /// `ping`: ask every peer for a pong.
    fn ping(&self);
    /// `stop`: begin an orderly shutdown.
    fn stop(&self);
    /// Methods served by other parts of the node (the chain's `getblockcount` etc.); `None`
    /// if `method` is unknown.
    fn other(&self, method: &str, params: &[Value]) -> Option<Result<Value, RpcError>> {
        let _ = (method, params);
        None
    }
}
