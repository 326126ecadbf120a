//! Errors of the RPC layer: [`Error`] for the server and client plumbing (sockets, HTTP),
//! [`RpcError`] for a JSON-RPC error object returned to the caller.

use std::fmt;
use std::io;

/// bitcoind's `RPC_MISC_ERROR`: an exception thrown in command handling.
pub const RPC_MISC_ERROR: i64 = -1;
/// bitcoind's `RPC_TYPE_ERROR`: unexpected type was passed as parameter.
pub const RPC_TYPE_ERROR: i64 = -3;
/// bitcoind's `RPC_INVALID_PARAMETER`: invalid, missing or duplicate parameter.
pub const RPC_INVALID_PARAMETER: i64 = -8;
/// bitcoind's `RPC_CLIENT_NODE_ALREADY_ADDED`: node is already added (also "already banned").
pub const RPC_CLIENT_NODE_ALREADY_ADDED: i64 = -23;
/// bitcoind's `RPC_CLIENT_NODE_NOT_ADDED`: node has not been added before.
pub const RPC_CLIENT_NODE_NOT_ADDED: i64 = -24;
/// bitcoind's `RPC_CLIENT_NODE_NOT_CONNECTED`: node to disconnect not found in connected nodes.
pub const RPC_CLIENT_NODE_NOT_CONNECTED: i64 = -29;
/// bitcoind's `RPC_CLIENT_INVALID_IP_OR_SUBNET`: invalid IP/subnet.
pub const RPC_CLIENT_INVALID_IP_OR_SUBNET: i64 = -30;
/// JSON-RPC's invalid request.
pub const RPC_INVALID_REQUEST: i64 = -32600;
/// JSON-RPC's method not found.
pub const RPC_METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC's parse error.
pub const RPC_PARSE_ERROR: i64 = -32700;

/// A JSON-RPC error object: bitcoind's code and a message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RpcError {
    /// bitcoind's error code (`RPC_*`).
    pub code: i64,
    /// What went wrong, for the user.
    pub message: String,
}

impl RpcError {
    /// An error with `code` and `message`.
    pub fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
        }
    }

    /// `RPC_INVALID_PARAMETER` with `message`.
    pub fn invalid_param(message: impl Into<String>) -> RpcError {
        RpcError::new(RPC_INVALID_PARAMETER, message)
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error code {}: {}", self.code, self.message)
    }
}

impl std::error::Error for RpcError {}

/// Failures of the RPC server and the `ctl` client outside the JSON-RPC protocol.
#[derive(Debug)]
pub enum Error {
    /// Binding a listener failed.
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// Writing or reading the cookie file failed.
    Cookie {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Starting a thread failed.
    Spawn(io::Error),
    /// Connecting to, writing to or reading from the RPC server failed.
    Connect {
        /// host:port.
        addr: String,
        /// The OS error.
        source: io::Error,
    },
    /// The server answered with something that is not a valid HTTP/JSON-RPC response.
    BadResponse(String),
    /// The server refused our credentials (HTTP 401).
    Unauthorized,
    /// The server returned a JSON-RPC error.
    Rpc(RpcError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Bind { addr, source } => write!(f, "cannot listen for rpc on {addr}: {source}"),
            Error::Cookie { path, source } => {
                write!(f, "rpc cookie file {}: {source}", path.display())
            }
            Error::Spawn(e) => write!(f, "cannot start rpc thread: {e}"),
            Error::Connect { addr, source } => {
                write!(f, "cannot talk to the rpc server at {addr}: {source}")
            }
            Error::BadResponse(m) => write!(f, "bad response from the rpc server: {m}"),
            Error::Unauthorized => write!(
                f,
                "the rpc server refused the credentials (401); check --rpcuser/--rpcpass or the cookie file"
            ),
            Error::Rpc(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Bind { source, .. }
            | Error::Cookie { source, .. }
            | Error::Connect { source, .. } => Some(source),
            Error::Spawn(e) => Some(e),
            _ => None,
        }
    }
}
