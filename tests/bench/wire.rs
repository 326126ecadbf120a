//! Bench section `wire`: block decoding against the floor (sha256d of the payload, which
//! every framed read pays for its checksum) and against the `bitcoin` crate 0.32, on the
//! real mainnet blocks in `shared/data/`. Figures are medians of many timed iterations;
//! the fresh payload buffer each decode consumes is prepared outside the timed region, and
//! results are dropped outside it too (for both decoders).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use btcnode::wire::{MsgBlock, PROTOCOL_VERSION, sha256d};

/// Mainnet network magic, as it appears on the wire (little-endian 0xd9b4bef9).
const MAINNET_MAGIC: u32 = 0xd9b4_bef9;

/// The `shared/` folder: beside the repository, or the machine-wide copy.
fn shared_dir() -> PathBuf {
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if beside.join("data").is_dir() {
        beside
    } else {
        PathBuf::from("/work/shared")
    }
}

/// Runs `setup` then times `f` on its output, until `budget` is spent (at least `min`
/// times); returns the median.
fn median<T, R>(
    min: usize,
    budget: Duration,
    mut setup: impl FnMut() -> T,
    mut f: impl FnMut(T) -> R,
) -> Duration {
    let mut samples = Vec::new();
    let began = Instant::now();
    while samples.len() < min || began.elapsed() < budget {
        let input = setup();
        let t = Instant::now();
        let out = f(input);
        samples.push(t.elapsed());
        drop(black_box(out));
        if samples.len() >= 100_000 {
            break;
        }
    }
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// A framed `block` message: the 24-byte header and the payload, kept apart as a framer
/// that reads the header first and then the payload into its own buffer holds them.
fn frame(payload: &[u8]) -> [u8; 24] {
    let mut h = [0u8; 24];
    h[..4].copy_from_slice(&MAINNET_MAGIC.to_le_bytes());
    h[4..9].copy_from_slice(b"block");
    h[16..20].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    h[20..24].copy_from_slice(&sha256d(payload).0[..4]);
    h
}

/// Interim framed read until the `wire` branch's framer is merged: check the header
/// (magic, command, length), checksum the payload, decode it.
fn framed_read(header: &[u8; 24], payload: Vec<u8>) -> Result<MsgBlock, String> {
    if header[..4] != MAINNET_MAGIC.to_le_bytes() {
        return Err("bad magic".into());
    }
    if &header[4..16] != b"block\0\0\0\0\0\0\0" {
        return Err("bad command".into());
    }
    let len = u32::from_le_bytes([header[16], header[17], header[18], header[19]]);
    if len > MsgBlock::max_payload_length(PROTOCOL_VERSION) || len as usize != payload.len() {
        return Err("bad length".into());
    }
    if sha256d(&payload).0[..4] != header[20..24] {
        return Err("bad checksum".into());
    }
    MsgBlock::from_payload(payload, PROTOCOL_VERSION).map_err(|e| e.to_string())
}

/// Runs the section.
pub fn run() {
    let budget = Duration::from_millis(1500);
    let mut files: Vec<PathBuf> = std::fs::read_dir(shared_dir().join("data"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "bin"));
    files.sort();
    if files.is_empty() {
        println!("no blocks in {}/data", shared_dir().display());
        return;
    }
    for path in files {
        let Ok(payload) = std::fs::read(&path) else {
            println!("cannot read {}", path.display());
            continue;
        };
        let block = match MsgBlock::from_payload(payload.clone(), PROTOCOL_VERSION) {
            Ok(b) => b,
            Err(e) => {
                println!("{}: {e}", path.display());
                continue;
            }
        };
        println!(
            "block {} ({:.2} MB, {} txs)",
            block.block_hash(),
            payload.len() as f64 / 1e6,
            block.tx_count()
        );
        let header = frame(&payload);

        let sha = median(50, budget, || (), |()| sha256d(black_box(&payload)));
        let decode = median(
            50,
            budget,
            || payload.clone(),
            |p| MsgBlock::from_payload(p, PROTOCOL_VERSION),
        );
        let framed = median(
            50,
            budget,
            || payload.clone(),
            |p| framed_read(black_box(&header), p),
        );
        let theirs = median(
            50,
            budget,
            || (),
            |()| bitcoin::consensus::deserialize::<bitcoin::Block>(black_box(&payload)),
        );
        let ours_txids = median(
            30,
            budget,
            || payload.clone(),
            |p| MsgBlock::from_payload(p, PROTOCOL_VERSION).map(|b| b.txids()),
        );
        let theirs_txids = median(
            30,
            budget,
            || (),
            |()| {
                bitcoin::consensus::deserialize::<bitcoin::Block>(black_box(&payload)).map(|b| {
                    b.txdata
                        .iter()
                        .map(|t| t.compute_txid())
                        .collect::<Vec<_>>()
                })
            },
        );
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        println!("  sha256d of payload (floor)      {}", ms(sha));
        println!(
            "  payload decode                  {}  = {:.2} x bitcoin crate (goal <= 0.5)",
            ms(decode),
            ratio(decode, theirs)
        );
        println!(
            "  framed read (check+sha+decode)  {}  = {:.2} x sha256d alone (goal <= 1.3)",
            ms(framed),
            ratio(framed, sha)
        );
        println!("  bitcoin crate 0.32 decode       {}", ms(theirs));
        println!(
            "  decode + all txids              {}  vs bitcoin crate {} = {:.2} x",
            ms(ours_txids),
            ms(theirs_txids),
            ratio(ours_txids, theirs_txids)
        );
    }
}
