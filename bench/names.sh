# Global-name benchmarks (issue 5). Three nodes on loopback; the names'
# owner session is on a, the callers' on b. Medians of RUNS; the programs
# are subcommands of build/baton-bench-names (bench/names.c).
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-5}
NB="$BIN/baton-bench-names"
[ -x "$NB" ] || { echo "names.sh: $NB missing (build first)" >&2; exit 1; }

boot() { # BASE_PORT: a, b, c linked, b and c following a
    setup_cluster 3 "$1"
    for n in a b c; do start $n; done
    for n in b c; do
        wait_log "$T/$n.log" "follower of a@local" 10 ||
            { echo "names.sh: $n did not join a" >&2; exit 1; }
    done
}

# 0. The floor: a Unix socket round trip between two processes on the
#    same CPU, and on two CPUs (a wake-up on another CPU costs tens of µs
#    on a VM: every hop of the figures below pays one or the other).
same=() cross=()
for r in $(seq "$RUNS"); do
    out=$("$NB" pingpong 5000 0 0); same+=("${out%% *}")
    if [ "$(nproc)" -gt 1 ]; then
        out=$("$NB" pingpong 5000 0 1); cross+=("${out%% *}")
    fi
done
result_runs names.baseline_unix_rtt_same_cpu_us us "report (p50, 2 processes, no batond)" "${same[@]}"
[ ${#cross[@]} -eq 0 ] ||
    result_runs names.baseline_unix_rtt_two_cpus_us us "report (p50, 2 processes, no batond)" "${cross[@]}"

# 1. Local reads in process: the core's table, and through a node.
find=() node=()
for r in $(seq "$RUNS"); do
    out=$("$NB" local 20000000)
    read -r f n <<< "$out"
    find+=("$f") node+=("$n")
done
result_runs names.whereis_per_s_local lookups/s ">= 20000000 (Erlang 3950000)" "${find[@]}"
result_runs names.whereis_per_s_local_node lookups/s "report (baton_node_whereis)" "${node[@]}"

boot 31000
A=$T/a.sock B=$T/b.sock

# 2. register + unregister pairs through b's socket, one session.
piped=() seq1=()
for r in $(seq "$RUNS"); do
    out=$("$NB" regunreg "$B" 20000 64); piped+=("$out")
    out=$("$NB" regunreg "$B" 3000 1); seq1+=("$out")
done
result_runs names.reg_unreg_pairs_per_s pairs/s ">= 60000 (issue 15; Erlang 1029)" "${piped[@]}"
result_runs names.reg_unreg_pairs_per_s_sequential pairs/s "report (one request at a time)" "${seq1[@]}"

# 3. whereis through b's socket, 64 in flight, for a name held on a.
w=()
for r in $(seq "$RUNS"); do
    out=$("$NB" whereis "$A" "$B" 200000 64); w+=("$out")
done
result_runs names.whereis_per_s_socket whereis/s "report (control socket, 64 in flight)" "${w[@]}"

# 4. Call round trip b -> a -> b, one caller, sequential 16-byte calls;
#    and the CPU time a and b spent per call meanwhile (the kernel's
#    schedstat: ns on a CPU), which the machine's noise hardly moves.
oncpu() { awk '{print $1}' "/proc/$1/schedstat"; }
p50=() p99=() cpua=() cpub=()
for r in $(seq "$RUNS"); do
    a0=$(oncpu "${PIDS[a]}") b0=$(oncpu "${PIDS[b]}")
    out=$("$NB" rtt "$A" "$B" 10000 16)
    a1=$(oncpu "${PIDS[a]}") b1=$(oncpu "${PIDS[b]}")
    read -r x y <<< "$out"
    p50+=("$x") p99+=("$y")
    # 10,200 calls: 200 unmeasured first (bench/names.c rtt).
    cpua+=("$(awk -v d=$((a1 - a0)) 'BEGIN{printf "%.2f", d/10200/1000}')")
    cpub+=("$(awk -v d=$((b1 - b0)) 'BEGIN{printf "%.2f", d/10200/1000}')")
done
result_runs names.call_rtt_p50_us us "<= 20 (Erlang 27 on issue 12's machine)" "${p50[@]}"
result_runs names.call_rtt_p99_us us "<= 80 (Erlang 143)" "${p99[@]}"
result_runs names.call_cpu_us_a us "report (CPU per call in the holder's batond)" "${cpua[@]}"
result_runs names.call_cpu_us_b us "report (CPU per call in the caller's batond)" "${cpub[@]}"

# 5. Calls per second: 8 caller sessions on b, 1 (then 16) in flight each.
c1=() c16=()
for r in $(seq "$RUNS"); do
    out=$("$NB" calls "$A" "$B" 8 1 2000); c1+=("$out")
    out=$("$NB" calls "$A" "$B" 8 16 1500); c16+=("$out")
done
result_runs names.calls_per_s_8 calls/s ">= 120000 (Erlang 41400 on issue 12's machine)" "${c1[@]}"
result_runs names.calls_per_s_8x16 calls/s "report (8 callers x 16 in flight)" "${c16[@]}"

# 4b./5b. The same with the three batond and the client on one CPU: a
#    wake-up on another CPU is what a hop costs most on a VM (see the
#    pingpong figures and docs/benchmarks.md).
if command -v taskset > /dev/null && [ "$(nproc)" -gt 1 ]; then
    cpu=$(taskset -pc $$ | sed 's/.*: *//; s/[-,].*//') # the first allowed
    for n in a b c; do taskset -pc "$cpu" "${PIDS[$n]}" > /dev/null; done
    p50=() p99=() c1=()
    for r in $(seq "$RUNS"); do
        out=$(taskset -c "$cpu" "$NB" rtt "$A" "$B" 10000 16)
        read -r x y <<< "$out"
        p50+=("$x") p99+=("$y")
        out=$(taskset -c "$cpu" "$NB" calls "$A" "$B" 8 1 2000); c1+=("$out")
    done
    result_runs names.call_rtt_p50_us_one_cpu us "report (all on one CPU)" "${p50[@]}"
    result_runs names.call_rtt_p99_us_one_cpu us "report (all on one CPU)" "${p99[@]}"
    result_runs names.calls_per_s_8_one_cpu calls/s "report (all on one CPU)" "${c1[@]}"
fi
stop_all

# 6. kill -9 of a's batond -> whereis on b answers not_found. The program
#    kills a itself (kill(2) by the PID started here) and times it.
k=()
for r in $(seq "$RUNS"); do
    boot $((31100 + r * 10))
    out=$("$NB" kill9 "$T/a.sock" "$T/b.sock" "${PIDS[a]}")
    read -r ms _ <<< "$out"
    k+=("$ms")
    stop_all
done
result_runs names.kill9_whereis_none_ms ms "<= 1.5 (Erlang 2.36)" "${k[@]}"
