//! The header chain through its public API: real mainnet headers, regtest chains mined here,
//! reorganisation, `headers.dat` recovery and restart.

use crate::chain_support::{
    REGTEST_BITS, TempDir, mainnet_headers_1_11, mainnet_headers_1_256, mine, mine_chain, mine_with,
};
use btcnode::chain::store::{HEADERS_BAD_FILE, HEADERS_FILE};
use btcnode::chain::{Chain, ChainParams, Checkpoint, Error};
use btcnode::params::Network;
use btcnode::wire::{BlockHeader, Hash};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A fixed "now" well after every timestamp used here (2026-01-01).
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

fn regtest_genesis() -> BlockHeader {
    ChainParams::for_network(Network::Regtest).genesis
}

#[test]
fn chain_mainnet_headers_from_blocks1_256_validate() {
    // The file holds blocks 1 to 255 (255 records) despite its name.
    let Some(headers) = mainnet_headers_1_256("chain_mainnet_headers_from_blocks1_256_validate")
    else {
        return;
    };
    assert_eq!(headers.len(), 255);
    let mut chain = Chain::new(Network::Mainnet);
    let out = chain
        .process_headers(&headers, now())
        .expect("mainnet headers are valid");
    assert_eq!(out.connected, 255);
    assert_eq!(chain.height(), 255);
    assert_eq!(
        chain.hash_at(1).map(|h| h.to_string()).as_deref(),
        Some("00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048")
    );
    assert_eq!(
        chain.tip_hash().to_string(),
        "00000000d0a75c861fabf9ff7b92022f60e4afeed9331fe5aa073d8e4706fe3c"
    );
    // 256 blocks of 0x100010001 work each (all at the limit, as bitcoind's chainwork shows).
    assert_eq!(
        chain.tip_work().to_string(),
        format!("{:064x}", 256u64 * 0x1_0001_0001)
    );
    // The text file holds the same first 11 headers.
    let Some(text) = mainnet_headers_1_11("chain_mainnet_headers_from_blocks1_256_validate") else {
        return;
    };
    assert_eq!(text.len(), 11);
    assert_eq!(&headers[..11], text.as_slice());
    // A header altered by one bit fails its proof of work.
    let mut bad = headers[0];
    bad.nonce ^= 1;
    let mut fresh = Chain::new(Network::Mainnet);
    let err = fresh.process_headers(&[bad], now()).expect_err("bad nonce");
    assert!(matches!(err, Error::BadProofOfWork { .. }), "{err}");
    assert!(err.is_invalid_header());
    // Serving: everything after genesis, and a locator ending in genesis.
    let served = chain.headers_after(&[chain.hash_at(0).expect("genesis")], &Hash::ZERO, 2000);
    assert_eq!(served, headers);
    let loc = chain.locator();
    assert_eq!(loc.first(), Some(&chain.tip_hash()));
    assert_eq!(loc.last(), chain.hash_at(0).as_ref());
}

#[test]
fn chain_mainnet_time_too_new() {
    let Some(headers) = mainnet_headers_1_11("chain_mainnet_time_too_new") else {
        return;
    };
    let mut chain = Chain::new(Network::Mainnet);
    let early = UNIX_EPOCH + Duration::from_secs(u64::from(headers[0].timestamp) - 7201);
    let err = chain
        .process_headers(&headers[..1], early)
        .expect_err("from the future");
    assert!(matches!(err, Error::TimeTooNew { .. }), "{err}");
    assert!(!err.is_invalid_header());
    // Exactly two hours ahead is still fine.
    let edge = UNIX_EPOCH + Duration::from_secs(u64::from(headers[0].timestamp) - 7200);
    chain
        .process_headers(&headers[..1], edge)
        .expect("two hours is allowed");
}

