//! The `tx` message: a transaction, legacy or segwit (BIP144), and the zero-copy table of
//! decoded transactions that `tx` and `block` share. btcd counterpart: `wire/msgtx.go`.
//!
//! Decoding is built for speed on whole blocks: the payload `Vec<u8>` is kept (behind an
//! `Arc`, so extracting a transaction from a block copies no script bytes) and every script
//! and witness item is a range into it. A block of thousands of transactions decodes into
//! four flat vectors (transactions, inputs, outputs, witness items) instead of thousands of
//! small allocations. Txids and wtxids are computed on demand by hashing slices of the
//! payload directly; for a segwit transaction the stripped serialization is not contiguous,
//! so it is hashed incrementally over its three pieces without copying. No threads; pure
//! functions of bytes.
//!
//! Every count is checked against btcd's limit before anything is reserved for it, and the
//! reservation is further capped by what the bytes left could possibly hold.

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::codec::{varint_size, write_varint};
use super::error::Error;
use super::hash::{HASH_SIZE, Hash, sha256d};
use super::hex;
use super::message::MAX_BLOCK_PAYLOAD;

/// btcd's `MaxMessagePayload` (32 MiB): the bound btcd derives its per-transaction limits
/// from. Any real payload is capped far lower (4,000,000 bytes) by the framer.
pub const BTCD_MAX_MESSAGE_PAYLOAD: u64 = 32 * 1024 * 1024;

/// The current latest transaction version btcd builds (`TxVersion`).
pub const TX_VERSION: i32 = 1;

/// The sequence number that disables relative lock time and nLockTime for an input
/// (`MaxTxInSequenceNum`).
pub const MAX_TX_IN_SEQUENCE_NUM: u32 = 0xffff_ffff;

/// The output index of a null previous outpoint, as in a coinbase input (`MaxPrevOutIndex`).
pub const MAX_PREV_OUT_INDEX: u32 = 0xffff_ffff;

/// Smallest serialized input: outpoint hash 32 + index 4 + script length varint 1 +
/// sequence 4 (`minTxInPayload`).
pub const MIN_TX_IN_PAYLOAD: u64 = 9 + HASH_SIZE as u64;

/// Most inputs a transaction that fits in a message could have (`maxTxInPerMessage`).
pub const MAX_TX_IN_PER_MESSAGE: u64 = BTCD_MAX_MESSAGE_PAYLOAD / MIN_TX_IN_PAYLOAD + 1;

/// Smallest serialized output: value 8 + script length varint 1 (`minTxOutPayload`).
pub const MIN_TX_OUT_PAYLOAD: u64 = 9;

/// Most outputs a transaction that fits in a message could have (`maxTxOutPerMessage`).
pub const MAX_TX_OUT_PER_MESSAGE: u64 = BTCD_MAX_MESSAGE_PAYLOAD / MIN_TX_OUT_PAYLOAD + 1;

/// Smallest serialized transaction: version 4 + input count 1 + output count 1 + lock time 4
/// (`minTxPayload`; a usable transaction has inputs and outputs, but that is a rule of a
/// higher layer).
pub const MIN_TX_PAYLOAD: u64 = 10;

/// Most witness items one input may carry (`maxWitnessItemsPerInput`): an item takes at
/// least one byte, and consensus caps a transaction's weight at 4,000,000.
pub const MAX_WITNESS_ITEMS_PER_INPUT: u64 = 4_000_000;

/// Largest witness item (`maxWitnessItemSize`): bounded only by the largest possible block,
/// because a taproot (segwit v1) script-path spend carries its script as a witness item and
/// tapscript has no script size limit.
pub const MAX_WITNESS_ITEM_SIZE: u64 = 4_000_000;

/// Largest signature or public key script btcd reads (`readScript` with
/// `MaxMessagePayload`); the payload cap makes anything near it impossible anyway.
pub const MAX_SCRIPT_SIZE: u64 = BTCD_MAX_MESSAGE_PAYLOAD;

/// First byte of the BIP144 flag field: a zero where the input count would be
/// (`TxFlagMarker`).
pub const TX_FLAG_MARKER: u8 = 0x00;

/// Second byte of the BIP144 flag field; the only flag defined is "has witness data"
/// (`WitnessFlag`).
pub const WITNESS_FLAG: u8 = 0x01;

/// A reference to an output of an earlier transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct OutPoint {
    /// Txid of the transaction holding the output.
    pub hash: Hash,
    /// Index of the output in that transaction.
    pub index: u32,
}

impl OutPoint {
    /// The null outpoint of a coinbase input (zero hash, index `0xffffffff`).
    pub const NULL: OutPoint = OutPoint {
        hash: Hash::ZERO,
        index: MAX_PREV_OUT_INDEX,
    };

    /// Whether this is the null outpoint a coinbase input spends.
    pub fn is_null(&self) -> bool {
        *self == OutPoint::NULL
    }
}

impl fmt::Display for OutPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.hash, self.index)
    }
}

/// An owned transaction input, for building transactions (btcd's `TxIn`). Decoded
/// transactions hand out [`TxInRef`] views instead.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxIn {
    /// The output this input spends.
    pub previous_out_point: OutPoint,
    /// The signature script (scriptSig).
    pub signature_script: Vec<u8>,
    /// The witness stack (empty for a non-segwit input).
    pub witness: Vec<Vec<u8>>,
    /// The sequence number.
    pub sequence: u32,
}

