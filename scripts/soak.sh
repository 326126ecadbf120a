#!/usr/bin/env bash
# Soak run (not in CI): one btcnode on loopback regtest with N honest peers (default 1,000),
# each pinging every 10 s, for M minutes (default 1). Prints every 10 s the node's resident
# memory, kernel threads, CPU use, descriptors, peers and ping p50/p99, then a summary.
# Usage: scripts/soak.sh [N] [MINUTES]
# Connects only to 127.0.0.0/8 (peers come from 127.10.x.1 .. so each has its own /24).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000}"
MINUTES="${2:-1}"

# The node holds ~N+20 descriptors and the driver (the test process) as many again; peer
# threads need 5 per peer in the node and 2 per peer in the driver.
want_fds=$(( 2 * N + 1024 ))
hard_fds=$(ulimit -Hn)
if [[ "$hard_fds" != unlimited && "$hard_fds" -lt "$want_fds" ]]; then
    echo "soak: the hard descriptor limit is $hard_fds, below the $want_fds wanted; raise it (as root: ulimit -Hn $want_fds)" >&2
    exit 1
fi
ulimit -n "$want_fds"
echo "soak: raised the open-file limit (ulimit -n) to $want_fds for the node and the driver"
procs=$(ulimit -u)
if [[ "$procs" != unlimited && "$procs" -lt $(( 8 * N + 1024 )) ]]; then
    ulimit -u $(( 8 * N + 1024 )) 2>/dev/null \
        && echo "soak: raised the process/thread limit (ulimit -u) to $(( 8 * N + 1024 ))" \
        || echo "soak: warning: ulimit -u is $procs, may be too low for $N peers" >&2
fi

SOAK_PEERS="$N" SOAK_MINUTES="$MINUTES" \
    exec cargo test --release --test tests soak::soak -- --ignored --nocapture --test-threads=1
