//! The `getblocks` and `getheaders` messages: a block locator and a stop hash. btcd
//! counterpart: `wire/msggetblocks.go`, `wire/msggetheaders.go`.

use super::codec::{Reader, write_hashes};
use super::error::Error;
use super::hash::Hash;
use super::message::{MAX_VAR_INT_PAYLOAD, Payload};

/// Most locator hashes one message may carry (btcd's `MaxBlockLocatorsPerMsg`): a locator
/// of exponentially spaced hashes needs far fewer, 500 bounds the work a peer can ask for.
pub const MAX_BLOCK_LOCATORS_PER_MSG: usize = 500;

macro_rules! locator_message {
    ($(#[$doc:meta])* $name:ident, $command:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            /// The sender's protocol version (its own field, not the negotiated one).
            pub protocol_version: u32,
            /// Block locator: hashes from the tip backwards, exponentially spaced.
            pub block_locator_hashes: Vec<Hash>,
            /// Stop at this hash (all zero: as many as allowed).
            pub hash_stop: Hash,
        }

        impl Payload for $name {
            const COMMAND: &'static str = $command;

            fn decode(r: &mut Reader<'_>, _pver: u32) -> Result<$name, Error> {
                let protocol_version = r.read_u32_le("locator protocol version")?;
                let block_locator_hashes = r.read_hashes(
                    "block locator hashes",
                    MAX_BLOCK_LOCATORS_PER_MSG as u64,
                    "block locator hash",
                )?;
                let hash_stop = r.read_hash("hash stop")?;
                Ok($name {
                    protocol_version,
                    block_locator_hashes,
                    hash_stop,
                })
            }

            fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
                w.extend_from_slice(&self.protocol_version.to_le_bytes());
                write_hashes(w, &self.block_locator_hashes);
                w.extend_from_slice(&self.hash_stop.0);
            }

            fn max_payload_length(_pver: u32) -> usize {
                4 + MAX_VAR_INT_PAYLOAD + MAX_BLOCK_LOCATORS_PER_MSG * 32 + 32
            }
        }
    };
}

locator_message!(
    /// A `getblocks` message: asks for an `inv` of the blocks after the locator.
    MsgGetBlocks,
    "getblocks"
);
locator_message!(
    /// A `getheaders` message: asks for the headers after the locator.
    MsgGetHeaders,
    "getheaders"
);
