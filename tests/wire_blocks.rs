//! Transactions and blocks: differential tests against the `bitcoin` crate 0.32 on the real
//! mainnet blocks in `shared/data/` and on seeded random transactions, mainnet blocks
//! 1-256 (merkle roots and parent links), the tx/block vectors of `shared/vectors/wire.json`,
//! and malformed input (truncations, limits, seeded garbage) that must fail without
//! panicking.

use std::path::PathBuf;

use bitcoin::hashes::Hash as _;
use btcnode::wire::codec::write_varint;
use btcnode::wire::msg_block::MAX_TX_PER_BLOCK;
use btcnode::wire::msg_tx::{
    MAX_SCRIPT_SIZE, MAX_TX_IN_PER_MESSAGE, MAX_TX_OUT_PER_MESSAGE, MAX_WITNESS_ITEM_SIZE,
    MAX_WITNESS_ITEMS_PER_INPUT, write_tx,
};
use btcnode::wire::{
    Error, Hash, MsgBlock, MsgTx, OutPoint, PROTOCOL_VERSION, TxIn, TxOut, TxRef, sha256d,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Mainnet network magic as read little-endian from the wire.
const MAINNET_MAGIC: u32 = 0xd9b4_bef9;

use crate::support::testdata_or_skip;

/// The real blocks (`*.bin`) in the test data's `data/`, or `None` (and `check` skipped)
/// without test data.
fn real_blocks(check: &str) -> Option<Vec<(PathBuf, Vec<u8>)>> {
    let dir = testdata_or_skip(check, "data")?;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 2,
        "want the real blocks in {}",
        dir.display()
    );
    Some(
        paths
            .into_iter()
            .map(|p| {
                let b = std::fs::read(&p).expect("read block");
                (p, b)
            })
            .collect(),
    )
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Every field of our view equals the bitcoin crate's transaction.
fn assert_same_tx(ours: TxRef<'_>, theirs: &bitcoin::Transaction, what: &str) {
    assert_eq!(
        ours.txid().0,
        theirs.compute_txid().to_byte_array(),
        "{what} txid"
    );
    assert_eq!(
        ours.wtxid().0,
        theirs.compute_wtxid().to_byte_array(),
        "{what} wtxid"
    );
    assert_eq!(ours.version(), theirs.version.0, "{what} version");
    assert_eq!(
        ours.lock_time(),
        theirs.lock_time.to_consensus_u32(),
        "{what} lock time"
    );
    assert_eq!(ours.size(), theirs.total_size(), "{what} size");
    assert_eq!(ours.base_size(), theirs.base_size(), "{what} base size");
    assert_eq!(
        ours.weight() as u64,
        theirs.weight().to_wu(),
        "{what} weight"
    );
    assert_eq!(ours.is_coinbase(), theirs.is_coinbase(), "{what} coinbase");
    assert_eq!(ours.input_count(), theirs.input.len(), "{what} inputs");
    for (a, b) in ours.inputs().zip(&theirs.input) {
        let op = a.previous_out_point();
        assert_eq!(op.hash.0, b.previous_output.txid.to_byte_array());
        assert_eq!(op.index, b.previous_output.vout);
        assert_eq!(a.signature_script(), b.script_sig.as_bytes());
        assert_eq!(a.sequence(), b.sequence.0);
        assert_eq!(a.witness().len(), b.witness.len());
        assert!(a.witness().iter().eq(b.witness.iter()), "{what} witness");
    }
    assert_eq!(ours.output_count(), theirs.output.len(), "{what} outputs");
    for (a, b) in ours.outputs().zip(&theirs.output) {
        assert_eq!(a.value() as u64, b.value.to_sat());
        assert_eq!(a.pk_script(), b.script_pubkey.as_bytes());
    }
    assert_eq!(
        ours.as_bytes(),
        bitcoin::consensus::serialize(theirs),
        "{what} bytes"
    );
}

#[test]
fn real_blocks_match_the_bitcoin_crate() {
    let Some(blocks) = real_blocks("real_blocks_match_the_bitcoin_crate") else {
        return;
    };
    for (path, payload) in blocks {
        let name = path.display();
        let ours = MsgBlock::from_payload(payload.clone(), PROTOCOL_VERSION)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let theirs: bitcoin::Block =
            bitcoin::consensus::deserialize(&payload).expect("bitcoin crate decodes");
        assert_eq!(
            ours.block_hash().0,
            theirs.block_hash().to_byte_array(),
            "{name}"
        );
        assert!(
            path.to_string_lossy()
                .contains(&ours.block_hash().to_string()),
            "file name carries the block hash"
        );
        assert_eq!(ours.tx_count(), theirs.txdata.len());
        for (i, (a, b)) in ours.transactions().zip(&theirs.txdata).enumerate() {
            assert_same_tx(a, b, &format!("{name} tx {i}"));
            // An owned copy of the transaction encodes and decodes alike.
            let owned = a.to_msg_tx();
            assert_eq!(owned.txid(), a.txid());
            let mut w = Vec::new();
            owned.encode(&mut w, PROTOCOL_VERSION);
            assert_eq!(w, a.as_bytes());
            let again = MsgTx::from_payload(w, PROTOCOL_VERSION).expect("tx decodes alone");
            assert_eq!(again, owned);
        }
        let txids: Vec<[u8; 32]> = ours.txids().iter().map(|h| h.0).collect();
        let their_txids: Vec<[u8; 32]> = theirs
            .txdata
            .iter()
            .map(|t| t.compute_txid().to_byte_array())
            .collect();
        assert_eq!(txids, their_txids);
        ours.check_merkle_root().expect("merkle root");
        assert!(theirs.check_merkle_root());
        ours.check_witness_commitment().expect("witness commitment");
        assert!(theirs.check_witness_commitment());
        assert_eq!(
            ours.witness_merkle_root().0,
            theirs
                .witness_root()
                .expect("has transactions")
                .to_byte_array()
        );
        let mut w = Vec::new();
        ours.encode(&mut w, PROTOCOL_VERSION);
        assert!(w == payload, "{name}: re-encoding differs");
        assert!(bitcoin::consensus::serialize(&theirs) == payload);

        // JSON round trip (the decode/encode tool's path).
        let json = serde_json::to_string(&ours).expect("to json");
        let back: MsgBlock = serde_json::from_str(&json).expect("from json");
        let mut w = Vec::new();
        back.encode(&mut w, PROTOCOL_VERSION);
        assert!(w == payload, "{name}: JSON round trip differs");
    }
}

/// A random byte string whose length sometimes needs a 3-byte varint.
fn random_bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let len = if rng.random_range(0..10) == 0 {
        rng.random_range(253..600)
    } else {
        rng.random_range(0..max)
    };
    (0..len).map(|_| rng.random::<u8>()).collect()
}

