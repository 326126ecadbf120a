//! The `sendcmpct` message (BIP152). btcd counterpart: `wire/msgsendcmpct.go`.

use super::codec::Reader;
use super::error::Error;
use super::message::{Payload, require_version};
use super::protocol::SHORT_IDS_BLOCKS_VERSION;

/// A `sendcmpct` message: the sender supports compact blocks of a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct MsgSendCmpct {
    /// Whether the sender wants new blocks announced as compact blocks (high bandwidth).
    pub announce: bool,
    /// The compact block version (1 without witnesses, 2 with).
    pub version: u64,
}

impl Payload for MsgSendCmpct {
    const COMMAND: &'static str = "sendcmpct";

    fn decode(r: &mut Reader<'_>, pver: u32) -> Result<MsgSendCmpct, Error> {
        require_version(Self::COMMAND, pver, SHORT_IDS_BLOCKS_VERSION)?;
        let announce = match r.read_u8("sendcmpct announce")? {
            0 => false,
            1 => true,
            b => {
                return Err(Error::InvalidValue {
                    field: "sendcmpct announce",
                    reason: format!("{b} is neither 0 nor 1"),
                });
            }
        };
        let version = r.read_u64_le("sendcmpct version")?;
        Ok(MsgSendCmpct { announce, version })
    }

    fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
        w.push(u8::from(self.announce));
        w.extend_from_slice(&self.version.to_le_bytes());
    }

    fn max_payload_length(_pver: u32) -> usize {
        9
    }
}
