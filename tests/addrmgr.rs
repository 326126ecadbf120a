//! The address manager through its public API: the `addrmgr` thread's periodic and final
//! saves, `peers.sample.json` round trips, bad files set aside at start, and a process
//! killed with SIGKILL while saving, again and again, always leaving a loadable peers.json.
//! Only documentation and private addresses are stored; nothing is dialed.

use btcnode::addrmgr::{
    AddrBook, AddrManager, AddrManagerConfig, LoadOutcome, load_peers, save_peers,
};
use btcnode::params::Network;
use btcnode::wire::{AddrV2, NetAddress, ServiceFlag};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Env var that turns the hidden child test into a save loop writing to this directory.
const SAVE_LOOP_ENV: &str = "BTCNODE_ADDRMGR_SAVE_LOOP";

/// Tests that start an `addrmgr` thread hold this, so the thread counts they check are theirs.
static MANAGER_THREADS: Mutex<()> = Mutex::new(());

fn manager_threads() -> MutexGuard<'static, ()> {
    MANAGER_THREADS.lock().unwrap_or_else(|e| e.into_inner())
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("test-scratch")
        .join(format!("addrmgr-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn now_secs() -> u32 {
    let s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    u32::try_from(s).expect("u32")
}

/// A routable-looking IPv4 address (never dialed: only stored).
fn v4(i: u32) -> NetAddress {
    let [_, b, c, d] = i.to_be_bytes();
    NetAddress {
        timestamp: now_secs(),
        services: ServiceFlag::NODE_NETWORK | ServiceFlag::NODE_WITNESS,
        addr: AddrV2::Ipv4(Ipv4Addr::new(20 + (b % 150), c, d, 7)),
        port: 8333,
    }
}

/// Threads of this process named `name`, from /proc.
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.flatten()
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .map(|c| c.trim_end() == name)
                        .unwrap_or(false)
                })
                .count()
        })
        .unwrap_or(0)
}

