//! Inventory vectors and the messages that carry lists of them: `inv`, `getdata`,
//! `notfound`. btcd counterpart: `wire/invvect.go`, `wire/msginv.go`, `wire/msggetdata.go`,
//! `wire/msgnotfound.go`.

use std::fmt;

use super::codec::{Reader, write_varint};
use super::error::Error;
use super::hash::Hash;
use super::message::{MAX_VAR_INT_PAYLOAD, Payload};

/// Most inventory vectors one message may carry (btcd's `MaxInvPerMsg`, Bitcoin Core's
/// `MAX_INV_SZ`): enough for a block's worth of transactions, bounded so a message stays
/// under 2 MB.
pub const MAX_INV_PER_MSG: usize = 50_000;

/// Wire size of one inventory vector: type 4, hash 32.
pub const MAX_INV_VECT_PAYLOAD: usize = 4 + 32;

/// BIP144: this bit on a type asks for the witness serialization.
pub const INV_WITNESS_FLAG: u32 = 1 << 30;

/// The kind of object an inventory vector names (btcd's `InvType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InvType(pub u32);

impl InvType {
    /// Any data of no particular type (`InvTypeError`).
    pub const ERROR: InvType = InvType(0);
    /// A transaction.
    pub const TX: InvType = InvType(1);
    /// A block.
    pub const BLOCK: InvType = InvType(2);
    /// A block as a merkleblock (BIP37).
    pub const FILTERED_BLOCK: InvType = InvType(3);
    /// A compact block (BIP152).
    pub const CMPCT_BLOCK: InvType = InvType(4);
    /// A transaction announced by wtxid (BIP339).
    pub const WTX: InvType = InvType(5);
    /// A block with witness data (BIP144).
    pub const WITNESS_BLOCK: InvType = InvType(2 | INV_WITNESS_FLAG);
    /// A transaction with witness data (BIP144).
    pub const WITNESS_TX: InvType = InvType(1 | INV_WITNESS_FLAG);
    /// A merkleblock with witness data.
    pub const FILTERED_WITNESS_BLOCK: InvType = InvType(3 | INV_WITNESS_FLAG);

    const NAMES: [(InvType, &'static str); 9] = [
        (InvType::ERROR, "ERROR"),
        (InvType::TX, "MSG_TX"),
        (InvType::BLOCK, "MSG_BLOCK"),
        (InvType::FILTERED_BLOCK, "MSG_FILTERED_BLOCK"),
        (InvType::CMPCT_BLOCK, "MSG_CMPCT_BLOCK"),
        (InvType::WTX, "MSG_WTX"),
        (InvType::WITNESS_BLOCK, "MSG_WITNESS_BLOCK"),
        (InvType::WITNESS_TX, "MSG_WITNESS_TX"),
        (
            InvType::FILTERED_WITNESS_BLOCK,
            "MSG_FILTERED_WITNESS_BLOCK",
        ),
    ];

    /// btcd's name for a known type.
    pub fn name(self) -> Option<&'static str> {
        InvType::NAMES
            .iter()
            .find(|(t, _)| *t == self)
            .map(|(_, n)| *n)
    }
}

impl fmt::Display for InvType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Unknown InvType ({})", self.0),
        }
    }
}

impl serde::Serialize for InvType {
    /// Known types as btcd's names, others as numbers.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.name() {
            Some(n) => s.serialize_str(n),
            None => s.serialize_u32(self.0),
        }
    }
}

impl<'de> serde::Deserialize<'de> for InvType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<InvType, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Num(u32),
            Name(String),
        }
        match Repr::deserialize(d)? {
            Repr::Num(n) => Ok(InvType(n)),
            Repr::Name(s) => InvType::NAMES
                .iter()
                .find(|(_, n)| *n == s)
                .map(|(t, _)| *t)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown inventory type {s:?}"))),
        }
    }
}

/// One inventory vector: a type and a hash (btcd's `InvVect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct InvVect {
    /// What kind of object.
    #[serde(rename = "type")]
    pub inv_type: InvType,
    /// The object's hash (txid, wtxid or block hash).
    pub hash: Hash,
}

impl InvVect {
    /// An inventory vector.
    pub fn new(inv_type: InvType, hash: Hash) -> InvVect {
        InvVect { inv_type, hash }
    }
}

/// Reads one inventory vector.
pub fn read_inv_vect(r: &mut Reader<'_>) -> Result<InvVect, Error> {
    let inv_type = InvType(r.read_u32_le("inventory type")?);
    let hash = r.read_hash("inventory hash")?;
    Ok(InvVect { inv_type, hash })
}

/// Appends one inventory vector.
pub fn write_inv_vect(w: &mut Vec<u8>, iv: &InvVect) {
    w.extend_from_slice(&iv.inv_type.0.to_le_bytes());
    w.extend_from_slice(&iv.hash.0);
}

fn read_inv_list(r: &mut Reader<'_>) -> Result<Vec<InvVect>, Error> {
    let count = r.read_count_of(
        "inventory vectors",
        MAX_INV_PER_MSG as u64,
        MAX_INV_VECT_PAYLOAD,
    )?;
    let mut list = Vec::with_capacity(count);
    for _ in 0..count {
        list.push(read_inv_vect(r)?);
    }
    Ok(list)
}

fn write_inv_list(w: &mut Vec<u8>, list: &[InvVect]) {
    write_varint(w, list.len() as u64);
    for iv in list {
        write_inv_vect(w, iv);
    }
}

macro_rules! inv_message {
    ($(#[$doc:meta])* $name:ident, $command:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            /// The inventory vectors, at most [`MAX_INV_PER_MSG`].
            pub inv_list: Vec<InvVect>,
        }

        impl Payload for $name {
            const COMMAND: &'static str = $command;

            fn decode(r: &mut Reader<'_>, _pver: u32) -> Result<$name, Error> {
                Ok($name {
                    inv_list: read_inv_list(r)?,
                })
            }

            fn encode(&self, w: &mut Vec<u8>, _pver: u32) {
                write_inv_list(w, &self.inv_list);
            }

            fn max_payload_length(_pver: u32) -> usize {
                MAX_VAR_INT_PAYLOAD + MAX_INV_PER_MSG * MAX_INV_VECT_PAYLOAD
            }
        }
    };
}

inv_message!(
    /// An `inv` message: announces objects the sender has.
    MsgInv,
    "inv"
);
inv_message!(
    /// A `getdata` message: asks for the objects named.
    MsgGetData,
    "getdata"
);
inv_message!(
    /// A `notfound` message: the objects asked for that the sender does not have.
    MsgNotFound,
    "notfound"
);
