//! Errors of the address manager.

use crate::wire::netaddress_str::AddrParseError;
use std::fmt;
use std::io;
use std::path::PathBuf;

/// What went wrong loading or saving `peers.json`, or adding a local address.
#[derive(Debug)]
pub enum Error {
    /// A file operation failed.
    Io {
        /// What was being done ("write", "rename", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The file is not the JSON btcd's format expects.
    Json(serde_json::Error),
    /// The file's `Version` is not one this code reads (1 or 2).
    Version(i64),
    /// An address string in the file does not parse.
    Address {
        /// Which field or table held it.
        field: &'static str,
        /// The parse failure.
        source: AddrParseError,
    },
    /// The file parses but fails a sanity check (an address in both tables, a bucket naming
    /// an unknown address, wrong bucket counts, ...).
    Inconsistent(String),
    /// A local address that is not routable cannot be advertised.
    NotRoutable(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { op, path, source } => {
                write!(f, "cannot {op} {}: {source}", path.display())
            }
            Error::Json(e) => write!(f, "peers file is not valid json: {e}"),
            Error::Version(v) => {
                write!(
                    f,
                    "peers file has unknown version {v} (this code reads 1 and 2)"
                )
            }
            Error::Address { field, source } => write!(f, "peers file {field}: {source}"),
            Error::Inconsistent(why) => write!(f, "peers file is inconsistent: {why}"),
            Error::NotRoutable(a) => write!(f, "local address {a} is not routable"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Json(e) => Some(e),
            Error::Address { source, .. } => Some(source),
            _ => None,
        }
    }
}
