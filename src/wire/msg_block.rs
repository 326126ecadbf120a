//! The `block` message: a header and its transactions, decoded zero-copy over the payload
//! (see [`msg_tx`](super::msg_tx) for the layout). btcd counterpart: `wire/msgblock.go`, with
//! the merkle and witness commitment checks of `blockchain/merkle.go`.
//!
//! Decoding walks the payload once, checking every count against btcd's limits, and records
//! where each transaction, input, output and witness item lies; nothing is hashed until a
//! caller asks for a txid or a merkle root. No threads.

use std::fmt;

use super::block_header::{BLOCK_HEADER_LEN, BlockHeader};
use super::codec::{varint_size, write_varint};
use super::error::Error;
use super::hash::{HASH_SIZE, Hash};
use super::merkle::{commitment_in_script, merkle_root_mutated, witness_commitment};
use super::message::MAX_BLOCK_PAYLOAD;
use super::msg_tx::{
    MIN_TX_PAYLOAD, MsgTx, SerSeq, TxJson, TxRef, TxTable, check_payload_len, decode_block_txs,
};

/// Most transactions a block that fits in a message could hold (`maxTxPerBlock`).
pub const MAX_TX_PER_BLOCK: u64 = MAX_BLOCK_PAYLOAD as u64 / MIN_TX_PAYLOAD + 1;

/// A block: its header and its transactions.
///
/// Transactions are read through views ([`MsgBlock::transactions`], [`MsgBlock::tx`]);
/// [`TxRef::to_msg_tx`] turns one into an owned [`MsgTx`] that shares the block's buffer.
/// Two blocks are equal when their encodings are.
#[derive(Clone)]
pub struct MsgBlock {
    /// The block header. [`MsgBlock::encode`] writes this field, so editing it changes
    /// the encoding; the transactions are immutable.
    pub header: BlockHeader,
    table: TxTable,
}

impl MsgBlock {
    /// Decodes a `block` payload, taking ownership of its buffer. `pver` does not change the
    /// encoding (transactions are read with BIP144 witness encoding).
    pub fn from_payload(payload: Vec<u8>, _pver: u32) -> Result<MsgBlock, Error> {
        check_payload_len(payload.len(), "block payload bytes")?;
        let Some(header_bytes) = payload.first_chunk::<BLOCK_HEADER_LEN>() else {
            return Err(Error::UnexpectedEof {
                field: "block header",
                needed: BLOCK_HEADER_LEN,
                remaining: payload.len(),
            });
        };
        let header = BlockHeader::from_bytes(header_bytes);
        let mut r = super::codec::Reader::new(&payload[BLOCK_HEADER_LEN..]);
        let count = r.read_count("transactions in block", MAX_TX_PER_BLOCK)?;
        let pos = BLOCK_HEADER_LEN + r.position();
        let (table, end) = decode_block_txs(payload, pos, count)?;
        let extra = table.buffer().len() - end;
        if extra != 0 {
            return Err(Error::TrailingBytes {
                command: "block".to_string(),
                extra,
            });
        }
        Ok(MsgBlock { header, table })
    }

    /// Builds a block from a header and transactions.
    pub fn new(header: BlockHeader, transactions: &[MsgTx]) -> Result<MsgBlock, Error> {
        let mut b = Vec::new();
        b.extend_from_slice(&header.to_bytes());
        write_varint(&mut b, transactions.len() as u64);
        for tx in transactions {
            b.extend_from_slice(tx.as_bytes());
        }
        MsgBlock::from_payload(b, 0)
    }

