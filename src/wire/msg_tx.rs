//! The `tx` message: a transaction, legacy or segwit (BIP144). btcd counterpart:
//! `wire/msgtx.go`.
//!
//! Placeholder with the agreed interface; the full decoder replaces it.

use super::error::Error;

/// A transaction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MsgTx {}

impl MsgTx {
    /// Decodes a `tx` payload, taking ownership of its buffer.
    pub fn from_payload(_payload: Vec<u8>, _pver: u32) -> Result<MsgTx, Error> {
        Err(Error::InvalidValue {
            field: "tx",
            reason: "tx decoding is not implemented yet".to_string(),
        })
    }

    /// Appends the message's payload encoding.
    pub fn encode(&self, _w: &mut Vec<u8>, _pver: u32) {}
}
