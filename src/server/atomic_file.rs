//! Atomic file writes: write a temp file beside the target, fsync it, rename it over the
//! target, fsync the directory. A crash leaves either the old file or the new one, never a
//! torn one. Used for `banlist.json` and the RPC `.cookie`; runs on the caller's thread.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Writes `data` to `path` atomically, creating the parent directory if needed. `mode` sets the
/// Unix permission bits of the new file (e.g. `0o600` for secrets); `None` keeps the default.
pub fn write_atomic(path: &Path, data: &[u8], mode: Option<u32>) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = temp_path(path);
    let result = (|| {
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        if let Some(m) = mode {
            opts.mode(m);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        // The rename is durable only once the directory entry is on disk.
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

/// Moves a file that failed to load out of the way (`NAME.bad-<unix seconds>`), so the node
/// starts empty and the operator can inspect it. Returns where it went.
pub fn set_aside(path: &Path, now_unix: u64) -> io::Result<PathBuf> {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".bad-{now_unix}"));
    let dest = path.with_file_name(name);
    fs::rename(path, &dest)?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_replace_and_keep_mode() {
        let dir = std::env::temp_dir().join(format!("btcnode-atomic-{}", std::process::id()));
        let path = dir.join("sub").join("f.json");
        write_atomic(&path, b"one", None).unwrap();
        write_atomic(&path, b"two", Some(0o600)).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let aside = set_aside(&path, 42).unwrap();
        assert!(aside.ends_with("f.json.bad-42"));
        assert!(!path.exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
