//! The Bitcoin peer-to-peer wire protocol: message framing, every message btcd 0.24 speaks,
//! variable-length integers, and the hashes they carry. Nothing here does I/O on sockets or
//! starts threads; decoders take bytes and never trust a count before checking it against its
//! limit. btcd counterpart: `wire` and `chaincfg/chainhash`.

pub mod block_header;
pub mod codec;
pub mod error;
pub mod hash;
pub mod msg_block;
pub mod msg_tx;
pub mod netaddress;
pub mod netaddress_str;

pub use block_header::BlockHeader;
pub use codec::Reader;
pub use error::Error;
pub use hash::{Hash, sha256d};
pub use msg_block::MsgBlock;
pub use msg_tx::MsgTx;
pub use netaddress::{AddrV2, NetAddress, ServiceFlag};

/// The protocol version btcnode speaks (btcd's `ProtocolVersion`, BIP155 addrv2 support).
pub const PROTOCOL_VERSION: u32 = 70016;
