#!/usr/bin/env bash
# Runs every fuzz target under tests/fuzz in turn for MINUTES each (fractions allowed, e.g.
# 0.5) and prints executions and crashes per target. Not part of CI.
#
# Usage: scripts/fuzz.sh MINUTES [TARGET ...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); runs on stable with `-s none` (no sanitizer;
# Rust's own checks still catch panics, overflows in debug assertions are off in release).
# The corpus grows in tests/fuzz/corpus/TARGET, seeded from tests/fuzz/seeds/TARGET;
# crashing inputs land in tests/fuzz/artifacts/TARGET. Each crash should become a
# regression test in the normal suite. Exit status: 0 when no target crashed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; then
    echo "usage: $0 MINUTES [TARGET ...]   (MINUTES per target)" >&2
    exit 2
fi
minutes=$1
shift
secs=$(awk -v m="$minutes" 'BEGIN { s = int(m * 60); if (s < 1) s = 1; print s }')

fuzz_dir=tests/fuzz
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list --fuzz-dir "$fuzz_dir")
fi

echo "building ${#targets[@]} fuzz targets..." >&2
if ! cargo fuzz build --fuzz-dir "$fuzz_dir" -s none 2>&1 | tail -3 >&2; then
    echo "fuzz build failed" >&2
    exit 1
fi

bin_dir="$fuzz_dir/target/$(rustc -vV | sed -n 's/^host: //p')/release"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
total_crashes=0
results=()
for t in "${targets[@]}"; do
    corpus="$fuzz_dir/corpus/$t"
    artifacts="$fuzz_dir/artifacts/$t"
    mkdir -p "$corpus" "$artifacts"
    seeds=()
    [ -d "$fuzz_dir/seeds/$t" ] && seeds=("$fuzz_dir/seeds/$t")
    before=$(find "$artifacts" -type f | wc -l)
    echo "fuzzing $t for ${secs}s..." >&2
    # The binary directly: `cargo fuzz run` would rebuild first if the tree changed.
    "$bin_dir/$t" "$corpus" "${seeds[@]}" \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" >"$logs/$t.log" 2>&1
    rc=$?
    # libFuzzer's final stats line, else its last "#N DONE"/"#N ..." status line.
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$logs/$t.log" | tail -1)
    if [ -z "$execs" ]; then
        execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$logs/$t.log" | tail -1)
    fi
    after=$(find "$artifacts" -type f | wc -l)
    crashes=$((after - before))
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes=1
    fi
    total_crashes=$((total_crashes + crashes))
    cov=$(grep -o 'cov: [0-9]*' "$logs/$t.log" | tail -1)
    line=$(printf '%-18s %12s execs %3d crashes  %s' "$t" "${execs:-?}" "$crashes" "${cov:-}")
    if [ "$crashes" -gt 0 ]; then
        line="$line  (see $artifacts/; log tail below)"
        echo "----- $t -----"
        tail -30 "$logs/$t.log"
    fi
    results+=("$line")
done

echo
echo "fuzz: ${secs}s per target"
printf '%s\n' "${results[@]}"
[ "$total_crashes" -eq 0 ]
