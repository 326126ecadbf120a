//! Unit tests of the address book rules and the peers file format, driven with chosen
//! instants and seeded generators.

use super::addr_book::Entry;
use super::peers_file::GO_ZERO_TIME_UNIX;
use super::*;
use crate::atomic_file::temp_path;
use crate::wire::{AddrV2, NetAddress, ServiceFlag};
use rand::SeedableRng;
use rand::rngs::StdRng;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const T0: u64 = 1_700_000_000;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn na(s: &str, port: u16) -> NetAddress {
    NetAddress {
        timestamp: T0 as u32,
        services: ServiceFlag::NODE_NETWORK,
        addr: crate::wire::netaddress_str::parse_host(s).expect(s),
        port,
    }
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> NetAddress {
    NetAddress {
        timestamp: T0 as u32,
        services: ServiceFlag::NODE_NETWORK,
        addr: AddrV2::Ipv4(Ipv4Addr::new(a, b, c, d)),
        port: 8333,
    }
}

fn book(seed: u64) -> AddrBook {
    let key: [u8; 32] = std::array::from_fn(|i| i as u8);
    AddrBook::with_key(key, StdRng::seed_from_u64(seed))
}

fn sha256d(data: &[u8]) -> [u8; 32] {
    Sha256::digest(Sha256::digest(data)).into()
}

fn le64(h: &[u8; 32]) -> u64 {
    u64::from_le_bytes(h[..8].try_into().expect("8 bytes"))
}

/// A scratch directory under the target dir, unique per test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("test-scratch")
        .join(format!("addrmgr-unit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn new_bucket_follows_btcd_formula() {
    let b = book(1);
    let addr = v4(12, 1, 2, 3);
    let src = v4(13, 5, 6, 7);
    // btcd: data1 = key || GroupKey(addr) || GroupKey(src); h = sha256d; n = le64(h) % 64;
    // data2 = key || GroupKey(src) || le64bytes(n); bucket = le64(sha256d(data2)) % 1024.
    let mut d1 = b.key().to_vec();
    d1.extend_from_slice(b"12.1.0.0");
    d1.extend_from_slice(b"13.5.0.0");
    let n = le64(&sha256d(&d1)) % 64;
    let mut d2 = b.key().to_vec();
    d2.extend_from_slice(b"13.5.0.0");
    d2.extend_from_slice(&n.to_le_bytes());
    let want = (le64(&sha256d(&d2)) % 1024) as usize;
    assert_eq!(b.new_bucket(&addr, &src), want);
    // Pinned (also computed with Python's hashlib) so a change to the hashing or the group
    // strings is caught.
    assert_eq!(want, 805);
}

#[test]
fn tried_bucket_follows_btcd_formula() {
    let b = book(1);
    let addr = na("2602:100::1", 8333);
    // btcd: data1 = key || NetAddressKey(addr); n = le64(sha256d) % 8;
    // data2 = key || GroupKey(addr) || le64bytes(n); bucket = le64(sha256d(data2)) % 64.
    let mut d1 = b.key().to_vec();
    d1.extend_from_slice(b"[2602:100::1]:8333");
    let n = le64(&sha256d(&d1)) % 8;
    let mut d2 = b.key().to_vec();
    d2.extend_from_slice(b"2602:100::");
    d2.extend_from_slice(&n.to_le_bytes());
    let want = (le64(&sha256d(&d2)) % 64) as usize;
    assert_eq!(b.tried_bucket(&addr), want);
    assert_eq!(want, 30);
}

#[test]
fn one_source_group_reaches_at_most_64_new_buckets() {
    let b = book(2);
    let src = v4(13, 5, 6, 7);
    let mut buckets = HashSet::new();
    for a in 1..=250u8 {
        for c in [1u8, 77, 200] {
            buckets.insert(b.new_bucket(&v4(a, c, 1, 1), &src));
        }
    }
    assert!(
        buckets.len() <= NEW_BUCKETS_PER_GROUP as usize,
        "{}",
        buckets.len()
    );
    assert!(
        buckets.len() > 50,
        "spread over the allowed buckets: {}",
        buckets.len()
    );
    // Every source in the same /16 is the same source group.
    let same_group = v4(13, 5, 200, 1);
    assert_eq!(
        b.new_bucket(&v4(20, 1, 1, 1), &src),
        b.new_bucket(&v4(20, 1, 1, 1), &same_group)
    );
}

#[test]
fn eclipse_one_source_group_cannot_take_more_than_its_share() {
    let mut b = book(3);
    let now = at(T0);
    // One attacker /16 announcing addresses from one /16: all land in one new bucket.
    for i in 0..5000u32 {
        let [_, _, c, d] = i.to_be_bytes();
        let src = v4(66, 6, c, d);
        b.add_address(&v4(77, 7, c, d), &src, now);
    }
    assert!(b.num_new() <= NEW_BUCKET_SIZE, "{}", b.num_new());
    b.check_invariants().expect("invariants");
    // The same attacker announcing addresses from every /16: at most 64 buckets of 64.
    let mut b = book(4);
    for i in 0..60_000u32 {
        let [_, a, c, d] = i.to_be_bytes();
        let src = v4(66, 6, d, c);
        b.add_address(&v4(1 + (c % 200), d, a, 1), &src, now);
    }
    let cap = NEW_BUCKETS_PER_GROUP as usize * NEW_BUCKET_SIZE;
    assert!(b.num_new() <= cap, "{} > {cap}", b.num_new());
    let used = b.new_bucket_lens().iter().filter(|&&n| n > 0).count();
    assert!(used <= NEW_BUCKETS_PER_GROUP as usize);
    b.check_invariants().expect("invariants");
    // An honest address from another source still gets in.
    let honest = v4(8, 8, 4, 4);
    b.add_address(&honest, &v4(9, 9, 9, 9), now);
    assert!(b.find(&honest).is_some());
}

#[test]
fn add_address_rules() {
    let mut b = book(5);
    let now = at(T0);
    // Unroutable addresses are ignored.
    for s in [
        "10.0.0.1",
        "127.0.0.1",
        "192.0.2.1",
        "224.0.0.1",
        "240.0.0.1",
        "2001:db8::1",
    ] {
        b.add_address(&na(s, 8333), &v4(1, 2, 3, 4), now);
    }
    assert_eq!(b.num_addresses(), 0);
    assert!(b.need_more_addresses());
    // A repeat from many sources ends in at most 8 buckets; timestamps only move forward;
    // services accumulate.
    let mut a = v4(12, 1, 2, 3);
    b.add_address(&a, &v4(1, 1, 1, 1), now);
    for i in 0..2000u32 {
        let [_, _, c, d] = i.to_be_bytes();
        a.timestamp = T0 as u32 - (i % 7);
        a.services = if i == 500 {
            ServiceFlag::NODE_WITNESS
        } else {
            ServiceFlag::NODE_NETWORK
        };
        b.add_address(&a, &v4(c, d, 1, 1), now);
        b.check_invariants().expect("invariants");
    }
    let ka = b.find(&a).expect("known");
    assert_eq!(b.num_addresses(), 1);
    assert!(
        ka.refs() >= 2 && usize::from(ka.refs()) <= NEW_BUCKETS_PER_ADDRESS,
        "{}",
        ka.refs()
    );
    assert_eq!(b.new_buckets_of(&a).len(), usize::from(ka.refs()));
    assert_eq!(ka.net_address().timestamp, T0 as u32);
    assert!(
        ka.net_address()
            .services
            .has(ServiceFlag::NODE_WITNESS | ServiceFlag::NODE_NETWORK)
    );
    // An IPv4-mapped IPv6 address is the same key as its IPv4 form.
    let mapped = NetAddress {
        addr: AddrV2::Ipv6(Ipv4Addr::new(12, 1, 2, 3).to_ipv6_mapped()),
        ..a
    };
    b.add_address(&mapped, &v4(1, 1, 1, 1), now);
    assert_eq!(b.num_addresses(), 1);
    assert!(b.find(&mapped).is_some());
}

/// One address of each kind other than IPv4: IPv6, Tor v2, Tor v3, I2P (port 0), CJDNS.
fn other_kinds() -> [NetAddress; 5] {
    [
        na("2602:100::1", 8333),
        NetAddress {
            addr: AddrV2::TorV2([3; 10]),
            ..v4(0, 0, 0, 0)
        },
        NetAddress {
            addr: AddrV2::TorV3([4; 32]),
            ..v4(0, 0, 0, 0)
        },
        NetAddress {
            addr: AddrV2::I2p([5; 32]),
            port: 0,
            ..v4(0, 0, 0, 0)
        },
        NetAddress {
            addr: AddrV2::Cjdns("fc00::6".parse().expect("v6")),
            ..v4(0, 0, 0, 0)
        },
    ]
}

#[test]
fn every_bip155_kind_is_a_key() {
    let mut b = book(6);
    let now = at(T0);
    let src = v4(1, 1, 1, 1);
    let [v6, tor_v2, tor_v3, i2p, cjdns] = other_kinds();
    let addrs = [v4(12, 1, 2, 3), v6, tor_v2, tor_v3, i2p, cjdns];
    for a in &addrs {
        b.add_address(a, &src, now);
    }
    // Tor v2 is read only: not learnt from gossip.
    assert_eq!(b.num_addresses(), addrs.len() - 1);
    assert!(b.find(&addrs[2]).is_none());
    // Same port, different kind: different keys; different port: different key.
    let other_port = NetAddress {
        port: 8334,
        ..addrs[3]
    };
    b.add_address(&other_port, &src, now);
    assert_eq!(b.num_addresses(), addrs.len());
    for a in &addrs {
        b.good(a, now);
    }
    assert_eq!(b.num_tried(), addrs.len() - 1);
    b.check_invariants().expect("invariants");
}

#[test]
fn attempt_connected_good_set_services() {
    let mut b = book(7);
    let now = at(T0);
    let a = v4(12, 1, 2, 3);
    b.add_address(&a, &v4(1, 1, 1, 1), now);
    b.attempt(&a, at(T0 + 5));
    b.attempt(&a, at(T0 + 6));
    let ka = b.find(&a).expect("known");
    assert_eq!(ka.attempts(), 2);
    assert_eq!(ka.last_attempt(), Some(at(T0 + 6)));
    // Connected refreshes the timestamp only after 20 minutes.
    b.connected(&a, at(T0 + 1200));
    assert_eq!(
        b.find(&a).expect("known").net_address().timestamp,
        T0 as u32
    );
    b.connected(&a, at(T0 + 1201));
    assert_eq!(
        b.find(&a).expect("known").net_address().timestamp,
        T0 as u32 + 1201
    );
    b.set_services(&a, ServiceFlag::NODE_NETWORK_LIMITED);
    assert_eq!(
        b.find(&a).expect("known").net_address().services,
        ServiceFlag::NODE_NETWORK_LIMITED
    );
    b.good(&a, at(T0 + 2000));
    let ka = b.find(&a).expect("known");
    assert!(ka.is_tried());
    assert_eq!(ka.attempts(), 0);
    assert_eq!(ka.last_success(), Some(at(T0 + 2000)));
    assert_eq!(b.tried_bucket_of(&a), Some(b.tried_bucket(&a)));
    assert!(b.new_buckets_of(&a).is_empty());
    assert_eq!((b.num_new(), b.num_tried()), (0, 1));
    // Unknown addresses are ignored.
    b.good(&v4(99, 1, 1, 1), now);
    b.attempt(&v4(99, 1, 1, 1), now);
    assert_eq!(b.num_addresses(), 1);
    b.check_invariants().expect("invariants");
}

/// Addresses that all fall in tried bucket `target`, each from its own /16.
fn addresses_for_tried_bucket(b: &AddrBook, target: usize, n: usize) -> Vec<NetAddress> {
    let mut out = Vec::new();
    'outer: for a in 1..=223u8 {
        for c in 0..=255u8 {
            for port in 1000..1008u16 {
                let x = NetAddress {
                    port,
                    ..v4(a, c, 1, 1)
                };
                if crate::addrmgr::is_routable(&x.addr) && b.tried_bucket(&x) == target {
                    out.push(x);
                    if out.len() == n {
                        break 'outer;
                    }
                }
            }
        }
    }
    out
}

#[test]
fn tried_eviction_moves_the_oldest_back_to_new() {
    let mut b = book(8);
    let target = 5;
    let addrs = addresses_for_tried_bucket(&b, target, TRIED_BUCKET_SIZE + 1);
    assert_eq!(addrs.len(), TRIED_BUCKET_SIZE + 1);
    for (i, a) in addrs.iter().enumerate() {
        // Distinct ages: the third one is the oldest.
        let mut a = *a;
        a.timestamp = if i == 2 {
            T0 as u32 - 5000
        } else {
            T0 as u32 - i as u32
        };
        b.add_address(&a, &v4(1, 1, 1, 1), at(T0));
        b.good(&a, at(T0));
    }
    assert_eq!(b.tried_bucket_lens()[target], TRIED_BUCKET_SIZE);
    assert_eq!(b.num_tried(), TRIED_BUCKET_SIZE);
    assert_eq!(b.num_new(), 1);
    let evicted = b.find(&addrs[2]).expect("still known");
    assert!(!evicted.is_tried());
    assert_eq!(evicted.refs(), 1);
    assert!(b.find(&addrs[TRIED_BUCKET_SIZE]).expect("known").is_tried());
    b.check_invariants().expect("invariants");
}

#[test]
fn full_new_bucket_expires_bad_then_oldest() {
    let mut b = book(9);
    let now = at(T0);
    // One source /16 and one address /16: a single bucket.
    let src = v4(66, 6, 1, 1);
    for i in 0..NEW_BUCKET_SIZE as u8 {
        let mut a = v4(77, 7, 1, i);
        a.timestamp = T0 as u32 - 100 - u32::from(i);
        b.add_address(&a, &src, now);
    }
    assert_eq!(b.num_new(), NEW_BUCKET_SIZE);
    // The oldest (77.7.1.63) goes when one more arrives.
    b.add_address(&v4(77, 7, 2, 0), &src, now);
    assert_eq!(b.num_new(), NEW_BUCKET_SIZE);
    assert!(b.find(&v4(77, 7, 1, 63)).is_none());
    // Bad entries (not seen for 31 days) all go at once, and the oldest good one with them.
    let later = at(T0 + 31 * 86400);
    let mut fresh = v4(77, 7, 3, 0);
    fresh.timestamp = T0 as u32 + 31 * 86400;
    b.add_address(&fresh, &src, later);
    assert_eq!(b.num_new(), 1);
    b.check_invariants().expect("invariants");
}

#[test]
fn get_address_follows_chance() {
    let now = at(T0);
    // Two new addresses in different buckets: one fresh (chance 1), one that failed once a
    // minute ago (chance 0.01 / 1.5). The recent one wins only if it is drawn and passes
    // c * 1.2^k before the fresh one is drawn once: sum over k of (1/2)^(k+1) c 1.2^k, about
    // c / 0.8 = 0.83% of draws.
    let mut b = book(10);
    let fresh = v4(12, 1, 2, 3);
    let recent = v4(45, 1, 2, 3);
    b.add_address(&fresh, &v4(1, 1, 1, 1), now);
    b.add_address(&recent, &v4(2, 2, 1, 1), now);
    assert_ne!(b.new_buckets_of(&fresh), b.new_buckets_of(&recent));
    b.attempt(&recent, at(T0 - 60));
    let draws = 40_000;
    let mut hits = 0;
    for _ in 0..draws {
        let ka = b.get_address(now).expect("non-empty");
        if ka.net_address().addr == recent.addr {
            hits += 1;
        }
    }
    let share = f64::from(hits) / f64::from(draws);
    assert!((0.0065..0.0105).contains(&share), "recent share {share}");
    // One tried and one new, equal chances: even odds.
    let mut b = book(11);
    b.add_address(&fresh, &v4(1, 1, 1, 1), now);
    b.add_address(&recent, &v4(2, 2, 1, 1), now);
    b.good(&fresh, at(T0 - 3600));
    let mut tried = 0;
    for _ in 0..draws {
        if b.get_address(now).expect("non-empty").is_tried() {
            tried += 1;
        }
    }
    let share = f64::from(tried) / f64::from(draws);
    assert!((0.48..0.52).contains(&share), "tried share {share}");
    // Empty book: nothing.
    assert!(book(12).get_address(now).is_none());
}

#[test]
fn address_cache_is_23_percent_capped() {
    let mut b = book(13);
    let now = at(T0);
    for i in 0..400u32 {
        let [_, _, c, d] = i.to_be_bytes();
        b.add_address(&v4(20 + c, d, 1, 1), &v4(d, 9, 9, 9), now);
    }
    let n = b.num_addresses();
    let cache = b.address_cache();
    assert_eq!(cache.len(), n * GET_ADDR_PERCENT / 100);
    let unique: HashSet<_> = cache.iter().map(|a| (a.addr, a.port)).collect();
    assert_eq!(unique.len(), cache.len());
    for i in 0..14_000u32 {
        let [_, b1, c, d] = i.to_be_bytes();
        b.add_address(&v4(20 + (c % 200), d, b1, 1), &v4(d, c, 9, 9), now);
    }
    assert!(b.num_addresses() * GET_ADDR_PERCENT / 100 > GET_ADDR_MAX);
    assert_eq!(b.address_cache().len(), GET_ADDR_MAX);
}

// ---- peers.json ----

/// Puts `a` in the new table as loading a file would (Tor v2 cannot be added otherwise).
fn insert_as_loaded(b: &mut AddrBook, a: NetAddress, src: NetAddress) {
    let id = b.insert_entry(Entry {
        ka: KnownAddress::new(a, src),
        new_buckets: [0; NEW_BUCKETS_PER_ADDRESS],
        tried_bucket: 0,
    });
    b.n_new += 1;
    let bucket = b.new_bucket(&a, &src);
    b.load_into_new(id, bucket);
}

#[test]
fn tor_v2_is_read_only() {
    let mut b = book(14);
    let v2 = NetAddress {
        addr: AddrV2::TorV2([3; 10]),
        ..v4(0, 0, 0, 0)
    };
    b.add_address(&v2, &v4(1, 1, 1, 1), at(T0));
    assert_eq!(b.num_addresses(), 0, "not learnt from gossip");
    insert_as_loaded(&mut b, v2, v4(1, 1, 1, 1));
    for i in 0..100u32 {
        let [_, _, c, d] = i.to_be_bytes();
        b.add_address(&v4(20 + c, d, 1, 1), &v4(d, 9, 9, 9), at(T0));
    }
    assert!(b.find(&v2).is_some(), "kept when loaded");
    for _ in 0..50 {
        assert!(
            b.address_cache().iter().all(|a| a.addr != v2.addr),
            "never gossiped"
        );
    }
    b.check_invariants().expect("invariants");
}

/// A book with a bit of everything: new and tried, attempts, all address kinds.
fn mixed_book(seed: u64) -> AddrBook {
    let mut b = book(seed);
    let now = at(T0);
    for i in 0..300u32 {
        let [_, _, c, d] = i.to_be_bytes();
        b.add_address(&v4(20 + c, d, 1, 1), &v4(d, 9, 9, 9), now);
    }
    let kinds = other_kinds();
    for a in &kinds {
        b.add_address(a, &v4(1, 1, 1, 1), now);
    }
    // Tor v2 is never learnt, only loaded: place it the way the loader does.
    insert_as_loaded(&mut b, kinds[1], v4(1, 1, 1, 1));
    // An ordinary address learnt from an I2P peer goes in the extension too.
    b.add_address(&v4(99, 1, 1, 1), &kinds[3], now);
    for (i, a) in b.addresses().into_iter().enumerate() {
        if i % 3 == 0 {
            b.attempt(&a, at(T0 + i as u64));
        }
        if i % 5 == 0 {
            b.good(&a, at(T0 + 10 + i as u64));
        }
    }
    b.check_invariants().expect("invariants");
    b
}

fn same_books(a: &AddrBook, b: &AddrBook) {
    assert_eq!(a.key(), b.key());
    assert_eq!(a.num_new(), b.num_new());
    assert_eq!(a.num_tried(), b.num_tried());
    for x in a.addresses() {
        let (ka, kb) = (a.find(&x).expect("in a"), b.find(&x).expect("in b"));
        assert_eq!(ka.net_address(), kb.net_address());
        assert_eq!(ka.src_address().addr, kb.src_address().addr);
        assert_eq!(ka.attempts(), kb.attempts());
        let secs = |t: Option<SystemTime>| {
            t.map(|t| t.duration_since(UNIX_EPOCH).expect("after").as_secs())
        };
        assert_eq!(secs(ka.last_attempt()), secs(kb.last_attempt()));
        assert_eq!(secs(ka.last_success()), secs(kb.last_success()));
        assert_eq!(ka.is_tried(), kb.is_tried());
        let mut na_ = a.new_buckets_of(&x);
        let mut nb = b.new_buckets_of(&x);
        na_.sort_unstable();
        nb.sort_unstable();
        assert_eq!(na_, nb);
        assert_eq!(a.tried_bucket_of(&x), b.tried_bucket_of(&x));
    }
}

#[test]
fn json_round_trip_is_identical() {
    let b = mixed_book(20);
    let json = b.to_json();
    let loaded = AddrBook::from_json(&json, StdRng::seed_from_u64(1)).expect("loads");
    loaded.check_invariants().expect("invariants");
    same_books(&b, &loaded);
    assert_eq!(loaded.to_json(), json);
    // Inexpressible addresses are in the extension, the rest in btcd's fields.
    let v: serde_json::Value = serde_json::from_slice(&json).expect("json");
    let ext = v["BtcnodeAddresses"].as_array().expect("extension");
    assert_eq!(ext.len(), 3, "i2p, cjdns, and the address learnt from i2p");
    let btcd_text = serde_json::to_string(&v["Addresses"]).expect("text");
    assert!(!btcd_text.contains("b32.i2p") && !btcd_text.contains("fc00::6"));
    assert!(btcd_text.contains(".onion"));
    let buckets = serde_json::to_string(&v["NewBuckets"]).expect("text")
        + &serde_json::to_string(&v["TriedBuckets"]).expect("text");
    assert!(!buckets.contains("b32.i2p") && !buckets.contains("99.1.1.1"));
}

/// Go's decoder takes fields in any order; so does the streaming loader (buckets read before
/// the address list are resolved afterwards).
#[test]
fn fields_in_another_order_load() {
    let b = mixed_book(22);
    let text = String::from_utf8(b.to_json()).expect("utf8");
    let start = text.find(",\"Addresses\":").expect("addresses");
    let end = text.find(",\"NewBuckets\":").expect("buckets");
    let addresses = &text[start..end];
    let body = text[..start].to_string() + &text[end..text.len() - 2];
    let moved = format!("{body}{addresses},\"Unknown\":[1,{{\"x\":null}}]}}\n");
    assert_ne!(moved, text);
    let loaded = AddrBook::from_json(moved.as_bytes(), StdRng::seed_from_u64(1)).expect("loads");
    same_books(&b, &loaded);
}

#[test]
fn json_has_btcd_field_names_and_layout() {
    let mut b = book(21);
    let a = v4(12, 1, 2, 3);
    b.add_address(&a, &v4(13, 1, 2, 3), at(T0));
    let text = String::from_utf8(b.to_json()).expect("utf8");
    assert!(text.ends_with("}\n"));
    assert_eq!(text.lines().count(), 1);
    let key: Vec<String> = (0..32).map(|i| i.to_string()).collect();
    let bucket = b.new_bucket(&a, &v4(13, 1, 2, 3));
    let mut new_buckets = vec!["[]"; NEW_BUCKET_COUNT];
    new_buckets[bucket] = "[\"12.1.2.3:8333\"]";
    let want = format!(
        "{{\"Version\":2,\"Key\":[{}],\"Addresses\":[{{\"Addr\":\"12.1.2.3:8333\",\"Src\":\"13.1.2.3:8333\",\
         \"Attempts\":0,\"TimeStamp\":{T0},\"LastAttempt\":{GO_ZERO_TIME_UNIX},\"LastSuccess\":{GO_ZERO_TIME_UNIX},\
         \"Services\":1,\"SrcServices\":1}}],\"NewBuckets\":[{}],\"TriedBuckets\":[{}]}}\n",
        key.join(","),
        new_buckets.join(","),
        vec!["[]"; TRIED_BUCKET_COUNT].join(",")
    );
    assert_eq!(text, want);
}

/// A file as btcd writes it, built by hand: version 2 and version 1, `null` buckets (Go's nil
/// slices), an IPv6 and a Tor v3 address, an address in two new buckets.
#[test]
fn btcd_written_file_loads() {
    let onion = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion:8333";
    let mut nb: Vec<String> = vec!["null".to_string(); NEW_BUCKET_COUNT];
    nb[3] = "[\"12.1.2.3:8333\",\"[2602:100::1]:18333\"]".to_string();
    nb[700] = "[\"12.1.2.3:8333\"]".to_string();
    let mut tb: Vec<String> = vec!["[]".to_string(); TRIED_BUCKET_COUNT];
    tb[63] = format!("[\"{onion}\"]");
    let addrs = format!(
        "[{{\"Addr\":\"12.1.2.3:8333\",\"Src\":\"13.1.2.3:8333\",\"Attempts\":2,\"TimeStamp\":1700000000,\
         \"LastAttempt\":1700000100,\"LastSuccess\":-62135596800,\"Services\":1033,\"SrcServices\":9}},\
         {{\"Addr\":\"[2602:100::1]:18333\",\"Src\":\"{onion}\",\"Attempts\":0,\"TimeStamp\":1700000001,\
         \"LastAttempt\":-62135596800,\"LastSuccess\":-62135596800,\"Services\":0,\"SrcServices\":0}},\
         {{\"Addr\":\"{onion}\",\"Src\":\"{onion}\",\"Attempts\":0,\"TimeStamp\":1700000002,\
         \"LastAttempt\":1700000050,\"LastSuccess\":1700000050,\"Services\":1,\"SrcServices\":1}}]"
    );
    let key = (100..132)
        .map(|i: u32| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    for version in [2, 1] {
        let file = format!(
            "{{\"Version\":{version},\"Key\":[{key}],\"Addresses\":{addrs},\"NewBuckets\":[{}],\"TriedBuckets\":[{}]}}\n",
            nb.join(","),
            tb.join(",")
        );
        let b = AddrBook::from_json(file.as_bytes(), StdRng::seed_from_u64(1)).expect("loads");
        b.check_invariants().expect("invariants");
        assert_eq!((b.num_new(), b.num_tried()), (2, 1));
        assert_eq!(b.key()[0], 100);
        let a = b.find(&v4(12, 1, 2, 3)).expect("v4");
        assert_eq!(a.attempts(), 2);
        assert_eq!(a.last_attempt(), Some(at(1_700_000_100)));
        assert_eq!(a.last_success(), None);
        assert_eq!(a.net_address().timestamp, 1_700_000_000);
        let (svc, src_svc) = if version == 2 { (1033, 9) } else { (1, 1) };
        assert_eq!(a.net_address().services, ServiceFlag(svc));
        assert_eq!(a.src_address().services, ServiceFlag(src_svc));
        let mut buckets = b.new_buckets_of(&v4(12, 1, 2, 3));
        buckets.sort_unstable();
        assert_eq!(buckets, vec![3, 700]);
        let (tor, port) = crate::wire::netaddress_str::parse_host_port(onion).expect("onion");
        let t = NetAddress {
            addr: tor,
            port,
            ..v4(0, 0, 0, 0)
        };
        assert_eq!(b.tried_bucket_of(&t), Some(63));
        let six = b.find(&na("2602:100::1", 18333)).expect("v6");
        assert_eq!(six.src_address().addr, tor);
        // Version 1 files from old btcd have 256 new buckets; they load too. Version 2 must
        // have 1,024.
        let short = format!(
            "{{\"Version\":{version},\"Key\":[{key}],\"Addresses\":{addrs},\"NewBuckets\":[{}],\"TriedBuckets\":[{}]}}\n",
            nb[..256].join(","),
            tb.join(",")
        );
        let loaded = AddrBook::from_json(short.as_bytes(), StdRng::seed_from_u64(1));
        assert_eq!(
            loaded.is_ok(),
            version == 1,
            "version {version} with 256 new buckets"
        );
        // Saved again, it is version 2 with the same entries.
        let again = AddrBook::from_json(&b.to_json(), StdRng::seed_from_u64(2)).expect("reloads");
        same_books(&b, &again);
    }
}

fn set_aside_case(name: &str, data: &[u8]) {
    let dir = scratch(name);
    let path = dir.join("peers.json");
    std::fs::write(&path, data).expect("write");
    let (b, outcome) = load_peers(&path, StdRng::seed_from_u64(1), at(T0));
    assert_eq!(b.num_addresses(), 0, "{name}");
    match outcome {
        LoadOutcome::SetAside {
            moved_to: Some(p), ..
        } => {
            assert_eq!(p, dir.join(format!("peers.json.bad-{T0}")), "{name}");
            assert_eq!(std::fs::read(&p).expect("evidence kept"), data, "{name}");
        }
        other => panic!("{name}: {other:?}"),
    }
    assert!(!path.exists(), "{name}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_files_are_set_aside() {
    let good = String::from_utf8(mixed_book(30).to_json()).expect("utf8");
    set_aside_case("garbage", b"\x00\xffnot json");
    set_aside_case("empty", b"");
    set_aside_case("truncated", &good.as_bytes()[..good.len() / 2]);
    set_aside_case(
        "version3",
        good.replacen("\"Version\":2", "\"Version\":3", 1)
            .as_bytes(),
    );
    set_aside_case(
        "version0",
        good.replacen("\"Version\":2", "\"Version\":0", 1)
            .as_bytes(),
    );
    set_aside_case(
        "few-buckets",
        good.replacen("\"TriedBuckets\":[[", "\"TriedBuckets\":[", 1)
            .replacen("]],\"BtcnodeAddresses\"", "],\"BtcnodeAddresses\"", 1)
            .as_bytes(),
    );
    // A bucket naming an address that is not in the list.
    let v: serde_json::Value = serde_json::from_str(&good).expect("json");
    let mut unknown = v.clone();
    unknown["NewBuckets"][0] = serde_json::json!(["1.2.3.4:5"]);
    set_aside_case("unknown", &serde_json::to_vec(&unknown).expect("json"));
    // An address in both tables.
    let tried = v["TriedBuckets"]
        .as_array()
        .expect("tried")
        .iter()
        .find_map(|b| b.as_array().and_then(|b| b.first()).cloned())
        .expect("a tried address");
    let mut both = v.clone();
    both["NewBuckets"][1]
        .as_array_mut()
        .expect("bucket")
        .push(tried.clone());
    set_aside_case("both", &serde_json::to_vec(&both).expect("json"));
    // Listed twice.
    let mut twice = v.clone();
    let first = twice["Addresses"][0].clone();
    twice["Addresses"].as_array_mut().expect("list").push(first);
    set_aside_case("twice", &serde_json::to_vec(&twice).expect("json"));
    // An address in no bucket.
    let mut orphan = v.clone();
    orphan["Addresses"].as_array_mut().expect("list").push(serde_json::json!({
        "Addr": "8.8.8.8:8333", "Src": "8.8.8.8:8333", "Attempts": 0, "TimeStamp": 0,
        "LastAttempt": GO_ZERO_TIME_UNIX, "LastSuccess": GO_ZERO_TIME_UNIX, "Services": 0, "SrcServices": 0
    }));
    set_aside_case("orphan", &serde_json::to_vec(&orphan).expect("json"));
    // An address that does not parse, and a host name btcd would resolve.
    for (n, bad) in [
        ("badaddr", "12.1.2.3"),
        ("hostname", "seed.example.org:8333"),
    ] {
        let mut x = v.clone();
        x["Addresses"][0]["Addr"] = serde_json::json!(bad);
        set_aside_case(n, &serde_json::to_vec(&x).expect("json"));
    }
}

#[test]
fn missing_file_starts_empty_and_save_is_atomic() {
    let dir = scratch("atomic");
    let path = dir.join("sub").join("peers.json");
    let (b, outcome) = load_peers(&path, StdRng::seed_from_u64(1), at(T0));
    assert!(matches!(outcome, LoadOutcome::Missing));
    assert_eq!(b.num_addresses(), 0);
    let b = mixed_book(31);
    save_peers(&b, &path).expect("save");
    assert!(!temp_path(&path).exists());
    // A stale temp file from a crash is simply overwritten next time.
    std::fs::write(temp_path(&path), b"half a fi").expect("write");
    save_peers(&b, &path).expect("save");
    let (loaded, outcome) = load_peers(&path, StdRng::seed_from_u64(1), at(T0));
    assert!(matches!(outcome, LoadOutcome::Loaded(n) if n == b.num_addresses()));
    same_books(&b, &loaded);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- peers.sample.json ----

fn sample_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers.sample.json")
}

/// The sample book: documentation addresses (never dialed, not routable) placed exactly where
/// btcd's formula puts them for the sample's key, a Tor v3 address (BIP155's test vector key)
/// and an I2P address in the extension.
fn sample_book() -> AddrBook {
    let key: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
    let mut b = AddrBook::with_key(key, StdRng::seed_from_u64(0));
    let t = |s: &str, port: u16, ts: u32, svc: u64| NetAddress {
        timestamp: ts,
        services: ServiceFlag(svc),
        addr: crate::wire::netaddress_str::parse_host(s).expect(s),
        port,
    };
    let tor = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion";
    let i2p = "ukeu3k5oycgaauneqgtnvselmt4yemvoilkln7jpvamvfx7dnkdq.b32.i2p";
    let seed = t("198.51.100.7", 8333, 1_700_000_000, 1033);
    // (address, source, tried, attempts, last attempt, last success)
    type Row = (NetAddress, NetAddress, bool, u32, Option<u64>, Option<u64>);
    let rows: Vec<Row> = vec![
        (
            t("192.0.2.10", 8333, 1_700_000_000, 1033),
            seed,
            false,
            0,
            None,
            None,
        ),
        (
            t("192.0.2.11", 8333, 1_699_990_000, 1033),
            seed,
            false,
            1,
            Some(1_700_000_500),
            None,
        ),
        (
            t("203.0.113.20", 8333, 1_699_900_000, 9),
            seed,
            false,
            0,
            None,
            None,
        ),
        (
            t("2001:db8::20", 8333, 1_700_000_000, 1033),
            seed,
            false,
            0,
            None,
            None,
        ),
        (
            t(tor, 8333, 1_700_000_000, 1033),
            t("203.0.113.5", 8333, 0, 1033),
            false,
            0,
            None,
            None,
        ),
        (
            t("198.51.100.7", 8333, 1_700_000_000, 1033),
            seed,
            true,
            0,
            Some(1_700_000_300),
            Some(1_700_000_300),
        ),
        (
            t("203.0.113.44", 18333, 1_700_000_000, 1033),
            seed,
            true,
            0,
            Some(1_700_000_400),
            Some(1_700_000_400),
        ),
        (t(i2p, 0, 1_700_000_000, 1033), seed, false, 0, None, None),
    ];
    for (a, src, tried, attempts, la, ls) in rows {
        let mut ka = KnownAddress::new(a, src);
        ka.attempts = attempts;
        ka.last_attempt = la.map(at);
        ka.last_success = ls.map(at);
        let id = b.insert_entry(Entry {
            ka,
            new_buckets: [0; NEW_BUCKETS_PER_ADDRESS],
            tried_bucket: 0,
        });
        if tried {
            b.n_tried += 1;
            let bucket = b.tried_bucket(&a);
            b.load_into_tried(id, bucket);
        } else {
            b.n_new += 1;
            let bucket = b.new_bucket(&a, &src);
            b.load_into_new(id, bucket);
        }
    }
    b.check_invariants().expect("invariants");
    b
}

/// Rewrites peers.sample.json: `BTCNODE_WRITE_SAMPLE=1 cargo test --lib write_sample -- --ignored`.
#[test]
#[ignore]
fn write_sample_peers_file() {
    if std::env::var_os("BTCNODE_WRITE_SAMPLE").is_some() {
        std::fs::write(sample_path(), sample_book().to_json()).expect("write sample");
    }
}

#[test]
fn sample_is_where_btcd_puts_it() {
    let data = std::fs::read(sample_path()).expect("peers.sample.json");
    assert_eq!(
        data,
        sample_book().to_json(),
        "regenerate with write_sample_peers_file"
    );
    let b = AddrBook::from_json(&data, StdRng::seed_from_u64(1)).expect("loads");
    for x in b.addresses() {
        let ka = b.find(&x).expect("known");
        if ka.is_tried() {
            assert_eq!(b.tried_bucket_of(&x), Some(b.tried_bucket(&x)));
        } else {
            assert_eq!(
                b.new_buckets_of(&x),
                vec![b.new_bucket(&x, ka.src_address())]
            );
        }
    }
    // Every kind the sample shows, by key.
    let kinds: HashMap<u8, usize> = b.addresses().iter().fold(HashMap::new(), |mut m, a| {
        *m.entry(a.addr.network_id()).or_default() += 1;
        m
    });
    assert_eq!(kinds.len(), 4, "ipv4, ipv6, tor v3, i2p: {kinds:?}");
}
