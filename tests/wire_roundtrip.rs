//! Seeded random messages of every kind at several protocol versions: encode, decode
//! (directly, framed, through the framer in every chunk size) and JSON must all round-trip.
//! Seeded random garbage thrown at every decoder and the framer must never panic.

use std::io::Read;

use btcnode::wire::cli::{message_from_json, message_to_json};
use btcnode::wire::message::{COMMANDS, max_payload_length};
use btcnode::wire::msg_inv::InvType;
use btcnode::wire::netaddress::{AddrV2, NetAddress, ServiceFlag};
use btcnode::wire::protocol::*;
use btcnode::wire::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const MAGIC: u32 = 0xd9b4_bef9;

/// Protocol versions the round trips run at (each side of every gate).
const PVERS: [u32; 9] = [209, 31402, 60001, 60002, 70001, 70002, 70012, 70014, 70016];

fn hash(rng: &mut StdRng) -> Hash {
    Hash(rng.random())
}

fn bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let n = rng.random_range(0..=max);
    (0..n).map(|_| rng.random()).collect()
}

fn ascii(rng: &mut StdRng, max: usize) -> String {
    let n = rng.random_range(0..=max);
    (0..n)
        .map(|_| char::from(rng.random_range(0x20u8..0x7f)))
        .collect()
}

fn header(rng: &mut StdRng) -> BlockHeader {
    BlockHeader {
        version: rng.random(),
        prev_block: hash(rng),
        merkle_root: hash(rng),
        timestamp: rng.random(),
        bits: rng.random(),
        nonce: rng.random(),
    }
}

fn legacy_addr(rng: &mut StdRng, pver: u32, with_ts: bool) -> NetAddress {
    let mut b: [u8; 16] = rng.random();
    if rng.random_bool(0.5) {
        b[..12].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
    }
    NetAddress {
        timestamp: if with_ts && pver >= NET_ADDRESS_TIME_VERSION {
            rng.random()
        } else {
            0
        },
        services: ServiceFlag(rng.random()),
        addr: AddrV2::from_legacy_bytes(b),
        port: rng.random(),
    }
}

fn v2_addr(rng: &mut StdRng) -> NetAddress {
    let addr = match rng.random_range(0..6) {
        0 => AddrV2::Ipv4(rng.random::<[u8; 4]>().into()),
        1 => {
            let mut b: [u8; 16] = rng.random();
            b[0] = 0x20;
            AddrV2::Ipv6(b.into())
        }
        2 => AddrV2::TorV2(rng.random()),
        3 => AddrV2::TorV3(rng.random()),
        4 => AddrV2::I2p(rng.random()),
        _ => {
            let mut b: [u8; 16] = rng.random();
            b[0] = 0xfc;
            AddrV2::Cjdns(b.into())
        }
    };
    NetAddress {
        timestamp: rng.random(),
        services: ServiceFlag(rng.random()),
        addr,
        port: rng.random(),
    }
}

fn invs(rng: &mut StdRng) -> Vec<InvVect> {
    let n = rng.random_range(0..40);
    (0..n)
        .map(|_| {
            let t = if rng.random_bool(0.8) {
                [
                    InvType::TX,
                    InvType::BLOCK,
                    InvType::WITNESS_TX,
                    InvType::WTX,
                ][rng.random_range(0..4)]
            } else {
                InvType(rng.random())
            };
            InvVect::new(t, hash(rng))
        })
        .collect()
}

fn hashes(rng: &mut StdRng, max: usize) -> Vec<Hash> {
    let n = rng.random_range(0..=max);
    (0..n).map(|_| hash(rng)).collect()
}

