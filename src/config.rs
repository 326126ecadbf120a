//! The node's configuration: every command-line flag under btcd's name, the `--configfile`
//! (btcd-style `key=value` lines with the same names), defaults, validation and the data
//! directory layout (`<datadir>/<network>/`). Runs on the main thread before anything starts;
//! a usage error is a [`ConfigError`] that `main` prints on one line and turns into exit code 2.
//! btcd counterpart: `config.go`.

use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::params::Network;

/// btcd's `defaultMaxPeers`: enough connections for a well-connected node on a small machine.
pub const DEFAULT_MAX_PEERS: usize = 125;

/// `--maxsendbuffer` default in KB: Bitcoin Core's `DEFAULT_MAXSENDBUFFER` (the peer layer's
/// `DEFAULT_MAX_SEND_BUFFER` in bytes; config sits beside it and cannot import it).
pub const DEFAULT_MAX_SEND_BUFFER_KB: usize = 1000;

/// `--maxreceivebuffer` default in KB: Bitcoin Core's `DEFAULT_MAXRECEIVEBUFFER`.
pub const DEFAULT_MAX_RECEIVE_BUFFER_KB: usize = 5000;

/// btcd's `defaultBanThreshold`: the ban score at which a misbehaving peer is disconnected and
/// banned.
pub const DEFAULT_BAN_THRESHOLD: u32 = 100;

/// btcd's `defaultBanDuration`: how long a misbehaving host stays banned.
pub const DEFAULT_BAN_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// btcd's `negotiateTimeout` (peer package): a peer that has not completed version/verack
/// within this time is dropped, so half-open connections cannot hold inbound slots.
pub const DEFAULT_PEER_TIMEOUT: Duration = Duration::from_secs(30);

/// Name of the default configuration file inside the data directory.
pub const DEFAULT_CONFIG_FILENAME: &str = "btcnode.conf";

/// Name of the data directory under `$HOME` when `--datadir` is not given.
pub const DEFAULT_DATADIR_NAME: &str = ".btcnode";

/// btcd's `MaxUserAgentLen` is 256 bytes for the whole user agent; comments are limited so the
/// agent built from them stays below that.
pub const MAX_UA_COMMENT_LEN: usize = 200;

/// A usage error: a bad flag, a bad value or flags that cannot be combined. `main` prints its
/// message on one line and exits with code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

/// An IP network for `--whitelist`: a single address or `addr/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    /// The network address (host bits cleared).
    pub addr: IpAddr,
    /// Prefix length in bits (32 or 128 for a single address).
    pub prefix: u8,
}

impl IpNet {
    /// Parses `1.2.3.4`, `1.2.3.0/24`, `::1` or `2001:db8::/32`.
    pub fn parse(s: &str) -> Result<IpNet, String> {
        let (ip, prefix) = match s.split_once('/') {
            Some((ip, p)) => (ip, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = ip
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| format!("invalid ip address {ip:?}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or_else(|| format!("invalid prefix length {p:?}"))?,
            None => max,
        };
        Ok(IpNet {
            addr: mask(addr, prefix),
            prefix,
        })
    }

    /// Whether `ip` lies inside this network. IPv4-mapped IPv6 addresses match IPv4 networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        mask(ip, self.prefix) == self.addr
    }

    /// Whether this network is a single host.
    pub fn is_host(&self) -> bool {
        self.prefix == if self.addr.is_ipv4() { 32 } else { 128 }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_host() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// Turns an IPv4-mapped IPv6 address into the IPv4 address it carries.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match canonical_ip(ip) {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix.min(32)))
            };
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix.min(128)))
            };
            IpAddr::V6((bits & m).into())
        }
    }
}