#[test]
fn chain_regtest_rules() {
    let g = regtest_genesis();
    let mut chain = Chain::new(Network::Regtest);
    let good = mine_chain(&g, 12, 600, 1);
    chain.process_headers(&good, now()).expect("valid chain");
    let tip = good[11];

    // Wrong bits (a harder target that still meets the proof of work).
    let hard = mine_with(tip.block_hash(), tip.timestamp + 600, 2, 0x2000_ffff, 4);
    match chain.process_headers(&[hard], now()) {
        Err(Error::BadDifficulty { expected, got, .. }) => {
            assert_eq!((expected, got), (REGTEST_BITS, 0x2000_ffff));
        }
        other => panic!("want BadDifficulty, got {other:?}"),
    }
    // Timestamp not after the median of the last 11.
    let mtp = chain.tip_median_time_past();
    let old = mine(&tip, mtp, 3);
    assert!(matches!(
        chain.process_headers(&[old], now()),
        Err(Error::TimeTooOld { .. })
    ));
    let just_after = mine(&tip, mtp + 1, 3);
    chain
        .process_headers(&[just_after], now())
        .expect("mtp + 1 is fine");
    // Version below BIP65's minimum (regtest: from height 1).
    let v3 = mine_with(tip.block_hash(), tip.timestamp + 600, 4, REGTEST_BITS, 3);
    assert!(matches!(
        chain.process_headers(&[v3], now()),
        Err(Error::BadVersion {
            version: 3,
            min: 4,
            ..
        })
    ));
    // A child of an invalid header is rejected as such.
    let child = mine(&v3, v3.timestamp + 600, 4);
    assert!(matches!(
        chain.process_headers(&[child], now()),
        Err(Error::InvalidAncestor { .. })
    ));
    assert_eq!(
        chain.status(&v3.block_hash()),
        Some(btcnode::chain::BlockStatus::Invalid)
    );
    // An unknown parent does not connect, and is not the sender's fault by itself.
    let orphan = mine_with(Hash([7; 32]), tip.timestamp + 600, 5, REGTEST_BITS, 4);
    let err = chain.process_headers(&[orphan], now()).expect_err("orphan");
    assert!(matches!(err, Error::DoesNotConnect { .. }));
    assert!(!err.is_invalid_header());
    // A batch that skips a header is not continuous; the headers before the gap stay.
    let more = mine_chain(&tip, 3, 600, 6);
    let err = chain
        .process_headers(&[more[0], more[2]], now())
        .expect_err("gap");
    assert!(matches!(err, Error::NonContinuous { index: 1, .. }));
    assert_eq!(chain.height(), 13);
    assert!(chain.header_by_hash(&more[0].block_hash()).is_some());
    // Resending known headers is harmless.
    let out = chain.process_headers(&good, now()).expect("duplicates");
    assert_eq!((out.connected, out.duplicates), (0, 12));
}

#[test]
fn chain_regtest_reorg_to_more_work() {
    let g = regtest_genesis();
    let mut chain = Chain::new(Network::Regtest);
    let a = mine_chain(&g, 20, 600, 0xa);
    chain.process_headers(&a, now()).expect("branch a");
    assert_eq!(chain.tip_hash(), a[19].block_hash());

    // Branch b forks after a[9] and is shorter: accepted but not best.
    let b = mine_chain(&a[9], 8, 601, 0xb);
    let out = chain.process_headers(&b, now()).expect("branch b");
    assert_eq!(out.connected, 8);
    assert_eq!(out.new_tip, None);
    assert_eq!(chain.tip_hash(), a[19].block_hash());
    // Equal work does not switch either (first seen wins).
    let b2 = mine_chain(&b[7], 2, 601, 0xb);
    assert_eq!(chain.process_headers(&b2, now()).expect("b2").new_tip, None);

    // One more header gives b more work: reorganise.
    let b3 = mine(&b2[1], b2[1].timestamp + 601, 0xb);
    let out = chain.process_headers(&[b3], now()).expect("b3");
    let change = out.new_tip.expect("tip changed");
    assert_eq!(change.hash, b3.block_hash());
    assert_eq!(change.height, 21);
    assert_eq!(change.fork_height, 10);
    assert_eq!(change.disconnected, 10);
    assert_eq!(chain.hash_at(11), Some(b[0].block_hash()));
    assert!(!chain.is_in_best_chain(&a[15].block_hash()));
    assert!(chain.header_by_hash(&a[15].block_hash()).is_some());

    // A peer still on branch a gets the headers from the fork point.
    let loc = vec![a[19].block_hash(), a[18].block_hash(), a[5].block_hash()];
    assert_eq!(chain.find_fork(&loc), 6);
    let served = chain.headers_after(&loc, &Hash::ZERO, 2000);
    assert_eq!(served.first(), Some(&a[6]));
    assert_eq!(served.len(), 21 - 6);
    let hashes = chain.hashes_after(&loc, &b[2].block_hash(), 500);
    assert_eq!(hashes.last(), Some(&b[2].block_hash()));
    let info = chain.header_info(&a[19].block_hash()).expect("known");
    assert_eq!((info.in_best_chain, info.confirmations), (false, -1));
    let info = chain.header_info(&b[0].block_hash()).expect("known");
    assert_eq!(info.confirmations, 11);
    assert_eq!(info.next_hash, Some(b[1].block_hash()));
}