#[test]
fn random_txs_encode_like_the_bitcoin_crate() {
    let mut rng = StdRng::seed_from_u64(0x7478_6964);
    let mut segwit_seen = 0;
    for n in 0..400 {
        let n_in = rng.random_range(1..5);
        let segwit = rng.random_bool(0.6);
        let tx_in: Vec<TxIn> = (0..n_in)
            .map(|_| {
                let mut hash = [0u8; 32];
                rng.fill(&mut hash[..]);
                let witness = if segwit && rng.random_bool(0.7) {
                    let items = rng.random_range(0..5);
                    (0..items).map(|_| random_bytes(&mut rng, 80)).collect()
                } else {
                    Vec::new()
                };
                TxIn {
                    previous_out_point: OutPoint {
                        hash: Hash(hash),
                        index: rng.random(),
                    },
                    signature_script: random_bytes(&mut rng, 120),
                    witness,
                    sequence: rng.random(),
                }
            })
            .collect();
        let tx_out: Vec<TxOut> = (0..rng.random_range(0..5))
            .map(|_| TxOut {
                value: rng.random_range(0..i64::MAX),
                pk_script: random_bytes(&mut rng, 60),
            })
            .collect();
        let version: i32 = rng.random();
        let lock_time: u32 = rng.random();

        let theirs = bitcoin::Transaction {
            version: bitcoin::transaction::Version(version),
            lock_time: bitcoin::absolute::LockTime::from_consensus(lock_time),
            input: tx_in
                .iter()
                .map(|i| bitcoin::TxIn {
                    previous_output: bitcoin::OutPoint {
                        txid: bitcoin::Txid::from_byte_array(i.previous_out_point.hash.0),
                        vout: i.previous_out_point.index,
                    },
                    script_sig: bitcoin::ScriptBuf::from_bytes(i.signature_script.clone()),
                    sequence: bitcoin::Sequence(i.sequence),
                    witness: bitcoin::Witness::from_slice(&i.witness),
                })
                .collect(),
            output: tx_out
                .iter()
                .map(|o| bitcoin::TxOut {
                    value: bitcoin::Amount::from_sat(o.value as u64),
                    script_pubkey: bitcoin::ScriptBuf::from_bytes(o.pk_script.clone()),
                })
                .collect(),
        };
        let ours = MsgTx::new(version, &tx_in, &tx_out, lock_time)
            .unwrap_or_else(|e| panic!("random tx {n}: {e}"));
        segwit_seen += usize::from(ours.has_witness());
        assert_same_tx(ours.tx(), &theirs, &format!("random tx {n}"));
        assert_eq!(ours.tx().to_tx_ins(), tx_in);
        assert_eq!(ours.tx().to_tx_outs(), tx_out);

        let bytes = bitcoin::consensus::serialize(&theirs);
        let decoded = MsgTx::from_payload(bytes.clone(), PROTOCOL_VERSION).expect("decodes");
        assert_eq!(decoded, ours);
        let json = serde_json::to_string(&decoded).expect("json");
        let back: MsgTx = serde_json::from_str(&json).expect("from json");
        let mut w = Vec::new();
        back.encode(&mut w, PROTOCOL_VERSION);
        assert_eq!(w, bytes, "random tx {n} JSON round trip");
    }
    assert!(
        segwit_seen > 100,
        "both kinds exercised ({segwit_seen} segwit)"
    );
}

