//! Benchmark section `addrmgr`: adding 100,000 addresses from 1,000 sources, `get_address`
//! latency, and saving and loading `peers.json` with full tables (65,536 new + 16,384 tried).
//! Goals: a full save or load under 100 ms, `get_address` under 5 µs median. Each figure is
//! printed with a baseline measured in the same run: two double SHA-256s per add (the
//! hashing floor of bucket placement), a `HashMap` lookup per `get_address`, a raw atomic
//! write of the same bytes per save, and a generic `serde_json::Value` parse per load.

use btcnode::addrmgr::{
    AddrBook, NEW_BUCKET_COUNT, NEW_BUCKET_SIZE, TRIED_BUCKET_COUNT, TRIED_BUCKET_SIZE, load_peers,
    peers_file, save_peers,
};
use btcnode::wire::{AddrV2, NetAddress, ServiceFlag, sha256d};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::collections::HashMap;
use std::hint::black_box;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const T0: u32 = 1_700_000_000;

fn at(secs: u32) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::from(secs))
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> NetAddress {
    NetAddress {
        timestamp: T0,
        services: ServiceFlag::NODE_NETWORK | ServiceFlag::NODE_WITNESS,
        addr: AddrV2::Ipv4(Ipv4Addr::new(a, b, c, d)),
        port: 8333,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort_unstable();
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-12)
}

/// 100,000 addresses from 1,000 sources, as peers gossiping: each source (its own /16)
/// announces 100 addresses spread over many /16s.
fn add_section() -> AddrBook {
    let mut book = AddrBook::with_key([7; 32], StdRng::seed_from_u64(1));
    let now = at(T0);
    let batches: Vec<(NetAddress, Vec<NetAddress>)> = (0..1000u32)
        .map(|s| {
            let src = v4(30 + (s / 256) as u8, (s % 256) as u8, 1, 1);
            let addrs = (0..100u32)
                .map(|k| {
                    let i = s * 100 + k;
                    v4(
                        40 + (i % 150) as u8,
                        (i / 150 % 256) as u8,
                        (i / 38_400) as u8,
                        9,
                    )
                })
                .collect();
            (src, addrs)
        })
        .collect();
    let start = Instant::now();
    for (src, addrs) in &batches {
        book.add_addresses(addrs, src, now);
    }
    let took = start.elapsed();
    // Baseline: the two double SHA-256s of bucket placement, per add.
    let mut data = [0u8; 56];
    let start = Instant::now();
    for i in 0..100_000u32 {
        data[..4].copy_from_slice(&i.to_le_bytes());
        black_box(sha256d(black_box(&data)));
        black_box(sha256d(black_box(&data[..48])));
    }
    let base = start.elapsed();
    println!(
        "add: 100000 addresses from 1000 sources in {:.1} ms, {:.2} µs/add \
         (baseline 2x sha256d {:.2} µs, ratio {:.1}x); book: {} new, {} tried",
        ms(took),
        us(took) / 1e5,
        us(base) / 1e5,
        ratio(took, base),
        book.num_new(),
        book.num_tried()
    );
    book
}

fn get_address_section(name: &str, book: &mut AddrBook) {
    let now = at(T0 + 3600);
    let calls = 100_000;
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t = Instant::now();
        black_box(book.get_address(now));
        samples.push(t.elapsed());
    }
    // Baseline: one HashMap lookup of a random known key.
    let keys: Vec<(AddrV2, u16)> = book.addresses().iter().map(|a| (a.addr, a.port)).collect();
    let map: HashMap<(AddrV2, u16), usize> =
        keys.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    let mut rng = StdRng::seed_from_u64(3);
    let mut base = Vec::with_capacity(calls);
    for _ in 0..calls {
        let k = &keys[rng.random_range(0..keys.len())];
        let t = Instant::now();
        black_box(map.get(black_box(k)));
        base.push(t.elapsed());
    }
    let (med, p99, bmed) = (
        median(samples.clone()),
        percentile(samples, 0.99),
        median(base),
    );
    println!(
        "get_address ({name}): median {:.2} µs, p99 {:.2} µs over {calls} calls \
         (baseline HashMap get {:.2} µs, ratio {:.1}x; goal < 5 µs median)",
        us(med),
        us(p99),
        us(bmed),
        ratio(med, bmed)
    );
}

