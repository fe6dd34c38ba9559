# The durable Raft store (docs/benchmarks.md "raftlog"): one write made
# durable (one record, fdatasync) with 1 and 16 entries of 64 bytes,
# beside the floor, a bare pwrite + fdatasync of the same size, in a
# directory on the disk /tmp is on (bench/raftlog.c). Again on /dev/shm,
# where fdatasync costs nothing: what the store itself costs (encoding,
# hashes, the system calls). Each figure is min / median / max of N
# writes; the rate is N over the sum of the latencies (entries per
# second: x16 for write16).
source "$(dirname "$0")/lib.sh"
RB="$BIN/baton-bench-raftlog"
[ -x "$RB" ] || { echo "raftlog.sh: $RB missing (build first)" >&2; exit 1; }
N=${RAFTLOG_WRITES:-2000}
dirs=("$T/raftlog")
[ -d /dev/shm ] && [ -w /dev/shm ] && dirs+=("/dev/shm/baton-bench-raftlog.$$")
for d in "${dirs[@]}"; do
    suffix=""
    [ "${d#/dev/shm}" != "$d" ] && suffix=_tmpfs
    mkdir -p "$d"
    fs=$(df -T "$d" | awk 'NR == 2 { print $2 }')
    echo "raftlog: $N writes each in $d ($fs)"
    for mode in floor write1 write16; do
        rm -rf "$d"/*
        read -r lo mid hi p99 rate < <("$RB" "$d" "$mode" "$N")
        result "raftlog.${mode}${suffix}_us" "$mid" us "report (p99 $p99)" "$lo" "$hi"
        result "raftlog.${mode}${suffix}_per_s" "$rate" "writes/s" report
    done
    rm -rf "$d"
done