fn random_tx(rng: &mut StdRng) -> MsgTx {
    use btcnode::wire::msg_tx::{OutPoint, TxIn, TxOut};
    let segwit = rng.random_bool(0.5);
    // At least one input: an input-less transaction reads as the BIP144 marker.
    let ins: Vec<TxIn> = (0..rng.random_range(1..4))
        .map(|_| TxIn {
            previous_out_point: OutPoint {
                hash: hash(rng),
                index: rng.random(),
            },
            signature_script: bytes(rng, 80),
            witness: if segwit {
                (0..rng.random_range(1..4))
                    .map(|_| bytes(rng, 72))
                    .collect()
            } else {
                vec![]
            },
            sequence: rng.random(),
        })
        .collect();
    let outs: Vec<TxOut> = (0..rng.random_range(0..4))
        .map(|_| TxOut {
            value: rng.random_range(0..2_100_000_000_000_000),
            pk_script: bytes(rng, 40),
        })
        .collect();
    MsgTx::new(rng.random(), &ins, &outs, rng.random()).expect("valid random tx")
}

/// One random message of every kind that exists at `pver`.
fn random_messages(rng: &mut StdRng, pver: u32) -> Vec<Message> {
    let mut version = MsgVersion::new(
        rng.random(),
        ServiceFlag(rng.random()),
        rng.random(),
        legacy_addr(rng, pver, false),
        legacy_addr(rng, pver, false),
        rng.random(),
        ascii(rng, MAX_USER_AGENT_LEN),
        rng.random(),
        rng.random(),
    );
    // Without BIP37 the relay flag is not on the wire; old peers may stop even earlier.
    version.optional_fields = if pver >= BIP0037_VERSION {
        rng.random_range(0..=5)
    } else {
        rng.random_range(0..=4)
    };
    if version.optional_fields < 5 {
        version.disable_relay_tx = false;
    }
    let unset_after = |v: &mut MsgVersion| {
        let zero = NetAddress::from_socket_addr(([0, 0, 0, 0], 0).into(), ServiceFlag::NONE);
        if v.optional_fields < 1 {
            v.addr_me = zero;
        }
        if v.optional_fields < 2 {
            v.nonce = 0;
        }
        if v.optional_fields < 3 {
            v.user_agent.clear();
        }
        if v.optional_fields < 4 {
            v.last_block = 0;
        }
    };
    unset_after(&mut version);
    let addr_count = if pver < MULTIPLE_ADDRESS_VERSION {
        1
    } else {
        30
    };
    let cmd = ["block", "tx", "version", "inv"][rng.random_range(0..4)].to_string();
    let reject_hash = if cmd == "block" || cmd == "tx" {
        hash(rng)
    } else {
        Hash::ZERO
    };
    let mut m = vec![
        Message::Version(version),
        Message::Verack,
        Message::Ping(MsgPing {
            nonce: if pver > BIP0031_VERSION {
                rng.random()
            } else {
                0
            },
        }),
        Message::GetAddr,
        Message::Addr(MsgAddr {
            addr_list: (0..rng.random_range(0..=addr_count))
                .map(|_| legacy_addr(rng, pver, true))
                .collect(),
        }),
        Message::AddrV2(MsgAddrV2 {
            addr_list: (0..rng.random_range(0..30)).map(|_| v2_addr(rng)).collect(),
        }),
        Message::Inv(MsgInv {
            inv_list: invs(rng),
        }),
        Message::GetData(MsgGetData {
            inv_list: invs(rng),
        }),
        Message::NotFound(MsgNotFound {
            inv_list: invs(rng),
        }),
        Message::GetBlocks(MsgGetBlocks {
            protocol_version: rng.random(),
            block_locator_hashes: hashes(rng, 40),
            hash_stop: hash(rng),
        }),
        Message::GetHeaders(MsgGetHeaders {
            protocol_version: rng.random(),
            block_locator_hashes: hashes(rng, 40),
            hash_stop: hash(rng),
        }),
        Message::Headers(MsgHeaders {
            headers: (0..rng.random_range(0..20)).map(|_| header(rng)).collect(),
        }),
        Message::GetCFilters(MsgGetCFilters {
            filter_type: rng.random(),
            start_height: rng.random(),
            stop_hash: hash(rng),
        }),
        Message::CFilter(MsgCFilter {
            filter_type: rng.random(),
            block_hash: hash(rng),
            data: bytes(rng, 600),
        }),
        Message::GetCFHeaders(MsgGetCFHeaders {
            filter_type: rng.random(),
            start_height: rng.random(),
            stop_hash: hash(rng),
        }),
        Message::CFHeaders(MsgCFHeaders {
            filter_type: rng.random(),
            stop_hash: hash(rng),
            prev_filter_header: hash(rng),
            filter_hashes: hashes(rng, 30),
        }),
        Message::GetCFCheckpt(MsgGetCFCheckpt {
            filter_type: rng.random(),
            stop_hash: hash(rng),
        }),
        Message::CFCheckpt(MsgCFCheckpt {
            filter_type: rng.random(),
            stop_hash: hash(rng),
            filter_headers: hashes(rng, 30),
        }),
        Message::Tx(random_tx(rng)),
        Message::Block({
            let txs: Vec<MsgTx> = (0..rng.random_range(1..5))
                .map(|_| random_tx(rng))
                .collect();
            MsgBlock::new(header(rng), &txs).expect("valid random block")
        }),
        Message::Unknown {
            command: ascii(rng, 11) + "x",
            payload: bytes(rng, 300),
        },
    ];
    if pver > BIP0031_VERSION {
        m.push(Message::Pong(MsgPong {
            nonce: rng.random(),
        }));
    }
    if pver >= BIP0035_VERSION {
        m.push(Message::MemPool);
    }
    if pver >= BIP0037_VERSION {
        m.push(Message::FilterLoad(MsgFilterLoad {
            filter: bytes(rng, 1000),
            hash_funcs: rng.random_range(0..=50),
            tweak: rng.random(),
            flags: rng.random(),
        }));
        m.push(Message::FilterAdd(MsgFilterAdd {
            data: bytes(rng, 520),
        }));
        m.push(Message::FilterClear);
        m.push(Message::MerkleBlock(MsgMerkleBlock {
            header: header(rng),
            transactions: rng.random(),
            hashes: hashes(rng, 30),
            flags: bytes(rng, 10),
        }));
    }
    if pver >= REJECT_VERSION {
        let code = rng.random();
        m.push(Message::Reject(MsgReject::new(
            cmd,
            code,
            ascii(rng, 100),
            reject_hash,
        )));
    }
    if pver >= SEND_HEADERS_VERSION {
        m.push(Message::SendHeaders);
    }
    if pver >= FEE_FILTER_VERSION {
        m.push(Message::FeeFilter(MsgFeeFilter {
            min_fee: rng.random(),
        }));
    }
    if pver >= SHORT_IDS_BLOCKS_VERSION {
        m.push(Message::SendCmpct(MsgSendCmpct {
            announce: rng.random(),
            version: rng.random(),
        }));
    }
    if pver >= ADDR_V2_VERSION {
        m.push(Message::SendAddrV2);
        m.push(Message::WtxidRelay);
    }
    m
}