#[test]
fn mainnet_blocks_1_to_256_link_and_commit() {
    let Some(path) = testdata_or_skip(
        "mainnet_blocks_1_to_256_link_and_commit",
        "data/blocks1-256.bz2",
    ) else {
        return;
    };
    let out = std::process::Command::new("bzip2")
        .arg("-dc")
        .arg(&path)
        .output()
        .expect("run bzip2 -dc (scripts/test.sh installs bzip2)");
    assert!(out.status.success(), "bzip2 -dc {}", path.display());
    let data = out.stdout;
    // Block 1's parent is the genesis block.
    let mut prev: Hash = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
        .parse()
        .expect("genesis hash");
    let mut pos = 0;
    let mut height = 0;
    while pos < data.len() {
        let rec = &data[pos..];
        assert!(rec.len() >= 8, "record header at {pos}");
        let magic = u32::from_le_bytes(rec[..4].try_into().expect("4 bytes"));
        assert_eq!(magic, MAINNET_MAGIC, "magic at {pos}");
        let len = u32::from_le_bytes(rec[4..8].try_into().expect("4 bytes")) as usize;
        let payload = rec[8..8 + len].to_vec();
        pos += 8 + len;
        height += 1;
        let block = MsgBlock::from_payload(payload.clone(), PROTOCOL_VERSION)
            .unwrap_or_else(|e| panic!("block {height}: {e}"));
        assert_eq!(
            block.header.prev_block, prev,
            "block {height} links to its parent"
        );
        block
            .check_merkle_root()
            .unwrap_or_else(|e| panic!("block {height}: {e}"));
        let (_, mutated) = block.compute_merkle_root();
        assert!(!mutated, "block {height} mutated");
        let mut w = Vec::new();
        block.encode(&mut w, PROTOCOL_VERSION);
        assert_eq!(w, payload, "block {height} re-encodes");
        prev = block.block_hash();
    }
    // Despite its name the file holds 255 blocks: heights 1 to 255.
    assert_eq!(height, 255);
}

