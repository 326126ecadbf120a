//! The `ping` and `pong` messages (BIP31). btcd counterpart: `wire/msgping.go`,
//! `wire/msgpong.go`.

use super::codec::Reader;
use super::error::Error;
use super::message::Payload;
use super::protocol::BIP0031_VERSION;

/// A `ping`. Before BIP31 (at or below version 60000) it has no payload and the nonce is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MsgPing {
    /// Echoed in the `pong` so the sender can match replies and measure latency.
    pub nonce: u64,
}

/// A `pong`, the reply to a BIP31 `ping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MsgPong {
    /// The nonce of the `ping` this answers.
    pub nonce: u64,
}

impl Payload for MsgPing {
    const COMMAND: &'static str = "ping";

    fn decode(r: &mut Reader<'_>, pver: u32) -> Result<MsgPing, Error> {
        let nonce = if pver > BIP0031_VERSION {
            r.read_u64_le("ping nonce")?
        } else {
            0
        };
        Ok(MsgPing { nonce })
    }

    fn encode(&self, w: &mut Vec<u8>, pver: u32) {
        if pver > BIP0031_VERSION {
            w.extend_from_slice(&self.nonce.to_le_bytes());
        }
    }

    fn max_payload_length(pver: u32) -> usize {
        if pver > BIP0031_VERSION { 8 } else { 0 }
    }
}

impl Payload for MsgPong {
    const COMMAND: &'static str = "pong";

    fn decode(r: &mut Reader<'_>, pver: u32) -> Result<MsgPong, Error> {
        // `pong` does not exist before BIP31.
        if pver <= BIP0031_VERSION {
            return Err(Error::InvalidForVersion {
                command: Self::COMMAND,
                pver,
                min: BIP0031_VERSION + 1,
            });
        }
        Ok(MsgPong {
            nonce: r.read_u64_le("pong nonce")?,
        })
    }

    /// Writes the nonce; callers do not send `pong` to pre-BIP31 peers.
    fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
        w.extend_from_slice(&self.nonce.to_le_bytes());
    }

    fn max_payload_length(pver: u32) -> usize {
        if pver > BIP0031_VERSION { 8 } else { 0 }
    }
}
