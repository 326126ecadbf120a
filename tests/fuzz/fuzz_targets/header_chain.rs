//! The header validator: headers built from the fuzz input on top of a regtest chain
//! (parent picked among known headers, fuzzed version, time, bits and merkle root, with a
//! few nonces tried so proof of work often passes), or raw 80-byte headers, in batches.
//! `Chain::process_headers` must never panic, and afterwards the chain must be consistent:
//! the tip is the best-chain header at its height, its work never decreases, every
//! connected header can be found and links to a known parent.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use btcnode::chain::Chain;
use btcnode::chain::pow::check_proof_of_work;
use btcnode::params::Network;
use btcnode::wire::{BlockHeader, Hash};
use libfuzzer_sys::fuzz_target;

/// Regtest's bits (its proof-of-work limit).
const REGTEST_BITS: u32 = 0x207f_ffff;

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let mut chain = Chain::new(Network::Regtest);
    let limit = chain.params().pow_limit;
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut known: Vec<BlockHeader> = vec![chain.tip_header()];
    let mut rounds = 0;
    while !inp.0.is_empty() && rounds < 64 {
        rounds += 1;
        let n = usize::from(inp.byte() % 8) + 1;
        let mut batch = Vec::with_capacity(n);
        for _ in 0..n {
            let h = if inp.byte() < 16 {
                let mut raw = [0u8; 80];
                for b in raw.iter_mut() {
                    *b = inp.byte();
                }
                BlockHeader::from_bytes(&raw)
            } else {
                let parent = match batch.last() {
                    Some(p) if inp.byte() & 1 == 0 => *p,
                    _ => known[usize::from(inp.byte()) % known.len()],
                };
                let step = i64::from(inp.byte() as i8) * 60;
                let timestamp = (i64::from(parent.timestamp) + step).clamp(0, i64::from(u32::MAX));
                let bits = match inp.byte() % 8 {
                    0 => inp.u32(),
                    1 => 0x207f_fffe,
                    _ => REGTEST_BITS,
                };
                let mut h = BlockHeader {
                    version: [4, 1, 2, 0x2000_0000, -1][usize::from(inp.byte() % 5)],
                    prev_block: parent.block_hash(),
                    merkle_root: Hash([inp.byte(); 32]),
                    timestamp: timestamp as u32,
                    bits,
                    nonce: 0,
                };
                // Most nonces pass at the regtest limit; a few tries keep the fuzzer fast.
                for nonce in 0..8 {
                    h.nonce = nonce;
                    if check_proof_of_work(&h.block_hash(), h.bits, &limit).is_ok() {
                        break;
                    }
                }
                h
            };
            batch.push(h);
        }
        let old_work = chain.tip_work();
        let result = chain.process_headers(&batch, now);
        if let Ok(out) = &result {
            assert!(out.connected + out.duplicates == batch.len());
        }
        let _ = result.map_err(|e| e.to_string());
        for h in &batch {
            let hash = h.block_hash();
            if let Some(found) = chain.header_by_hash(&hash) {
                assert_eq!(found, *h);
                let height = chain.height_of(&hash);
                assert!(height.is_some());
                if height != Some(0) {
                    assert!(
                        chain.header_by_hash(&h.prev_block).is_some(),
                        "orphan stored"
                    );
                }
                if !known.contains(h) && known.len() < 256 {
                    known.push(*h);
                }
            }
        }
        assert!(chain.tip_work() >= old_work, "tip work went down");
        let tip = chain.tip_header();
        assert_eq!(chain.header_at(chain.height()), Some(tip));
        assert_eq!(chain.hash_at(chain.height()), Some(chain.tip_hash()));
        assert!(chain.is_in_best_chain(&chain.tip_hash()));
    }
});
