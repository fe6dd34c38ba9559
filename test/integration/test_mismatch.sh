# Issue 11, finding 6: a node restarted with a config that differs from
# its peers' (here a [nodes] list with one more node, the way an operator
# adds a node) must never run an app its
# peers run. The link stays up, authenticated, carrying nothing; the node
# started later runs no apps until the mismatch is resolved, and both
# logs say so, naming the setting that differs (docs/design/transport.md
# §2).
source "$(dirname "$0")/lib.sh"

cat > "$T/app.sh" <<'APP'
#!/bin/sh
echo "$$" >> "$1"
trap 'exit 0' TERM
while :; do sleep 0.05; done
APP
chmod +x "$T/app.sh"
APP_SECTIONS="[app web]
nodes = a@local, b@local
failover_timeout = 0
start = $T/app.sh $T/web.pids"
cluster 2

# live: how many instances of web run now (by PID, not batond's view;
# a zombie, exited but not yet reaped by init, does not run).
live() {
    local n=0 pid st
    while read -r pid; do
        st=$(ps -o stat= -p "$pid" 2>/dev/null || true)
        [ -n "$st" ] && [ "${st#Z}" = "$st" ] && n=$((n + 1))
    done < "$T/web.pids"
    echo "$n"
}
one_on() { [ "$(live)" = 1 ] && runs_on web "$1" "$1"; }

start a; start b
wait_for 10 runs_on web a a b || fail "web never ran on a"
[ "$(live)" = 1 ] || fail "web runs $(live) times"
pass "web runs once, on a"

# a (the owner) dies; b fails web over; a comes back with a node more in
# its list: without the fix, a sees b as down and starts web as well.
stop9 a
wait_for 10 one_on b || fail "b did not take web over"
cp "$T/a.ini" "$T/a.ini.orig"
sed -i "/^\[nodes\]/a c@local = 127.0.0.1:$((BASE + 2))" "$T/a.ini"
grep -q "^c@local" "$T/a.ini" || fail "the test did not change a's node list"
start a
wait_for 10 grep -q "config mismatch with b@local .*this node started later and runs no apps until resolved" "$T/a.log" ||
    fail "a did not say why it runs nothing"
wait_for 10 grep -q "config mismatch with a@local .*it started later and runs no apps until resolved" "$T/b.log" ||
    fail "b did not name the mismatch"
# Both name the setting that differs, and only that one.
for x in a:b b:a; do
    grep -q "config mismatch with ${x#*:}@local ([^)]*): \[nodes\] differs;" "$T/${x%:*}.log" ||
        fail "${x%:*} did not name [nodes] as the setting that differs"
    ! grep -q "config mismatch with .*): [^;]*\[cluster\]" "$T/${x%:*}.log" ||
        fail "${x%:*} named a [cluster] setting that does not differ"
done
# a coordinates its own side once its sync window is over: the moment it
# would have started web.
wait_for 10 agree a a || fail "a never coordinated its side"
wait_for 10 grep -q "running no apps until the config mismatch is resolved" "$T/a.log" || fail "a did not hold its apps"
[ "$(live)" = 1 ] || fail "web runs $(live) times with a config mismatch"
runs_on web b b || fail "web left b"
pass "config mismatch: web runs once (on b), both logs say why"

# Resolved: a back with the cluster's config links up and takes part.
stop9 a
cp "$T/a.ini.orig" "$T/a.ini"
start a
wait_for 15 one_on a || fail "web did not settle on a once the configs agree"
pass "configs agree again: web runs once, on a"

# A [cluster] setting differs (a restarted with a slower heartbeat, its
# sync window kept at the default's 1000 ms): the log names that one
# alone, and web runs once, on b.
stop9 a
wait_for 10 one_on b || fail "b did not take web over again"
printf '[cluster]\nheartbeat_ms = 300\nsync_window_ms = 1000\n' >> "$T/a.ini"
: > "$T/a.log"
: > "$T/b.log"
start a
for x in a:b b:a; do
    wait_for 10 grep -q "config mismatch with ${x#*:}@local ([^)]*): \[cluster\] heartbeat_ms differs;" "$T/${x%:*}.log" ||
        fail "${x%:*} did not name heartbeat_ms as the setting that differs"
done
! grep -q "config mismatch with .*): [^;]*\[nodes\]" "$T/a.log" "$T/b.log" ||
    fail "a node named [nodes], which does not differ"
! grep -q "config mismatch with .*): [^;]*sync_window_ms" "$T/a.log" "$T/b.log" ||
    fail "a node named sync_window_ms, which does not differ"
[ "$(live)" = 1 ] || fail "web runs $(live) times with a heartbeat mismatch"
runs_on web b b || fail "web left b"
pass "heartbeat_ms mismatch: both logs name it, web runs once (on b)"
stop9 a; stop9 b
