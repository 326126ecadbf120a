//! The BIP157 `getcfilters` and `cfilter` messages. btcd counterpart:
//! `wire/msggetcfilters.go`, `wire/msgcfilter.go`.

use super::codec::{Reader, write_var_bytes};
use super::error::Error;
use super::hash::Hash;
use super::message::Payload;

/// Largest committed filter (btcd's `MaxCFilterDataSize`): 256 KiB, well above any
/// filter a 4 MB block produces.
pub const MAX_CFILTER_DATA_SIZE: usize = 256 * 1024;

/// Most filters one `getcfilters` may ask for (BIP157's `MAX_GETCFILTERS_SIZE`).
pub const MAX_GET_CFILTERS_REQ_RANGE: u32 = 1000;

/// Defines a BIP157 request for a range of blocks (`getcfilters`, `getcfheaders`): filter
/// type, start height and stop hash, the same 37 bytes in both.
macro_rules! cf_range_request {
    ($(#[$doc:meta])* $name:ident, $command:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            /// The filter type (0: basic).
            pub filter_type: u8,
            /// Height of the first block.
            pub start_height: u32,
            /// Hash of the last block.
            pub stop_hash: Hash,
        }

        impl Payload for $name {
            const COMMAND: &'static str = $command;

            fn decode(r: &mut Reader<'_>, _pver: u32) -> Result<$name, Error> {
                Ok($name {
                    filter_type: r.read_u8("filter type")?,
                    start_height: r.read_u32_le("start height")?,
                    stop_hash: r.read_hash("stop hash")?,
                })
            }

            fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
                w.push(self.filter_type);
                w.extend_from_slice(&self.start_height.to_le_bytes());
                w.extend_from_slice(&self.stop_hash.0);
            }

            fn max_payload_length(_pver: u32) -> usize {
                1 + 4 + 32
            }
        }
    };
}
pub(super) use cf_range_request;

cf_range_request!(
    /// A `getcfilters` message: asks for the filters of a range of blocks.
    MsgGetCFilters,
    "getcfilters"
);

/// A `cfilter` message: one block's committed filter.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct MsgCFilter {
    /// The filter type (0: basic).
    pub filter_type: u8,
    /// The block the filter is for.
    pub block_hash: Hash,
    /// The filter, at most [`MAX_CFILTER_DATA_SIZE`] bytes.
    #[serde(with = "super::hex::serde")]
    pub data: Vec<u8>,
}

impl Payload for MsgCFilter {
    const COMMAND: &'static str = "cfilter";

    fn decode(r: &mut Reader<'_>, _pver: u32) -> Result<MsgCFilter, Error> {
        Ok(MsgCFilter {
            filter_type: r.read_u8("filter type")?,
            block_hash: r.read_hash("block hash")?,
            data: r
                .read_var_bytes("cfilter bytes", MAX_CFILTER_DATA_SIZE as u64)?
                .to_vec(),
        })
    }

    fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
        w.push(self.filter_type);
        w.extend_from_slice(&self.block_hash.0);
        write_var_bytes(w, &self.data);
    }

    fn max_payload_length(_pver: u32) -> usize {
        // Length varint 5 (the maximum needs 5 bytes), data, block hash 32, type 1.
        5 + MAX_CFILTER_DATA_SIZE + 32 + 1
    }
}
