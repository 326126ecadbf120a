//! The hand-written SOCKS5 client (RFC 1928, RFC 1929) with Tor's extensions (RESOLVE, stream
//! isolation). btcd counterpart: `github.com/btcsuite/go-socks`.
