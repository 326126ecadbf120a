//! The validated header chain: block index, proof-of-work and difficulty rules, best chain by
//! most work with reorganisation, block locators, getheaders/getblocks serving and
//! `headers.dat`. btcnode keeps no blocks or UTXO set, so this is the whole chain state.
//!
//! The rules are plain structs with no threads: [`Chain`] is given headers and the node's
//! adjusted time and answers with a [`ProcessOutcome`] or an [`Error`]; [`SyncManager`] holds
//! the headers-first sync rules (sync peer choice, getheaders continuation, stall switching,
//! announcements, anti-DoS) and returns [`Action`]s. One thread, `sync`
//! ([`sync_handler`], started by [`SyncHandle::start`]), runs the sync manager over the shared
//! chain; peers' handlers feed it [`SyncMsg`]s ([`sync_listeners`] has the wire glue) and the
//! server carries out its actions (`server::sync`). In: `headers`, `inv`, `getheaders`,
//! `getblocks`, `sendheaders` and peer arrivals/departures. Out: messages to send, ban-score
//! increases and disconnects, tip changes, the chain RPC methods ([`rpc_json`]).
//!
//! Signet's block signature (BIP325) lives in the coinbase, which a header-only node never
//! sees, so signet headers are checked for proof of work and retargeting only.
//!
//! btcd counterpart: `blockchain` (headers only) and the chain fields of `chaincfg`.

pub mod block_index;
#[allow(clippy::module_inception)]
pub mod chain;
pub mod chain_params;
pub mod error;
pub mod pow;
pub mod rpc_json;
pub mod store;
pub mod sync_handler;
pub mod sync_listeners;
pub mod sync_manager;
pub mod u256;

pub use block_index::{BlockStatus, MAX_BLOCK_LOCATORS_PER_MSG};
pub use chain::{
    Chain, HeaderInfo, MAX_BLOCK_HEADERS_PER_MSG, MAX_BLOCKS_PER_MSG, MAX_TIP_AGE, ProcessOutcome,
    TipChange,
};
pub use chain_params::{ChainParams, Checkpoint};
pub use error::Error;
pub use sync_handler::{SyncHandle, SyncMsg};
pub use sync_manager::{Action, PeerId, PeerInfo, SyncConfig, SyncManager};
pub use u256::U256;
