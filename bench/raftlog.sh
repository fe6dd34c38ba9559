# The durable Raft store (docs/benchmarks.md "raftlog"): one write made
# durable (one record, fdatasync) with 1 and 16 entries of 64 bytes,
# beside the floor, a bare pwrite + fdatasync of the same size, in a
# directory on the disk /tmp is on (bench/raftlog.c). Each figure is
# min / median / max of N writes; the rate is writes per second of the
# run (entries per second: x16 for write16).
source "$(dirname "$0")/lib.sh"
RB="$BIN/baton-bench-raftlog"
[ -x "$RB" ] || { echo "raftlog.sh: $RB missing (build first)" >&2; exit 1; }
N=${RAFTLOG_WRITES:-2000}
fs=$(df -T "$T" | awk 'NR == 2 { print $2 }')
echo "raftlog: $N writes each in $T ($fs)"
for mode in floor write1 write16; do
    rm -rf "$T/raftlog"
    mkdir -p "$T/raftlog"
    read -r lo mid hi p99 rate < <("$RB" "$T/raftlog" "$mode" "$N")
    result "raftlog.${mode}_us" "$mid" us "report (p99 $p99)" "$lo" "$hi"
    result "raftlog.${mode}_per_s" "$rate" "writes/s" report
done
rm -rf "$T/raftlog"
