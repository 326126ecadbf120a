//! The BIP157 `getcfheaders` and `cfheaders` messages. btcd counterpart:
//! `wire/msggetcfheaders.go`, `wire/msgcfheaders.go`.

use super::codec::{Reader, write_hashes};
use super::error::Error;
use super::hash::Hash;
use super::message::{MAX_VAR_INT_PAYLOAD, Payload};
use super::msg_cfilter::cf_range_request;

/// Most filter hashes one `cfheaders` may carry (btcd's `MaxCFHeadersPerMsg`, BIP157's
/// `MAX_GETCFHEADERS_SIZE`).
pub const MAX_CF_HEADERS_PER_MSG: usize = 2000;

/// Size of one filter hash or header.
pub const MAX_CF_HEADER_PAYLOAD: usize = 32;

cf_range_request!(
    /// A `getcfheaders` message: asks for filter headers of a range of blocks.
    MsgGetCFHeaders,
    "getcfheaders"
);

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
        let filter_hashes = r.read_hashes(
            "filter hashes",
            MAX_CF_HEADERS_PER_MSG as u64,
            "filter hash",
        )?;
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
        write_hashes(w, &self.filter_hashes);
    }

    fn max_payload_length(_pver: u32) -> usize {
        1 + 32 + 32 + MAX_VAR_INT_PAYLOAD + MAX_CF_HEADER_PAYLOAD * MAX_CF_HEADERS_PER_MSG
    }
}
