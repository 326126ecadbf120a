#!/usr/bin/env bash
# Starts one btcnode in the background with sane local defaults, logging to a file and writing
# a pid file. The defaults keep it on loopback regtest (no DNS seeds, listening on 127.0.0.1
# only); every flag given here is passed on and may override them (see btcnode --help).
#
# Usage: scripts/run-node.sh [btcnode flags...]
#   env BTCNODE_DATADIR (default ~/.btcnode), BTCNODE_BIN (default target/release/btcnode)
# Stop it with: kill "$(cat "$BTCNODE_DATADIR/btcnode.pid")"   (SIGTERM: orderly stop)
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${BTCNODE_BIN:-target/release/btcnode}
datadir=${BTCNODE_DATADIR:-$HOME/.btcnode}
[ -x "$bin" ] || cargo build --release --bin btcnode
mkdir -p "$datadir"
log=$datadir/btcnode.log
pidfile=$datadir/btcnode.pid

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "run-node.sh: btcnode already running with pid $(cat "$pidfile")" >&2
    exit 1
fi

# Defaults, each dropped when the caller gives its own: regtest, loopback listener.
net=(--regtest)
listen=(--listen=127.0.0.1)
for a in "$@"; do
    case "$a" in
        --testnet|--testnet4|--signet|--regtest|--simnet) net=() ;;
        --listen*|--nolisten|--connect*) listen=() ;;
    esac
done

# A small watcher subshell starts the node, writes its pid file and removes that file once the
# node has stopped (by kill, by `ctl stop` or by itself), so a pid file always names a live node.
rm -f "$pidfile"
(
    "$bin" --datadir="$datadir" "${net[@]}" --nodnsseed "${listen[@]}" "$@" >>"$log" 2>&1 &
    node=$!
    echo "$node" >"$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"
    wait "$node" || true
    rm -f "$pidfile"
) </dev/null >/dev/null 2>&1 &
for _ in $(seq 50); do
    [ -s "$pidfile" ] && break
    sleep 0.02
done
pid=$(cat "$pidfile" 2>/dev/null || echo 0)
sleep 0.3
if ! kill -0 "$pid" 2>/dev/null; then
    echo "run-node.sh: btcnode exited at once; last log lines:" >&2
    tail -n 5 "$log" >&2
    exit 1
fi
echo "btcnode running: pid $pid, log $log, pid file $pidfile"
