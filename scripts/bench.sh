#!/usr/bin/env bash
# Runs btcnode's benchmarks in release mode and prints figures with ratios against baselines
# measured in the same run. Usage: scripts/bench.sh [wire|peer|addrmgr|chain ...]
set -euo pipefail
cd "$(dirname "$0")/.."
# The peer section holds 1,000 idle connections (2,000 descriptors across two processes):
# raise the soft open-file limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec cargo bench --bench bench -- "$@"
