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
    /// A frame's magic is not the network's: the peer is on another network.
    BadMagic {
        /// The magic this network uses.
        expected: u32,
        /// The magic the frame carried.
        got: u32,
    },
    /// The frame's command field is not printable ASCII padded with NULs.
    InvalidCommand {
        /// The 12 raw command bytes.
        bytes: [u8; 12],
    },
    /// A command to encode is longer than 12 bytes or not printable ASCII.
    CommandNotEncodable {
        /// The command.
        command: String,
    },
    /// A frame's payload length exceeds the command's maximum at the protocol version.
    PayloadTooLarge {
        /// The message's command.
        command: String,
        /// The length the header claims (or the encoded length).
        length: u64,
        /// The largest payload the command may have.
        max: usize,
    },
    /// The payload's double SHA-256 does not start with the header's checksum.
    BadChecksum {
        /// The message's command.
        command: String,
        /// The checksum in the header.
        expected: [u8; 4],
        /// The checksum of the payload received.
        computed: [u8; 4],
    },
    /// The message is not valid at the negotiated protocol version.
    InvalidForVersion {
        /// The message's command.
        command: &'static str,
        /// The protocol version in use.
        pver: u32,
        /// The lowest (or, for `ping`/`pong` gates, the boundary) version the message needs.
        min: u32,
    },
    /// A BIP155 address has the wrong length for its network id (or over 512 bytes).
    InvalidAddressSize {
        /// The BIP155 network id.
        network_id: u8,
        /// The length the peer sent.
        len: u64,
    },
    /// A header in a `headers` message claims transactions (it must carry a zero count).
    HeaderHasTransactions {
        /// Index of the header in the message.
        index: usize,
        /// The transaction count it claimed.
        count: u64,
    },
    /// A blocking read failed (only from [`read_message`](super::read_message)).
    Io {
        /// The I/O error's kind.
        kind: std::io::ErrorKind,
        /// The I/O error's text.
        detail: String,
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
            Error::BadMagic { expected, got } => write!(
                f,
                "message from another network: magic {got:#010x}, expected {expected:#010x}"
            ),
            Error::InvalidCommand { bytes } => {
                write!(f, "invalid command bytes {}", super::hex::encode(bytes))
            }
            Error::CommandNotEncodable { command } => write!(
                f,
                "cannot encode command {command:?}: want at most 12 printable ASCII bytes"
            ),
            Error::PayloadTooLarge {
                command,
                length,
                max,
            } => write!(
                f,
                "{command} payload of {length} bytes exceeds its maximum of {max} bytes"
            ),
            Error::BadChecksum {
                command,
                expected,
                computed,
            } => write!(
                f,
                "{command} payload checksum failed: header says {}, payload hashes to {}",
                super::hex::encode(expected),
                super::hex::encode(computed)
            ),
            Error::InvalidForVersion { command, pver, min } => write!(
                f,
                "{command} message invalid for protocol version {pver} (needs {min})"
            ),
            Error::InvalidAddressSize { network_id, len } => write!(
                f,
                "invalid address size {len} for BIP155 network id {network_id}"
            ),
            Error::HeaderHasTransactions { index, count } => write!(
                f,
                "block header {index} in headers message claims {count} transactions (must be 0)"
            ),
            Error::Io { kind, detail } => write!(f, "read failed ({kind:?}): {detail}"),
            Error::InvalidValue { field, reason } => write!(f, "invalid {field}: {reason}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Io {
            kind: e.kind(),
            detail: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_lower_case_line_with_the_numbers() {
        let all = [
            Error::UnexpectedEof {
                field: "nonce",
                needed: 8,
                remaining: 3,
            },
            Error::NonCanonicalVarInt {
                value: 1,
                encoded_len: 3,
            },
            Error::CountTooLarge {
                what: "addresses",
                count: 1001,
                max: 1000,
            },
            Error::TrailingBytes {
                command: "inv".into(),
                extra: 1,
            },
            Error::BadMagic {
                expected: 0xd9b4_bef9,
                got: 0x0709_110b,
            },
            Error::InvalidCommand { bytes: [0x81; 12] },
            Error::CommandNotEncodable {
                command: "x".repeat(13),
            },
            Error::PayloadTooLarge {
                command: "getaddr".into(),
                length: 1,
                max: 0,
            },
            Error::BadChecksum {
                command: "version".into(),
                expected: [0xef, 0xbe, 0, 0],
                computed: [1, 2, 3, 4],
            },
            Error::InvalidForVersion {
                command: "reject",
                pver: 70001,
                min: 70002,
            },
            Error::InvalidAddressSize {
                network_id: 1,
                len: 5,
            },
            Error::HeaderHasTransactions { index: 0, count: 1 },
            Error::Io {
                kind: std::io::ErrorKind::UnexpectedEof,
                detail: "failed to fill whole buffer".into(),
            },
            Error::InvalidValue {
                field: "sendcmpct announce",
                reason: "2 is neither 0 nor 1".into(),
            },
        ];
        let texts: Vec<String> = all.iter().map(ToString::to_string).collect();
        for t in &texts {
            assert!(!t.contains('\n') && !t.ends_with('.'), "{t}");
            assert!(
                t.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()),
                "{t}"
            );
        }
        assert!(texts[2].contains("1001") && texts[2].contains("1000"));
        assert!(texts[7].contains("getaddr"));
        let unique: std::collections::BTreeSet<_> = texts.iter().collect();
        assert_eq!(unique.len(), texts.len());
    }
}
