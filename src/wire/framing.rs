//! Whole-message framing: encode a [`Message`] with its header, write it, and read one from
//! a blocking reader. The peer's read loop uses the incremental
//! [`Framer`](super::framer::Framer) instead; [`read_message`] is for readers without
//! timeouts (files, tests, the CLI). btcd counterpart: `WriteMessageWithEncodingN`,
//! `ReadMessageWithEncodingN` (`wire/message.go`).

use std::io::{self, Read, Write};

use super::error::Error;
use super::message::Message;
use super::message_header::{MESSAGE_HEADER_SIZE, MessageHeader, checksum, command_bytes};

/// The framed bytes of `msg`: header (with the checksum computed once over the payload)
/// then payload. Fails if the command cannot be encoded or the payload exceeds the
/// command's maximum at `pver` (a peer would reject it).
pub fn encode_message(msg: &Message, pver: u32, magic: u32) -> Result<Vec<u8>, Error> {
    let command = command_bytes(msg.command())?;
    let mut buf = Vec::with_capacity(MESSAGE_HEADER_SIZE + 64);
    buf.resize(MESSAGE_HEADER_SIZE, 0);
    msg.encode_payload(&mut buf, pver);
    let len = buf.len() - MESSAGE_HEADER_SIZE;
    let max = msg.max_payload_length(pver);
    if len > max {
        return Err(Error::PayloadTooLarge {
            command: msg.command().to_string(),
            length: len as u64,
            max,
        });
    }
    let sum = checksum(&buf[MESSAGE_HEADER_SIZE..]);
    buf[0..4].copy_from_slice(&magic.to_le_bytes());
    buf[4..16].copy_from_slice(&command);
    // len <= max <= 4,000,000, so it fits in a u32.
    buf[16..20].copy_from_slice(&(len as u32).to_le_bytes());
    buf[20..24].copy_from_slice(&sum);
    Ok(buf)
}

/// Encodes `msg` and writes it in one `write_all`, returning the bytes written. An
/// unencodable message is an `InvalidInput` I/O error carrying the [`Error`] text.
pub fn write_message<W: Write>(
    w: &mut W,
    msg: &Message,
    pver: u32,
    magic: u32,
) -> io::Result<usize> {
    let buf = encode_message(msg, pver, magic)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    w.write_all(&buf)?;
    Ok(buf.len())
}

/// Reads one message from a blocking reader: header, checks (length before any payload
/// byte is read), payload, checksum, decode. Returns the message and the bytes read.
/// Not for sockets with read timeouts: a timeout mid-message loses bytes (use
/// [`Framer`](super::framer::Framer)).
pub fn read_message<R: Read>(r: &mut R, pver: u32, magic: u32) -> Result<(Message, usize), Error> {
    let mut hdr = [0u8; MESSAGE_HEADER_SIZE];
    r.read_exact(&mut hdr)?;
    let header = MessageHeader::decode(&hdr, magic, pver)?;
    let mut payload = vec![0u8; header.length as usize];
    r.read_exact(&mut payload)?;
    header.verify_checksum(&payload)?;
    let n = MESSAGE_HEADER_SIZE + payload.len();
    let msg = Message::decode(&header.command, payload, pver)?;
    Ok((msg, n))
}