#[test]
fn chain_restart_keeps_the_chain() {
    let dir = TempDir::new("chain-restart");
    let g = regtest_genesis();
    let a = mine_chain(&g, 30, 600, 1);
    let b = mine_chain(&a[14], 20, 600, 2);
    {
        let mut chain = Chain::open(dir.path(), Network::Regtest).expect("open");
        chain.process_headers(&a, now()).expect("a");
        chain.process_headers(&b, now()).expect("b");
        assert_eq!(chain.tip_hash(), b[19].block_hash());
    }
    let chain = Chain::open(dir.path(), Network::Regtest).expect("reopen");
    assert_eq!(chain.tip_hash(), b[19].block_hash());
    assert_eq!(chain.height(), 35);
    assert_eq!(chain.header_count(), 1 + 30 + 20);
    let len = std::fs::metadata(dir.path().join(HEADERS_FILE))
        .expect("file")
        .len();
    assert_eq!(len, 50 * 80);
}

#[test]
fn chain_torn_headers_dat_loads() {
    let dir = TempDir::new("chain-torn");
    let a = mine_chain(&regtest_genesis(), 10, 600, 1);
    {
        let mut chain = Chain::open(dir.path(), Network::Regtest).expect("open");
        chain.process_headers(&a, now()).expect("a");
    }
    // A crash in the middle of appending the 11th record.
    let extra = mine(&a[9], a[9].timestamp + 600, 1);
    let path = dir.path().join(HEADERS_FILE);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes.extend_from_slice(&extra.to_bytes()[..37]);
    std::fs::write(&path, &bytes).expect("write");

    let mut chain = Chain::open(dir.path(), Network::Regtest).expect("torn file opens");
    assert_eq!(chain.height(), 10);
    assert_eq!(std::fs::metadata(&path).expect("file").len(), 800);
    // Appending continues cleanly after the cut.
    chain.process_headers(&[extra], now()).expect("extra");
    drop(chain);
    let chain = Chain::open(dir.path(), Network::Regtest).expect("reopen");
    assert_eq!(chain.height(), 11);
}

#[test]
fn chain_corrupt_record_stops_the_load() {
    let dir = TempDir::new("chain-corrupt");
    let a = mine_chain(&regtest_genesis(), 10, 600, 1);
    {
        let mut chain = Chain::open(dir.path(), Network::Regtest).expect("open");
        chain.process_headers(&a, now()).expect("a");
    }
    // Flip a bit in record 6 (the 7th header): its hash changes, record 7 no longer connects.
    let path = dir.path().join(HEADERS_FILE);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[6 * 80 + 40] ^= 0x01;
    std::fs::write(&path, &bytes).expect("write");

    let chain = Chain::open(dir.path(), Network::Regtest).expect("a corrupt file never stops us");
    // Record 6 may still pass (a flipped merkle bit can keep regtest's easy proof of work), but
    // the load stops at the first record that fails, keeping everything before it.
    assert!(
        chain.height() == 6 || chain.height() == 7,
        "height {}",
        chain.height()
    );
    assert_eq!(chain.hash_at(6), Some(a[5].block_hash()));
    let kept = std::fs::metadata(&path).expect("file").len();
    assert_eq!(kept, u64::from(chain.height()) * 80);
    let bad = std::fs::metadata(dir.path().join(HEADERS_BAD_FILE))
        .expect("bad file")
        .len();
    assert_eq!(kept + bad, 800);

    // Garbage from another network stops the load at record 0.
    let other = TempDir::new("chain-other");
    std::fs::write(other.path().join(HEADERS_FILE), [0xabu8; 160]).expect("write");
    let chain = Chain::open(other.path(), Network::Regtest).expect("opens empty");
    assert_eq!(chain.height(), 0);
}

