//! The 24-byte message header: magic, command, payload length, checksum, and the checks
//! made on it before any payload byte is read. btcd counterpart: `messageHeader` and the
//! header checks in `ReadMessageWithEncodingN` (`wire/message.go`).

use super::error::Error;
use super::hash::sha256d;
use super::message::{COMMAND_SIZE, MAX_MESSAGE_PAYLOAD, max_payload_length};

/// Bytes in a message header (btcd's `MessageHeaderSize`).
pub const MESSAGE_HEADER_SIZE: usize = 24;

/// A validated message header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHeader {
    /// The network magic.
    pub magic: u32,
    /// The command, NUL padding removed.
    pub command: String,
    /// Payload length in bytes.
    pub length: u32,
    /// First four bytes of the payload's double SHA-256.
    pub checksum: [u8; 4],
}

/// The first four bytes of the double SHA-256 of `payload`.
pub fn checksum(payload: &[u8]) -> [u8; 4] {
    let h = sha256d(payload);
    [h.0[0], h.0[1], h.0[2], h.0[3]]
}

/// The command from its 12 NUL-padded bytes: printable ASCII, then only NULs (Bitcoin
/// Core's rule; btcd accepts any UTF-8, we are stricter so a command prints safely).
pub fn parse_command(bytes: &[u8; COMMAND_SIZE]) -> Result<String, Error> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(COMMAND_SIZE);
    let (cmd, pad) = bytes.split_at(end);
    if !cmd.iter().all(|b| (0x20..0x7f).contains(b)) || pad.iter().any(|&b| b != 0) {
        return Err(Error::InvalidCommand { bytes: *bytes });
    }
    // All bytes are ASCII, so this is valid UTF-8.
    Ok(cmd.iter().map(|&b| char::from(b)).collect())
}

/// The 12 NUL-padded bytes of a command to send (at most 12 printable ASCII bytes, the
/// same rule [`parse_command`] applies).
pub fn command_bytes(command: &str) -> Result<[u8; COMMAND_SIZE], Error> {
    let b = command.as_bytes();
    if b.len() > COMMAND_SIZE || !b.iter().all(|c| (0x20..0x7f).contains(c)) {
        return Err(Error::CommandNotEncodable {
            command: command.chars().take(40).collect(),
        });
    }
    let mut out = [0u8; COMMAND_SIZE];
    out[..b.len()].copy_from_slice(b);
    Ok(out)
}

impl MessageHeader {
    /// Parses and checks a header in btcd's order: total length against
    /// [`MAX_MESSAGE_PAYLOAD`], then the magic, then the command bytes, then the length
    /// against the command's maximum at `pver`. Nothing of the payload has been read yet.
    pub fn decode(
        bytes: &[u8; MESSAGE_HEADER_SIZE],
        magic: u32,
        pver: u32,
    ) -> Result<MessageHeader, Error> {
        let u32_at =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let got_magic = u32_at(0);
        let mut raw_cmd = [0u8; COMMAND_SIZE];
        raw_cmd.copy_from_slice(&bytes[4..16]);
        let length = u32_at(16);
        let checksum = [bytes[20], bytes[21], bytes[22], bytes[23]];
        // Checked before the command is: the command may be any bytes here.
        let lossy = || super::hex::printable(&raw_cmd);
        if length as usize > MAX_MESSAGE_PAYLOAD {
            return Err(Error::PayloadTooLarge {
                command: lossy(),
                length: u64::from(length),
                max: MAX_MESSAGE_PAYLOAD,
            });
        }
        if got_magic != magic {
            return Err(Error::BadMagic {
                expected: magic,
                got: got_magic,
            });
        }
        let command = parse_command(&raw_cmd)?;
        let max = max_payload_length(&command, pver);
        if length as usize > max {
            return Err(Error::PayloadTooLarge {
                command,
                length: u64::from(length),
                max,
            });
        }
        Ok(MessageHeader {
            magic,
            command,
            length,
            checksum,
        })
    }

    /// The header's 24 wire bytes. The command must be encodable (see [`command_bytes`]).
    pub fn encode(&self) -> Result<[u8; MESSAGE_HEADER_SIZE], Error> {
        let mut b = [0u8; MESSAGE_HEADER_SIZE];
        b[0..4].copy_from_slice(&self.magic.to_le_bytes());
        b[4..16].copy_from_slice(&command_bytes(&self.command)?);
        b[16..20].copy_from_slice(&self.length.to_le_bytes());
        b[20..24].copy_from_slice(&self.checksum);
        Ok(b)
    }

    /// Checks a received payload against the header's checksum.
    pub fn verify_checksum(&self, payload: &[u8]) -> Result<(), Error> {
        let computed = checksum(payload);
        if computed != self.checksum {
            return Err(Error::BadChecksum {
                command: self.command.clone(),
                expected: self.checksum,
                computed,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: u32 = 0xd9b4_bef9;

    fn header(cmd: &[u8], len: u32) -> [u8; MESSAGE_HEADER_SIZE] {
        let mut b = [0u8; MESSAGE_HEADER_SIZE];
        b[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        b[4..4 + cmd.len()].copy_from_slice(cmd);
        b[16..20].copy_from_slice(&len.to_le_bytes());
        b
    }

    #[test]
    fn command_must_be_printable_ascii_then_only_nul() {
        assert!(MessageHeader::decode(&header(b"verack", 0), MAGIC, 70016).is_ok());
        for bad in [
            &b"ver\0ack"[..],
            b"\x81ogus",
            b"ping\n",
            b"ping\0\0\0\0\0\0\0x",
        ] {
            assert!(
                matches!(
                    MessageHeader::decode(&header(bad, 0), MAGIC, 70016),
                    Err(Error::InvalidCommand { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(command_bytes("thirteen_char").is_err());
        assert!(command_bytes("caf\u{e9}").is_err());
        assert_eq!(
            parse_command(&command_bytes("sendaddrv2").expect("ok")),
            Ok("sendaddrv2".to_string())
        );
    }

    #[test]
    fn checks_run_in_btcd_order_before_any_payload() {
        // Over the protocol maximum beats a wrong magic.
        let mut b = header(b"getaddr", 4_000_001);
        b[0] ^= 1;
        assert!(matches!(
            MessageHeader::decode(&b, MAGIC, 70016),
            Err(Error::PayloadTooLarge { max: 4_000_000, .. })
        ));
        // Wrong magic beats a bad command.
        let mut b = header(b"\x81", 0);
        b[0] ^= 1;
        assert!(matches!(
            MessageHeader::decode(&b, MAGIC, 70016),
            Err(Error::BadMagic { .. })
        ));
        // Per-command maximum depends on the version: ping has no payload before BIP31.
        assert!(MessageHeader::decode(&header(b"ping", 8), MAGIC, 70016).is_ok());
        assert!(matches!(
            MessageHeader::decode(&header(b"ping", 8), MAGIC, 60000),
            Err(Error::PayloadTooLarge { max: 0, .. })
        ));
    }
}
