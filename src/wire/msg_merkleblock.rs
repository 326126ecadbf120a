//! The `merkleblock` message (BIP37): a header and a partial merkle tree. btcd
//! counterpart: `wire/msgmerkleblock.go`.

use super::block_header::{BLOCK_HEADER_LEN, BlockHeader};
use super::codec::{Reader, write_hashes, write_var_bytes};
use super::error::Error;
use super::hash::Hash;
use super::message::{MAX_BLOCK_PAYLOAD, Payload, require_version};
use super::protocol::BIP0037_VERSION;

/// Smallest possible transaction (btcd's `minTxPayload`): version 4, two empty counts,
/// lock time 4.
const MIN_TX_PAYLOAD: usize = 10;

/// Most transactions a block can hold, so most hashes a merkleblock can carry (btcd's
/// `maxTxPerBlock`).
pub const MAX_TX_PER_BLOCK: usize = MAX_BLOCK_PAYLOAD / MIN_TX_PAYLOAD + 1;

/// Most flag bytes a merkleblock can carry (btcd's `maxFlagsPerMerkleBlock`): one bit per
/// transaction.
pub const MAX_FLAGS_PER_MERKLE_BLOCK: usize = MAX_TX_PER_BLOCK / 8;

/// A `merkleblock` message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MsgMerkleBlock {
    /// The block's header.
    pub header: BlockHeader,
    /// Number of transactions in the block.
    pub transactions: u32,
    /// Hashes of the partial merkle tree, depth first.
    pub hashes: Vec<Hash>,
    /// Flag bits of the partial merkle tree.
    #[serde(with = "super::hex::serde")]
    pub flags: Vec<u8>,
}

impl Payload for MsgMerkleBlock {
    const COMMAND: &'static str = "merkleblock";

    fn decode(r: &mut Reader<'_>, pver: u32) -> Result<MsgMerkleBlock, Error> {
        require_version(Self::COMMAND, pver, BIP0037_VERSION)?;
        let header = BlockHeader::from_bytes(&r.read_array("merkleblock header")?);
        let transactions = r.read_u32_le("merkleblock transaction count")?;
        let hashes = r.read_hashes(
            "merkleblock hashes",
            MAX_TX_PER_BLOCK as u64,
            "merkleblock hash",
        )?;
        let flags = r
            .read_var_bytes("merkleblock flag bytes", MAX_FLAGS_PER_MERKLE_BLOCK as u64)?
            .to_vec();
        Ok(MsgMerkleBlock {
            header,
            transactions,
            hashes,
            flags,
        })
    }

    fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
        w.extend_from_slice(&self.header.to_bytes());
        w.extend_from_slice(&self.transactions.to_le_bytes());
        write_hashes(w, &self.hashes);
        write_var_bytes(w, &self.flags);
    }

    fn max_payload_length(_pver: u32) -> usize {
        MAX_BLOCK_PAYLOAD
    }
}

const _: () = assert!(BLOCK_HEADER_LEN == 80);
