//! Consensus parameters of the header chain per network: genesis header, proof-of-work limit,
//! retarget rules, version minimums and checkpoints. btcd counterpart: the chain fields of
//! `chaincfg.Params`; values cross-checked against Bitcoin Core's `kernel/chainparams.cpp`.

use crate::params::Network;
use crate::wire::{BlockHeader, Hash};
use std::time::Duration;

use super::u256::U256;

/// A known good block: no header at this height may have another hash, and once the main
/// chain passes it no fork may start below it (btcd's `chaincfg.Checkpoint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Height of the checkpointed block.
    pub height: u32,
    /// Its hash in display form (parsed by [`Checkpoint::hash`]).
    pub hash_hex: &'static str,
}

impl Checkpoint {
    /// The checkpoint's block hash.
    pub fn hash(&self) -> Hash {
        // The literals below are tested to parse (`checkpoints_parse`), so this cannot fail.
        self.hash_hex.parse().unwrap_or(Hash::ZERO)
    }
}

/// Blocks between difficulty retargets: the target timespan over the target spacing.
pub const RETARGET_INTERVAL: u32 = 2016;

/// The two weeks a retarget period should last (btcd `TargetTimespan`).
pub const TARGET_TIMESPAN: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// The ten minutes a block should take (btcd `TargetTimePerBlock`).
pub const TARGET_SPACING: Duration = Duration::from_secs(10 * 60);

/// A retarget moves the target by at most this factor either way: 25% less, 400% more
/// (btcd `RetargetAdjustmentFactor`).
pub const RETARGET_ADJUSTMENT_FACTOR: u64 = 4;

/// A header may be at most this far ahead of the node's adjusted time (Core
/// `MAX_FUTURE_BLOCK_TIME`, btcd's `maxTimeOffsetSeconds`).
pub const MAX_FUTURE_BLOCK_TIME: Duration = Duration::from_secs(2 * 60 * 60);

/// Number of previous blocks whose median time a new header must exceed (btcd
/// `medianTimeBlocks`).
pub const MEDIAN_TIME_BLOCKS: usize = 11;

/// BIP94: the first block of a retarget period may be at most this much older than its
/// parent, which closes the timewarp attack on testnet4 (Core `MAX_TIMEWARP`).
pub const MAX_TIMEWARP: Duration = Duration::from_secs(600);

/// The header-chain rules of one network.
#[derive(Debug, Clone)]
pub struct ChainParams {
    /// The network these rules belong to.
    pub network: Network,
    /// The genesis block's header; its hash is the root of the block index.
    pub genesis: BlockHeader,
    /// The easiest target a header may have (btcd `PowLimit`).
    pub pow_limit: U256,
    /// `pow_limit` in compact form (btcd `PowLimitBits`).
    pub pow_limit_bits: u32,
    /// Whether a block may use the minimum difficulty when it comes more than twice the target
    /// spacing after its parent (testnet3, testnet4, regtest, simnet: btcd
    /// `ReduceMinDifficulty`, Core `fPowAllowMinDifficultyBlocks`).
    pub reduce_min_difficulty: bool,
    /// How long after its parent a block may fall back to the minimum difficulty (btcd
    /// `MinDiffReductionTime`: twice the target spacing).
    pub min_diff_reduction_time: Duration,
    /// Whether the difficulty never changes (regtest: Core `fPowNoRetargeting`).
    pub no_retargeting: bool,
    /// BIP94 (testnet4): retarget from the first block of the period's bits, not the last
    /// (which may be a minimum-difficulty block), and reject timewarped period starts.
    pub enforce_bip94: bool,
    /// From this height headers need version 2 or more (BIP34), where Core enforces it.
    pub bip34_height: u32,
    /// From this height headers need version 3 or more (BIP66).
    pub bip66_height: u32,
    /// From this height headers need version 4 or more (BIP65).
    pub bip65_height: u32,
    /// Known good blocks, oldest first (btcd's lists).
    pub checkpoints: &'static [Checkpoint],
}