/// The whole node configuration after defaults, config file and command line are merged.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `--datadir`: root of the data directory.
    pub datadir: PathBuf,
    /// `--configfile`, if one was read.
    pub configfile: Option<PathBuf>,
    /// The network (`--testnet`, `--testnet4`, `--signet`, `--regtest`, `--simnet`; mainnet
    /// otherwise).
    pub network: Network,
    /// `--listen`: addresses to accept peers on (empty when listening is off).
    pub listen: Vec<SocketAddr>,
    /// `--connect`: connect only to these (host:port), never dial anything else.
    pub connect: Vec<String>,
    /// `--addpeer`: persistent peers to keep connected, besides automatic ones.
    pub addpeer: Vec<String>,
    /// `--maxpeers`: inbound plus outbound connection cap.
    pub max_peers: usize,
    /// `--maxsendbuffer` (KB on the command line, bytes here): the per-peer send budget
    /// (Core's `-maxsendbuffer`, default 1,000 KB).
    pub max_send_buffer: usize,
    /// `--maxreceivebuffer` (KB on the command line, bytes here): the per-peer receive
    /// budget (Core's `-maxreceivebuffer`, default 5,000 KB).
    pub max_receive_buffer: usize,
    /// `--nodnsseed` (also implied by `--connect` and by networks without seeds).
    pub no_dns_seed: bool,
    /// `--externalip`: addresses to advertise as ours.
    pub external_ips: Vec<String>,
    /// `--proxy`: SOCKS5 proxy for outbound connections.
    pub proxy: Option<String>,
    /// `--proxyuser`.
    pub proxy_user: Option<String>,
    /// `--proxypass`.
    pub proxy_pass: Option<String>,
    /// `--onion`: SOCKS5 proxy for .onion addresses.
    pub onion: Option<String>,
    /// `--onionuser`.
    pub onion_user: Option<String>,
    /// `--onionpass`.
    pub onion_pass: Option<String>,
    /// `--noonion`: never connect to .onion addresses.
    pub no_onion: bool,
    /// `--torisolation`: a fresh random proxy credential per connection (Tor stream isolation).
    pub tor_isolation: bool,
    /// `--banthreshold`.
    pub ban_threshold: u32,
    /// `--banduration`.
    pub ban_duration: Duration,
    /// `--nobanning`.
    pub no_banning: bool,
    /// `--whitelist`: peers exempt from bans and limits.
    pub whitelist: Vec<IpNet>,
    /// `--uacomment`: comments appended to the user agent.
    pub ua_comments: Vec<String>,
    /// `--peertimeout`: time a peer has to complete the handshake.
    pub peer_timeout: Duration,
    /// `--debuglevel`: `LEVEL` or `SUBSYSTEM=LEVEL,...`.
    pub debug_level: String,
    /// `--rpclisten`: JSON-RPC addresses (empty with `--norpc`).
    pub rpc_listen: Vec<SocketAddr>,
    /// `--rpcuser`.
    pub rpc_user: Option<String>,
    /// `--rpcpass`.
    pub rpc_pass: Option<String>,
    /// `--norpc`.
    pub no_rpc: bool,
    /// Capacity of the server thread's message channel (not a flag: tests shrink it to
    /// prove nothing waits on the server thread while it waits on them).
    pub server_queue_len: usize,
}

/// Capacity of the server thread's message channel. Senders select on quit while it is
/// full, which pushes back on peers instead of growing memory (btcd uses small channels).
pub const SERVER_QUEUE_LEN: usize = 256;

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Run the node.
    Run(Box<Config>),
    /// `--help`: print this usage text.
    Help(String),
    /// `--version`.
    Version,
}