#[test]
fn random_messages_round_trip_at_every_pver() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0001);
    let mut kinds = std::collections::BTreeSet::new();
    for round in 0..20 {
        for pver in PVERS {
            for msg in random_messages(&mut rng, pver) {
                let ctx = format!("round {round} pver {pver} {}", msg.command());
                kinds.insert(msg.command().to_string());
                let mut payload = Vec::new();
                msg.encode_payload(&mut payload, pver);
                assert!(payload.len() <= msg.max_payload_length(pver), "{ctx}");
                let back = Message::decode(msg.command(), payload.clone(), pver);
                assert_eq!(back.as_ref(), Ok(&msg), "{ctx}");

                let framed = encode_message(&msg, pver, MAGIC).expect(&ctx);
                let mut r = framed.as_slice();
                assert_eq!(
                    read_message(&mut r, pver, MAGIC),
                    Ok((msg.clone(), framed.len())),
                    "{ctx}"
                );
                let json = message_to_json(&msg).expect(&ctx);
                let text = serde_json::to_string(&json).expect(&ctx);
                let parsed = serde_json::from_str(&text).expect(&ctx);
                assert_eq!(message_from_json(parsed).as_ref(), Ok(&msg), "{ctx} json");
            }
        }
    }
    for c in COMMANDS {
        assert!(kinds.contains(c), "{c} not generated");
    }
}

