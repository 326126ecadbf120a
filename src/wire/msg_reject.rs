//! The `reject` message (BIP61, deprecated but still spoken by btcd). btcd counterpart:
//! `wire/msgreject.go`.

use super::codec::{Reader, TextJson, text_bytes, write_var_bytes};
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
///
/// Decoding is lossless: `cmd` or `reason` bytes that are not UTF-8 are kept in
/// [`MsgReject::cmd_raw`] and [`MsgReject::reason_raw`] so the message re-encodes to the bytes
/// it came from. Build messages with [`MsgReject::new`] (or `..Default::default()`).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(into = "MsgRejectJson", from = "MsgRejectJson")]
pub struct MsgReject {
    /// The command of the message rejected.
    pub cmd: String,
    /// Why, as a [`reject_code`].
    pub code: u8,
    /// Human-readable reason.
    pub reason: String,
    /// The block or transaction rejected; on the wire only when `cmd` is `block` or `tx`.
    pub hash: Hash,
    /// The command's exact wire bytes when they are not UTF-8 (`cmd` then holds them with
    /// `?` for each invalid byte); `None` otherwise. Encoding writes these bytes while `cmd`
    /// still reads as them, so editing `cmd` takes effect.
    pub cmd_raw: Option<Vec<u8>>,
    /// The reason's exact wire bytes when they are not UTF-8, kept like
    /// [`MsgReject::cmd_raw`].
    pub reason_raw: Option<Vec<u8>>,
}

impl MsgReject {
    /// A reject message for `cmd` with a [`reject_code`] and a reason; `hash` names the
    /// block or transaction when `cmd` is `block` or `tx` (use [`Hash::ZERO`] otherwise).
    pub fn new(
        cmd: impl Into<String>,
        code: u8,
        reason: impl Into<String>,
        hash: Hash,
    ) -> MsgReject {
        MsgReject {
            cmd: cmd.into(),
            code,
            reason: reason.into(),
            hash,
            cmd_raw: None,
            reason_raw: None,
        }
    }

    fn has_hash(&self) -> bool {
        self.cmd == "block" || self.cmd == "tx"
    }
}

impl Payload for MsgReject {
    const COMMAND: &'static str = "reject";

    fn decode(r: &mut Reader<'_>, pver: u32) -> Result<MsgReject, Error> {
        require_version(Self::COMMAND, pver, REJECT_VERSION)?;
        let max = MAX_MESSAGE_PAYLOAD as u64;
        let (cmd, cmd_raw) = r.read_var_text("reject command bytes", max)?;
        let code = r.read_u8("reject code")?;
        let (reason, reason_raw) = r.read_var_text("reject reason bytes", max)?;
        let mut m = MsgReject {
            cmd,
            code,
            reason,
            hash: Hash::ZERO,
            cmd_raw,
            reason_raw,
        };
        if m.has_hash() {
            m.hash = r.read_hash("reject hash")?;
        }
        Ok(m)
    }

    fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
        write_var_bytes(w, text_bytes(&self.cmd, self.cmd_raw.as_deref()));
        w.push(self.code);
        write_var_bytes(w, text_bytes(&self.reason, self.reason_raw.as_deref()));
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
/// A `reject` in JSON: `cmd` and `reason` as strings, or `{"hex": ...}` when not UTF-8.
#[derive(serde::Serialize, serde::Deserialize)]
struct MsgRejectJson {
    cmd: TextJson,
    code: u8,
    reason: TextJson,
    #[serde(default)]
    hash: Hash,
}

impl From<MsgReject> for MsgRejectJson {
    fn from(m: MsgReject) -> MsgRejectJson {
        MsgRejectJson {
            cmd: TextJson::from_field(&m.cmd, m.cmd_raw.as_deref()),
            code: m.code,
            reason: TextJson::from_field(&m.reason, m.reason_raw.as_deref()),
            hash: m.hash,
        }
    }
}

impl From<MsgRejectJson> for MsgReject {
    fn from(j: MsgRejectJson) -> MsgReject {
        let (cmd, cmd_raw) = j.cmd.into_field();
        let (reason, reason_raw) = j.reason.into_field();
        MsgReject {
            cmd,
            code: j.code,
            reason,
            hash: j.hash,
            cmd_raw,
            reason_raw,
        }
    }
}
