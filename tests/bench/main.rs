//! btcnode's benchmarks (not tests): `scripts/bench.sh [SECTION...]` runs them in release
//! mode. Each section prints its figures and the ratios against a baseline measured in the
//! same run.

mod addrmgr;
mod baseline;
mod chain;
mod peer;
mod server;
mod socks;
#[path = "../support.rs"]
mod support;
mod wire;

use std::process::ExitCode;

/// The benchmark sections, by name, in the order `scripts/bench.sh` runs them.
const SECTIONS: &[(&str, fn())] = &[
    ("wire", wire::run),
    ("peer", peer::run),
    ("socks", socks::run),
    ("addrmgr", addrmgr::run),
    ("chain", chain::run),
    ("server", server::run),
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
