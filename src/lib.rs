//! btcnode: a Bitcoin peer-to-peer node built as btcd's networking layer rewritten as a
//! blocking, thread-per-peer program on `std::net`, with no async runtime.
//!
//! # Modules
//!
//! | module | btcd counterpart | what it holds |
//! |---|---|---|
//! | [`wire`] | `wire`, `chaincfg/chainhash` | protocol messages, framing, hashes |
//! | [`peer`] | `peer` | one connection: handshake, send queue, stall and idle detection, ping |
//! | [`socks`] | `go-socks` | the hand-written SOCKS5 client and Tor extensions |
//! | [`connmgr`] | `connmgr` | outbound/inbound connection management, ban score, DNS seeds |
//! | [`addrmgr`] | `addrmgr` | the address book and `peers.json` |
//! | [`chain`] | `blockchain` (headers only) | the validated header chain |
//! | [`netsync`] | `netsync` | headers-first sync: the sync manager and its thread |
//! | [`server`] | `server.go` | the node that ties everything together |
//! | [`rpc`] | `rpcserver.go`, `btcctl` | JSON-RPC control port and the `ctl` client |
//! | [`config`], [`params`], [`logging`] | `config.go`, `chaincfg` | flags, networks, log format |
//! | [`thread`], [`clock`], [`atomic_file`] | | named threads, Unix time, atomic data files |
//!
//! # Layers
//!
//! A module imports only modules on lower layers, never one on its own layer or above, so
//! there are no import circles and each layer can be read and tested without the ones above
//! it. [`LAYERS`] is the map and a unit test holds the code to it.
//!
//! | layer | modules |
//! |---|---|
//! | 0 | `params`, `clock` |
//! | 1 | `wire`, `thread`, `logging`, `atomic_file` |
//! | 2 | `peer`, `socks`, `chain`, `addrmgr`, `config` |
//! | 3 | `connmgr`, `netsync` |
//! | 4 | `rpc` |
//! | 5 | `server` |
//!
//! # Thread map
//!
//! OS threads replace goroutines one-to-one. Every thread is named (Linux keeps 15 bytes, so
//! per-peer threads are named by peer id, never by address), every thread ends, and every
//! thread is joined by its owner.
//!
//! | thread name | btcd counterpart | ends when |
//! |---|---|---|
//! | `btcnode` (main) | btcdMain | after the server has stopped and joined everything |
//! | `server` | server.peerHandler | quit, after all peers are done |
//! | `reaper` | server.peerDoneHandler (one for all peers) | quit, after joining every disconnected peer's threads |
//! | `connmgr` | ConnManager.connHandler | quit |
//! | `listen-N` | ConnManager.listenHandler | stop flag; a self-connect wakes accept() |
//! | `dial-N` | `go cm.Connect(c)` | the dial succeeded or failed (short-lived) |
//! | `seed-N` | `go` lookup in connmgr.SeedFromDNS | after its DNS seed lookup |
//! | `addrmgr` | AddrManager.addressHandler | quit, after the final save |
//! | `sync` | netsync.SyncManager | quit |
//! | `rpc` / `rpc-N` | rpcserver | quit |
//! | `pN-neg` | the negotiation goroutine in Peer.start | handshake done, failed or timed out |
//! | `pN-in` | Peer.inHandler | EOF, read error, idle timeout or disconnect |
//! | `pN-out` | Peer.outHandler | `pN-queue` has ended, after the last batch it handed over |
//! | `pN-queue` | Peer.queueHandler | quit, after closing the outbox (done channels fire) |
//! | `pN-stall` | Peer.stallHandler | quit (in and out update its tracker directly) |
//! | `pN-ping` | Peer.pingHandler | quit |

pub mod addrmgr;
pub mod atomic_file;
pub mod chain;
pub mod clock;
pub mod config;
pub mod connmgr;
pub mod logging;
pub mod netsync;
pub mod params;
pub mod peer;
pub mod rpc;
pub mod server;
pub mod socks;
pub mod thread;
pub mod wire;

/// The layer of every module (see "Layers" above): a module may import only modules whose
/// layer is lower than its own.
pub const LAYERS: &[(&str, u8)] = &[
    ("params", 0),
    ("clock", 0),
    ("wire", 1),
    ("thread", 1),
    ("logging", 1),
    ("atomic_file", 1),
    ("peer", 2),
    ("socks", 2),
    ("chain", 2),
    ("addrmgr", 2),
    ("config", 2),
    ("connmgr", 3),
    ("netsync", 3),
    ("rpc", 4),
    ("server", 5),
];

#[cfg(test)]
mod layer_tests {
    use super::LAYERS;
    use std::path::Path;

    fn layer(module: &str) -> Option<u8> {
        LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
    }

    /// Every `crate::X` named in `text`'s code (comments skipped).
    fn imports(text: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let mut rest = code;
            while let Some(i) = rest.find("crate::") {
                rest = &rest[i + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
                    .collect();
                if !name.is_empty() {
                    out.push((n + 1, name));
                }
            }
        }
        out
    }

    fn visit(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read src") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                visit(&p, files);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }

    #[test]
    fn modules_import_only_lower_layers() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        visit(&src, &mut files);
        let mut wrong = Vec::new();
        for f in files {
            let rel = f.strip_prefix(&src).expect("under src");
            let first = rel.components().next().expect("a component");
            let first = first.as_os_str().to_string_lossy();
            let module = first.trim_end_matches(".rs");
            if module == "lib" || module == "main" {
                continue;
            }
            let Some(own) = layer(module) else {
                wrong.push(format!(
                    "{}: module {module} is not in LAYERS",
                    rel.display()
                ));
                continue;
            };
            let text = std::fs::read_to_string(&f).expect("read source");
            for (line, target) in imports(&text) {
                if target == module {
                    continue;
                }
                match layer(&target) {
                    Some(l) if l < own => {}
                    Some(l) => wrong.push(format!(
                        "{}:{line}: {module} (layer {own}) imports {target} (layer {l})",
                        rel.display()
                    )),
                    None => wrong.push(format!(
                        "{}:{line}: {target} is not in LAYERS",
                        rel.display()
                    )),
                }
            }
        }
        assert!(wrong.is_empty(), "layer map broken:\n{}", wrong.join("\n"));
    }
}
