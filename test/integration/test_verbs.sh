# Operator verbs from any node (docs/control.md "Operator verbs",
# docs/design/apps.md §7): each given to a node that neither runs the
# app nor is its target; what each prints and its exit code; refused
# moves say why; disable, standby and permit false survive a restart of
# the node (and disable one of every node).
source "$(dirname "$0")/lib.sh"

cat > "$T/app.sh" <<'APP'
#!/bin/sh
echo "$BATON_NODE $BATON_START_TYPE epoch=$BATON_EPOCH" >> "$1"
trap 'exit 0' TERM
while :; do sleep 0.05; done
APP
chmod +x "$T/app.sh"
APP_SECTIONS="[app web]
nodes = a@local, b@local, c@local
failover_timeout = 0
start = $T/app.sh $T/web.starts

[app db]
nodes = a@local, b@local
failover_timeout = 0
start = $T/app.sh $T/db.starts"
cluster 3
for n in a b c; do start $n; done
wait_for 10 runs_on web a a b c || fail "web never ran on a"
wait_for 10 runs_on db a a b c || fail "db never ran on a"

# verb NODE WANT_RC WANT_TEXT ARGS...: runs batonctl ARGS on NODE; its
# exit code and its one line of output (stdout or stderr) must be these.
verb() {
    local node=$1 want_rc=$2 want=$3 out rc=0
    shift 3
    out=$(ctl "$node" "$@" 2>&1) || rc=$?
    [ "$rc" = "$want_rc" ] || fail "batonctl $* on $node: exit $rc, not $want_rc ($out)"
    [ "$out" = "$want" ] || fail "batonctl $* on $node said \"$out\", not \"$want\""
}
# The app's instances: its processes, whichever node runs them.
instances() { pgrep -f -- "$T/app.sh $T/$1.starts" | wc -l; }
no_instances() { [ "$(instances "$1")" = 0 ]; }
field() { ctl "$2" --json apps | tr '{' '\n' | grep "\"name\":\"$1\"" | sed -n "s/.*\"$3\":\\([^,}]*\\).*/\\1/p"; }

verb c 0 "moved web from a@local to b@local" move web b
wait_for 10 runs_on web b a b c || fail "web did not move to b"
[ "$(field web a pinned_to)" = '"b@local"' ] || fail "a does not show web pinned to b: $(field web a pinned_to)"
ctl c apps | grep -qE "^web .* b@local \(move\)$" || fail "apps does not show the pin: $(ctl c apps)"
sleep 0.5
runs_on web b a b c || fail "web left b although pinned there"
verb a 0 "web already runs on b@local, pinned there" move web b
verb a 1 "batonctl: batond: not taken over: web is pinned to b@local (batonctl unpin web, or move web here)" takeover web
pass "move from a third node: web on b, pinned, shown"

verb c 1 "not moved: node c@local does not define db" move db c
verb c 1 "not moved: no app nosuch in the cluster" move nosuch a
out=$(ctl c move web z 2>&1) && fail "move to an unknown node succeeded: $out"
pass "refused moves say why, exit 1"

verb a 0 "node b@local in standby: its apps move away" standby b
wait_for 10 runs_on web a a b c || fail "web did not leave b in standby"
ctl c nodes | grep -qE "^b@local .* yes +-$" || fail "nodes does not show b in standby: $(ctl c nodes)"
verb c 1 "not moved: node b@local is in standby" move web b
verb c 0 "node b@local already in standby" standby b
pass "standby: web moved off b (pinned there), nothing goes to b"

stop9 b
start b
wait_for 10 agree a a b c || fail "b did not rejoin"
ctl b status | grep -q "in standby" || fail "b forgot its standby: $(ctl b status)"
sleep 0.5
runs_on web a a b c || fail "web went back to b after its restart in standby"
pass "standby persists across b's restart"

verb c 0 "node b@local out of standby" unstandby b
wait_for 10 runs_on web b a b c || fail "web did not return to b (its pin)"
verb c 0 "web unpinned (was pinned to b@local): its priority list places it" unpin web
wait_for 10 runs_on web a a b c || fail "web did not return to a after unpin"
verb b 0 "web has no pin" unpin web
pass "unstandby: back to its pin; unpin: back to its priority list"

verb c 0 "web disabled (was running on a@local)" disable web
wait_for 10 no_instances web || fail "web still runs after disable"
ctl b apps | grep -qE "^web +disabled " || fail "apps does not show web disabled: $(ctl b apps)"
[ "$(field web c disabled)" = true ] || fail "c's apps JSON does not say disabled"
verb b 0 "web already disabled" disable web
verb b 1 "not moved: web is disabled" move web c
pass "disable: web stopped everywhere, shown as disabled"

starts=$(wc -l < "$T/web.starts")
stop9 a
start a
wait_for 10 agree a a b c || fail "a did not coordinate again"
sleep 1
[ "$(instances web)" = 0 ] || fail "web started again after the coordinator's restart"
for n in a b c; do stop9 $n; done
for n in a b c; do start $n; done
wait_for 10 agree a a b c || fail "no agreement after every node restarted"
wait_for 10 runs_on db a a b c || fail "db did not start again"
sleep 1
[ "$(instances web)" = 0 ] || fail "web started again after every node restarted"
[ "$(wc -l < "$T/web.starts")" = "$starts" ] || fail "web was started while disabled"
pass "disable persists across the coordinator's restart and every node's"

verb b 0 "web enabled" enable web
wait_for 10 runs_on web a a b c || fail "web did not start on a once enabled"
pass "enable: web placed again"

ctl a permit web false > /dev/null || fail "permit false"
wait_for 10 runs_on web b a b c || fail "web did not leave a on permit false"
stop9 a
start a
wait_for 10 agree a a b c || fail "a did not rejoin"
[ "$(field web a permitted_here)" = false ] || fail "a forgot permit false"
grep -qx "permit web false" "$T/state-a/settings" || fail "no permit line in a's settings file"
grep -q "^standby b@local 0 version [0-9]*$" "$T/state-a/settings" || fail "no standby line in a's settings file"
grep -q "^app web disabled 0 pin - version [0-9]*$" "$T/state-a/settings" || fail "no app line in a's settings file"
sleep 0.5
runs_on web b a b c || fail "web went back to a after its restart"
ctl a permit web true > /dev/null || fail "permit true"
wait_for 10 runs_on web a a b c || fail "web did not return to a on permit true"
pass "permit false persists across a's restart"

# A settings file others may write is not read: its settings would
# spread to the whole cluster.
ctl a permit web false > /dev/null || fail "permit false"
wait_for 10 runs_on web b a b c || fail "web did not leave a on permit false"
chmod 666 "$T/state-a/settings"
stop9 a
start a
wait_for 10 grep -q "settings $T/state-a/settings: Operation not permitted: starting without" "$T/a.log" ||
    fail "a read a settings file others may write"
wait_for 10 runs_on web a a b c || fail "a kept permit false from a file others may write"
pass "a settings file others may write is refused"
