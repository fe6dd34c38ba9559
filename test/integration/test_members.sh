# Live membership on real batond (docs/design/membership.md): removing a
# node that owns an app moves the app and takes the node out; the
# removed node restarted unchanged is refused, by name, and knows it is
# out; a restarted member learns the list from its peers, or starts from
# the one it saved under state_dir (a whole-cluster restart keeps the
# removal); only the coordinator decides. A 4th batond, started with
# [nodes] = the cluster plus itself, is refused until `node add` makes it
# a member; then every node dials it, it follows the coordinator, sees
# the app's name and stays a member across restarts.
source "$(dirname "$0")/lib.sh"

cat > "$T/app.sh" <<'APP'
#!/bin/sh
echo "$BATON_NODE $BATON_START_TYPE pid=$$" >> "$1"
trap 'exit 0' TERM
while :; do sleep 0.05; done
APP
chmod +x "$T/app.sh"
APP_SECTIONS="[app web]
nodes = b@local, {a@local c@local}
failover_timeout = 0
start = $T/app.sh $T/web.starts
name = web.name"
# d's config: [nodes] is the cluster's plus d at the next slot.
cluster 4
mv "$T/d.ini" "$T/d.ini.keep"
cluster 3
mv "$T/d.ini.keep" "$T/d.ini"
for n in a b c; do start $n; done
wait_for 10 runs_on web b a b c || fail "web never ran on b"
wait_for 10 agree a a b c || fail "a does not coordinate"
pass "web runs on b, a coordinates"

out=$(ctl b node remove c@local 2>&1) && fail "b decided a change: $out"
echo "$out" | grep -q "not the coordinator: ask a@local" || fail "b's refusal: $out"
out=$(ctl b node add d@local 127.0.0.1:$((BASE + 3)) 2>&1) && fail "b decided an add: $out"
echo "$out" | grep -q "not the coordinator: ask a@local" || fail "b's refusal of the add: $out"
out=$(ctl a node remove a@local 2>&1) && fail "a removed itself: $out"
echo "$out" | grep -q "refused: a@local is not a member, or it is the coordinator" ||
    fail "a's refusal to remove itself: $out"
out=$(ctl a node add d@local nowhere 2>&1) && fail "node add without a port: $out"
echo "$out" | grep -q "ADDR is host:port" || fail "node add's refusal: $out"
out=$(ctl a node remove nobody@local 2>&1) && fail "removed a stranger: $out"
pass "only the coordinator decides; it refuses itself and strangers"

# whereis NAME NODE WANT: NODE sees NAME on WANT.
sees() { [ "$(ctl "$2" whereis "$1" 2>/dev/null | awk 'NR == 2 {print $2}')" = "$3" ]; }
# one_web: at most one live instance of web (every sample checks it).
one_web() {
    local alive=0 pid
    for pid in $(sed -n 's/.*pid=//p' "$T/web.starts"); do
        kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && alive=$((alive + 1))
    done
    [ "$alive" -le 1 ] || fail "web runs $alive times"
}
checked() { one_web; "$@"; }

wait_for 10 sees web.name a b@local || fail "a does not see web.name on b"
start d
wait_for 10 grep -q 'refused link from .*"d@local" is not a configured node' "$T/a.log" ||
    fail "a did not refuse d before the add"
ctl a node add d@local 127.0.0.1:$((BASE + 3)) > "$T/add.out" || fail "node add d: $(cat "$T/add.out")"
wait_for 10 grep -q "members adopted [a-c]@local version=1" "$T/d.log" || fail "d did not adopt the list"
wait_for 10 checked agree a a b c d || fail "d does not follow a"
wait_for 10 checked sees web.name d b@local || fail "d does not see web.name"
for n in b c; do
    wait_for 10 grep -q "link up with d@local" "$T/$n.log" || fail "$n has no link with d"
done
one_web
pass "d added live: every node links with it, it follows a and sees web.name"
# A figure, not a check: the add decided on a to d synced with a.
ts() { date -d "$(grep -m1 -- "$2" "$1" | awk '{print $1}')" +%s%3N; }
echo "figure: add decided -> d synced: $(( $(ts "$T/d.log" "synced") - $(ts "$T/a.log" "members changed - version=1") )) ms"

