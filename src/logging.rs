//! Logging: env_logger writing `time LEVEL [thread] target: msg` lines to stderr, so every line
//! says which thread (`p42-in`, `server`, `rpc`) wrote it. `--debuglevel` takes btcd's syntax,
//! a `LEVEL` for everything or `SUBSYSTEM=LEVEL,...`, with btcd's subsystem codes mapped to
//! this crate's module targets; `RUST_LOG` (env_logger's syntax) is applied on top when set.
//! Called once on the main thread. btcd counterpart: `log.go` (`setLogLevels`).

use std::io::Write;

use log::LevelFilter;

/// btcd's subsystem codes and the module target each one stands for here.
pub const SUBSYSTEMS: &[(&str, &str)] = &[
    ("AMGR", "btcnode::addrmgr"),
    ("CMGR", "btcnode::connmgr"),
    ("BTCD", "btcnode"),
    ("CHAN", "btcnode::chain"),
    ("PEER", "btcnode::peer"),
    ("RPCS", "btcnode::rpc"),
    ("SRVR", "btcnode::server"),
    ("SYNC", "btcnode::server::sync"),
    ("SOCK", "btcnode::socks"),
    ("WIRE", "btcnode::wire"),
];

/// One parsed `--debuglevel` directive: a module target (`None` for every target) and its
/// level.
pub type Directive = (Option<&'static str>, LevelFilter);

fn parse_level(s: &str) -> Result<LevelFilter, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "trace" => Ok(LevelFilter::Trace),
        "debug" => Ok(LevelFilter::Debug),
        "info" => Ok(LevelFilter::Info),
        "warn" | "warning" => Ok(LevelFilter::Warn),
        // btcd's `critical` has no counterpart in `log`; error is the closest.
        "error" | "critical" => Ok(LevelFilter::Error),
        "off" => Ok(LevelFilter::Off),
        other => Err(format!(
            "invalid level {other:?} (trace, debug, info, warn, error, critical, off)"
        )),
    }
}

/// Parses `--debuglevel`: `LEVEL` or `SUBSYSTEM=LEVEL,...` (a bare `LEVEL` may be mixed in and
/// sets the default), as btcd's `parseAndSetDebugLevels`.
pub fn parse_debug_level(spec: &str) -> Result<Vec<Directive>, String> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            None => out.push((None, parse_level(part)?)),
            Some((sub, level)) => {
                let code = sub.trim().to_ascii_uppercase();
                let target = SUBSYSTEMS
                    .iter()
                    .find(|(c, _)| *c == code)
                    .map(|(_, t)| *t)
                    .ok_or_else(|| {
                        let codes: Vec<&str> = SUBSYSTEMS.iter().map(|(c, _)| *c).collect();
                        format!(
                            "unknown subsystem {sub:?} (supported: {})",
                            codes.join(", ")
                        )
                    })?;
                out.push((Some(target), parse_level(level)?));
            }
        }
    }
    if out.is_empty() {
        return Err("empty debug level".to_string());
    }
    Ok(out)
}

/// Installs the logger. Invalid specs were rejected by the config already; a second call (as
/// in tests) leaves the first logger in place.
pub fn init(debug_level: &str) {
    let mut builder = env_logger::Builder::new();
    builder.filter_level(LevelFilter::Info);
    if let Ok(directives) = parse_debug_level(debug_level) {
        for (target, level) in directives {
            match target {
                None => builder.filter_level(level),
                Some(t) => builder.filter_module(t, level),
            };
        }
    }
    if let Ok(spec) = std::env::var("RUST_LOG") {
        builder.parse_filters(&spec);
    }
    builder.format(|buf, record| {
        let ts = buf.timestamp_millis();
        let thread = std::thread::current();
        writeln!(
            buf,
            "{ts} {:<5} [{}] {}: {}",
            record.level(),
            // The main thread is `btcnode` in the thread map (its OS name is the program name).
            match thread.name() {
                Some("main") => "btcnode",
                Some(n) => n,
                None => "?",
            },
            record.target(),
            record.args()
        )
    });
    builder.write_style(env_logger::WriteStyle::Never);
    let _ = builder.try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn btcd_syntax_maps_to_targets() {
        assert_eq!(
            parse_debug_level("debug").unwrap(),
            vec![(None, LevelFilter::Debug)]
        );
        assert_eq!(
            parse_debug_level("info,PEER=trace,srvr=critical").unwrap(),
            vec![
                (None, LevelFilter::Info),
                (Some("btcnode::peer"), LevelFilter::Trace),
                (Some("btcnode::server"), LevelFilter::Error),
            ]
        );
        assert!(parse_debug_level("XXXX=info").is_err());
        assert!(parse_debug_level("PEER=loud").is_err());
        assert!(parse_debug_level("").is_err());
    }
}
