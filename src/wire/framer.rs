//! The incremental framer: bytes go in, in any chunk sizes, and complete messages (or an
//! error) come out. It is what a peer's read loop (`pN-in`) uses with socket read timeouts:
//! a timeout between two reads loses nothing, because every byte read is kept here until
//! its message is complete. btcd counterpart: none (btcd's `ReadMessage` blocks on
//! `io.ReadFull`); the checks are those of `ReadMessageWithEncodingN`.
//!
//! Memory: the header is assembled in a 24-byte array inside the struct; the payload
//! buffer is started only after the header passed every check (magic, command, length
//! against the command's maximum at the protocol version and against the receive budget),
//! and grows with the bytes that actually arrive, [`RECEIVE_CHUNK`] at a time (capacity at
//! most twice what arrived, never more than the announced length): a peer announcing a
//! 4 MB block and sending nothing more costs a chunk, not 4 MB of address space (Bitcoin
//! Core reads into a buffer that grows the same way). The complete payload is handed to the
//! decoder without a copy. Between messages the framer holds no heap memory at all, so
//! idle peers cost nothing here.
//!
//! Two ways in: [`Framer::push`] copies from a caller's buffer; [`Framer::read_buf`] +
//! [`Framer::advance`] (or [`Framer::read_from`]) let the caller read straight into the
//! framer, so a 2 MB block payload is read into its final buffer. After an error the
//! framer stays failed: the stream can no longer be trusted.

use std::io::{self, Read};

use super::error::Error;
use super::message::Message;
use super::message_header::{MESSAGE_HEADER_SIZE, MessageHeader};

/// The most payload bytes one read asks for beyond what arrived so far: how far ahead of
/// the peer's actual sending the buffer may grow.
pub const RECEIVE_CHUNK: usize = 64 * 1024;

/// A message and the number of wire bytes it took (header and payload).
pub type Framed = (Message, usize);

/// Incremental message framer for one connection.
#[derive(Debug)]
pub struct Framer {
    magic: u32,
    pver: u32,
    hdr: [u8; MESSAGE_HEADER_SIZE],
    hdr_len: usize,
    header: Option<MessageHeader>,
    payload: Vec<u8>,
    payload_len: usize,
    max_payload: usize,
    failed: Option<Error>,
}

impl Framer {
    /// A framer for a network's `magic`, decoding at protocol version `pver`.
    pub fn new(magic: u32, pver: u32) -> Framer {
        Framer {
            magic,
            pver,
            hdr: [0; MESSAGE_HEADER_SIZE],
            hdr_len: 0,
            header: None,
            payload: Vec::new(),
            payload_len: 0,
            max_payload: usize::MAX,
            failed: None,
        }
    }

    /// Caps the payload of any one message at `bytes` (the peer's receive budget, Core's
    /// `-maxreceivebuffer`): a longer announced length fails the framer before anything is
    /// buffered. The command's own maximum still applies.
    pub fn set_max_payload(&mut self, bytes: usize) {
        self.max_payload = bytes;
    }

    /// Sets the protocol version for messages whose header is not yet complete (after the
    /// handshake negotiates it).
    pub fn set_pver(&mut self, pver: u32) {
        self.pver = pver;
    }

    /// The protocol version in use.
    pub fn pver(&self) -> u32 {
        self.pver
    }

    /// The error that stopped the framer, if any.
    pub fn error(&self) -> Option<&Error> {
        self.failed.as_ref()
    }

    /// Bytes of a partial message held (0 when idle between messages).
    pub fn buffered(&self) -> usize {
        self.hdr_len + self.payload_len
    }

    /// Heap bytes the framer holds (0 when idle between messages).
    pub fn heap_capacity(&self) -> usize {
        self.payload.capacity()
    }

    /// Whether a complete message waits for [`Framer::next_message`] (or the framer failed).
    pub fn is_ready(&self) -> bool {
        self.failed.is_some() || self.payload_complete()
    }

    fn payload_complete(&self) -> bool {
        matches!(&self.header, Some(h) if self.payload_len == h.length as usize)
    }

