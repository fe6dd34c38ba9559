# Mesh benchmarks (issue: batond mesh). Medians of repeated runs.
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-15}

# 1. Three nodes started together -> all linked and agreeing.
samples=()
for r in $(seq "$RUNS"); do
    setup_cluster 3 $((24000 + r * 10))
    stamp t0
    for n in a b c; do start $n; done
    for n in b c; do wait_log "$T/$n.log" "follower of a@local" 10; done
    t=$(log_us "$T/a.log" "coordinator epoch")
    for n in b c; do
        u=$(log_us "$T/$n.log" "follower of a@local"); [ "$u" -gt "$t" ] && t=$u
    done
    samples+=($(( t - t0 )))
    stop_all
done
result_ms boot_to_agreement_3_nodes "<= 20 ms" "${samples[@]}"

# 2. kill -9 of a node -> link down seen by a peer.
samples=()
for r in $(seq "$RUNS"); do
    setup_cluster 3 $((25000 + r * 10))
    for n in a b c; do start $n; done
    wait_log "$T/c.log" "follower of a@local" 10
    sleep 0.3
    stamp t0; kill -KILL "${PIDS[a]}"
    wait_log "$T/b.log" "link down with a@local" 5
    samples+=($(( $(log_us "$T/b.log" "link down with a@local") - t0 )))
    stop_all
done
result_ms kill9_to_link_down "<= 1 ms (Erlang 2.5 ms)" "${samples[@]}"

# 3. SIGSTOP of a node -> declared down, default settings (250 ms x 4).
samples=()
for r in $(seq "$RUNS"); do
    setup_cluster 3 $((26000 + r * 10))
    for n in a b c; do start $n; done
    wait_log "$T/c.log" "follower of a@local" 10
    sleep 0.$((RANDOM % 250 + 100))
    stamp t0; kill -STOP "${PIDS[a]}"
    wait_log "$T/b.log" "peer-down a@local (silent" 5
    samples+=($(( $(log_us "$T/b.log" "peer-down a@local (silent") - t0 )))
    kill -CONT "${PIDS[a]}"
    stop_all
done
result_ms sigstop_to_declared_down "<= 1100 ms (Erlang default 68.7 s)" "${samples[@]}"

# 4. Idle resident memory of one batond in a linked 3-node cluster.
setup_cluster 3 27000
for n in a b c; do start $n; done
wait_log "$T/c.log" "follower of a@local" 10
sleep 3
rss=$(awk '/VmRSS/ {print $2}' "/proc/${PIDS[a]}/status")
result idle_rss "$(awk -v v="$rss" 'BEGIN{printf "%.2f", v/1024}')" MiB "<= 4 MiB (Erlang node 40 MiB)"
stop_all
