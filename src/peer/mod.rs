//! One connection to a remote peer: handshake, ordered send queue, stall and idle detection,
//! and ping, each on its own named OS thread. btcd counterpart: `peer`.
