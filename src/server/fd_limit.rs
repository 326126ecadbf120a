//! File descriptors: raise `RLIMIT_NOFILE` to its hard limit at start and fit `--maxpeers`
//! into what it allows, keeping a reserve for everything that is not a peer socket. Runs
//! once on the main thread from `Server::start`.
//!
//! btcd does neither (it relies on the Go runtime raising the soft limit and never checks
//! the peer count against it). Bitcoin Core's `AppInitParameterInteraction` raises the
//! limit (`RaiseFileDescriptorLimit`) and lowers `-maxconnections` to fit, keeping
//! `MIN_CORE_FILEDESCRIPTORS` (150) for itself.

/// Descriptors kept for everything but peer sockets: listeners, the RPC listener and its
/// workers' connections, data files (`headers.dat`, `peers.json`, `banlist.json`, atomic
/// writes), the log, /proc reads for the dump, sockets being accepted or dialed. Core's
/// `MIN_CORE_FILEDESCRIPTORS` is 150; ours needs fewer (no block files, no database) but
/// the same figure leaves the RPC a reserve no peer flood can take.
pub const FD_RESERVE: u64 = 150;

/// The most `--maxpeers` that fits `fd_limit` descriptors when each peer holds one socket,
/// the connection manager accepts `headroom` sockets beyond max peers (newcomers asking for
/// an eviction, evicted peers not yet reaped) and [`FD_RESERVE`] stay free.
pub fn fit_max_peers(max_peers: usize, headroom: usize, fd_limit: u64) -> usize {
    let room = fd_limit.saturating_sub(FD_RESERVE + headroom as u64);
    max_peers.min(usize::try_from(room).unwrap_or(usize::MAX))
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the new soft limit.
/// The `libc` crate is the only way to call `getrlimit`/`setrlimit` from std.
pub fn raise_nofile_limit() -> std::io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit; setrlimit only reads it.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        } else {
            log::warn!(
                "cannot raise the open-file limit from {} to {}: {}",
                lim.rlim_cur,
                lim.rlim_max,
                std::io::Error::last_os_error()
            );
        }
    }
    Ok(lim.rlim_cur)
}

/// Raises the limit and lowers `max_peers` to fit it, warning once if it had to.
pub fn apply(max_peers: usize, headroom: usize) -> usize {
    let limit = match raise_nofile_limit() {
        Ok(l) => l,
        Err(e) => {
            log::warn!("cannot read the open-file limit: {e}");
            return max_peers;
        }
    };
    let fitted = fit_max_peers(max_peers, headroom, limit);
    if fitted < max_peers {
        log::warn!(
            "--maxpeers={max_peers} does not fit the open-file limit of {limit} (reserving {FD_RESERVE} for the node and {headroom} for evictions): using max peers {fitted}"
        );
    } else {
        log::debug!("open-file limit {limit}, max peers {max_peers}");
    }
    fitted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_peers_fits_the_limit() {
        assert_eq!(fit_max_peers(125, 16, 1024), 125);
        assert_eq!(fit_max_peers(1000, 16, 256), 90);
        assert_eq!(fit_max_peers(1000, 16, 100), 0);
        assert_eq!(fit_max_peers(125, 16, u64::MAX), 125);
    }

    #[test]
    fn raising_the_limit_keeps_it_at_least_as_high() {
        let before = {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: as above.
            assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
            lim.rlim_cur
        };
        assert!(raise_nofile_limit().expect("getrlimit") >= before);
    }
}