/// One wire.json vector both ways: its hex decodes to its `decoded` JSON, and that JSON
/// encodes back to its hex. Returns what the hex decoded to.
fn check_json_vector<T: serde::Serialize + serde::de::DeserializeOwned>(
    v: &serde_json::Value,
    name: &str,
    decode: fn(Vec<u8>, u32) -> Result<T, Error>,
    encode: fn(&T, &mut Vec<u8>, u32),
) -> T {
    let decoded = decode(hex(v["hex"].as_str().expect("hex")), 70016).expect(name);
    assert_eq!(
        serde_json::to_value(&decoded).expect("json"),
        v["decoded"],
        "{name}"
    );
    let back: T = serde_json::from_value(v["decoded"].clone()).expect(name);
    let mut w = Vec::new();
    encode(&back, &mut w, 70016);
    assert_eq!(
        to_hex(&w),
        v["hex"].as_str().expect("hex"),
        "{name} encodes"
    );
    decoded
}

/// The tx and block vectors of shared/vectors/wire.json, both directions, and their error
/// cases.
#[test]
fn wire_json_tx_and_block_vectors() {
    let Some(path) = testdata_or_skip("wire_json_tx_and_block_vectors", "vectors/wire.json") else {
        return;
    };
    let text = std::fs::read_to_string(&path).expect("read wire.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("parse wire.json");
    let vectors = doc["vectors"].as_array().expect("vectors");
    let find = |name: &str| {
        vectors
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("vector {name}"))
    };
    for name in ["tx_segwit_p2wkh_spend", "tx_legacy_two_outputs"] {
        check_json_vector(find(name), name, MsgTx::from_payload, MsgTx::encode);
    }
    for name in ["mainnet_genesis_block", "mainnet_block1"] {
        let block = check_json_vector(find(name), name, MsgBlock::from_payload, MsgBlock::encode);
        block.check_merkle_root().expect(name);
    }
    let v = find("tx_witness_flag_but_no_witness_rejected");
    let err = MsgTx::from_payload(hex(v["hex"].as_str().expect("hex")), 70016).expect_err("bad");
    assert!(
        matches!(&err, Error::InvalidValue { field: "tx witness", reason }
            if reason == "witness flag set but tx has no witnesses"),
        "{err}"
    );
    for name in ["tx_bad_witness_flag_rejected", "framed_empty_tx_mainnet"] {
        let v = find(name);
        let frame = hex(v["hex"].as_str().expect("hex"));
        // The framed vector's payload follows its 24-byte header.
        let payload = if name.starts_with("framed") {
            frame[24..].to_vec()
        } else {
            frame
        };
        let err = MsgTx::from_payload(payload, 70016).expect_err(name);
        assert!(
            matches!(&err, Error::InvalidValue { field: "tx witness flag", reason }
                if reason == "witness tx but flag byte is 00"),
            "{name}: {err}"
        );
    }
}

/// The mainnet block 1 payload and a segwit transaction, for the malformed-input tests.
fn small_inputs() -> (Vec<u8>, Vec<u8>) {
    let block1 = hex(concat!(
        "010000006fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000982051fd",
        "1e4ba744bbbe680e1fee14677ba1a3c3540bf7b1cdb606e857233e0e61bc6649ffff001d01e36299",
        "0101000000010000000000000000000000000000000000000000000000000000000000000000ffff",
        "ffff0704ffff001d0104ffffffff0100f2052a0100000043410496b538e853519c726a2c91e61ec1",
        "1600ae1390813a627c66fb8be7947be63c52da7589379515d4e0a604f8141781e62294721166bf62",
        "1e73a82cbf2342c858eeac00000000"
    ));
    let segwit = hex(concat!(
        "01000000000101a53352d5135766f03076597418263da2d9c958315968fea823529467481ff9cd13",
        "00000000ffffffff010b070600000000001600149ddac6f39d51e0398e532a22c41ba189406a8523",
        "02463043021f4d2381dc97f182abd8185f51753018523212f5ddc07cc4e63a8dc03658da19022060",
        "8b5c4d92b86b6de7d78ef23a2fa735bcb59b914a48b0e187c5e7569a18197001210307ead084807e",
        "b76346df6977000c89392f45c76425b26181f521d7f370066a8f00000000"
    ));
    (block1, segwit)
}

