# An app-bound name (name = X in [app]) exists whenever its app runs: taken
# by a session's reregister, or dropped with that session, it comes back
# to the app while the app runs here; after a heal where both sides ran
# the app it ends on the surviving instance's node; it goes when the app
# stops (docs/design/names.md §5).
source "$(dirname "$0")/lib.sh"
NC="$(dirname "$PROBE")/baton-names-client"

APP_SECTIONS="[app svc]
nodes = a@local, b@local
failover_timeout = 0
name = svc.name
start = sh -c 'echo \"\$BATON_NODE \$BATON_EPOCH \$BATON_EPOCH_FILE\" >> $T/svc.starts; trap \"exit 0\" TERM; while :; do sleep 0.05; done'"
cluster 2
start a
start b
wait_for 10 runs_on svc a a b || fail "svc never ran on a"

# sees NAME NODE WANT: NODE sees NAME on WANT ("none": nowhere).
sees() {
    local got
    got=$(ctl "$2" whereis "$1" 2>/dev/null | awk 'NR == 2 {print $2}')
    [ "${got:-none}" = "$3" ]
}
wait_for 10 sees svc.name b a@local || fail "svc.name does not point to a while svc runs there"
pass "svc runs on a: b sees svc.name on a"

# A session on b re-points the name to itself and holds it: the app's
# node takes it back (the session hears name_lost replaced).
"$NC" lines "$T/b.sock" 2 '{"op":"reregister","name":"svc.name","id":1}' > "$T/steal.out" 2>&1 &
PIDS[steal]=$!
wait_for 10 grep -q '"event":"name_lost".*"reason":"replaced"' "$T/steal.out" ||
    fail "the name was not taken back from the session that re-pointed it: $(cat "$T/steal.out")"
wait "${PIDS[steal]}" || true
unset "PIDS[steal]"
grep -q '"id":1,"ok":true' "$T/steal.out" || fail "the reregister itself failed: $(cat "$T/steal.out")"
wait_for 10 sees svc.name b a@local || fail "svc.name not back on a"
grep -q "app svc: name svc.name points to b@local while the app runs here: re-registering it" "$T/a.log" ||
    fail "a did not log why it re-registered svc.name"
pass "svc.name re-pointed by a session on b: a takes it back while svc runs"

# A session on b re-points it and closes at once: its names go with it,
# so svc.name is gone everywhere; a registers it again.
"$NC" lines "$T/b.sock" 1 '{"op":"reregister","name":"svc.name","id":2}' > "$T/drop.out" 2>&1 ||
    fail "reregister: $(cat "$T/drop.out")"
wait_for 10 grep -q "app svc: name svc.name is gone while the app runs here: re-registering it" "$T/a.log" ||
    fail "a did not notice that svc.name was gone"
wait_for 10 sees svc.name b a@local || fail "svc.name not back on a after its stealer's session closed"
pass "svc.name dropped with a session's end: a registers it again"

# After a heal where both sides ran svc (a frozen while b failed it
# over): the app conflict picks one instance; svc.name must end up on the
# survivor's node, as both nodes see it, whichever registration won the
# names clash. (On loopback the clash already resolves to the survivor
# without the re-registration; this guards the rule, the session cases
# above are the ones that failed before it.)
kill -STOP "${PIDS[a]}"
wait_for 10 runs_on svc b b || { kill -CONT "${PIDS[a]}"; fail "b did not fail svc over while a was frozen"; }
wait_for 10 sees svc.name b b@local || { kill -CONT "${PIDS[a]}"; fail "svc.name not on b after the failover"; }
kill -CONT "${PIDS[a]}"
survivor() {
    local n
    for n in a b; do
        if runs_on svc $n a b && sees svc.name a $n@local && sees svc.name b $n@local; then
            return 0
        fi
    done
    return 1
}
wait_for 15 survivor || fail "after the heal svc.name is not on svc's surviving node: a sees $(ctl a whereis svc.name 2>&1 | tail -1), b sees $(ctl b whereis svc.name 2>&1 | tail -1); owner $(owner svc a)"
sleep 1.5
survivor || fail "svc.name left svc's surviving node"
pass "heal after a double run: svc.name follows the surviving instance"

# Tokens only grow for the instance that runs (issue 11 item 6): the
# survivor's BATON_EPOCH_FILE holds a token above every token the other
# node's instances started with.
for n in a b; do
    runs_on svc $n a b && surv=$n
done
file=$(awk -v n="$surv@local" '$1 == n {f = $3} END {print f}' "$T/svc.starts")
[ -n "$file" ] && [ -s "$file" ] || fail "no BATON_EPOCH_FILE for $surv: $(cat "$T/svc.starts")"
cur=$(cat "$file")
other=$(awk -v n="$surv@local" '$1 != n && $2 > m {m = $2} END {printf "%.0f\n", m}' "$T/svc.starts")
[ "$cur" -gt "$other" ] ||
    fail "$surv's instance fences with $cur, not above the other side's $other ($(cat "$T/svc.starts"))"
pass "heal: the survivor's token ($cur, $file) is above the other side's ($other)"

# The app stops (permitted nowhere): the name goes.
ctl a permit svc false > /dev/null || fail "permit false"
ctl b permit svc false > /dev/null || fail "permit false"
wait_for 10 sees svc.name b none || fail "svc.name stays after svc stopped"
sleep 1.5 # past the first retry: nothing brings it back
sees svc.name b none || fail "svc.name came back while svc runs nowhere"
pass "svc stops: svc.name goes and stays gone"
