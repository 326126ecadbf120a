//! The `block` message: a header and its transactions. btcd counterpart: `wire/msgblock.go`.
//!
//! Placeholder with the agreed interface; the full decoder replaces it.

use super::error::Error;

/// A block.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MsgBlock {}

impl MsgBlock {
    /// Decodes a `block` payload, taking ownership of its buffer.
    pub fn from_payload(_payload: Vec<u8>, _pver: u32) -> Result<MsgBlock, Error> {
        Err(Error::InvalidValue {
            field: "block",
            reason: "block decoding is not implemented yet".to_string(),
        })
    }

    /// Appends the message's payload encoding.
    pub fn encode(&self, _w: &mut Vec<u8>, _pver: u32) {}
}
