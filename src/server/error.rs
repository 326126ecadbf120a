//! Errors that stop the node from starting or running.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why the node could not start or had to stop.
#[derive(Debug)]
pub enum Error {
    /// Creating the data directory failed.
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Binding a peer listener failed.
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// Starting a thread failed.
    Spawn {
        /// The thread's name.
        name: String,
        /// The OS error.
        source: io::Error,
    },
    /// Installing the signal handlers failed.
    Signals(io::Error),
    /// The RPC server could not start.
    Rpc(crate::rpc::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::DataDir { path, source } => {
                write!(
                    f,
                    "cannot create data directory {}: {source}",
                    path.display()
                )
            }
            Error::Listen { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Error::Spawn { name, source } => write!(f, "cannot start thread {name}: {source}"),
            Error::Signals(e) => write!(f, "cannot install signal handlers: {e}"),
            Error::Rpc(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::DataDir { source, .. }
            | Error::Listen { source, .. }
            | Error::Spawn { source, .. } => Some(source),
            Error::Signals(e) => Some(e),
            Error::Rpc(e) => Some(e),
        }
    }
}
