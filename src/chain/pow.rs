//! Proof-of-work arithmetic: the compact `bits` encoding, work per block, the hash-below-target
//! check and the required difficulty of the next block (retarget with Bitcoin's off-by-one
//! timespan and 4× clamp, testnet minimum-difficulty blocks, BIP94, regtest's fixed target).
//! Pure functions of their inputs; no threads. btcd counterpart: `blockchain/difficulty.go`
//! and `checkProofOfWork` in `blockchain/validate.go`; Bitcoin Core: `pow.cpp`.

use super::chain_params::{
    ChainParams, RETARGET_ADJUSTMENT_FACTOR, RETARGET_INTERVAL, TARGET_SPACING, TARGET_TIMESPAN,
};
use super::u256::U256;
use crate::wire::Hash;

/// A compact `bits` value decoded: the target and the two ways the encoding can be invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactTarget {
    /// The decoded target (meaningless when `negative` or `overflow`).
    pub target: U256,
    /// The sign bit (0x00800000) is set with a non-zero mantissa.
    pub negative: bool,
    /// The value does not fit in 256 bits.
    pub overflow: bool,
}

/// Decodes compact `bits` (Core's `arith_uint256::SetCompact`, btcd `CompactToBig`): a base-256
/// exponent in the top byte and a 23-bit mantissa with a sign bit.
pub fn compact_to_target(bits: u32) -> CompactTarget {
    let size = bits >> 24;
    let mut word = bits & 0x007f_ffff;
    let target = if size <= 3 {
        word >>= 8 * (3 - size);
        U256::from_u64(u64::from(word))
    } else {
        U256::from_u64(u64::from(word)).shl(8 * (size - 3))
    };
    let negative = word != 0 && (bits & 0x0080_0000) != 0;
    let overflow =
        word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
    CompactTarget {
        target,
        negative,
        overflow,
    }
}

/// Encodes a target in compact form (Core's `GetCompact`, btcd `BigToCompact`).
pub fn target_to_compact(target: &U256) -> u32 {
    let mut size = target.bits().div_ceil(8);
    let mut compact = if size <= 3 {
        (target.low_u64() << (8 * (3 - size))) as u32
    } else {
        target.shr(8 * (size - 3)).low_u64() as u32
    };
    // The mantissa's top bit is the sign: move one byte into the exponent instead.
    if compact & 0x0080_0000 != 0 {
        compact >>= 8;
        size += 1;
    }
    compact | (size << 24)
}

/// The expected number of hashes to find a block at `bits`: 2^256 / (target + 1), zero for an
/// invalid or zero target (btcd `CalcWork`, Core `GetBlockProof`).
pub fn calc_work(bits: u32) -> U256 {
    let ct = compact_to_target(bits);
    if ct.negative || ct.overflow || ct.target.is_zero() {
        return U256::ZERO;
    }
    // 2^256 does not fit, so compute (2^256 - target - 1) / (target + 1) + 1, which is equal.
    let denom = ct.target.saturating_add(&U256::ONE);
    match ct.target.not().checked_div(&denom) {
        Some(q) => q.saturating_add(&U256::ONE),
        // Unreachable: denom is at least 2 here.
        None => U256::ZERO,
    }
}

/// Why `bits` or a hash fails the proof-of-work check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowError {
    /// The target is negative, zero, overflows or is easier than the network's limit.
    TargetOutOfRange,
    /// The hash is above the target.
    HashAboveTarget,
}

/// Checks `hash <= target(bits)` and `0 < target <= pow_limit` (Core `CheckProofOfWork`).
pub fn check_proof_of_work(hash: &Hash, bits: u32, pow_limit: &U256) -> Result<(), PowError> {
    let ct = compact_to_target(bits);
    if ct.negative || ct.overflow || ct.target.is_zero() || ct.target > *pow_limit {
        return Err(PowError::TargetOutOfRange);
    }
    if U256::from_le_bytes(hash.as_bytes()) > ct.target {
        return Err(PowError::HashAboveTarget);
    }
    Ok(())
}

