# A graceful stop of the owner (SIGTERM) hands its app over the way a
# takeover does: the new owner is chosen, the old instance exports its
# state while it still runs, the new instance starts with that state,
# and only then does the old batond stop its instance and exit.
source "$(dirname "$0")/lib.sh"

A=da$$
B=db$$

# The app counts in a file of its node's; its start records the state it
# was handed (the file's content), its export prints its count and
# whether the instance was still running then. The count is there before
# the pid file and renamed into place: an export that finds the instance
# running finds a whole count (the instance may be "ready" before its
# first line ran: ready = spawn).
cat > "$T/app.sh" <<APP
echo "\$BATON_NODE \$BATON_START_TYPE [\$(cat "\$BATON_STATE_FILE" 2>/dev/null)]" >> "$T/web.starts"
count="$T/web.\$BATON_NODE.count"
n=1
echo \$n > "\$count.tmp" && mv "\$count.tmp" "\$count"
echo \$\$ > "$T/web.\$BATON_NODE.pid"
trap 'exit 0' TERM
while :; do n=\$((n + 1)); echo \$n > "\$count.tmp" && mv "\$count.tmp" "\$count"; sleep 0.05; done
APP
cat > "$T/export.sh" <<EXP
pid=\$(cat "$T/web.\$BATON_NODE.pid")
alive=no
kill -0 "\$pid" 2>/dev/null && alive=yes
printf 'from %s count %s running %s' "\$BATON_NODE" "\$(cat "$T/web.\$BATON_NODE.count")" "\$alive"
EXP

cookie "$T/cookie"
for me in $A $B; do
    {
        echo "[node]"
        echo "name = $me@local"
        echo "cookie_file = cookie"
        echo "control_socket = $T/$me.sock"
        echo "log_level = debug"
        echo "state_dir = state-$me"
        echo "[nodes]"
        echo "$A@local = 127.0.0.1:$BASE"
        echo "$B@local = 127.0.0.1:$((BASE + 1))"
        echo "[app web]"
        echo "nodes = $A@local, $B@local"
        echo "failover_timeout = 0"
        echo "start = sh $T/app.sh"
        echo "state_export = sh $T/export.sh"
    } > "$T/$me.ini"
done

start $B
wait_for 10 runs_on web $B $B || fail "web never ran on $B"
start $A
wait_for 10 runs_on web $A $A $B || fail "$A did not take web over"
# (ready = spawn: the instance may not have counted yet; a SIGTERM before
# it has would hand over an empty count.)
counted() { [ -s "$T/web.$A@local.count" ] && [ -s "$T/web.$A@local.pid" ]; }
wait_for 10 counted || fail "web on $A never counted"
pass "web taken over by $A (the higher-ranked node)"

gone() { ! kill -0 "$pid" 2>/dev/null; }
# handed_over HOW: batond on A exits with 0 after HOW, and web runs on B,
# started with the state A exported while its instance still ran.
handed_over() {
    wait_for 30 gone || fail "batond on $A did not exit after $1"
    rc=0
    wait "$pid" || rc=$?
    unset "PIDS[$A]"
    [ "$rc" -eq 0 ] || fail "batond on $A exited with $rc after $1"
    wait_for 10 runs_on web $B $B || fail "web does not run on $B after $1 of $A"
    last=$(tail -n 1 "$T/web.starts")
    case $last in
    "$B@local takeover [from $A@local count "[0-9]*" running yes]") ;;
    *) fail "after $1 the new instance on $B did not start with the state $A exported while running: '$last' (all starts: $(cat "$T/web.starts"))" ;;
    esac
}

pid=${PIDS[$A]}
kill -TERM "$pid"
handed_over SIGTERM
pass "batond on $A exited (status 0) after SIGTERM"
grep -q "app web: exported [0-9]* bytes of state" "$T/$A.log" || fail "$A logged no export"
grep -q "app web: start here (takeover from $A@local, with its state)" "$T/$B.log" ||
    fail "$B did not log a start with the state"
pass "web started on $B with the state $A exported while its instance ran: '$last'"

# Order on the old owner: the export came before the stop.
exp=$(grep -n "app web: exported" "$T/$A.log" | tail -n 1 | cut -d: -f1)
stp=$(grep -n "app web: stopped" "$T/$A.log" | tail -n 1 | cut -d: -f1)
[ -n "$stp" ] && [ "$exp" -lt "$stp" ] || fail "on $A the export (line $exp) did not come before the stop (line $stp)"
pass "on $A: export, then stop"

# batonctl drain does what SIGTERM does: the same hand-over, then exit.
rm -f "$T/web.$A@local.count" "$T/web.$A@local.pid"
start $A
wait_for 10 runs_on web $A $A $B || fail "$A did not take web over again"
wait_for 10 counted || fail "web on $A never counted"
pid=${PIDS[$A]}
out=$(ctl $A drain) || fail "batonctl drain: $out"
[ "$out" = ok ] || fail "batonctl drain printed '$out'"
handed_over "batonctl drain"
grep -q "shutting down (batonctl drain)" "$T/$A.log" || fail "$A did not log the drain"
pass "batonctl drain: $A handed web over with its state and exited"

# The last node: web may run nowhere else, so it stops at once and
# batond exits (nothing waits for a hand-over that cannot happen).
app=$(cat "$T/web.$B@local.pid")
pid=${PIDS[$B]}
kill -TERM "$pid"
wait_for 30 gone || fail "batond on $B (the last node) did not exit after SIGTERM"
rc=0
wait "$pid" || rc=$?
unset "PIDS[$B]"
[ "$rc" -eq 0 ] || fail "batond on $B exited with $rc"
! kill -0 "$app" 2>/dev/null || { kill -KILL "$app"; fail "web (pid $app) outlived the last batond"; }
grep -q "apps not handed over" "$T/$B.log" && fail "$B waited for a hand-over to nobody"
pass "the last node stops web at once and exits"

# A hand-over that does not finish (the new instance on B never reports
# ready): a second SIGTERM stops the instance on A at once and batond
# exits, logging that it did not wait.
echo "ready = notify" >> "$T/$B.ini"
echo "ready_timeout = 600000" >> "$T/$B.ini"
start $A
wait_for 10 runs_on web $A $A || fail "web never ran on $A"
start $B
wait_for 10 runs_on web $A $A $B || fail "$B does not see web on $A"
starts_before=$(grep -c "^$B@local " "$T/web.starts" || true)
starts_on_b() { [ "$(grep -c "^$B@local " "$T/web.starts")" -gt "$starts_before" ]; }
pid=${PIDS[$A]}
kill -TERM "$pid"
wait_for 10 starts_on_b || fail "web did not start on $B after SIGTERM of $A"
kill -0 "$pid" 2>/dev/null || fail "batond on $A exited before the new instance on $B was ready"
kill -TERM "$pid"
wait_for 30 gone || fail "batond on $A did not exit after a second SIGTERM"
rc=0
wait "$pid" || rc=$?
unset "PIDS[$A]"
[ "$rc" -eq 0 ] || fail "batond on $A exited with $rc"
grep -q "second signal: stopping the apps here without waiting" "$T/$A.log" ||
    fail "$A did not log the second signal"
pass "a second SIGTERM ends a hand-over that does not finish"