#[test]
fn version_gates_reject_messages_older_peers_cannot_send() {
    let cases: [(&str, &[u8], u32); 9] = [
        ("pong", &[0; 8], BIP0031_VERSION),
        ("mempool", &[], BIP0035_VERSION - 1),
        ("filterclear", &[], BIP0037_VERSION - 1),
        ("filteradd", &[0], BIP0037_VERSION - 1),
        ("reject", &[0, 0, 0], REJECT_VERSION - 1),
        ("sendheaders", &[], SEND_HEADERS_VERSION - 1),
        ("feefilter", &[0; 8], FEE_FILTER_VERSION - 1),
        ("sendcmpct", &[0; 9], SHORT_IDS_BLOCKS_VERSION - 1),
        ("wtxidrelay", &[], WTXID_RELAY_VERSION - 1),
    ];
    for (cmd, payload, pver) in cases {
        assert!(
            matches!(
                Message::decode(cmd, payload.to_vec(), pver),
                Err(Error::InvalidForVersion { .. })
            ),
            "{cmd} at {pver}"
        );
    }
    // An addr with two entries is invalid before multiple-address support.
    let mut w = Vec::new();
    Message::Addr(MsgAddr {
        addr_list: vec![
            NetAddress::from_socket_addr(([1, 2, 3, 4], 1).into(), ServiceFlag::NONE);
            2
        ],
    })
    .encode_payload(&mut w, 200);
    assert!(matches!(
        Message::decode("addr", w, 200),
        Err(Error::CountTooLarge { max: 1, .. })
    ));
}

#[test]
fn limits_are_checked_before_allocation() {
    // Each payload claims one item over its limit and carries nothing else.
    let over = |n: u64| {
        let mut w = Vec::new();
        btcnode::wire::codec::write_varint(&mut w, n);
        w
    };
    let cases: Vec<(&str, Vec<u8>, u64)> = vec![
        ("inv", over(50_001), 50_000),
        ("getdata", over(50_001), 50_000),
        ("notfound", over(50_001), 50_000),
        ("addr", over(1001), 1000),
        ("addrv2", over(1001), 1000),
        ("headers", over(2001), 2000),
        ("getheaders", [vec![0; 4], over(501)].concat(), 500),
        ("getblocks", [vec![0; 4], over(501)].concat(), 500),
        ("cfheaders", [vec![0; 65], over(2001)].concat(), 2000),
        ("filteradd", over(521), 520),
        ("filterload", over(36_001), 36_000),
        (
            "cfilter",
            [vec![0; 33], over(256 * 1024 + 1)].concat(),
            256 * 1024,
        ),
        (
            "version",
            [vec![0; 46], vec![0; 26 + 8], over(257)].concat(),
            256,
        ),
    ];
    for (cmd, payload, max) in cases {
        let r = Message::decode(cmd, payload, PROTOCOL_VERSION);
        assert!(
            matches!(r, Err(Error::CountTooLarge { max: m, .. }) if m == max),
            "{cmd}: {r:?}"
        );
    }
    // A count under the limit but beyond the bytes present fails without allocating for it.
    let r = Message::decode("inv", over(50_000), PROTOCOL_VERSION);
    assert!(matches!(r, Err(Error::UnexpectedEof { .. })), "{r:?}");
    // Every command's maximum is within the protocol-wide maximum.
    for c in COMMANDS {
        for pver in PVERS {
            assert!(max_payload_length(c, pver) <= MAX_MESSAGE_PAYLOAD);
        }
    }
}

fn stream_of_messages(rng: &mut StdRng) -> (Vec<u8>, Vec<Message>) {
    let msgs = random_messages(rng, PROTOCOL_VERSION);
    let mut stream = Vec::new();
    for m in &msgs {
        stream.extend(encode_message(m, PROTOCOL_VERSION, MAGIC).expect("encodable"));
    }
    (stream, msgs)
}

