//! The `addrv2` message (BIP155) and its announcement `sendaddrv2`. btcd counterpart:
//! `wire/msgaddrv2.go`.

use super::codec::{Reader, write_varint};
use super::error::Error;
use super::message::{MAX_VAR_INT_PAYLOAD, Payload};
use super::msg_addr::MAX_ADDR_PER_MSG;
use super::netaddress::{
    MAX_NET_ADDRESS_V2_PAYLOAD, NetAddress, read_net_address_v2, write_net_address_v2,
};

/// Smallest BIP155 entry: timestamp 4, services 1, network id 1, length 1, port 2 (an
/// unknown network with an empty address).
const MIN_NET_ADDRESS_V2_PAYLOAD: usize = 9;

/// An `addrv2` message. Entries BIP155 says to skip (unknown networks, IPv4-mapped or
/// OnionCat IPv6) are dropped while decoding, so `addr_list` may be shorter than the count
/// on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct MsgAddrV2 {
    /// The addresses.
    pub addr_list: Vec<NetAddress>,
}

impl Payload for MsgAddrV2 {
    const COMMAND: &'static str = "addrv2";

    fn decode(r: &mut Reader<'_>, _pver: u32) -> Result<MsgAddrV2, Error> {
        let count = r.read_count("addresses", MAX_ADDR_PER_MSG as u64)?;
        // Entries are checked one by one (a bad length is reported as such, as btcd does),
        // so the allocation is capped by what the bytes left could hold instead.
        let mut addr_list =
            Vec::with_capacity(count.min(r.remaining() / MIN_NET_ADDRESS_V2_PAYLOAD));
        for _ in 0..count {
            if let Some(na) = read_net_address_v2(r)? {
                addr_list.push(na);
            }
        }
        Ok(MsgAddrV2 { addr_list })
    }

    fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
        write_varint(w, self.addr_list.len() as u64);
        for na in &self.addr_list {
            write_net_address_v2(w, na);
        }
    }

    fn max_payload_length(_pver: u32) -> usize {
        MAX_VAR_INT_PAYLOAD + MAX_ADDR_PER_MSG * MAX_NET_ADDRESS_V2_PAYLOAD
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::codec::Reader;

    /// One BIP155 entry: timestamp, services 1, `id`, `addr`, port 8333.
    fn entry(id: u8, addr: &[u8]) -> Vec<u8> {
        let mut b = 1_700_000_000u32.to_le_bytes().to_vec();
        b.push(1);
        b.push(id);
        write_varint(&mut b, addr.len() as u64);
        b.extend_from_slice(addr);
        b.extend_from_slice(&8333u16.to_be_bytes());
        b
    }

    fn decode(entries: &[Vec<u8>]) -> Result<MsgAddrV2, Error> {
        let mut p = Vec::new();
        write_varint(&mut p, entries.len() as u64);
        entries.iter().for_each(|e| p.extend_from_slice(e));
        MsgAddrV2::decode(&mut Reader::new(&p), 70016)
    }

    #[test]
    fn unknown_network_ids_are_skipped_known_ones_kept() {
        let got = decode(&[
            entry(0x2a, &[1, 2, 3, 4, 5]),
            entry(1, &[127, 0, 0, 1]),
            entry(0xff, &[]),
        ])
        .expect("valid");
        assert_eq!(got.addr_list.len(), 1);
        // Only unknown networks: an empty list, not an error (BIP155).
        let got = decode(&[entry(0x2a, &[9; 512]), entry(0x07, &[1])]).expect("valid");
        assert!(got.addr_list.is_empty());
    }

    #[test]
    fn over_512_bytes_or_a_known_id_with_the_wrong_length_is_an_error() {
        assert!(matches!(
            decode(&[entry(0x2a, &[9; 513])]),
            Err(Error::InvalidAddressSize {
                network_id: 0x2a,
                len: 513
            })
        ));
        assert!(matches!(
            decode(&[entry(1, &[127, 0, 0, 1, 0])]),
            Err(Error::InvalidAddressSize {
                network_id: 1,
                len: 5
            })
        ));
        assert!(matches!(
            decode(&[entry(4, &[0; 31])]),
            Err(Error::InvalidAddressSize {
                network_id: 4,
                len: 31
            })
        ));
    }
}
