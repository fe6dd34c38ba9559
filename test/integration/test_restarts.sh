# Local restarts after a crash (docs/design/supervision.md §3, §5): a
# restart is its own start type, never re-fed a takeover's state file
# (which goes once the instance that read it is gone), and max_restarts
# restarts are made within the window before the next crash fails the
# app over (OTP's supervisor intensity).
source "$(dirname "$0")/lib.sh"

cat > "$T/app.sh" <<'APP'
#!/bin/sh
state=none
[ -n "$BATON_STATE_FILE" ] && state=$(cat "$BATON_STATE_FILE")
echo "$BATON_NODE $BATON_START_TYPE from=$BATON_FROM_NODE state=$state file=$BATON_STATE_FILE pid=$$" >> "$1"
trap 'exit 0' TERM
while :; do sleep 0.05; done
APP
chmod +x "$T/app.sh"
APP_SECTIONS="[app web]
nodes = a@local, b@local
failover_timeout = 0
start = $T/app.sh $T/starts
state_export = sh -c 'echo state-of-\$BATON_NODE'
max_restarts = 2
restart_window = 600000"
cluster 2
start b
wait_for 10 runs_on web b b || fail "web never ran on b"
start a
wait_for 10 runs_on web a a b || fail "a did not take web over"
wait_for 5 grep -q "^a@local takeover from=b@local state=state-of-b@local" "$T/starts" ||
    fail "no takeover with b's state"
file=$(awk '/^a@local takeover/ {sub("file=","",$5); print $5}' "$T/starts")
[ -f "$file" ] || fail "the state file $file is not there while its instance runs"
pass "takeover on a with b's state in $file"

# last_pid: the pid of the newest instance on a.
last_pid() { awk '/^a@local/ {sub("pid=","",$NF); p=$NF} END {print p}' "$T/starts"; }
a_starts() { grep -c '^a@local' "$T/starts"; }
# a_started N: a has started web N times.
a_started() { [ "$(a_starts)" -eq "$1" ]; }
kill -KILL "$(last_pid)"
wait_for 10 a_started 2 || fail "no restart after the crash"
line=$(grep '^a@local' "$T/starts" | tail -1)
case $line in
"a@local restart from= state=none file= pid="*) ;;
*) fail "the restart was not a plain restart: $line" ;;
esac
[ ! -e "$file" ] || fail "the takeover's state file $file is still there after the restart"
grep -q "app web: started (pid [0-9]*, epoch [0-9]*, restart)" "$T/a.log" ||
    fail "the log does not call the restart a restart"
pass "crash: restarted as 'restart', without the old state, and its file is gone"

kill -KILL "$(last_pid)"
wait_for 10 a_started 3 || fail "no second restart"
grep -q "app web: killed by signal 9; restarting (2 of 2 within" "$T/a.log" ||
    fail "the second restart is not counted as 2 of 2"
kill -KILL "$(last_pid)"
wait_for 10 grep -q "app web: killed by signal 9; no restarts left: failing it over" "$T/a.log" ||
    fail "the crash after max_restarts restarts did not fail web over"
wait_for 10 runs_on web b a b || fail "web did not fail over to b"
sleep 0.5
[ "$(a_starts)" -eq 3 ] || fail "a started web $(a_starts) times, not 1 + max_restarts (2)"
pass "max_restarts = 2: two restarts, the third crash failed web over to b"

# state_dir: the test's configs name one ($T/state-NODE, lib.sh); the
# default is BASE/CLUSTER/NODE, CLUSTER a hash of the cookie.
case $file in
"$T/state-a/web."*) ;;
*) fail "the state file $file is not in a's state_dir $T/state-a" ;;
esac
[ -z "$(ls "$T/state-a")" ] || fail "a's state_dir still holds files of a stopped app: $(ls "$T/state-a")"
pass "state files go to state_dir, and nothing is left there once the app stopped here"

stop9 a
stop9 b
DIRS=()
cleanup_dirs() {
    local rc=$? d
    for d in "${DIRS[@]}"; do rm -rf "$d"; done
    (exit $rc)
    cleanup
}
trap cleanup_dirs EXIT
if [ "$(id -u)" -eq 0 ]; then
    base=/var/lib/baton
elif [ -n "${XDG_RUNTIME_DIR:-}" ]; then
    base=$XDG_RUNTIME_DIR/baton
else
    base=/tmp/baton-$(id -u)
fi
sed -i '/^state_dir/d' "$T/a.ini"
# default_dir: the state_dir a batond with a.ini logs (debug) at start.
default_dir() {
    : > "$T/default.log"
    "$BIN/batond" -c "$T/a.ini" 2> "$T/default.log" &
    PIDS[d]=$!
    wait_for 5 grep -q "DEBUG state_dir " "$T/default.log" || fail "no state_dir line: $(cat "$T/default.log")"
    stop9 d
    sed -n 's/.*DEBUG state_dir //p' "$T/default.log"
}
d1=$(default_dir)
DIRS+=("$(dirname "$d1")")
case $d1 in
"$base"/[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]/a@local) ;;
*) fail "the default state_dir is $d1, not $base/<8 hex digits>/a@local" ;;
esac
[ -d "$d1" ] || fail "the default state_dir $d1 was not made"
cookie "$T/cookie" # another cluster on this host, with the same node names
d2=$(default_dir)
DIRS+=("$(dirname "$d2")")
[ "$d1" != "$d2" ] && [ "$(dirname "$d2")" != "$(dirname "$d1")" ] ||
    fail "two clusters (cookies) share the default state_dir $d1"
pass "default state_dir: $base/<cookie hash>/<node>, one per cluster"
