//! The `addr` message: known peer addresses in the legacy 16-byte form. btcd counterpart:
//! `wire/msgaddr.go`.

use super::codec::{Reader, write_varint};
use super::error::Error;
use super::message::{MAX_VAR_INT_PAYLOAD, Payload};
use super::netaddress::{NetAddress, max_net_address_payload, read_net_address, write_net_address};
use super::protocol::MULTIPLE_ADDRESS_VERSION;

/// Most addresses one `addr` or `addrv2` may carry (btcd's `MaxAddrPerMsg`, Bitcoin Core's
/// `MAX_ADDR_TO_SEND`): a peer sending more is misbehaving.
pub const MAX_ADDR_PER_MSG: usize = 1000;

/// An `addr` message. It may hold any [`NetAddress`], but only those with a legacy 16-byte
/// form go on the wire: encoding skips Tor v3, I2P and CJDNS entries (send those in
/// `addrv2`).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct MsgAddr {
    /// The addresses, each with its last-seen timestamp (from version 31402).
    pub addr_list: Vec<NetAddress>,
}

impl MsgAddr {
    /// How many of the addresses an `addr` message can carry: those with a legacy 16-byte
    /// form (IPv4, IPv6, Tor v2). Encoding skips the others.
    pub fn encodable_len(&self) -> usize {
        self.addr_list
            .iter()
            .filter(|na| has_legacy_form(na))
            .count()
    }
}

/// Whether an address fits the legacy 16-byte form of an `addr` entry.
fn has_legacy_form(na: &NetAddress) -> bool {
    na.addr.to_legacy_bytes().is_some()
}

impl Payload for MsgAddr {
    const COMMAND: &'static str = "addr";

    fn decode(r: &mut Reader<'_>, pver: u32) -> Result<MsgAddr, Error> {
        // Before version 209 an addr message held a single address.
        let max = if pver < MULTIPLE_ADDRESS_VERSION {
            1
        } else {
            MAX_ADDR_PER_MSG
        };
        let count = r.read_count_of("addresses", max as u64, 26)?;
        let mut addr_list = Vec::with_capacity(count);
        for _ in 0..count {
            addr_list.push(read_net_address(r, pver, true)?);
        }
        Ok(MsgAddr { addr_list })
    }

    /// Writes the entries that have a legacy 16-byte form (IPv4, IPv6, Tor v2) and skips the
    /// rest (Tor v3, I2P, CJDNS), with the count written matching the entries written: btcd's
    /// `NetAddress` cannot hold those kinds, and Bitcoin Core sends them only over `addrv2`.
    /// Use [`MsgAddr::encodable_len`] to see how many will go out.
    fn encode(&self, w: &mut Vec<u8>, pver: u32) {
        write_varint(w, self.encodable_len() as u64);
        for na in self.addr_list.iter().filter(|na| has_legacy_form(na)) {
            write_net_address(w, pver, na, true);
        }
    }

    fn max_payload_length(pver: u32) -> usize {
        if pver < MULTIPLE_ADDRESS_VERSION {
            MAX_VAR_INT_PAYLOAD + max_net_address_payload(pver)
        } else {
            MAX_VAR_INT_PAYLOAD + MAX_ADDR_PER_MSG * max_net_address_payload(pver)
        }
    }
}