/// The merkle root shared by every genesis block except testnet4's.
const GENESIS_MERKLE_ROOT: &str =
    "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";

/// Testnet4's genesis merkle root (a different coinbase message, BIP94).
const TESTNET4_GENESIS_MERKLE_ROOT: &str =
    "7aa0a7ae1e223414cb807e40cd57e667b718e42aaf9306db9102fe28912b7b4e";

fn genesis(merkle_root: &str, timestamp: u32, bits: u32, nonce: u32) -> BlockHeader {
    BlockHeader {
        version: 1,
        prev_block: Hash::ZERO,
        // Constant literals tested by `genesis_hashes_match`.
        merkle_root: merkle_root.parse().unwrap_or(Hash::ZERO),
        timestamp,
        bits,
        nonce,
    }
}

/// 2^224 - 1: the limit of mainnet, testnet3 and testnet4.
fn pow_limit_224() -> U256 {
    U256::ONE.shl(224).wrapping_sub(&U256::ONE)
}

/// 2^255 - 1: the limit of regtest and simnet.
fn pow_limit_255() -> U256 {
    U256::ONE.shl(255).wrapping_sub(&U256::ONE)
}

impl ChainParams {
    /// The rules of `network`.
    pub fn for_network(network: Network) -> ChainParams {
        let twenty_minutes = TARGET_SPACING * 2;
        match network {
            Network::Mainnet => ChainParams {
                network,
                genesis: genesis(
                    GENESIS_MERKLE_ROOT,
                    1_231_006_505,
                    0x1d00_ffff,
                    2_083_236_893,
                ),
                pow_limit: pow_limit_224(),
                pow_limit_bits: 0x1d00_ffff,
                reduce_min_difficulty: false,
                min_diff_reduction_time: Duration::ZERO,
                no_retargeting: false,
                enforce_bip94: false,
                bip34_height: 227_931,
                bip66_height: 363_725,
                bip65_height: 388_381,
                checkpoints: MAINNET_CHECKPOINTS,
            },
            Network::Testnet3 => ChainParams {
                network,
                genesis: genesis(GENESIS_MERKLE_ROOT, 1_296_688_602, 0x1d00_ffff, 414_098_458),
                pow_limit: pow_limit_224(),
                pow_limit_bits: 0x1d00_ffff,
                reduce_min_difficulty: true,
                min_diff_reduction_time: twenty_minutes,
                no_retargeting: false,
                enforce_bip94: false,
                bip34_height: 21_111,
                bip66_height: 330_776,
                bip65_height: 581_885,
                checkpoints: TESTNET3_CHECKPOINTS,
            },
            Network::Testnet4 => ChainParams {
                network,
                genesis: genesis(
                    TESTNET4_GENESIS_MERKLE_ROOT,
                    1_714_777_860,
                    0x1d00_ffff,
                    393_743_547,
                ),
                pow_limit: pow_limit_224(),
                pow_limit_bits: 0x1d00_ffff,
                reduce_min_difficulty: true,
                min_diff_reduction_time: twenty_minutes,
                no_retargeting: false,
                enforce_bip94: true,
                bip34_height: 1,
                bip66_height: 1,
                bip65_height: 1,
                checkpoints: &[],
            },
            Network::Signet => ChainParams {
                network,
                genesis: genesis(GENESIS_MERKLE_ROOT, 1_598_918_400, 0x1e03_77ae, 52_613_770),
                // 0x0377ae << 216.
                pow_limit: U256::from_u64(0x0377ae).shl(216),
                pow_limit_bits: 0x1e03_77ae,
                reduce_min_difficulty: false,
                min_diff_reduction_time: twenty_minutes,
                no_retargeting: false,
                enforce_bip94: false,
                bip34_height: 1,
                bip66_height: 1,
                bip65_height: 1,
                checkpoints: &[],
            },
            Network::Regtest => ChainParams {
                network,
                genesis: genesis(GENESIS_MERKLE_ROOT, 1_296_688_602, 0x207f_ffff, 2),
                pow_limit: pow_limit_255(),
                pow_limit_bits: 0x207f_ffff,
                reduce_min_difficulty: true,
                min_diff_reduction_time: twenty_minutes,
                no_retargeting: true,
                enforce_bip94: false,
                // Core: "always active unless overridden".
                bip34_height: 1,
                bip66_height: 1,
                bip65_height: 1,
                checkpoints: &[],
            },
            Network::Simnet => ChainParams {
                network,
                genesis: genesis(GENESIS_MERKLE_ROOT, 1_401_292_357, 0x207f_ffff, 2),
                pow_limit: pow_limit_255(),
                pow_limit_bits: 0x207f_ffff,
                reduce_min_difficulty: true,
                min_diff_reduction_time: twenty_minutes,
                no_retargeting: false,
                enforce_bip94: false,
                // btcd: always active on simnet.
                bip34_height: 0,
                bip66_height: 0,
                bip65_height: 0,
                checkpoints: &[],
            },
        }
    }

