#!/usr/bin/env bash
# Runs btcnode's whole test suite: installs what the tests need if it is missing (Debian
# packages: real SOCKS5 servers and tor, bzip2 for the block fixtures, iproute2 for network
# namespaces), then checks formatting and lints and runs every test.
#
# Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian package -> a command it provides.
wanted=(microsocks:microsocks dante-server:danted tor:tor bzip2:bzip2 iproute2:ip)
missing=()
for pair in "${wanted[@]}"; do
    pkg=${pair%%:*} cmd=${pair##*:}
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || [ -x "/usr/bin/$cmd" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    # Keep package scripts from starting daemons (tor, danted) on this machine: the tests start
    # their own, on loopback, inside network namespaces where needed.
    policy=/usr/sbin/policy-rc.d
    had_policy=0
    [ -e "$policy" ] && had_policy=1
    if [ "$had_policy" -eq 0 ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
        $sudo chmod +x "$policy"
    fi
    $sudo apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
    [ "$had_policy" -eq 1 ] || $sudo rm -f "$policy"
    # policy-rc.d above kept the packages from starting the system tor and danted; nothing
    # is stopped by name, since a user's own tor may be running.
fi

# python-bitcoinlib (PyPI): an independent wire implementation for the chain interop test
# (tests/interop/getheaders.py); without it that one check is skipped with a message.
if ! python3 -c "import bitcoin.messages" >/dev/null 2>&1; then
    pipi="python3 -m pip install --quiet python-bitcoinlib==0.12.2"
    $pipi 2>/dev/null || $pipi --break-system-packages 2>/dev/null ||
        echo "test.sh: could not install python-bitcoinlib; the interop check will be skipped"
fi

cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings

# Each test that cannot run here (no test data, no tmpfs, no network namespaces) appends one
# line to this file (tests/support.rs `skip`); the harness hides a passing test's stderr, so
# the summary below is where skips show.
skip_log=$(mktemp "${TMPDIR:-/tmp}/btcnode-skips.XXXXXX")
trap 'rm -f "$skip_log"' EXIT
status=0
BTCNODE_SKIP_LOG=$skip_log cargo test --release "$@" || status=$?
if [ -s "$skip_log" ]; then
    echo "test.sh: skipped $(wc -l <"$skip_log") checks: $(sort "$skip_log" | paste -sd ';' - | sed 's/;/; /g')"
    echo "test.sh: the data tests need BTCNODE_TESTDATA (see README, Test data)"
else
    echo "test.sh: nothing skipped"
fi
exit "$status"
