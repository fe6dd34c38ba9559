# Apps with real child processes: failover on kill -9 of the owner's
# batond (and no orphan left behind), takeover when it returns, a
# crashing app, a start command that does not exist, definitions that
# differ, permit/takeover from batonctl.
source "$(dirname "$0")/lib.sh"

cat > "$T/app.sh" <<'APP'
#!/bin/sh
state=none
[ -n "$BATON_STATE_FILE" ] && state=$(cat "$BATON_STATE_FILE")
echo "$BATON_NODE $BATON_START_TYPE from=$BATON_FROM_NODE epoch=$BATON_EPOCH state=$state pid=$$" >> "$1"
trap 'exit 0' TERM
while :; do sleep 0.05; done
APP
chmod +x "$T/app.sh"
APP_SECTIONS="[app web]
nodes = a@local, {b@local c@local}
failover_timeout = 0
start = $T/app.sh $T/web.starts
state_export = sh -c 'echo handed-over-by-\$BATON_NODE'

[app crashy]
nodes = c@local, b@local, a@local
failover_timeout = 0
start = sh -c 'exit 3'
max_restarts = 2

[app ghost]
nodes = b@local, c@local
start = /nonexistent/ghost-binary
max_restarts = 1"
cluster 3
for n in a b c; do start $n; done
wait_for 10 runs_on web a a b c || fail "web never ran on a"
wait_for 5 grep -q "a@local normal from= epoch=" "$T/web.starts" || fail "no normal start on a"
pass "web runs on a (normal), all nodes agree"

wait_for 10 grep -q "app crashy: .*no restarts left: failing it over" "$T/c.log" || fail "crashy was not failed over by c"
wait_for 10 grep -q "app crashy: .*no restarts left" "$T/a.log" || fail "crashy did not go round to a"
pass "crashy: restarted locally, then failed over (not left running nowhere)"
wait_for 10 grep -q 'cannot run "/nonexistent/ghost-binary"' "$T/b.log" || fail "no clear error for a missing start command"
pass "ghost: a missing command is a clear error and a failed start"

pid=$(awk '/^a@local/ {sub("pid=","",$NF); print $NF}' "$T/web.starts" | tail -1)
kill -0 "$pid" || fail "web's process is not running"
# Every batond keeps a spare shim, forked ahead (docs/design/supervision.md
# §2); it must not outlive its batond either.
gone_or_zombie() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
spare_a=$(pgrep -P "${PIDS[a]}" -f -- "--shim --spare" | head -1 || true)
[ -n "$spare_a" ] || fail "a's batond has no spare shim"
stop9 a
wait_for 5 runs_on web b b c || fail "web did not fail over to b"
wait_for 5 grep -q "b@local failover from=a@local" "$T/web.starts" || fail "no failover start type"
sleep 0.3
if kill -0 "$pid" 2>/dev/null && ! grep -q zombie "/proc/$pid/status" 2>/dev/null; then
    state=$(awk '/State/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ "$state" = "Z" ] || fail "orphan: web (pid $pid) still runs after its batond was killed"
fi
wait_for 5 gone_or_zombie "$spare_a" || fail "a's spare shim (pid $spare_a) outlived its batond"
pass "kill -9 of a's batond: web failed over to b; a's instance and spare shim died with it"
# b had a spare shim when web failed over: web's process is its child,
# with its own environment (BATON_* above) and no fork of batond then.
bpid=$(awk '/^b@local failover/ {sub("pid=","",$NF); print $NF}' "$T/web.starts" | tail -1)
shim=$(awk '{print $4}' "/proc/$bpid/stat")
tr '\0' ' ' < "/proc/$shim/cmdline" | grep -q -- "--shim --spare" ||
    fail "b's failover start did not go through its spare shim"
wait_for 5 pgrep -P "${PIDS[b]}" -f -- "--shim --spare" > /dev/null ||
    fail "b forked no new spare shim after the failover"
pass "the failover start on b went through b's spare shim, and b forked a new one"

start a
wait_for 10 runs_on web a a b c || fail "a did not take web back"
wait_for 5 grep -q "a@local takeover from=b@local .* state=handed-over-by-b@local" "$T/web.starts" || fail "no takeover with b's exported state"
grep -q "app web: stop here (now running on a@local)" "$T/b.log" || fail "b did not stop its instance"
pass "a back: web taken over (takeover from b) with b's state in BATON_STATE_FILE; b's instance stopped"

ctl a permit web false > /dev/null || fail "permit false"
wait_for 10 runs_on web b a b c || fail "permit false did not move web away"
ctl a permit web true > /dev/null
wait_for 10 runs_on web a a b c || fail "permit true did not bring web back"
ctl c takeover web > /dev/null || fail "takeover"
wait_for 10 runs_on web c a b c || fail "takeover did not move web to c"
sleep 1
runs_on web c a b c || fail "web did not stay on c (pinned)"
pass "permit false/true moves web away and back; takeover pins it on c"
ctl a apps | grep -q "^web " || fail "batonctl apps lists no web"
if msg=$(ctl a permit nosuchapp true 2>&1); then fail "permit of an unknown app succeeded"; fi
grep -q 'unknown app "nosuchapp"' <<< "$msg" || fail "unclear error: $msg"
pass "batonctl apps and a clear error for an unknown app"