#[test]
fn chain_checkpoints_fix_hashes_and_forbid_old_forks() {
    let g = regtest_genesis();
    let a = mine_chain(&g, 12, 600, 1);
    let cp_hash: &'static str = Box::leak(a[4].block_hash().to_string().into_boxed_str());
    let cps: &'static [Checkpoint] = Box::leak(Box::new([Checkpoint {
        height: 5,
        hash_hex: cp_hash,
    }]));
    let mut params = ChainParams::for_network(Network::Regtest);
    params.checkpoints = cps;

    // A different header at the checkpoint height is rejected.
    let mut chain = Chain::with_params(params.clone());
    chain
        .process_headers(&a[..4], now())
        .expect("before checkpoint");
    let other = mine(&a[3], a[3].timestamp + 601, 9);
    assert!(matches!(
        chain.process_headers(&[other], now()),
        Err(Error::CheckpointMismatch { height: 5, .. })
    ));
    // Once past the checkpoint, a fork below it is too old; at or above it is fine.
    chain.process_headers(&a[4..], now()).expect("the rest");
    let fork = mine(&a[2], a[2].timestamp + 601, 9);
    assert!(matches!(
        chain.process_headers(&[fork], now()),
        Err(Error::ForkTooOld {
            checkpoint_height: 5,
            ..
        })
    ));
    let fork = mine(&a[5], a[5].timestamp + 601, 9);
    chain
        .process_headers(&[fork], now())
        .expect("fork above the checkpoint");
    assert!(!chain.is_current(now()));
    let tip_time = UNIX_EPOCH + Duration::from_secs(u64::from(a[11].timestamp) + 3600);
    assert!(chain.is_current(tip_time));
}

#[test]
fn chain_serves_at_most_2000_headers_and_500_hashes() {
    let g = regtest_genesis();
    let a = mine_chain(&g, 2100, 1, 1);
    let mut chain = Chain::new(Network::Regtest);
    for part in a.chunks(2000) {
        chain.process_headers(part, now()).expect("valid");
    }
    let genesis = [chain.hash_at(0).expect("genesis")];
    assert_eq!(chain.headers_after(&genesis, &Hash::ZERO, 5000).len(), 2000);
    assert_eq!(chain.hashes_after(&genesis, &Hash::ZERO, 5000).len(), 500);
    let loc = chain.locator();
    assert!(loc.len() < 30);
    let from_2000 = chain.headers_after(&[a[1999].block_hash()], &Hash::ZERO, 2000);
    assert_eq!(from_2000.len(), 100);
}

/// Regtest made to retarget from a harder genesis (bits 0x2000ffff, about one nonce in 256)
/// with the minimum-difficulty rule, so testnet3's and testnet4's rules run end to end through
/// the block index.
fn retargeting_params(bip94: bool) -> ChainParams {
    let mut p = ChainParams::for_network(Network::Regtest);
    p.no_retargeting = false;
    p.reduce_min_difficulty = true;
    p.enforce_bip94 = bip94;
    p.genesis.bits = 0x2000_ffff;
    p
}

