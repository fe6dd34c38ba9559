# Helpers for benchmarks: nodes on loopback, log timestamps, results.
set -euo pipefail
BIN=${BIN:-build}
OUT=${OUT:-build/bench}
mkdir -p "$OUT"
[ -x "$BIN/baton-bench-probe" ] ||
    { echo "bench: $BIN/baton-bench-probe missing (build first)" >&2; exit 1; }
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

# stamp VAR: the epoch µs now, into VAR, without a fork: the kill
# figures are a millisecond or two, as much as forking `date` costs.
stamp() { printf -v "$1" '%s' "${EPOCHREALTIME//[!0-9]/}"; }

# log_us FILE PATTERN: epoch µs of the first log line matching PATTERN.
log_us() {
    local line
    line=$(grep -m1 -- "$2" "$1" || true)
    [ -n "$line" ] || { echo ""; return; }
    date -d "${line%% *}" +%s%6N
}

# free_base BASE N: BASE, or the first BASE + k*100 whose N ports on
# 127.0.0.1 are all free, on stdout. A port already taken is said, never
# a silent stop (docs/benchmarks.md).
free_base() {
    local base=$1 taken
    for _ in $(seq 50); do
        taken=$("$BIN/baton-bench-probe" ports "$base" "$2") && {
            echo "$base"
            return
        }
        echo "bench: port $taken is taken: trying ports from $((base + 100))" >&2
        base=$((base + 100))
    done
    echo "bench: no $2 free ports found from $1" >&2
    return 1
}

setup_cluster() { # N BASE_PORT
    local n=$1 base names=(a b c d e)
    base=$(free_base "$2" "$n")
    NODES=("${names[@]:0:$n}")
    printf '%s\n' "$(head -c 24 /dev/urandom | base64)" > "$T/cookie"
    chmod 600 "$T/cookie"
    for i in "${!NODES[@]}"; do
        {
            echo "[node]"; echo "name = ${NODES[$i]}@local"
            echo "cookie_file = cookie"; echo "control_socket = $T/${NODES[$i]}.sock"
            echo "state_dir = state-${NODES[$i]}" # in $T, removed with it
            echo "[nodes]"
            for j in "${!NODES[@]}"; do echo "${NODES[$j]}@local = 127.0.0.1:$((base + j))"; done
            printf '%s\n' "${APPS:-}"
        } > "$T/${NODES[$i]}.ini"
    done
}
# Started disowned: bash would otherwise report every kill -9 as "Killed".
# WRAP (words, e.g. valgrind and its options) goes before batond.
start() {
    ${WRAP:-} "$BIN/batond" -c "$T/$1.ini" 2> "$T/$1.log" &
    PIDS[$1]=$!
    disown
}
gone() { while kill -0 "$1" 2>/dev/null; do sleep 0.01; done; }
stop_all() {
    for n in "${!PIDS[@]}"; do kill -KILL "${PIDS[$n]}" 2>/dev/null || true; done
    for n in "${!PIDS[@]}"; do gone "${PIDS[$n]}"; done
    PIDS=()
    rm -f "$T"/*.log "$T"/*.sock
}
# wait_log FILE PATTERN SECONDS: fails, saying so with the log's end,
# if the line does not come in time.
wait_log() {
    local deadline=$((SECONDS + $3))
    until grep -q -- "$2" "$1" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then
            echo "bench: no \"$2\" in $(basename "$1") within $3 s; its end:" >&2
            tail -5 "$1" >&2 2>/dev/null || true
            return 1
        fi
        sleep 0.01
    done
}

# spread: "min median max" of the numbers on stdin.
spread() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "nan nan nan"; else print a[1], (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2), a[NR]}'; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# result NAME VALUE UNIT TARGET [MIN MAX]: prints "name: value unit" and
# records it; VALUE is a median, with the runs' MIN and MAX if given.
result() {
    if [ $# -ge 6 ]; then
        printf '%s: %s %s (min %s, max %s; target %s)\n' "$1" "$2" "$3" "$5" "$6" "$4"
        printf '{"name": "%s", "value": %s, "min": %s, "max": %s, "unit": "%s", "target": "%s"}\n' \
            "$1" "$2" "$5" "$6" "$3" "$4" >> "$OUT/results.jsonl"
        return
    fi
    printf '%s: %s %s (target %s)\n' "$1" "$2" "$3" "$4"
    printf '{"name": "%s", "value": %s, "unit": "%s", "target": "%s"}\n' \
        "$1" "$2" "$3" "$4" >> "$OUT/results.jsonl"
}

# result_ms NAME TARGET SAMPLES_US...: the median of samples in µs as ms,
# with their min and max.
result_ms() {
    local name=$1 target=$2 lo mid hi
    shift 2
    read -r lo mid hi < <(printf '%s\n' "$@" | spread)
    result "$name" "$(ms "$mid")" ms "$target" "$(ms "$lo")" "$(ms "$hi")"
}
ms() { awk -v v="$1" 'BEGIN{printf "%.2f", v/1000}'; }
# result_runs NAME UNIT TARGET SAMPLES...: the median of one figure's
# runs, with their min and max.
result_runs() {
    local name=$1 unit=$2 target=$3 lo mid hi
    shift 3
    read -r lo mid hi < <(printf '%s\n' "$@" | spread)
    result "$name" "$mid" "$unit" "$target" "$lo" "$hi"
}
