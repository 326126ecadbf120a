//! The 80-byte block header. btcd counterpart: `wire/blockheader.go`.

use super::hash::{Hash, sha256d};
use super::msg_tx::hex_u32;

/// Serialized size of a block header in bytes.
pub const BLOCK_HEADER_LEN: usize = 80;

/// A block header: the part of a block that carries its proof of work.
///
/// In JSON (in `headers`, `block` and `merkleblock`) the fields appear with `bits` as
/// "0x..." hex plus the derived `block_hash`; when read back, `bits` may also be a number and
/// `block_hash`, if present, must match the other fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "HeaderJson", try_from = "HeaderJson")]
pub struct BlockHeader {
    /// Block version (BIP9 bits in the top three bits' range).
    pub version: i32,
    /// Hash of the previous block header.
    pub prev_block: Hash,
    /// Merkle root of the block's transactions.
    pub merkle_root: Hash,
    /// Block time, seconds since the Unix epoch (u32 on the wire).
    pub timestamp: u32,
    /// Difficulty target in compact form.
    pub bits: u32,
    /// Nonce varied by miners.
    pub nonce: u32,
}

impl BlockHeader {
    /// The header's 80 wire bytes.
    pub fn to_bytes(&self) -> [u8; BLOCK_HEADER_LEN] {
        let mut b = [0u8; BLOCK_HEADER_LEN];
        b[0..4].copy_from_slice(&self.version.to_le_bytes());
        b[4..36].copy_from_slice(&self.prev_block.0);
        b[36..68].copy_from_slice(&self.merkle_root.0);
        b[68..72].copy_from_slice(&self.timestamp.to_le_bytes());
        b[72..76].copy_from_slice(&self.bits.to_le_bytes());
        b[76..80].copy_from_slice(&self.nonce.to_le_bytes());
        b
    }

    /// Parses a header from its 80 wire bytes (any 80 bytes are a syntactically valid header).
    pub fn from_bytes(b: &[u8; BLOCK_HEADER_LEN]) -> BlockHeader {
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let hash_at = |i: usize| {
            let mut h = [0u8; 32];
            h.copy_from_slice(&b[i..i + 32]);
            Hash(h)
        };
        BlockHeader {
            version: u32_at(0) as i32,
            prev_block: hash_at(4),
            merkle_root: hash_at(36),
            timestamp: u32_at(68),
            bits: u32_at(72),
            nonce: u32_at(76),
        }
    }

    /// The block hash: double SHA-256 of the 80 header bytes.
    pub fn block_hash(&self) -> Hash {
        sha256d(&self.to_bytes())
    }
}

/// A header as JSON: `bits` as "0x..." hex (a number is accepted when read) and the derived
/// `block_hash` (optional when read, checked when present).
#[derive(serde::Serialize, serde::Deserialize)]
struct HeaderJson {
    version: i32,
    prev_block: Hash,
    merkle_root: Hash,
    timestamp: u32,
    #[serde(with = "hex_u32")]
    bits: u32,
    nonce: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    block_hash: Option<Hash>,
}

impl From<BlockHeader> for HeaderJson {
    fn from(h: BlockHeader) -> HeaderJson {
        HeaderJson {
            version: h.version,
            prev_block: h.prev_block,
            merkle_root: h.merkle_root,
            timestamp: h.timestamp,
            bits: h.bits,
            nonce: h.nonce,
            block_hash: Some(h.block_hash()),
        }
    }
}

impl TryFrom<HeaderJson> for BlockHeader {
    type Error = String;

    /// The header, refusing a `block_hash` that does not match the fields.
    fn try_from(j: HeaderJson) -> Result<BlockHeader, String> {
        let h = BlockHeader {
            version: j.version,
            prev_block: j.prev_block,
            merkle_root: j.merkle_root,
            timestamp: j.timestamp,
            bits: j.bits,
            nonce: j.nonce,
        };
        if let Some(want) = j.block_hash
            && want != h.block_hash()
        {
            return Err(format!(
                "block_hash {want} does not match the header fields ({})",
                h.block_hash()
            ));
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mainnet_genesis_header_hash() {
        let h = BlockHeader {
            version: 1,
            prev_block: Hash::ZERO,
            merkle_root: "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
                .parse()
                .expect("literal"),
            timestamp: 1_231_006_505,
            bits: 0x1d00_ffff,
            nonce: 2_083_236_893,
        };
        assert_eq!(
            h.block_hash().to_string(),
            "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
        );
        assert_eq!(BlockHeader::from_bytes(&h.to_bytes()), h);
    }
}
