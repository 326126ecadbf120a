//! The `btcnode` binary: parses the command line and runs the node or one of its tools.
//! Exit codes: 0 ok, 1 runtime error, 2 usage error.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("decode") => exit_code(btcnode::wire::cli::decode_main(&args[1..])),
        Some("encode") => exit_code(btcnode::wire::cli::encode_main(&args[1..])),
        Some("--version") => {
            println!("btcnode {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "btcnode: usage: btcnode [decode|encode|ctl] ... (the node is not built yet)"
            );
            ExitCode::from(2)
        }
    }
}

/// An exit code from a tool's `i32` status (0 to 255; anything else is 1).
fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
