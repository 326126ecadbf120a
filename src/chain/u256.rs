//! A minimal unsigned 256-bit integer for targets and chain work: just the operations the
//! proof-of-work rules need, on four little-endian `u64` limbs. btcd counterpart: the
//! `math/big` values in `blockchain/difficulty.go`; Bitcoin Core: `arith_uint256`.

use std::cmp::Ordering;
use std::fmt;

/// An unsigned 256-bit integer, limbs least significant first.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct U256(pub [u64; 4]);

impl U256 {
    /// Zero.
    pub const ZERO: U256 = U256([0; 4]);
    /// One.
    pub const ONE: U256 = U256([1, 0, 0, 0]);
    /// 2^256 - 1.
    pub const MAX: U256 = U256([u64::MAX; 4]);

    /// The value `v`.
    pub const fn from_u64(v: u64) -> U256 {
        U256([v, 0, 0, 0])
    }

    /// Reads a number stored little-endian in 32 bytes (a block hash in wire order is one).
    pub fn from_le_bytes(b: &[u8; 32]) -> U256 {
        let mut limbs = [0u64; 4];
        for (i, limb) in limbs.iter_mut().enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i * 8..i * 8 + 8]);
            *limb = u64::from_le_bytes(w);
        }
        U256(limbs)
    }

    /// The 32 little-endian bytes of the number.
    pub fn to_le_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        for (i, limb) in self.0.iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&limb.to_le_bytes());
        }
        b
    }

    /// Parses 1 to 64 hex digits, most significant first (as chainwork is displayed).
    pub fn from_hex(s: &str) -> Option<U256> {
        if s.is_empty() || s.len() > 64 || !s.is_ascii() {
            return None;
        }
        let mut v = U256::ZERO;
        for c in s.chars() {
            let d = c.to_digit(16)?;
            v = v.shl(4);
            v.0[0] |= u64::from(d);
        }
        Some(v)
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 4]
    }

    /// The lowest 64 bits.
    pub fn low_u64(&self) -> u64 {
        self.0[0]
    }

    /// Number of significant bits (0 for zero).
    pub fn bits(&self) -> u32 {
        for i in (0..4).rev() {
            if self.0[i] != 0 {
                return 64 * i as u32 + (64 - self.0[i].leading_zeros());
            }
        }
        0
    }

    /// Shift left by `n` bits; bits shifted past 2^256 are lost.
    pub fn shl(&self, n: u32) -> U256 {
        if n >= 256 {
            return U256::ZERO;
        }
        let limbs = (n / 64) as usize;
        let rem = n % 64;
        let mut out = [0u64; 4];
        for i in (limbs..4).rev() {
            let src = i - limbs;
            out[i] = self.0[src] << rem;
            if rem > 0 && src > 0 {
                out[i] |= self.0[src - 1] >> (64 - rem);
            }
        }
        U256(out)
    }

    /// Shift right by `n` bits.
    pub fn shr(&self, n: u32) -> U256 {
        if n >= 256 {
            return U256::ZERO;
        }
        let limbs = (n / 64) as usize;
        let rem = n % 64;
        let mut out = [0u64; 4];
        for (i, slot) in out.iter_mut().enumerate().take(4 - limbs) {
            let src = i + limbs;
            *slot = self.0[src] >> rem;
            if rem > 0 && src + 1 < 4 {
                *slot |= self.0[src + 1] << (64 - rem);
            }
        }
        U256(out)
    }

    /// Sum, or `None` on overflow past 2^256 - 1.
    pub fn checked_add(&self, other: &U256) -> Option<U256> {
        let mut out = [0u64; 4];
        let mut carry = false;
        for (i, slot) in out.iter_mut().enumerate() {
            let (s1, c1) = self.0[i].overflowing_add(other.0[i]);
            let (s2, c2) = s1.overflowing_add(u64::from(carry));
            *slot = s2;
            carry = c1 || c2;
        }
        if carry { None } else { Some(U256(out)) }
    }

    /// Sum, saturating at 2^256 - 1.
    pub fn saturating_add(&self, other: &U256) -> U256 {
        self.checked_add(other).unwrap_or(U256::MAX)
    }

    /// Difference, wrapping modulo 2^256.
    pub fn wrapping_sub(&self, other: &U256) -> U256 {
        let mut out = [0u64; 4];
        let mut borrow = false;
        for (i, slot) in out.iter_mut().enumerate() {
            let (d1, b1) = self.0[i].overflowing_sub(other.0[i]);
            let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
            *slot = d2;
            borrow = b1 || b2;
        }
        U256(out)
    }

    /// Bitwise complement.
    pub fn not(&self) -> U256 {
        U256([!self.0[0], !self.0[1], !self.0[2], !self.0[3]])
    }

    /// `self * mul / div` computed exactly in 320 bits, saturating at 2^256 - 1; `None` when
    /// `div` is zero. The retarget needs this: target × actual timespan can pass 2^256 on
    /// networks whose limit is 2^255 - 1 (btcd's big.Int never overflows, so neither do we).
    pub fn mul_div_u64(&self, mul: u64, div: u64) -> Option<U256> {
        if div == 0 {
            return None;
        }
        let mut wide = [0u64; 5];
        let mut carry: u128 = 0;
        for (slot, limb) in wide.iter_mut().zip(self.0) {
            let p = u128::from(limb) * u128::from(mul) + carry;
            *slot = p as u64;
            carry = p >> 64;
        }
        wide[4] = carry as u64;
        let mut rem: u128 = 0;
        let mut q = [0u64; 5];
        for i in (0..5).rev() {
            let cur = (rem << 64) | u128::from(wide[i]);
            q[i] = (cur / u128::from(div)) as u64;
            rem = cur % u128::from(div);
        }
        if q[4] != 0 {
            return Some(U256::MAX);
        }
        Some(U256([q[0], q[1], q[2], q[3]]))
    }

    /// Quotient of `self / div`, or `None` when `div` is zero (schoolbook binary division; the
    /// chain caches its results, so speed does not matter here).
    pub fn checked_div(&self, div: &U256) -> Option<U256> {
        if div.is_zero() {
            return None;
        }
        if self < div {
            return Some(U256::ZERO);
        }
        let shift = self.bits() - div.bits();
        let mut d = div.shl(shift);
        let mut rem = *self;
        let mut q = U256::ZERO;
        for i in (0..=shift).rev() {
            if rem >= d {
                rem = rem.wrapping_sub(&d);
                q.0[(i / 64) as usize] |= 1 << (i % 64);
            }
            d = d.shr(1);
        }
        Some(q)
    }

    /// Approximate value as a float (for difficulty and log output).
    pub fn to_f64(&self) -> f64 {
        let mut v = 0.0;
        for i in (0..4).rev() {
            v = v * 18_446_744_073_709_551_616.0 + self.0[i] as f64;
        }
        v
    }
}