    /// The buffer the next read should fill: the rest of the header, or the rest of the
    /// payload. Empty when a message is ready or the framer failed. After reading `n`
    /// bytes into it, call [`Framer::advance`].
    pub fn read_buf(&mut self) -> &mut [u8] {
        if self.is_ready() {
            return &mut [];
        }
        let length = match &self.header {
            None => return &mut self.hdr[self.hdr_len..],
            Some(h) => h.length as usize,
        };
        let want = self.payload_len + (length - self.payload_len).min(RECEIVE_CHUNK);
        if self.payload.len() < want {
            if self.payload.capacity() < want {
                // Geometric growth (few copies for a 4 MB block), capped at the announced
                // length: capacity stays within twice what arrived plus one chunk.
                let cap = (self.payload.capacity() * 2).max(want).min(length);
                self.payload.reserve_exact(cap - self.payload.len());
            }
            self.payload.resize(want, 0);
        }
        &mut self.payload[self.payload_len..want]
    }

    /// Records that `n` bytes were written into [`Framer::read_buf`]; `n` larger than that
    /// buffer is clamped.
    pub fn advance(&mut self, n: usize) {
        let room = self.read_buf().len();
        let n = n.min(room);
        if n == 0 {
            return;
        }
        match self.header {
            None => {
                self.hdr_len += n;
                if self.hdr_len == MESSAGE_HEADER_SIZE {
                    self.header_complete();
                }
            }
            Some(_) => self.payload_len += n,
        }
    }

    fn header_complete(&mut self) {
        match MessageHeader::decode(&self.hdr, self.magic, self.pver) {
            Ok(h) if h.length as usize > self.max_payload => {
                self.failed = Some(Error::PayloadTooLarge {
                    command: h.command.clone(),
                    length: u64::from(h.length),
                    max: self.max_payload,
                })
            }
            Ok(h) => {
                // Nothing is allocated yet: read_buf grows the buffer as bytes arrive.
                self.payload = Vec::new();
                self.payload_len = 0;
                self.header = Some(h);
            }
            Err(e) => self.failed = Some(e),
        }
    }

    /// The magic of a header that failed its checks when it is not this network's (a peer
    /// on another network, or one that is not speaking v1 at all, such as BIP324 v2).
    pub fn failed_foreign_magic(&self) -> Option<u32> {
        self.failed.as_ref()?;
        if self.hdr_len < 4 {
            return None;
        }
        let got = u32::from_le_bytes([self.hdr[0], self.hdr[1], self.hdr[2], self.hdr[3]]);
        (got != self.magic).then_some(got)
    }

    /// Reads once from `r` straight into the framer's buffer. `Ok(0)` means end of stream
    /// (or that a message is ready: check [`Framer::is_ready`] first). Timeouts and other
    /// errors are returned untouched; no byte read is ever lost.
    pub fn read_from<R: Read>(&mut self, r: &mut R) -> io::Result<usize> {
        let buf = self.read_buf();
        if buf.is_empty() {
            return Ok(0);
        }
        let n = r.read(buf)?;
        self.advance(n);
        Ok(n)
    }

    /// Copies bytes from `data` up to the end of the current message and returns how many
    /// it took. When it takes fewer than `data.len()`, a message is ready (or the framer
    /// failed): take it with [`Framer::next_message`] and push the rest.
    pub fn push(&mut self, data: &[u8]) -> usize {
        let mut used = 0;
        while used < data.len() {
            let buf = self.read_buf();
            if buf.is_empty() {
                break;
            }
            let n = buf.len().min(data.len() - used);
            buf[..n].copy_from_slice(&data[used..used + n]);
            self.advance(n);
            used += n;
        }
        used
    }

    /// Pushes all of `data`, collecting every message completed on the way; stops at the
    /// first error (which is the last element).
    pub fn feed(&mut self, mut data: &[u8]) -> Vec<Result<Framed, Error>> {
        let mut out = Vec::new();
        loop {
            let n = self.push(data);
            data = &data[n..];
            match self.next_message() {
                Some(Err(e)) => {
                    out.push(Err(e));
                    return out;
                }
                Some(Ok(m)) => out.push(Ok(m)),
                None => return out,
            }
        }
    }