#[test]
fn framer_yields_the_same_messages_for_every_chunk_size() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0002);
    let (stream, msgs) = stream_of_messages(&mut rng);
    assert!(stream.len() > 1000);
    for chunk in 1..=stream.len() {
        let mut f = Framer::new(MAGIC, PROTOCOL_VERSION);
        let mut got = Vec::with_capacity(msgs.len());
        let mut wire = 0;
        for c in stream.chunks(chunk) {
            for r in f.feed(c) {
                let (m, n) = r.expect("valid stream");
                wire += n;
                got.push(m);
            }
        }
        assert_eq!(wire, stream.len(), "chunk {chunk}");
        assert_eq!(got, msgs, "chunk {chunk}");
        assert_eq!(f.buffered(), 0);
        assert_eq!(f.heap_capacity(), 0, "idle framer holds no heap");
    }
}

/// A reader that hands out at most `chunk` bytes per read and a timeout every other call,
/// like a socket with a read timeout on a slow peer.
struct Dribble<'a> {
    data: &'a [u8],
    chunk: usize,
    calls: usize,
}

impl Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.calls += 1;
        if self.calls.is_multiple_of(2) {
            return Err(std::io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.chunk).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn framer_read_from_survives_timeouts_without_losing_bytes() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0003);
    let (stream, msgs) = stream_of_messages(&mut rng);
    for chunk in [1, 2, 3, 7, 24, 25, 100, 4096] {
        let mut f = Framer::new(MAGIC, PROTOCOL_VERSION);
        let mut src = Dribble {
            data: &stream,
            chunk,
            calls: 0,
        };
        let mut got = Vec::new();
        loop {
            while let Some(r) = f.next_message() {
                got.push(r.expect("valid").0);
            }
            match f.read_from(&mut src) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(got, msgs, "chunk {chunk}");
    }
}

#[test]
fn garbage_never_panics_any_decoder_or_the_framer() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0004);
    let valid: Vec<Vec<u8>> = {
        let mut v = Vec::new();
        for pver in PVERS {
            for m in random_messages(&mut rng, pver) {
                let mut p = Vec::new();
                m.encode_payload(&mut p, pver);
                v.push(p);
            }
        }
        v
    };
    for i in 0..30_000 {
        let pver = PVERS[rng.random_range(0..PVERS.len())];
        let cmd = COMMANDS[i % COMMANDS.len()];
        // Pure noise, or a valid payload with a few bytes flipped or cut.
        let payload = if rng.random_bool(0.5) {
            bytes(&mut rng, 200)
        } else {
            let mut p = valid[rng.random_range(0..valid.len())].clone();
            for _ in 0..rng.random_range(1..4) {
                if !p.is_empty() {
                    let at = rng.random_range(0..p.len());
                    p[at] = rng.random();
                }
            }
            if rng.random_bool(0.3) {
                let cut = rng.random_range(0..=p.len());
                p.truncate(cut);
            }
            p
        };
        let _ = Message::decode(cmd, payload.clone(), pver);
        // The same payload framed (correct checksum), then corrupted frames.
        let mut frame = Vec::new();
        frame.extend_from_slice(&MAGIC.to_le_bytes());
        let mut c = [0u8; 12];
        c[..cmd.len()].copy_from_slice(cmd.as_bytes());
        frame.extend_from_slice(&c);
        frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        frame.extend_from_slice(&btcnode::wire::message_header::checksum(&payload));
        frame.extend_from_slice(&payload);
        if rng.random_bool(0.3) {
            let at = rng.random_range(0..frame.len());
            frame[at] = rng.random();
        }
        let mut f = Framer::new(MAGIC, pver);
        for ch in frame.chunks(rng.random_range(1..64)) {
            let _ = f.feed(ch);
            assert!(f.heap_capacity() <= MAX_MESSAGE_PAYLOAD);
        }
        let mut r = frame.as_slice();
        let _ = read_message(&mut r, pver, MAGIC);
    }
    // Pure noise streams into one framer.
    for _ in 0..200 {
        let mut f = Framer::new(MAGIC, PROTOCOL_VERSION);
        let noise = bytes(&mut rng, 4000);
        let _ = f.feed(&noise);
    }
}