/// The flags whose value is a string (`--name=value` or `--name value`).
const VALUE_FLAGS: &[(&str, &str, &str)] = &[
    (
        "datadir",
        "DIR",
        "directory to store data (default ~/.btcnode)",
    ),
    (
        "configfile",
        "FILE",
        "configuration file of key=value lines (default <datadir>/btcnode.conf)",
    ),
    (
        "listen",
        "ADDR",
        "add an interface/port to listen for connections (default all interfaces, network port; repeatable)",
    ),
    (
        "connect",
        "ADDR",
        "connect only to the specified peers at startup (repeatable)",
    ),
    (
        "addpeer",
        "ADDR",
        "add a peer to connect with at startup (repeatable)",
    ),
    (
        "maxsendbuffer",
        "KB",
        "per-peer send budget in KB (1000); a peer over it is not read until it reads",
    ),
    (
        "maxreceivebuffer",
        "KB",
        "per-peer receive budget in KB (5000)",
    ),
    (
        "maxpeers",
        "N",
        "max number of inbound and outbound peers (125)",
    ),
    (
        "externalip",
        "IP",
        "add an ip to the list of local addresses we claim to listen on to peers (repeatable)",
    ),
    (
        "proxy",
        "ADDR",
        "connect via SOCKS5 proxy (eg. 127.0.0.1:9050)",
    ),
    ("proxyuser", "USER", "username for proxy server"),
    ("proxypass", "PASS", "password for proxy server"),
    (
        "onion",
        "ADDR",
        "connect to tor hidden services via SOCKS5 proxy (eg. 127.0.0.1:9050)",
    ),
    ("onionuser", "USER", "username for onion proxy server"),
    ("onionpass", "PASS", "password for onion proxy server"),
    (
        "banthreshold",
        "N",
        "maximum allowed ban score before disconnecting and banning misbehaving peers (100)",
    ),
    (
        "banduration",
        "DURATION",
        "how long to ban misbehaving peers, Go syntax like 24h or 90m, or seconds (24h)",
    ),
    (
        "whitelist",
        "NET",
        "add an IP network or IP that will not be banned (eg. 192.168.1.0/24 or ::1; repeatable)",
    ),
    (
        "uacomment",
        "TEXT",
        "comment to add to the user agent (repeatable)",
    ),
    (
        "peertimeout",
        "SECONDS",
        "seconds a peer has to complete the handshake (30)",
    ),
    (
        "debuglevel",
        "LEVEL",
        "logging level for all subsystems {trace, debug, info, warn, error, critical}, or SUBSYSTEM=LEVEL,... (info)",
    ),
    (
        "rpclisten",
        "ADDR",
        "add an interface/port to listen for RPC connections (default 127.0.0.1:<network rpc port>; repeatable)",
    ),
    ("rpcuser", "USER", "username for RPC connections"),
    ("rpcpass", "PASS", "password for RPC connections"),
];

/// The boolean flags.
const BOOL_FLAGS: &[(&str, &str)] = &[
    ("testnet", "use the test network (testnet3)"),
    ("testnet4", "use the testnet4 network"),
    ("signet", "use the signet test network"),
    ("regtest", "use the regression test network"),
    ("simnet", "use the simulation test network"),
    (
        "nolisten",
        "disable listening for incoming connections (default on unless --connect or --proxy)",
    ),
    ("nodnsseed", "disable DNS seeding for peers"),
    ("noonion", "disable connecting to tor hidden services"),
    (
        "torisolation",
        "enable Tor stream isolation by randomizing user credentials for each connection",
    ),
    ("nobanning", "disable banning of misbehaving peers"),
    ("norpc", "disable the built-in RPC server"),
    ("help", "show this help message"),
    ("version", "display version information and exit"),
];

fn options() -> getopts::Options {
    let mut o = getopts::Options::new();
    o.parsing_style(getopts::ParsingStyle::StopAtFirstFree);
    for (name, hint, desc) in VALUE_FLAGS {
        // Every value flag may repeat; single-valued ones take the last occurrence so the
        // command line overrides the config file placed before it.
        o.optmulti("", name, desc, hint);
    }
    for (name, desc) in BOOL_FLAGS {
        o.optflagmulti("", name, desc);
    }
    // btcd's short aliases.
    o.optflagmulti("h", "", "show this help message");
    o.optflagmulti("V", "", "display version information and exit");
    o
}

/// The usage text printed by `--help`.
pub fn usage() -> String {
    options().usage(
        "Usage: btcnode [OPTIONS]\n       btcnode ctl [OPTIONS] METHOD [ARGS...]\n       \
         btcnode decode|encode ...",
    )
}

/// The user's home directory, or the current directory if `$HOME` is unset.
fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The default data directory: `$HOME/.btcnode`.
pub fn default_datadir() -> PathBuf {
    home_dir().join(DEFAULT_DATADIR_NAME)
}

/// The last value of a repeatable option: later values (the command line) override earlier
/// ones (the config file).
fn last(m: &getopts::Matches, long: &str) -> Option<String> {
    m.opt_strs(long).pop()
}

