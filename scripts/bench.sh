#!/usr/bin/env bash
# Runs btcnode's benchmarks in release mode and prints figures with ratios against baselines
# measured in the same run. Usage: scripts/bench.sh [wire|peer|addrmgr|chain ...]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench bench -- "$@"