    /// The genesis block hash.
    pub fn genesis_hash(&self) -> Hash {
        self.genesis.block_hash()
    }

    /// The minimum header version at `height` (BIP34/66/65 as Core enforces them).
    pub fn min_version(&self, height: u32) -> i32 {
        if height >= self.bip65_height {
            4
        } else if height >= self.bip66_height {
            3
        } else if height >= self.bip34_height {
            2
        } else {
            1
        }
    }

    /// The checkpoint at `height`, if there is one.
    pub fn checkpoint_at(&self, height: u32) -> Option<&Checkpoint> {
        self.checkpoints
            .binary_search_by_key(&height, |c| c.height)
            .ok()
            .map(|i| &self.checkpoints[i])
    }

    /// The highest checkpoint, if any.
    pub fn last_checkpoint(&self) -> Option<&Checkpoint> {
        self.checkpoints.last()
    }
}

/// btcd's mainnet checkpoints (`chaincfg.MainNetParams.Checkpoints`).
pub const MAINNET_CHECKPOINTS: &[Checkpoint] = &[
    cp(
        11111,
        "0000000069e244f73d78e8fd29ba2fd2ed618bd6fa2ee92559f542fdb26e7c1d",
    ),
    cp(
        33333,
        "000000002dd5588a74784eaa7ab0507a18ad16a236e7b1ce69f00d7ddfb5d0a6",
    ),
    cp(
        74000,
        "0000000000573993a3c9e41ce34471c079dcf5f52a0e824a81e7f953b8661a20",
    ),
    cp(
        105000,
        "00000000000291ce28027faea320c8d2b054b2e0fe44a773f3eefb151d6bdc97",
    ),
    cp(
        134444,
        "00000000000005b12ffd4cd315cd34ffd4a594f430ac814c91184a0d42d2b0fe",
    ),
    cp(
        168000,
        "000000000000099e61ea72015e79632f216fe6cb33d7899acb35b75c8303b763",
    ),
    cp(
        193000,
        "000000000000059f452a5f7340de6682a977387c17010ff6e6c3bd83ca8b1317",
    ),
    cp(
        210000,
        "000000000000048b95347e83192f69cf0366076336c639f9b7228e9ba171342e",
    ),
    cp(
        216116,
        "00000000000001b4f4b433e81ee46494af945cf96014816a4e2370f11b23df4e",
    ),
    cp(
        225430,
        "00000000000001c108384350f74090433e7fcf79a606b8e797f065b130575932",
    ),
    cp(
        250000,
        "000000000000003887df1f29024b06fc2200b55f8af8f35453d7be294df2d214",
    ),
    cp(
        267300,
        "000000000000000a83fbd660e918f218bf37edd92b748ad940483c7c116179ac",
    ),
    cp(
        279000,
        "0000000000000001ae8c72a0b0c301f67e3afca10e819efa9041e458e9bd7e40",
    ),
    cp(
        300255,
        "0000000000000000162804527c6e9b9f0563a280525f9d08c12041def0a0f3b2",
    ),
    cp(
        319400,
        "000000000000000021c6052e9becade189495d1c539aa37c58917305fd15f13b",
    ),
    cp(
        343185,
        "0000000000000000072b8bf361d01a6ba7d445dd024203fafc78768ed4368554",
    ),
    cp(
        352940,
        "000000000000000010755df42dba556bb72be6a32f3ce0b6941ce4430152c9ff",
    ),
    cp(
        382320,
        "00000000000000000a8dc6ed5b133d0eb2fd6af56203e4159789b092defd8ab2",
    ),
    cp(
        400000,
        "000000000000000004ec466ce4732fe6f1ed1cddc2ed4b328fff5224276e3f6f",
    ),
    cp(
        430000,
        "000000000000000001868b2bb3a285f3cc6b33ea234eb70facf4dcdf22186b87",
    ),
    cp(
        460000,
        "000000000000000000ef751bbce8e744ad303c47ece06c8d863e4d417efc258c",
    ),
    cp(
        490000,
        "000000000000000000de069137b17b8d5a3dfbd5b145b2dcfb203f15d0c4de90",
    ),
    cp(
        520000,
        "0000000000000000000d26984c0229c9f6962dc74db0a6d525f2f1640396f69c",
    ),
    cp(
        550000,
        "000000000000000000223b7a2298fb1c6c75fb0efc28a4c56853ff4112ec6bc9",
    ),
    cp(
        560000,
        "0000000000000000002c7b276daf6efb2b6aa68e2ce3be67ef925b3264ae7122",
    ),
    cp(
        563378,
        "0000000000000000000f1c54590ee18d15ec70e68c8cd4cfbadb1b4f11697eee",
    ),
    cp(
        597379,
        "00000000000000000005f8920febd3925f8272a6a71237563d78c2edfdd09ddf",
    ),
    cp(
        623950,
        "0000000000000000000f2adce67e49b0b6bdeb9de8b7c3d7e93b21e7fc1e819d",
    ),
    cp(
        654683,
        "0000000000000000000b9d2ec5a352ecba0592946514a92f14319dc2b367fc72",
    ),
    cp(
        691719,
        "00000000000000000008a89e854d57e5667df88f1cdef6fde2fbca1de5b639ad",
    ),
    cp(
        724466,
        "000000000000000000052d314a259755ca65944e68df6b12a067ea8f1f5a7091",
    ),
    cp(
        751565,
        "00000000000000000009c97098b5295f7e5f183ac811fb5d1534040adb93cabd",
    ),
    cp(
        781565,
        "00000000000000000002b8c04999434c33b8e033f11a977b288f8411766ee61c",
    ),
    cp(
        800000,
        "00000000000000000002a7c4c1e48d76c5a37902165a270156b7a8d72728a054",
    ),
    cp(
        810000,
        "000000000000000000028028ca82b6aa81ce789e4eb9e0321b74c3cbaf405dd1",
    ),
];

