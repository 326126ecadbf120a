//! The `headers` message: block headers, each followed by a zero transaction count. btcd
//! counterpart: `wire/msgheaders.go`.

use super::block_header::{BLOCK_HEADER_LEN, BlockHeader};
use super::codec::{Reader, write_varint};
use super::error::Error;
use super::message::{MAX_VAR_INT_PAYLOAD, Payload};

/// Most headers one `headers` message may carry (btcd's `MaxBlockHeadersPerMsg`, Bitcoin
/// Core's `MAX_HEADERS_RESULTS`): the unit of headers-first sync.
pub const MAX_BLOCK_HEADERS_PER_MSG: usize = 2000;

/// A `headers` message.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct MsgHeaders {
    /// The headers, at most [`MAX_BLOCK_HEADERS_PER_MSG`].
    pub headers: Vec<BlockHeader>,
}

impl Payload for MsgHeaders {
    const COMMAND: &'static str = "headers";

    fn decode(r: &mut Reader<'_>, _pver: u32) -> Result<MsgHeaders, Error> {
        let count = r.read_count_of(
            "block headers",
            MAX_BLOCK_HEADERS_PER_MSG as u64,
            BLOCK_HEADER_LEN + 1,
        )?;
        let mut headers = Vec::with_capacity(count);
        for index in 0..count {
            headers.push(BlockHeader::from_bytes(&r.read_array("block header")?));
            // Headers travel as blocks without transactions: the count must be zero.
            let txs = r.read_varint("header transaction count")?;
            if txs != 0 {
                return Err(Error::HeaderHasTransactions { index, count: txs });
            }
        }
        Ok(MsgHeaders { headers })
    }

    fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
        write_varint(w, self.headers.len() as u64);
        for h in &self.headers {
            w.extend_from_slice(&h.to_bytes());
            w.push(0);
        }
    }

    fn max_payload_length(_pver: u32) -> usize {
        MAX_VAR_INT_PAYLOAD + (BLOCK_HEADER_LEN + 1) * MAX_BLOCK_HEADERS_PER_MSG
    }
}
