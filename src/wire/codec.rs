//! Primitive encoding: a bounds-checked reader over a byte slice, and writers for
//! little-endian integers, variable-length integers and byte strings. btcd counterpart:
//! `wire/common.go`.
//!
//! Decoders never trust a count: [`Reader::read_count`] checks it against the caller's limit
//! and against the bytes actually left before anything is allocated.

use super::error::Error;
use super::hash::{HASH_SIZE, Hash};

/// A cursor over a byte slice. Every read checks the bytes left and fails with
/// [`Error::UnexpectedEof`] instead of panicking.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far (the offset of the next read in the buffer).
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The whole underlying buffer (for decoders that record ranges into it).
    pub fn buffer(&self) -> &'a [u8] {
        self.buf
    }

    /// Reads `n` bytes as a slice of the underlying buffer.
    pub fn read_bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], Error> {
        let remaining = self.remaining();
        if n > remaining {
            return Err(Error::UnexpectedEof {
                field,
                needed: n,
                remaining,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Reads a fixed-size array.
    pub fn read_array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], Error> {
        let s = self.read_bytes(N, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Reads one byte.
    pub fn read_u8(&mut self, field: &'static str) -> Result<u8, Error> {
        Ok(self.read_array::<1>(field)?[0])
    }

    /// Reads a little-endian u16.
    pub fn read_u16_le(&mut self, field: &'static str) -> Result<u16, Error> {
        Ok(u16::from_le_bytes(self.read_array(field)?))
    }

    /// Reads a big-endian u16 (ports in network addresses).
    pub fn read_u16_be(&mut self, field: &'static str) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.read_array(field)?))
    }

    /// Reads a little-endian u32.
    pub fn read_u32_le(&mut self, field: &'static str) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.read_array(field)?))
    }

    /// Reads a little-endian i32.
    pub fn read_i32_le(&mut self, field: &'static str) -> Result<i32, Error> {
        Ok(i32::from_le_bytes(self.read_array(field)?))
    }

    /// Reads a little-endian u64.
    pub fn read_u64_le(&mut self, field: &'static str) -> Result<u64, Error> {
        Ok(u64::from_le_bytes(self.read_array(field)?))
    }

    /// Reads a little-endian i64.
    pub fn read_i64_le(&mut self, field: &'static str) -> Result<i64, Error> {
        Ok(i64::from_le_bytes(self.read_array(field)?))
    }

    /// Reads a 32-byte hash in wire order.
    pub fn read_hash(&mut self, field: &'static str) -> Result<Hash, Error> {
        Ok(Hash(self.read_array::<HASH_SIZE>(field)?))
    }

    /// Reads a count of hashes (checked against `max` and the bytes left, see
    /// [`Reader::read_count_of`]) and that many hashes; `item` names one hash in errors.
    pub fn read_hashes(
        &mut self,
        what: &'static str,
        max: u64,
        item: &'static str,
    ) -> Result<Vec<Hash>, Error> {
        let count = self.read_count_of(what, max, HASH_SIZE)?;
        let mut hashes = Vec::with_capacity(count);
        for _ in 0..count {
            hashes.push(self.read_hash(item)?);
        }
        Ok(hashes)
    }

    /// Reads a variable-length integer, rejecting non-canonical encodings as btcd does.
    pub fn read_varint(&mut self, field: &'static str) -> Result<u64, Error> {
        let (value, len, min) = match self.read_u8(field)? {
            0xff => (self.read_u64_le(field)?, 9, 0x1_0000_0000),
            0xfe => (u64::from(self.read_u32_le(field)?), 5, 0x1_0000),
            0xfd => (u64::from(self.read_u16_le(field)?), 3, 0xfd),
            b => return Ok(u64::from(b)),
        };
        if value < min {
            return Err(Error::NonCanonicalVarInt {
                value,
                encoded_len: len,
            });
        }
        Ok(value)
    }

    /// Reads a count and checks it against `max` before the caller allocates anything for it.
    pub fn read_count(&mut self, what: &'static str, max: u64) -> Result<usize, Error> {
        let count = self.read_varint(what)?;
        if count > max {
            return Err(Error::CountTooLarge { what, count, max });
        }
        usize::try_from(count).map_err(|_| Error::CountTooLarge { what, count, max })
    }

    /// Reads a count of items that each take at least `min_item_size` bytes, checking it
    /// against `max` and against the bytes left, so a lying count cannot make the caller
    /// allocate more than the payload could hold.
    pub fn read_count_of(
        &mut self,
        what: &'static str,
        max: u64,
        min_item_size: usize,
    ) -> Result<usize, Error> {
        let count = self.read_count(what, max)?;
        let needed = count.saturating_mul(min_item_size);
        let remaining = self.remaining();
        if needed > remaining {
            return Err(Error::UnexpectedEof {
                field: what,
                needed,
                remaining,
            });
        }
        Ok(count)
    }

    /// Reads a varint-prefixed byte string of at most `max` bytes, as a slice of the buffer.
    pub fn read_var_bytes(&mut self, what: &'static str, max: u64) -> Result<&'a [u8], Error> {
        let n = self.read_count(what, max)?;
        self.read_bytes(n, what)
    }

    /// Reads a varint-prefixed string of at most `max` bytes. Like btcd, a string that is
    /// not UTF-8 is accepted; each byte of an invalid sequence becomes `?`, so the string
    /// never grows past its limit when sent on.
    pub fn read_var_string(&mut self, what: &'static str, max: u64) -> Result<String, Error> {
        Ok(lossy_text(self.read_var_bytes(what, max)?))
    }

    /// Reads a varint-prefixed string losslessly: the text as [`Reader::read_var_string`]
    /// gives it, plus the exact bytes when they are not UTF-8 (`None` when the text is them).
    pub fn read_var_text(
        &mut self,
        what: &'static str,
        max: u64,
    ) -> Result<(String, Option<Vec<u8>>), Error> {
        let b = self.read_var_bytes(what, max)?;
        Ok(match std::str::from_utf8(b) {
            Ok(s) => (s.to_string(), None),
            Err(_) => (lossy_text(b), Some(b.to_vec())),
        })
    }

    /// Fails with [`Error::TrailingBytes`] if bytes are left after a complete payload.
    pub fn finish(&self, command: &str) -> Result<(), Error> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(Error::TrailingBytes {
                command: command.to_string(),
                extra,
            }),
        }
    }
}

/// Number of bytes the varint encoding of `n` takes.
pub fn varint_size(n: u64) -> usize {
    match n {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// Appends the canonical varint encoding of `n`.
pub fn write_varint(w: &mut Vec<u8>, n: u64) {
    match n {
        0..=0xfc => w.push(n as u8),
        0xfd..=0xffff => {
            w.push(0xfd);
            w.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            w.push(0xfe);
            w.extend_from_slice(&(n as u32).to_le_bytes());
        }
        _ => {
            w.push(0xff);
            w.extend_from_slice(&n.to_le_bytes());
        }
    }
}

/// Appends a varint count followed by the hashes in wire order.
pub fn write_hashes(w: &mut Vec<u8>, hashes: &[Hash]) {
    write_varint(w, hashes.len() as u64);
    for h in hashes {
        w.extend_from_slice(&h.0);
    }
}

/// Appends a varint length followed by the bytes.
pub fn write_var_bytes(w: &mut Vec<u8>, b: &[u8]) {
    write_varint(w, b.len() as u64);
    w.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_edges_round_trip_and_reject_non_canonical() {
        for v in [
            0u64,
            0xfc,
            0xfd,
            0xffff,
            0x1_0000,
            0xffff_ffff,
            0x1_0000_0000,
            u64::MAX,
        ] {
            let mut w = Vec::new();
            write_varint(&mut w, v);
            assert_eq!(w.len(), varint_size(v));
            let mut r = Reader::new(&w);
            assert_eq!(r.read_varint("v"), Ok(v));
            assert!(r.finish("test").is_ok());
        }
        for hex in [[0xfd, 0x00, 0x00].as_slice(), &[0xfe, 0xff, 0xff, 0, 0]] {
            assert!(matches!(
                Reader::new(hex).read_varint("v"),
                Err(Error::NonCanonicalVarInt { .. })
            ));
        }
    }

    #[test]
    fn invalid_utf8_strings_keep_their_length() {
        let mut w = Vec::new();
        write_var_bytes(&mut w, &[b'a', 0xff, 0xfe, b'b']);
        assert_eq!(
            Reader::new(&w).read_var_string("s", 4),
            Ok("a??b".to_string())
        );
    }

    #[test]
    fn count_checked_before_use() {
        let mut w = Vec::new();
        write_varint(&mut w, 50_001);
        assert!(matches!(
            Reader::new(&w).read_count("inventory vectors", 50_000),
            Err(Error::CountTooLarge { count: 50_001, .. })
        ));
        assert!(matches!(
            Reader::new(&[1, 2]).read_u32_le("x"),
            Err(Error::UnexpectedEof {
                needed: 4,
                remaining: 2,
                ..
            })
        ));
    }

    #[test]
    fn hash_lists_round_trip_and_check_their_count() {
        let hashes = [Hash([1; 32]), Hash([2; 32])];
        let mut w = Vec::new();
        write_hashes(&mut w, &hashes);
        assert_eq!(w.len(), 1 + 64);
        let mut r = Reader::new(&w);
        assert_eq!(r.read_hashes("hashes", 2, "hash"), Ok(hashes.to_vec()));
        assert_eq!(r.remaining(), 0);
        assert!(matches!(
            Reader::new(&w).read_hashes("hashes", 1, "hash"),
            Err(Error::CountTooLarge { count: 2, .. })
        ));
        // A count the bytes left cannot hold fails before anything is allocated.
        assert!(matches!(
            Reader::new(&w[..64]).read_hashes("hashes", 2, "hash"),
            Err(Error::UnexpectedEof {
                needed: 64,
                remaining: 63,
                ..
            })
        ));
    }
}

/// Wire string bytes as text: valid UTF-8 as is; each byte of an invalid sequence becomes
/// `?`, so the text has exactly as many bytes as the wire string.
pub fn lossy_text(b: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(b) {
        return s.to_string();
    }
    let mut s = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        s.push_str(chunk.valid());
        s.extend(std::iter::repeat_n('?', chunk.invalid().len()));
    }
    s
}

/// The bytes to send for a string field kept as `text` plus the optional exact wire bytes
/// `raw` (see [`Reader::read_var_text`]): `raw` while `text` is still its [`lossy_text`]
/// (the field was decoded and not edited since), otherwise `text`.
pub fn text_bytes<'a>(text: &'a str, raw: Option<&'a [u8]>) -> &'a [u8] {
    match raw {
        Some(b) if std::str::from_utf8(b).is_err() && lossy_text(b) == text => b,
        _ => text.as_bytes(),
    }
}

/// A wire string in JSON: a plain string when its bytes are UTF-8, otherwise
/// `{"hex": "..."}` with the exact bytes, so `decode` then `encode` gives back every byte.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum TextJson {
    /// Valid UTF-8.
    Text(String),
    /// Any bytes, as hex.
    Hex {
        /// The bytes.
        #[serde(with = "super::hex::serde")]
        hex: Vec<u8>,
    },
}

impl TextJson {
    /// The JSON form of a field kept as `text` plus optional exact bytes `raw`.
    pub(crate) fn from_field(text: &str, raw: Option<&[u8]>) -> TextJson {
        match std::str::from_utf8(text_bytes(text, raw)) {
            Ok(s) => TextJson::Text(s.to_string()),
            Err(_) => TextJson::Hex {
                hex: text_bytes(text, raw).to_vec(),
            },
        }
    }

    /// Back to a field: the text and, when the bytes are not UTF-8, the exact bytes.
    pub(crate) fn into_field(self) -> (String, Option<Vec<u8>>) {
        match self {
            TextJson::Text(s) => (s, None),
            TextJson::Hex { hex } => match String::from_utf8(hex) {
                Ok(s) => (s, None),
                Err(e) => {
                    let b = e.into_bytes();
                    (lossy_text(&b), Some(b))
                }
            },
        }
    }
}