/// Differential against the `bitcoin` crate 0.32: every message both know (at 70016, with
/// the fields rust-bitcoin insists on) is accepted by its decoder as the same command, and
/// its encoder gives back our exact bytes.
#[test]
fn bitcoin_crate_reads_and_rewrites_our_messages_identically() {
    use bitcoin::consensus::encode::{deserialize, serialize};
    use bitcoin::p2p::message::RawNetworkMessage;
    let mut rng = StdRng::seed_from_u64(0x5eed_0005);
    let mut compared = std::collections::BTreeSet::new();
    for _ in 0..30 {
        for mut msg in random_messages(&mut rng, PROTOCOL_VERSION) {
            match &mut msg {
                // rust-bitcoin wants every version field and a valid user agent.
                Message::Version(v) => {
                    v.optional_fields = 5;
                    v.addr_me = NetAddress::from_socket_addr(
                        ([127, 0, 0, 1], 8333).into(),
                        ServiceFlag::NODE_NETWORK,
                    );
                }
                // rust-bitcoin always reads a hash; btcd only for block and tx.
                Message::Reject(r) if r.cmd != "block" && r.cmd != "tx" => continue,
                // rust-bitcoin knows only the BIP61 codes.
                Message::Reject(r) => {
                    r.code =
                        [0x01, 0x10, 0x11, 0x12, 0x40, 0x41, 0x42, 0x43][usize::from(r.code % 8)]
                }
                // rust-bitcoin knows only the three BIP37 update flags.
                Message::FilterLoad(f) => f.flags %= 3,
                // rust-bitcoin rejects fee rates outside 0..=21e14 sat/kvB (the server
                // checks that range; the wire does not).
                Message::FeeFilter(f) => f.min_fee = f.min_fee.rem_euclid(2_100_000_000_000_001),
                // rust-bitcoin validates the partial merkle tree's shape.
                Message::MerkleBlock(_) => continue,
                _ => {}
            }
            let ours = encode_message(&msg, PROTOCOL_VERSION, MAGIC).expect("encodable");
            let theirs: RawNetworkMessage = deserialize(&ours)
                .unwrap_or_else(|e| panic!("bitcoin crate rejects our {}: {e}", msg.command()));
            assert_eq!(theirs.command().as_ref(), msg.command());
            assert_eq!(serialize(&theirs), ours, "{}", msg.command());
            compared.insert(msg.command().to_string());
        }
    }
    assert!(compared.len() >= 30, "compared {compared:?}");
}

/// bytes -> message -> JSON -> message -> bytes, asserting every step is exact; returns
/// the JSON.
fn lossless(command: &str, payload: &[u8], pver: u32) -> serde_json::Value {
    let msg = Message::decode(command, payload.to_vec(), pver).expect("decodes");
    let mut again = Vec::new();
    msg.encode_payload(&mut again, pver);
    assert_eq!(
        hex::encode(&again),
        hex::encode(payload),
        "{command} re-encoded"
    );
    let json = message_to_json(&msg).expect("json");
    let back = message_from_json(json.clone()).expect("json reads back");
    assert_eq!(back, msg, "{command} through JSON");
    let mut again = Vec::new();
    back.encode_payload(&mut again, pver);
    assert_eq!(
        hex::encode(&again),
        hex::encode(payload),
        "{command} via JSON"
    );
    json
}

/// A full `version` payload with the given user agent bytes and relay byte.
fn version_payload(user_agent: &[u8], relay: u8) -> Vec<u8> {
    let mut v = MsgVersion::new(
        PROTOCOL_VERSION as i32,
        ServiceFlag::NODE_NETWORK,
        1_700_000_000,
        NetAddress::from_socket_addr(([127, 0, 0, 1], 8333).into(), ServiceFlag::NONE),
        NetAddress::from_socket_addr(([127, 0, 0, 2], 8333).into(), ServiceFlag::NONE),
        7,
        String::new(),
        800_000,
        false,
    );
    v.user_agent = "x".repeat(user_agent.len());
    let mut w = Vec::new();
    Message::Version(v).encode_payload(&mut w, PROTOCOL_VERSION);
    // The user agent sits right before last_block (4) and relay (1).
    let ua_at = w.len() - 5 - user_agent.len();
    let ua_end = w.len() - 5;
    w[ua_at..ua_end].copy_from_slice(user_agent);
    *w.last_mut().expect("relay byte") = relay;
    w
}

