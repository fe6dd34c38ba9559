#!/usr/bin/env bash
# Runs every benchmark; prints "name: value unit" lines and writes
# build/bench/results.json (docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export BIN=build OUT=build/bench
mkdir -p "$OUT"
rm -f "$OUT/results.jsonl"
for b in bench/mesh.sh bench/apps.sh bench/names.sh; do
    bash "$b"
done
# libbaton: leader_call between embedded nodes (bench/leader.c).
bash bench/leader.sh
{ echo "["; sed '$!s/$/,/' "$OUT/results.jsonl"; echo "]"; } > "$OUT/results.json"
rm -f "$OUT/results.jsonl"
echo "results: $OUT/results.json"
