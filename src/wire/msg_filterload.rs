//! The `filterload` message (BIP37): a bloom filter for transactions. btcd counterpart:
//! `wire/msgfilterload.go`.

use super::codec::{Reader, write_var_bytes};
use super::error::Error;
use super::message::{Payload, require_version};
use super::protocol::BIP0037_VERSION;

/// Largest bloom filter (BIP37's `MAX_BLOOM_FILTER_SIZE`): beyond 36,000 bytes a filter
/// stops helping privacy and only costs the serving node.
pub const MAX_FILTER_LOAD_FILTER_SIZE: usize = 36_000;

/// Most hash functions a filter may use (BIP37's `MAX_HASH_FUNCS`): bounds the work per
/// element the serving node does.
pub const MAX_FILTER_LOAD_HASH_FUNCS: u32 = 50;

/// A `filterload` message.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct MsgFilterLoad {
    /// The filter bits.
    #[serde(with = "super::hex::serde")]
    pub filter: Vec<u8>,
    /// Number of hash functions.
    pub hash_funcs: u32,
    /// Random tweak added to the hash seeds.
    pub tweak: u32,
    /// How matches update the filter (btcd's `BloomUpdateType`: 0 none, 1 all, 2 p2pubkey
    /// only).
    pub flags: u8,
}

impl Payload for MsgFilterLoad {
    const COMMAND: &'static str = "filterload";

    fn decode(r: &mut Reader<'_>, pver: u32) -> Result<MsgFilterLoad, Error> {
        require_version(Self::COMMAND, pver, BIP0037_VERSION)?;
        let filter = r
            .read_var_bytes("filter bytes", MAX_FILTER_LOAD_FILTER_SIZE as u64)?
            .to_vec();
        let hash_funcs = r.read_u32_le("filter hash functions")?;
        let tweak = r.read_u32_le("filter tweak")?;
        let flags = r.read_u8("filter flags")?;
        if hash_funcs > MAX_FILTER_LOAD_HASH_FUNCS {
            return Err(Error::CountTooLarge {
                what: "filter hash functions",
                count: u64::from(hash_funcs),
                max: u64::from(MAX_FILTER_LOAD_HASH_FUNCS),
            });
        }
        Ok(MsgFilterLoad {
            filter,
            hash_funcs,
            tweak,
            flags,
        })
    }

    fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
        write_var_bytes(w, &self.filter);
        w.extend_from_slice(&self.hash_funcs.to_le_bytes());
        w.extend_from_slice(&self.tweak.to_le_bytes());
        w.push(self.flags);
    }

    fn max_payload_length(_pver: u32) -> usize {
        // Filter length varint 3, filter, hash funcs 4, tweak 4, flags 1.
        3 + MAX_FILTER_LOAD_FILTER_SIZE + 9
    }
}
