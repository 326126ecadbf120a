//! Shared helpers for the integration tests.

use std::path::PathBuf;

/// The folder holding other projects' test data (laid out like `../shared`: `vectors/`,
/// `data/`): `$BTCNODE_TESTDATA` if set (`.ci/run` sets it), else `../shared` beside the
/// crate. No machine's absolute path is assumed.
#[allow(dead_code)]
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BTCNODE_TESTDATA") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// Polls `count` for up to two seconds until it returns `want`, and returns the last value.
///
/// `JoinHandle::join` returns when the kernel clears the thread id, a moment before the task
/// leaves `/proc/self/task`, so a thread that was just joined can still be counted briefly.
#[allow(dead_code)]
pub fn settled(mut count: impl FnMut() -> usize, want: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let n = count();
        if n == want || std::time::Instant::now() >= deadline {
            return n;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The variable that names the test-data folder.
pub const TESTDATA_ENV: &str = "BTCNODE_TESTDATA";

/// The file `scripts/test.sh` names so that every skipped check lands on its one summary line
/// (the harness hides a passing test's stderr).
pub const SKIP_LOG_ENV: &str = "BTCNODE_SKIP_LOG";

/// `rel` (e.g. `data/blocks1-256.bz2`) inside the test-data folder, or `None` when there is no
/// test data: the data comes from other projects (btcd, Core) and is not redistributed here.
///
/// With `$BTCNODE_TESTDATA` set the file must be there: its absence panics, naming the file and
/// the variable. Without it, `../shared` is used when it holds the file.
#[allow(dead_code)]
pub fn testdata(rel: &str) -> Option<PathBuf> {
    let path = shared_dir().join(rel);
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os(TESTDATA_ENV).is_some() {
        panic!(
            "{} is missing: {TESTDATA_ENV} names a folder without {rel} (see README, test data)",
            path.display()
        );
    }
    None
}

/// Records that `check` did not run because `why`: one line on stderr, and one line in the
/// file `$BTCNODE_SKIP_LOG` names, which `scripts/test.sh` prints as its summary.
#[allow(dead_code)]
pub fn skip(check: &str, why: &str) {
    eprintln!("SKIPPED {check}: {why}");
    if let Some(log) = std::env::var_os(SKIP_LOG_ENV) {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "{check}: {why}");
        }
    }
}

/// [`testdata`], or a [`skip`] of `check` that says which file is missing and how to get it.
#[allow(dead_code)]
pub fn testdata_or_skip(check: &str, rel: &str) -> Option<PathBuf> {
    let found = testdata(rel);
    if found.is_none() {
        skip(
            check,
            &format!(
                "no {rel} (set {TESTDATA_ENV} to a folder laid out like ../shared; see README)"
            ),
        );
    }
    found
}

/// A fresh scratch directory `<tmp>/btcnode-<name>-<pid>-<n>`, removed on drop, so every
/// test cleans up after itself. The one scratch-directory type of the tests.
#[allow(dead_code)]
pub struct Scratch(pub PathBuf);

#[allow(dead_code)]
impl Scratch {
    /// Creates it (empty).
    pub fn new(name: &str) -> Scratch {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let d = std::env::temp_dir().join(format!(
            "btcnode-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("create scratch dir");
        Scratch(d)
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `cond` every 2 ms until it holds or `timeout` passes; returns whether it held. The
/// one polling wait of the tests: a negative check waits on the event that would show it.
#[allow(dead_code)]
pub fn wait_until(timeout: std::time::Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if std::time::Instant::now() >= end {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}
