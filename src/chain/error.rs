//! Why a header was not accepted, or why the header store failed. btcd counterpart: the
//! `ErrorCode`s of `blockchain/error.go` that apply to headers.

use crate::wire::Hash;
use std::fmt;
use std::io;
use std::path::PathBuf;

/// A header the chain did not accept, or a failure of `headers.dat`.
#[derive(Debug)]
pub enum Error {
    /// The header's hash is above the target its bits encode (btcd `ErrHighHash`).
    BadProofOfWork {
        /// The header's hash.
        hash: Hash,
        /// Its bits.
        bits: u32,
    },
    /// The bits encode a negative, zero or overflowing target, or one easier than the
    /// network's limit (btcd `ErrUnexpectedDifficulty`).
    TargetOutOfRange {
        /// The header's hash.
        hash: Hash,
        /// Its bits.
        bits: u32,
    },
    /// The bits are not the difficulty the rules require here (btcd `ErrUnexpectedDifficulty`,
    /// Core `bad-diffbits`).
    BadDifficulty {
        /// The header's hash.
        hash: Hash,
        /// Its height.
        height: u32,
        /// The bits the rules require.
        expected: u32,
        /// The bits the header has.
        got: u32,
    },
    /// The timestamp is not after the median of the previous 11 blocks (btcd
    /// `ErrTimeTooOld`).
    TimeTooOld {
        /// The header's hash.
        hash: Hash,
        /// Its timestamp.
        timestamp: u32,
        /// The median time past it must exceed.
        median_time_past: u32,
    },
    /// The timestamp is more than two hours ahead of the node's adjusted time (btcd
    /// `ErrTimeTooNew`). Not a sign of a bad peer: the header may become valid later.
    TimeTooNew {
        /// The header's hash.
        hash: Hash,
        /// Its timestamp.
        timestamp: u32,
        /// The latest timestamp allowed now.
        max: u64,
    },
    /// BIP94: the first block of a period is more than 600 s older than its parent.
    TimewarpAttack {
        /// The header's hash.
        hash: Hash,
        /// Its timestamp.
        timestamp: u32,
        /// The parent's timestamp.
        prev_timestamp: u32,
    },
    /// The version is below what BIP34/66/65 require at this height (btcd
    /// `ErrBlockVersionTooOld`).
    BadVersion {
        /// The header's hash.
        hash: Hash,
        /// Its height.
        height: u32,
        /// Its version.
        version: i32,
        /// The minimum version at that height.
        min: i32,
    },
    /// A header at a checkpoint height with a different hash (btcd `ErrBadCheckpoint`).
    CheckpointMismatch {
        /// The checkpoint height.
        height: u32,
        /// The checkpointed hash.
        expected: Hash,
        /// The header's hash.
        got: Hash,
    },
    /// A fork below the last checkpoint the main chain has passed (btcd `ErrForkTooOld`).
    ForkTooOld {
        /// The header's hash.
        hash: Hash,
        /// Its height.
        height: u32,
        /// The checkpoint it would fork below.
        checkpoint_height: u32,
    },
    /// The header's parent is unknown: it does not connect to the chain (btcd's orphan).
    DoesNotConnect {
        /// The header's hash.
        hash: Hash,
        /// The unknown parent.
        prev_block: Hash,
    },
    /// The headers of one message do not each build on the one before (Core's
    /// "non-continuous headers sequence").
    NonContinuous {
        /// Position in the batch of the header that breaks the sequence.
        index: usize,
        /// Its hash.
        hash: Hash,
    },
    /// The header descends from a header known to be invalid (btcd `ErrInvalidAncestorBlock`).
    InvalidAncestor {
        /// The header's hash.
        hash: Hash,
        /// The invalid ancestor.
        ancestor: Hash,
    },
    /// The header is already in the index (btcd `ErrDuplicateBlock`).
    Duplicate {
        /// Its hash.
        hash: Hash,
    },
    /// Reading or writing `headers.dat` failed.
    Io {
        /// What was being done.
        context: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

impl Error {
    /// Whether the header proves its sender broken or malicious: an invalid header is; an
    /// unconnected, duplicate or future-dated header or a local I/O failure is not.
    pub fn is_invalid_header(&self) -> bool {
        !matches!(
            self,
            Error::DoesNotConnect { .. }
                | Error::Duplicate { .. }
                | Error::TimeTooNew { .. }
                | Error::Io { .. }
        )
    }

    /// The hash of the header the error is about, if it is about one.
    pub fn hash(&self) -> Option<Hash> {
        match self {
            Error::BadProofOfWork { hash, .. }
            | Error::TargetOutOfRange { hash, .. }
            | Error::BadDifficulty { hash, .. }
            | Error::TimeTooOld { hash, .. }
            | Error::TimeTooNew { hash, .. }
            | Error::TimewarpAttack { hash, .. }
            | Error::BadVersion { hash, .. }
            | Error::ForkTooOld { hash, .. }
            | Error::DoesNotConnect { hash, .. }
            | Error::NonContinuous { hash, .. }
            | Error::InvalidAncestor { hash, .. }
            | Error::Duplicate { hash } => Some(*hash),
            Error::CheckpointMismatch { got, .. } => Some(*got),
            Error::Io { .. } => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadProofOfWork { hash, bits } => {
                write!(
                    f,
                    "header {hash}: hash is above the target of bits {bits:#010x}"
                )
            }
            Error::TargetOutOfRange { hash, bits } => write!(
                f,
                "header {hash}: bits {bits:#010x} encode a target that is negative, zero, \
                 overflowing or above the proof-of-work limit"
            ),
            Error::BadDifficulty {
                hash,
                height,
                expected,
                got,
            } => write!(
                f,
                "header {hash} at height {height}: bits {got:#010x}, expected {expected:#010x}"
            ),
            Error::TimeTooOld {
                hash,
                timestamp,
                median_time_past,
            } => write!(
                f,
                "header {hash}: timestamp {timestamp} is not after the median time past \
                 {median_time_past}"
            ),
            Error::TimeTooNew {
                hash,
                timestamp,
                max,
            } => write!(
                f,
                "header {hash}: timestamp {timestamp} is more than two hours in the future \
                 (latest allowed {max})"
            ),
            Error::TimewarpAttack {
                hash,
                timestamp,
                prev_timestamp,
            } => write!(
                f,
                "header {hash}: timestamp {timestamp} of a period's first block is more than \
                 600 s before its parent's {prev_timestamp} (bip94 timewarp)"
            ),
            Error::BadVersion {
                hash,
                height,
                version,
                min,
            } => write!(
                f,
                "header {hash} at height {height}: version {version} is below the minimum {min}"
            ),
            Error::CheckpointMismatch {
                height,
                expected,
                got,
            } => write!(
                f,
                "header {got} at checkpoint height {height} does not match checkpoint {expected}"
            ),
            Error::ForkTooOld {
                hash,
                height,
                checkpoint_height,
            } => write!(
                f,
                "header {hash} at height {height} forks below the checkpoint at height \
                 {checkpoint_height}"
            ),
            Error::DoesNotConnect { hash, prev_block } => write!(
                f,
                "header {hash} does not connect: previous block {prev_block} is unknown"
            ),
            Error::NonContinuous { index, hash } => write!(
                f,
                "header {hash} at position {index} does not build on the header before it"
            ),
            Error::InvalidAncestor { hash, ancestor } => {
                write!(f, "header {hash} descends from invalid header {ancestor}")
            }
            Error::Duplicate { hash } => write!(f, "header {hash} is already known"),
            Error::Io {
                context,
                path,
                source,
            } => write!(f, "{context} {}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
