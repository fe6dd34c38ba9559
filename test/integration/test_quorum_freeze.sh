# batond frozen, its shim kills (docs/design/quorum.md §4.4), on
# loopback; the same on real namespaces is test/cluster's quorum-freeze.
# 1. SIGSTOP of the quorum app's owner's batond alone (not its shim, not
#    the app) for 2 x the lease and more: the app's process group is gone
#    before another node starts the app. Each instance, as it starts,
#    looks for every earlier instance's PID still running (not a zombie):
#    the order is read at the new start itself, not from a sampler.
#    After SIGCONT the woken node does not start the app again.
# 2. The systemd watchdog ping goes out only while every local quorum
#    instance's lease is being renewed: with b and c frozen, a's lease is
#    not renewed; from its stop (at the lease end minus the stop margin;
#    the app ignores SIGTERM and notes the ping count every 20 ms until
#    its lease-end kill) no WATCHDOG=1 goes out; once it is gone, the
#    pings resume.
source "$(dirname "$0")/lib.sh"

RUNS="$T/runs" # start EPOCH NODE PID OVERLAPS | term NODE PINGS | pings N
cat > "$T/app.sh" << EOF
#!/bin/bash
me=\${BATON_NODE%%@*}
live=""
for pid in \$(awk '\$1 == "start" { print \$4 }' "$RUNS"); do
    [ -r /proc/\$pid/stat ] || continue
    state=\$(awk '{ print \$3 }' /proc/\$pid/stat 2> /dev/null) || continue
    [ "\$state" = Z ] || live="\$live,\$pid"
done
echo "start \$BATON_EPOCH \$me \$\$ \${live:-none}" >> "$RUNS"
pings() { grep -c "^WATCHDOG=1" "$T/notify.out" 2> /dev/null || echo 0; }
trap 'trap "" TERM; echo "term \$me \$(pings)" >> "$RUNS"; while :; do pings > "$T/last.tmp-\$me"; mv "$T/last.tmp-\$me" "$T/last-\$me"; sleep 0.02; done' TERM
while :; do sleep 0.05; done
EOF
chmod +x "$T/app.sh"
touch "$RUNS"

# Part 1: three nodes, db may run on any (one group: no takeover).
quorum_db "{a@local b@local c@local}"
cluster 3
start a; start b; start c
wait_for 30 one_runner db || fail "db never ran"
old=$(runners db)
line=$(awk '$1 == "start"' "$RUNS" | tail -1)
[ "$(echo "$line" | awk '{ print $3 }')" = "$old" ] || fail "the start record ($line) is not $old's"
old_pid=$(echo "$line" | awk '{ print $4 }')
pgid=$(ps -o pgid= -p "$old_pid" | tr -d ' ')
kill -STOP "${PIDS[$old]}"
pass "db on $old (pid $old_pid, group $pgid); $old's batond stopped"
sleep 3.5 # 2 x lease_ms (1,000 at defaults), and an election if $old led
# group_live PGID: a process of the group that is not a zombie (the shim
# leads the group and stays a zombie: its parent, batond, is frozen).
group_live() { ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'; }
group_live "$pgid" && fail "db's process group on the frozen $old still runs: $(ps -e -o pid,pgid,stat,args | awk -v g="$pgid" '$2 == g')"
new=$(awk -v o="$old" '$1 == "start" && $3 != o' "$RUNS" | tail -1)
[ -n "$new" ] || fail "db did not start elsewhere while $old's batond was stopped: $(cat "$RUNS")"
[ "$(echo "$new" | awk '{ print $5 }')" = none ] ||
    fail "db started on another node while an earlier instance ran: $new"
pass "the shim killed db's group; then db started: $new"
n_starts=$(grep -c "^start" "$RUNS")
kill -CONT "${PIDS[$old]}"
sleep 3 # the woken node's loop: its lease long over, no start
ctl "$old" status > /dev/null || fail "$old does not answer after SIGCONT"
awk -v o="$old" -v n="$n_starts" '$1 == "start" { k++; if (k > n && $3 == o) f = 1 } END { exit f }' "$RUNS" ||
    fail "the woken $old started db again: $(cat "$RUNS")"
one_runner db || fail "db not running exactly once after $old woke: $(runners db | tr '\n' ' ')"
awk '$1 == "start" && $5 != "none" { exit 1 }' "$RUNS" || fail "an instance started while another ran: $(cat "$RUNS")"
pass "after SIGCONT $old did not start db again; db runs once"
for n in a b c; do stop9 $n; done
sleep 0.5

# Part 2: the watchdog. db may run on a only; a longer stop margin so the
# stop is long enough to count pings in (the election timeout must stay
# above margin + heartbeat: docs/config.md "Quorum mode").
rm -rf "$T"/state-? "$RUNS"
touch "$RUNS"
APP_SECTIONS="[app db]
nodes = a@local
mode = quorum
lease_ms = 2000
stop_margin_ms = 700
stop_timeout = 10000
start = $T/app.sh"
cluster 3
python3 "$(dirname "$0")/notify_listen.py" "$T/notify.sock" "$T/notify.out" &
PIDS[listener]=$!
wait_for 5 test -S "$T/notify.sock" || fail "no notify listener"
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=200000 start a
start b; start c
wait_for 30 here db a || fail "db never ran on a"
# Pings keep coming while the lease is renewed: a count, not a rate (a
# loaded machine may delay them), with a generous wait.
count_pings() { grep -c "^WATCHDOG=1" "$T/notify.out"; }
before=$(count_pings)
more_pings() { [ "$(count_pings)" -ge $((before + 5)) ]; }
wait_for 20 more_pings || fail "only $(($(count_pings) - before)) pings in 20 s with the lease renewed (every 100 ms)"
pass "pings go on while db's lease is renewed"
kill -STOP "${PIDS[b]}" "${PIDS[c]}"
wait_for 10 grep -q "^term a" "$RUNS" || fail "db on a was not stopped with its lease unrenewed"
app_gone() { [ -z "$(pgrep -f "$T/app.sh")" ]; }
wait_for 10 app_gone || fail "db on a outlived its lease"
at_term=$(awk '$1 == "term" { print $3; exit }' "$RUNS")
at_kill=$(cat "$T/last-a")
# At most two: pings go out every 100 ms, and one or two sent before the
# stop began can reach the listener (a process of its own, late on a
# loaded machine) after the app noted the count. Ungated there are about
# seven.
[ $((at_kill - at_term)) -le 2 ] ||
    fail "$((at_kill - at_term)) WATCHDOG=1 pings while db's lease ran out unrenewed (stop margin 700 ms)"
pass "pings from db's stop to its kill at lease end: $((at_kill - at_term)) (ungated: about 7)"
resumed() { [ "$(grep -c "^WATCHDOG=1" "$T/notify.out")" -ge $((at_kill + 3)) ]; }
wait_for 20 resumed || fail "the pings did not resume once db was gone"
pass "pings resume once no instance is left under an unrenewed lease"
kill -CONT "${PIDS[b]}" "${PIDS[c]}"
