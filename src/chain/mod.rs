//! The validated header chain: block index, proof-of-work and difficulty rules, locators and
//! `headers.dat`. btcd counterpart: `blockchain` (headers only).