fn wait_for(what: &str, deadline: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + deadline;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn manager_thread_saves_periodically_and_on_stop() {
    let _serial = manager_threads();
    let dir = scratch("thread");
    let config = AddrManagerConfig {
        peers_file: dir.join("peers.json"),
        seed: Some(7),
        dump_address_interval: Duration::from_millis(50),
    };
    let base = threads_named("addrmgr");
    let am = AddrManager::with_config(config.clone());
    assert!(matches!(
        am.start().expect("start"),
        Some(LoadOutcome::Missing)
    ));
    assert!(am.start().expect("second start").is_none());
    // The new thread names itself as it starts.
    wait_for("the addrmgr thread", Duration::from_secs(10), || {
        threads_named("addrmgr") == base + 1
    });
    // Many sources and address groups, so bucket limits do not drop any.
    for i in 0..500u32 {
        am.add_address(&v4(i * 70_001), &v4(i * 65_537 + 11));
    }
    let n = am.num_addresses();
    assert!(n > 400, "{n}");
    assert!(am.need_more_addresses());
    // The ticker saves without being asked.
    wait_for("a periodic save", Duration::from_secs(20), || {
        std::fs::read(&config.peers_file)
            .ok()
            .and_then(|d| AddrBook::from_json(&d, StdRng::seed_from_u64(1)).ok())
            .is_some_and(|b| b.num_addresses() == n)
    });
    let picked = am.get_address().expect("an address");
    am.attempt(picked.net_address());
    am.good(picked.net_address());
    am.stop();
    am.stop();
    assert_eq!(
        crate::support::settled(|| threads_named("addrmgr"), base),
        base,
        "the addrmgr thread ended and was joined"
    );
    // The final save has the good() above.
    let reopened = AddrManager::with_config(config);
    assert!(matches!(reopened.start().expect("start"), Some(LoadOutcome::Loaded(m)) if m == n));
    reopened.with_book(|b| {
        let ka = b.find(picked.net_address()).expect("known");
        assert!(ka.is_tried());
        b.check_invariants().expect("invariants");
    });
    drop(reopened);
    assert_eq!(
        crate::support::settled(|| threads_named("addrmgr"), base),
        base,
        "drop stops and joins"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sample_peers_file_round_trips_through_the_manager() {
    let sample = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("peers.sample.json"))
        .expect("peers.sample.json");
    let _serial = manager_threads();
    let dir = scratch("sample");
    let am = AddrManager::new(&dir, Network::Regtest, Some(1));
    let path = am.peers_file().to_path_buf();
    assert_eq!(path, dir.join("regtest").join("peers.json"));
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    std::fs::write(&path, &sample).expect("copy sample");
    // Load, save: the same bytes.
    let outcome = am.start().expect("start");
    assert!(
        matches!(outcome, Some(LoadOutcome::Loaded(8))),
        "{outcome:?}"
    );
    am.stop();
    assert_eq!(std::fs::read(&path).expect("saved"), sample);
    // Load again: still the same book.
    let (b, outcome) = load_peers(&path, StdRng::seed_from_u64(2), SystemTime::now());
    assert!(matches!(outcome, LoadOutcome::Loaded(8)));
    assert_eq!(b.to_json(), sample);
    assert_eq!((b.num_new(), b.num_tried()), (6, 2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_peers_file_is_set_aside_at_start() {
    let _serial = manager_threads();
    let dir = scratch("bad");
    let path = dir.join("peers.json");
    std::fs::write(&path, b"{\"Version\":2,\"Key\":[1,2,3]").expect("write");
    let am = AddrManager::with_config(AddrManagerConfig {
        peers_file: path.clone(),
        seed: Some(3),
        dump_address_interval: Duration::from_secs(3600),
    });
    match am.start().expect("start") {
        Some(LoadOutcome::SetAside {
            moved_to: Some(p), ..
        }) => {
            let name = p.file_name().and_then(|n| n.to_str()).expect("name");
            assert!(name.starts_with("peers.json.bad-"), "{name}");
            assert_eq!(
                std::fs::read(&p).expect("kept"),
                b"{\"Version\":2,\"Key\":[1,2,3]"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(am.num_addresses(), 0);
    am.add_address_by_ip("[2602:100::5]:8333").expect("add");
    assert!(am.add_address_by_ip("seed.example.org:8333").is_err());
    am.stop();
    let (b, outcome) = load_peers(&path, StdRng::seed_from_u64(1), SystemTime::now());
    assert!(matches!(outcome, LoadOutcome::Loaded(1)), "{outcome:?}");
    assert_eq!(b.num_addresses(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Hidden helper for [`sigkill_while_saving_leaves_a_loadable_file`]: when the env var names a
/// directory, load its peers.json, then keep adding addresses and saving until killed.
#[test]
#[ignore]
fn save_loop_child() {
    let Some(dir) = std::env::var_os(SAVE_LOOP_ENV) else {
        return;
    };
    let path = PathBuf::from(dir).join("peers.json");
    let (mut book, outcome) = load_peers(&path, StdRng::seed_from_u64(9), SystemTime::now());
    assert!(
        !matches!(outcome, LoadOutcome::SetAside { .. }),
        "child found a bad file: {outcome:?}"
    );
    let now = SystemTime::now();
    let mut i: u32 = std::process::id() * 7919;
    loop {
        for _ in 0..2000 {
            i = i.wrapping_add(1);
            book.add_address(&v4(i), &v4(i / 64), now);
        }
        save_peers(&book, &path).expect("save");
    }
}

/// How many times the saving child is killed.
const KILL_ROUNDS: usize = 20;

#[test]
fn sigkill_while_saving_leaves_a_loadable_file() {
    let dir = scratch("sigkill");
    let path = dir.join("peers.json");
    let exe = std::env::current_exe().expect("test binary");
    let mut rng = StdRng::seed_from_u64(42);
    let mut torn_temp_seen = 0;
    let mut last = 0;
    for round in 0..KILL_ROUNDS {
        let before = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        let mut child = Command::new(&exe)
            .args([
                "addrmgr::save_loop_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(SAVE_LOOP_ENV, &dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        // Wait for the child's first completed save, then kill it at a random moment of a
        // later one.
        wait_for("the child's first save", Duration::from_secs(30), || {
            std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .is_some_and(|m| Some(m) != before)
        });
        std::thread::sleep(Duration::from_millis(rng.random_range(0..40)));
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reap");
        assert!(!status.success(), "round {round}: the child was killed");
        if btcnode::atomic_file::temp_path(&path).exists() {
            torn_temp_seen += 1;
        }
        let (book, outcome) = load_peers(&path, StdRng::seed_from_u64(1), SystemTime::now());
        match outcome {
            LoadOutcome::Loaded(n) => {
                assert!(n >= last, "round {round}: {n} < {last} addresses");
                last = n;
            }
            other => panic!("round {round}: {other:?}"),
        }
        book.check_invariants().expect("invariants");
    }
    assert!(last > 0);
    eprintln!(
        "sigkill: {KILL_ROUNDS} kills, temp file left behind {torn_temp_seen} times, {last} addresses"
    );
    let bad = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".bad-"))
        .count();
    assert_eq!(bad, 0, "no file was ever set aside");
    let _ = std::fs::remove_dir_all(&dir);
}
