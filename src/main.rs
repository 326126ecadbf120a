//! The `btcnode` binary: `btcnode [OPTIONS]` runs the node, `btcnode ctl ...` calls its
//! JSON-RPC port, `btcnode decode|encode ...` are the wire tools. The main thread (`btcnode`)
//! parses the command line, starts the server, then waits for signals: SIGINT/SIGTERM begin an
//! orderly stop (a second one only logs that the node is already stopping), SIGUSR1 writes a
//! state dump to the log. Errors become a message and an exit code here and nowhere else:
//! 0 ok, 1 runtime error, 2 usage error. btcd counterpart: `btcd.go` (`btcdMain`).

use std::process::ExitCode;

use btcnode::config::{self, Command};
use btcnode::rpc::ctl;

/// Exit code for a usage error (bad flag or value).
const EXIT_USAGE: u8 = 2;
/// Exit code for a runtime error.
const EXIT_RUNTIME: u8 = 1;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ctl") => ctl_main(&args[1..]),
        Some("decode") => exit_code(btcnode::wire::cli::decode_main(&args[1..])),
        Some("encode") => exit_code(btcnode::wire::cli::encode_main(&args[1..])),
        _ => node_main(&args),
    }
}

/// An exit code from a tool's `i32` status (0 to 255; anything else is 1).
fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn ctl_main(args: &[String]) -> ExitCode {
    let parsed = match ctl::parse_ctl_args(args) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{}", ctl::ctl_usage());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("btcnode ctl: {e}; see btcnode ctl --help");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match ctl::run_ctl(&parsed) {
        Ok(v) => {
            let text = ctl::format_result(&v);
            if !text.is_empty() {
                println!("{text}");
            }
            ExitCode::SUCCESS
        }
        Err(btcnode::rpc::Error::Rpc(e)) => {
            eprintln!("error code: {}\nerror message:\n{}", e.code, e.message);
            ExitCode::from(EXIT_RUNTIME)
        }
        Err(e) => {
            eprintln!("btcnode ctl: {e}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

fn node_main(args: &[String]) -> ExitCode {
    let cfg = match config::parse_args(args) {
        Ok(Command::Run(c)) => c,
        Ok(Command::Help(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("btcnode {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("btcnode: {e}; see btcnode --help");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    btcnode::logging::init(&cfg.debug_level);
    match btcnode::server::run_until_stopped(*cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            eprintln!("btcnode: {e}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}
