# gen_leader over the control socket: examples/python/leader.py (standard
# library only) drives embedded gdict nodes (libbaton, no batond). a and
# b are candidates, c a worker. Sessions that joined the group write
# their events (elected, surrendered, deposed, from_leader, down) as
# lines. In order:
# - a leader_call made on c while nobody leads waits, and is answered
#   once a is elected; its broadcast reaches the other members;
# - the other group ops (queries, leader_cast, broadcast, group_call);
# - a frozen (SIGSTOP) then thawed (SIGCONT): b leads meanwhile, and a
#   is deposed before it leads again;
# - kill -9 of the leader's node: b leads at a higher epoch;
# - a restarted takes the lead back (b is deposed; a surrenders once);
# - kill -9 of a and b: nobody leads, and the worker c never did; a
#   leader_call then fails at its timeout with a clear error.
# No timing is asserted: every wait is generous.
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
has() { grep -qs -- "$2" "$T/$1.out"; }
# watch NODE: a session on NODE joins the group; its events in $T/wNODE.out.
watch() {
    until [ -S "$T/$1.sock" ]; do sleep 0.02; done
    python3 "$PY" "$T/$1.sock" gdict --join >> "$T/w$1.out" 2>> "$T/w$1.log" &
    PIDS[w$1]=$!
    wait_for 30 has "w$1" '"ok":true' || fail "$1: join: $(cat "$T/w$1.out")"
}
# events NODE FROM: the events of w$NODE.out from line FROM on.
events() { tail -n +"$2" "$T/w$1.out"; }
lines() { wc -l < "$T/w$1.out"; }

# ---- a leader_call before any leader exists -----------------------------
run gc c
watch c
py c --none > /dev/null || fail "c alone sees a leader"
py c --call "k1 v1" --timeout-ms 120000 > "$T/call.out" 2>> "$T/call.log" &
PIDS[call]=$!
wait_for 30 has call when_called || fail "the leader_call was not taken: $(cat "$T/call.out")"
[ "$(field "$(field "$(head -1 "$T/call.out")" when_called)" leader)" = null ] ||
    fail "a leader existed when the call was taken: $(cat "$T/call.out")"
kill -0 "${PIDS[call]}" 2> /dev/null || fail "the call ended with no leader: $(cat "$T/call.out")"
pass "a leader_call made while nobody leads waits"

run ga a
run gb b
watch a
watch b

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

wait "${PIDS[call]}" || fail "the buffered leader_call failed: $(cat "$T/call.out")"
unset "PIDS[call]"
[ "$(tail -1 "$T/call.out")" = '{"id":2,"ok":true,"data":"ok"}' ] ||
    fail "the buffered leader_call's answer: $(cat "$T/call.out")"
echo "fetch k1" >&"${FD[gc]}"
wait_for 30 has gc "fetch k1: v1" || fail "c's copy: $(cat "$T/gc.out")"
wait_for 30 has wc '"event":"from_leader","group":"gdict","data":"k1 v1"' ||
    fail "c's session got no from_leader: $(cat "$T/wc.out")"
pass "the buffered leader_call was answered by a once elected; its broadcast reached c (from_leader)"

# ---- the other ops --------------------------------------------------------
[ "$(field "$(py c --op alive)" nodes)" = '["a@local", "b@local", "c@local"]' ] || fail "alive: $(py c --op alive)"
[ "$(field "$(py c --op down)" nodes)" = '[]' ] || fail "down: $(py c --op down)"
[ "$(field "$(py b --op candidates)" nodes)" = '["a@local", "b@local"]' ] || fail "candidates op"
[ "$(field "$(py b --op workers)" nodes)" = '["c@local"]' ] || fail "workers op"
X=$(py c --op broadcast --data "x") && fail "c (not the leader) broadcast: $X"
[ "$(field "$X" error)" = '"not_leader"' ] || fail "a broadcast off the leader: $X"
py c --op leader_cast --data "hello" > /dev/null || fail "leader_cast from c"
py a --op broadcast --data "k2 v2" > /dev/null || fail "broadcast from the leader's session"
wait_for 30 has wc '"event":"from_leader","group":"gdict","data":"k2 v2"' ||
    fail "c's session got no from_leader for a's session's broadcast: $(cat "$T/wc.out")"
py c --op group_call --node b@local --data "q" > /dev/null || fail "group_call to b"
pass "alive, down, candidates, workers, leader_cast, broadcast (from the leader only), group_call"
ctl c group gdict | grep -q "^leader: *a@local$" || fail "batonctl group: $(ctl c group gdict 2>&1)"
"$BIN/batonctl" -c "$T/c.ini" watch gdict > "$T/watch.out" 2>> "$T/watch.log" &
PIDS[watch]=$!
wait_for 30 has watch "^joined gdict$" || fail "batonctl watch: $(cat "$T/watch.out" "$T/watch.log")"
[ "$(ctl c leader-call gdict "k4 v4" --timeout 60000)" = ok ] || fail "batonctl leader-call"
wait_for 30 has watch "^from_leader k4 v4$" || fail "batonctl watch saw no from_leader: $(cat "$T/watch.out")"
kill -TERM "${PIDS[watch]}"
wait "${PIDS[watch]}" || fail "batonctl watch did not end cleanly on SIGTERM"
unset "PIDS[watch]"
pass "batonctl group, leader-call, watch"

