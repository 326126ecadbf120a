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