/// A peers.json with every bucket full: 65,536 new entries and 16,384 tried, each address in
/// one bucket.
fn full_tables_json() -> Vec<u8> {
    let n_new = NEW_BUCKET_COUNT * NEW_BUCKET_SIZE;
    let n_tried = TRIED_BUCKET_COUNT * TRIED_BUCKET_SIZE;
    let host = |i: usize| format!("{}.{}.{}.9:8333", 40 + i / 65_536, (i / 256) % 256, i % 256);
    let mut s = String::with_capacity(20_000_000);
    s.push_str("{\"Version\":2,\"Key\":[");
    s.push_str(&vec!["7"; 32].join(","));
    s.push_str("],\"Addresses\":[");
    for i in 0..n_new + n_tried {
        if i > 0 {
            s.push(',');
        }
        let (la, ls) = if i >= n_new {
            (T0 - 50, T0 - 50)
        } else {
            (T0 - 900, 0)
        };
        let ls = if ls == 0 {
            "-62135596800".to_string()
        } else {
            ls.to_string()
        };
        s.push_str(&format!(
            "{{\"Addr\":\"{}\",\"Src\":\"{}.{}.1.1:8333\",\"Attempts\":{},\"TimeStamp\":{},\
             \"LastAttempt\":{la},\"LastSuccess\":{ls},\"Services\":1033,\"SrcServices\":1033}}",
            host(i),
            30 + i % 100,
            i % 256,
            i % 3,
            T0 - (i as u32 % 86_400)
        ));
    }
    s.push_str("],\"NewBuckets\":[");
    let table = |s: &mut String, buckets: usize, size: usize, first: usize| {
        for b in 0..buckets {
            if b > 0 {
                s.push(',');
            }
            s.push('[');
            for k in 0..size {
                if k > 0 {
                    s.push(',');
                }
                s.push('"');
                s.push_str(&host(first + b * size + k));
                s.push('"');
            }
            s.push(']');
        }
    };
    table(&mut s, NEW_BUCKET_COUNT, NEW_BUCKET_SIZE, 0);
    s.push_str("],\"TriedBuckets\":[");
    table(&mut s, TRIED_BUCKET_COUNT, TRIED_BUCKET_SIZE, n_new);
    s.push_str("]}\n");
    s.into_bytes()
}

/// CPU time of this thread (user + system) from /proc, in clock ticks of 10 ms (Linux's
/// USER_HZ of 100). On a busy machine wall time includes waiting for a core; CPU time summed
/// over several rounds shows what the work itself costs. `None` without /proc.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the parenthesised name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Mean CPU time of `rounds` runs of `f`, if /proc tells.
fn cpu_per_round(rounds: u32, mut f: impl FnMut()) -> Option<Duration> {
    let before = thread_cpu()?;
    for _ in 0..rounds {
        f();
    }
    Some((thread_cpu()? - before) / rounds)
}

fn cpu_ms(d: Option<Duration>) -> String {
    d.map_or_else(|| "?".to_string(), |d| format!("{:.0}", ms(d)))
}

fn save_load_section() -> AddrBook {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("bench-scratch")
        .join(format!("addrmgr-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("peers.json");
    let json = full_tables_json();
    let book = match AddrBook::from_json(&json, StdRng::seed_from_u64(1)) {
        Ok(b) => b,
        Err(e) => panic!("bench file does not load: {e}"),
    };
    assert_eq!((book.num_new(), book.num_tried()), (65_536, 16_384));
    let rounds = 5;
    let (mut ser, mut save, mut raw, mut load, mut generic) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut size = 0;
    let mut loaded = None;
    for _ in 0..rounds {
        let t = Instant::now();
        let bytes = black_box(book.to_json());
        ser.push(t.elapsed());
        size = bytes.len();
        let t = Instant::now();
        save_peers(&book, &path).expect("save");
        save.push(t.elapsed());
        let raw_path = dir.join("raw.json");
        let t = Instant::now();
        peers_file::write_atomic(&raw_path, &bytes).expect("raw write");
        raw.push(t.elapsed());
        let t = Instant::now();
        let (b, outcome) = load_peers(&path, StdRng::seed_from_u64(2), at(T0));
        load.push(t.elapsed());
        assert!(
            matches!(outcome, btcnode::addrmgr::LoadOutcome::Loaded(81_920)),
            "{outcome:?}"
        );
        loaded = Some(b);
        let t = Instant::now();
        let data = std::fs::read(&path).expect("read");
        black_box(serde_json::from_slice::<serde_json::Value>(&data).expect("json"));
        generic.push(t.elapsed());
    }
    let (ser, save, raw, load, generic) = (
        median(ser),
        median(save),
        median(raw),
        median(load),
        median(generic),
    );
    println!(
        "full tables (65536 new + 16384 tried), file {:.1} MB, median of {rounds}: \
         serialize {:.1} ms; save {:.1} ms (serialize + write + fsync + rename + fsync dir; \
         baseline atomic write of the bytes {:.1} ms, ratio {:.1}x); \
         load {:.1} ms (read + parse + checks + index; baseline serde_json::Value parse {:.1} ms, \
         ratio {:.1}x); goal < 100 ms each",
        size as f64 / 1e6,
        ms(ser),
        ms(save),
        ms(raw),
        ratio(save, raw),
        ms(load),
        ms(generic),
        ratio(load, generic)
    );
    // CPU time, which a busy machine does not inflate (fsync waits are not CPU time).
    let cpu_rounds = 10;
    let ser_cpu = cpu_per_round(cpu_rounds, || {
        black_box(book.to_json());
    });
    let save_cpu = cpu_per_round(cpu_rounds, || save_peers(&book, &path).expect("save"));
    let load_cpu = cpu_per_round(cpu_rounds, || {
        black_box(load_peers(&path, StdRng::seed_from_u64(2), at(T0)));
    });
    println!(
        "full tables, CPU time per run (mean of {cpu_rounds}, 10 ms ticks): serialize {} ms, \
         save {} ms, load {} ms",
        cpu_ms(ser_cpu),
        cpu_ms(save_cpu),
        cpu_ms(load_cpu)
    );
    let _ = std::fs::remove_dir_all(&dir);
    loaded.unwrap_or(book)
}

/// Runs the `addrmgr` section.
pub fn run() {
    let mut book = add_section();
    get_address_section("100k added", &mut book);
    let mut full = save_load_section();
    get_address_section("full tables", &mut full);
}
