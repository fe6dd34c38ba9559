# Helpers for integration tests: real batond processes on loopback.
# Usage: source lib.sh BIN_DIR PROBE. Every process a test starts is
# killed by PID on exit, pass or fail, and its directory removed.
set -euo pipefail

BIN=$1
PROBE=$2
T=$(mktemp -d /tmp/baton-it.XXXXXX)
# Below Linux's ephemeral range (32768-60999): a dial to a port there that
# nobody listens on yet can connect to itself and hold the port.
BASE=$((20000 + RANDOM % 12000))
declare -A PIDS=()

cleanup() {
    local rc=$?
    for n in "${!PIDS[@]}"; do
        kill -CONT "${PIDS[$n]}" 2>/dev/null || true
        kill -KILL "${PIDS[$n]}" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ $rc -ne 0 ]; then
        echo "--- logs of the failed test ---" >&2
        for f in "$T"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -40 "$f" >&2; }; done
    fi
    rm -rf "$T"
    exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# cookie FILE [TEXT]: a private cookie file.
cookie() {
    printf '%s\n' "${2:-$(head -c 24 /dev/urandom | base64)}" > "$1"
    chmod 600 "$1"
}

# APP_SECTIONS: text appended to every node's config (apps); APP_EXTRA[n]
# appended to node n's only (e.g. a differing definition, sync keys).
APP_SECTIONS=""
declare -A APP_EXTRA=()

# cluster N: configs a..N-th letter, all candidates, one shared cookie.
cluster() {
    local n=$1 i names=(a b c d e f g)
    cookie "$T/cookie"
    NODES=("${names[@]:0:$n}")
    for i in "${!NODES[@]}"; do
        local me=${NODES[$i]}
        {
            echo "[node]"
            echo "name = $me@local"
            echo "cookie_file = ${COOKIE_OVERRIDE[$me]:-cookie}"
            echo "control_socket = $T/$me.sock"
            echo "log_level = debug"
            echo "state_dir = state-$me" # in $T: the test's own, removed with it
            echo "[nodes]"
            for j in "${!NODES[@]}"; do
                echo "${NODES[$j]}@local = 127.0.0.1:$((BASE + j))"
            done
            printf '%s\n' "${APP_EXTRA[$me]:-$APP_SECTIONS}"
        } > "$T/$me.ini"
    done
}

# owner APP NODE: the owner NODE reports for APP ("" if none).
owner() { ctl "$2" --json apps 2>/dev/null | tr '{' '\n' | grep "\"name\":\"$1\"" | sed -n 's/.*"owner":"\([^"]*\)".*/\1/p'; }
# runs_on APP NODE...: every NODE says APP runs on the first one.
runs_on() {
    local app=$1 want=$2 n
    shift
    for n in "$@"; do [ "$(owner "$app" "$n")" = "$want@local" ] || return 1; done
    ctl "$want" --json apps | tr '{' '\n' | grep "\"name\":\"$app\"" | grep -q '"here":"ready"'
}
declare -A COOKIE_OVERRIDE=()

# Quorum apps (test_quorum_*.sh). quorum_db NODES: APP_SECTIONS for the
# quorum app db on NODES ("a@local, b@local"), whose instance runs the
# test's $T/app.sh. here APP NODE: APP's instance on NODE is
# ready. runners APP: the nodes started by this test (and not stopped)
# whose instance of APP is ready. one_runner APP: exactly one; two at
# once fails the test (every wait_for sample checks it).
quorum_db() {
    chmod +x "$T/app.sh"
    APP_SECTIONS="[app db]
nodes = $1
mode = quorum
start = $T/app.sh"
}
here() { ctl "$2" --json apps 2>/dev/null | tr '{' '\n' | grep "\"name\":\"$1\"" | grep -q '"here":"ready"'; }
runners() {
    local n
    for n in "${!PIDS[@]}"; do
        [ -f "$T/$n.ini" ] && here "$1" "$n" && echo "$n"
    done
    return 0
}
one_runner() {
    local r
    r=$(runners "$1" | sort | tr '\n' ' ')
    [ "$(echo "$r" | wc -w)" -le 1 ] || fail "two instances of $1 at once: $r"
    [ "$(echo "$r" | wc -w)" -eq 1 ]
}

start() { "$BIN/batond" -c "$T/$1.ini" 2>> "$T/$1.log" & PIDS[$1]=$!; }
stop9() { kill -KILL "${PIDS[$1]}"; wait "${PIDS[$1]}" 2>/dev/null || true; unset "PIDS[$1]"; }
ctl() { "$BIN/batonctl" -c "$T/$1.ini" "${@:2}"; }

# coord NODE: the coordinator NODE reports ("none" if none or no answer).
coord() { ctl "$1" status 2>/dev/null | awk '/^coordinator:/ {print $2}' || true; }

# agree EXPECTED NODE...: every NODE reports EXPECTED as coordinator.
agree() {
    local want=$1 n
    shift
    for n in "$@"; do [ "$(coord "$n")" = "$want@local" ] || return 1; done
}

# wait_for SECONDS CMD...: polls CMD every 20 ms until it succeeds.
wait_for() {
    local deadline=$((SECONDS + $1)) 
    shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.02
    done
}

now_ms() { date +%s%3N; }
