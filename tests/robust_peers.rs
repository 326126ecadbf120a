//! Seeded fuzz smoke for the peers.json loader, run in the normal suite: the sample file
//! mutated (bytes flipped, inserted, deleted, cut, JSON tokens swapped) and random garbage
//! into `AddrBook::from_json` and `load_peers`. A file that does not load gives an error
//! and is set aside with an empty book; one that loads keeps the book's invariants and
//! survives a save and reload. Never a panic. Deterministic and fast; `scripts/fuzz.sh`
//! runs the loader under libFuzzer for longer.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use btcnode::addrmgr::{AddrBook, LoadOutcome, book_rng, load_peers};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn sample() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/peers.sample.json"))
        .expect("peers.sample.json")
}

/// Tokens worth swapping in: other JSON types, extremes, broken addresses.
const TOKENS: &[&[u8]] = &[
    b"null",
    b"[]",
    b"{}",
    b"\"\"",
    b"-1",
    b"0",
    b"1e400",
    b"18446744073709551616",
    b"4294967296",
    b"-62135596800",
    b"\"1.2.3.4:99999\"",
    b"\"[::1]:8333\"",
    b"\"x.onion:1\"",
    b"\"256.1.1.1:8333\"",
    b"true",
    b"\"\\ud800\"",
    b"[[]]",
    b"1023",
    b"1024",
    b"64",
];

fn mutate(rng: &mut StdRng, mut b: Vec<u8>) -> Vec<u8> {
    for _ in 0..rng.random_range(1..5u8) {
        if b.is_empty() {
            b.push(rng.random());
            continue;
        }
        let i = rng.random_range(0..b.len());
        match rng.random_range(0..6u8) {
            0 => b[i] ^= 1 << rng.random_range(0..8u8),
            1 => b.insert(i, rng.random()),
            2 => {
                b.remove(i);
            }
            3 => b.truncate(i),
            4 => {
                // Replace a run of digits or a value with a token.
                let end = (i + rng.random_range(1..12usize)).min(b.len());
                let t = TOKENS[rng.random_range(0..TOKENS.len())];
                b.splice(i..end, t.iter().copied());
            }
            _ => {
                // Duplicate a slice somewhere else (repeated addresses and buckets).
                let end = (i + rng.random_range(1..200usize)).min(b.len());
                let piece: Vec<u8> = b[i..end].to_vec();
                let at = rng.random_range(0..=b.len());
                b.splice(at..at, piece);
            }
        }
    }
    b
}

/// What must hold for any input.
fn check(data: &[u8]) -> bool {
    match AddrBook::from_json(data, book_rng(Some(1))) {
        Ok(book) => {
            if let Err(e) = book.check_invariants() {
                panic!("loaded book breaks an invariant: {e}");
            }
            let again = AddrBook::from_json(&book.to_json(), book_rng(Some(1)))
                .unwrap_or_else(|e| panic!("saved book does not load: {e}"));
            assert_eq!(book.num_addresses(), again.num_addresses());
            assert_eq!(book.num_tried(), again.num_tried());
            true
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            false
        }
    }
}

#[test]
fn robust_peers_mutated_sample_never_panics() {
    let base = sample();
    assert!(check(&base), "the sample loads");
    let mut rng = StdRng::seed_from_u64(0x9e35);
    let (mut loaded, mut rejected) = (0, 0);
    for _ in 0..3_000 {
        if check(&mutate(&mut rng, base.clone())) {
            loaded += 1;
        } else {
            rejected += 1;
        }
    }
    // Both paths are exercised: harmless mutations load, others are refused.
    assert!(
        loaded > 50 && rejected > 500,
        "loaded {loaded}, rejected {rejected}"
    );
}

#[test]
fn robust_peers_random_garbage_is_an_error() {
    let mut rng = StdRng::seed_from_u64(0x9e36);
    for _ in 0..5_000 {
        let len = rng.random_range(0..400usize);
        let b: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        assert!(!check(&b), "random bytes loaded: {b:?}");
    }
    for b in [
        &b""[..],
        b"{}",
        b"[]",
        b"null",
        b"{\"Version\":2}",
        b"\xff\xfe",
    ] {
        assert!(!check(b), "{b:?} loaded");
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("btcnode-robust-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

#[test]
fn robust_peers_bad_files_are_set_aside_and_the_book_starts_empty() {
    let dir = scratch("peers-aside");
    let path = dir.join("peers.json");
    let base = sample();
    let mut rng = StdRng::seed_from_u64(0x9e37);
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut set_aside = 0;
    for round in 0..200 {
        let data = mutate(&mut rng, base.clone());
        std::fs::write(&path, &data).expect("write peers.json");
        let (book, outcome) = load_peers(&path, book_rng(Some(round)), now);
        book.check_invariants().expect("invariants after load");
        match outcome {
            LoadOutcome::Loaded(n) => {
                assert_eq!(n, book.num_addresses());
                assert!(path.exists());
            }
            LoadOutcome::SetAside { error, moved_to } => {
                set_aside += 1;
                assert!(!error.to_string().is_empty());
                assert_eq!(book.num_addresses(), 0);
                let moved = moved_to.expect("renamed aside");
                assert_eq!(std::fs::read(&moved).expect("aside file"), data);
                assert!(!path.exists());
                std::fs::remove_file(moved).expect("clean aside file");
            }
            LoadOutcome::Missing => panic!("the file was there"),
        }
    }
    assert!(set_aside > 20, "only {set_aside} files set aside");
    let _ = std::fs::remove_dir_all(&dir);
}