impl PartialOrd for U256 {
    fn partial_cmp(&self, other: &U256) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for U256 {
    fn cmp(&self, other: &U256) -> Ordering {
        for i in (0..4).rev() {
            match self.0[i].cmp(&other.0[i]) {
                Ordering::Equal => continue,
                o => return o,
            }
        }
        Ordering::Equal
    }
}

/// 64 hex digits, most significant first (bitcoind's `chainwork` format).
impl fmt::Display for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for limb in self.0.iter().rev() {
            write!(f, "{limb:016x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "U256(0x{self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> U256 {
        U256::from_hex(s).expect("hex literal")
    }

    #[test]
    fn shifts_and_bits() {
        let one = U256::ONE;
        assert_eq!(one.shl(255).bits(), 256);
        assert_eq!(one.shl(255).shr(255), one);
        assert_eq!(one.shl(64), U256([0, 1, 0, 0]));
        assert_eq!(one.shl(256), U256::ZERO);
        assert_eq!(h("ff").shl(60), U256([0xf000_0000_0000_0000, 0xf, 0, 0]));
        assert_eq!(h("ff").shl(60).shr(60), h("ff"));
        assert_eq!(U256::ZERO.bits(), 0);
    }

    #[test]
    fn add_sub_div() {
        assert_eq!(U256::MAX.checked_add(&U256::ONE), None);
        assert_eq!(
            U256([u64::MAX, 0, 0, 0]).checked_add(&U256::ONE),
            Some(U256([0, 1, 0, 0]))
        );
        assert_eq!(
            U256([0, 1, 0, 0]).wrapping_sub(&U256::ONE),
            U256([u64::MAX, 0, 0, 0])
        );
        let a = h("123456789abcdef0123456789abcdef0123456789");
        let b = h("fedcba987654321");
        let q = a.checked_div(&b).expect("nonzero");
        // q * b <= a < (q + 1) * b
        let qb = q.mul_div_u64(b.low_u64(), 1).expect("nonzero");
        assert!(qb <= a);
        assert!(a.wrapping_sub(&qb) < b);
        assert_eq!(a.checked_div(&U256::ZERO), None);
    }

    #[test]
    fn mul_div_is_exact_past_256_bits() {
        let big = U256::ONE.shl(255);
        assert_eq!(big.mul_div_u64(4, 8), Some(U256::ONE.shl(254)));
        assert_eq!(big.mul_div_u64(4, 1), Some(U256::MAX));
        assert_eq!(big.mul_div_u64(1, 0), None);
    }

    #[test]
    fn hex_round_trip() {
        let v = h("00000000ffff0000000000000000000000000000000000000000000000000000");
        assert_eq!(
            v.to_string(),
            "00000000ffff0000000000000000000000000000000000000000000000000000"
        );
        assert_eq!(U256::from_le_bytes(&v.to_le_bytes()), v);
        assert_eq!(U256::from_hex(""), None);
        assert_eq!(U256::from_hex("xyz"), None);
    }
}
