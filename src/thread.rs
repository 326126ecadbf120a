//! Named threads. Every thread btcnode starts goes through [`spawn_named`], so names are
//! checked against Linux's 15-byte limit in one place and per-peer threads get the small
//! stack set here.

use std::io;
use std::thread::{Builder, JoinHandle};

/// Linux keeps 15 bytes of a thread name (16 with the terminating NUL); longer names are cut,
/// which would make a thread dump ambiguous, so they are refused in debug builds.
pub const MAX_THREAD_NAME_LEN: usize = 15;

/// Stack size for per-peer threads. They parse one message at a time from heap buffers and
/// never recurse, so 64 KiB is ample and keeps a thousand peers' threads cheap.
pub const PEER_THREAD_STACK_SIZE: usize = 64 * 1024;

/// Stack size for a peer's short-lived handshake thread (`pN-neg`). Deliberately not the
/// same as [`PEER_THREAD_STACK_SIZE`]: glibc caches the stacks of ended threads with the pages
/// they touched and hands them to new threads of a size they fit, so a handshake stack
/// reused by a long-lived peer thread would keep its deeper pages resident for the life of
/// that peer. Smaller, it is only ever reused by other handshakes.
pub const PEER_HANDSHAKE_STACK_SIZE: usize = 56 * 1024;

/// Stack size for the node's long-lived service threads (server, connmgr, addrmgr, rpc).
pub const SERVICE_THREAD_STACK_SIZE: usize = 512 * 1024;

/// Spawns a thread named `name` with the given stack size.
///
/// Returns the OS error if the thread cannot be created (for example when the process has
/// hit its thread limit); callers treat that as a failed connection, never as a panic.
pub fn spawn_named<F, T>(name: String, stack_size: usize, f: F) -> io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    debug_assert!(
        name.len() <= MAX_THREAD_NAME_LEN,
        "thread name {name:?} is longer than {MAX_THREAD_NAME_LEN} bytes"
    );
    Builder::new().name(name).stack_size(stack_size).spawn(f)
}

/// Spawns a per-peer thread (`pN-in`, `pN-out`, ...) with [`PEER_THREAD_STACK_SIZE`].
pub fn spawn_peer_thread<F, T>(name: String, f: F) -> io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_named(name, PEER_THREAD_STACK_SIZE, f)
}

/// Spawns a peer's handshake thread (`pN-neg`) with [`PEER_HANDSHAKE_STACK_SIZE`].
pub fn spawn_peer_handshake_thread<F, T>(name: String, f: F) -> io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_named(name, PEER_HANDSHAKE_STACK_SIZE, f)
}

/// Spawns a service thread (`server`, `connmgr`, `listen-N`, ...) with
/// [`SERVICE_THREAD_STACK_SIZE`].
pub fn spawn_service_thread<F, T>(name: String, f: F) -> io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_named(name, SERVICE_THREAD_STACK_SIZE, f)
}

/// Number of threads in this process, read from `/proc/self/task` (Linux). Tests use it to
/// check that every thread a component started has ended; `None` where /proc is missing.
pub fn thread_count() -> Option<usize> {
    std::fs::read_dir("/proc/self/task").ok().map(|d| d.count())
}

/// Number of open file descriptors of this process, read from `/proc/self/fd` (Linux).
pub fn open_fd_count() -> Option<usize> {
    // The read_dir handle itself holds one descriptor while counting.
    std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_thread_has_its_name() {
        let h = spawn_peer_thread("p1-in".to_string(), || {
            std::thread::current().name().map(str::to_owned)
        })
        .expect("spawn");
        assert_eq!(h.join().expect("join").as_deref(), Some("p1-in"));
    }
}
