//! `btcnode ctl [--datadir --NETWORK --rpcconnect --rpcuser --rpcpass] METHOD [ARGS...]`: calls
//! one JSON-RPC method on a running node and prints the result (strings raw, everything else
//! as pretty JSON), the tool shell scripts use. Arguments are JSON where they parse as JSON
//! (numbers, booleans, arrays, objects, null), otherwise strings, as `bitcoin-cli`. Exit
//! codes: 0 ok, 1 runtime or RPC error, 2 usage error. btcd counterpart: `cmd/btcctl`.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::config::{ConfigError, default_datadir, net_dir, network_flags, normalize_address};
use crate::params::Network;
use crate::rpc::{Error, basic_auth_header, call, read_cookie};

/// How long `ctl` waits for the node to answer.
pub const CTL_TIMEOUT: Duration = Duration::from_secs(30);

/// What the `ctl` command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct CtlArgs {
    /// The node's RPC address, host:port.
    pub rpcconnect: String,
    /// Explicit credentials; the cookie file is read when absent.
    pub credentials: Option<(String, String)>,
    /// The cookie file to read when no credentials were given.
    pub cookie: PathBuf,
    /// The method.
    pub method: String,
    /// Its parameters.
    pub params: Vec<Value>,
}

fn ctl_options() -> getopts::Options {
    let mut o = getopts::Options::new();
    o.parsing_style(getopts::ParsingStyle::StopAtFirstFree);
    o.optopt(
        "",
        "datadir",
        "the node's data directory (default ~/.btcnode)",
        "DIR",
    );
    o.optopt(
        "",
        "rpcconnect",
        "the node's RPC address (default 127.0.0.1:<network rpc port>)",
        "HOST[:PORT]",
    );
    o.optopt(
        "",
        "rpcuser",
        "RPC user name (default: read the cookie file)",
        "USER",
    );
    o.optopt("", "rpcpass", "RPC password", "PASS");
    for f in ["testnet", "testnet4", "signet", "regtest", "simnet"] {
        o.optflag("", f, "use this network's port and data directory");
    }
    o.optflag("h", "help", "show this help message");
    o
}

/// Usage text for `btcnode ctl --help`.
pub fn ctl_usage() -> String {
    ctl_options().usage("Usage: btcnode ctl [OPTIONS] METHOD [ARGS...]")
}

/// A parsed `ctl` invocation, or `Ok(None)` for `--help`.
pub fn parse_ctl_args(args: &[String]) -> Result<Option<CtlArgs>, ConfigError> {
    let m = ctl_options()
        .parse(args)
        .map_err(|e| ConfigError(e.to_string()))?;
    if m.opt_present("help") {
        return Ok(None);
    }
    let nets = network_flags(&m);
    if nets.len() > 1 {
        return Err(ConfigError("only one network flag may be given".into()));
    }
    let network = nets.first().copied().unwrap_or(Network::Mainnet);
    let datadir = m
        .opt_str("datadir")
        .map(PathBuf::from)
        .unwrap_or_else(default_datadir);
    let rpcconnect = normalize_address(
        &m.opt_str("rpcconnect")
            .unwrap_or_else(|| "127.0.0.1".to_string()),
        network.rpc_port(),
    );
    let credentials = match (m.opt_str("rpcuser"), m.opt_str("rpcpass")) {
        (Some(u), Some(p)) => Some((u, p)),
        (None, None) => None,
        _ => {
            return Err(ConfigError(
                "--rpcuser and --rpcpass must be given together".into(),
            ));
        }
    };
    let mut free = m.free.into_iter();
    let method = free
        .next()
        .ok_or_else(|| ConfigError("missing METHOD (try: btcnode ctl help)".into()))?;
    let params = free
        .map(|a| serde_json::from_str::<Value>(&a).unwrap_or(Value::String(a)))
        .collect();
    Ok(Some(CtlArgs {
        rpcconnect,
        credentials,
        cookie: net_dir(&datadir, network).join(".cookie"),
        method,
        params,
    }))
}

/// Runs the call and returns the result.
pub fn run_ctl(args: &CtlArgs) -> Result<Value, Error> {
    let (user, pass) = match &args.credentials {
        Some(c) => c.clone(),
        None => read_cookie(&args.cookie)?,
    };
    call(
        &args.rpcconnect,
        &basic_auth_header(&user, &pass),
        &args.method,
        &args.params,
        CTL_TIMEOUT,
    )
}

/// The text `ctl` prints for a result: a string as is, anything else as pretty JSON.
pub fn format_result(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => serde_json::to_string_pretty(other).unwrap_or_else(|_| other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments_are_json_or_strings() {
        let c = parse_ctl_args(&a(&[
            "--regtest",
            "--datadir=/d",
            "setban",
            "10.0.0.1",
            "add",
            "60",
            "false",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(c.rpcconnect, "127.0.0.1:18334");
        assert_eq!(c.cookie, PathBuf::from("/d/regtest/.cookie"));
        assert_eq!(c.method, "setban");
        assert_eq!(
            c.params,
            vec![
                Value::String("10.0.0.1".into()),
                Value::String("add".into()),
                Value::from(60),
                Value::Bool(false)
            ]
        );
        let c = parse_ctl_args(&a(&[
            "--rpcconnect=127.0.0.1:9",
            "--rpcuser=u",
            "--rpcpass=p",
            "uptime",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(c.rpcconnect, "127.0.0.1:9");
        assert_eq!(c.credentials, Some(("u".into(), "p".into())));
        assert!(parse_ctl_args(&a(&[])).is_err());
        assert!(parse_ctl_args(&a(&["--rpcuser=u", "x"])).is_err());
        assert!(parse_ctl_args(&a(&["--bogus", "x"])).is_err());
        assert!(parse_ctl_args(&a(&["--help"])).unwrap().is_none());
    }
}
