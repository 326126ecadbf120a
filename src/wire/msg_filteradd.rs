//! The `filteradd` message (BIP37): one element to add to the loaded filter. btcd
//! counterpart: `wire/msgfilteradd.go`.

use super::codec::{Reader, write_var_bytes};
use super::error::Error;
use super::message::{MAX_VAR_INT_PAYLOAD, Payload, require_version};
use super::protocol::BIP0037_VERSION;

/// Largest element `filteradd` may carry (btcd's `MaxFilterAddDataSize`): the largest
/// script push, 520 bytes.
pub const MAX_FILTER_ADD_DATA_SIZE: usize = 520;

/// A `filteradd` message.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct MsgFilterAdd {
    /// The element.
    #[serde(with = "super::hex::serde")]
    pub data: Vec<u8>,
}

impl Payload for MsgFilterAdd {
    const COMMAND: &'static str = "filteradd";

    fn decode(r: &mut Reader<'_>, pver: u32) -> Result<MsgFilterAdd, Error> {
        require_version(Self::COMMAND, pver, BIP0037_VERSION)?;
        Ok(MsgFilterAdd {
            data: r
                .read_var_bytes("filter add bytes", MAX_FILTER_ADD_DATA_SIZE as u64)?
                .to_vec(),
        })
    }

    fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
        write_var_bytes(w, &self.data);
    }

    fn max_payload_length(_pver: u32) -> usize {
        MAX_VAR_INT_PAYLOAD + MAX_FILTER_ADD_DATA_SIZE
    }
}