#[test]
fn truncation_at_every_offset_fails_cleanly() {
    let (block1, segwit) = small_inputs();
    for cut in 0..segwit.len() {
        let err = MsgTx::from_payload(segwit[..cut].to_vec(), 70016).expect_err("truncated tx");
        assert!(
            matches!(
                err,
                Error::UnexpectedEof { .. } | Error::InvalidValue { .. }
            ),
            "cut at {cut}: {err}"
        );
    }
    for cut in 0..block1.len() {
        let err =
            MsgBlock::from_payload(block1[..cut].to_vec(), 70016).expect_err("truncated block");
        assert!(
            matches!(err, Error::UnexpectedEof { .. }),
            "cut at {cut}: {err}"
        );
    }
    // Trailing bytes are their own error.
    let mut long = segwit.clone();
    long.push(0);
    assert_eq!(
        MsgTx::from_payload(long, 70016),
        Err(Error::TrailingBytes {
            command: "tx".to_string(),
            extra: 1
        })
    );
    let mut long = block1.clone();
    long.extend_from_slice(&[1, 2]);
    assert_eq!(
        MsgBlock::from_payload(long, 70016),
        Err(Error::TrailingBytes {
            command: "block".to_string(),
            extra: 2
        })
    );
}

fn assert_count_error(payload: Vec<u8>, what: &str, count: u64, max: u64) {
    let err = MsgTx::from_payload(payload, 70016).expect_err(what);
    assert_eq!(
        err,
        Error::CountTooLarge {
            what: match what {
                "transaction inputs" => "transaction inputs",
                "transaction outputs" => "transaction outputs",
                "signature script bytes" => "signature script bytes",
                "public key script bytes" => "public key script bytes",
                "witness items" => "witness items",
                "witness item bytes" => "witness item bytes",
                other => panic!("unknown limit {other}"),
            },
            count,
            max
        }
    );
}

