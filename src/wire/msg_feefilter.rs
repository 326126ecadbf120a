//! The `feefilter` message (BIP133). btcd counterpart: `wire/msgfeefilter.go`.

use super::codec::Reader;
use super::error::Error;
use super::message::{Payload, require_version};
use super::protocol::FEE_FILTER_VERSION;

/// A `feefilter` message: do not announce transactions paying less than this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct MsgFeeFilter {
    /// Minimum fee rate in satoshis per 1000 bytes (the server checks its range).
    pub min_fee: i64,
}

impl Payload for MsgFeeFilter {
    const COMMAND: &'static str = "feefilter";

    fn decode(r: &mut Reader<'_>, pver: u32) -> Result<MsgFeeFilter, Error> {
        require_version(Self::COMMAND, pver, FEE_FILTER_VERSION)?;
        Ok(MsgFeeFilter {
            min_fee: r.read_i64_le("fee filter")?,
        })
    }

    fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
        w.extend_from_slice(&self.min_fee.to_le_bytes());
    }

    fn max_payload_length(_pver: u32) -> usize {
        8
    }
}
