# Helpers for benchmarks: nodes on loopback, log timestamps, results.
set -euo pipefail
BIN=${BIN:-build}
OUT=${OUT:-build/bench}
mkdir -p "$OUT"
T=$(mktemp -d /tmp/baton-bench.XXXXXX)
declare -A PIDS=()
cleanup() {
    for n in "${!PIDS[@]}"; do
        kill -CONT "${PIDS[$n]}" 2>/dev/null || true
        kill -KILL "${PIDS[$n]}" 2>/dev/null || true
    done
    rm -rf "$T"
}
trap cleanup EXIT

now_us() { date +%s%6N; }

# log_us FILE PATTERN: epoch µs of the first log line matching PATTERN.
log_us() {
    local line
    line=$(grep -m1 -- "$2" "$1" || true)
    [ -n "$line" ] || { echo ""; return; }
    date -d "${line%% *}" +%s%6N
}

setup_cluster() { # N BASE_PORT
    local n=$1 base=$2 names=(a b c d e)
    NODES=("${names[@]:0:$n}")
    printf '%s\n' "$(head -c 24 /dev/urandom | base64)" > "$T/cookie"
    chmod 600 "$T/cookie"
    for i in "${!NODES[@]}"; do
        {
            echo "[node]"; echo "name = ${NODES[$i]}@local"
            echo "cookie_file = cookie"; echo "control_socket = $T/${NODES[$i]}.sock"
            echo "[nodes]"
            for j in "${!NODES[@]}"; do echo "${NODES[$j]}@local = 127.0.0.1:$((base + j))"; done
            printf '%s\n' "${APPS:-}"
        } > "$T/${NODES[$i]}.ini"
    done
}
# Started disowned: bash would otherwise report every kill -9 as "Killed".
start() { "$BIN/batond" -c "$T/$1.ini" 2> "$T/$1.log" & PIDS[$1]=$!; disown; }
gone() { while kill -0 "$1" 2>/dev/null; do sleep 0.01; done; }
stop_all() {
    for n in "${!PIDS[@]}"; do kill -KILL "${PIDS[$n]}" 2>/dev/null || true; done
    for n in "${!PIDS[@]}"; do gone "${PIDS[$n]}"; done
    PIDS=()
    rm -f "$T"/*.log "$T"/*.sock
}
wait_log() { # FILE PATTERN SECONDS
    local deadline=$((SECONDS + $3))
    until grep -q -- "$2" "$1" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.01
    done
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# result NAME VALUE UNIT TARGET: prints "name: value unit" and records it.
result() {
    printf '%s: %s %s (target %s)\n' "$1" "$2" "$3" "$4"
    printf '{"name": "%s", "value": %s, "unit": "%s", "target": "%s"}\n' \
        "$1" "$2" "$3" "$4" >> "$OUT/results.jsonl"
}