/// btcd's testnet3 checkpoints (`chaincfg.TestNet3Params.Checkpoints`).
pub const TESTNET3_CHECKPOINTS: &[Checkpoint] = &[
    cp(
        546,
        "000000002a936ca763904c3c35fce2f3556c559c0214345d31b1bcebf76acb70",
    ),
    cp(
        100000,
        "00000000009e2958c15ff9290d571bf9459e93b19765c6801ddeccadbb160a1e",
    ),
    cp(
        200000,
        "0000000000287bffd321963ef05feab753ebe274e1d78b2fd4e2bfe9ad3aa6f2",
    ),
    cp(
        300001,
        "0000000000004829474748f3d1bc8fcf893c88be255e6d7f571c548aff57abf4",
    ),
    cp(
        400002,
        "0000000005e2c73b8ecb82ae2dbc2e8274614ebad7172b53528aba7501f5a089",
    ),
    cp(
        500011,
        "00000000000929f63977fbac92ff570a9bd9e7715401ee96f2848f7b07750b02",
    ),
    cp(
        600002,
        "000000000001f471389afd6ee94dcace5ccc44adc18e8bff402443f034b07240",
    ),
    cp(
        700000,
        "000000000000406178b12a4dea3b27e13b3c4fe4510994fd667d7c1e6a3f4dc1",
    ),
    cp(
        800010,
        "000000000017ed35296433190b6829db01e657d80631d43f5983fa403bfdb4c1",
    ),
    cp(
        900000,
        "0000000000356f8d8924556e765b7a94aaebc6b5c8685dcfa2b1ee8b41acd89b",
    ),
    cp(
        1000007,
        "00000000001ccb893d8a1f25b70ad173ce955e5f50124261bbbc50379a612ddf",
    ),
    cp(
        1100007,
        "00000000000abc7b2cd18768ab3dee20857326a818d1946ed6796f42d66dd1e8",
    ),
    cp(
        1200007,
        "00000000000004f2dc41845771909db57e04191714ed8c963f7e56713a7b6cea",
    ),
    cp(
        1300007,
        "0000000072eab69d54df75107c052b26b0395b44f77578184293bf1bb1dbd9fa",
    ),
    cp(
        1354312,
        "0000000000000037a8cd3e06cd5edbfe9dd1dbcc5dacab279376ef7cfc2b4c75",
    ),
    cp(
        1580000,
        "00000000000000b7ab6ce61eb6d571003fbe5fe892da4c9b740c49a07542462d",
    ),
    cp(
        1692000,
        "000000000000056c49030c174179b52a928c870e6e8a822c75973b7970cfbd01",
    ),
    cp(
        1864000,
        "000000000000006433d1efec504c53ca332b64963c425395515b01977bd7b3b0",
    ),
    cp(
        2010000,
        "0000000000004ae2f3896ca8ecd41c460a35bf6184e145d91558cece1c688a76",
    ),
    cp(
        2143398,
        "00000000000163cfb1f97c4e4098a3692c8053ad9cab5ad9c86b338b5c00b8b7",
    ),
    cp(
        2344474,
        "0000000000000004877fa2d36316398528de4f347df2f8a96f76613a298ce060",
    ),
];

