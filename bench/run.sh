#!/usr/bin/env bash
# Runs every benchmark; prints "name: value unit" lines and writes
# build/bench/results.json (docs/benchmarks.md). A benchmark that fails
# says so, the others still run, and the run exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
export BIN=build OUT=build/bench
mkdir -p "$OUT"
rm -f "$OUT/results.jsonl"
failed=()
# machine.sh first: the floor the other figures stand on. leader.sh is
# libbaton's leader_call between embedded nodes (bench/leader.c).
# callcost.sh: the call's instructions and allocations (callgrind).
for b in bench/machine.sh bench/mesh.sh bench/apps.sh bench/names.sh \
    bench/callcost.sh bench/leader.sh bench/raftlog.sh bench/quorum.sh; do
    rc=0
    bash "$b" || rc=$?
    if [ $rc -ne 0 ]; then
        echo "run.sh: $b failed (exit $rc); going on with the others" >&2
        failed+=("$b")
    fi
done
touch "$OUT/results.jsonl"
{ echo "["; sed '$!s/$/,/' "$OUT/results.jsonl"; echo "]"; } > "$OUT/results.json"
rm -f "$OUT/results.jsonl"
echo "results: $OUT/results.json"
if [ ${#failed[@]} -gt 0 ]; then
    echo "run.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