    /// The next complete message, if one is ready: checksum verified, payload decoded at
    /// the protocol version. `None` means more bytes are needed. Once an error is returned,
    /// every later call returns it again.
    pub fn next_message(&mut self) -> Option<Result<Framed, Error>> {
        if let Some(e) = &self.failed {
            return Some(Err(e.clone()));
        }
        if !self.payload_complete() {
            return None;
        }
        let header = self.header.take()?;
        let payload = std::mem::take(&mut self.payload);
        self.hdr_len = 0;
        self.payload_len = 0;
        let wire_len = MESSAGE_HEADER_SIZE + payload.len();
        let result = header
            .verify_checksum(&payload)
            .and_then(|()| Message::decode(&header.command, payload, self.pver));
        match result {
            Ok(m) => Some(Ok((m, wire_len))),
            Err(e) => {
                self.failed = Some(e.clone());
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::framing::encode_message;
    use crate::wire::msg_ping::MsgPing;

    const MAGIC: u32 = 0xd9b4_bef9;

    #[test]
    fn any_chunk_size_yields_the_same_messages() {
        let msgs = [
            Message::Verack,
            Message::Ping(MsgPing { nonce: 7 }),
            Message::Unknown {
                command: "bogus".into(),
                payload: vec![1, 2, 3],
            },
        ];
        let mut stream = Vec::new();
        for m in &msgs {
            stream.extend(encode_message(m, 70016, MAGIC).expect("encodable"));
        }
        for chunk in 1..=stream.len() {
            let mut f = Framer::new(MAGIC, 70016);
            let mut got = Vec::new();
            for c in stream.chunks(chunk) {
                got.extend(f.feed(c).into_iter().map(|r| r.expect("valid").0));
            }
            assert_eq!(got, msgs, "chunk size {chunk}");
            assert_eq!(f.buffered(), 0);
            assert_eq!(f.heap_capacity(), 0);
        }
    }

    #[test]
    fn payload_buffer_grows_with_arrived_bytes_not_the_announced_length() {
        let msg = Message::Unknown {
            command: "big".into(),
            payload: vec![5; 3_000_000],
        };
        let bytes = encode_message(&msg, 70016, MAGIC).expect("encodable");
        let mut f = Framer::new(MAGIC, 70016);
        // The header plus 10 bytes: a chunk at most is held, not 3 MB.
        assert_eq!(
            f.push(&bytes[..MESSAGE_HEADER_SIZE + 10]),
            MESSAGE_HEADER_SIZE + 10
        );
        assert!(f.heap_capacity() <= RECEIVE_CHUNK, "{}", f.heap_capacity());
        let mut fed = MESSAGE_HEADER_SIZE + 10;
        while fed < bytes.len() {
            let n = f.push(&bytes[fed..(fed + 100_000).min(bytes.len())]);
            fed += n;
            let arrived = fed - MESSAGE_HEADER_SIZE;
            assert!(f.heap_capacity() <= 2 * arrived + RECEIVE_CHUNK);
            assert!(f.heap_capacity() <= 3_000_000);
        }
        let (got, n) = f.next_message().expect("ready").expect("valid");
        assert_eq!((got, n), (msg, bytes.len()));
    }

    #[test]
    fn payload_over_the_receive_budget_fails_before_buffering() {
        let msg = Message::Unknown {
            command: "big".into(),
            payload: vec![5; 2000],
        };
        let bytes = encode_message(&msg, 70016, MAGIC).expect("encodable");
        let mut f = Framer::new(MAGIC, 70016);
        f.set_max_payload(1999);
        assert_eq!(f.push(&bytes), MESSAGE_HEADER_SIZE);
        assert!(matches!(
            f.next_message(),
            Some(Err(Error::PayloadTooLarge { max: 1999, .. }))
        ));
        assert_eq!(f.heap_capacity(), 0);
    }

    #[test]
    fn oversized_header_fails_before_allocating_and_stays_failed() {
        let mut hdr = encode_message(&Message::GetAddr, 70016, MAGIC).expect("encodable");
        hdr[16] = 1; // getaddr may not carry a payload
        let mut f = Framer::new(MAGIC, 70016);
        assert_eq!(f.push(&hdr), MESSAGE_HEADER_SIZE);
        assert!(matches!(
            f.next_message(),
            Some(Err(Error::PayloadTooLarge { max: 0, .. }))
        ));
        assert_eq!(f.heap_capacity(), 0);
        assert!(matches!(f.next_message(), Some(Err(_))));
        assert_eq!(f.push(&[0; 10]), 0);
    }
}