/// What the difficulty rules need to know about the block a new header builds on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrevBlock {
    /// Its height.
    pub height: u32,
    /// Its timestamp.
    pub timestamp: u32,
    /// Its bits.
    pub bits: u32,
    /// The bits of the nearest ancestor-or-self that is a retarget block or not a
    /// minimum-difficulty block: where Core's testnet walk-back (`GetNextWorkRequired`) and
    /// btcd's `findPrevTestNetDifficulty` stop. The chain keeps it per block so the walk is O(1).
    pub last_normal_bits: u32,
}

/// The bits the block after `prev`, with timestamp `new_timestamp`, must carry. At a retarget
/// boundary `first_of_period(h)` must return the `(timestamp, bits)` of the ancestor at height
/// `h` (the first block of the ending period). Core `GetNextWorkRequired`, btcd
/// `calcNextRequiredDifficulty`.
pub fn next_work_required(
    params: &ChainParams,
    prev: &PrevBlock,
    new_timestamp: u32,
    first_of_period: impl FnOnce(u32) -> (u32, u32),
) -> u32 {
    let next_height = prev.height + 1;
    if !next_height.is_multiple_of(RETARGET_INTERVAL) {
        if params.reduce_min_difficulty {
            // A block more than twice the spacing after its parent may use the easiest target.
            let allow_min =
                i64::from(prev.timestamp) + params.min_diff_reduction_time.as_secs() as i64;
            if i64::from(new_timestamp) > allow_min {
                return params.pow_limit_bits;
            }
            // Otherwise the last block that was not such a special block.
            return prev.last_normal_bits;
        }
        return prev.bits;
    }
    if params.no_retargeting {
        return prev.bits;
    }
    // Bitcoin's off-by-one: the period measured spans 2015 intervals, from the first block of
    // the period (not the last block of the previous one) to the last.
    let first_height = prev.height + 1 - RETARGET_INTERVAL;
    let (first_timestamp, first_bits) = first_of_period(first_height);
    let base_bits = if params.enforce_bip94 {
        first_bits
    } else {
        prev.bits
    };
    retarget(params, base_bits, first_timestamp, prev.timestamp)
}

/// The retarget itself: `base × actual / target timespan`, actual clamped to a factor of 4
/// either way, capped at the pow limit (Core `CalculateNextWorkRequired`).
pub fn retarget(
    params: &ChainParams,
    base_bits: u32,
    first_timestamp: u32,
    last_timestamp: u32,
) -> u32 {
    let timespan = TARGET_TIMESPAN.as_secs() as i64;
    let min = timespan / RETARGET_ADJUSTMENT_FACTOR as i64;
    let max = timespan * RETARGET_ADJUSTMENT_FACTOR as i64;
    let actual = (i64::from(last_timestamp) - i64::from(first_timestamp)).clamp(min, max);
    let base = compact_to_target(base_bits).target;
    // `actual` and `timespan` are positive after the clamp.
    let new = base
        .mul_div_u64(actual as u64, timespan as u64)
        .unwrap_or(params.pow_limit);
    let new = if new > params.pow_limit {
        params.pow_limit
    } else {
        new
    };
    target_to_compact(&new)
}

/// Difficulty as bitcoind reports it: the mainnet limit's target over this target
/// (Core `GetDifficulty`).
pub fn difficulty(bits: u32) -> f64 {
    let mut shift = (bits >> 24) & 0xff;
    let mantissa = f64::from(bits & 0x00ff_ffff);
    if mantissa == 0.0 {
        return 0.0;
    }
    let mut diff = f64::from(0x0000_ffffu32) / mantissa;
    while shift < 29 {
        diff *= 256.0;
        shift += 1;
    }
    while shift > 29 {
        diff /= 256.0;
        shift -= 1;
    }
    diff
}

