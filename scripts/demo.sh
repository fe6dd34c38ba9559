#!/usr/bin/env bash
# make demo: three batond nodes on loopback run the counter app; kill the
# owner (failover), bring it back (takeover with the count handed over),
# clean up. Everything it starts, it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build
T=$(mktemp -d /tmp/baton-demo.XXXXXX)
declare -A PIDS=()
cleanup() {
    for n in "${!PIDS[@]}"; do kill -TERM "${PIDS[$n]}" 2>/dev/null || true; done
    sleep 0.5
    for n in "${!PIDS[@]}"; do kill -KILL "${PIDS[$n]}" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
count() { cat "$T/counter-$1@local/count" 2>/dev/null || echo "?"; }
apps() { "$BIN/batonctl" -c "$T/$1.ini" apps; }
owner() { "$BIN/batonctl" -c "$T/$1.ini" --json apps | sed -n 's/.*"owner":"\([^"]*\)".*/\1/p'; }
wait_owner() { # NODE OWNER
    for _ in $(seq 100); do [ "$(owner "$1")" = "$2@local" ] && return 0; sleep 0.05; done
    echo "demo: $2 never became the owner" >&2; return 1
}
# logline TEXT: the last log line with TEXT, once one is there (the app
# logs it just after batond counts it started, so it may lag by a little).
logline() {
    for _ in $(seq 100); do
        grep -h "$1" "$T"/*.log | tail -1 | grep . && return 0
        sleep 0.05
    done
    echo "demo: no log line \"$1\"" >&2; return 1
}
start() { COUNTER_DIR="$T" "$BIN/batond" -c "$T/$1.ini" 2>> "$T/$1.log" & PIDS[$1]=$!; disown; }

head -c 24 /dev/urandom | base64 > "$T/cookie"
chmod 600 "$T/cookie"
base=$((27000 + RANDOM % 1000))
for n in a b c; do
    cat > "$T/$n.ini" <<INI
[node]
name = $n@local
cookie_file = cookie
control_socket = $T/$n.sock
state_dir = state-$n

[nodes]
a@local = 127.0.0.1:$base
b@local = 127.0.0.1:$((base + 1))
c@local = 127.0.0.1:$((base + 2))

[app counter]
nodes = a@local, {b@local c@local}
failover_timeout = 0
start = $PWD/examples/counter/counter.sh
state_export = $PWD/examples/counter/export.sh
INI
done

say "1. Three nodes start; the counter runs on a, first in its list: a, {b c}"
for n in a b c; do start $n; done
wait_owner b a
apps b
sleep 1.5
echo "count on a: $(count a)"

say "2. kill -9 the owner's batond: the counter fails over (b, c have equal priority; b has the smaller name)"
kill -KILL "${PIDS[a]}"; unset "PIDS[a]"
wait_owner b b
apps b
logline "counter: started on b"
echo "(a kill -9 leaves nothing to hand over: the count starts again)"
sleep 1.5
echo "count on b: $(count b)"

say "3. a comes back: it takes the counter over, with the count handed over"
before=$(count b)
start a
wait_owner b a
sleep 0.3
apps b
logline "counter: started on a"
logline "counter: stopped on b"
echo "b had counted to $before when a took over; a goes on from there: $(count a)"

say "Done: failover in milliseconds, takeover with the state handed over, no orphans. Cleaning up."
