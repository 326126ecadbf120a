//! The BIP157 `getcfcheckpt` and `cfcheckpt` messages. btcd counterpart:
//! `wire/msggetcfcheckpt.go`, `wire/msgcfcheckpt.go`.

use super::codec::{Reader, write_hashes};
use super::error::Error;
use super::hash::Hash;
use super::message::{MAX_MESSAGE_PAYLOAD, Payload};

/// Blocks between two filter checkpoints (btcd's `CFCheckptInterval`).
pub const CF_CHECKPT_INTERVAL: u32 = 1000;

/// Most checkpoints one `cfcheckpt` may carry. btcd bounds the message only by the general
/// maximum (the count grows with the chain), so this is how many 32-byte headers fit.
pub const MAX_CF_CHECKPTS_PER_MSG: usize = (MAX_MESSAGE_PAYLOAD - 1 - 32 - 9) / 32;

/// A `getcfcheckpt` message: asks for filter headers at every checkpoint up to a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct MsgGetCFCheckpt {
    /// The filter type (0: basic).
    pub filter_type: u8,
    /// Hash of the last block.
    pub stop_hash: Hash,
}

impl Payload for MsgGetCFCheckpt {
    const COMMAND: &'static str = "getcfcheckpt";

    fn decode(r: &mut Reader<'_>, _pver: u32) -> Result<MsgGetCFCheckpt, Error> {
        Ok(MsgGetCFCheckpt {
            filter_type: r.read_u8("filter type")?,
            stop_hash: r.read_hash("stop hash")?,
        })
    }

    fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
        w.push(self.filter_type);
        w.extend_from_slice(&self.stop_hash.0);
    }

    fn max_payload_length(_pver: u32) -> usize {
        1 + 32
    }
}

/// A `cfcheckpt` message: filter headers every [`CF_CHECKPT_INTERVAL`] blocks.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct MsgCFCheckpt {
    /// The filter type (0: basic).
    pub filter_type: u8,
    /// Hash of the last block.
    pub stop_hash: Hash,
    /// The filter headers.
    pub filter_headers: Vec<Hash>,
}

impl Payload for MsgCFCheckpt {
    const COMMAND: &'static str = "cfcheckpt";

    fn decode(r: &mut Reader<'_>, _pver: u32) -> Result<MsgCFCheckpt, Error> {
        let filter_type = r.read_u8("filter type")?;
        let stop_hash = r.read_hash("stop hash")?;
        let filter_headers = r.read_hashes(
            "filter headers",
            MAX_CF_CHECKPTS_PER_MSG as u64,
            "filter header",
        )?;
        Ok(MsgCFCheckpt {
            filter_type,
            stop_hash,
            filter_headers,
        })
    }

    fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
        w.push(self.filter_type);
        w.extend_from_slice(&self.stop_hash.0);
        write_hashes(w, &self.filter_headers);
    }

    fn max_payload_length(_pver: u32) -> usize {
        MAX_MESSAGE_PAYLOAD
    }
}