    /// Appends the payload encoding: the header, the transaction count, the transactions.
    pub fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
        w.reserve(self.table.buffer().len());
        w.extend_from_slice(&self.header.to_bytes());
        w.extend_from_slice(&self.table.buffer()[BLOCK_HEADER_LEN..]);
    }

    /// The largest payload a `block` message may have (`MaxBlockPayload`).
    pub fn max_payload_length(_pver: u32) -> usize {
        MAX_BLOCK_PAYLOAD
    }

    /// Size of the payload encoding in bytes.
    pub fn serialize_size(&self) -> usize {
        self.table.buffer().len()
    }

    /// The block hash (double SHA-256 of the header).
    pub fn block_hash(&self) -> Hash {
        self.header.block_hash()
    }

    /// Number of transactions.
    pub fn tx_count(&self) -> usize {
        self.table.len()
    }

    /// Transaction `i`, if there is one.
    pub fn tx(&self, i: usize) -> Option<TxRef<'_>> {
        self.table.get(i)
    }

    /// The transactions, in order.
    pub fn transactions(&self) -> impl ExactSizeIterator<Item = TxRef<'_>> + Clone + '_ {
        self.table.iter()
    }

    /// Every txid, in order (hashes every transaction).
    pub fn txids(&self) -> Vec<Hash> {
        self.transactions().map(|t| t.txid()).collect()
    }

    /// Every wtxid, in order.
    pub fn wtxids(&self) -> Vec<Hash> {
        self.transactions().map(|t| t.wtxid()).collect()
    }

    /// The merkle root of the txids, and whether the transaction list is mutated (see
    /// [`merkle_root_mutated`]).
    pub fn compute_merkle_root(&self) -> (Hash, bool) {
        merkle_root_mutated(&self.txids())
    }

    /// Checks that the header's merkle root commits to these transactions.
    pub fn check_merkle_root(&self) -> Result<(), Error> {
        let (root, _) = self.compute_merkle_root();
        if root != self.header.merkle_root {
            return Err(Error::InvalidValue {
                field: "merkle root",
                reason: format!(
                    "block {} header has {} but its {} transactions hash to {root}",
                    self.block_hash(),
                    self.header.merkle_root,
                    self.tx_count()
                ),
            });
        }
        Ok(())
    }

    /// The witness merkle root (BIP141): the merkle root of the wtxids with the coinbase's
    /// taken as zero.
    pub fn witness_merkle_root(&self) -> Hash {
        let wtxids: Vec<Hash> = self
            .transactions()
            .enumerate()
            .map(|(i, t)| if i == 0 { Hash::ZERO } else { t.wtxid() })
            .collect();
        merkle_root_mutated(&wtxids).0
    }

    /// The witness commitment in the coinbase, if any: the last output whose script opens
    /// with [`WITNESS_COMMITMENT_HEADER`](super::merkle::WITNESS_COMMITMENT_HEADER) (BIP141).
    pub fn witness_commitment(&self) -> Option<Hash> {
        let coinbase = self.tx(0)?;
        coinbase
            .outputs()
            .filter_map(|o| commitment_in_script(o.pk_script()))
            .last()
    }

    /// Checks the BIP141 witness commitment as btcd's `ValidateWitnessCommitment` does: a
    /// block without one must carry no witness data; with one, the coinbase witness must be
    /// a single 32-byte reserved value, and the commitment must match.
    pub fn check_witness_commitment(&self) -> Result<(), Error> {
        let bad = |reason: String| Error::InvalidValue {
            field: "witness commitment",
            reason,
        };
        let Some(commitment) = self.witness_commitment() else {
            if self.transactions().any(|t| t.has_witness()) {
                return Err(bad(format!(
                    "block {} has witness data but no witness commitment",
                    self.block_hash()
                )));
            }
            return Ok(());
        };
        let coinbase_witness = self.tx(0).and_then(|c| c.input(0)).map(|i| i.witness());
        let reserved: [u8; HASH_SIZE] = match coinbase_witness {
            Some(w) if w.len() == 1 => w
                .get(0)
                .and_then(|item| item.try_into().ok())
                .ok_or_else(|| bad("coinbase witness item is not 32 bytes".to_string()))?,
            Some(w) => {
                return Err(bad(format!(
                    "coinbase witness has {} items, want exactly 1",
                    w.len()
                )));
            }
            None => return Err(bad("block has no coinbase input".to_string())),
        };
        let want = witness_commitment(&self.witness_merkle_root(), &reserved);
        if want != commitment {
            return Err(bad(format!(
                "block {} commits to {commitment} but its witnesses hash to {want}",
                self.block_hash()
            )));
        }
        Ok(())
    }
}

