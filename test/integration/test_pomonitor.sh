# examples/pomonitor (seed 000): a globally named server taken over
# without losing a call. Three pomonitor processes (one node each), the
# app's priority a > b > c, each reading commands from a FIFO:
#   1. b and c start: the app runs on b. c sends a steady stream of
#      "observe 1" calls while a starts: a takes over from b (steals the
#      name, queues, pulls the state with a 300 ms delay so calls do
#      queue). Every call is answered, and the count is exact.
#   2. c asks for a takeover (no pull delay) while b sends calls: the
#      same, from a to c.
#   3. kill -9 of c: failover to a, calls resume (the state is lost on
#      failover: the counter starts again at zero).
source "$(dirname "$0")/lib.sh"

POMON="$BIN/examples/pomonitor"
[ -x "$POMON" ] || fail "no $POMON: build the pomonitor target"
ORDER="a@local, b@local, c@local"
cluster 3
declare -A FDS=()
# On failure, every pomonitor's output too (lib.sh shows the logs).
fail() {
    local f
    for f in "$T"/*.out; do echo "== $f" >&2; tail -30 "$f" >&2; done
    echo "FAIL: $*" >&2
    exit 1
}

# pm NODE ARGS...: pomonitor as NODE, commands from the FIFO $T/NODE.in
# (a writer fd kept open in FDS[NODE]), stdout to $T/NODE.out, stderr
# (the library's log) to $T/NODE.log.
pm() {
    local n=$1 fd
    shift
    mkfifo "$T/$n.in"
    : > "$T/$n.out"
    "$POMON" -c "$T/$n.ini" --nodes "$ORDER" "$@" < "$T/$n.in" \
        > "$T/$n.out" 2>> "$T/$n.log" &
    PIDS[$n]=$!
    exec {fd}> "$T/$n.in"
    FDS[$n]=$fd
}
# cmd NODE LINE: a command to NODE's pomonitor.
cmd() { printf '%s\n' "$2" >&"${FDS[$1]}"; }
# has NODE REGEX: NODE's output has a line matching REGEX.
has() { grep -Eq "$2" "$T/$1.out"; }
# field NODE REGEX SED: the last line matching REGEX, through SED.
field() { grep -E "$2" "$T/$1.out" | tail -1 | sed -E "$3"; }
# replies NODE: how many answers NODE's client printed.
replies() { grep -c '^reply: ' "$T/$1.out" || true; }
more_than() { [ "$(replies "$1")" -gt "$2" ]; }
# get NODE: "count=K sum=S" as NODE's client sees it now.
get() {
    local before
    before=$(replies "$1")
    cmd "$1" get
    wait_for 10 more_than "$1" "$before" ||
        fail "$1: get unanswered: $(tail -3 "$T/$1.out")"
    grep '^reply: ' "$T/$1.out" | tail -1 | sed 's/^reply: //'
}
# get_is NODE WANT: NODE's get answers WANT.
get_is() { [ "$(get "$1")" = "$2" ]; }
# load NODE ARGS: starts "load ARGS" on NODE; later() reads NODE's output
# from there on.
declare -A MARK=()
load() {
    MARK[$1]=$(($(wc -l < "$T/$1.out") + 1))
    cmd "$1" "load $2"
}
later() { tail -n "+${MARK[$1]}" "$T/$1.out"; }
load_ended() { later "$1" | grep -q '^load done'; }
# load_ok NODE N: NODE's load of N calls ended with all N answered.
load_ok() {
    wait_for 60 load_ended "$1" || fail "$1: the load never ended"
    if later "$1" | grep -q '^load call'; then
        fail "$1: calls failed: $(later "$1" | grep '^load call' | head -5)"
    fi
    later "$1" | grep -Eq "^load done: ok=$2 failed=0 last=count=[0-9]+ sum=[0-9]+$" ||
        fail "$1: $(later "$1" | grep '^load done')"
}
# --- 1. b runs the app; a starts and takes over while c calls ------------
pm b --pull-delay 300
pm c
wait_for 15 has b '^started (normal|failover) from' || fail "the app never started on b"
wait_for 5 has b '^name pomonitor is ours' || fail "b never held the name"
has c '^started' && fail "the app started on c too: $(cat "$T/c.out")"
wait_for 5 has c '^name pomonitor/c@local is ours' || fail "c never held its node name"
wait_for 5 get_is c "count=0 sum=0" || fail "c cannot call pomonitor"
pass "b and c up: pomonitor runs on b, c's calls reach it"

N1=8000
load c "$N1 4 8"
sleep 0.5
pm a --pull-delay 300
wait_for 20 has a '^started takeover from b@local' || fail "a did not take over from b: $(cat "$T/a.out")"
wait_for 10 has a '^queued [0-9]+ calls' || fail "a never got the state: $(cat "$T/a.out")"
load_ok c $N1
has b '^handed over to a@local: count=[1-9]' || fail "b did not hand over: $(cat "$T/b.out")"
handed=$(field b '^handed over' 's/.*count=([0-9]+).*/\1/')
queued=$(field a '^queued' 's/^queued ([0-9]+).*/\1/')
fwd=$(grep -c '^forwarded call' "$T/b.out" || true)
[ "$handed" -lt "$N1" ] || fail "the load ended before the takeover ($handed calls on b)"
[ "$queued" -gt 1 ] || fail "a queued $queued calls in its 300 ms pull delay"
[ "$(get a)" = "count=$N1 sum=$N1" ] || fail "a: $(get a), want count=$N1"
[ "$(get c)" = "count=$N1 sum=$N1" ] || fail "c sees $(get c)"
pass "a took over from b during $N1 calls: $handed answered on b, then $queued queued on a and $fwd forwarded by b; none lost or doubled"

# A call that reaches the old instance after the cut-off is forwarded.
cmd c "call pomonitor/b@local fwd observe 1"
N1=$((N1 + 1))
wait_for 10 has c "^reply: count=$N1 sum=$N1$" || fail "a late call to b: $(tail -2 "$T/c.out")"
has b '^forwarded call [0-9]+ \(observe 1\) to a@local' || fail "b did not forward it"
pass "a call reaching b after the handover is forwarded to a and counted once"

# --- 2. takeover to c on request, while b calls ----------------------------
N2=6000
load b "$N2 4 8"
sleep 0.3
cmd c takeover
wait_for 10 has c '^started takeover from a@local' || fail "c did not take over from a: $(cat "$T/c.out")"
load_ok b $N2
queued2=$(field c '^queued' 's/^queued ([0-9]+).*/\1/')
want=$((N1 + N2))
[ "$(get c)" = "count=$want sum=$want" ] || fail "after the takeover to c: $(get c), want $want"
[ "$(get a)" = "count=$want sum=$want" ] || fail "a sees $(get a)"
pass "c took over from a (batonctl-style request) during $N2 calls: count $want exact, $queued2 queued"

# --- 3. kill -9 of the owner: failover ---------------------------------------
load b "3000 4 4"
sleep 0.3
stop9 c
exec {FDS[c]}>&-
wait_for 15 has a '^started failover from c@local' || fail "no failover to a: $(cat "$T/a.out")"
wait_for 60 load_ended b || fail "b's load never ended"
during=$(later b | grep '^load done' | sed -E 's/^load done: (ok=[0-9]+ failed=[0-9]+).*/\1/')
load b "500 1 4"
load_ok b 500
last=$(later b | grep '^load done' | sed 's/.*last=//')
[ "$(get b)" = "$last" ] || fail "after the failover: b's last answer $last, get $(get b)"
count=${last#count=}
count=${count%% *}
[ "$count" -ge 500 ] || fail "after the failover: count $count < 500"
pass "kill -9 of c: failover to a, calls resume (during it: $during; the state restarts at zero: count $count after)"

# --- a clean exit: quit on stdin (SIGTERM's path) -------------------------
for n in a b; do
    cmd "$n" quit
    rc=0
    wait "${PIDS[$n]}" || rc=$?
    unset "PIDS[$n]"
    [ $rc -eq 0 ] || fail "$n: exit status $rc after quit"
    has "$n" '^stopped shutdown|^node ' || fail "$n: no output"
done
if grep -Eq 'runtime error|AddressSanitizer|LeakSanitizer' "$T"/*.log; then
    fail "sanitizer reports: $(grep -Eh -A5 'runtime error|Sanitizer' "$T"/*.log | head -20)"
fi
has a '^stopped shutdown' || fail "a's instance did not stop on quit"
pass "quit: a (the owner: stopped shutdown) and b exit with status 0"
