//! The exact framed size of a message without encoding it: what a peer's send budget counts
//! for each queued message (Bitcoin Core's `CNode::nSendSize` counts the serialized bytes of
//! every queued message the same way). btcd counterpart: none (btcd has no send budget).
//!
//! The messages a node queues in bulk (`headers`, `inv`, `getdata`, `block`, `tx`, pings)
//! are computed from their fields; rarer ones are encoded into a scratch buffer, which is
//! exact by construction. The tests check every message against [`encode_message`].
//!
//! [`encode_message`]: super::framing::encode_message

use super::block_header::BLOCK_HEADER_LEN;
use super::codec::varint_size;
use super::message::Message;
use super::message_header::MESSAGE_HEADER_SIZE;
use super::protocol::BIP0031_VERSION;

/// One inventory vector on the wire: type 4, hash 32.
const INV_VECT_LEN: usize = 36;

/// A hash on the wire.
const HASH_LEN: usize = 32;

impl Message {
    /// The bytes [`encode_payload`](Message::encode_payload) writes at `pver`.
    pub fn payload_len(&self, pver: u32) -> usize {
        let count = |n: usize| varint_size(n as u64);
        match self {
            Message::Verack
            | Message::GetAddr
            | Message::SendAddrV2
            | Message::MemPool
            | Message::SendHeaders
            | Message::FilterClear
            | Message::WtxidRelay => 0,
            // Before BIP31 a ping has no nonce.
            Message::Ping(_) if pver <= BIP0031_VERSION => 0,
            Message::Ping(_) | Message::Pong(_) | Message::FeeFilter(_) => 8,
            Message::Inv(m) => count(m.inv_list.len()) + INV_VECT_LEN * m.inv_list.len(),
            Message::GetData(m) => count(m.inv_list.len()) + INV_VECT_LEN * m.inv_list.len(),
            Message::NotFound(m) => count(m.inv_list.len()) + INV_VECT_LEN * m.inv_list.len(),
            Message::GetBlocks(m) => {
                let n = m.block_locator_hashes.len();
                4 + count(n) + HASH_LEN * n + HASH_LEN
            }
            Message::GetHeaders(m) => {
                let n = m.block_locator_hashes.len();
                4 + count(n) + HASH_LEN * n + HASH_LEN
            }
            Message::Headers(m) => {
                count(m.headers.len()) + (BLOCK_HEADER_LEN + 1) * m.headers.len()
            }
            Message::Block(m) => m.serialize_size(),
            Message::Tx(m) => m.tx().as_bytes().len(),
            Message::Unknown { payload, .. } => payload.len(),
            other => {
                let mut scratch = Vec::new();
                other.encode_payload(&mut scratch, pver);
                scratch.len()
            }
        }
    }

    /// The bytes the message takes on the wire at `pver`: its payload plus the 24-byte
    /// header. This is what a peer's send budget charges for it.
    pub fn encoded_len(&self, pver: u32) -> usize {
        MESSAGE_HEADER_SIZE + self.payload_len(pver)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::*;

    fn header(n: u32) -> BlockHeader {
        BlockHeader {
            version: 1,
            prev_block: Hash::ZERO,
            merkle_root: Hash::ZERO,
            timestamp: n,
            bits: 0x207f_ffff,
            nonce: n,
        }
    }

    #[test]
    fn encoded_len_equals_the_real_encoding() {
        let iv = |n: u8| InvVect {
            inv_type: InvType::BLOCK,
            hash: Hash([n; 32]),
        };
        let na = NetAddress::from_socket_addr(([127, 0, 0, 1], 8333).into(), ServiceFlag::NONE);
        let mut msgs = vec![
            Message::Verack,
            Message::GetAddr,
            Message::SendAddrV2,
            Message::SendHeaders,
            Message::WtxidRelay,
            Message::Ping(MsgPing { nonce: 1 }),
            Message::Pong(MsgPong { nonce: 2 }),
            Message::FeeFilter(MsgFeeFilter { min_fee: 1000 }),
            Message::Addr(MsgAddr {
                addr_list: vec![na; 3],
            }),
            Message::AddrV2(MsgAddrV2 {
                addr_list: vec![na; 3],
            }),
            Message::Reject(MsgReject::new("tx", 0x10, "bad", Hash::ZERO)),
            Message::Unknown {
                command: "bogus".into(),
                payload: vec![7; 300],
            },
        ];
        for n in [0usize, 1, 252, 253, 2000] {
            let ivs: Vec<InvVect> = (0..n).map(|i| iv(i as u8)).collect();
            msgs.push(Message::Inv(MsgInv {
                inv_list: ivs.clone(),
            }));
            msgs.push(Message::GetData(MsgGetData {
                inv_list: ivs.clone(),
            }));
            msgs.push(Message::NotFound(MsgNotFound { inv_list: ivs }));
            msgs.push(Message::Headers(MsgHeaders {
                headers: (0..n as u32).map(header).collect(),
            }));
        }
        for n in [0usize, 1, 101] {
            let loc: Vec<Hash> = (0..n).map(|i| Hash([i as u8; 32])).collect();
            msgs.push(Message::GetHeaders(MsgGetHeaders {
                protocol_version: 70016,
                block_locator_hashes: loc.clone(),
                hash_stop: Hash::ZERO,
            }));
            msgs.push(Message::GetBlocks(MsgGetBlocks {
                protocol_version: 70016,
                block_locator_hashes: loc,
                hash_stop: Hash::ZERO,
            }));
        }
        for pver in [209u32, 60002, 70016] {
            for m in &msgs {
                let Ok(real) = encode_message(m, pver, 0xdab5_bffa) else {
                    continue; // not sendable at this version
                };
                assert_eq!(m.encoded_len(pver), real.len(), "{} at {pver}", m.command());
            }
        }
    }
}