const fn cp(height: u32, hash_hex: &'static str) -> Checkpoint {
    Checkpoint { height, hash_hex }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_hashes_match() {
        let want = [
            (
                Network::Mainnet,
                "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
            ),
            (
                Network::Testnet3,
                "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
            ),
            (
                Network::Testnet4,
                "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043",
            ),
            (
                Network::Signet,
                "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
            ),
            (
                Network::Regtest,
                "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
            ),
            (
                Network::Simnet,
                "683e86bd5c6d110d91b94b97137ba6bfe02dbbdb8e3dff722a669b5d69d77af6",
            ),
        ];
        for (net, hash) in want {
            assert_eq!(
                ChainParams::for_network(net).genesis_hash().to_string(),
                hash,
                "{net}"
            );
        }
    }

    #[test]
    fn checkpoints_parse_and_are_ordered() {
        for list in [MAINNET_CHECKPOINTS, TESTNET3_CHECKPOINTS] {
            for w in list.windows(2) {
                assert!(w[0].height < w[1].height);
            }
            for c in list {
                let h: Hash = c.hash_hex.parse().expect("checkpoint literal");
                assert_eq!(c.hash(), h);
            }
        }
        let p = ChainParams::for_network(Network::Mainnet);
        assert_eq!(p.checkpoint_at(11111).map(|c| c.height), Some(11111));
        assert!(p.checkpoint_at(11112).is_none());
        assert_eq!(p.last_checkpoint().map(|c| c.height), Some(810_000));
    }

    #[test]
    fn version_minimums() {
        let p = ChainParams::for_network(Network::Mainnet);
        assert_eq!(p.min_version(227_930), 1);
        assert_eq!(p.min_version(227_931), 2);
        assert_eq!(p.min_version(363_725), 3);
        assert_eq!(p.min_version(388_381), 4);
        let r = ChainParams::for_network(Network::Regtest);
        assert_eq!(r.min_version(0), 1);
        assert_eq!(r.min_version(1), 4);
    }
}
