//! btcnode's benchmarks (not tests): `scripts/bench.sh [SECTION...]` runs them in release
//! mode. Each section prints its figures and the ratios against a baseline measured in the
//! same run.

mod chain;

use std::process::ExitCode;

mod addrmgr;
mod peer;
mod server;
mod socks;
mod wire;

/// The benchmark sections, by name.
const SECTIONS: &[(&str, fn())] = &[
    ("addrmgr", addrmgr::run),
    ("chain", chain::run),
    ("peer", peer::run),
    ("server", server::run),
    ("socks", socks::run),
    ("wire", wire::run),
    ("chain", chain::run),
];

fn main() -> ExitCode {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut ran = 0;
    for (name, run) in SECTIONS {
        if wanted.is_empty() || wanted.iter().any(|w| w == name) {
            println!("== {name}");
            run();
            ran += 1;
        }
    }
    if ran == 0 {
        let names: Vec<&str> = SECTIONS.iter().map(|(n, _)| *n).collect();
        eprintln!("bench: no section matched; sections: {}", names.join(" "));
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