# ---- a frozen, then thawed: deposed before it leads again ------------------
NA=$(lines a)
kill -STOP "${PIDS[ga]}"
B=$(py b --newer-than "$E1" --wait 60) || fail "b: no leader above $E1 while a is frozen"
[ "$(field "$B" leader)" = '"b@local"' ] || fail "b says: $B"
E2=$(field "$B" epoch | tr -d '"')
X=$(py c --call "k3 v3") || fail "a leader_call while a is frozen: $X"
kill -CONT "${PIDS[ga]}"
wait_for 60 has wa '"event":"deposed"' || fail "a was not deposed: $(cat "$T/wa.out")"
A=$(py a --newer-than "$E2" --wait 60) || fail "no leader above $E2 after a thawed"
[ "$(field "$A" leader)" = '"a@local"' ] || fail "after the thaw: $A"
E3=$(field "$A" epoch | tr -d '"')
wait_for 30 has wa "\"event\":\"elected\",\"group\":\"gdict\",\"leader\":\"a@local\",\"epoch\":\"$E3\"" ||
    fail "a's session got no elected at $E3: $(events a "$NA")"
# After the thaw a's first event is deposed (of E1's leadership), then
# elected at E3 > E2: nothing as leader in between.
FIRST=$(events a $((NA + 1)) | grep -m1 -E '"event":"(elected|deposed)"')
[ "$(field "$FIRST" event)" = '"deposed"' ] || fail "a's first event after the thaw: $(events a "$NA")"
[ "$(field "$FIRST" epoch)" = "\"$E1\"" ] || fail "a deposed of another epoch than $E1: $FIRST"
pass "a frozen: b led at $E2; a thawed was deposed (epoch $E1) before it led again at $E3"
# b surrendered to a's new leadership exactly once.
wait_for 30 has wb "\"event\":\"surrendered\",\"group\":\"gdict\",\"leader\":\"a@local\",\"epoch\":\"$E3\"" ||
    fail "b did not surrender to a at $E3: $(cat "$T/wb.out")"
sleep 1
[ "$(grep -c "\"event\":\"surrendered\",\"group\":\"gdict\",\"leader\":\"a@local\",\"epoch\":\"$E3\"" "$T/wc.out")" = 1 ] ||
    fail "c surrendered to a at $E3 not exactly once: $(cat "$T/wc.out")"

# ---- kill -9 of the leader's node ---------------------------------------------
kill9 ga
unset "PIDS[wa]"
B=$(py b --newer-than "$E3") || fail "b: no leader above epoch $E3"
[ "$(field "$B" leader)" = '"b@local"' ] || fail "b says: $B"
[ "$(field "$B" leading)" = true ] || fail "b does not know it leads: $B"
E4=$(field "$B" epoch | tr -d '"')
C=$(py c --newer-than "$E3") || fail "c: no leader above epoch $E3"
[ "$(field "$C" leader)" = '"b@local"' ] || fail "c says: $C"
[ "$(field "$C" epoch)" = "\"$E4\"" ] || fail "c: another epoch than b's $E4: $C"
wait_for 10 has wb "\"event\":\"elected\",\"group\":\"gdict\",\"leader\":\"b@local\",\"epoch\":\"$E4\"" ||
    fail "b's session did not get elected at $E4: $(cat "$T/wb.out")"
wait_for 10 has wc "\"event\":\"surrendered\",\"group\":\"gdict\",\"leader\":\"b@local\",\"epoch\":\"$E4\"" ||
    fail "c's session did not get surrendered to b at $E4: $(cat "$T/wc.out")"
wait_for 10 has wc '"event":"down","group":"gdict","node":"a@local"' ||
    fail "c's session did not get down a: $(cat "$T/wc.out")"
pass "kill -9 of a: b leads at epoch $E4 > $E3; b's session got elected, c's surrendered and down"

# ---- a comes back: it takes the lead over from b (it is first in the list);
# b's session gets deposed, and a surrenders to b once before it leads.
run ga2 a
A=$(py a --newer-than "$E4") || fail "a: no leader above epoch $E4"
[ "$(field "$A" leader)" = '"a@local"' ] || fail "restarted a says: $A"
wait_for 10 has wb '"event":"deposed","group":"gdict","leader":"a@local"' ||
    fail "b's session did not get deposed: $(cat "$T/wb.out")"
wait_for 10 has ga2 "^elected" || fail "restarted a: $(cat "$T/ga2.out")"
[ "$(grep -c "^surrendered to b@local" "$T/ga2.out")" -le 1 ] ||
    fail "restarted a surrendered to b more than once: $(cat "$T/ga2.out")"
pass "a restarted leads again at $(field "$A" epoch); b's session got deposed"

# ---- kill -9 a and b: the worker c is the last member and never leads.
kill9 ga2
kill9 gb
unset "PIDS[wb]"
C=$(py c --none) || fail "c still sees a leader"
[ "$(field "$C" leading)" = false ] || fail "the worker c leads: $C"
[ "$(field "$C" alive)" = '["c@local"]' ] || fail "c's alive list: $C"
grep -q "^elected" "$T/gc.out" && fail "the worker c was elected: $(cat "$T/gc.out")"
grep -q '"event":"elected"' "$T/wc.out" && fail "c's session got elected: $(cat "$T/wc.out")"
pass "kill -9 of a and b: nobody leads; the worker c was never elected"

# With no candidate alive a leader_call waits for its whole timeout, then
# fails with a clear error.
X=$(py c --call "k9 v9" --timeout-ms 300) && fail "a leader_call with no candidate alive: $X"
X=$(tail -1 <<< "$X")
[ "$(field "$X" error)" = '"timeout"' ] || fail "leader_call with nobody to lead: $X"
field "$X" message | grep -q "leader_call: no answer within 300 ms" || fail "its message: $X"
X=$(ctl c leader-call gdict "k9 v9" --timeout 300 2>&1) && fail "batonctl leader-call with no leader: $X"
grep -q "(timeout)$" <<< "$X" || fail "batonctl leader-call with no leader: $X"
pass "a leader_call with no candidate alive fails at its timeout: $X"
