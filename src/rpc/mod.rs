//! The JSON-RPC control port and the `btcnode ctl` client. The server speaks JSON-RPC 1.0 over
//! HTTP with basic auth (`--rpcuser`/`--rpcpass`, or else the cookie file
//! `<datadir>/<network>/.cookie` holding `__cookie__:<random hex>` as bitcoind), on threads
//! `rpc` (accept) and `rpc-N` (workers), and calls the node through [`NodeControl`]. Method
//! names and result shapes are bitcoind's. btcd counterparts: `rpcserver.go` and `cmd/btcctl`.

pub mod ctl;
pub mod dispatch;
pub mod error;
pub mod http;
pub mod types;

use std::path::Path;

pub use error::{Error, RpcError};
pub use http::{Auth, RpcServer, basic_auth_header, call};
pub use types::{
    AddNodeCommand, BannedInfo, DisconnectTarget, LocalAddress, NetTotals, NetworkEntry,
    NetworkInfo, NodeAddress, NodeControl, PeerInfo,
};

use crate::server::atomic_file;

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
    atomic_file::write_atomic(path, line.as_bytes(), Some(0o600)).map_err(|source| {
        Error::Cookie {
            path: path.to_path_buf(),
            source,
        }
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