/// An owned transaction output, for building transactions (btcd's `TxOut`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxOut {
    /// Value in satoshis.
    pub value: i64,
    /// The public key script (scriptPubKey).
    pub pk_script: Vec<u8>,
}

// ---------------------------------------------------------------------------------------
// The table of decoded transactions.

/// Where one transaction lies in the buffer. All offsets are absolute buffer offsets; the
/// payload cap keeps them within u32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TxLoc {
    /// Offset of the version.
    start: u32,
    /// Offset one past the lock time.
    end: u32,
    /// Offset of the first witness stack, or 0 for a legacy transaction.
    witness_start: u32,
    /// Index of the first input in the table's inputs.
    first_in: u32,
    /// Number of inputs.
    n_in: u32,
    /// Index of the first output in the table's outputs.
    first_out: u32,
    /// Number of outputs.
    n_out: u32,
}

/// Where one input lies: the outpoint at `start`, then the script, then the sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InLoc {
    start: u32,
    script_start: u32,
    script_len: u32,
    /// Index of the first witness item in the table's items.
    first_item: u32,
    /// Number of witness items.
    n_items: u32,
}

/// Where one output lies: the value at `start`, then the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OutLoc {
    start: u32,
    script_start: u32,
    script_len: u32,
}

/// Where one witness item's bytes lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ItemLoc {
    start: u32,
    len: u32,
}

/// Decoded transactions as ranges into one shared buffer; the storage behind both
/// [`MsgTx`] (one transaction) and [`MsgBlock`](super::MsgBlock) (many).
#[derive(Clone, Default)]
pub(crate) struct TxTable {
    buf: Arc<Vec<u8>>,
    txs: Vec<TxLoc>,
    ins: Vec<InLoc>,
    outs: Vec<OutLoc>,
    items: Vec<ItemLoc>,
}

/// The error for a field that runs past the end of the input (kept out of the hot path).
#[cold]
fn eof(field: &'static str, needed: usize, remaining: usize) -> Error {
    Error::UnexpectedEof {
        field,
        needed,
        remaining,
    }
}

/// The error for a count over its limit.
#[cold]
fn too_many(what: &'static str, count: u64, max: u64) -> Error {
    Error::CountTooLarge { what, count, max }
}

/// Advances `pos` over `n` bytes and returns where they start.
#[inline(always)]
fn take(buf: &[u8], pos: &mut usize, n: usize, field: &'static str) -> Result<usize, Error> {
    let start = *pos;
    let remaining = buf.len() - start;
    if n > remaining {
        return Err(eof(field, n, remaining));
    }
    *pos = start + n;
    Ok(start)
}

/// Reads a canonical varint (the one-byte form inline, the rest out of line).
#[inline(always)]
fn varint(buf: &[u8], pos: &mut usize, field: &'static str) -> Result<u64, Error> {
    match buf.get(*pos) {
        Some(&b) if b < 0xfd => {
            *pos += 1;
            Ok(u64::from(b))
        }
        Some(_) => varint_long(buf, pos, field),
        None => Err(eof(field, 1, 0)),
    }
}

#[inline(never)]
fn varint_long(buf: &[u8], pos: &mut usize, field: &'static str) -> Result<u64, Error> {
    // The caller saw a prefix byte 0xfd..=0xff at *pos.
    let (len, min) = match buf[*pos] {
        0xfd => (3usize, 0xfdu64),
        0xfe => (5, 0x1_0000),
        _ => (9, 0x1_0000_0000),
    };
    let start = take(buf, pos, len, field)?;
    let mut le = [0u8; 8];
    le[..len - 1].copy_from_slice(&buf[start + 1..start + len]);
    let value = u64::from_le_bytes(le);
    if value < min {
        return Err(Error::NonCanonicalVarInt {
            value,
            encoded_len: len,
        });
    }
    Ok(value)
}

/// Reads a count and checks it against `max`.
#[inline(always)]
fn count(
    buf: &[u8],
    pos: &mut usize,
    field: &'static str,
    what: &'static str,
    max: u64,
) -> Result<usize, Error> {
    let n = varint(buf, pos, field)?;
    if n > max {
        return Err(too_many(what, n, max));
    }
    // max is far below u32::MAX, so the count fits in usize on every platform.
    Ok(n as usize)
}

