//! Errors of the connection manager.

use std::fmt;
use std::io;

/// What can go wrong starting or talking to the connection manager.
#[derive(Debug)]
pub enum Error {
    /// A thread could not be started.
    Spawn {
        /// The thread's name.
        thread: String,
        /// The OS error.
        source: io::Error,
    },
    /// A listener's local address could not be read.
    Listener(io::Error),
    /// The manager has stopped; the request was not handled.
    Stopped,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Spawn { thread, source } => {
                write!(f, "connmgr: starting thread {thread}: {source}")
            }
            Error::Listener(e) => write!(f, "connmgr: reading listener address: {e}"),
            Error::Stopped => write!(f, "connmgr: connection manager has stopped"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Spawn { source, .. } | Error::Listener(source) => Some(source),
            Error::Stopped => None,
        }
    }
}
