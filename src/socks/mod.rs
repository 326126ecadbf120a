//! The hand-written SOCKS5 client (RFC 1928, RFC 1929) with Tor's extensions, and the
//! routing rules that decide how btcnode dials and resolves. btcd counterpart:
//! `github.com/btcsuite/go-socks` plus the `--proxy`/`--onion`/`--noonion`/`--torisolation`
//! handling in btcd's `config.go` and `connmgr/tor.go`.
//!
//! No threads of its own: [`Dialer::dial`] and [`Dialer::lookup`] block the calling thread
//! (a `dial-N` thread of the connection manager, or a `seed-N` thread) for at most their
//! timeout, which covers the whole exchange — TCP connect, greeting, authentication,
//! request and reply — not only the connect. In: a [`Target`] (socket address, host name or
//! .onion name); out: a connected `TcpStream` or a [`Error`] saying exactly what failed.
//!
//! Tor extensions: stream isolation (a fresh random username/password per connection, so Tor
//! builds a separate circuit for each) and RESOLVE (command 0xF0), which resolves names over
//! Tor so they never reach the local resolver. [`proto::parse_reply`] parses replies from
//! plain bytes, all three bound address types and Tor's address-type-0 error form.

mod client;
mod dialer;
mod error;
pub mod proto;
mod target;

pub use client::{Deadline, Proxy, TimedStream, negotiate};
pub use dialer::{Dialer, RoutingConfig};
pub use error::Error;
pub use target::{Target, is_onion_host};
