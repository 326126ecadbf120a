//! The `version` message: the first message each side sends. btcd counterpart:
//! `wire/msgversion.go`.

use super::codec::{Reader, TextJson, text_bytes, write_var_bytes};
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
///
/// Decoding is lossless: a user agent that is not UTF-8 and a relay byte other than 0 or 1
/// are kept in [`MsgVersion::user_agent_raw`] and [`MsgVersion::relay_byte`] so the message
/// re-encodes to the bytes it came from. Code that builds or reads messages can ignore both.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(into = "MsgVersionJson", try_from = "MsgVersionJson")]
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
    pub optional_fields: u8,
    /// The user agent's exact wire bytes when they are not UTF-8 (`user_agent` then holds
    /// them with `?` for each invalid byte); `None` otherwise. Encoding writes these bytes
    /// while `user_agent` still reads as them, so editing `user_agent` takes effect.
    pub user_agent_raw: Option<Vec<u8>>,
    /// The relay flag's wire byte when it was neither 0 nor 1 (btcd, like Bitcoin Core,
    /// reads any non-zero byte as "relay"); `None` otherwise. Encoding writes it while it
    /// agrees with `disable_relay_tx`, so editing `disable_relay_tx` takes effect.
    pub relay_byte: Option<u8>,
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
            user_agent_raw: None,
            relay_byte: None,
        }
    }

    /// BIP37: whether the sender wants transactions relayed (`!disable_relay_tx`).
    pub fn relay(&self) -> bool {
        !self.disable_relay_tx
    }

    /// The user agent bytes [`Payload::encode`] writes (see [`MsgVersion::user_agent_raw`]).
    pub fn user_agent_bytes(&self) -> &[u8] {
        text_bytes(&self.user_agent, self.user_agent_raw.as_deref())
    }

    /// The relay flag byte [`Payload::encode`] writes (see [`MsgVersion::relay_byte`]).
    pub fn relay_flag_byte(&self) -> u8 {
        match self.relay_byte {
            Some(b) if (b == 0) == self.disable_relay_tx => b,
            _ => u8::from(!self.disable_relay_tx),
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
            user_agent_raw: None,
            relay_byte: None,
        };
        // Every field after addr_you is optional: each is read only if bytes remain, as btcd
        // does for peers older than the field.
        type ReadField = fn(&mut Reader<'_>, &mut MsgVersion, u32) -> Result<(), Error>;
        let optional: [ReadField; VERSION_OPTIONAL_FIELDS as usize] = [
            |r, m, pver| {
                m.addr_me = read_net_address(r, pver, false)?;
                Ok(())
            },
            |r, m, _| {
                m.nonce = r.read_u64_le("version nonce")?;
                Ok(())
            },
            |r, m, _| {
                (m.user_agent, m.user_agent_raw) =
                    r.read_var_text("user agent bytes", MAX_USER_AGENT_LEN as u64)?;
                Ok(())
            },
            |r, m, _| {
                m.last_block = r.read_i32_le("version last block")?;
                Ok(())
            },
            // btcd reads the relay flag whenever a byte remains, whatever the version.
            |r, m, _| {
                let relay = r.read_u8("version relay flag")?;
                m.disable_relay_tx = relay == 0;
                m.relay_byte = (relay > 1).then_some(relay);
                Ok(())
            },
        ];
        for (read, n) in optional.into_iter().zip(1..) {
            if r.remaining() == 0 {
                break;
            }
            read(r, &mut m, pver)?;
            m.optional_fields = n;
        }
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
            write_var_bytes(w, self.user_agent_bytes());
        }
        if n >= 4 {
            w.extend_from_slice(&self.last_block.to_le_bytes());
        }
        // The relay flag exists from BIP37 on; btcd writes it by the encoding version.
        if n >= 5 && pver >= BIP0037_VERSION {
            w.push(self.relay_flag_byte());
        }
    }

    fn max_payload_length(pver: u32) -> usize {
        // btcd: protocol version 4, services 8, timestamp 8, nonce 8, last block 4, relay 1,
        // two addresses, the user agent and its varint.
        33 + max_net_address_payload(pver) * 2 + MAX_VAR_INT_PAYLOAD + MAX_USER_AGENT_LEN
    }
}

/// A `version` in JSON: the fields in order, the user agent as a string or `{"hex": ...}`
/// when not UTF-8, `relay_byte` only when it is neither 0 nor 1, `optional_fields` only when
/// fewer than five.
#[derive(serde::Serialize, serde::Deserialize)]
struct MsgVersionJson {
    protocol_version: i32,
    services: ServiceFlag,
    timestamp: i64,
    addr_you: NetAddress,
    addr_me: NetAddress,
    nonce: u64,
    user_agent: TextJson,
    last_block: i32,
    disable_relay_tx: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    relay_byte: Option<u8>,
    #[serde(
        default = "all_optional_fields",
        skip_serializing_if = "is_all_optional_fields"
    )]
    optional_fields: u8,
}

impl From<MsgVersion> for MsgVersionJson {
    fn from(m: MsgVersion) -> MsgVersionJson {
        let relay = m.relay_flag_byte();
        MsgVersionJson {
            protocol_version: m.protocol_version,
            services: m.services,
            timestamp: m.timestamp,
            addr_you: m.addr_you,
            addr_me: m.addr_me,
            nonce: m.nonce,
            user_agent: TextJson::from_field(&m.user_agent, m.user_agent_raw.as_deref()),
            last_block: m.last_block,
            disable_relay_tx: m.disable_relay_tx,
            relay_byte: (relay > 1).then_some(relay),
            optional_fields: m.optional_fields,
        }
    }
}

impl TryFrom<MsgVersionJson> for MsgVersion {
    type Error = String;

    fn try_from(j: MsgVersionJson) -> Result<MsgVersion, String> {
        if let Some(b) = j.relay_byte
            && (b == 0) != j.disable_relay_tx
        {
            return Err(format!(
                "relay_byte {b} contradicts disable_relay_tx {}",
                j.disable_relay_tx
            ));
        }
        if j.optional_fields > VERSION_OPTIONAL_FIELDS {
            return Err(format!(
                "optional_fields is {} but a version has at most {VERSION_OPTIONAL_FIELDS}",
                j.optional_fields
            ));
        }
        let (user_agent, user_agent_raw) = j.user_agent.into_field();
        Ok(MsgVersion {
            protocol_version: j.protocol_version,
            services: j.services,
            timestamp: j.timestamp,
            addr_you: j.addr_you,
            addr_me: j.addr_me,
            nonce: j.nonce,
            user_agent,
            last_block: j.last_block,
            disable_relay_tx: j.disable_relay_tx,
            optional_fields: j.optional_fields,
            user_agent_raw,
            relay_byte: j.relay_byte.filter(|&b| b > 1),
        })
    }
}
