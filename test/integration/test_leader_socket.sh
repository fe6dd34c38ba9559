# A leader group over the control socket: examples/python/leader.py asks
# embedded gdict nodes (libbaton, no batond) who leads. a and b are
# candidates, c a worker: a leads; kill -9 of a: b leads at a higher
# epoch; a restarted takes the lead back (b is deposed); kill -9 of a
# and b: nobody leads, and the worker c never did. Sessions that joined
# the group get elected, surrendered and deposed.
source "$(dirname "$0")/lib.sh"

EX="$BIN/examples"
PY="$(cd "$(dirname "$0")/../../examples/python" && pwd)/leader.py"
cluster 3 # a.ini b.ini c.ini; each embedded node serves control_socket

# run KEY NODE: gdict as NODE, commands from the FIFO $T/KEY.fifo (a
# writer fd kept open here), stdout in $T/KEY.out.
declare -A FD=()
run() {
    local key=$1 node=$2 fd
    rm -f "$T/$key.fifo"
    mkfifo "$T/$key.fifo"
    : > "$T/$key.out"
    "$EX/gdict" -c "$T/$node.ini" --candidates "a@local, b@local" \
        --workers "c@local" < "$T/$key.fifo" > "$T/$key.out" 2>> "$T/$key.log" &
    PIDS[$key]=$!
    exec {fd}> "$T/$key.fifo"
    FD[$key]=$fd
}
kill9() {
    local fd=${FD[$1]}
    kill -KILL "${PIDS[$1]}"
    wait "${PIDS[$1]}" 2>/dev/null || true
    unset "PIDS[$1]"
    exec {fd}>&-
    unset "FD[$1]"
}
# field JSON KEY: a top-level member of a JSON line, as JSON.
field() { python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])[sys.argv[2]]))' "$1" "$2"; }
py() { python3 "$PY" "$T/$1.sock" gdict "${@:2}"; }

for n in a b c; do run g$n $n; done
# A session on each member joins the group and writes its events in
# $T/wN.out (--join: one JSON line each).
for n in a b c; do
    until [ -S "$T/$n.sock" ]; do sleep 0.02; done
    python3 "$PY" "$T/$n.sock" gdict --join > "$T/w$n.out" 2>> "$T/w$n.log" &
    PIDS[w$n]=$!
done
has() { grep -q -- "$2" "$T/$1.out"; }

# Election: every member names a, at one epoch; only a leads.
A=$(py a --newer-than 0) || fail "a: no leader"
[ "$(field "$A" leader)" = '"a@local"' ] || fail "a says: $A"
[ "$(field "$A" leading)" = true ] || fail "a does not know it leads: $A"
[ "$(field "$A" candidates)" = '["a@local", "b@local"]' ] || fail "candidates: $A"
[ "$(field "$A" workers)" = '["c@local"]' ] || fail "workers: $A"
E1=$(field "$A" epoch | tr -d '"')
for n in b c; do
    X=$(py $n --newer-than 0) || fail "$n: no leader"
    [ "$(field "$X" leader)" = '"a@local"' ] || fail "$n says: $X"
    [ "$(field "$X" epoch)" = "\"$E1\"" ] || fail "$n: another epoch than a's $E1: $X"
    [ "$(field "$X" leading)" = false ] || fail "$n leads too: $X"
done
ctl c leader gdict | grep -q "^leader: *a@local$" || fail "batonctl leader: $(ctl c leader gdict 2>&1)"
ctl c leader nosuch > /dev/null 2>&1 && fail "batonctl leader of an unknown group succeeded"
pass "election: a leads at epoch $E1 on a, b and c; batonctl leader says so"

# kill -9 a: b leads at a higher epoch, as b and c say.
kill9 ga
B=$(py b --newer-than "$E1") || fail "b: no leader above epoch $E1"
[ "$(field "$B" leader)" = '"b@local"' ] || fail "b says: $B"
[ "$(field "$B" leading)" = true ] || fail "b does not know it leads: $B"
E2=$(field "$B" epoch | tr -d '"')
C=$(py c --newer-than "$E1") || fail "c: no leader above epoch $E1"
[ "$(field "$C" leader)" = '"b@local"' ] || fail "c says: $C"
[ "$(field "$C" epoch)" = "\"$E2\"" ] || fail "c: another epoch than b's $E2: $C"
wait_for 10 has wb "\"event\":\"elected\",\"group\":\"gdict\",\"leader\":\"b@local\",\"epoch\":\"$E2\"" ||
    fail "b's session did not get elected at $E2: $(cat "$T/wb.out")"
wait_for 10 has wc "\"event\":\"surrendered\",\"group\":\"gdict\",\"leader\":\"b@local\",\"epoch\":\"$E2\"" ||
    fail "c's session did not get surrendered to b at $E2: $(cat "$T/wc.out")"
pass "kill -9 of a: b leads at epoch $E2 > $E1; the joined sessions of b and c got elected and surrendered"

# a comes back: it takes the lead over from b (it is first in the
# list); b's session gets deposed.
run ga2 a
A=$(py a --newer-than "$E2") || fail "a: no leader above epoch $E2"
[ "$(field "$A" leader)" = '"a@local"' ] || fail "restarted a says: $A"
wait_for 10 has wb '"event":"deposed","group":"gdict"' ||
    fail "b's session did not get deposed: $(cat "$T/wb.out")"
pass "a restarted leads again at $(field "$A" epoch); b's session got deposed"

# kill -9 a and b: the worker c is the last member and never leads.
kill9 ga2
kill9 gb
C=$(py c --none) || fail "c still sees a leader"
[ "$(field "$C" leading)" = false ] || fail "the worker c leads: $C"
[ "$(field "$C" alive)" = '["c@local"]' ] || fail "c's alive list: $C"
grep -q "^elected" "$T/gc.out" && fail "the worker c was elected: $(cat "$T/gc.out")"
grep -q '"event":"elected"' "$T/wc.out" && fail "c's session got elected: $(cat "$T/wc.out")"
pass "kill -9 of a and b: nobody leads; the worker c was never elected"
