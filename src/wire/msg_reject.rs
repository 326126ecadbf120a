//! The `reject` message (BIP61, deprecated but still spoken by btcd). btcd counterpart:
//! `wire/msgreject.go`.

use super::codec::{Reader, write_var_bytes};
use super::error::Error;
use super::hash::Hash;
use super::message::{MAX_MESSAGE_PAYLOAD, Payload, require_version};
use super::protocol::REJECT_VERSION;

/// BIP61 reject codes (btcd's `RejectCode`).
pub mod reject_code {
    /// The message could not be decoded.
    pub const MALFORMED: u8 = 0x01;
    /// The object is invalid.
    pub const INVALID: u8 = 0x10;
    /// The sender's version is too old.
    pub const OBSOLETE: u8 = 0x11;
    /// The object was already seen.
    pub const DUPLICATE: u8 = 0x12;
    /// The transaction is non-standard.
    pub const NONSTANDARD: u8 = 0x40;
    /// An output is below the dust threshold.
    pub const DUST: u8 = 0x41;
    /// The fee is too low.
    pub const INSUFFICIENT_FEE: u8 = 0x42;
    /// The block conflicts with a checkpoint.
    pub const CHECKPOINT: u8 = 0x43;
}

/// A `reject` message.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct MsgReject {
    /// The command of the message rejected.
    pub cmd: String,
    /// Why, as a [`reject_code`].
    pub code: u8,
    /// Human-readable reason.
    pub reason: String,
    /// The block or transaction rejected; on the wire only when `cmd` is `block` or `tx`.
    #[serde(default)]
    pub hash: Hash,
}

impl MsgReject {
    fn has_hash(&self) -> bool {
        self.cmd == "block" || self.cmd == "tx"
    }
}

impl Payload for MsgReject {
    const COMMAND: &'static str = "reject";

    fn decode(r: &mut Reader<'_>, pver: u32) -> Result<MsgReject, Error> {
        require_version(Self::COMMAND, pver, REJECT_VERSION)?;
        let max = MAX_MESSAGE_PAYLOAD as u64;
        let mut m = MsgReject {
            cmd: r.read_var_string("reject command bytes", max)?,
            code: r.read_u8("reject code")?,
            reason: r.read_var_string("reject reason bytes", max)?,
            hash: Hash::ZERO,
        };
        if m.has_hash() {
            m.hash = r.read_hash("reject hash")?;
        }
        Ok(m)
    }

    fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
        write_var_bytes(w, self.cmd.as_bytes());
        w.push(self.code);
        write_var_bytes(w, self.reason.as_bytes());
        if self.has_hash() {
            w.extend_from_slice(&self.hash.0);
        }
    }

    fn max_payload_length(pver: u32) -> usize {
        // btcd allows any size up to the message maximum from the version it exists.
        if pver >= REJECT_VERSION {
            MAX_MESSAGE_PAYLOAD
        } else {
            0
        }
    }
}
