# Seed 000 on batond (issue 12 item 2): a counter serving the global name
# `pomonitor` (test/integration/pomonitor_app.py), its count handed over by
# state_export, taken over back and forth between a and b while 8 callers
# on c call it. A takeover must move the name first (calls queue at the
# new node), export only after the old instance stopped serving, start the
# new one with that state, then release the queued calls: every answer is
# then a distinct count, and the last count equals the number of answers.
# Run twice: with the name from batond (`name = pomonitor`, the app
# serves it) and with the app re-registering the name itself.
source "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
command -v python3 > /dev/null || fail "python3 is missing: run scripts/setup.sh"

# count_above NODE N: NODE's instance has answered calls beyond count N.
count_of() { cat "$T/$1@local.count" 2> /dev/null || echo 0; }
count_above() { [ "$(count_of "$1")" -gt "$2" ]; }

# moves N: takes pomonitor over N times (a ⇄ b); after each, the new
# instance answers calls before the next move.
moves() {
    local i to from
    for i in $(seq "$1"); do
        if [ $((i % 2)) = 1 ]; then
            to=b from=a
            ctl a permit pomonitor false > /dev/null || fail "permit false on a"
        else
            to=a from=b
            ctl a permit pomonitor true > /dev/null || fail "permit true on a"
        fi
        wait_for 15 runs_on pomonitor $to a b c || fail "move $i: pomonitor did not move to $to"
        wait_for 10 count_above $to $(($(count_of $from) + 50)) || fail "move $i: no calls answered on $to"
    done
}

run_variant() {
    local mode=$1 section
    section="[app pomonitor]
nodes = a@local, b@local
failover_timeout = 0
start = python3 $HERE/pomonitor_app.py $mode $T
state_export = sh -c 'cat $T/\$BATON_NODE.count'"
    [ "$mode" = serve ] && section="$section
name = pomonitor"
    APP_SECTIONS=$section
    cluster 3
    rm -f "$T/starts" "$T/stop" "$T/answers" "$T"/*.count
    rm -rf "$T"/state-*
    start b
    start c
    wait_for 15 runs_on pomonitor b b c || fail "$mode: pomonitor never ran on b"
    python3 "$HERE/pomonitor_callers.py" "$T/c.sock" 8 "$T/stop" "$T/answers" 2> "$T/callers.err" &
    PIDS[callers]=$!
    sleep 0.5
    start a # a comes first in pomonitor's nodes: it takes pomonitor over
    wait_for 15 runs_on pomonitor a a b c || fail "$mode: a did not take pomonitor over"
    wait_for 10 count_above a $(($(count_of b) + 50)) || fail "$mode: no calls answered on a"
    moves 4
    touch "$T/stop"
    wait "${PIDS[callers]}" || fail "$mode: the callers failed: $(cat "$T/callers.err")"
    unset "PIDS[callers]"
    cat "$T/callers.err"

    local answered distinct last owner
    answered=$(wc -l < "$T/answers")
    distinct=$(sort -un "$T/answers" | wc -l)
    last=$(sort -n "$T/answers" | tail -1)
    [ "$answered" -ge 100 ] || fail "$mode: only $answered calls answered"
    [ "$distinct" = "$answered" ] ||
        fail "$mode: $answered answers but $distinct distinct counts: an instance answered after its state was exported ($(sort -n "$T/answers" | uniq -d | head -5 | tr '\n' ' '))"
    [ "$last" = "$answered" ] ||
        fail "$mode: $answered calls answered but the last count is $last: counts were lost or skipped"
    owner=$(owner pomonitor c)
    [ "$(cat "$T/${owner}.count")" = "$answered" ] ||
        fail "$mode: the running instance on $owner counts $(cat "$T/${owner}.count"), $answered calls were answered"
    grep -c takeover "$T/starts" | grep -qx 5 ||
        fail "$mode: not 5 takeovers: $(cat "$T/starts")"
    pass "$mode: 8 callers, 5 takeovers: $answered calls answered, counts 1..$answered each once, none lost"

    local n
    for n in a b c; do
        kill -TERM "${PIDS[$n]}"
        wait "${PIDS[$n]}" 2> /dev/null || true
        unset "PIDS[$n]"
    done
}

run_variant serve
run_variant reregister
