//! Helpers for the fault tests: running one test alone in a child copy of the test binary
//! (so thread names and counts seen in `/proc/self/task` are that test's alone), reading
//! thread names, scratch directories and small full filesystems.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Set in a child copy of the test binary to the name of the scenario it runs.
pub use crate::support::Scratch;

pub const CHILD_ENV: &str = "BTCNODE_FAULT_CHILD";

/// The scenario this process was started to run as a child, if any.
pub fn child_scenario() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

/// Runs test `test` (its full path, e.g. `fault_proxy::child_connmgr`) alone in a child copy
/// of this test binary with [`CHILD_ENV`] set to `scenario`; panics with the child's output
/// if it fails.
pub fn run_child(test: &str, scenario: &str) -> String {
    let exe = std::env::current_exe().expect("test binary path");
    let out = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, scenario)
        .output()
        .expect("run the child test binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "child {test} ({scenario}) failed:\n{text}"
    );
    assert!(
        text.contains("1 passed"),
        "child {test} ({scenario}) ran no test:\n{text}"
    );
    text
}

/// The names of this process's threads (Linux `/proc/self/task/*/comm`).
pub fn thread_names() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|s| s.trim_end().to_string())
        .collect()
}

/// A tmpfs of a few kilobytes mounted on a fresh directory, unmounted on drop.
pub struct SmallFs {
    /// The mount point.
    pub dir: PathBuf,
    _parent: Scratch,
}

impl SmallFs {
    /// Mounts a `size`-byte tmpfs (needs root); `None` when mounting is not possible here.
    pub fn mount(name: &str, size: &str) -> Option<SmallFs> {
        let parent = Scratch::new(name);
        let dir = parent.path().join("fs");
        std::fs::create_dir_all(&dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        ok.then_some(SmallFs {
            dir,
            _parent: parent,
        })
    }

    /// Fills the filesystem to the last byte: writes a filler file until the disk is full.
    pub fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.dir.join("filler")).expect("create filler");
        let block = [0u8; 4096];
        while f.write_all(&block).is_ok() {}
        while f.write_all(&[0u8]).is_ok() {}
        let _ = f.sync_all();
    }

    /// Frees the space taken by [`SmallFs::fill`].
    pub fn unfill(&self) {
        let _ = std::fs::remove_file(self.dir.join("filler"));
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// `n` regtest headers after genesis whose tip is a minute old, so a node serving them is
/// not in initial sync.
pub fn recent_headers(n: usize) -> Vec<btcnode::wire::BlockHeader> {
    let genesis =
        btcnode::chain::ChainParams::for_network(btcnode::params::Network::Regtest).genesis;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let end = (now - 60) as u32;
    let spacing = (end - genesis.timestamp) / n as u32;
    crate::chain_support::mine_chain(&genesis, n, spacing, 1)
}

/// Writes `headers` as `<datadir>/regtest/headers.dat`.
pub fn write_headers_dat(datadir: &Path, headers: &[btcnode::wire::BlockHeader]) {
    let net = datadir.join("regtest");
    std::fs::create_dir_all(&net).expect("create regtest dir");
    let bytes: Vec<u8> = headers.iter().flat_map(|h| h.to_bytes()).collect();
    std::fs::write(net.join("headers.dat"), bytes).expect("write headers.dat");
}

/// Starts the real node on regtest with RPC user `u`/`p`, its data in `datadir`, its log in
/// `log`, no listener, and `connect` as its only peer (so it never dials anything else).
pub fn spawn_node(
    datadir: &Path,
    log: &Path,
    rpc_port: u16,
    connect: std::net::SocketAddr,
) -> crate::server_support::Node {
    let child = Command::new(crate::server_support::bin())
        .args([
            "--regtest",
            "--nodnsseed",
            "--nolisten",
            "--rpcuser=u",
            "--rpcpass=p",
            "--debuglevel=debug",
        ])
        .arg(format!("--datadir={}", datadir.display()))
        .arg(format!("--rpclisten=127.0.0.1:{rpc_port}"))
        .arg(format!("--connect={connect}"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("start btcnode");
    crate::server_support::Node {
        child: Some(child),
        datadir: datadir.to_path_buf(),
        port: 0,
        rpc_port,
        log: log.to_path_buf(),
        creds: Some(("u".into(), "p".into())),
    }
}
