//! The JSON-RPC control port and the `btcnode ctl` client. The server speaks JSON-RPC 1.0 over
//! HTTP with basic auth (`--rpcuser`/`--rpcpass`, or else the cookie file
//! `<datadir>/<network>/.cookie` holding `__cookie__:<random hex>` as bitcoind), on threads
//! `rpc` (accept) and `rpc-N` (workers), and calls the node through [`NodeControl`]. Method
//! names and result shapes are bitcoind's. btcd counterparts: `rpcserver.go` and `cmd/btcctl`.

pub mod chain_json;
pub mod ctl;
pub mod dispatch;
pub mod error;
pub mod http;
pub mod types;

use std::path::Path;

pub use error::{Error, RpcError};
pub use http::{Auth, RpcServer, basic_auth_header, call};
pub use types::{
    AddNodeCommand, BannedInfo, DisconnectInfo, DisconnectTarget, LocalAddress, NetTotals,
    NetworkEntry, NetworkInfo, NodeAddress, NodeControl, PeerInfo,
};

use crate::atomic_file;

/// The user name in a cookie file (bitcoind's `COOKIEAUTH_USER`).
pub const COOKIE_USER: &str = "__cookie__";

/// Random bytes in a cookie password (hex-encoded, 64 characters), as bitcoind.
pub const COOKIE_SECRET_LEN: usize = 32;

/// Writes a fresh cookie file at `path` (mode 0600, atomically) and returns the credentials
/// it holds.
pub fn write_cookie(path: &Path) -> Result<(String, String), Error> {
    use rand::RngExt;
    let mut rng = rand::rng();
    let secret: String = (0..COOKIE_SECRET_LEN)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect();
    let line = format!("{COOKIE_USER}:{secret}");
    atomic_file::write_atomic(path, line.as_bytes(), Some(0o600)).map_err(|e| Error::Cookie {
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    Ok((COOKIE_USER.to_string(), secret))
}

/// Reads the credentials from a cookie file (`user:password`).
pub fn read_cookie(path: &Path) -> Result<(String, String), Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Cookie {
        path: path.to_path_buf(),
        source,
    })?;
    let (user, pass) = text.trim().split_once(':').ok_or_else(|| Error::Cookie {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "no ':' in cookie"),
    })?;
    Ok((user.to_string(), pass.to_string()))
}

