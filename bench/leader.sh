# libbaton leader_call benchmarks (docs/benchmarks.md "libbaton"). Three
# embedded nodes on loopback, each a process of build/baton-bench-leader
# (bench/leader.c): a leads the group "bench", b and c are its workers
# and call it. Medians of RUNS; every process is stopped by its PID on
# exit, pass or fail (lib.sh's trap).
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-5}
LB="$BIN/baton-bench-leader"
[ -x "$LB" ] || { echo "leader.sh: $LB missing (build first)" >&2; exit 1; }
PIN=() # a command to run every process under (taskset)

configs() { # BASE_PORT: a.ini, b.ini, c.ini with a shared cookie
    local n m i j base names=(a b c)
    base=$(free_base "$1" 3)
    printf '%s\n' "$(head -c 24 /dev/urandom | base64)" > "$T/cookie"
    chmod 600 "$T/cookie"
    for i in 0 1 2; do
        n=${names[$i]}
        {
            echo "[node]"; echo "name = $n@local"; echo "cookie_file = cookie"
            echo "[nodes]"
            for j in 0 1 2; do
                m=${names[$j]}
                echo "$m@local = 127.0.0.1:$((base + j))"
            done
        } > "$T/$n.ini"
    done
}

# run NODE ARGS...: the node's process in the background; its figures go
# to $T/NODE.out, its log to $T/NODE.log.
run() {
    local n=$1
    shift
    "${PIN[@]}" "$LB" -c "$T/$n.ini" "$@" > "$T/$n.out" 2> "$T/$n.log" &
    PIDS[$n]=$!
}
# reap NODE: waits for a worker to finish its runs; its failure is ours.
reap() {
    local rc=0
    wait "${PIDS[$1]}" || rc=$?
    unset "PIDS[$1]"
    if [ $rc -ne 0 ]; then
        echo "leader.sh: $1 exited with $rc:" >&2
        tail -20 "$T/$1.log" >&2
        exit 1
    fi
}
# halt NODE: SIGTERM (the node leaves the cluster), then waits.
halt() {
    kill -TERM "${PIDS[$1]}" 2>/dev/null || true
    wait "${PIDS[$1]}" 2>/dev/null || true
    unset "PIDS[$1]"
}

boot() { # BASE_PORT: a leads, c idles as a worker
    configs "$1"
    run a --role leader
    wait_log "$T/a.log" "group bench: elected leader" 10 ||
        { echo "leader.sh: a was not elected" >&2; tail "$T/a.log" >&2; exit 1; }
    run c --role worker --mode idle
}

# rtt_runs: RUNS sequential runs on b; sets p50, p99 and c1 (arrays).
rtt_runs() {
    local x y z
    p50=() p99=() c1=()
    run b --role worker --mode rtt --runs "$RUNS" --calls 20000 \
        --warmup 1000 --size 16
    reap b
    while read -r x y z; do p50+=("$x") p99+=("$y") c1+=("$z"); done < "$T/b.out"
    [ ${#p50[@]} -eq "$RUNS" ] || { echo "leader.sh: rtt: ${#p50[@]} runs" >&2; exit 1; }
}

# calls_runs: RUNS runs of 8 callers on b, 1 call in flight each; sets c8.
calls_runs() {
    run b --role worker --mode calls --runs "$RUNS" --callers 8 --ms 2000 \
        --size 16
    reap b
    mapfile -t c8 < "$T/b.out"
    [ ${#c8[@]} -eq "$RUNS" ] || { echo "leader.sh: calls: ${#c8[@]} runs" >&2; exit 1; }
}

# 1.-2. One caller on b, then 8; c is a member that only idles.
boot 32000
rtt_runs
calls_runs
result_runs leader.call_rtt_p50_us us "<= 44.5 (Erlang 89)" "${p50[@]}"
result_runs leader.call_rtt_p99_us us "<= 71.5 (Erlang 143)" "${p99[@]}"
result_runs leader.calls_per_s_1 calls/s ">= 22358 (Erlang 11179)" "${c1[@]}"
result_runs leader.calls_per_s_8 calls/s ">= 133872 (Erlang 66936)" "${c8[@]}"

# 3. 8 callers split over two worker processes, 4 on b and 4 on c, with
#    the same windows (wall-clock slots); a run's figure is their sum.
halt c
period=3000 # 200 ms warm-up + 2,000 ms counted + slack
at=$(($(date +%s%3N) + 1500))
for n in b c; do
    run $n --role worker --mode calls --runs "$RUNS" --callers 4 --ms 2000 \
        --size 16 --at "$at" --period "$period"
done
reap b
reap c
mapfile -t split < <(paste "$T/b.out" "$T/c.out" | awk '{print $1 + $2}')
[ ${#split[@]} -eq "$RUNS" ] || { echo "leader.sh: split: ${#split[@]} runs" >&2; exit 1; }
result_runs leader.calls_per_s_8_two_workers calls/s "report (4 callers on b + 4 on c)" "${split[@]}"
halt a

# 1b.-2b. Again with the three processes on one CPU (as names.sh): every
#    hop is then a same-CPU wake-up (docs/benchmarks.md, "Names").
if command -v taskset > /dev/null && [ "$(nproc)" -gt 1 ]; then
    cpu=$(taskset -pc $$ | sed 's/.*: *//; s/[-,].*//') # the first allowed
    PIN=(taskset -c "$cpu")
    boot 32100
    rtt_runs
    calls_runs
    result_runs leader.call_rtt_p50_us_one_cpu us "report (all on one CPU)" "${p50[@]}"
    result_runs leader.call_rtt_p99_us_one_cpu us "report (all on one CPU)" "${p99[@]}"
    result_runs leader.calls_per_s_1_one_cpu calls/s "report (all on one CPU)" "${c1[@]}"
    result_runs leader.calls_per_s_8_one_cpu calls/s "report (all on one CPU)" "${c8[@]}"
    halt c
    halt a
    PIN=()
fi
