#!/usr/bin/env bash
# Prints a backtrace of every thread of a running btcnode with gdb (batch mode; the process
# continues afterwards). Thread names (pN-in, server, rpc, ...) appear in gdb's thread list.
# Usage: scripts/dump-threads.sh PID
set -euo pipefail
pid=${1:?usage: dump-threads.sh PID}
if ! command -v gdb >/dev/null 2>&1; then
    echo "dump-threads.sh: gdb is not installed (Debian: apt-get install gdb)" >&2
    exit 1
fi
exec gdb -p "$pid" -batch -nx -ex "set pagination off" -ex "info threads" \
    -ex "thread apply all bt" 2>/dev/null
