//! `server` section: what one JSON-RPC call (`btcnode ctl`'s path: connect, POST, basic auth,
//! dispatch, reply, close) costs over a bare loopback connect that the server closes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::baseline::ClosingListener;
use btcnode::config::IpNet;
use btcnode::rpc::{
    self, AddNodeCommand, Auth, BannedInfo, DisconnectTarget, NetTotals, NetworkInfo, NodeAddress,
    NodeControl, PeerInfo, RpcError, RpcServer,
};

const CALLS: u32 = 1000;

/// A node with nothing in it: the bench measures the RPC path, not the node.
struct EmptyNode;

impl NodeControl for EmptyNode {
    fn peer_info(&self) -> Vec<PeerInfo> {
        (0..8)
            .map(|id| PeerInfo {
                id,
                addr: format!("127.0.0.1:{}", 20000 + id),
                ..Default::default()
            })
            .collect()
    }
    fn connection_count(&self) -> usize {
        8
    }
    fn network_info(&self) -> NetworkInfo {
        NetworkInfo {
            version: 100,
            subversion: "/btcnode:0.1.0/".into(),
            protocolversion: 70016,
            localservices: "0".repeat(16),
            localrelay: false,
            timeoffset: 0,
            networkactive: true,
            connections: 8,
            connections_in: 4,
            connections_out: 4,
            networks: vec![],
            relayfee: 0.00001,
            incrementalfee: 0.00001,
            localaddresses: vec![],
            warnings: String::new(),
        }
    }
    fn node_addresses(&self, _: usize, _: Option<&str>) -> Vec<NodeAddress> {
        vec![]
    }
    fn add_node(&self, _: &str, _: AddNodeCommand) -> Result<(), RpcError> {
        Ok(())
    }
    fn disconnect_node(&self, _: DisconnectTarget) -> Result<(), RpcError> {
        Ok(())
    }
    fn ban(&self, _: IpNet, _: Option<u64>) -> Result<(), RpcError> {
        Ok(())
    }
    fn unban(&self, _: IpNet) -> Result<(), RpcError> {
        Ok(())
    }
    fn list_banned(&self) -> Vec<BannedInfo> {
        vec![]
    }
    fn clear_banned(&self) {}
    fn net_totals(&self) -> NetTotals {
        NetTotals {
            totalbytesrecv: 0,
            totalbytessent: 0,
            timemillis: 0,
        }
    }
    fn uptime(&self) -> u64 {
        1
    }
    fn ping(&self) {}
    fn stop(&self) {}
}

/// Runs the section.
pub fn run() {
    // Baseline: a loopback connection the server closes at once (as the RPC server does after
    // its reply, which keeps TIME_WAIT on the server's side).
    let direct = ClosingListener::start().time_direct_connects(CALLS);
    println!("loopback connect, server closes:   {direct:>10.2?} per connection (baseline)");

    let mut server = RpcServer::start(
        &["127.0.0.1:0".parse().expect("addr")],
        Auth::new("u", "p"),
        Arc::new(EmptyNode),
    )
    .expect("rpc server");
    let addr = server.local_addrs()[0].to_string();
    let auth = rpc::basic_auth_header("u", "p");
    for method in ["uptime", "getpeerinfo"] {
        for _ in 0..CALLS / 10 {
            rpc::call(&addr, &auth, method, &[], Duration::from_secs(5)).expect("warm-up");
        }
        let start = Instant::now();
        for _ in 0..CALLS {
            rpc::call(&addr, &auth, method, &[], Duration::from_secs(5)).expect("call");
        }
        let per = start.elapsed() / CALLS;
        println!(
            "rpc {method:<12} round trip:        {per:>10.2?} per call ({:.1}x baseline)",
            per.as_secs_f64() / direct.as_secs_f64()
        );
    }
    server.stop();
}