impl fmt::Debug for MsgBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MsgBlock")
            .field("block_hash", &self.block_hash())
            .field("header", &self.header)
            .field("transactions", &self.transactions().collect::<Vec<_>>())
            .finish()
    }
}

impl PartialEq for MsgBlock {
    fn eq(&self, other: &MsgBlock) -> bool {
        self.header == other.header
            && self.table.buffer()[BLOCK_HEADER_LEN..] == other.table.buffer()[BLOCK_HEADER_LEN..]
    }
}

impl Eq for MsgBlock {}

// ---------------------------------------------------------------------------------------
// JSON, in the shape of ../shared/vectors/wire.json: the header (BlockHeader's JSON form),
// txn_count, transactions. Redundant fields are checked when read back.

/// A block as JSON, as read back.
#[derive(serde::Deserialize)]
struct BlockJson {
    header: BlockHeader,
    #[serde(default)]
    txn_count: Option<u64>,
    transactions: Vec<TxJson>,
}

impl serde::Serialize for MsgBlock {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("MsgBlock", 3)?;
        st.serialize_field("header", &self.header)?;
        st.serialize_field("txn_count", &self.tx_count())?;
        st.serialize_field("transactions", &SerSeq(self.transactions()))?;
        st.end()
    }
}

impl<'de> serde::Deserialize<'de> for MsgBlock {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<MsgBlock, D::Error> {
        use serde::de::Error as _;
        let json = BlockJson::deserialize(d)?;
        let header = json.header;
        let n = json.transactions.len();
        if let Some(count) = json.txn_count
            && count != n as u64
        {
            return Err(D::Error::custom(format!(
                "txn_count is {count} but {n} transactions are listed"
            )));
        }
        let mut b = Vec::with_capacity(BLOCK_HEADER_LEN + varint_size(n as u64));
        b.extend_from_slice(&header.to_bytes());
        write_varint(&mut b, n as u64);
        for tx in json.transactions {
            tx.write(&mut b).map_err(D::Error::custom)?;
        }
        MsgBlock::from_payload(b, 0).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::hex::decode as from_hex;

    // Mainnet block 1 (btcd wire/msgblock_test.go blockOneBytes).
    const BLOCK1: &str = "010000006fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000982051fd1e4ba744bbbe680e1fee14677ba1a3c3540bf7b1cdb606e857233e0e61bc6649ffff001d01e362990101000000010000000000000000000000000000000000000000000000000000000000000000ffffffff0704ffff001d0104ffffffff0100f2052a0100000043410496b538e853519c726a2c91e61ec11600ae1390813a627c66fb8be7947be63c52da7589379515d4e0a604f8141781e62294721166bf621e73a82cbf2342c858eeac00000000";

    #[test]
    fn block_one() {
        let payload = from_hex(BLOCK1).expect("hex");
        let block = MsgBlock::from_payload(payload.clone(), 70016).expect("decodes");
        assert_eq!(
            block.block_hash().to_string(),
            "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048"
        );
        assert_eq!(block.tx_count(), 1);
        let tx = block.tx(0).expect("coinbase");
        assert!(tx.is_coinbase());
        assert_eq!(tx.byte_range(), 81..215);
        block.check_merkle_root().expect("merkle root");
        block.check_witness_commitment().expect("no witness data");
        let mut out = Vec::new();
        block.encode(&mut out, 70016);
        assert_eq!(out, payload);
        let json = serde_json::to_string(&block).expect("json");
        let back: MsgBlock = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, block);
        let rebuilt = MsgBlock::new(block.header, &[tx.to_msg_tx()]).expect("builds");
        assert_eq!(rebuilt, block);
    }
}