/// The networks whose flags (`--testnet`, `--testnet4`, `--signet`, `--regtest`, `--simnet`)
/// were given, in that order; the caller rejects more than one.
pub(crate) fn network_flags(m: &getopts::Matches) -> Vec<Network> {
    [
        ("testnet", Network::Testnet3),
        ("testnet4", Network::Testnet4),
        ("signet", Network::Signet),
        ("regtest", Network::Regtest),
        ("simnet", Network::Simnet),
    ]
    .into_iter()
    .filter(|(f, _)| flag(m, f))
    .map(|(_, n)| n)
    .collect()
}

fn flag(m: &getopts::Matches, long: &str) -> bool {
    m.opt_present(long)
}

/// Parses a duration in Go's syntax (`24h`, `1h30m`, `90s`, `500ms`) or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("invalid duration {s:?}: missing unit"))?;
        if digits == 0 {
            return Err(format!("invalid duration {s:?}"));
        }
        let value: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid duration {s:?}"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            other => return Err(format!("invalid duration {s:?}: unknown unit {other:?}")),
        };
        rest = &rest[unit_len..];
        let secs = value * unit;
        if !secs.is_finite() || secs > 1e12 {
            return Err(format!("invalid duration {s:?}: out of range"));
        }
        total += Duration::from_secs_f64(secs);
    }
    Ok(total)
}

/// Adds the network's default port to `host` if it has none (`1.2.3.4` -> `1.2.3.4:8333`,
/// `::1` -> `[::1]:8333`).
pub fn normalize_address(addr: &str, default_port: u16) -> String {
    if addr.parse::<SocketAddr>().is_ok() {
        return addr.to_string();
    }
    if let Ok(ip) = addr
        .trim_matches(|c| c == '[' || c == ']')
        .parse::<IpAddr>()
    {
        return SocketAddr::new(ip, default_port).to_string();
    }
    match addr.rsplit_once(':') {
        Some((_, port)) if port.parse::<u16>().is_ok() => addr.to_string(),
        _ => format!("{addr}:{default_port}"),
    }
}

fn parse_listen(addr: &str, default_port: u16, what: &str) -> Result<SocketAddr, ConfigError> {
    let full = normalize_address(addr, default_port);
    if let Ok(sa) = full.parse::<SocketAddr>() {
        return Ok(sa);
    }
    // A host name for a listener (e.g. localhost) is resolved locally; only the first result
    // is used.
    match full.to_socket_addrs().ok().and_then(|mut a| a.next()) {
        Some(sa) => Ok(sa),
        None => err(format!("invalid --{what} address {addr:?}")),
    }
}

fn check_peer_address(addr: &str, what: &str) -> Result<(), ConfigError> {
    let (host, port) = match addr.rsplit_once(':') {
        Some(hp) => hp,
        None => return err(format!("invalid --{what} address {addr:?}")),
    };
    if host.is_empty() || port.parse::<u16>().is_err() {
        return err(format!("invalid --{what} address {addr:?}"));
    }
    Ok(())
}

/// Reads a btcd-style config file into command-line arguments: `key=value` lines (or bare
/// `key` for a boolean), `#` and `;` comments and `[section]` headers ignored. A missing file
/// is fine when it is only the default.
pub fn read_config_file(path: &Path) -> Result<Vec<String>, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
    config_file_args(&text, path)
}

fn config_file_args(text: &str, path: &Path) -> Result<Vec<String>, ConfigError> {
    let mut args = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty()
            || line.starts_with('#')
            || line.starts_with(';')
            || line.starts_with('[')
        {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (line, None),
        };
        let key = key.trim_start_matches('-');
        if key == "configfile" {
            return err(format!(
                "{}:{}: configfile cannot be set inside a config file",
                path.display(),
                i + 1
            ));
        }
        if BOOL_FLAGS.iter().any(|(n, _)| *n == key) {
            match value.map(str::to_ascii_lowercase).as_deref() {
                None | Some("1") | Some("true") | Some("yes") | Some("") => {
                    args.push(format!("--{key}"))
                }
                Some("0") | Some("false") | Some("no") => {}
                Some(v) => {
                    return err(format!(
                        "{}:{}: invalid boolean {v:?} for {key}",
                        path.display(),
                        i + 1
                    ));
                }
            }
        } else if VALUE_FLAGS.iter().any(|(n, _, _)| *n == key) {
            match value {
                Some(v) => args.push(format!("--{key}={v}")),
                None => {
                    return err(format!("{}:{}: {key} needs a value", path.display(), i + 1));
                }
            }
        } else {
            return err(format!(
                "{}:{}: unknown option {key:?}",
                path.display(),
                i + 1
            ));
        }
    }
    Ok(args)
}