#[test]
fn chain_min_difficulty_walk_back_retarget_and_bip94() {
    use btcnode::chain::pow::{compact_to_target, target_to_compact};
    const NORMAL: u32 = 0x2000_ffff;
    let p = retargeting_params(false);
    let g = p.genesis;
    let mut chain = Chain::with_params(p.clone());

    // Height 1 normal; height 2 more than 20 minutes later at minimum difficulty.
    let h1 = mine_with(g.block_hash(), g.timestamp + 600, 1, NORMAL, 4);
    let h2 = mine_with(h1.block_hash(), h1.timestamp + 1201, 1, REGTEST_BITS, 4);
    chain
        .process_headers(&[h1, h2], now())
        .expect("min difficulty after 20 minutes");
    // Exactly 20 minutes is not enough.
    let early = mine_with(h1.block_hash(), h1.timestamp + 1200, 2, REGTEST_BITS, 4);
    match chain.process_headers(&[early], now()) {
        Err(Error::BadDifficulty { expected, .. }) => assert_eq!(expected, NORMAL),
        other => panic!("want BadDifficulty, got {other:?}"),
    }
    // After a min-difficulty block, a prompt block walks back to the last normal bits.
    let h3 = mine_with(h2.block_hash(), h2.timestamp + 600, 3, REGTEST_BITS, 4);
    match chain.process_headers(&[h3], now()) {
        Err(Error::BadDifficulty { expected, .. }) => assert_eq!(expected, NORMAL),
        other => panic!("want BadDifficulty, got {other:?}"),
    }
    let mut prefix = vec![h1, h2];
    let mut prev = mine_with(h2.block_hash(), h2.timestamp + 600, 3, NORMAL, 4);
    prefix.push(prev);
    // Fast blocks up to height 2014, then height 2015 at minimum difficulty.
    while prefix.len() < 2014 {
        prev = mine_with(prev.block_hash(), prev.timestamp + 1, 4, NORMAL, 4);
        prefix.push(prev);
    }
    let last = mine_with(prev.block_hash(), prev.timestamp + 1201, 4, REGTEST_BITS, 4);
    prefix.push(last);
    chain.process_headers(&prefix[2..], now()).expect("prefix");
    assert_eq!(chain.height(), 2015);

    // The retarget at 2016: blocks came far too fast, so the target shrinks by the 4x clamp.
    // testnet3 rules scale the last block's bits (here the minimum difficulty's) ...
    let quarter = |bits: u32| target_to_compact(&compact_to_target(bits).target.shr(2));
    let probe = mine_with(last.block_hash(), last.timestamp + 600, 5, NORMAL, 4);
    match chain.process_headers(&[probe], now()) {
        Err(Error::BadDifficulty {
            expected, height, ..
        }) => {
            assert_eq!(height, 2016);
            assert_eq!(expected, quarter(REGTEST_BITS));
        }
        other => panic!("want BadDifficulty, got {other:?}"),
    }
    // ... BIP94 scales the first block of the period's (genesis here: 0x2000ffff).
    let mut chain94 = Chain::with_params(retargeting_params(true));
    chain94
        .process_headers(&prefix, now())
        .expect("prefix under bip94");
    match chain94.process_headers(&[probe], now()) {
        Err(Error::BadDifficulty { expected, .. }) => assert_eq!(expected, quarter(NORMAL)),
        other => panic!("want BadDifficulty, got {other:?}"),
    }
    // BIP94 timewarp: the period's first block may not be more than 600 s before its parent.
    let warped = mine_with(
        last.block_hash(),
        last.timestamp - 601,
        6,
        quarter(NORMAL),
        4,
    );
    assert!(matches!(
        chain94.process_headers(&[warped], now()),
        Err(Error::TimewarpAttack { .. })
    ));
    let edge = mine_with(
        last.block_hash(),
        last.timestamp - 600,
        6,
        quarter(NORMAL),
        4,
    );
    chain94
        .process_headers(&[edge], now())
        .expect("600 s back is allowed");
    assert_eq!(chain94.height(), 2016);
    // And the right bits under testnet3 rules connect too.
    let good = mine_with(
        last.block_hash(),
        last.timestamp + 600,
        7,
        quarter(REGTEST_BITS),
        4,
    );
    chain
        .process_headers(&[good], now())
        .expect("retargeted header");
    assert_eq!(chain.height(), 2016);
}
