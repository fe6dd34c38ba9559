# What a name call costs batond in user space, in instructions and heap
# allocations per call (callgrind), figures that do not move with the
# machine's load, unlike the times of names.sh: a cut on the call path
# shows here even on a busy machine (docs/benchmarks.md). Three nodes
# under callgrind, the names' owner session on a and the caller on b,
# as in names.sh; the counters are zeroed after a warm-up and dumped
# after CALLS sequential calls, so start-up is not in them. The kernel's
# share (the socket hops) is not counted: see names.sh for the times.
source "$(dirname "$0")/lib.sh"
CALLS=${CALLS:-2000}
RUNS=${RUNS:-1}
NB="$BIN/baton-bench-names"
for tool in valgrind callgrind_control; do
    command -v "$tool" > /dev/null ||
        { echo "callcost.sh: no $tool (Debian's valgrind): skipped" >&2; exit 0; }
done

# allocs FILE: calls to malloc, calloc and realloc in a callgrind dump
# (names are compressed: "(id) name" the first time, "(id)" after).
allocs() {
    awk '
        /^c?fn=\(/ {
            id = $0; sub(/^c?fn=\(/, "", id); rest = id
            sub(/\).*/, "", id); sub(/^[0-9]+\) ?/, "", rest)
            if (rest != "") name[id] = rest
            if ($0 ~ /^cfn=/) callee = name[id]
            next
        }
        /^calls=/ && (callee == "malloc" || callee == "calloc" ||
                      callee == "realloc") {
            split(substr($0, 7), f, " "); n += f[1]
        }
        END { print n + 0 }' "$1"
}

ir_a=() ir_b=() al_a=() al_b=()
for r in $(seq "$RUNS"); do
    WRAP="valgrind --tool=callgrind --callgrind-out-file=$T/cg.%p"
    setup_cluster 3 $((31400 + r * 10))
    for n in a b c; do start $n; done
    for n in b c; do
        wait_log "$T/$n.log" "follower of a@local" 60 ||
            { echo "callcost.sh: $n did not join a" >&2; exit 1; }
    done
    "$NB" rtt "$T/a.sock" "$T/b.sock" 200 16 > /dev/null
    for n in a b; do callgrind_control -z "${PIDS[$n]}" > /dev/null 2>&1; done
    "$NB" rtt "$T/a.sock" "$T/b.sock" "$CALLS" 16 > /dev/null
    for n in a b; do callgrind_control -d "${PIDS[$n]}" > /dev/null 2>&1; done
    calls=$((CALLS + 200)) # bench/names.c rtt: 200 unmeasured first
    for n in a b; do
        f=$T/cg.${PIDS[$n]}.1
        ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$f")
        ir=$(awk -v i="$ir" -v c=$calls 'BEGIN{printf "%.0f", i/c}')
        al=$(awk -v m="$(allocs "$f")" -v c=$calls 'BEGIN{printf "%.2f", m/c}')
        if [ $n = a ]; then ir_a+=("$ir") al_a+=("$al"); else ir_b+=("$ir") al_b+=("$al"); fi
    done
    WRAP=
    stop_all
done
result_runs names.call_instructions_a instructions "report (user space, holder's batond, per call)" "${ir_a[@]}"
result_runs names.call_instructions_b instructions "report (user space, caller's batond, per call)" "${ir_b[@]}"
result_runs names.call_allocs_a allocations "report (holder's batond, per call)" "${al_a[@]}"
result_runs names.call_allocs_b allocations "report (caller's batond, per call)" "${al_b[@]}"