/// The number of blocks per retarget period as the spacing implies (a sanity tie between the
/// constants; 2016).
pub const fn blocks_per_retarget() -> u64 {
    TARGET_TIMESPAN.as_secs() / TARGET_SPACING.as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Network;

    fn hex(s: &str) -> U256 {
        U256::from_hex(s).expect("hex literal")
    }

    #[test]
    fn compact_round_trips_core_vectors() {
        // Bitcoin Core arith_uint256_tests "bignum_SetCompact".
        let cases: &[(u32, &str, u32, bool, bool)] = &[
            (0, "0", 0, false, false),
            (0x0012_3456, "0", 0, false, false),
            (0x0100_3456, "0", 0, false, false),
            (0x0200_0056, "0", 0, false, false),
            (0x0300_0000, "0", 0, false, false),
            (0x0400_0000, "0", 0, false, false),
            (0x0092_3456, "0", 0, false, false),
            (0x0180_3456, "0", 0, false, false),
            (0x0280_0056, "0", 0, false, false),
            (0x0380_0000, "0", 0, false, false),
            (0x0480_0000, "0", 0, false, false),
            (0x0112_3456, "12", 0x0112_0000, false, false),
            (0x0200_8000, "80", 0x0200_8000, false, false),
            (0x01fe_dcba, "7e", 0x01fe_0000, true, false),
            (0x0212_3456, "1234", 0x0212_3400, false, false),
            (0x0312_3456, "123456", 0x0312_3456, false, false),
            (0x0412_3456, "12345600", 0x0412_3456, false, false),
            (0x0492_3456, "12345600", 0x0492_3456, true, false),
            (0x0500_9234, "92340000", 0x0500_9234, false, false),
            (
                0x2012_3456,
                "1234560000000000000000000000000000000000000000000000000000000000",
                0x2012_3456,
                false,
                false,
            ),
        ];
        for &(bits, target, back, negative, overflow) in cases {
            let ct = compact_to_target(bits);
            assert_eq!(ct.target, hex(target), "{bits:#x}");
            assert_eq!(ct.negative, negative, "{bits:#x}");
            assert_eq!(ct.overflow, overflow, "{bits:#x}");
            if !negative {
                assert_eq!(target_to_compact(&ct.target), back, "{bits:#x}");
            }
        }
        assert!(compact_to_target(0xff12_3456).overflow);
    }

    #[test]
    fn btcd_compact_vectors() {
        // btcd difficulty_test.go TestBigToCompact / TestCompactToBig.
        assert_eq!(target_to_compact(&U256::ZERO), 0);
        assert_eq!(target_to_compact(&U256::from_u64(0xffff)), 0x0300_ffff);
        assert_eq!(compact_to_target(10).target, U256::ZERO);
        // btcd TestCalcWork: bits 10 -> work 0.
        assert_eq!(calc_work(10), U256::ZERO);
    }

    #[test]
    fn work_of_known_targets() {
        // Mainnet genesis: 2^256 / (0xffff * 2^208 + 1) = 0x100010001.
        assert_eq!(calc_work(0x1d00_ffff), U256::from_u64(0x0001_0001_0001));
        // Regtest: target 0x7fffff << 232, work 2.
        assert_eq!(calc_work(0x207f_ffff), U256::from_u64(2));
        assert_eq!(calc_work(0x0492_3456), U256::ZERO);
    }

    #[test]
    fn check_proof_of_work_core_cases() {
        let p = ChainParams::for_network(Network::Mainnet);
        let one = Hash({
            let mut b = [0u8; 32];
            b[0] = 1;
            b
        });
        // Negative target.
        assert_eq!(
            check_proof_of_work(
                &one,
                target_to_compact(&p.pow_limit) | 0x0080_0000,
                &p.pow_limit
            ),
            Err(PowError::TargetOutOfRange)
        );
        // Overflowing target.
        assert_eq!(
            check_proof_of_work(&one, !0x0080_0000u32, &p.pow_limit),
            Err(PowError::TargetOutOfRange)
        );
        // Easier than the limit.
        let too_easy = target_to_compact(&p.pow_limit.shl(1));
        assert_eq!(
            check_proof_of_work(&one, too_easy, &p.pow_limit),
            Err(PowError::TargetOutOfRange)
        );
        // Zero target.
        assert_eq!(
            check_proof_of_work(&Hash::ZERO, 0, &p.pow_limit),
            Err(PowError::TargetOutOfRange)
        );
        // Hash above target.
        let limit_bits = target_to_compact(&p.pow_limit);
        let big = Hash(p.pow_limit.shl(1).to_le_bytes());
        assert_eq!(
            check_proof_of_work(&big, limit_bits, &p.pow_limit),
            Err(PowError::HashAboveTarget)
        );
        assert_eq!(check_proof_of_work(&one, limit_bits, &p.pow_limit), Ok(()));
        assert_eq!(blocks_per_retarget(), u64::from(RETARGET_INTERVAL));
    }

    /// Core's pow_tests fixture: the retarget after `last` with the period starting at
    /// `first_time`.
    fn calc(net: Network, first_time: u32, height: u32, time: u32, bits: u32) -> u32 {
        let p = ChainParams::for_network(net);
        let prev = PrevBlock {
            height,
            timestamp: time,
            bits,
            last_normal_bits: bits,
        };
        next_work_required(&p, &prev, time + 600, |h| {
            assert_eq!(h, height + 1 - RETARGET_INTERVAL);
            (first_time, bits)
        })
    }

    #[test]
    fn core_get_next_work() {
        assert_eq!(
            calc(
                Network::Mainnet,
                1_261_130_161,
                32255,
                1_262_152_739,
                0x1d00_ffff
            ),
            0x1d00_d86a
        );
    }

    #[test]
    fn core_get_next_work_pow_limit() {
        assert_eq!(
            calc(
                Network::Mainnet,
                1_231_006_505,
                2015,
                1_233_061_996,
                0x1d00_ffff
            ),
            0x1d00_ffff
        );
    }

    #[test]
    fn core_get_next_work_lower_limit_actual() {
        assert_eq!(
            calc(
                Network::Mainnet,
                1_279_008_237,
                68543,
                1_279_297_671,
                0x1c05_a3f4
            ),
            0x1c01_68fd
        );
    }

    #[test]
    fn core_get_next_work_upper_limit_actual() {
        assert_eq!(
            calc(
                Network::Mainnet,
                1_263_163_443,
                46367,
                1_269_211_443,
                0x1c38_7f6f
            ),
            0x1d00_e1fd
        );
    }

    #[test]
    fn no_retarget_between_boundaries_on_mainnet() {
        let p = ChainParams::for_network(Network::Mainnet);
        let prev = PrevBlock {
            height: 100,
            timestamp: 1_000_000,
            bits: 0x1c05_a3f4,
            last_normal_bits: 0x1c05_a3f4,
        };
        // Even a day later, mainnet keeps the parent's bits.
        let bits = next_work_required(&p, &prev, 1_000_000 + 86_400, |_| unreachable!());
        assert_eq!(bits, 0x1c05_a3f4);
    }

    #[test]
    fn testnet3_twenty_minute_rule() {
        let p = ChainParams::for_network(Network::Testnet3);
        let prev = PrevBlock {
            height: 1000,
            timestamp: 1_500_000_000,
            bits: 0x1d00_ffff, // the parent itself was a min-difficulty block
            last_normal_bits: 0x1c0a_bcde,
        };
        // Exactly 20 minutes later: not more than twice the spacing, so the walk-back applies.
        let at_20 = next_work_required(&p, &prev, 1_500_000_000 + 1200, |_| unreachable!());
        assert_eq!(at_20, 0x1c0a_bcde);
        // One second more: minimum difficulty.
        let at_20_1 = next_work_required(&p, &prev, 1_500_000_000 + 1201, |_| unreachable!());
        assert_eq!(at_20_1, 0x1d00_ffff);
    }

    #[test]
    fn testnet3_retarget_uses_last_block_bits() {
        // At a boundary testnet3 retargets from the last block's bits, even a min-difficulty
        // one (the flaw BIP94 fixes).
        let p = ChainParams::for_network(Network::Testnet3);
        let prev = PrevBlock {
            height: 4031,
            timestamp: 1_500_000_000 + 1_209_600,
            bits: 0x1d00_ffff,
            last_normal_bits: 0x1c0a_bcde,
        };
        let bits = next_work_required(&p, &prev, prev.timestamp + 1, |_| {
            (1_500_000_000, 0x1c0a_bcde)
        });
        assert_eq!(bits, 0x1d00_ffff);
    }

    #[test]
    fn testnet4_bip94_retargets_from_first_block_bits() {
        let p = ChainParams::for_network(Network::Testnet4);
        let prev = PrevBlock {
            height: 4031,
            timestamp: 1_500_000_000 + 1_209_600,
            bits: 0x1d00_ffff, // the last block was a min-difficulty block
            last_normal_bits: 0x1c0a_bcde,
        };
        // Exactly on schedule: the target stays that of the period's first block.
        let bits = next_work_required(&p, &prev, prev.timestamp + 1, |h| {
            assert_eq!(h, 2016);
            (1_500_000_000, 0x1c0a_bcde)
        });
        assert_eq!(bits, 0x1c0a_bcde);
        // Twice as slow: twice the target.
        let slow = next_work_required(&p, &prev, prev.timestamp + 1, |_| {
            (1_500_000_000 - 1_209_600, 0x1c0a_bcde)
        });
        assert_eq!(
            slow,
            target_to_compact(&compact_to_target(0x1c0a_bcde).target.shl(1))
        );
        // Between boundaries testnet4 has the same 20-minute rule as testnet3.
        let mid = PrevBlock {
            height: 4000,
            ..prev
        };
        assert_eq!(
            next_work_required(&p, &mid, mid.timestamp + 1201, |_| unreachable!()),
            0x1d00_ffff
        );
        assert_eq!(
            next_work_required(&p, &mid, mid.timestamp + 1200, |_| unreachable!()),
            0x1c0a_bcde
        );
    }

    #[test]
    fn regtest_never_retargets() {
        let p = ChainParams::for_network(Network::Regtest);
        let prev = PrevBlock {
            height: 2015,
            timestamp: 1_296_688_602 + 10,
            bits: 0x207f_ffff,
            last_normal_bits: 0x207f_ffff,
        };
        // Blocks every 5 ms would quadruple the difficulty anywhere else.
        let bits = next_work_required(&p, &prev, prev.timestamp + 1, |_| {
            (1_296_688_602, 0x207f_ffff)
        });
        assert_eq!(bits, 0x207f_ffff);
    }

    #[test]
    fn simnet_retargets_without_overflow() {
        // Simnet's limit is 2^255 - 1 and it retargets: target × 4 × timespan passes 2^256,
        // which btcd's big.Int handles; the result is capped at the limit.
        let p = ChainParams::for_network(Network::Simnet);
        let prev = PrevBlock {
            height: 2015,
            timestamp: 1_401_292_357 + 100 * 1_209_600,
            bits: 0x207f_ffff,
            last_normal_bits: 0x207f_ffff,
        };
        let bits = next_work_required(&p, &prev, prev.timestamp + 1, |_| {
            (1_401_292_357, 0x207f_ffff)
        });
        assert_eq!(bits, 0x207f_ffff);
        // Fast blocks: a quarter of the target.
        let fast = PrevBlock {
            timestamp: 1_401_292_357 + 10,
            ..prev
        };
        let bits = next_work_required(&p, &fast, fast.timestamp + 1, |_| {
            (1_401_292_357, 0x207f_ffff)
        });
        assert_eq!(
            bits,
            target_to_compact(&compact_to_target(0x207f_ffff).target.shr(2))
        );
    }

    #[test]
    fn difficulty_matches_bitcoind() {
        assert_eq!(difficulty(0x1d00_ffff), 1.0);
        assert!((difficulty(0x1b04_04cb) - 16_307.420_938_523_983).abs() < 1e-6);
        assert!((difficulty(0x207f_ffff) - 4.656_542_373_906_925e-10).abs() < 1e-20);
    }
}
