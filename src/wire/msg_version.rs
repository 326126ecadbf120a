//! The `version` message: the first message each side sends. btcd counterpart:
//! `wire/msgversion.go`.

use super::codec::{Reader, write_var_bytes};
use super::error::Error;
use super::message::{MAX_VAR_INT_PAYLOAD, Payload};
use super::netaddress::{
    NetAddress, ServiceFlag, max_net_address_payload, read_net_address, write_net_address,
};
use super::protocol::BIP0037_VERSION;

/// Longest user agent btcd accepts (`MaxUserAgentLen`): BIP14 leaves it open, 256 bytes is
/// plenty for any client name and keeps a hostile peer from making us store more.
pub const MAX_USER_AGENT_LEN: usize = 256;

/// How many optional trailing fields a `version` may carry: addr_me, nonce, user_agent,
/// last_block and the BIP37 relay flag.
pub const VERSION_OPTIONAL_FIELDS: u8 = 5;

fn all_optional_fields() -> u8 {
    VERSION_OPTIONAL_FIELDS
}

fn is_all_optional_fields(n: &u8) -> bool {
    *n == VERSION_OPTIONAL_FIELDS
}

/// A `version` message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MsgVersion {
    /// The protocol version the sender speaks.
    pub protocol_version: i32,
    /// Services the sender offers.
    pub services: ServiceFlag,
    /// The sender's clock, seconds since the Unix epoch.
    pub timestamp: i64,
    /// The receiver's address as the sender sees it (no timestamp on the wire).
    pub addr_you: NetAddress,
    /// The sender's own address (often unroutable; no timestamp on the wire).
    pub addr_me: NetAddress,
    /// Random nonce that detects connections to ourselves.
    pub nonce: u64,
    /// The sender's user agent (BIP14), at most [`MAX_USER_AGENT_LEN`] bytes.
    pub user_agent: String,
    /// The sender's best block height.
    pub last_block: i32,
    /// BIP37: the sender asks not to be sent transactions until it loads a filter.
    pub disable_relay_tx: bool,
    /// How many of the optional trailing fields (addr_me, nonce, user_agent, last_block,
    /// relay) the payload carried, 0..=5. Old peers omit some; keeping the count lets a
    /// decoded message re-encode to the same bytes. New messages carry all five.
    #[serde(
        default = "all_optional_fields",
        skip_serializing_if = "is_all_optional_fields"
    )]
    pub optional_fields: u8,
}

impl MsgVersion {
    /// A version message with every field present.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        protocol_version: i32,
        services: ServiceFlag,
        timestamp: i64,
        addr_you: NetAddress,
        addr_me: NetAddress,
        nonce: u64,
        user_agent: String,
        last_block: i32,
        disable_relay_tx: bool,
    ) -> MsgVersion {
        MsgVersion {
            protocol_version,
            services,
            timestamp,
            addr_you,
            addr_me,
            nonce,
            user_agent,
            last_block,
            disable_relay_tx,
            optional_fields: VERSION_OPTIONAL_FIELDS,
        }
    }
}

impl Payload for MsgVersion {
    const COMMAND: &'static str = "version";

    fn decode(r: &mut Reader<'_>, pver: u32) -> Result<MsgVersion, Error> {
        let protocol_version = r.read_i32_le("version protocol version")?;
        let services = ServiceFlag(r.read_u64_le("version services")?);
        let timestamp = r.read_i64_le("version timestamp")?;
        let addr_you = read_net_address(r, pver, false)?;
        let mut m = MsgVersion {
            protocol_version,
            services,
            timestamp,
            addr_you,
            addr_me: NetAddress::from_socket_addr(
                std::net::SocketAddr::from(([0, 0, 0, 0], 0)),
                ServiceFlag::NONE,
            ),
            nonce: 0,
            user_agent: String::new(),
            last_block: 0,
            disable_relay_tx: false,
            optional_fields: 0,
        };
        // Every field after addr_you is optional: each is read only if bytes remain, as btcd
        // does for peers older than the field.
        if r.remaining() == 0 {
            return Ok(m);
        }
        m.addr_me = read_net_address(r, pver, false)?;
        m.optional_fields = 1;
        if r.remaining() == 0 {
            return Ok(m);
        }
        m.nonce = r.read_u64_le("version nonce")?;
        m.optional_fields = 2;
        if r.remaining() == 0 {
            return Ok(m);
        }
        m.user_agent = r.read_var_string("user agent bytes", MAX_USER_AGENT_LEN as u64)?;
        m.optional_fields = 3;
        if r.remaining() == 0 {
            return Ok(m);
        }
        m.last_block = r.read_i32_le("version last block")?;
        m.optional_fields = 4;
        if r.remaining() == 0 {
            return Ok(m);
        }
        // btcd reads the relay flag whenever a byte remains, whatever the version.
        m.disable_relay_tx = r.read_u8("version relay flag")? == 0;
        m.optional_fields = 5;
        Ok(m)
    }

    fn encode(&self, w: &mut Vec<u8>, pver: u32) {
        w.extend_from_slice(&self.protocol_version.to_le_bytes());
        w.extend_from_slice(&self.services.0.to_le_bytes());
        w.extend_from_slice(&self.timestamp.to_le_bytes());
        write_net_address(w, pver, &self.addr_you, false);
        let n = self.optional_fields;
        if n >= 1 {
            write_net_address(w, pver, &self.addr_me, false);
        }
        if n >= 2 {
            w.extend_from_slice(&self.nonce.to_le_bytes());
        }
        if n >= 3 {
            write_var_bytes(w, self.user_agent.as_bytes());
        }
        if n >= 4 {
            w.extend_from_slice(&self.last_block.to_le_bytes());
        }
        // The relay flag exists from BIP37 on; btcd writes it by the encoding version.
        if n >= 5 && pver >= BIP0037_VERSION {
            w.push(u8::from(!self.disable_relay_tx));
        }
    }

    fn max_payload_length(pver: u32) -> usize {
        // btcd: protocol version 4, services 8, timestamp 8, nonce 8, last block 4, relay 1,
        // two addresses, the user agent and its varint.
        33 + max_net_address_payload(pver) * 2 + MAX_VAR_INT_PAYLOAD + MAX_USER_AGENT_LEN
    }
}
