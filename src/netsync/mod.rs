//! Headers-first sync: btcd's `netsync` package. [`SyncManager`] holds the rules (sync peer
//! choice, getheaders continuation, stall switching, announcements, anti-DoS) as a plain state
//! machine that returns [`Action`]s. One thread, `sync` ([`sync_handler`], started by
//! [`SyncHandle::start`]), runs it over the shared [`crate::chain::Chain`]; peers' handlers feed
//! it [`SyncMsg`]s ([`sync_listeners`] has the wire glue). In: `headers`, `inv`, `getheaders`,
//! `getblocks`, `getdata`, `sendheaders` and peer arrivals/departures. Out: messages to send,
//! ban-score increases and disconnects, tip changes.
//!
//! btcd counterpart: `netsync/manager.go`.

pub mod sync_handler;
pub mod sync_listeners;
pub mod sync_manager;

pub use sync_handler::{SyncHandle, SyncMsg};
pub use sync_manager::{Action, PeerId, PeerInfo, SyncConfig, SyncManager};