/// Parses the node's command line (without the program name).
pub fn parse_args(args: &[String]) -> Result<Command, ConfigError> {
    let opts = options();
    let first = opts.parse(args).map_err(|e| ConfigError(e.to_string()))?;
    if !first.free.is_empty() {
        return err(format!("unexpected argument {:?}", first.free[0]));
    }
    if flag(&first, "help") || flag(&first, "h") {
        return Ok(Command::Help(usage()));
    }
    if flag(&first, "version") || flag(&first, "V") {
        return Ok(Command::Version);
    }
    let datadir = last(&first, "datadir")
        .map(PathBuf::from)
        .unwrap_or_else(default_datadir);
    let (configfile, explicit) = match last(&first, "configfile") {
        Some(p) => (PathBuf::from(p), true),
        None => (datadir.join(DEFAULT_CONFIG_FILENAME), false),
    };
    let (m, configfile) = if explicit || configfile.exists() {
        let mut all = read_config_file(&configfile)?;
        all.extend(args.iter().cloned());
        let m = opts.parse(&all).map_err(|e| ConfigError(e.to_string()))?;
        (m, Some(configfile))
    } else {
        (first, None)
    };
    build(&m, configfile).map(|c| Command::Run(Box::new(c)))
}

fn build(m: &getopts::Matches, configfile: Option<PathBuf>) -> Result<Config, ConfigError> {
    let datadir = last(m, "datadir")
        .map(PathBuf::from)
        .unwrap_or_else(default_datadir);

    let nets = network_flags(m);
    if nets.len() > 1 {
        return err(
            "the testnet, testnet4, signet, regtest and simnet flags cannot be used together",
        );
    }
    let network = nets.first().copied().unwrap_or(Network::Mainnet);
    let port = network.default_port();

    let connect: Vec<String> = m
        .opt_strs("connect")
        .iter()
        .map(|a| normalize_address(a, port))
        .collect();
    let addpeer: Vec<String> = m
        .opt_strs("addpeer")
        .iter()
        .map(|a| normalize_address(a, port))
        .collect();
    for a in &connect {
        check_peer_address(a, "connect")?;
    }
    for a in &addpeer {
        check_peer_address(a, "addpeer")?;
    }
    if !connect.is_empty() && !addpeer.is_empty() {
        return err("the --addpeer and --connect options cannot be mixed");
    }

    let proxy = last(m, "proxy");
    let listen_flags = m.opt_strs("listen");
    // As btcd: --connect and --proxy turn listening off unless --listen is given explicitly.
    let no_listen = flag(m, "nolisten")
        || (listen_flags.is_empty() && (!connect.is_empty() || proxy.is_some()));
    if flag(m, "nolisten") && !listen_flags.is_empty() {
        return err("the --listen and --nolisten options cannot be mixed");
    }
    let listen = if no_listen {
        Vec::new()
    } else if listen_flags.is_empty() {
        vec![SocketAddr::new(IpAddr::from([0, 0, 0, 0]), port)]
    } else {
        listen_flags
            .iter()
            .map(|a| parse_listen(a, port, "listen"))
            .collect::<Result<_, _>>()?
    };

    let max_peers = match last(m, "maxpeers") {
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| ConfigError(format!("invalid --maxpeers {v:?}")))?,
        None => DEFAULT_MAX_PEERS,
    };
    let kb_flag = |name: &str, default: usize| -> Result<usize, ConfigError> {
        match last(m, name) {
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|&k| k > 0)
                .and_then(|k| k.checked_mul(1000))
                .ok_or_else(|| ConfigError(format!("invalid --{name} {v:?}"))),
            None => Ok(default),
        }
    };
    let max_send_buffer = kb_flag("maxsendbuffer", DEFAULT_MAX_SEND_BUFFER_KB * 1000)?;
    let max_receive_buffer = kb_flag("maxreceivebuffer", DEFAULT_MAX_RECEIVE_BUFFER_KB * 1000)?;
    let ban_threshold = match last(m, "banthreshold") {
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|&t| t > 0)
            .ok_or_else(|| ConfigError(format!("invalid --banthreshold {v:?}")))?,
        None => DEFAULT_BAN_THRESHOLD,
    };
    let ban_duration = match last(m, "banduration") {
        Some(v) => {
            let d = parse_duration(&v).map_err(|e| ConfigError(format!("--banduration: {e}")))?;
            // btcd refuses bans shorter than a second.
            if d < Duration::from_secs(1) {
                return err(format!("--banduration {v:?} is shorter than one second"));
            }
            d
        }
        None => DEFAULT_BAN_DURATION,
    };
    let peer_timeout = match last(m, "peertimeout") {
        Some(v) => parse_duration(&v)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| ConfigError(format!("invalid --peertimeout {v:?}")))?,
        None => DEFAULT_PEER_TIMEOUT,
    };
    let whitelist = m
        .opt_strs("whitelist")
        .iter()
        .map(|w| IpNet::parse(w).map_err(|e| ConfigError(format!("--whitelist: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let ua_comments = m.opt_strs("uacomment");
    for c in &ua_comments {
        // BIP14: comments must not break the "/name:version(comment)/" structure.
        if c.len() > MAX_UA_COMMENT_LEN || c.chars().any(|ch| "/:()".contains(ch)) {
            return err(format!(
                "--uacomment {c:?} contains one of the reserved characters '/:()' or is too long"
            ));
        }
    }
    let debug_level = last(m, "debuglevel").unwrap_or_else(|| "info".to_string());
    crate::logging::parse_debug_level(&debug_level)
        .map_err(|e| ConfigError(format!("--debuglevel: {e}")))?;

    let no_rpc = flag(m, "norpc");
    let rpc_listen = if no_rpc {
        Vec::new()
    } else {
        let flags = m.opt_strs("rpclisten");
        if flags.is_empty() {
            vec![SocketAddr::new(
                IpAddr::from([127, 0, 0, 1]),
                network.rpc_port(),
            )]
        } else {
            flags
                .iter()
                .map(|a| parse_listen(a, network.rpc_port(), "rpclisten"))
                .collect::<Result<_, _>>()?
        }
    };
    let rpc_user = last(m, "rpcuser");
    let rpc_pass = last(m, "rpcpass");
    if rpc_user.is_some() != rpc_pass.is_some() {
        return err("--rpcuser and --rpcpass must be given together");
    }
    // The SOCKS client dials its proxy by address; a proxy that cannot be used must stop
    // the node rather than let it connect directly.
    for (name, v) in [("proxy", &proxy), ("onion", &last(m, "onion"))] {
        if let Some(v) = v
            && v.parse::<SocketAddr>().is_err()
        {
            return err(format!("--{name} {v:?} must be IP:PORT"));
        }
    }
    let no_onion = flag(m, "noonion");
    let onion = last(m, "onion");
    if no_onion && onion.is_some() {
        return err("the --onion and --noonion options cannot be mixed");
    }

    Ok(Config {
        datadir,
        configfile,
        network,
        listen,
        no_dns_seed: flag(m, "nodnsseed") || !connect.is_empty(),
        connect,
        addpeer,
        max_peers,
        max_send_buffer,
        max_receive_buffer,
        external_ips: m.opt_strs("externalip"),
        proxy,
        proxy_user: last(m, "proxyuser"),
        proxy_pass: last(m, "proxypass"),
        onion,
        onion_user: last(m, "onionuser"),
        onion_pass: last(m, "onionpass"),
        no_onion,
        tor_isolation: flag(m, "torisolation"),
        ban_threshold,
        ban_duration,
        no_banning: flag(m, "nobanning"),
        whitelist,
        ua_comments,
        peer_timeout,
        debug_level,
        rpc_listen,
        rpc_user,
        rpc_pass,
        no_rpc,
        server_queue_len: SERVER_QUEUE_LEN,
    })
}

impl Config {
    /// `<datadir>/<network>/`: where every data file of this network lives.
    pub fn net_dir(&self) -> PathBuf {
        net_dir(&self.datadir, self.network)
    }

    /// `<datadir>/<network>/peers.json`.
    pub fn peers_file(&self) -> PathBuf {
        self.net_dir().join("peers.json")
    }

    /// `<datadir>/<network>/banlist.json`.
    pub fn banlist_file(&self) -> PathBuf {
        self.net_dir().join("banlist.json")
    }

    /// `<datadir>/<network>/.cookie`.
    pub fn cookie_file(&self) -> PathBuf {
        self.net_dir().join(".cookie")
    }

    /// Whether `ip` is covered by `--whitelist`.
    pub fn is_whitelisted(&self, ip: IpAddr) -> bool {
        self.whitelist.iter().any(|n| n.contains(ip))
    }

    /// The user agent comment list formatted as btcd does.
    pub fn user_agent(&self) -> String {
        let comments = if self.ua_comments.is_empty() {
            String::new()
        } else {
            format!("({})", self.ua_comments.join("; "))
        };
        format!("/btcnode:{}{comments}/", env!("CARGO_PKG_VERSION"))
    }
}

/// `<datadir>/<network>/`.
pub fn net_dir(datadir: &Path, network: Network) -> PathBuf {
    datadir.join(network.name())
}

/// The command-line flag that selects `network` (`None` for mainnet).
pub fn network_flag(network: Network) -> Option<&'static str> {
    match network {
        Network::Mainnet => None,
        Network::Testnet3 => Some("--testnet"),
        Network::Testnet4 => Some("--testnet4"),
        Network::Signet => Some("--signet"),
        Network::Regtest => Some("--regtest"),
        Network::Simnet => Some("--simnet"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn run(a: &[&str]) -> Result<Config, ConfigError> {
        let mut v = args(a);
        // Keep tests away from the user's real data directory and config file.
        if !a.iter().any(|s| s.starts_with("--datadir")) {
            v.push("--datadir=/nonexistent/btcnode-test".into());
        }
        match parse_args(&v)? {
            Command::Run(c) => Ok(*c),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn defaults_are_btcd_defaults() {
        let c = run(&[]).unwrap();
        assert_eq!(c.network, Network::Mainnet);
        assert_eq!(c.max_peers, 125);
        assert_eq!(c.max_send_buffer, 1_000_000);
        assert_eq!(c.max_receive_buffer, 5_000_000);
        assert_eq!(c.ban_threshold, 100);
        assert_eq!(c.ban_duration, Duration::from_secs(86400));
        assert_eq!(c.listen, vec!["0.0.0.0:8333".parse().unwrap()]);
        assert_eq!(c.rpc_listen, vec!["127.0.0.1:8334".parse().unwrap()]);
        assert!(!c.no_dns_seed);
        assert_eq!(
            c.net_dir(),
            PathBuf::from("/nonexistent/btcnode-test/mainnet")
        );
    }

    #[test]
    fn network_flags_select_ports_and_dirs() {
        let c = run(&["--regtest"]).unwrap();
        assert_eq!(c.network, Network::Regtest);
        assert_eq!(c.listen[0].port(), 18444);
        assert_eq!(c.rpc_listen[0].port(), 18334);
        assert!(c.banlist_file().ends_with("regtest/banlist.json"));
        assert_eq!(run(&["--testnet4"]).unwrap().network, Network::Testnet4);
        assert_eq!(run(&["--signet"]).unwrap().network, Network::Signet);
        assert_eq!(run(&["--simnet"]).unwrap().network, Network::Simnet);
        assert_eq!(run(&["--testnet"]).unwrap().network, Network::Testnet3);
        assert!(run(&["--regtest", "--testnet"]).is_err());
    }

    #[test]
    fn connect_turns_off_listening_and_seeding() {
        let c = run(&[
            "--regtest",
            "--connect=127.0.0.1:20001",
            "--connect=127.0.0.1",
        ])
        .unwrap();
        assert_eq!(c.connect, vec!["127.0.0.1:20001", "127.0.0.1:18444"]);
        assert!(c.listen.is_empty());
        assert!(c.no_dns_seed);
        let c = run(&[
            "--regtest",
            "--connect=127.0.0.1:20001",
            "--listen=127.0.0.1:20002",
        ])
        .unwrap();
        assert_eq!(c.listen, vec!["127.0.0.1:20002".parse().unwrap()]);
        assert!(run(&["--connect=127.0.0.1:1", "--addpeer=127.0.0.1:2"]).is_err());
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for bad in [
            &["--maxpeers=x"][..],
            &["--banthreshold=0"],
            &["--banduration=10parsecs"],
            &["--whitelist=1.2.3.4/33"],
            &["--debuglevel=loud"],
            &["--debuglevel=NOPE=info"],
            &["--nosuchflag"],
            &["--rpcuser=a"],
            &["--uacomment=a/b"],
            &["stray"],
            &["--peertimeout=0"],
            &["--proxy=localhost"],
            &["--onion=tor.example:9050"],
        ] {
            let e = run(bad).unwrap_err();
            assert!(!e.0.contains('\n'), "{e}");
        }
    }

    #[test]
    fn durations_parse_go_syntax() {
        assert_eq!(parse_duration("24h").unwrap(), Duration::from_secs(86400));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("5").is_ok());
        assert!(parse_duration("5x").is_err());
    }

    #[test]
    fn whitelist_matches_networks() {
        let n = IpNet::parse("192.168.1.7/24").unwrap();
        assert_eq!(n.to_string(), "192.168.1.0/24");
        assert!(n.contains("192.168.1.200".parse().unwrap()));
        assert!(n.contains("::ffff:192.168.1.3".parse().unwrap()));
        assert!(!n.contains("192.168.2.1".parse().unwrap()));
        let h = IpNet::parse("::1").unwrap();
        assert!(h.contains("::1".parse().unwrap()));
        assert!(!h.contains("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn config_file_lines_become_flags_and_cli_wins() {
        let dir = std::env::temp_dir().join(format!("btcnode-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("test.conf");
        std::fs::write(
            &file,
            "# comment\n[Application Options]\nregtest=1\nmaxpeers=7\nnobanning\n; x\nrpcuser=a\nrpcpass=b\n",
        )
        .unwrap();
        let f = format!("--configfile={}", file.display());
        let c = run(&[&f]).unwrap();
        assert_eq!(c.network, Network::Regtest);
        assert_eq!(c.max_peers, 7);
        assert!(c.no_banning);
        assert_eq!(c.rpc_user.as_deref(), Some("a"));
        let c = run(&[&f, "--maxpeers=9"]).unwrap();
        assert_eq!(c.max_peers, 9);
        std::fs::write(&file, "bogus=1\n").unwrap();
        assert!(run(&[&f]).unwrap_err().0.contains("unknown option"));
        let missing = format!("--configfile={}", dir.join("none.conf").display());
        assert!(run(&[&missing]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn help_and_version() {
        assert!(matches!(
            parse_args(&args(&["--help"])).unwrap(),
            Command::Help(_)
        ));
        assert!(matches!(
            parse_args(&args(&["-h"])).unwrap(),
            Command::Help(_)
        ));
        assert!(matches!(
            parse_args(&args(&["--version"])).unwrap(),
            Command::Version
        ));
        assert!(usage().contains("--banduration"));
    }

    #[test]
    fn addresses_get_default_ports() {
        assert_eq!(normalize_address("1.2.3.4", 8333), "1.2.3.4:8333");
        assert_eq!(normalize_address("::1", 8333), "[::1]:8333");
        assert_eq!(normalize_address("[::1]:9", 8333), "[::1]:9");
        assert_eq!(normalize_address("host.example", 1), "host.example:1");
        assert_eq!(normalize_address("host.example:5", 1), "host.example:5");
    }
}
