//! The validated header chain: block index, proof-of-work and difficulty rules, best chain by
//! most work with reorganisation, block locators and `headers.dat`. btcnode keeps no blocks or
//! UTXO set, so this is the whole chain state.
//!
//! The rules are plain structs with no threads and no knowledge of peers or RPC: [`Chain`] is
//! given headers and the node's adjusted time and answers with a [`ProcessOutcome`] or an
//! [`Error`]. Header sync (which peer to ask, what to answer, whom to drop) is
//! [`crate::netsync`]'s; the chain's RPC methods are `rpc::chain_json`'s.
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
pub mod store;
pub mod u256;

pub use block_index::{BlockStatus, MAX_BLOCK_LOCATORS_PER_MSG};
pub use chain::{
    Chain, HeaderInfo, MAX_BLOCK_HEADERS_PER_MSG, MAX_BLOCKS_PER_MSG, MAX_TIP_AGE, ProcessOutcome,
    TipChange,
};
pub use chain_params::{ChainParams, Checkpoint};
pub use error::Error;
pub use u256::U256;
