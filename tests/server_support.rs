//! Helpers for the node's end-to-end tests: real `btcnode` processes on loopback regtest, each
//! with its own temp data directory, log file and ports, stopped with SIGTERM on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use btcnode::rpc;
use serde_json::Value;

static NEXT_DIR: AtomicU32 = AtomicU32::new(0);

/// The node binary built by cargo for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_btcnode")
}

/// First port of the range the node tests take ports from: below Linux's ephemeral range
/// (32768-60999), so no outgoing connection or `bind(0)` elsewhere can take a port between
/// our check and the node's bind.
const PORT_RANGE_START: u16 = 21000;
/// End of that range (exclusive).
const PORT_RANGE_END: u16 = 32600;

static NEXT_PORT: AtomicU32 = AtomicU32::new(0);

/// A free loopback port from a range outside the ephemeral one; successive calls never
/// return the same port.
pub fn free_port() -> u16 {
    let span = u32::from(PORT_RANGE_END - PORT_RANGE_START);
    // Start where another run of this binary (another pid) is unlikely to be.
    let _ = NEXT_PORT.compare_exchange(
        0,
        1 + (std::process::id() * 97) % span,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let n = NEXT_PORT.fetch_add(1, Ordering::SeqCst);
        let port = PORT_RANGE_START + (n % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A base port `b` such that `b..b+n` and `b+100..b+100+n` are free (scripts/local-net.sh's
/// layout).
pub fn free_port_block(n: u16) -> u16 {
    loop {
        let base = free_port();
        if base + 100 + n >= PORT_RANGE_END {
            continue;
        }
        let all_free = (0..n)
            .flat_map(|i| [base + i, base + 100 + i])
            .all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok());
        if all_free {
            // Skip past the block so later calls do not hand out its ports.
            NEXT_PORT.fetch_add(u32::from(n), Ordering::SeqCst);
            return base;
        }
    }
}

/// A fresh temp directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "btcnode-e2e-{}-{}-{name}",
        std::process::id(),
        NEXT_DIR.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

pub use crate::support::wait_until;

/// One running node.
pub struct Node {
    /// The process.
    pub child: Option<Child>,
    /// Its data directory.
    pub datadir: PathBuf,
    /// Its p2p port (listening on 127.0.0.1 unless started with --nolisten).
    pub port: u16,
    /// Its RPC port.
    pub rpc_port: u16,
    /// Its log file (stderr).
    pub log: PathBuf,
    /// `--rpcuser`/`--rpcpass` if given (else the cookie is used).
    pub creds: Option<(String, String)>,
}

impl Node {
    /// Starts a regtest node listening on a free loopback port with its RPC on another, plus
    /// `extra` flags; waits until its RPC answers.
    pub fn start(name: &str, extra: &[String]) -> Node {
        let node = Node::spawn(name, extra);
        assert!(
            wait_until(Duration::from_secs(20), || node
                .try_call("uptime", &[])
                .is_ok()),
            "node {name} did not come up; log:\n{}",
            node.log_text()
        );
        node
    }

    /// Starts the process without waiting.
    pub fn spawn(name: &str, extra: &[String]) -> Node {
        Node::spawn_limited(name, extra, None)
    }

    /// [`Node::start`] with `RLIMIT_NOFILE` (soft and hard) set to `nofile` in the child, as
    /// `ulimit -n` would.
    pub fn start_with_nofile(name: &str, extra: &[String], nofile: u64) -> Node {
        let node = Node::spawn_limited(name, extra, Some(nofile));
        assert!(
            wait_until(Duration::from_secs(20), || node
                .try_call("uptime", &[])
                .is_ok()),
            "node {name} did not come up; log:\n{}",
            node.log_text()
        );
        node
    }

    fn spawn_limited(name: &str, extra: &[String], nofile: Option<u64>) -> Node {
        // An explicit --datadir in `extra` wins (restart tests reuse a directory).
        let datadir = extra
            .iter()
            .find_map(|a| a.strip_prefix("--datadir="))
            .map(PathBuf::from)
            .unwrap_or_else(|| temp_dir(name));
        let flag = |f: &str| {
            extra
                .iter()
                .find_map(|a| a.strip_prefix(f))
                .map(str::to_string)
        };
        let creds = flag("--rpcuser=").zip(flag("--rpcpass="));
        let port = free_port();
        let rpc_port = free_port();
        let log = datadir.join(format!("{name}.log"));
        let mut args = vec![
            "--regtest".to_string(),
            "--nodnsseed".to_string(),
            format!("--datadir={}", datadir.display()),
            format!("--rpclisten=127.0.0.1:{rpc_port}"),
            "--debuglevel=debug".to_string(),
        ];
        if !extra
            .iter()
            .any(|a| a == "--nolisten" || a.starts_with("--listen"))
        {
            args.push(format!("--listen=127.0.0.1:{port}"));
        }
        args.extend(extra.iter().cloned());
        let mut cmd = Command::new(bin());
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("create log file"));
        if let Some(n) = nofile {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().expect("start btcnode");
        Node {
            child: Some(child),
            datadir,
            port,
            rpc_port,
            log,
            creds,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// `<datadir>/regtest`.
    pub fn net_dir(&self) -> PathBuf {
        self.datadir.join("regtest")
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Calls an RPC method with the cookie credentials.
    pub fn try_call(&self, method: &str, params: &[Value]) -> Result<Value, rpc::Error> {
        let (user, pass) = match &self.creds {
            Some(c) => c.clone(),
            None => rpc::read_cookie(&self.net_dir().join(".cookie"))?,
        };
        rpc::call(
            &format!("127.0.0.1:{}", self.rpc_port),
            &rpc::basic_auth_header(&user, &pass),
            method,
            params,
            Duration::from_secs(10),
        )
    }

    /// Calls an RPC method, panicking with the log on failure.
    pub fn call(&self, method: &str, params: &[Value]) -> Value {
        match self.try_call(method, params) {
            Ok(v) => v,
            Err(e) => panic!("rpc {method} failed: {e}; log:\n{}", self.log_text()),
        }
    }

    /// Runs `btcnode ctl` against this node.
    pub fn ctl(&self, args: &[&str]) -> std::process::Output {
        Command::new(bin())
            .arg("ctl")
            .arg("--regtest")
            .arg(format!("--datadir={}", self.datadir.display()))
            .arg(format!("--rpcconnect=127.0.0.1:{}", self.rpc_port))
            .args(args)
            .output()
            .expect("run btcnode ctl")
    }

    /// Sends a signal (`TERM`, `INT`, `USR1`) to the process.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill -{sig} failed");
    }

    /// Waits for the process to exit (up to `timeout`).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(s)) = child.try_wait() {
                self.child = None;
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM and wait; returns the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        self.signal("TERM");
        match self.wait_exit(Duration::from_secs(20)) {
            Some(s) => s,
            None => panic!("node did not stop on SIGTERM; log:\n{}", self.log_text()),
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.datadir);
        }
    }
}

/// Whether `path` exists and parses as JSON.
pub fn valid_json_file(path: &Path) -> bool {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .is_some()
}
