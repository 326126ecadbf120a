//! btcnode: a Bitcoin peer-to-peer node built as btcd's networking layer rewritten as a
//! blocking, thread-per-peer program on `std::net`, with no async runtime.
//!
//! # Modules
//!
//! | module | btcd counterpart | what it holds |
//! |---|---|---|
//! | [`wire`] | `wire`, `chaincfg/chainhash` | protocol messages, framing, hashes |
//! | [`peer`] | `peer` | one connection: handshake, send queue, stall and idle detection, ping |
//! | [`socks`] | `go-socks` | the hand-written SOCKS5 client and Tor extensions |
//! | [`connmgr`] | `connmgr` | outbound/inbound connection management, ban score, DNS seeds |
//! | [`addrmgr`] | `addrmgr` | the address book and `peers.json` |
//! | [`chain`] | `blockchain` (headers only) | the validated header chain |
//! | [`server`] | `server.go` | the node that ties everything together |
//! | [`rpc`] | `rpcserver.go`, `btcctl` | JSON-RPC control port and the `ctl` client |
//!
//! # Thread map
//!
//! OS threads replace goroutines one-to-one. Every thread is named (Linux keeps 15 bytes, so
//! per-peer threads are named by peer id, never by address), every thread ends, and every
//! thread is joined by its owner.
//!
//! | thread name | btcd counterpart | ends when |
//! |---|---|---|
//! | `btcnode` (main) | btcdMain | after the server has stopped and joined everything |
//! | `server` | server.peerHandler | quit, after all peers are done |
//! | `reaper` | server.peerDoneHandler (one for all peers) | quit, after joining every disconnected peer's threads |
//! | `connmgr` | ConnManager.connHandler | quit |
//! | `listen-N` | ConnManager.listenHandler | stop flag; a self-connect wakes accept() |
//! | `dial-N` | `go cm.Connect(c)` | the dial succeeded or failed (short-lived) |
//! | `seed-N` | `go` lookup in connmgr.SeedFromDNS | after its DNS seed lookup |
//! | `addrmgr` | AddrManager.addressHandler | quit, after the final save |
//! | `sync` | netsync.SyncManager | quit |
//! | `rpc` / `rpc-N` | rpcserver | quit |
//! | `pN-neg` | the negotiation goroutine in Peer.start | handshake done, failed or timed out |
//! | `pN-in` | Peer.inHandler | EOF, read error, idle timeout or disconnect |
//! | `pN-out` | Peer.outHandler | `pN-queue` has ended, after the last batch it handed over |
//! | `pN-queue` | Peer.queueHandler | quit, after closing the outbox (done channels fire) |
//! | `pN-stall` | Peer.stallHandler | quit (in and out update its tracker directly) |
//! | `pN-ping` | Peer.pingHandler | quit |

pub mod addrmgr;
pub mod chain;
pub mod config;
pub mod connmgr;
pub mod logging;
pub mod params;
pub mod peer;
pub mod rpc;
pub mod server;
pub mod socks;
pub mod thread;
pub mod wire;
