//! Address-book operation sequences: the fuzz input is decoded into a list of operations
//! (add, add many, good, attempt, connected, set services, get_address, address_cache,
//! advance the clock, save and reload) on a small pool of addresses, and after every one the
//! book's invariants must hold (`AddrBook::check_invariants`: no address in both tables,
//! bucket membership matching each entry's reference count, counts matching the index, no
//! over-full bucket), plus what each operation promises.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use btcnode::addrmgr::{AddrBook, book_rng, is_routable};
use btcnode::wire::{AddrV2, NetAddress, ServiceFlag};
use libfuzzer_sys::fuzz_target;

/// Reads the fuzz input a byte at a time; zeros once it runs out.
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
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }
}

/// An address: most often one already used (so operations hit known entries), else a new
/// IPv4 (from a few /16s so buckets collide), IPv6, Tor v3 or unroutable one.
fn address(inp: &mut Input<'_>, pool: &mut Vec<NetAddress>, now: SystemTime) -> NetAddress {
    let sel = inp.byte();
    if sel < 0xa0 && !pool.is_empty() {
        return pool[usize::from(sel) % pool.len()];
    }
    let addr = match sel % 8 {
        0..=3 => {
            let net = [[1, 2], [23, 45], [88, 99], [203, 0]][usize::from(sel % 4)];
            AddrV2::Ipv4(Ipv4Addr::new(net[0], net[1], inp.byte(), inp.byte()))
        }
        4 => AddrV2::Ipv4(Ipv4Addr::new(
            inp.byte(),
            inp.byte(),
            inp.byte(),
            inp.byte(),
        )),
        5 => {
            let mut o = [0u8; 16];
            o[0] = 0x20;
            o[1] = 0x01;
            o[2] = 0x4d;
            o[3] = inp.byte();
            o[15] = inp.byte();
            AddrV2::from_ip(IpAddr::V6(Ipv6Addr::from(o)))
        }
        6 => AddrV2::TorV3([inp.byte(); 32]),
        _ => AddrV2::Ipv4(Ipv4Addr::new(10, 0, 0, inp.byte())),
    };
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .saturating_sub(u64::from(inp.byte()) * 3600);
    let na = NetAddress {
        timestamp: u32::try_from(secs).unwrap_or(u32::MAX),
        services: ServiceFlag::NODE_NETWORK,
        addr,
        port: 8333 + u16::from(inp.byte() % 4),
    };
    if pool.len() < 256 {
        pool.push(na);
    }
    na
}

fn check(book: &AddrBook, op: &str) {
    if let Err(e) = book.check_invariants() {
        panic!("after {op}: {e}");
    }
    assert_eq!(book.num_addresses(), book.num_new() + book.num_tried());
}

fn sorted(book: &AddrBook) -> Vec<String> {
    let mut v: Vec<String> = book.addresses().iter().map(|n| n.to_string()).collect();
    v.sort();
    v
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let mut now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut book = AddrBook::new(book_rng(Some(u64::from(inp.byte()))));
    let mut pool: Vec<NetAddress> = Vec::new();
    let mut ops = 0;
    while !inp.0.is_empty() && ops < 300 {
        ops += 1;
        let op = inp.byte() % 10;
        match op {
            0 => {
                let na = address(&mut inp, &mut pool, now);
                let src = address(&mut inp, &mut pool, now);
                book.add_address(&na, &src, now);
                let routable = is_routable(&na.addr.canonical());
                assert!(
                    book.find(&na).is_some() || !routable,
                    "added routable {na} is missing"
                );
                check(&book, "add_address");
            }
            1 => {
                let src = address(&mut inp, &mut pool, now);
                let n = usize::from(inp.byte() % 32);
                let many: Vec<NetAddress> =
                    (0..n).map(|_| address(&mut inp, &mut pool, now)).collect();
                book.add_addresses(&many, &src, now);
                check(&book, "add_addresses");
            }
            2 => {
                let na = address(&mut inp, &mut pool, now);
                let known = book.find(&na).is_some();
                book.good(&na, now);
                if known {
                    let ka = book.find(&na);
                    assert!(
                        ka.as_ref().is_some_and(|k| k.is_tried()),
                        "{na} not tried after good"
                    );
                }
                check(&book, "good");
            }
            3 => {
                let na = address(&mut inp, &mut pool, now);
                book.attempt(&na, now);
                check(&book, "attempt");
            }
            4 => {
                let na = address(&mut inp, &mut pool, now);
                book.connected(&na, now);
                check(&book, "connected");
            }
            5 => {
                let na = address(&mut inp, &mut pool, now);
                book.set_services(&na, ServiceFlag(u64::from(inp.byte())));
                check(&book, "set_services");
            }
            6 => {
                let got = book.get_address(now);
                assert_eq!(got.is_some(), book.num_addresses() > 0);
                if let Some(ka) = got {
                    assert!(book.find(ka.net_address()).is_some(), "picked an unknown");
                }
                check(&book, "get_address");
            }
            7 => {
                let cache = book.address_cache();
                assert!(cache.len() <= book.num_addresses());
                check(&book, "address_cache");
            }
            8 => {
                now += Duration::from_secs(u64::from(inp.u16()) * 60);
                check(&book, "advance");
            }
            // A save and reload writes all 1,088 buckets: one in eight of these bytes does it,
            // so the fuzzer spends its time on the other operations.
            _ if inp.byte() >= 32 => check(&book, "skip"),
            _ => {
                let json = book.to_json();
                let before = sorted(&book);
                let tried = book.num_tried();
                book = match AddrBook::from_json(&json, book_rng(Some(7))) {
                    Ok(b) => b,
                    Err(e) => panic!("saved book does not load: {e}"),
                };
                assert_eq!(before, sorted(&book), "save and load changed the addresses");
                assert_eq!(
                    tried,
                    book.num_tried(),
                    "save and load changed the tried table"
                );
                check(&book, "save and load");
            }
        }
    }
});