#[inline(always)]
fn read_u32(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

impl TxTable {
    /// An empty table over `buf` with room for `txs` transactions and, for a block, roughly
    /// the inputs, outputs and witness items a typical block of that size holds (the
    /// vectors grow if the guess is low; one reallocation costs less than many).
    fn with_buffer(buf: Vec<u8>, txs: usize, block: bool) -> TxTable {
        let per = |bytes: usize| if block { buf.len() / bytes + 1 } else { 0 };
        TxTable {
            txs: Vec::with_capacity(txs),
            ins: Vec::with_capacity(per(160)),
            outs: Vec::with_capacity(per(120)),
            items: Vec::with_capacity(per(80)),
            buf: Arc::new(buf),
        }
    }

    /// Decodes `n` transactions starting at `pos`; returns the offset after the last.
    fn parse_txs(&mut self, mut pos: usize, n: usize) -> Result<usize, Error> {
        // Split borrows: the buffer is read while the vectors grow.
        let buf: &[u8] = &self.buf;
        let mut parts = Parts {
            txs: &mut self.txs,
            ins: &mut self.ins,
            outs: &mut self.outs,
            items: &mut self.items,
        };
        for _ in 0..n {
            pos = parse_tx(buf, pos, &mut parts)?;
        }
        Ok(pos)
    }

    /// Number of transactions.
    pub(crate) fn len(&self) -> usize {
        self.txs.len()
    }

    /// The whole buffer.
    pub(crate) fn buffer(&self) -> &[u8] {
        &self.buf
    }

    /// A view of transaction `i`.
    pub(crate) fn get(&self, i: usize) -> Option<TxRef<'_>> {
        self.txs.get(i).map(|loc| TxRef { table: self, loc })
    }

    /// Views of every transaction, in order.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = TxRef<'_>> + Clone + '_ {
        self.txs.iter().map(move |loc| TxRef { table: self, loc })
    }
}

/// The vectors a decode appends to.
struct Parts<'a> {
    txs: &'a mut Vec<TxLoc>,
    ins: &'a mut Vec<InLoc>,
    outs: &'a mut Vec<OutLoc>,
    items: &'a mut Vec<ItemLoc>,
}

/// Decodes one transaction at `pos` (BIP144 witness encoding, as btcd reads from peers that
/// advertise witness support) and appends its layout; returns the offset after it.
fn parse_tx(buf: &[u8], mut pos: usize, p: &mut Parts<'_>) -> Result<usize, Error> {
    let start = take(buf, &mut pos, 4, "tx version")?;
    let mut n_in = varint(buf, &mut pos, "tx input count")?;
    let mut segwit = false;
    if n_in == 0 {
        // A zero input count is the BIP144 marker; the flag byte follows.
        let at = take(buf, &mut pos, 1, "tx witness flag")?;
        let flag = buf[at];
        if flag != WITNESS_FLAG {
            return Err(Error::InvalidValue {
                field: "tx witness flag",
                reason: format!("witness tx but flag byte is {flag:02x}"),
            });
        }
        segwit = true;
        n_in = varint(buf, &mut pos, "tx input count")?;
    }
    if n_in > MAX_TX_IN_PER_MESSAGE {
        return Err(too_many("transaction inputs", n_in, MAX_TX_IN_PER_MESSAGE));
    }
    let n_in = n_in as usize;
    let first_in = p.ins.len();
    p.ins
        .reserve(n_in.min((buf.len() - pos) / MIN_TX_IN_PAYLOAD as usize));
    for _ in 0..n_in {
        let in_start = take(buf, &mut pos, 36, "previous outpoint")?;
        let script_len = count(
            buf,
            &mut pos,
            "signature script length",
            "signature script bytes",
            MAX_SCRIPT_SIZE,
        )?;
        let script_start = take(buf, &mut pos, script_len, "signature script")?;
        take(buf, &mut pos, 4, "tx input sequence")?;
        p.ins.push(InLoc {
            start: in_start as u32,
            script_start: script_start as u32,
            script_len: script_len as u32,
            first_item: 0,
            n_items: 0,
        });
    }

    let n_out = count(
        buf,
        &mut pos,
        "tx output count",
        "transaction outputs",
        MAX_TX_OUT_PER_MESSAGE,
    )?;
    let first_out = p.outs.len();
    p.outs
        .reserve(n_out.min((buf.len() - pos) / MIN_TX_OUT_PAYLOAD as usize));
    for _ in 0..n_out {
        let out_start = take(buf, &mut pos, 8, "tx output value")?;
        let script_len = count(
            buf,
            &mut pos,
            "public key script length",
            "public key script bytes",
            MAX_SCRIPT_SIZE,
        )?;
        let script_start = take(buf, &mut pos, script_len, "public key script")?;
        p.outs.push(OutLoc {
            start: out_start as u32,
            script_start: script_start as u32,
            script_len: script_len as u32,
        });
    }

    let mut witness_start = 0;
    if segwit {
        witness_start = pos;
        let mut any = false;
        for input in &mut p.ins[first_in..] {
            let n = count(
                buf,
                &mut pos,
                "witness item count",
                "witness items",
                MAX_WITNESS_ITEMS_PER_INPUT,
            )?;
            input.first_item = p.items.len() as u32;
            input.n_items = n as u32;
            any |= n != 0;
            // Each item takes at least its one-byte length.
            p.items.reserve(n.min(buf.len() - pos));
            for _ in 0..n {
                let len = count(
                    buf,
                    &mut pos,
                    "witness item length",
                    "witness item bytes",
                    MAX_WITNESS_ITEM_SIZE,
                )?;
                let item_start = take(buf, &mut pos, len, "witness item")?;
                p.items.push(ItemLoc {
                    start: item_start as u32,
                    len: len as u32,
                });
            }
        }
        if !any {
            // Core's "superfluous witness record", btcd's errSuperfluousWitnessRecord: these
            // bytes could not be written back, as a tx without witnesses encodes legacy.
            return Err(Error::InvalidValue {
                field: "tx witness",
                reason: "witness flag set but tx has no witnesses".to_string(),
            });
        }
    }
    take(buf, &mut pos, 4, "tx lock time")?;
    p.txs.push(TxLoc {
        start: start as u32,
        end: pos as u32,
        witness_start: witness_start as u32,
        first_in: first_in as u32,
        n_in: n_in as u32,
        first_out: first_out as u32,
        n_out: n_out as u32,
    });
    Ok(pos)
}