#[test]
fn counts_over_their_limits_are_distinct_errors() {
    let version = 1u32.to_le_bytes();
    let input = |w: &mut Vec<u8>| {
        w.extend_from_slice(&[0x11; 36]);
        w.push(0); // empty signature script
        w.extend_from_slice(&[0xff; 4]);
    };

    let mut p = version.to_vec();
    write_varint(&mut p, MAX_TX_IN_PER_MESSAGE + 1);
    assert_count_error(
        p,
        "transaction inputs",
        MAX_TX_IN_PER_MESSAGE + 1,
        MAX_TX_IN_PER_MESSAGE,
    );

    let mut p = version.to_vec();
    p.push(1);
    input(&mut p);
    write_varint(&mut p, MAX_TX_OUT_PER_MESSAGE + 1);
    assert_count_error(
        p,
        "transaction outputs",
        MAX_TX_OUT_PER_MESSAGE + 1,
        MAX_TX_OUT_PER_MESSAGE,
    );

    let mut p = version.to_vec();
    p.push(1);
    p.extend_from_slice(&[0x11; 36]);
    write_varint(&mut p, MAX_SCRIPT_SIZE + 1);
    assert_count_error(
        p,
        "signature script bytes",
        MAX_SCRIPT_SIZE + 1,
        MAX_SCRIPT_SIZE,
    );

    let mut p = version.to_vec();
    p.push(1);
    input(&mut p);
    p.push(1);
    p.extend_from_slice(&[0; 8]);
    write_varint(&mut p, MAX_SCRIPT_SIZE + 1);
    assert_count_error(
        p,
        "public key script bytes",
        MAX_SCRIPT_SIZE + 1,
        MAX_SCRIPT_SIZE,
    );

    let segwit_prefix = || {
        let mut p = version.to_vec();
        p.extend_from_slice(&[0, 1, 1]);
        input(&mut p);
        p.push(0); // no outputs
        p
    };
    let mut p = segwit_prefix();
    write_varint(&mut p, MAX_WITNESS_ITEMS_PER_INPUT + 1);
    assert_count_error(
        p,
        "witness items",
        MAX_WITNESS_ITEMS_PER_INPUT + 1,
        MAX_WITNESS_ITEMS_PER_INPUT,
    );
    let mut p = segwit_prefix();
    p.push(1);
    write_varint(&mut p, MAX_WITNESS_ITEM_SIZE + 1);
    assert_count_error(
        p,
        "witness item bytes",
        MAX_WITNESS_ITEM_SIZE + 1,
        MAX_WITNESS_ITEM_SIZE,
    );

    // A count under its limit but not backed by bytes fails as a short read, promptly.
    let mut p = version.to_vec();
    write_varint(&mut p, MAX_TX_IN_PER_MESSAGE);
    assert!(matches!(
        MsgTx::from_payload(p, 70016),
        Err(Error::UnexpectedEof {
            field: "previous outpoint",
            ..
        })
    ));

    // Blocks: too many transactions, and a payload over the block limit.
    let mut p = vec![0u8; 80];
    write_varint(&mut p, MAX_TX_PER_BLOCK + 1);
    assert_eq!(
        MsgBlock::from_payload(p, 70016),
        Err(Error::CountTooLarge {
            what: "transactions in block",
            count: MAX_TX_PER_BLOCK + 1,
            max: MAX_TX_PER_BLOCK
        })
    );
    assert_eq!(
        MsgBlock::from_payload(vec![0; 4_000_001], 70016),
        Err(Error::CountTooLarge {
            what: "block payload bytes",
            count: 4_000_001,
            max: 4_000_000
        })
    );
    assert!(matches!(
        MsgTx::from_payload(vec![0; 4_000_001], 70016),
        Err(Error::CountTooLarge {
            what: "tx payload bytes",
            ..
        })
    ));

    // Non-canonical varints are rejected wherever they appear.
    let mut p = version.to_vec();
    p.extend_from_slice(&[0xfd, 0x01, 0x00]);
    assert!(matches!(
        MsgTx::from_payload(p, 70016),
        Err(Error::NonCanonicalVarInt {
            value: 1,
            encoded_len: 3
        })
    ));
}

/// Seeded garbage: random mutations of real encodings never panic, and whatever still
/// decodes re-encodes to exactly the bytes it came from (one encoding per value).
#[test]
fn seeded_garbage_never_panics_and_round_trips() {
    let (block1, segwit) = small_inputs();
    let mut rng = StdRng::seed_from_u64(0x6761_7262);
    let mut decoded = 0;
    for round in 0..20_000 {
        let base = if round % 2 == 0 { &block1 } else { &segwit };
        let mut b = base.clone();
        for _ in 0..rng.random_range(1..4) {
            match rng.random_range(0..4) {
                0 => {
                    let i = rng.random_range(0..b.len());
                    b[i] = rng.random();
                }
                1 => {
                    let i = rng.random_range(0..b.len());
                    b[i] = [0x00, 0x01, 0xfd, 0xfe, 0xff][rng.random_range(0..5)];
                }
                2 => {
                    let cut = rng.random_range(0..b.len());
                    b.truncate(cut.max(1));
                }
                _ => {
                    let i = rng.random_range(0..=b.len());
                    b.insert(i, rng.random());
                }
            }
        }
        let mut w = Vec::new();
        if round % 2 == 0 {
            if let Ok(block) = MsgBlock::from_payload(b.clone(), 70016) {
                block.encode(&mut w, 70016);
                let _ = block.check_merkle_root();
                let _ = block.check_witness_commitment();
                decoded += 1;
            }
        } else if let Ok(tx) = MsgTx::from_payload(b.clone(), 70016) {
            tx.encode(&mut w, 70016);
            let _ = (tx.txid(), tx.wtxid(), format!("{tx:?}"));
            decoded += 1;
        }
        if !w.is_empty() {
            assert_eq!(w, b, "round {round}: decoded bytes re-encode identically");
        }
        // Pure random bytes as well.
        let junk: Vec<u8> = (0..rng.random_range(0..200))
            .map(|_| rng.random())
            .collect();
        let _ = MsgTx::from_payload(junk.clone(), 70016);
        let _ = MsgBlock::from_payload(junk, 70016);
    }
    assert!(decoded > 100, "some mutations still decode ({decoded})");
}

