//! Shared helpers for the integration tests.

use std::path::PathBuf;

/// The `shared/` folder beside the repository (test data and vectors).
#[allow(dead_code)]
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared")
}
