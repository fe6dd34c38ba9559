# Three nodes form a mesh and agree on the coordinator; kill -9 of the
# coordinator hands over to the next; restarted, it rejoins and takes
# its place back.
source "$(dirname "$0")/lib.sh"

cluster 3
for n in a b c; do start $n; done
wait_for 10 agree a a b c || fail "a, b, c never agreed on a"
pass "3 nodes agree on a"

stop9 a
wait_for 5 agree b b c || fail "b and c did not agree on b after kill -9 a"
grep -q "peer-down a@local (link closed" "$T/b.log" || fail "b did not see a's link close"
pass "kill -9 a: b and c agree on b"

start a
wait_for 10 agree a a b c || fail "a did not rejoin and take over"
grep -q "synced (welcomed)" "$T/a.log" || fail "restarted a did not sync before claiming"
pass "restarted a rejoined (synced first) and coordinates"
