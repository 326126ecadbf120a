//! `headers.dat` on open: a valid regtest chain of 24 headers, mined once, is written with
//! fuzzed damage (bytes flipped at fuzzed offsets, cut at a fuzzed length, garbage
//! appended) and opened. Opening must never fail or panic on the file's contents; the chain
//! it yields must be a prefix of the valid one, the file must be cut to whole records, and
//! opening it again must give the same tip.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use btcnode::chain::Chain;
use btcnode::chain::pow::check_proof_of_work;
use btcnode::params::Network;
use btcnode::wire::{BlockHeader, Hash};
use libfuzzer_sys::fuzz_target;

const N: usize = 24;

fn valid() -> &'static (Vec<BlockHeader>, Vec<u8>) {
    static V: OnceLock<(Vec<BlockHeader>, Vec<u8>)> = OnceLock::new();
    V.get_or_init(|| {
        let chain = Chain::new(Network::Regtest);
        let limit = chain.params().pow_limit;
        let mut prev = chain.tip_header();
        let mut out = Vec::new();
        let mut bytes = Vec::new();
        for i in 0..N {
            let mut h = BlockHeader {
                version: 4,
                prev_block: prev.block_hash(),
                merkle_root: Hash([i as u8; 32]),
                timestamp: prev.timestamp + 600,
                bits: 0x207f_ffff,
                nonce: 0,
            };
            while check_proof_of_work(&h.block_hash(), h.bits, &limit).is_err() {
                h.nonce += 1;
            }
            bytes.extend_from_slice(&h.to_bytes());
            out.push(h);
            prev = h;
        }
        (out, bytes)
    })
}

fn dir() -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    base.join(format!("btcnode-fuzz-headers-{}", std::process::id()))
}

fuzz_target!(|data: &[u8]| {
    let (headers, bytes) = valid();
    let mut file = bytes.clone();
    let [cut_hi, cut_lo, rest @ ..] = data else {
        return;
    };
    let cut = usize::from(u16::from_le_bytes([*cut_lo, *cut_hi])) % (file.len() + 1);
    file.truncate(cut);
    let (flips, tail) = rest.split_at(rest.len().min(8));
    for pair in flips.chunks(2) {
        if let [pos, x] = pair
            && !file.is_empty()
        {
            let p = usize::from(*pos) * 7 % file.len();
            file[p] ^= *x;
        }
    }
    file.extend_from_slice(tail);
    let d = dir();
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("fuzz scratch dir");
    std::fs::write(d.join("headers.dat"), &file).expect("write headers.dat");
    let chain = match Chain::open(&d, Network::Regtest) {
        Ok(c) => c,
        Err(e) => panic!("open failed on file contents: {e}"),
    };
    let height = chain.height() as usize;
    assert!(chain.header_count() > height);
    // Whatever is loaded in the best chain up to the first damage is the valid chain.
    if height > 0 && height <= N && chain.header_at(height as u32) == Some(headers[height - 1]) {
        for i in 1..=height {
            assert_eq!(chain.header_at(i as u32), Some(headers[i - 1]));
        }
    }
    let len = std::fs::metadata(d.join("headers.dat"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(len % 80, 0, "file not cut to whole records");
    let tip = chain.tip_hash();
    drop(chain);
    let again = match Chain::open(&d, Network::Regtest) {
        Ok(c) => c,
        Err(e) => panic!("reopen failed: {e}"),
    };
    assert_eq!(again.tip_hash(), tip, "reopening changed the tip");
});