ctl a node remove b@local > "$T/remove.out" || fail "node remove b: $(cat "$T/remove.out")"
wait_for 10 grep -q "members this node was removed from [acd]@local version=2" "$T/b.log" ||
    fail "b does not know it was removed"
wait_for 10 grep -q "peer-down b@local (removed" "$T/a.log" || fail "a did not drop b"
wait_for 10 grep -q "members adopted [ad]@local version=2" "$T/c.log" || fail "c did not adopt the list"
moved() { runs_on web a a c || runs_on web c a c; }
# count_at_least N FILE TEXT: TEXT occurs N times or more in FILE.
count_at_least() { [ "$(grep -c -- "$3" "$2")" -ge "$1" ]; }
wait_for 10 checked moved || fail "web did not move off b"
# web.name went with b and came back with web's new instance, on d too.
web_seen() { sees web.name d a@local || sees web.name d c@local; }
wait_for 10 checked web_seen || fail "d does not see web.name on web's new owner"
wait_for 5 grep -q "failover" "$T/web.starts" || fail "no failover start"
alive=0
for pid in $(sed -n 's/.*pid=//p' "$T/web.starts"); do
    kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && alive=$((alive + 1))
done
[ "$alive" = 1 ] || fail "web runs $alive times after the removal"
pass "b removed: it stopped web, web failed over, one instance"
# A figure, not a check (machines are shared): the change decided on a
# to web's failover instance started, from the logs' timestamps.
decided=$(ts "$T/a.log" "members changed - version=2")
started=$(cat "$T/a.log" "$T/c.log" | grep "app web: started (pid" | grep failover | awk '{print $1}' | head -1)
echo "figure: removal decided -> web started elsewhere: $(( $(date -d "$started" +%s%3N) - decided )) ms"

# b restarted with its config unchanged: refused by name, and told.
stop9 b
start b
wait_for 10 grep -q "members not a member: b@local" "$T/a.log" || fail "a did not refuse b by name"
for n in a c d; do
    wait_for 10 grep -q "node b@local was removed from the cluster (member list version 2); refusing its link" "$T/$n.log" ||
        fail "$n did not refuse b's link"
done
wait_for 10 count_at_least 2 "$T/b.log" "members this node was removed" ||
    fail "restarted b does not know it is out"
sleep 1
moved || fail "web moved when b came back"
pass "b restarted unchanged: told, then refused ('node b@local was removed ...'), it stays out"

# c restarted without its saved list: it starts from its [nodes] and
# learns the list from its peers.
stop9 c
grep -q "^version 2$" "$T/state-c/members" || fail "c did not save version 2"
rm "$T/state-c/members"
start c
wait_for 10 count_at_least 2 "$T/c.log" "members adopted [a-z]@local version=2" ||
    fail "restarted c did not learn the list"
wait_for 10 agree a a c || fail "c did not rejoin a"
wait_for 10 moved || fail "web is not running after c's restart"
pass "a restarted member learns the list from its peers and rejoins"

# Every member restarted: they start from the list they saved under
# state_dir, not from [nodes], so b stays out.
stop9 a
stop9 c
stop9 d
start a
start c
start d
wait_for 10 grep -q "member list version 2 from $T/state-a/members" "$T/a.log" ||
    fail "a did not start from its saved list"
wait_for 10 grep -q "member list version 2 from $T/state-c/members" "$T/c.log" ||
    fail "c did not start from its saved list"
wait_for 10 grep -q "member list version 2 from $T/state-d/members" "$T/d.log" ||
    fail "d did not start from its saved list"
wait_for 10 count_at_least 2 "$T/a.log" "members not a member: b@local" ||
    fail "restarted a did not refuse b"
wait_for 10 checked agree a a c d || fail "a, c and d did not form the cluster again"
wait_for 10 checked moved || fail "web is not running after the restarts"
grep -q "^slot 1 " "$T/state-c/members" && fail "c's saved list still has b"
wait_for 10 checked web_seen ||
    fail "d does not see web.name after the restart"
one_web
pass "a whole-cluster restart keeps the add and the removal (state_dir/members)"
