# libbaton's examples as real processes on loopback, each an embedded
# node (no batond): gdict (leader group), highlander (singleton) and
# distro (an app with takeover state). Each reads commands from a FIFO
# and prints answers and events on stdout, one line each.
source "$(dirname "$0")/lib.sh"

EX="$BIN/examples"
cluster 3 # a.ini b.ini c.ini; each embedded node serves control_socket

# On failure: every example's output (stdout) first, then lib.sh's logs.
fail() {
    for f in "$T"/*.out; do
        [ -f "$f" ] && { echo "== $f" >&2; tail -30 "$f" >&2; }
    done
    echo "FAIL: $*" >&2
    exit 1
}

# run KEY PROG NODE ARGS...: PROG as node NODE, commands from the FIFO
# $T/KEY.fifo (a writer fd kept open here), stdout in $T/KEY.out.
declare -A FD=()
run() {
    local key=$1 prog=$2 node=$3 fd
    shift 3
    rm -f "$T/$key.fifo"
    mkfifo "$T/$key.fifo"
    : > "$T/$key.out"
    "$EX/$prog" -c "$T/$node.ini" "$@" < "$T/$key.fifo" > "$T/$key.out" 2>> "$T/$key.log" &
    PIDS[$key]=$!
    exec {fd}> "$T/$key.fifo"
    FD[$key]=$fd
}
say() { printf '%s\n' "$2" >&"${FD[$1]}"; }
has() { grep -q -- "$2" "$T/$1.out"; }
count() { grep -c -- "$2" "$T/$1.out" || true; }
# kill9 KEY: kill -9, and close the FIFO so that nothing writes to it.
kill9() {
    local fd=${FD[$1]}
    kill -KILL "${PIDS[$1]}"
    wait "${PIDS[$1]}" 2>/dev/null || true
    unset "PIDS[$1]"
    exec {fd}>&-
    unset "FD[$1]"
}
killall9() { local k; for k in "$@"; do kill9 "$k"; done; }
# term KEY...: SIGTERM; each must close cleanly ("closed", status 0).
term() {
    local k fd rc
    for k in "$@"; do kill -TERM "${PIDS[$k]}"; done
    for k in "$@"; do
        wait_for 10 has "$k" "^closed$" ||
            fail "$k did not close on SIGTERM ($(ps -o stat=,wchan= -p "${PIDS[$k]}" || echo gone))"
        rc=0
        wait "${PIDS[$k]}" || rc=$?
        [ $rc = 0 ] || fail "$k exited with status $rc after SIGTERM"
        unset "PIDS[$k]"
        fd=${FD[$k]}
        exec {fd}>&-
        unset "FD[$k]"
    done
}
# ask KEY CMD PATTERN [SECONDS]: sends CMD until KEY prints PATTERN.
ask() {
    local key=$1 cmd=$2 want=$3 deadline=$((SECONDS + ${4:-10}))
    until has "$key" "$want"; do
        [ $SECONDS -lt $deadline ] || return 1
        say "$key" "$cmd"
        sleep 0.2
    done
}
# sum PATTERN KEY...: how many lines match PATTERN in all KEYs' outputs.
sum() {
    local want=$1 n=0 k
    shift
    for k in "$@"; do n=$((n + $(count "$k" "$want"))); done
    echo $n
}
# more N PATTERN KEY...: more than N lines match PATTERN (for wait_for).
more() { [ "$(sum "${@:2}")" -gt "$1" ]; }

# ---- gdict: gen_leader's global dictionary ---------------------------------
C="a@local, b@local, c@local"
for n in a b c; do run g$n gdict $n --candidates "$C"; done
wait_for 15 has ga "^elected" || fail "a was not elected"
wait_for 10 has gb "^surrendered to a@local" || fail "b did not surrender to a"
wait_for 10 has gc "^surrendered to a@local" || fail "c did not surrender to a"
has gb "^elected" && fail "b was elected too"
has gc "^elected" && fail "c was elected too"
pass "gdict: a leads; b and c surrendered to a"

say gc "store k v"
wait_for 10 has gc "^store k: ok" || fail "store k from c"
for n in a b c; do
    ask g$n "fetch k" "^fetch k: v$" || fail "fetch k on $n"
done
pass "gdict: store k v on c, fetch k on a, b and c: v"

# batonctl against embedded nodes: the control socket is the runtime's.
CTL="$BIN/batonctl"
[ "$(coord c)" = a@local ] || fail "batonctl status of c: $(ctl c status 2>&1)"
ctl a --json apps | grep -q '"name":"gdict","status":"[a-z]*","owner":"a@local"' ||
    fail "batonctl apps of a: $(ctl a --json apps 2>&1)"
ctl b names | grep -q "^gdict  *a@local" || fail "batonctl names of b: $(ctl b names 2>&1)"
"$CTL" -c "$T/b.ini" register probe --hold > "$T/probe.out" 2>&1 &
PIDS[probe]=$!
wait_for 5 grep -q "holding it" "$T/probe.out" || fail "register on b: $(cat "$T/probe.out")"
answers() { [ "$(ctl c call probe hi 2>/dev/null)" = hi ]; } # re-run by wait_for
wait_for 5 answers || fail "call probe from c: $(ctl c call probe hi 2>&1)"
kill -TERM "${PIDS[probe]}"; wait "${PIDS[probe]}" 2>/dev/null || true; unset "PIDS[probe]"
# The session's end drops its names (one DROP through the node's tables).
gone() { ! ctl c names 2>/dev/null | grep -q "^probe "; } # re-run by wait_for
wait_for 5 gone || fail "probe still registered after its session ended: $(ctl c names 2>&1)"
pass "batonctl status, apps and names of embedded nodes; a session on b holds a name that c calls, and loses it when it ends"

kill9 ga
wait_for 15 has gb "^elected (1 keys)" || fail "b did not take the lead when a died"
wait_for 10 has gc "^surrendered to b@local (1 keys)" || fail "c did not surrender to b"
say gc "store k2 v2"
wait_for 10 has gc "^store k2: ok" || fail "store k2 with b leading"
for n in b c; do
    ask g$n "fetch k2" "^fetch k2: v2$" || fail "fetch k2 on $n"
    ask g$n "fetch k" "^fetch k: v$" || fail "k lost on $n"
done
pass "gdict: kill -9 a: b leads with the dict, store k2 works"

run ga2 gdict a --candidates "$C"
wait_for 15 has ga2 "^elected (2 keys)" || fail "a did not take the lead back with the dict"
wait_for 10 has gb "^surrendered to a@local (2 keys)" || fail "b did not surrender to a again"
wait_for 10 has gc "^surrendered to a@local (2 keys)" || fail "c did not surrender to a again"
for n in a2 b c; do
    ask g$n "fetch k2" "^fetch k2: v2$" || fail "k2 on $n after a's return"
done
ask ga2 "fetch k" "^fetch k: v$" || fail "k on a after its return"
pass "gdict: a restarted takes the lead back and has the dict (k, k2 on a, b, c)"

kill9 gc
wait_for 10 has ga2 "^down c@local" || fail "handle_down did not fire on the leader a"
has gb "^down c@local" && fail "handle_down fired on b, not the leader"
pass "gdict: kill -9 c: handle_down(c@local) on the leader a only"

# The leader dies during a leader_call: the caller is told at once.
kill9 ga2
wait_for 15 has gb "^elected (2 keys)" || fail "b did not lead again"
run gc2 gdict c --candidates "$C"
wait_for 10 has gc2 "^surrendered to b@local (2 keys)" || fail "c did not join b"
run ga3 gdict a --candidates "$C" --slow-ms 3000
wait_for 15 has ga3 "^elected (2 keys)" || fail "slow a did not lead"
wait_for 10 has gc2 "^surrendered to a@local" || fail "c did not surrender to slow a"
t0=$(now_ms)
say gc2 "store x 1"
wait_for 5 has ga3 "^answering in" || fail "the leader a did not get store x"
kill9 ga3
wait_for 9 has gc2 "^store x: error: the leader was lost during the call" || fail "no leader-down error on c"
dt=$(($(now_ms) - t0))
[ $dt -lt 10000 ] || fail "leader-down took $dt ms: the call's own timeout"
pass "gdict: leader killed during a leader_call: c gets 'the leader was lost during the call' after $dt ms (timeout 10000)"

# A heal with two leaders: freeze the leader b until c leads its own side,
# then thaw it. One leader must remain, known to both, and the other must
# have surrendered to it after the thaw.
ask gb leader "^leader: b@local" 15 || fail "b did not lead again after a3"
nc=$(count gc2 "^elected")
kill -STOP "${PIDS[gb]}"
wait_for 15 more "$nc" "^elected" gc2 || { kill -CONT "${PIDS[gb]}"; fail "c did not lead while b was frozen"; }
nsb=$(count gb "^surrendered"); nsc=$(count gc2 "^surrendered")
kill -CONT "${PIDS[gb]}"
# one_leader: b and c both answer "leader: L" with the same L (the last
# answer each gave), and the node that is not L surrendered since.
one_leader() {
    local lb lc
    say gb leader; say gc2 leader
    sleep 0.2
    lb=$(grep "^leader: " "$T/gb.out" | tail -1); lc=$(grep "^leader: " "$T/gc2.out" | tail -1)
    [ -n "$lb" ] && [ "$lb" = "$lc" ] || return 1
    case "$lb" in
    "leader: b@local") [ "$(count gc2 "^surrendered to b@local")" -gt 0 ] && more "$nsc" "^surrendered" gc2 ;;
    "leader: c@local") more "$nsb" "^surrendered" gb ;;
    *) return 1 ;;
    esac
}
wait_for 20 one_leader || fail "after the heal: b says '$(grep '^leader: ' "$T/gb.out" | tail -1)', c says '$(grep '^leader: ' "$T/gc2.out" | tail -1)'"
healed_leader=$(grep "^leader: " "$T/gb.out" | tail -1)
pass "gdict heal: b frozen, c led its side; after SIGCONT one ${healed_leader}, the other surrendered to it"
term gb gc2

# ---- highlander: a singleton --------------------------------------------------
H=(ha hb hc)
# running KEY...: the keys whose instance runs (started, not stopped).
running() {
    local k
    for k in "$@"; do
        if [ "$(count "$k" "^started")" -gt "$(count "$k" "^stopped\|^crashed")" ]; then
            echo "$k"
        fi
    done
}
for n in a b c; do run h$n highlander $n; done
wait_for 15 more 0 "^started" "${H[@]}" || fail "highlander never started"
sleep 1.5
[ "$(sum "^started" "${H[@]}")" = 1 ] || fail "started $(sum "^started" "${H[@]}") times"
r1=$(running "${H[@]}")
has "$r1" "^started normal" || fail "first start not normal"
wait_for 5 has "$r1" "^tick" || fail "$r1 does not tick"
pass "highlander: exactly one of three started ($r1, normal)"

others=()
for k in "${H[@]}"; do [ "$k" = "$r1" ] || others+=("$k"); done
node1=${r1#h}
t0=$(now_ms)
kill9 "$r1"
wait_for 10 more 0 "^started" "${others[@]}" || fail "no failover start"
dt=$(($(now_ms) - t0))
sleep 1.5
[ "$(sum "^started" "${others[@]}")" = 1 ] || fail "failover: started $(sum "^started" "${others[@]}") times"
r2=$(running "${others[@]}")
has "$r2" "^started failover from $node1@local" || fail "$r2 did not start as failover from $node1"
pass "highlander: kill -9 $r1: one other ($r2) started it, failover, after $dt ms"

run "h${node1}2" highlander "$node1"
H2=("${others[@]}" "h${node1}2")
wait_for 10 has "h${node1}2" "^running as $node1@local" || fail "restart of $node1"
sleep 1.5
[ "$(sum "^started" "h${node1}2")" = 0 ] || fail "the restarted node started it as well"
before=$(sum "^started" "${H2[@]}")
say "$r2" crash
wait_for 5 has "$r2" "^crashed" || fail "crash on $r2"
wait_for 10 more "$before" "^started" "${H2[@]}" || fail "nobody started it after the crash"
sleep 1.5
[ "$(sum "^started" "${H2[@]}")" = $((before + 1)) ] || fail "after the crash: $(($(sum "^started" "${H2[@]}") - before)) starts"
r3=$(running "${H2[@]}")
[ -n "$r3" ] && [ "$r3" != "$r2" ] || fail "after the crash it runs on '$r3'"
pass "highlander: crash on $r2: $r3 started it"

# Heal: freeze the runner until the others start their own, then thaw.
# (The thawed node may start it once more before it settles: only the
# outcome is asserted.)
kill -STOP "${PIDS[$r3]}"
others=()
for k in "${H2[@]}"; do [ "$k" = "$r3" ] || others+=("$k"); done
before=$(sum "^started" "${others[@]}")
wait_for 15 more "$before" "^started" "${others[@]}" || fail "no start while $r3 was frozen"
r4=$(running "${others[@]}")
[ -n "$r4" ] && [ "$(wc -w <<< "$r4")" = 1 ] || fail "while $r3 was frozen: runners '$r4'"
kill -CONT "${PIDS[$r3]}"
# healed: one of r3, r4 runs it, and the other printed "stopped conflict".
healed() {
    local run
    run=$(running "${H2[@]}")
    [ "$run" = "$r3" ] || [ "$run" = "$r4" ] || return 1
    if [ "$run" = "$r3" ]; then loser=$r4; else loser=$r3; fi
    survivor=$run
    has "$loser" "^stopped conflict"
}
wait_for 15 healed || fail "after the heal: runners '$(running "${H2[@]}" | tr '\n' ' ')', no conflict stop"
sleep 2
healed || fail "not settled 2 s after the heal: runners '$(running "${H2[@]}" | tr '\n' ' ')'"
# Tokens only grow for the instance that runs (issue 11 item 6): the
# survivor's latest token ("started … epoch E", or "token E" after the
# heal) is above every token any instance was started with.
token_of() {
    grep -E "^(started .* epoch|token) [0-9]+" "$T/$1.out" | tail -1 |
        awk '{print $NF}'
}
top=0
for k in "${H2[@]}"; do
    for e in $(grep -E "^started .* epoch [0-9]+" "$T/$k.out" | awk '{print $NF}'); do
        [ "$e" -gt "$top" ] && top=$e
    done
done
cur=$(token_of "$survivor")
if [ "$cur" -lt "$top" ] || { [ "$cur" = "$top" ] && ! grep -q "^started .* epoch $cur\$" "$T/$survivor.out"; }; then
    fail "the survivor $survivor fences with $cur, below the highest token issued ($top)"
fi
n0=$(count "$survivor" "^tick")
sleep 0.5
[ "$(count "$survivor" "^tick")" -gt "$n0" ] || fail "the survivor $survivor does not tick"
pass "highlander heal: $r3 frozen, $r4 started it; after SIGCONT one survives ($survivor), $loser stopped (conflict)"
term "${H2[@]}"
has "$survivor" "^stopped shutdown" || fail "$survivor: no stop on SIGTERM"

# ---- distro: the adder app, failover and takeover with state ---------------
for n in a b c; do run d$n distro $n; done
wait_for 15 has da "^serving adder" || fail "adder did not start on a"
has da "^started normal" || fail "adder on a: not a normal start"
ask dc "add 3 4" "^add 3 4: 7 from a@local$" || fail "add 3 4 from c"
pass "distro: adder runs on a; add 3 4 from c: 7 from a@local"

kill9 da
wait_for 15 more 0 "^serving adder" db dc || fail "adder did not fail over"
f=$( (has db "^serving adder" && echo b) || echo c)
has d$f "^started failover from a@local" || fail "$f: not a failover start from a"
ask dc "add 3 4" "^add 3 4: 7 from $f@local$" || fail "add after the failover"
for i in 1 2 3; do say db "add $i 10"; done
wait_for 10 has db "^add 3 10: 13 from $f@local$" || fail "adds from b"
done=$(sum "^add .*from $f@local$" db dc)
pass "distro: kill -9 a: adder failed over to $f; $done adds answered there"

run da2 distro a
wait_for 15 has da2 "^imported $done$" || fail "a did not import the total $done"
wait_for 10 has da2 "^started takeover from $f@local" || fail "a: not a takeover from $f"
wait_for 10 has d$f "^stopped moved" || fail "$f did not stop (moved)"
ask dc "add 1 1" "^add 1 1: 2 from a@local$" || fail "add after the takeover"
pass "distro: a restarted takes the adder back (imported $done) and answers"
term da2 db dc
pass "SIGTERM: every example closed cleanly (status 0)"

if grep -l "ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer" "$T"/*.log; then
    fail "sanitizer reports in the logs above"
fi
