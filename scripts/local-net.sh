#!/usr/bin/env bash
# Brings up N btcnode processes on loopback regtest, each listening on its own 127.0.0.1 port
# and connected (--connect, so nothing else is ever dialed) to every node started before it,
# prints each node's peer table through `btcnode ctl`, and stops them all on exit (Ctrl-C).
#
# Usage: scripts/local-net.sh [N]        (default 3 nodes)
#   env BASE_PORT (default 28444: node i listens on BASE_PORT+i, RPC on BASE_PORT+100+i),
#       LOCALNET_DIR (default a fresh temp dir), LOCALNET_SECONDS (exit after printing the
#       tables and waiting this long; default: run until Ctrl-C), BTCNODE_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:-3}
base=${BASE_PORT:-28444}
bin=${BTCNODE_BIN:-target/release/btcnode}
[ -x "$bin" ] || cargo build --release --bin btcnode
dir=${LOCALNET_DIR:-$(mktemp -d -t btcnode-localnet.XXXXXX)}
mkdir -p "$dir"

pids=()
sleeper=""
stop_all() {
    # The background sleep of the wait below is ours too: stop it by pid.
    [ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null || true
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    echo "local-net: stopped ${#pids[@]} nodes (data and logs in $dir)"
}
trap stop_all EXIT
trap 'exit 0' INT TERM

ctl() { # node-index method [args...]
    local i=$1; shift
    "$bin" ctl --regtest --datadir="$dir/node$i" --rpcconnect=127.0.0.1:$((base + 100 + i)) "$@"
}

for ((i = 0; i < n; i++)); do
    connects=()
    for ((j = 0; j < i; j++)); do connects+=(--connect=127.0.0.1:$((base + j))); done
    "$bin" --regtest --nodnsseed --datadir="$dir/node$i" \
        --listen=127.0.0.1:$((base + i)) --rpclisten=127.0.0.1:$((base + 100 + i)) \
        "${connects[@]}" >"$dir/node$i.log" 2>&1 &
    pids+=($!)
    echo "local-net: node$i pid $! p2p 127.0.0.1:$((base + i)) rpc 127.0.0.1:$((base + 100 + i)) log $dir/node$i.log"
done

# Every node should see the other n-1: wait up to 20 s.
for ((t = 0; t < 100; t++)); do
    ok=1
    for ((i = 0; i < n; i++)); do
        c=$(ctl "$i" getconnectioncount 2>/dev/null || echo -1)
        [ "$c" = $((n - 1)) ] || ok=0
    done
    [ "$ok" = 1 ] && break
    sleep 0.2
done

for ((i = 0; i < n; i++)); do
    echo "== node$i: $(ctl "$i" getconnectioncount) peers"
    ctl "$i" getpeerinfo | awk -F'"' '
        /"id":/ { id = $3; gsub(/[ :,]/, "", id) }
        /"addr":/ { addr = $4 }
        /"inbound":/ { dir = ($3 ~ /true/) ? "inbound" : "outbound" }
        /"subver":/ { ua = $4 }
        /"version":/ { v = $3; gsub(/[ :,]/, "", v) }
        /^  }/ { printf "   peer %-3s %-21s %-8s version %s %s\n", id, addr, dir, v, ua }'
done

if [ -n "${LOCALNET_SECONDS:-}" ]; then
    # `sleep & wait`: bash runs the TERM/INT trap as soon as `wait` is interrupted, while a
    # foreground sleep would hold the trap until it ended.
    sleep "$LOCALNET_SECONDS" &
    sleeper=$!
    wait "$sleeper"
else
    echo "local-net: running; Ctrl-C stops every node"
    while :; do
        sleep 3600 &
        sleeper=$!
        wait "$sleeper"
    done
fi
