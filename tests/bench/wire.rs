//! Bench section `wire`: block decoding against the floor (sha256d of the payload, which
//! every framed read pays for its checksum) and against the `bitcoin` crate 0.32, on the
//! real mainnet blocks in `shared/data/`. Figures are medians of many timed iterations;
//! the fresh payload buffer each decode consumes is prepared outside the timed region, and
//! results are dropped outside it too (for both decoders).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use btcnode::wire::{
    AddrV2, BlockHeader, Framer, Hash, InvType, InvVect, Message, MessageHeader, MsgAddr, MsgBlock,
    MsgHeaders, MsgInv, NetAddress, PROTOCOL_VERSION, ServiceFlag, encode_message, sha256d,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Mainnet network magic, as it appears on the wire (little-endian 0xd9b4bef9).
const MAINNET_MAGIC: u32 = 0xd9b4_bef9;

use crate::support::shared_dir;

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

/// Frames `msg` for mainnet.
fn frame(msg: &Message) -> Vec<u8> {
    encode_message(msg, PROTOCOL_VERSION, MAINNET_MAGIC).expect("encodable message")
}

/// A full framed read with the node's framer: the frame's bytes go into a fresh [`Framer`]
/// (the copy a socket read would make), which checks the header, verifies the checksum
/// (sha256d of the payload) and decodes.
fn framer_read(frame: &[u8]) -> Option<Message> {
    let mut f = Framer::new(MAINNET_MAGIC, PROTOCOL_VERSION);
    f.push(frame);
    f.next_message().and_then(Result::ok).map(|(m, _)| m)
}

/// The same read without the copy into the framer's buffer (the payload already sits in
/// its own buffer, as after a socket read straight into the framer): header checks,
/// checksum, decode.
fn framed_read_in_place(header: &[u8; 24], payload: Vec<u8>) -> Option<Message> {
    let h = MessageHeader::decode(header, MAINNET_MAGIC, PROTOCOL_VERSION).ok()?;
    h.verify_checksum(&payload).ok()?;
    Message::decode(&h.command, payload, PROTOCOL_VERSION).ok()
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
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
        let framed_bytes = frame(&Message::Block(block.clone()));
        let header: [u8; 24] = framed_bytes[..24].try_into().expect("24-byte header");

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
            || (),
            |()| framer_read(black_box(&framed_bytes)),
        );
        let in_place = median(
            50,
            budget,
            || payload.clone(),
            |p| framed_read_in_place(&header, p),
        );
        let theirs = median(
            50,
            budget,
            || (),
            |()| bitcoin::consensus::deserialize::<bitcoin::Block>(black_box(&payload)),
        );
        let theirs_framed = median(
            50,
            budget,
            || (),
            |()| {
                bitcoin::consensus::deserialize::<bitcoin::p2p::message::RawNetworkMessage>(
                    black_box(&framed_bytes),
                )
            },
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
        println!("  sha256d of payload (floor)      {}", ms(sha));
        println!(
            "  payload decode                  {}  = {:.2} x bitcoin crate (goal <= 0.5)",
            ms(decode),
            ratio(decode, theirs)
        );
        println!(
            "  framed read, Framer (copy+check+sha+decode) {}  = {:.2} x sha256d alone (goal <= 1.3)",
            ms(framed),
            ratio(framed, sha)
        );
        println!(
            "  framed read, payload in place (check+sha+decode) {}  = {:.2} x sha256d alone",
            ms(in_place),
            ratio(in_place, sha)
        );
        println!(
            "  bitcoin crate framed (RawNetworkMessage) {}  ours/theirs = {:.2}",
            ms(theirs_framed),
            ratio(framed, theirs_framed)
        );
        println!("  bitcoin crate 0.32 decode       {}", ms(theirs));
        println!(
            "  decode + all txids              {}  vs bitcoin crate {} = {:.2} x",
            ms(ours_txids),
            ms(theirs_txids),
            ratio(ours_txids, theirs_txids)
        );
    }
    small_messages(budget);
}

/// Random 32 bytes.
fn random_hash(rng: &mut StdRng) -> Hash {
    let mut h = [0u8; 32];
    rng.fill(&mut h[..]);
    Hash(h)
}

/// Decode times of the big non-block messages: 2,000 headers, 50,000 inv entries, 1,000
/// addresses (seeded random contents).
fn small_messages(budget: Duration) {
    let mut rng = StdRng::seed_from_u64(0x6265_6e63);
    let headers: Vec<BlockHeader> = (0..2_000)
        .map(|_| BlockHeader {
            version: rng.random(),
            prev_block: random_hash(&mut rng),
            merkle_root: random_hash(&mut rng),
            timestamp: rng.random(),
            bits: rng.random(),
            nonce: rng.random(),
        })
        .collect();
    let inv: Vec<InvVect> = (0..50_000)
        .map(|i| InvVect {
            inv_type: if i % 2 == 0 {
                InvType::TX
            } else {
                InvType::WTX
            },
            hash: random_hash(&mut rng),
        })
        .collect();
    let addrs: Vec<NetAddress> = (0..1_000)
        .map(|_| NetAddress {
            timestamp: rng.random(),
            services: ServiceFlag::NODE_NETWORK | ServiceFlag::NODE_WITNESS,
            addr: AddrV2::Ipv4(std::net::Ipv4Addr::from(rng.random::<u32>())),
            port: 8333,
        })
        .collect();
    let cases = [
        ("headers", 2_000, Message::Headers(MsgHeaders { headers })),
        ("inv", 50_000, Message::Inv(MsgInv { inv_list: inv })),
        ("addr", 1_000, Message::Addr(MsgAddr { addr_list: addrs })),
    ];
    for (command, entries, msg) in cases {
        let framed = frame(&msg);
        let payload = framed[24..].to_vec();
        let decode = median(
            50,
            budget,
            || payload.clone(),
            |p| Message::decode(command, p, PROTOCOL_VERSION),
        );
        let ours = median(50, budget, || (), |()| framer_read(black_box(&framed)));
        let theirs = median(
            50,
            budget,
            || (),
            |()| {
                bitcoin::consensus::deserialize::<bitcoin::p2p::message::RawNetworkMessage>(
                    black_box(&framed),
                )
            },
        );
        println!(
            "{command} ({entries} entries, {} bytes): payload decode {} ({:.1} ns/entry); \
             framed read {}; bitcoin crate framed {} (ours/theirs {:.2})",
            payload.len(),
            ms(decode),
            decode.as_secs_f64() * 1e9 / entries as f64,
            ms(ours),
            ms(theirs),
            ratio(ours, theirs)
        );
    }
}
