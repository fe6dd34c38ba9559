# SIGSTOP of the coordinator: declared down within heartbeat x miss plus
# slack; SIGCONT: it rejoins, and once settled there is one coordinator.
source "$(dirname "$0")/lib.sh"

cluster 3
for n in a b c; do start $n; done
wait_for 10 agree a a b c || fail "no agreement on a"

t0=$(now_ms)
kill -STOP "${PIDS[a]}"
wait_for 10 agree b b c || fail "b and c did not elect b while a was frozen"
dt=$(( $(now_ms) - t0 ))
# 1000 ms detection; the slack covers a loaded CI machine (this is a
# functional bound, not a benchmark: bench/ measures the figure).
[ $dt -le 4000 ] || fail "frozen a declared down after $dt ms (> 1000 + 3000 slack)"
grep -q "peer-down a@local (silent" "$T/b.log" || fail "b did not declare a down as silent"
# A silent peer's link is reset and redialed (docs/design/transport.md §1).
wait_for 5 grep -q "link to a@local .* reset: nothing heard" "$T/b.log" ||
    fail "b did not reset its link to the silent a"
pass "SIGSTOP a: b coordinates after $dt ms"

kill -CONT "${PIDS[a]}"
wait_for 10 agree a a b c || fail "a did not rejoin after SIGCONT"
for i in 1 2 3 4 5; do
    sleep 0.2
    agree a a b c || fail "coordinators diverged after settling"
done
grep -q "link up with a@local .* after reset (" "$T/b.log" ||
    fail "b did not report the link to a back up after its reset"
pass "SIGCONT a: one coordinator (a), stable"
