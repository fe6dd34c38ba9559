# App benchmarks (issue: distributed applications). Medians of RUNS.
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-10}
PROBE="$(cd "$BIN" && pwd)/baton-bench-probe"
app_section() { # FAILOVER_TIMEOUT [START]
    APPS="[app bench]
nodes = a@local, {b@local c@local}
failover_timeout = $1
start = ${2:-sleep 600}
stop_timeout = 1000"
}

# 1. Three nodes started together -> app running.
app_section 0
samples=()
for r in $(seq "$RUNS"); do
    setup_cluster 3 $((28000 + r * 10))
    stamp t0
    for n in a b c; do start $n; done
    wait_log "$T/a.log" "app bench: ready" 10
    samples+=($(( $(log_us "$T/a.log" "app bench: ready") - t0 )))
    stop_all
done
result_ms boot_to_app_running "<= 30 ms (Erlang 276 ms)" "${samples[@]}"

# 2./3. kill -9 of the owner's batond -> app started on the standby:
#    batond's "started" line (the shim runs), and the app's own first
#    moment (bench/probe.c app: the shim's fork and the app's exec too).
for timeout in 0 1000; do
    app_section $timeout "$PROBE app $T/app.times"
    samples=() running=()
    for r in $(seq "$RUNS"); do
        setup_cluster 3 $((29000 + r * 10 + timeout / 100))
        rm -f "$T/app.times"
        for n in a b c; do start $n; done
        wait_log "$T/a.log" "app bench: ready" 10
        sleep 0.3
        stamp t0; kill -KILL "${PIDS[a]}"
        wait_log "$T/b.log" "app bench: started" $((5 + timeout / 1000))
        wait_log "$T/app.times" " b@local" 5
        samples+=($(( $(log_us "$T/b.log" "app bench: started") - t0 )))
        running+=($(( $(awk '$2 == "b@local" {print $1; exit}' "$T/app.times") - t0 )))
        stop_all
    done
    target=$([ $timeout = 0 ] && echo "<= 2.2 ms (Erlang 4.44 ms)" || echo "<= 1002 ms")
    result_ms "kill9_to_failover_start_timeout_$timeout" "$target" "${samples[@]}"
    target=$([ $timeout = 0 ] && echo "<= 2.5 ms (Erlang 6.6 ms)" || echo "report")
    result_ms "kill9_to_app_running_timeout_$timeout" "$target" "${running[@]}"
done

# 4. Higher-priority node's batond started -> its takeover instance ready,
#    and the overlap while both instances ran.
app_section 0
samples=()
overlap=()
for r in $(seq "$RUNS"); do
    setup_cluster 3 $((30000 + r * 10))
    for n in b c; do start $n; done
    wait_log "$T/b.log" "app bench: ready" 10
    sleep 0.3
    stamp t0; start a
    wait_log "$T/a.log" "app bench: ready" 10
    wait_log "$T/b.log" "app bench: stopped" 10
    ready=$(log_us "$T/a.log" "app bench: ready")
    samples+=($(( ready - t0 )))
    overlap+=($(( $(log_us "$T/b.log" "app bench: stopped") - ready )))
    stop_all
done
result_ms start_to_takeover_running "<= 25 ms (Erlang 144 ms)" "${samples[@]}"
result_ms takeover_overlap "report (Erlang 2.6 ms)" "${overlap[@]}"
