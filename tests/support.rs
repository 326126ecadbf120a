//! Shared helpers for the integration tests.

use std::path::PathBuf;

/// The `shared/` folder beside the repository (test data and vectors): `$BTCNODE_SHARED`
/// if set, else `../shared` beside the crate, else `/work/shared` (worktrees live deeper).
#[allow(dead_code)]
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BTCNODE_SHARED") {
        return PathBuf::from(dir);
    }
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if beside.is_dir() {
        return beside;
    }
    PathBuf::from("/work/shared")
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