/// Fails if the payload is over [`MAX_BLOCK_PAYLOAD`] (which also keeps every offset in u32).
pub(crate) fn check_payload_len(len: usize, what: &'static str) -> Result<(), Error> {
    if len > MAX_BLOCK_PAYLOAD {
        return Err(too_many(what, len as u64, MAX_BLOCK_PAYLOAD as u64));
    }
    Ok(())
}

/// Decodes the transactions of a block payload: `count` transactions starting at `pos`.
/// Returns the table and the offset after the last transaction.
pub(crate) fn decode_block_txs(
    payload: Vec<u8>,
    pos: usize,
    count: usize,
) -> Result<(TxTable, usize), Error> {
    let hint = count.min((payload.len() - pos) / MIN_TX_PAYLOAD as usize);
    let mut table = TxTable::with_buffer(payload, hint, true);
    let end = table.parse_txs(pos, count)?;
    Ok((table, end))
}

// ---------------------------------------------------------------------------------------
// Views.

/// A view of one decoded transaction (in a [`MsgTx`] or a block).
#[derive(Clone, Copy)]
pub struct TxRef<'a> {
    table: &'a TxTable,
    loc: &'a TxLoc,
}

impl<'a> TxRef<'a> {
    fn buf(&self) -> &'a [u8] {
        &self.table.buf
    }

    /// The transaction's full serialization (with witness data if it has any).
    pub fn as_bytes(&self) -> &'a [u8] {
        &self.buf()[self.loc.start as usize..self.loc.end as usize]
    }

    /// Where the transaction lies in its message's payload (btcd's `TxLoc`).
    pub fn byte_range(&self) -> std::ops::Range<usize> {
        self.loc.start as usize..self.loc.end as usize
    }

    /// The transaction version.
    pub fn version(&self) -> i32 {
        read_u32(self.buf(), self.loc.start as usize) as i32
    }

    /// The lock time.
    pub fn lock_time(&self) -> u32 {
        read_u32(self.buf(), self.loc.end as usize - 4)
    }

    /// Whether the transaction carries witness data (it was encoded with the BIP144
    /// marker, and at least one input has a witness: the decoder insists on both).
    pub fn has_witness(&self) -> bool {
        self.loc.witness_start != 0
    }

    /// Number of inputs.
    pub fn input_count(&self) -> usize {
        self.loc.n_in as usize
    }

    /// Number of outputs.
    pub fn output_count(&self) -> usize {
        self.loc.n_out as usize
    }

    /// The inputs, in order.
    pub fn inputs(&self) -> impl ExactSizeIterator<Item = TxInRef<'a>> + Clone + use<'a> {
        let table = self.table;
        let first = self.loc.first_in as usize;
        table.ins[first..first + self.loc.n_in as usize]
            .iter()
            .map(move |loc| TxInRef { table, loc })
    }

    /// Input `i`, if there is one.
    pub fn input(&self, i: usize) -> Option<TxInRef<'a>> {
        (i < self.input_count()).then(|| TxInRef {
            table: self.table,
            loc: &self.table.ins[self.loc.first_in as usize + i],
        })
    }

    /// The outputs, in order.
    pub fn outputs(&self) -> impl ExactSizeIterator<Item = TxOutRef<'a>> + Clone + use<'a> {
        let table = self.table;
        let first = self.loc.first_out as usize;
        table.outs[first..first + self.loc.n_out as usize]
            .iter()
            .map(move |loc| TxOutRef { table, loc })
    }

    /// Output `i`, if there is one.
    pub fn output(&self, i: usize) -> Option<TxOutRef<'a>> {
        (i < self.output_count()).then(|| TxOutRef {
            table: self.table,
            loc: &self.table.outs[self.loc.first_out as usize + i],
        })
    }

    /// Whether this is a coinbase transaction: one input, spending the null outpoint.
    pub fn is_coinbase(&self) -> bool {
        self.input_count() == 1
            && self
                .input(0)
                .is_some_and(|i| i.previous_out_point().is_null())
    }

    /// The txid: double SHA-256 of the serialization without witness data (btcd's
    /// `TxHash`). Computed on each call; for a segwit transaction the three pieces of the
    /// stripped serialization are hashed in place, nothing is copied.
    pub fn txid(&self) -> Hash {
        let buf = self.buf();
        let (start, end) = (self.loc.start as usize, self.loc.end as usize);
        if !self.has_witness() {
            return sha256d(&buf[start..end]);
        }
        let mut h = Sha256::new();
        h.update(&buf[start..start + 4]);
        // Skip the marker and flag; inputs and outputs run up to the witness data.
        h.update(&buf[start + 6..self.loc.witness_start as usize]);
        h.update(&buf[end - 4..end]);
        Hash(Sha256::digest(h.finalize()).into())
    }

    /// The wtxid: double SHA-256 of the full serialization (BIP141; btcd's `WitnessHash`).
    /// Equal to the txid for a transaction without witness data.
    pub fn wtxid(&self) -> Hash {
        sha256d(self.as_bytes())
    }

    /// Serialized size with witness data, in bytes.
    pub fn size(&self) -> usize {
        (self.loc.end - self.loc.start) as usize
    }

    /// Serialized size without witness data, in bytes (btcd's `SerializeSizeStripped`).
    pub fn base_size(&self) -> usize {
        if !self.has_witness() {
            return self.size();
        }
        // Version and lock time, plus inputs and outputs (after the marker and flag).
        8 + (self.loc.witness_start - self.loc.start - 6) as usize
    }

    /// Transaction weight (BIP141): base size times three plus total size.
    pub fn weight(&self) -> usize {
        self.base_size() * 3 + self.size()
    }

    /// An owned transaction sharing this one's buffer (no script bytes are copied).
    pub fn to_msg_tx(&self) -> MsgTx {
        let t = self.table;
        let l = self.loc;
        let ins = &t.ins[l.first_in as usize..(l.first_in + l.n_in) as usize];
        let first_item = ins.first().map_or(0, |i| i.first_item);
        let n_items: u32 = ins.iter().map(|i| i.n_items).sum();
        let items = if self.has_witness() {
            t.items[first_item as usize..(first_item + n_items) as usize].to_vec()
        } else {
            Vec::new()
        };
        let table = TxTable {
            buf: Arc::clone(&t.buf),
            txs: vec![TxLoc {
                first_in: 0,
                first_out: 0,
                ..*l
            }],
            ins: ins
                .iter()
                .map(|i| InLoc {
                    first_item: i.first_item.saturating_sub(first_item),
                    ..*i
                })
                .collect(),
            outs: t.outs[l.first_out as usize..(l.first_out + l.n_out) as usize].to_vec(),
            items,
        };
        MsgTx { table }
    }

    /// The inputs as owned values.
    pub fn to_tx_ins(&self) -> Vec<TxIn> {
        self.inputs().map(|i| i.to_tx_in()).collect()
    }

    /// The outputs as owned values.
    pub fn to_tx_outs(&self) -> Vec<TxOut> {
        self.outputs().map(|o| o.to_tx_out()).collect()
    }
}

