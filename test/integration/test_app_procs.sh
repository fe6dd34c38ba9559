# App processes (docs/design/supervision.md §7): an app and its helpers
# inherit fds 0-2 only; their stdout and stderr reach the log line by
# line with the app's name (long lines split); state_export's stdout is
# a pipe, so an export that writes to /dev/stdout works.
source "$(dirname "$0")/lib.sh"

cat > "$T/app.sh" <<'APP'
#!/bin/sh
echo "app-out on $BATON_NODE, state=$(cat "${BATON_STATE_FILE:-/dev/null}")"
echo "app-err on $BATON_NODE" >&2
head -c 2500 /dev/zero | tr '\0' x
printf 'no newline at the end'
exec "$1" 1000
APP
chmod +x "$T/app.sh"
ln -s "$(command -v sleep)" "$T/sleeper" # the app's process, once it runs
APP_SECTIONS="[app web]
nodes = a@local, b@local
failover_timeout = 0
start = $T/app.sh $T/sleeper
ready = command sh -c 'ls /proc/\$\$/fd | tr \"\\\\n\" \" \" > $T/ready-fds.\$BATON_NODE; echo ready-out'
state_export = sh -c 'echo exported-via-dev-stdout > /dev/stdout; echo export-err >&2'"
cluster 2
# An fd batond inherits without close-on-exec: no app or helper may get it.
exec 7> "$T/leak"
start b
exec 7>&-
wait_for 10 runs_on web b b || fail "web never ran on b"
app_fds() { ls "/proc/$(pgrep -f "^$T/sleeper 1000")/fd" | tr '\n' ' '; }
wait_for 5 pgrep -f "^$T/sleeper 1000" > /dev/null || fail "the app is not running"
[ "$(app_fds)" = "0 1 2 " ] || fail "the app inherited fds: $(app_fds)"
[ "$(cat "$T/ready-fds.b@local")" = "0 1 2 " ] || fail "the ready check inherited fds: $(cat "$T/ready-fds.b@local")"
ls -l "/proc/${PIDS[b]}/fd" | grep -q "$T/leak" || fail "batond did not inherit the test's fd 7 (the test proves nothing)"
pass "the app and its ready check inherit fds 0-2 only"

grep -q "INFO \[app web\] app-out on b@local, state=$" "$T/b.log" || fail "no prefixed stdout line"
grep -q "INFO \[app web\] app-err on b@local$" "$T/b.log" || fail "no prefixed stderr line"
grep -q "INFO \[app web ready\] ready-out$" "$T/b.log" || fail "no prefixed ready check line"
x1024=$(head -c 1024 /dev/zero | tr '\0' x)
x452=$(head -c 452 /dev/zero | tr '\0' x)
[ "$(grep -c "\[app web\] $x1024$" "$T/b.log")" -eq 2 ] || fail "a 2500-byte line was not split in pieces of 1024"
pass "app and ready check output in the log, prefixed, a long line split"

start a
wait_for 10 runs_on web a a b || fail "a did not take web over"
wait_for 5 grep -q "INFO \[app web\] app-out on a@local, state=exported-via-dev-stdout$" "$T/a.log" ||
    fail "the state written to /dev/stdout did not reach the new instance"
grep -q "INFO \[app web state_export\] export-err$" "$T/b.log" || fail "no prefixed state_export stderr"
pass "state_export writes to /dev/stdout (a pipe), its stderr is logged with the app's name"
wait_for 5 grep -q "\[app web\] ${x452}no newline at the end$" "$T/b.log" ||
    fail "b's instance ended, but the last line it wrote without a newline was lost"
pass "the last line without a newline is logged when the instance ends"