#[test]
fn version_relay_byte_other_than_0_or_1_round_trips() {
    for relay in [0u8, 1, 2, 0x7f, 0xff] {
        let payload = version_payload(b"/x:1/", relay);
        let json = lossless("version", &payload, PROTOCOL_VERSION);
        let Message::Version(v) =
            Message::decode("version", payload, PROTOCOL_VERSION).expect("decodes")
        else {
            panic!("not a version");
        };
        // Any non-zero byte means "relay", as in btcd and Bitcoin Core.
        assert_eq!(v.relay(), relay != 0);
        assert_eq!(v.disable_relay_tx, relay == 0);
        assert_eq!(v.relay_flag_byte(), relay);
        assert_eq!(json["disable_relay_tx"], relay == 0);
        if relay > 1 {
            assert_eq!(json["relay_byte"], relay);
        } else {
            assert!(json.get("relay_byte").is_none(), "{json}");
        }
    }
    // Editing the flag wins over the kept byte.
    let payload = version_payload(b"/x:1/", 2);
    let Message::Version(mut v) =
        Message::decode("version", payload, PROTOCOL_VERSION).expect("decodes")
    else {
        panic!("not a version");
    };
    v.disable_relay_tx = true;
    assert_eq!(v.relay_flag_byte(), 0);
    // JSON that contradicts itself is refused.
    let mut json = message_to_json(&Message::Version(v)).expect("json");
    json["relay_byte"] = 2.into();
    let e = message_from_json(json).expect_err("contradiction");
    assert!(e.contains("relay_byte 2 contradicts"), "{e}");
}

#[test]
fn non_utf8_strings_round_trip_exactly() {
    let bad: &[u8] = b"/caf\xe9:1\xff\xfe/";
    let json = lossless("version", &version_payload(bad, 1), PROTOCOL_VERSION);
    assert_eq!(
        json["user_agent"],
        serde_json::json!({ "hex": hex::encode(bad) })
    );
    let Message::Version(v) = message_from_json(json).expect("reads") else {
        panic!("not a version");
    };
    assert_eq!(v.user_agent, "/caf?:1??/");
    assert_eq!(v.user_agent_bytes(), bad);
    // Valid UTF-8 prints as a plain string, also when given as hex.
    let json = lossless("version", &version_payload("/café:1/".as_bytes(), 1), 70016);
    assert_eq!(json["user_agent"], "/café:1/");
    let mut j = json.clone();
    j["user_agent"] = serde_json::json!({ "hex": hex::encode("/café:1/".as_bytes()) });
    assert_eq!(
        message_from_json(j).expect("reads"),
        message_from_json(json).expect("reads")
    );
    // A string that happens to look like the lossy text stays text.
    let mut j = lossless("version", &version_payload(bad, 1), PROTOCOL_VERSION);
    j["user_agent"] = "/caf?:1??/".into();
    let Message::Version(v) = message_from_json(j).expect("reads") else {
        panic!("not a version");
    };
    assert_eq!(v.user_agent_bytes(), b"/caf?:1??/");

    // reject: both strings, and the hash still follows a valid "block" command.
    for (cmd, reason) in [
        (&b"bl\xffck"[..], &b"bad \x80 block"[..]),
        (b"block", b"\xc3\x28"),
        (b"\xf0\x9f\x92", b"fine"),
    ] {
        let mut payload = Vec::new();
        payload.push(cmd.len() as u8);
        payload.extend_from_slice(cmd);
        payload.push(0x10);
        payload.push(reason.len() as u8);
        payload.extend_from_slice(reason);
        if cmd == b"block" {
            payload.extend_from_slice(&[0xab; 32]);
        }
        let json = lossless("reject", &payload, PROTOCOL_VERSION);
        let want = |b: &[u8]| match std::str::from_utf8(b) {
            Ok(s) => serde_json::json!(s),
            Err(_) => serde_json::json!({ "hex": hex::encode(b) }),
        };
        assert_eq!(json["cmd"], want(cmd));
        assert_eq!(json["reason"], want(reason));
    }
    // Editing a decoded field takes effect.
    let Message::Reject(mut r) =
        Message::decode("reject", b"\x01\xff\x10\x01\xfe".to_vec(), PROTOCOL_VERSION)
            .expect("decodes")
    else {
        panic!("not a reject");
    };
    r.reason = "new".into();
    let mut w = Vec::new();
    Message::Reject(r).encode_payload(&mut w, PROTOCOL_VERSION);
    assert_eq!(w, b"\x01\xff\x10\x03new");
}