impl fmt::Debug for TxRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MsgTx")
            .field("txid", &self.txid())
            .field("version", &self.version())
            .field("tx_in", &self.inputs().collect::<Vec<_>>())
            .field("tx_out", &self.outputs().collect::<Vec<_>>())
            .field("lock_time", &self.lock_time())
            .finish()
    }
}

/// A view of one input of a decoded transaction.
#[derive(Clone, Copy)]
pub struct TxInRef<'a> {
    table: &'a TxTable,
    loc: &'a InLoc,
}

impl<'a> TxInRef<'a> {
    /// The output this input spends.
    pub fn previous_out_point(&self) -> OutPoint {
        let at = self.loc.start as usize;
        let b = &self.table.buf[at..at + 36];
        let mut hash = [0u8; HASH_SIZE];
        hash.copy_from_slice(&b[..32]);
        OutPoint {
            hash: Hash(hash),
            index: read_u32(b, 32),
        }
    }

    /// The signature script (scriptSig).
    pub fn signature_script(&self) -> &'a [u8] {
        let s = self.loc.script_start as usize;
        &self.table.buf[s..s + self.loc.script_len as usize]
    }

    /// The sequence number.
    pub fn sequence(&self) -> u32 {
        read_u32(
            &self.table.buf,
            (self.loc.script_start + self.loc.script_len) as usize,
        )
    }

    /// The witness stack (empty for a non-segwit input).
    pub fn witness(&self) -> Witness<'a> {
        let first = self.loc.first_item as usize;
        Witness {
            buf: &self.table.buf,
            items: &self.table.items[first..first + self.loc.n_items as usize],
        }
    }

    /// The input as an owned value.
    pub fn to_tx_in(&self) -> TxIn {
        TxIn {
            previous_out_point: self.previous_out_point(),
            signature_script: self.signature_script().to_vec(),
            witness: self.witness().iter().map(<[u8]>::to_vec).collect(),
            sequence: self.sequence(),
        }
    }
}

impl fmt::Debug for TxInRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxIn")
            .field("previous_out_point", &self.previous_out_point())
            .field("signature_script", &hex::encode(self.signature_script()))
            .field("witness", &self.witness())
            .field("sequence", &self.sequence())
            .finish()
    }
}

/// The witness stack of one input: items as slices of the payload.
#[derive(Clone, Copy)]
pub struct Witness<'a> {
    buf: &'a [u8],
    items: &'a [ItemLoc],
}

