//! Named threads. Every thread btcnode starts goes through [`spawn_named`], so names are
//! checked against Linux's 15-byte limit in one place and per-peer threads get the small
//! stack set here, and give back the stack pages they no longer use when they end
//! ([`release_unused_stack`]).

use std::io;
use std::thread::{Builder, JoinHandle};

/// Linux keeps 15 bytes of a thread name (16 with the terminating NUL); longer names are cut,
/// which would make a thread dump ambiguous, so they are refused in debug builds.
pub const MAX_THREAD_NAME_LEN: usize = 15;

/// Stack size for per-peer threads (`pN-neg` included). They parse one message at a time
/// from heap buffers and never recurse, so 64 KiB is ample and keeps a thousand peers'
/// threads cheap. One size for all of them matters: glibc keeps the stacks of ended threads
/// and hands them only to new threads of a size they fit, so a distinct handshake size would
/// leave a pile of handshake stacks cached after a burst of connections.
pub const PEER_THREAD_STACK_SIZE: usize = 64 * 1024;

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

/// Spawns a per-peer thread (`pN-neg`, `pN-in`, ...) with [`PEER_THREAD_STACK_SIZE`]. When
/// `f` returns, the thread gives back the stack pages it no longer uses
/// ([`release_unused_stack`]), so the stack glibc caches for the next thread holds only what a
/// parked thread needs, however deep the handshake or the message handlers went.
pub fn spawn_peer_thread<F, T>(name: String, f: F) -> io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_named(name, PEER_THREAD_STACK_SIZE, move || {
        let result = f();
        release_unused_stack();
        result
    })
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

/// Bytes kept below the live frames by [`release_unused_stack`]: room for the `madvise` call
/// it makes (a bare system call stub) and the x86-64 red zone.
const STACK_RELEASE_MARGIN: usize = 512;

/// Gives the calling thread's stack pages below its current frame back to the OS
/// (`madvise(MADV_DONTNEED)`), so they stop counting in the process's resident memory; the
/// next call that goes that deep gets fresh zeroed pages. Everything below the stack pointer
/// is dead by the ABI, so this is sound wherever it is called; it pays off where a thread
/// that went deep (a handshake, a large message handler) is about to park or end: glibc
/// caches an ended thread's stack with every page it touched (all but the deepest) and
/// hands it to the next thread of that size.
///
/// A no-op where the stack's bounds cannot be read (other systems, or an error).
#[inline(never)]
pub fn release_unused_stack() {
    #[cfg(target_os = "linux")]
    {
        let sp = address_below_caller();
        let Some((lo, hi)) = current_stack_bounds() else {
            return;
        };
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(0);
        if page == 0 || !(lo..hi).contains(&sp) {
            return;
        }
        let start = lo.next_multiple_of(page);
        let end = sp.saturating_sub(STACK_RELEASE_MARGIN) / page * page;
        if end > start {
            // SAFETY: [start, end) lies inside this thread's own stack mapping, below every
            // live frame (`sp` was taken in a callee of this function) and the margin for
            // the madvise call, so it holds no live data: it is unused by the ABI and no
            // other thread may point into it.
            // MADV_DONTNEED on private anonymous memory only makes those pages read as
            // zero when touched again.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
            }
        }
    }
}

/// Gives freed heap memory back to the OS (glibc's `malloc_trim(0)`): a peer that left
/// freed its queued replies and buffers, but glibc keeps freed chunks inside its arenas
/// (per-thread arenas especially are only shrunk at their top), so without this the node's
/// RSS stays at its peak after an attack ends: 4.56 GB measured 30 s after the peers had
/// gone. `malloc_trim` walks every arena and returns whole free pages with
/// `MADV_DONTNEED`. It costs time proportional to the heap, so the reaper calls it once it
/// has no more peers in hand, not per message. A no-op outside glibc (musl returns memory
/// by itself).
pub fn release_freed_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only takes glibc's arena locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// An address in a frame of its own, below every frame of its caller.
#[cfg(target_os = "linux")]
#[inline(never)]
fn address_below_caller() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// The calling thread's stack as `(lowest address, one past the highest)`, guard excluded;
/// looked up once per thread (the lookup allocates, and an idle peer's reader asks after each
/// quiet spell).
#[cfg(target_os = "linux")]
fn current_stack_bounds() -> Option<(usize, usize)> {
    thread_local! {
        static BOUNDS: std::cell::Cell<Option<(usize, usize)>> =
            const { std::cell::Cell::new(None) };
    }
    BOUNDS
        .try_with(|b| {
            if b.get().is_none() {
                b.set(lookup_stack_bounds());
            }
            b.get()
        })
        .ok()
        .flatten()
}

/// Asks glibc for the calling thread's stack bounds (see [`current_stack_bounds`]).
#[cfg(target_os = "linux")]
#[inline(never)]
fn lookup_stack_bounds() -> Option<(usize, usize)> {
    // SAFETY: the attribute object is initialised by pthread_getattr_np before it is read and
    // destroyed exactly once; the out-pointers point to live locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        let lo = addr as usize;
        (ok && !addr.is_null()).then_some((lo, lo.saturating_add(size)))
    }
}

/// Number of threads in this process, read from `/proc/self/task` (Linux). Tests use it to
/// check that every thread a component started has ended; `None` where /proc is missing.
pub fn thread_count() -> Option<usize> {
    std::fs::read_dir("/proc/self/task").ok().map(|d| d.count())
}

/// Resident KiB of the memory mapping of this process that holds `addr` (for a thread's
/// stack, pass the address of one of its locals), read from `/proc/self/smaps` (Linux).
/// Tests use it to check that a thread gives back the stack pages it no longer uses;
/// `None` where /proc is missing or no mapping holds `addr`.
pub fn mapping_resident_kib(addr: usize) -> Option<u64> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    let mut inside = false;
    for line in smaps.lines() {
        let range = line
            .split_whitespace()
            .next()
            .and_then(|r| r.split_once('-'));
        if let Some((a, b)) = range
            && let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
        {
            inside = (a..b).contains(&addr);
        } else if inside && let Some(v) = line.strip_prefix("Rss:") {
            return v.trim().trim_end_matches("kB").trim().parse().ok();
        }
    }
    None
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

    /// Fills 40 KiB of stack and returns a checksum of it.
    #[inline(never)]
    fn deep_call() -> u64 {
        let mut buf = [0u8; 40 * 1024];
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
        std::hint::black_box(&mut buf);
        buf.iter().map(|&b| u64::from(b)).sum()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn release_unused_stack_gives_back_deep_pages_and_the_thread_runs_on() {
        let h = spawn_named("stack-test".to_string(), PEER_THREAD_STACK_SIZE, || {
            let here = address_below_caller();
            let first = deep_call();
            let before = mapping_resident_kib(here).unwrap_or(0);
            release_unused_stack();
            let after = mapping_resident_kib(here).unwrap_or(0);
            // The released pages come back, zeroed, when the thread goes deep again.
            (before, after, first, deep_call())
        })
        .expect("spawn");
        let (before, after, first, second) = h.join().expect("join");
        assert_eq!(first, second);
        if before < 40 {
            // Some sandboxes do not count a stack's touched pages in smaps.
            eprintln!("SKIPPED: smaps shows {before} KiB resident after a 40 KiB frame");
            return;
        }
        assert!(
            after + 32 <= before,
            "released {before} -> {after} KiB, expected at least 32 KiB back"
        );
    }

    #[test]
    fn release_unused_stack_is_harmless_on_the_test_thread() {
        release_unused_stack();
        assert_eq!(deep_call(), deep_call());
    }
}
