//! Network parameters: magic, ports, DNS seeds, per network. btcd counterpart: `chaincfg`.
//!
//! Chain-specific parameters (genesis header, proof-of-work limit, retarget rules,
//! checkpoints) are added by the chain module's parameters alongside these.

use std::fmt;
use std::str::FromStr;

/// A Bitcoin network. The magic is the first four bytes of every framed message on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Network {
    /// The main Bitcoin network.
    Mainnet,
    /// The third test network (testnet3).
    Testnet3,
    /// The fourth test network (BIP94).
    Testnet4,
    /// The default signet (BIP325).
    Signet,
    /// The regression test network: trivial proof of work, local use only.
    Regtest,
    /// btcd's simulation test network.
    Simnet,
}

/// A DNS seed and whether it supports the service-bit subdomain filter (`x9.seed...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsSeed {
    /// The seed's host name.
    pub host: &'static str,
    /// Whether the seed answers `x{services:x}.host` with nodes offering those services.
    pub has_filtering: bool,
}

impl Network {
    /// Every network btcnode knows, in the order the CLI lists them.
    pub const ALL: [Network; 6] = [
        Network::Mainnet,
        Network::Testnet3,
        Network::Testnet4,
        Network::Signet,
        Network::Regtest,
        Network::Simnet,
    ];

    /// The four magic bytes, as the little-endian u32 btcd calls `BitcoinNet`.
    pub const fn magic(self) -> u32 {
        match self {
            Network::Mainnet => 0xd9b4_bef9,
            Network::Testnet3 => 0x0709_110b,
            Network::Testnet4 => 0x283f_161c,
            Network::Signet => 0x40cf_030a,
            Network::Regtest => 0xdab5_bffa,
            Network::Simnet => 0x1214_1c16,
        }
    }

    /// The network whose magic this is, if any.
    pub fn from_magic(magic: u32) -> Option<Network> {
        Network::ALL.into_iter().find(|n| n.magic() == magic)
    }

    /// Default peer-to-peer port.
    pub const fn default_port(self) -> u16 {
        match self {
            Network::Mainnet => 8333,
            Network::Testnet3 => 18333,
            Network::Testnet4 => 48333,
            Network::Signet => 38333,
            Network::Regtest => 18444,
            Network::Simnet => 18555,
        }
    }

    /// Default JSON-RPC port (btcd's choices; regtest shares testnet3's as in btcd).
    pub const fn rpc_port(self) -> u16 {
        match self {
            Network::Mainnet => 8334,
            Network::Testnet3 => 18334,
            Network::Testnet4 => 48334,
            Network::Signet => 38332,
            Network::Regtest => 18334,
            Network::Simnet => 18556,
        }
    }

    /// The name used for the data directory and in logs (`<datadir>/<name>/peers.json`).
    pub const fn name(self) -> &'static str {
        match self {
            Network::Mainnet => "mainnet",
            Network::Testnet3 => "testnet3",
            Network::Testnet4 => "testnet4",
            Network::Signet => "signet",
            Network::Regtest => "regtest",
            Network::Simnet => "simnet",
        }
    }

    /// DNS seeds (btcd's lists); regtest and simnet have none.
    pub const fn dns_seeds(self) -> &'static [DnsSeed] {
        match self {
            Network::Mainnet => &[
                DnsSeed {
                    host: "seed.bitcoin.sipa.be",
                    has_filtering: true,
                },
                DnsSeed {
                    host: "dnsseed.bluematt.me",
                    has_filtering: true,
                },
                DnsSeed {
                    host: "dnsseed.bitcoin.dashjr-list-of-p2p-nodes.us",
                    has_filtering: false,
                },
                DnsSeed {
                    host: "seed.bitcoinstats.com",
                    has_filtering: true,
                },
                DnsSeed {
                    host: "seed.bitnodes.io",
                    has_filtering: false,
                },
                DnsSeed {
                    host: "seed.bitcoin.jonasschnelli.ch",
                    has_filtering: true,
                },
            ],
            Network::Testnet3 => &[
                DnsSeed {
                    host: "testnet-seed.bitcoin.jonasschnelli.ch",
                    has_filtering: true,
                },
                DnsSeed {
                    host: "testnet-seed.bitcoin.schildbach.de",
                    has_filtering: false,
                },
                DnsSeed {
                    host: "seed.tbtc.petertodd.org",
                    has_filtering: true,
                },
                DnsSeed {
                    host: "testnet-seed.bluematt.me",
                    has_filtering: false,
                },
            ],
            Network::Testnet4 => &[
                DnsSeed {
                    host: "seed.testnet4.bitcoin.sprovoost.nl",
                    has_filtering: true,
                },
                DnsSeed {
                    host: "seed.testnet4.wiz.biz",
                    has_filtering: true,
                },
            ],
            Network::Signet => &[
                DnsSeed {
                    host: "seed.signet.bitcoin.sprovoost.nl",
                    has_filtering: false,
                },
                DnsSeed {
                    host: "seed.signet.achownodes.xyz",
                    has_filtering: false,
                },
            ],
            Network::Regtest | Network::Simnet => &[],
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mainnet" | "main" => Ok(Network::Mainnet),
            "testnet3" | "testnet" => Ok(Network::Testnet3),
            "testnet4" => Ok(Network::Testnet4),
            "signet" => Ok(Network::Signet),
            "regtest" => Ok(Network::Regtest),
            "simnet" => Ok(Network::Simnet),
            other => Err(format!("unknown network {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics_round_trip() {
        for n in Network::ALL {
            assert_eq!(Network::from_magic(n.magic()), Some(n));
            assert_eq!(n.name().parse::<Network>(), Ok(n));
        }
        assert_eq!(
            Network::Mainnet.magic().to_le_bytes(),
            [0xf9, 0xbe, 0xb4, 0xd9]
        );
    }
}