#[test]
fn checks_catch_tampering() {
    let (block1, _) = small_inputs();
    let mut block = MsgBlock::from_payload(block1, 70016).expect("block 1");
    block.header.merkle_root = Hash([0; 32]);
    assert!(matches!(
        block.check_merkle_root(),
        Err(Error::InvalidValue {
            field: "merkle root",
            ..
        })
    ));
    // Editing the header changes the encoding and the hash.
    let mut w = Vec::new();
    block.encode(&mut w, 70016);
    assert_eq!(&w[36..68], &[0; 32]);
    assert_eq!(block.block_hash(), sha256d(&w[..80]));

    // A segwit transaction in a block without a witness commitment.
    let (_, segwit) = small_inputs();
    let coinbase = block.tx(0).expect("coinbase").to_msg_tx();
    let tx = MsgTx::from_payload(segwit, 70016).expect("segwit tx");
    let b = MsgBlock::new(block.header, &[coinbase, tx]).expect("block");
    assert!(matches!(
        b.check_witness_commitment(),
        Err(Error::InvalidValue {
            field: "witness commitment",
            ..
        })
    ));
    // write_tx and MsgTx::new agree.
    let t = b.tx(1).expect("tx");
    let mut w = Vec::new();
    write_tx(
        &mut w,
        t.version(),
        &t.to_tx_ins(),
        &t.to_tx_outs(),
        t.lock_time(),
    );
    assert_eq!(w, t.as_bytes());
}

/// The real blocks through the node's framer, and the decode/encode tool's JSON form of a
/// `Message` (with its "command" member) back to identical frame bytes.
#[test]
fn real_blocks_through_the_framer_and_message_json() {
    use btcnode::wire::{Framer, Message, encode_message};
    let Some(blocks) = real_blocks("real_blocks_through_the_framer_and_message_json") else {
        return;
    };
    for (path, payload) in blocks {
        let block = MsgBlock::from_payload(payload.clone(), PROTOCOL_VERSION).expect("decodes");
        let frame = encode_message(&Message::Block(block), PROTOCOL_VERSION, MAINNET_MAGIC)
            .expect("frames");
        assert_eq!(&frame[24..], &payload[..]);
        let mut framer = Framer::new(MAINNET_MAGIC, PROTOCOL_VERSION);
        // Uneven chunks, as socket reads deliver them.
        let mut at = 0;
        let mut chunk = 1;
        while at < frame.len() {
            let end = (at + chunk).min(frame.len());
            assert_eq!(framer.push(&frame[at..end]), end - at);
            at = end;
            chunk = chunk * 3 + 7;
        }
        let (msg, n) = framer
            .next_message()
            .expect("complete")
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(n, frame.len());
        let json = serde_json::to_string(&msg).expect("json");
        assert!(json.starts_with(r#"{"command":"block","header":"#));
        let back: Message = serde_json::from_str(&json).expect("from json");
        assert_eq!(back, msg);
        let again = encode_message(&back, PROTOCOL_VERSION, MAINNET_MAGIC).expect("frames");
        assert!(again == frame, "{}: JSON round trip", path.display());
    }
    let (_, segwit) = small_inputs();
    let tx = Message::Tx(MsgTx::from_payload(segwit.clone(), 70016).expect("tx"));
    let json = serde_json::to_value(&tx).expect("json");
    assert_eq!(json["command"], "tx");
    let back: Message = serde_json::from_value(json).expect("from json");
    let frame = encode_message(&back, 70016, MAINNET_MAGIC).expect("frames");
    assert_eq!(&frame[24..], &segwit[..]);
}
