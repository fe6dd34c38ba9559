# pre_start and post_stop (issue 14 item 2, docs/config.md "Hooks"): a
# marker file records the hooks and the starts in order. kill -9 of the
# app: its post_stop runs, then the restart's pre_start; a takeover: the
# old node's post_stop, the new node's pre_start before its start;
# kill -9 of the owner's batond: the new owner's pre_start runs before
# its start; a failing pre_start fails the start.
source "$(dirname "$0")/lib.sh"

M=$T/marks
APP_SECTIONS="[app svc]
nodes = {a@local b@local}
failover_timeout = 0
pre_start = sh -c 'sleep 0.2; echo \"pre \$BATON_APP \$BATON_NODE \$BATON_REASON\" >> $M'
post_stop = sh -c 'echo \"post \$BATON_APP \$BATON_NODE \$BATON_REASON\" >> $M'
start = sh -c 'echo \"start svc \$BATON_NODE\" >> $M; echo \$\$ > $T/pid.\$BATON_NODE; trap \"exit 0\" TERM; while :; do sleep 0.05; done'
[app bad]
nodes = b@local
failover_timeout = 0
max_restarts = 1
hook_timeout_ms = 3000
pre_start = sh -c 'echo \"pre \$BATON_APP \$BATON_NODE \$BATON_REASON\" >> $M; exit 3'
start = sh -c 'echo \"start bad \$BATON_NODE\" >> $M; sleep 100'"
cluster 2
: > "$M"
start a
wait_for 10 runs_on svc a a || fail "svc never ran on a"
start b
wait_for 10 runs_on svc a a b || fail "b does not see svc on a"

# line TEXT: the line number of TEXT's last occurrence in the marks (0: none).
line() { grep -nxF "$1" "$M" | tail -1 | cut -d: -f1 || true; }
# before X Y: X is marked, and before Y's last occurrence.
before() {
    local x y
    x=$(line "$1"); y=$(line "$2")
    [ -n "$x" ] && [ -n "$y" ] && [ "$x" -lt "$y" ]
}
before "pre svc a@local normal" "start svc a@local" || fail "pre_start did not run before the start: $(cat "$M")"
pass "pre_start (normal) runs before the start"

kill -KILL "$(cat "$T/pid.a@local")"
wait_for 10 grep -qxF "post svc a@local crash" "$M" || fail "no post_stop after kill -9 of the app: $(cat "$M")"
wait_for 10 grep -qxF "pre svc a@local restart" "$M" || fail "no pre_start for the restart: $(cat "$M")"
wait_for 10 runs_on svc a a b || fail "svc not restarted on a"
before "post svc a@local crash" "pre svc a@local restart" && before "pre svc a@local restart" "start svc a@local" ||
    fail "kill -9 of the app: post_stop, pre_start, start not in order: $(cat "$M")"
pass "kill -9 of the app: post_stop (crash), then pre_start (restart), then the restart"

ctl a permit svc false > /dev/null
wait_for 10 runs_on svc b a b || fail "svc did not move to b"
wait_for 10 grep -qxF "post svc a@local stop" "$M" || fail "no post_stop on a after the move: $(cat "$M")"
before "pre svc b@local takeover" "start svc b@local" || fail "takeover: pre_start not before the start: $(cat "$M")"
ctl a permit svc true > /dev/null
pass "a takeover: pre_start (takeover) on b before its start, post_stop (stop) on a"

wait_for 10 grep -qxF "pre bad b@local restart" "$M" || fail "bad's pre_start was not retried: $(cat "$M")"
wait_for 10 grep -q "app bad: pre_start failed (exit 3); no restarts left: failing it over" "$T/b.log" ||
    fail "b did not log bad's failed pre_start"
grep -q "start bad" "$M" && fail "bad started although its pre_start failed: $(cat "$M")"
pass "a failing pre_start fails the start: restarted per policy, then failed"

n=$(grep -cxF "start svc a@local" "$M")
stop9 b
wait_for 15 runs_on svc a a || fail "svc did not fail over to a"
[ "$(grep -cxF "start svc a@local" "$M")" -gt "$n" ] || fail "svc did not start again on a: $(cat "$M")"
before "pre svc a@local failover" "start svc a@local" || fail "failover: pre_start not before the start: $(cat "$M")"
pass "kill -9 of the owner's batond: the new owner's pre_start (failover) runs before its start"
