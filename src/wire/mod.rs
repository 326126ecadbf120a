//! The Bitcoin peer-to-peer wire protocol: message framing, every message btcd 0.24 speaks,
//! variable-length integers, and the hashes they carry. Nothing here does I/O on sockets or
//! starts threads; decoders take bytes and never trust a count before checking it against its
//! limit. btcd counterpart: `wire` and `chaincfg/chainhash`.

pub mod block_header;
pub mod cli;
pub mod codec;
pub mod encoded_len;
pub mod error;
pub mod framer;
pub mod framing;
pub mod hash;
pub mod hex;
pub mod merkle;
pub mod message;
pub mod message_header;
pub mod msg_addr;
pub mod msg_addrv2;
pub mod msg_block;
pub mod msg_cfcheckpt;
pub mod msg_cfheaders;
pub mod msg_cfilter;
pub mod msg_feefilter;
pub mod msg_filteradd;
pub mod msg_filterload;
pub mod msg_getblocks;
pub mod msg_headers;
pub mod msg_inv;
pub mod msg_merkleblock;
pub mod msg_ping;
pub mod msg_reject;
pub mod msg_sendcmpct;
pub mod msg_tx;
pub mod msg_version;
pub mod netaddress;
pub mod netaddress_str;
pub mod protocol;

pub use block_header::BlockHeader;
pub use codec::Reader;
pub use error::Error;
pub use framer::{Framed, Framer};
pub use framing::{encode_message, read_message, write_message};
pub use hash::{Hash, sha256d};
pub use message::{MAX_BLOCK_PAYLOAD, MAX_MESSAGE_PAYLOAD, Message, Payload, max_payload_length};
pub use message_header::{MESSAGE_HEADER_SIZE, MessageHeader};
pub use msg_addr::{MAX_ADDR_PER_MSG, MsgAddr};
pub use msg_addrv2::MsgAddrV2;
pub use msg_block::MsgBlock;
pub use msg_cfcheckpt::{MsgCFCheckpt, MsgGetCFCheckpt};
pub use msg_cfheaders::{MsgCFHeaders, MsgGetCFHeaders};
pub use msg_cfilter::{MsgCFilter, MsgGetCFilters};
pub use msg_feefilter::MsgFeeFilter;
pub use msg_filteradd::MsgFilterAdd;
pub use msg_filterload::MsgFilterLoad;
pub use msg_getblocks::{MAX_BLOCK_LOCATORS_PER_MSG, MsgGetBlocks, MsgGetHeaders};
pub use msg_headers::{MAX_BLOCK_HEADERS_PER_MSG, MsgHeaders};
pub use msg_inv::{InvType, InvVect, MAX_INV_PER_MSG, MsgGetData, MsgInv, MsgNotFound};
pub use msg_merkleblock::MsgMerkleBlock;
pub use msg_ping::{MsgPing, MsgPong};
pub use msg_reject::MsgReject;
pub use msg_sendcmpct::MsgSendCmpct;
pub use msg_tx::{MsgTx, OutPoint, TxIn, TxInRef, TxOut, TxOutRef, TxRef, Witness};
pub use msg_version::{MAX_USER_AGENT_LEN, MsgVersion};
pub use netaddress::{AddrV2, NetAddress, ServiceFlag};

/// The protocol version btcnode speaks (btcd's `ProtocolVersion`, BIP155 addrv2 support).
pub const PROTOCOL_VERSION: u32 = 70016;
