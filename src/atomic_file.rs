//! The one way btcnode writes and sets aside its data files (`peers.json`, `banlist.json`, the
//! RPC `.cookie`, and every file added later). A write goes to a temp file beside the target
//! (`<name>.tmp`), is fsynced, renamed over the target, and the directory is fsynced: a crash
//! at any point leaves either the old file or the new one, never a torn one. A file that fails
//! to load is renamed aside (`<name>.bad-<unix seconds>`) so the node starts without it and the
//! operator can look at it. Runs on the caller's thread. (`headers.dat` is append-only and
//! repairs a torn tail on load instead: see `chain::store`.)

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A step of [`write_atomic`] failed.
#[derive(Debug)]
pub struct WriteError {
    /// The step: `create directory`, `create`, `write`, `fsync`, `rename over`, `fsync directory`.
    pub op: &'static str,
    /// The file or directory the step worked on.
    pub path: PathBuf,
    /// What the operating system said.
    pub source: io::Error,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot {} {}: {}",
            self.op,
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl From<WriteError> for io::Error {
    fn from(e: WriteError) -> Self {
        io::Error::new(e.source.kind(), e.to_string())
    }
}

/// Writes `data` to `path` atomically, creating the parent directory if needed. `mode` sets the
/// Unix permission bits of the new file (`0o600` for secrets); `None` keeps the default.
pub fn write_atomic(path: &Path, data: &[u8], mode: Option<u32>) -> Result<(), WriteError> {
    let step = |op: &'static str, p: &Path| {
        let path = p.to_path_buf();
        move |source| WriteError { op, path, source }
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(step("create directory", dir))?;
    let tmp = temp_path(path);
    let written = (|| {
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        if let Some(m) = mode {
            opts.mode(m);
        }
        let mut f = opts.open(&tmp).map_err(step("create", &tmp))?;
        f.write_all(data).map_err(step("write", &tmp))?;
        f.sync_all().map_err(step("fsync", &tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(step("rename over", path))
    })();
    if written.is_err() {
        // A partial temp file on a full disk would hold on to the space it took.
        let _ = fs::remove_file(&tmp);
    }
    written?;
    // The rename is durable only once the directory entry is on disk.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(step("fsync directory", dir))
}

/// The temporary file [`write_atomic`] writes before renaming: `<path>.tmp`. Each data file
/// has one writer, so one fixed name suffices, and a leftover from a crash is overwritten by
/// the next save rather than piling up.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

/// Moves a file that failed to load out of the way, to `<path>.bad-<unix seconds>` (with `-N`
/// added if that name is taken), and returns where it went.
pub fn set_aside(path: &Path, now: SystemTime) -> io::Result<PathBuf> {
    let mut base = path.as_os_str().to_owned();
    base.push(format!(".bad-{}", crate::clock::unix_secs(now)));
    let mut target = PathBuf::from(&base);
    let mut n = 1;
    while target.exists() {
        let mut s = base.clone();
        s.push(format!("-{n}"));
        target = PathBuf::from(s);
        n += 1;
    }
    fs::rename(path, &target)?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_unix_secs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_replace_and_keep_mode() {
        let dir = std::env::temp_dir().join(format!("btcnode-atomic-{}", std::process::id()));
        let path = dir.join("sub").join("f.json");
        write_atomic(&path, b"one", None).unwrap();
        write_atomic(&path, b"two", Some(0o600)).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert!(!temp_path(&path).exists());
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let aside = set_aside(&path, from_unix_secs(42)).unwrap();
        assert!(aside.ends_with("f.json.bad-42"));
        assert!(!path.exists());
        write_atomic(&path, b"three", None).unwrap();
        let again = set_aside(&path, from_unix_secs(42)).unwrap();
        assert!(again.ends_with("f.json.bad-42-1"), "{}", again.display());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_step_names_itself_and_the_path() {
        let dir = std::env::temp_dir().join(format!("btcnode-atomic-ro-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        // A directory where the file should go: the rename over it fails.
        let path = dir.join("taken");
        fs::create_dir_all(path.join("inner")).unwrap();
        let err = write_atomic(&path, b"x", None).unwrap_err();
        assert_eq!(err.op, "rename over");
        assert!(err.to_string().contains("taken"), "{err}");
        assert!(!temp_path(&path).exists(), "the temp file is removed");
        fs::remove_dir_all(&dir).unwrap();
    }
}
