# Quorum mode on real processes (docs/design/quorum.md §9): three batond
# nodes with a quorum app run one Raft group over the wire (message type
# 13, wire.md §2.5): a leader emerges; kill -9 of the leader elects
# another among the two left, in a later term. The app runs on at most
# one node (test_quorum_apps.sh follows it across kills and restarts).
source "$(dirname "$0")/lib.sh"

APP_SECTIONS="[app db]
nodes = a@local, b@local, c@local
mode = quorum
start = /bin/sleep 1000"
cluster 3
start a; start b; start c

# term_led NODE: the last term NODE's log says it led ("" if none).
term_led() { grep -o "raft leader term=[0-9]*" "$T/$1.log" | tail -1 | sed 's/.*term=//' || true; }
# leader_among NODE...: prints the first NODE that has led, after a term
# above MIN_TERM.
MIN_TERM=0
leader_among() {
    local n t
    for n in "$@"; do
        t=$(term_led "$n")
        if [ -n "$t" ] && [ "$t" -gt "$MIN_TERM" ]; then echo "$n"; return 0; fi
    done
    return 1
}
wait_for 15 leader_among a b c > /dev/null || fail "no Raft leader among a, b, c"
first=$(leader_among a b c)
MIN_TERM=$(term_led "$first")
pass "Raft leader $first in term $MIN_TERM"
running=0
for n in a b c; do
    if ctl "$n" --json apps | grep -q '"here":"ready"'; then running=$((running + 1)); fi
done
[ $running -le 1 ] || fail "the quorum app runs on $running nodes"
pass "the quorum app runs on at most one node"

stop9 "$first"
others=()
for n in a b c; do [ "$n" != "$first" ] && others+=("$n"); done
wait_for 15 leader_among "${others[@]}" > /dev/null ||
    fail "no new Raft leader after kill -9 of $first"
second=$(leader_among "${others[@]}")
pass "after kill -9 of $first: $second leads in term $(term_led "$second")"
if grep -q "malformed message" "$T"/*.log; then
    fail "a link closed on a malformed message"
fi
pass "every raft message decoded"
