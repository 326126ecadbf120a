//! btcnode's integration tests, built as one test binary so a small machine links once.
//! Each module tests one part of the node through its public API with real loopback sockets.

mod addrmgr;
mod adversary;
mod adversary_support;
mod chain;
mod chain_e2e;
mod chain_support;
mod chain_sync;
mod connmgr;
mod fault_disk;
mod fault_kill;
mod fault_proxy;
mod fault_support;
mod peer;
mod peer_support;
mod robust_peers;
mod robust_socks;
mod server;
mod server_support;
mod soak;
mod socks;
mod support;
mod wire_blocks;
mod wire_cli;
mod wire_roundtrip;
mod wire_vectors;