#[test]
fn block_headers_have_one_json_form() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0011);
    let h = header(&mut rng);
    let want = serde_json::json!({
        "version": h.version,
        "prev_block": h.prev_block.to_string(),
        "merkle_root": h.merkle_root.to_string(),
        "timestamp": h.timestamp,
        "bits": format!("{:#010x}", h.bits),
        "nonce": h.nonce,
        "block_hash": h.block_hash().to_string(),
    });
    assert_eq!(serde_json::to_value(h).expect("json"), want);
    let headers = message_to_json(&Message::Headers(MsgHeaders { headers: vec![h] })).expect("j");
    assert_eq!(headers["headers"][0], want);
    let block = MsgBlock::new(h, &[]).expect("block");
    assert_eq!(
        message_to_json(&Message::Block(block)).expect("j")["header"],
        want
    );
    // Read back: bits as a number is accepted, block_hash may be left out, a wrong one is
    // refused.
    let mut j = want.clone();
    j["bits"] = h.bits.into();
    j.as_object_mut().expect("object").remove("block_hash");
    assert_eq!(serde_json::from_value::<BlockHeader>(j).expect("reads"), h);
    let mut j = want.clone();
    j["nonce"] = (h.nonce ^ 1).into();
    let e = serde_json::from_value::<BlockHeader>(j).expect_err("hash mismatch");
    assert!(e.to_string().contains("does not match"), "{e}");
    let mut json = headers.clone();
    json["headers"][0]["nonce"] = (h.nonce ^ 1).into();
    assert!(message_from_json(json).is_err());
}

#[test]
fn addr_skips_entries_without_a_legacy_form() {
    let ts = |addr: AddrV2| NetAddress {
        timestamp: 1_700_000_000,
        services: ServiceFlag::NODE_NETWORK,
        addr,
        port: 8333,
    };
    let v4 = ts(AddrV2::Ipv4([192, 0, 2, 1].into()));
    let v6 = ts(AddrV2::Ipv6("2001:db8::1".parse().expect("ip")));
    let onion2 = ts(AddrV2::TorV2([7; 10]));
    let msg = MsgAddr {
        addr_list: vec![
            ts(AddrV2::TorV3([1; 32])),
            v4,
            ts(AddrV2::I2p([2; 32])),
            v6,
            ts(AddrV2::Cjdns("fc00::1".parse().expect("ip"))),
            onion2,
        ],
    };
    assert_eq!(msg.encodable_len(), 3);
    let mut w = Vec::new();
    Message::Addr(msg).encode_payload(&mut w, PROTOCOL_VERSION);
    assert_eq!(w.len(), 1 + 3 * 30, "count and three entries");
    assert_eq!(w[0], 3, "count written matches entries written");
    let back = Message::decode("addr", w, PROTOCOL_VERSION).expect("decodes");
    assert_eq!(
        back,
        Message::Addr(MsgAddr {
            addr_list: vec![v4, v6, onion2]
        })
    );
    // Nothing encodable: an empty addr.
    let mut w = Vec::new();
    Message::Addr(MsgAddr {
        addr_list: vec![ts(AddrV2::TorV3([1; 32]))],
    })
    .encode_payload(&mut w, PROTOCOL_VERSION);
    assert_eq!(w, [0]);
}
