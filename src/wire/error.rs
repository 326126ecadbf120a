//! Errors from encoding and decoding wire messages.

use std::fmt;

/// Why bytes are not a valid message. Each variant carries the numbers involved so the log
/// line tells the whole story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The input ended before a field was complete.
    UnexpectedEof {
        /// What was being read.
        field: &'static str,
        /// Bytes the field needed.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A variable-length integer used more bytes than its value needs.
    NonCanonicalVarInt {
        /// The decoded value.
        value: u64,
        /// Bytes its encoding used.
        encoded_len: usize,
    },
    /// A count or length read from the wire exceeds its limit.
    CountTooLarge {
        /// What was counted (for example "inventory vectors").
        what: &'static str,
        /// The count the peer sent.
        count: u64,
        /// The largest count allowed.
        max: u64,
    },
    /// Bytes were left over after a complete payload.
    TrailingBytes {
        /// The message's command.
        command: String,
        /// How many bytes were left over.
        extra: usize,
    },
    /// A field holds a value the protocol does not allow.
    InvalidValue {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnexpectedEof {
                field,
                needed,
                remaining,
            } => write!(
                f,
                "unexpected end of data reading {field}: needed {needed} bytes, {remaining} left"
            ),
            Error::NonCanonicalVarInt { value, encoded_len } => write!(
                f,
                "non-canonical varint: value {value} encoded in {encoded_len} bytes"
            ),
            Error::CountTooLarge { what, count, max } => {
                write!(f, "too many {what}: {count} is over the limit of {max}")
            }
            Error::TrailingBytes { command, extra } => {
                write!(f, "{extra} trailing bytes after {command} payload")
            }
            Error::InvalidValue { field, reason } => write!(f, "invalid {field}: {reason}"),
        }
    }
}

impl std::error::Error for Error {}