impl<'a> Witness<'a> {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the stack is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Item `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let buf = self.buf;
        self.items
            .get(i)
            .map(|l| &buf[l.start as usize..(l.start + l.len) as usize])
    }

    /// The items, bottom of the stack first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + Clone + use<'a> {
        let buf = self.buf;
        self.items
            .iter()
            .map(move |l| &buf[l.start as usize..(l.start + l.len) as usize])
    }
}

impl fmt::Debug for Witness<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(hex::encode))
            .finish()
    }
}

/// A view of one output of a decoded transaction.
#[derive(Clone, Copy)]
pub struct TxOutRef<'a> {
    table: &'a TxTable,
    loc: &'a OutLoc,
}

impl<'a> TxOutRef<'a> {
    /// Value in satoshis.
    pub fn value(&self) -> i64 {
        let at = self.loc.start as usize;
        let mut v = [0u8; 8];
        v.copy_from_slice(&self.table.buf[at..at + 8]);
        i64::from_le_bytes(v)
    }

    /// The public key script (scriptPubKey).
    pub fn pk_script(&self) -> &'a [u8] {
        let s = self.loc.script_start as usize;
        &self.table.buf[s..s + self.loc.script_len as usize]
    }

    /// The output as an owned value.
    pub fn to_tx_out(&self) -> TxOut {
        TxOut {
            value: self.value(),
            pk_script: self.pk_script().to_vec(),
        }
    }
}

impl fmt::Debug for TxOutRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxOut")
            .field("value", &self.value())
            .field("pk_script", &hex::encode(self.pk_script()))
            .finish()
    }
}

// ---------------------------------------------------------------------------------------
// MsgTx.

/// A transaction (the `tx` message), decoded zero-copy over its payload.
///
/// Read it through [`MsgTx::tx`] (or the shortcuts [`MsgTx::txid`], [`MsgTx::inputs`], ...);
/// build one with [`MsgTx::new`]. Two transactions are equal when their serializations are
/// (the decoder accepts only one encoding of each transaction).
#[derive(Clone)]
pub struct MsgTx {
    table: TxTable,
}

impl MsgTx {
    /// Decodes a `tx` payload (BIP144 witness encoding), taking ownership of its buffer.
    /// `pver` does not change the encoding of a transaction.
    pub fn from_payload(payload: Vec<u8>, _pver: u32) -> Result<MsgTx, Error> {
        check_payload_len(payload.len(), "tx payload bytes")?;
        let mut table = TxTable::with_buffer(payload, 1, false);
        let end = table.parse_txs(0, 1)?;
        let extra = table.buf.len() - end;
        if extra != 0 {
            return Err(Error::TrailingBytes {
                command: "tx".to_string(),
                extra,
            });
        }
        Ok(MsgTx { table })
    }

    /// Builds a transaction from its parts. Inputs with witness stacks make it a segwit
    /// transaction. Fails for what could not be decoded back: no inputs (the encoding
    /// would be read as the BIP144 marker) or a part over its limit.
    pub fn new(
        version: i32,
        tx_in: &[TxIn],
        tx_out: &[TxOut],
        lock_time: u32,
    ) -> Result<MsgTx, Error> {
        let mut b = Vec::new();
        write_tx(&mut b, version, tx_in, tx_out, lock_time);
        MsgTx::from_payload(b, 0)
    }

    /// Appends the payload encoding (the transaction's serialization with witness data).
    pub fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
        w.extend_from_slice(self.tx().as_bytes());
    }

    /// The largest payload a `tx` message may have (btcd: `MaxBlockPayload`).
    pub fn max_payload_length(_pver: u32) -> usize {
        MAX_BLOCK_PAYLOAD
    }

    /// The transaction's view, with every accessor.
    pub fn tx(&self) -> TxRef<'_> {
        TxRef {
            table: &self.table,
            // from_payload and to_msg_tx always leave exactly one transaction.
            loc: &self.table.txs[0],
        }
    }

    /// The txid (hash of the serialization without witness data).
    pub fn txid(&self) -> Hash {
        self.tx().txid()
    }

    /// The wtxid (hash of the full serialization).
    pub fn wtxid(&self) -> Hash {
        self.tx().wtxid()
    }

    /// The transaction version.
    pub fn version(&self) -> i32 {
        self.tx().version()
    }

    /// The lock time.
    pub fn lock_time(&self) -> u32 {
        self.tx().lock_time()
    }

    /// Whether the transaction carries witness data.
    pub fn has_witness(&self) -> bool {
        self.tx().has_witness()
    }

    /// The inputs, in order.
    pub fn inputs(&self) -> impl ExactSizeIterator<Item = TxInRef<'_>> + Clone + '_ {
        self.tx().inputs()
    }

    /// The outputs, in order.
    pub fn outputs(&self) -> impl ExactSizeIterator<Item = TxOutRef<'_>> + Clone + '_ {
        self.tx().outputs()
    }

    /// The transaction's serialization with witness data.
    pub fn as_bytes(&self) -> &[u8] {
        self.tx().as_bytes()
    }
}

impl fmt::Debug for MsgTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.tx().fmt(f)
    }
}

impl PartialEq for MsgTx {
    fn eq(&self, other: &MsgTx) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for MsgTx {}

/// Appends the serialization of a transaction given by its parts: BIP144 witness encoding
/// when any input has a witness, legacy otherwise (btcd's `BtcEncode` with
/// `WitnessEncoding`).
pub fn write_tx(w: &mut Vec<u8>, version: i32, tx_in: &[TxIn], tx_out: &[TxOut], lock_time: u32) {
    let segwit = tx_in.iter().any(|i| !i.witness.is_empty());
    w.extend_from_slice(&version.to_le_bytes());
    if segwit {
        w.extend_from_slice(&[TX_FLAG_MARKER, WITNESS_FLAG]);
    }
    write_varint(w, tx_in.len() as u64);
    for i in tx_in {
        w.extend_from_slice(&i.previous_out_point.hash.0);
        w.extend_from_slice(&i.previous_out_point.index.to_le_bytes());
        write_varint(w, i.signature_script.len() as u64);
        w.extend_from_slice(&i.signature_script);
        w.extend_from_slice(&i.sequence.to_le_bytes());
    }
    write_varint(w, tx_out.len() as u64);
    for o in tx_out {
        w.extend_from_slice(&o.value.to_le_bytes());
        write_varint(w, o.pk_script.len() as u64);
        w.extend_from_slice(&o.pk_script);
    }
    if segwit {
        for i in tx_in {
            write_varint(w, i.witness.len() as u64);
            for item in &i.witness {
                write_varint(w, item.len() as u64);
                w.extend_from_slice(item);
            }
        }
    }
    w.extend_from_slice(&lock_time.to_le_bytes());
}

/// Serialized size of a transaction given by its parts, as [`write_tx`] writes it.
pub fn tx_serialize_size(tx_in: &[TxIn], tx_out: &[TxOut]) -> usize {
    let segwit = tx_in.iter().any(|i| !i.witness.is_empty());
    let mut n = 8 + varint_size(tx_in.len() as u64) + varint_size(tx_out.len() as u64);
    for i in tx_in {
        n += 40 + varint_size(i.signature_script.len() as u64) + i.signature_script.len();
        if segwit {
            n += varint_size(i.witness.len() as u64);
            n += i
                .witness
                .iter()
                .map(|w| varint_size(w.len() as u64) + w.len())
                .sum::<usize>();
        }
    }
    for o in tx_out {
        n += 8 + varint_size(o.pk_script.len() as u64) + o.pk_script.len();
    }
    if segwit { n + 2 } else { n }
}

// ---------------------------------------------------------------------------------------
// JSON (the `btcnode decode` / `encode` tool). The shape follows ../shared/vectors/wire.json:
// hashes in display hex, scripts and witness items in hex, sequence as "0x..." hex; txid,
// wtxid and has_witness_marker are printed for operators and checked when read back.

/// A u32 written as "0x" hex in JSON (sequence numbers, difficulty bits); a plain number is
/// accepted when read.
pub(crate) mod hex_u32 {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `v` as "0x%08x".
    pub fn serialize<S: Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{v:#010x}"))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Num(u32),
        Str(String),
    }

    /// Reads "0x..." hex or a number.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        match Either::deserialize(d)? {
            Either::Num(n) => Ok(n),
            Either::Str(s) => {
                let digits = s
                    .strip_prefix("0x")
                    .or_else(|| s.strip_prefix("0X"))
                    .ok_or_else(|| serde::de::Error::custom(format!("want 0x hex, got {s:?}")))?;
                u32::from_str_radix(digits, 16)
                    .map_err(|e| serde::de::Error::custom(format!("bad hex u32 {s:?}: {e}")))
            }
        }
    }
}

/// Hex wrapper so witness stacks serialize as lists of hex strings.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
struct HexItem(#[serde(with = "hex::serde")] Vec<u8>);

/// An input as JSON.
#[derive(serde::Deserialize)]
struct TxInJson {
    prev_hash: Hash,
    prev_index: u32,
    #[serde(with = "hex::serde")]
    sig_script: Vec<u8>,
    #[serde(with = "hex_u32")]
    sequence: u32,
    #[serde(default)]
    witness: Vec<HexItem>,
}

/// An output as JSON.
#[derive(serde::Deserialize)]
struct TxOutJson {
    value: i64,
    #[serde(with = "hex::serde")]
    pk_script: Vec<u8>,
}

/// A transaction as JSON, as read back.
#[derive(serde::Deserialize)]
pub(crate) struct TxJson {
    version: i32,
    #[serde(default)]
    has_witness_marker: Option<bool>,
    lock_time: u32,
    tx_in: Vec<TxInJson>,
    tx_out: Vec<TxOutJson>,
    #[serde(default)]
    txid: Option<Hash>,
    #[serde(default)]
    wtxid: Option<Hash>,
}

impl TxJson {
    /// Appends the transaction's serialization after checking the redundant fields.
    pub(crate) fn write(self, w: &mut Vec<u8>) -> Result<(), String> {
        let tx_in: Vec<TxIn> = self
            .tx_in
            .into_iter()
            .map(|i| TxIn {
                previous_out_point: OutPoint {
                    hash: i.prev_hash,
                    index: i.prev_index,
                },
                signature_script: i.sig_script,
                witness: i.witness.into_iter().map(|h| h.0).collect(),
                sequence: i.sequence,
            })
            .collect();
        let tx_out: Vec<TxOut> = self
            .tx_out
            .into_iter()
            .map(|o| TxOut {
                value: o.value,
                pk_script: o.pk_script,
            })
            .collect();
        let segwit = tx_in.iter().any(|i| !i.witness.is_empty());
        if let Some(marker) = self.has_witness_marker
            && marker != segwit
        {
            return Err(format!(
                "has_witness_marker is {marker} but {} input has a witness",
                if segwit { "an" } else { "no" }
            ));
        }
        let start = w.len();
        write_tx(w, self.version, &tx_in, &tx_out, self.lock_time);
        if self.txid.is_some() || self.wtxid.is_some() {
            let tx = MsgTx::from_payload(w[start..].to_vec(), 0).map_err(|e| e.to_string())?;
            for (name, want, got) in [
                ("txid", self.txid, tx.txid()),
                ("wtxid", self.wtxid, tx.wtxid()),
            ] {
                if let Some(want) = want
                    && want != got
                {
                    return Err(format!("{name} {want} does not match the fields ({got})"));
                }
            }
        }
        Ok(())
    }
}

impl serde::Serialize for TxRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("MsgTx", 7)?;
        st.serialize_field("version", &self.version())?;
        st.serialize_field("has_witness_marker", &self.has_witness())?;
        st.serialize_field("lock_time", &self.lock_time())?;
        let segwit = self.has_witness();
        st.serialize_field("tx_in", &SerSeq(self.inputs().map(|i| InJson(i, segwit))))?;
        st.serialize_field("tx_out", &SerSeq(self.outputs()))?;
        st.serialize_field("txid", &self.txid())?;
        st.serialize_field("wtxid", &self.wtxid())?;
        st.end()
    }
}

impl serde::Serialize for TxInRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&InJson(*self, !self.witness().is_empty()), s)
    }
}

/// An input as JSON; `witness` is written for every input of a segwit transaction.
struct InJson<'a>(TxInRef<'a>, bool);

impl serde::Serialize for InJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let InJson(input, with_witness) = self;
        let w = input.witness();
        let mut st = s.serialize_struct("TxIn", 5)?;
        let op = input.previous_out_point();
        st.serialize_field("prev_hash", &op.hash)?;
        st.serialize_field("prev_index", &op.index)?;
        st.serialize_field("sig_script", &hex::encode(input.signature_script()))?;
        st.serialize_field("sequence", &format_args!("{:#010x}", input.sequence()))?;
        if *with_witness {
            st.serialize_field("witness", &SerSeq(w.iter().map(hex::encode)))?;
        } else {
            st.skip_field("witness")?;
        }
        st.end()
    }
}

impl serde::Serialize for TxOutRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("TxOut", 2)?;
        st.serialize_field("value", &self.value())?;
        st.serialize_field("pk_script", &hex::encode(self.pk_script()))?;
        st.end()
    }
}

/// Serializes an iterator as a sequence.
pub(crate) struct SerSeq<I>(pub(crate) I);

impl<I> serde::Serialize for SerSeq<I>
where
    I: Iterator + Clone,
    I::Item: serde::Serialize,
{
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.clone())
    }
}

impl serde::Serialize for MsgTx {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.tx().serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for MsgTx {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<MsgTx, D::Error> {
        let json = TxJson::deserialize(d)?;
        let mut b = Vec::new();
        json.write(&mut b).map_err(serde::de::Error::custom)?;
        MsgTx::from_payload(b, 0).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        super::hex::decode(s).expect("test hex")
    }

    // btcd wire/msgtx_test.go multiWitnessTxEncoded.
    const SEGWIT: &str = "01000000000101a53352d5135766f03076597418263da2d9c958315968fea823529467481ff9cd1300000000ffffffff010b070600000000001600149ddac6f39d51e0398e532a22c41ba189406a852302463043021f4d2381dc97f182abd8185f51753018523212f5ddc07cc4e63a8dc03658da190220608b5c4d92b86b6de7d78ef23a2fa735bcb59b914a48b0e187c5e7569a18197001210307ead084807eb76346df6977000c89392f45c76425b26181f521d7f370066a8f00000000";

    #[test]
    fn segwit_tx_hashes_and_views() {
        let tx = MsgTx::from_payload(hex(SEGWIT), 70016).expect("decodes");
        assert_eq!(
            tx.txid().to_string(),
            "0f167d1385a84d1518cfee208b653fc9163b605ccf1b75347e2850b3e2eb19f3"
        );
        assert_eq!(
            tx.wtxid().to_string(),
            "0858eab78e77b6b033da30f46699996396cf48fcf625a783c85a51403e175e74"
        );
        let t = tx.tx();
        assert!(t.has_witness());
        assert_eq!(t.input_count(), 1);
        let input = t.input(0).expect("one input");
        assert_eq!(input.previous_out_point().index, 19);
        assert_eq!(input.sequence(), 0xffff_ffff);
        assert_eq!(input.witness().len(), 2);
        assert_eq!(t.output(0).expect("out").value(), 395_019);
        assert_eq!(t.size(), 190);
        let owned = MsgTx::new(1, &t.to_tx_ins(), &t.to_tx_outs(), 0).expect("builds");
        assert_eq!(owned, tx);
        assert_eq!(tx_serialize_size(&t.to_tx_ins(), &t.to_tx_outs()), 190);
        assert_eq!((t.base_size(), t.weight()), (82, 82 * 3 + 190));
    }

    #[test]
    fn json_round_trip() {
        let tx = MsgTx::from_payload(hex(SEGWIT), 70016).expect("decodes");
        let json = serde_json::to_string(&tx).expect("json");
        let back: MsgTx = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, tx);
        let bad = json.replace(
            "\"has_witness_marker\":true",
            "\"has_witness_marker\":false",
        );
        assert!(serde_json::from_str::<MsgTx>(&bad).is_err());
    }

    #[test]
    fn no_inputs_is_rejected_as_bad_flag() {
        let err = MsgTx::new(1, &[], &[], 0).expect_err("ambiguous");
        assert!(matches!(
            err,
            Error::InvalidValue {
                field: "tx witness flag",
                ..
            }
        ));
    }
}
