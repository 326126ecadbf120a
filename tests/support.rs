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