/// Removes the cookie file when the RPC server stops (a missing file is fine).
pub fn remove_cookie(path: &Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        log::warn!("cannot remove rpc cookie {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IpNet;
    use serde_json::{Value, json};
    use std::sync::Arc;
    use std::time::Duration;

    /// A node that answers from fixed values and records what it was told.
    #[derive(Default)]
    struct FakeNode {
        calls: parking_lot::Mutex<Vec<String>>,
    }

    impl NodeControl for FakeNode {
        fn peer_info(&self) -> Vec<PeerInfo> {
            vec![PeerInfo {
                id: 7,
                addr: "127.0.0.1:1".into(),
                ..Default::default()
            }]
        }
        fn connection_count(&self) -> usize {
            1
        }
        fn network_info(&self) -> NetworkInfo {
            NetworkInfo {
                version: 100,
                subversion: "/x/".into(),
                protocolversion: 70016,
                localservices: "0".repeat(16),
                localrelay: false,
                timeoffset: 0,
                networkactive: true,
                connections: 1,
                connections_in: 1,
                connections_out: 0,
                networks: vec![],
                relayfee: 0.0,
                incrementalfee: 0.0,
                localaddresses: vec![],
                warnings: String::new(),
            }
        }
        fn node_addresses(&self, count: usize, network: Option<&str>) -> Vec<NodeAddress> {
            self.calls
                .lock()
                .push(format!("nodeaddresses {count} {network:?}"));
            vec![]
        }
        fn add_node(&self, addr: &str, command: AddNodeCommand) -> Result<(), RpcError> {
            self.calls
                .lock()
                .push(format!("addnode {addr} {command:?}"));
            Ok(())
        }
        fn disconnect_node(&self, target: DisconnectTarget) -> Result<(), RpcError> {
            self.calls.lock().push(format!("disconnect {target:?}"));
            Ok(())
        }
        fn ban(&self, net: IpNet, until: Option<u64>) -> Result<(), RpcError> {
            self.calls
                .lock()
                .push(format!("ban {net} {}", until.is_some()));
            Ok(())
        }
        fn unban(&self, net: IpNet) -> Result<(), RpcError> {
            self.calls.lock().push(format!("unban {net}"));
            Ok(())
        }
        fn list_banned(&self) -> Vec<BannedInfo> {
            vec![]
        }
        fn clear_banned(&self) {}
        fn net_totals(&self) -> NetTotals {
            NetTotals {
                totalbytesrecv: 1,
                totalbytessent: 2,
                timemillis: 3,
            }
        }
        fn uptime(&self) -> u64 {
            42
        }
        fn ping(&self) {}
        fn stop(&self) {
            self.calls.lock().push("stop".into());
        }
    }

    fn rpc_threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
                    .filter(|n| n.trim() == "rpc" || n.trim().starts_with("rpc-"))
                    .count()
            })
            .unwrap_or(0)
    }

    #[test]
    fn server_answers_checks_params_and_joins_threads() {
        let before = rpc_threads();
        let node = Arc::new(FakeNode::default());
        let mut server = RpcServer::start(
            &["127.0.0.1:0".parse().unwrap()],
            Auth::new("u", "p"),
            node.clone(),
        )
        .unwrap();
        // A new thread sets its OS name as it starts; give them a moment.
        let want = before + 1 + http::RPC_WORKERS;
        for _ in 0..200 {
            if rpc_threads() == want {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(rpc_threads(), want);
        let addr = server.local_addrs()[0].to_string();
        let auth = basic_auth_header("u", "p");
        let c = |m: &str, p: &[Value]| call(&addr, &auth, m, p, Duration::from_secs(5));

        assert_eq!(c("uptime", &[]).unwrap(), json!(42));
        assert_eq!(c("getpeerinfo", &[]).unwrap()[0]["id"], json!(7));
        assert_eq!(c("getnettotals", &[]).unwrap()["totalbytessent"], json!(2));
        c("getnodeaddresses", &[json!(0), json!("ipv4")]).unwrap();
        let bad_net = c("getnodeaddresses", &[json!(1), json!("mars")]);
        assert!(
            matches!(bad_net, Err(Error::Rpc(ref e)) if e.code == error::RPC_INVALID_PARAMETER)
        );
        c("addnode", &[json!("127.0.0.1:5"), json!("onetry")]).unwrap();
        let bad = c("addnode", &[json!("127.0.0.1:5"), json!("sometimes")]);
        assert!(matches!(bad, Err(Error::Rpc(ref e)) if e.code == error::RPC_INVALID_PARAMETER));
        let both = c("disconnectnode", &[json!("127.0.0.1:5"), json!(3)]);
        assert!(matches!(both, Err(Error::Rpc(_))));
        c("disconnectnode", &[json!(""), json!(3)]).unwrap();
        c("setban", &[json!("10.0.0.0/8"), json!("add"), json!(60)]).unwrap();
        c("setban", &[json!("10.0.0.0/8"), json!("remove")]).unwrap();
        let bad_ip = c("setban", &[json!("ten"), json!("add")]);
        assert!(
            matches!(bad_ip, Err(Error::Rpc(ref e)) if e.code == error::RPC_CLIENT_INVALID_IP_OR_SUBNET)
        );
        let missing = c("addnode", &[]);
        assert!(
            matches!(missing, Err(Error::Rpc(ref e)) if e.code == error::RPC_INVALID_PARAMETER)
        );
        let unknown = c("getblockcount", &[]);
        assert!(matches!(unknown, Err(Error::Rpc(ref e)) if e.code == error::RPC_METHOD_NOT_FOUND));
        assert_eq!(c("stop", &[]).unwrap(), json!("btcnode stopping"));
        let wrong = call(
            &addr,
            &basic_auth_header("u", "x"),
            "uptime",
            &[],
            Duration::from_secs(5),
        );
        assert!(matches!(wrong, Err(Error::Unauthorized)));
        assert_eq!(
            *node.calls.lock(),
            vec![
                "nodeaddresses 0 Some(\"ipv4\")",
                "addnode 127.0.0.1:5 OneTry",
                "disconnect Id(3)",
                "ban 10.0.0.0/8 true",
                "unban 10.0.0.0/8",
                "stop",
            ]
        );
        server.stop();
        // A joined thread can linger in /proc/self/task for a moment: poll briefly.
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while rpc_threads() != before && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(rpc_threads(), before);
    }

    #[test]
    fn batch_and_garbage_bodies() {
        let node = FakeNode::default();
        let (status, body) = dispatch::handle_body(
            &node,
            br#"[{"id":1,"method":"uptime"},{"id":2,"method":"nope"}]"#,
        );
        assert_eq!(status, 200);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v[0]["result"], json!(42));
        assert_eq!(v[1]["error"]["code"], json!(error::RPC_METHOD_NOT_FOUND));
        let (status, body) = dispatch::handle_body(&node, b"{nope");
        assert_eq!(status, 500);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], json!(error::RPC_PARSE_ERROR));
        let (status, _) =
            dispatch::handle_body(&node, br#"{"id":1,"method":"uptime","params":{}}"#);
        assert_eq!(status, 500);
    }

    #[test]
    fn cookie_round_trip() {
        let dir = std::env::temp_dir().join(format!("btcnode-cookie-{}", std::process::id()));
        let path = dir.join(".cookie");
        let (u, p) = write_cookie(&path).unwrap();
        assert_eq!(u, COOKIE_USER);
        assert_eq!(p.len(), 64);
        assert_eq!(read_cookie(&path).unwrap(), (u, p));
        remove_cookie(&path);
        assert!(!path.exists());
        remove_cookie(&path);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
