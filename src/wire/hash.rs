//! 32-byte hashes and double SHA-256. btcd counterpart: `chaincfg/chainhash`.

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// Length in bytes of a [`Hash`](struct@Hash).
pub const HASH_SIZE: usize = 32;

/// A 32-byte hash in wire byte order (block hash, txid, wtxid, merkle root).
///
/// Displays byte-reversed, as every Bitcoin tool shows hashes; parses the same way.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_SIZE]);

impl Hash {
    /// The all-zero hash (the previous block of the genesis block).
    pub const ZERO: Hash = Hash([0; HASH_SIZE]);

    /// The hash's bytes in wire order.
    pub fn as_bytes(&self) -> &[u8; HASH_SIZE] {
        &self.0
    }
}

/// Double SHA-256 of `data`.
pub fn sha256d(data: &[u8]) -> Hash {
    let first = Sha256::digest(data);
    Hash(Sha256::digest(first).into())
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0.iter().rev() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

/// Why a string is not a hash in display form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashParseError(pub String);

impl fmt::Display for HashParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid hash {:?}: want 64 hex digits", self.0)
    }
}

impl std::error::Error for HashParseError {}

impl FromStr for Hash {
    type Err = HashParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || HashParseError(s.chars().take(80).collect());
        if s.len() != 2 * HASH_SIZE || !s.is_ascii() {
            return Err(bad());
        }
        let mut out = [0u8; HASH_SIZE];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hex = std::str::from_utf8(chunk).map_err(|_| bad())?;
            out[HASH_SIZE - 1 - i] = u8::from_str_radix(hex, 16).map_err(|_| bad())?;
        }
        Ok(Hash(out))
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_hash_displays_reversed() {
        // Double SHA-256 of the empty string, a fixed known value.
        let h = sha256d(b"");
        assert_eq!(
            h.to_string(),
            "56944c5d3f98413ef45cf54545538103cc9f298e0575820ad3591376e2e0f65d"
        );
        assert_eq!(h.to_string().parse::<Hash>(), Ok(h));
        assert!("zz".parse::<Hash>().is_err());
    }
}
