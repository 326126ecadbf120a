//! The BIP157 `getcfheaders` and `cfheaders` messages. btcd counterpart:
//! `wire/msggetcfheaders.go`, `wire/msgcfheaders.go`.

use super::codec::{Reader, write_varint};
use super::error::Error;
use super::hash::Hash;
use super::message::{MAX_VAR_INT_PAYLOAD, Payload};

/// Most filter hashes one `cfheaders` may carry (btcd's `MaxCFHeadersPerMsg`, BIP157's
/// `MAX_GETCFHEADERS_SIZE`).
pub const MAX_CF_HEADERS_PER_MSG: usize = 2000;

/// Size of one filter hash or header.
pub const MAX_CF_HEADER_PAYLOAD: usize = 32;

/// A `getcfheaders` message: asks for filter headers of a range of blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct MsgGetCFHeaders {
    /// The filter type (0: basic).
    pub filter_type: u8,
    /// Height of the first block.
    pub start_height: u32,
    /// Hash of the last block.
    pub stop_hash: Hash,
}

impl Payload for MsgGetCFHeaders {
    const COMMAND: &'static str = "getcfheaders";

    fn decode(r: &mut Reader<'_>, _pver: u32) -> Result<MsgGetCFHeaders, Error> {
        Ok(MsgGetCFHeaders {
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

/// A `cfheaders` message: filter hashes for a range, chained from a previous header.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct MsgCFHeaders {
    /// The filter type (0: basic).
    pub filter_type: u8,
    /// Hash of the last block of the range.
    pub stop_hash: Hash,
    /// The filter header before the range.
    pub prev_filter_header: Hash,
    /// The filter hashes, at most [`MAX_CF_HEADERS_PER_MSG`].
    pub filter_hashes: Vec<Hash>,
}

impl Payload for MsgCFHeaders {
    const COMMAND: &'static str = "cfheaders";

    fn decode(r: &mut Reader<'_>, _pver: u32) -> Result<MsgCFHeaders, Error> {
        let filter_type = r.read_u8("filter type")?;
        let stop_hash = r.read_hash("stop hash")?;
        let prev_filter_header = r.read_hash("previous filter header")?;
        let count = r.read_count_of(
            "filter hashes",
            MAX_CF_HEADERS_PER_MSG as u64,
            MAX_CF_HEADER_PAYLOAD,
        )?;
        let mut filter_hashes = Vec::with_capacity(count);
        for _ in 0..count {
            filter_hashes.push(r.read_hash("filter hash")?);
        }
        Ok(MsgCFHeaders {
            filter_type,
            stop_hash,
            prev_filter_header,
            filter_hashes,
        })
    }

    fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
        w.push(self.filter_type);
        w.extend_from_slice(&self.stop_hash.0);
        w.extend_from_slice(&self.prev_filter_header.0);
        write_varint(w, self.filter_hashes.len() as u64);
        for h in &self.filter_hashes {
            w.extend_from_slice(&h.0);
        }
    }

    fn max_payload_length(_pver: u32) -> usize {
        1 + 32 + 32 + MAX_VAR_INT_PAYLOAD + MAX_CF_HEADER_PAYLOAD * MAX_CF_HEADERS_PER_MSG
    }
}
