# Quorum-mode benchmarks (issue 13 item 9; docs/benchmarks.md "Quorum
# mode"). Three batond on loopback, each keeping its Raft store (with
# fdatasync) in its state_dir under /tmp; the quorum app runs
# `baton-bench-probe app`, which notes the moment it began to run and on
# which node. Every figure is min / median / max of RUNS runs.
#  1. kill -9 of the owner's batond (its shim takes the app down) -> the
#     app running on another node.
#  2. The owner cut off -> the app running on another node. Loopback
#     only: SIGSTOP of the owner's batond alone, so the owner hears no one
#     and renews nothing, and its shim kills the app at the lease end, as
#     on a partitioned node (test/cluster's quorum-isolate cuts a real
#     network with nftables as root; this bench needs no root).
#  3. A quorum decision's commit latency: 16 quorum apps that may run on
#     a only, whose grants the leader (b or c: they elect it before a
#     starts) proposes one at a time, each once the one before is applied
#     (docs/design/quorum.md §9 step 2). The time between two grants
#     applied on the leader is one decision: the proposal, the leader's
#     and a follower's fdatasync, the round trip, the commit and the
#     apply. 15 per run; p50 and p99 over all of them.
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-10}
PROBE="$(cd "$BIN" && pwd)/baton-bench-probe"
TIMES="$T/app.times" # one line per start: EPOCH_US NODE

# Every run from empty Raft stores: a store left by the run before would
# replay its grants at boot.
fresh_stop() { stop_all; rm -rf "$T"/state-*; }

quorum_app() { # NAME
    printf '[app %s]\nnodes = {a@local b@local c@local}\nmode = quorum\nstart = %s\n' \
        "$1" "$PROBE app $TIMES"
}

# owner_moved SIGNAL: one run; the µs from the signal to the app's first
# moment on another node, into SAMPLE.
owner_moved() {
    local victim t0 first
    rm -f "$TIMES"
    for n in a b c; do start $n; done
    wait_log "$TIMES" "@local" 15 || return 1
    sleep 0.5 # a few renewals: the steady state, not the first lease
    victim=$(awk 'END { sub(/@.*/, "", $2); print $2 }' "$TIMES")
    stamp t0
    kill "-$1" "${PIDS[$victim]}"
    wait_for_other "$victim" || return 1
    first=$(awk -v v="$victim@local" '$2 != v { print $1; exit }' "$TIMES")
    SAMPLE=$((first - t0))
    fresh_stop
}
wait_for_other() {
    local deadline=$((SECONDS + 15))
    until awk -v v="$1@local" '$2 != v { found = 1 } END { exit !found }' "$TIMES" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then
            echo "bench: the quorum app did not start off $1 within 15 s" >&2
            return 1
        fi
        sleep 0.01
    done
}

APPS=$(quorum_app bench)
for sig in KILL STOP; do
    samples=()
    for r in $(seq "$RUNS"); do
        setup_cluster 3 $((32000 + r * 10))
        owner_moved "$sig"
        samples+=("$SAMPLE")
    done
    name=$([ $sig = KILL ] && echo kill9 || echo sigstop)
    result_ms "quorum.${name}_owner_to_app_running" "<= 2000 ms" "${samples[@]}"
done

# 3. Commit latency of a decision: the Raft stores on the disk /tmp is
#    on, then (if there is one) on /dev/shm, where fdatasync costs
#    nothing: what the rest of a decision costs.
APPS=$(for k in $(seq 16); do quorum_app "q$k" | sed 's/^nodes = .*/nodes = a@local/'; done)
SHM=/dev/shm/baton-bench-quorum.$$
wheres=(disk)
[ -d /dev/shm ] && [ -w /dev/shm ] && wheres+=(tmpfs)
for where in "${wheres[@]}"; do
    lat=()
    for r in $(seq "$RUNS"); do
        setup_cluster 3 $((33000 + r * 10))
        if [ "$where" = tmpfs ]; then
            for n in a b c; do mkdir -p "$SHM/state-$n"; ln -s "$SHM/state-$n" "$T/state-$n"; done
        fi
        # b and c elect the leader, then a comes: every grant goes to a,
        # so the leader's loop starts no app between two decisions.
        start b; start c
        for _ in $(seq 1500); do
            grep -q "raft leader term=" "$T/b.log" "$T/c.log" 2>/dev/null && break
            sleep 0.01
        done
        start a
        leader=""
        for _ in $(seq 1500); do
            leader=$(grep -l "raft leader term=" "$T"/[bc].log 2>/dev/null | head -1 || true)
            [ -n "$leader" ] && [ "$(grep -c 'raft grant' "$leader")" -ge 16 ] && break
            sleep 0.01
        done
        [ -n "$leader" ] && [ "$(grep -c 'raft grant' "$leader")" -ge 16 ] ||
            { echo "bench: 16 grants not applied on the leader in 15 s" >&2; exit 1; }
        lat+=($(grep "raft grant" "$leader" | head -16 | while read -r ts _; do date -d "$ts" +%s%6N; done |
            awk 'NR > 1 { print $1 - prev } { prev = $1 }'))
        fresh_stop
        rm -rf "$SHM"
    done
    read -r lo p50 p99 hi < <(printf '%s\n' "${lat[@]}" | sort -n |
        awk '{ a[NR] = $1 } END { i = int(NR * 0.99); if (i < NR * 0.99) i++; print a[1], a[int((NR + 1) / 2)], a[i], a[NR] }')
    fs=$([ "$where" = tmpfs ] && echo tmpfs || df -T "$T" | awk 'NR == 2 { print $2 }')
    echo "quorum: ${#lat[@]} decisions committed (16 grants x $RUNS runs, 3 nodes, stores on $fs)"
    suffix=$([ "$where" = tmpfs ] && echo _tmpfs || true)
    if [ "$where" = disk ]; then
        result quorum.commit_p50_ms "$(ms "$p50")" ms "<= 1 ms (etcd: under 1 ms at light load)" "$(ms "$lo")" "$(ms "$hi")"
        result quorum.commit_p99_ms "$(ms "$p99")" ms "<= 5 ms"
    else
        result "quorum.commit_p50${suffix}_ms" "$(ms "$p50")" ms report "$(ms "$lo")" "$(ms "$hi")"
        result "quorum.commit_p99${suffix}_ms" "$(ms "$p99")" ms report
    fi
done
