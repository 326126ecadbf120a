#!/usr/bin/env bash
# Lists a btcnode process's threads by name from /proc, grouped per peer (pN-neg, pN-in,
# pN-out, pN-queue, pN-stall, pN-ping), with the service threads on one line.
# Usage: scripts/threads.sh PID
set -euo pipefail
pid=${1:?usage: threads.sh PID}
[ -d "/proc/$pid/task" ] || { echo "threads.sh: no process $pid" >&2; exit 1; }
lines=$(for t in /proc/"$pid"/task/*; do
    # A thread may end while we read; skip it.
    name=$(cat "$t/comm" 2>/dev/null) || continue
    tid=${t##*/}
    if [[ $name =~ ^p([0-9]+)- ]]; then
        echo "${BASH_REMATCH[1]} $name($tid)"
    else
        echo "-1 $name($tid)"
    fi
done | sort -n -k1,1 -k2,2)
echo "$(printf '%s\n' "$lines" | grep -c .) threads"
printf '%s\n' "$lines" | awk '
    $1 != cur { if (NR > 1) printf "\n"; cur = $1
                if ($1 == -1) printf "service:"; else printf "peer %s:", $1 }
    { printf " %s", $2 }
    END { printf "\n" }'
