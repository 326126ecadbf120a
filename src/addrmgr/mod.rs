//! The address book: collects peer addresses from `addr`/`addrv2` messages, DNS seeds and
//! connections, stores them in btcd's new and tried tables so no single peer or network range
//! can fill the node's view of the network, picks addresses to connect to, answers `getaddr`,
//! and keeps `<datadir>/<network>/peers.json` in btcd's format.
//!
//! Threads: one, `addrmgr` ([`AddrManager::start`] to [`AddrManager::stop`]), which saves the
//! book every 10 minutes and on stop. Everything else runs on the caller's thread under a
//! mutex. In: addresses and connection outcomes from the server and connmgr. Out: addresses
//! to dial ([`AddrManager::get_address`]) and to gossip ([`AddrManager::address_cache`]).
//!
//! The rules live in [`AddrBook`] (plain struct, explicit `now`); network classes in
//! [`network`]; the file format in [`peers_file`]. btcd counterpart: `addrmgr`.

mod addr_book;
mod addr_manager;
mod error;
mod known_address;
mod local_address;
pub mod network;
pub mod peers_file;

pub use addr_book::{
    AddrBook, AddrKey, CONNECTED_REFRESH_INTERVAL, GET_ADDR_MAX, GET_ADDR_PERCENT,
    NEED_ADDRESS_THRESHOLD, NEW_BUCKET_COUNT, NEW_BUCKET_SIZE, NEW_BUCKETS_PER_ADDRESS,
    NEW_BUCKETS_PER_GROUP, TRIED_BUCKET_COUNT, TRIED_BUCKET_SIZE, TRIED_BUCKETS_PER_GROUP,
    addr_key, book_rng,
};
pub use addr_manager::{AddrManager, AddrManagerConfig, DUMP_ADDRESS_INTERVAL};
pub use error::Error;
pub use known_address::{
    BAD_GRACE_WINDOW, KnownAddress, MAX_CHANCE_ATTEMPTS, MAX_FAILURES, MAX_FUTURE_DRIFT,
    MIN_BAD_DAYS, NUM_MISSING_DAYS, NUM_RETRIES, RECENT_ATTEMPT_WINDOW,
};
pub use local_address::{AddressPriority, LocalAddresses, reach, reachability_from};
pub use network::{group_key, is_routable};
pub use peers_file::{LoadOutcome, load_peers, save_peers};

#[cfg(test)]
mod tests;
