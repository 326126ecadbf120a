//! The address book: new and tried buckets, network classes and `peers.json`.
//! btcd counterpart: `addrmgr`.
