//! Merkle roots of a block's transactions and the BIP141 witness commitment. btcd
//! counterpart: `blockchain/merkle.go` (`CalcMerkleRoot`, `ValidateWitnessCommitment`).
//!
//! Pure functions over hashes; no threads.

use super::hash::{HASH_SIZE, Hash, sha256d};

/// Opening bytes of the coinbase output that carries the witness commitment (BIP141):
/// `OP_RETURN`, a 36-byte push, then the tag `0xaa21a9ed`.
pub const WITNESS_COMMITMENT_HEADER: [u8; 6] = [0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];

/// Smallest output script that can hold a witness commitment: the header and 32 bytes.
pub const MIN_WITNESS_COMMITMENT_SCRIPT_LEN: usize = WITNESS_COMMITMENT_HEADER.len() + HASH_SIZE;

/// Double SHA-256 of two hashes side by side: one inner node of the tree.
pub fn hash_merkle_branches(left: &Hash, right: &Hash) -> Hash {
    let mut b = [0u8; 2 * HASH_SIZE];
    b[..HASH_SIZE].copy_from_slice(&left.0);
    b[HASH_SIZE..].copy_from_slice(&right.0);
    sha256d(&b)
}

/// The merkle root of `hashes` (Bitcoin's tree: an odd node at a level is paired with
/// itself), and whether the list is "mutated": at some level two paired nodes are equal,
/// which lets a different transaction list (CVE-2012-2459) produce the same root. Bitcoin
/// Core rejects such blocks as mutated. The root of no hashes is the zero hash.
pub fn merkle_root_mutated(hashes: &[Hash]) -> (Hash, bool) {
    match hashes {
        [] => return (Hash::ZERO, false),
        [one] => return (*one, false),
        _ => {}
    }
    let mut level: Vec<Hash> = Vec::with_capacity(hashes.len().div_ceil(2));
    let mut mutated = false;
    let mut cur: &[Hash] = hashes;
    let mut next: Vec<Hash> = Vec::with_capacity(hashes.len().div_ceil(2));
    while cur.len() > 1 {
        next.clear();
        for pair in cur.chunks(2) {
            // chunks(2) yields one or two hashes; an odd one out is hashed with itself
            // (not a mutation: nothing repeats).
            let l = &pair[0];
            let r = match pair.get(1) {
                Some(r) => {
                    mutated |= l == r;
                    r
                }
                None => l,
            };
            next.push(hash_merkle_branches(l, r));
        }
        std::mem::swap(&mut level, &mut next);
        cur = &level;
    }
    (level[0], mutated)
}

/// The merkle root of `hashes` (see [`merkle_root_mutated`]).
pub fn merkle_root(hashes: &[Hash]) -> Hash {
    merkle_root_mutated(hashes).0
}

/// The witness commitment a coinbase carries (BIP141): double SHA-256 of the witness merkle
/// root followed by the witness reserved value (the coinbase input's single witness item).
pub fn witness_commitment(witness_root: &Hash, reserved_value: &[u8; HASH_SIZE]) -> Hash {
    hash_merkle_branches(witness_root, &Hash(*reserved_value))
}

/// The commitment in an output script, if it is a witness commitment output.
pub fn commitment_in_script(pk_script: &[u8]) -> Option<Hash> {
    if pk_script.len() < MIN_WITNESS_COMMITMENT_SCRIPT_LEN
        || pk_script[..WITNESS_COMMITMENT_HEADER.len()] != WITNESS_COMMITMENT_HEADER
    {
        return None;
    }
    let mut h = [0u8; HASH_SIZE];
    h.copy_from_slice(
        &pk_script[WITNESS_COMMITMENT_HEADER.len()..MIN_WITNESS_COMMITMENT_SCRIPT_LEN],
    );
    Some(Hash(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(b: u8) -> Hash {
        Hash([b; HASH_SIZE])
    }

    #[test]
    fn odd_levels_pair_with_themselves() {
        let ab = hash_merkle_branches(&h(1), &h(2));
        let cc = hash_merkle_branches(&h(3), &h(3));
        assert_eq!(
            merkle_root(&[h(1), h(2), h(3)]),
            hash_merkle_branches(&ab, &cc)
        );
        assert_eq!(merkle_root(&[h(1)]), h(1));
        assert_eq!(merkle_root(&[]), Hash::ZERO);
        assert!(!merkle_root_mutated(&[h(1), h(2), h(3)]).1);
        // Duplicating the odd one out gives the same root, and is flagged.
        let (root, mutated) = merkle_root_mutated(&[h(1), h(2), h(3), h(3)]);
        assert_eq!(root, merkle_root(&[h(1), h(2), h(3)]));
        assert!(mutated);
    }

    #[test]
    fn commitment_script_shape() {
        let mut s = WITNESS_COMMITMENT_HEADER.to_vec();
        s.extend_from_slice(&[7; 32]);
        assert_eq!(commitment_in_script(&s), Some(h(7)));
        assert_eq!(commitment_in_script(&s[..37]), None);
    }
}
