//! Protocol version numbers that gate message fields and messages. btcd counterpart:
//! `wire/protocol.go`.

/// The first protocol version.
pub const INITIAL_PROTOCOL_VERSION: u32 = 1;
/// `addr` messages may carry more than one address from this version on.
pub const MULTIPLE_ADDRESS_VERSION: u32 = 209;
/// Network addresses carry a timestamp (outside `version`) from this version on.
pub const NET_ADDRESS_TIME_VERSION: u32 = 31402;
/// BIP31: `ping` carries a nonce and `pong` exists strictly above this version.
pub const BIP0031_VERSION: u32 = 60000;
/// BIP35: the `mempool` message exists from this version on.
pub const BIP0035_VERSION: u32 = 60002;
/// BIP37: bloom filters, `merkleblock` and the `version` relay flag from this version on.
pub const BIP0037_VERSION: u32 = 70001;
/// The `reject` message exists from this version on.
pub const REJECT_VERSION: u32 = 70002;
/// BIP111: the bloom service bit is required from this version on.
pub const BIP0111_VERSION: u32 = 70011;
/// BIP130: `sendheaders` exists from this version on.
pub const SEND_HEADERS_VERSION: u32 = 70012;
/// BIP133: `feefilter` exists from this version on.
pub const FEE_FILTER_VERSION: u32 = 70013;
/// BIP152: compact blocks (`sendcmpct`) from this version on.
pub const SHORT_IDS_BLOCKS_VERSION: u32 = 70014;
/// BIP339: `wtxidrelay` from this version on.
pub const WTXID_RELAY_VERSION: u32 = 70016;
/// BIP155: `sendaddrv2` from this version on.
pub const ADDR_V2_VERSION: u32 = 70016;
