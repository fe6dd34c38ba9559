# Health monitors (docs/design/supervision.md §6): an app that stops
# working while its process lives (SIGSTOP) fails its monitor, is killed
# and restarted here (a restart counted against max_restarts), and once
# no restarts are left it is failed over; `batonctl apps` shows health.
source "$(dirname "$0")/lib.sh"

# The app bumps a counter file every 50 ms; its monitor waits for the
# counter to move, so it hangs (and hits its timeout) while the app is
# stopped.
cat > "$T/app.sh" <<'APP'
#!/bin/sh
echo "$BATON_NODE $BATON_START_TYPE pid=$$" >> "$1"
n=0
trap 'exit 0' TERM
while :; do n=$((n + 1)); echo $n > "$2.tmp"; mv "$2.tmp" "$2"; sleep 0.05; done
APP
cat > "$T/check.sh" <<'CHECK'
#!/bin/sh
echo "checking $1"
a=$(cat "$1")
while [ "$(cat "$1")" = "$a" ]; do sleep 0.05; done
CHECK
chmod +x "$T/app.sh" "$T/check.sh"
APP_SECTIONS="[app web]
nodes = a@local, b@local
failover_timeout = 0
start = $T/app.sh $T/starts $T/beat
monitor = $T/check.sh $T/beat
monitor_interval_ms = 200
monitor_timeout_ms = 1000
monitor_failures = 2
max_restarts = 1
restart_window = 600000

[app plain]
nodes = b@local, a@local
start = sleep 1000"
cluster 2
start a
start b
wait_for 10 runs_on web a a b || fail "web never ran on a"
wait_for 10 runs_on plain b a b || fail "plain never ran on b"
health() { ctl "$1" --json apps | tr '{' '\n' | grep "\"name\":\"$2\"" | sed -n 's/.*"health":"\([^"]*\)".*/\1/p'; }
is_healthy() { [ "$(health a web)" = healthy ]; }
wait_for 10 is_healthy || fail "web's health is '$(health a web)', not healthy"
[ "$(health b web)" = "-" ] || fail "b shows health '$(health b web)' for an app it does not run"
[ "$(health b plain)" = "-" ] || fail "an app without a monitor shows '$(health b plain)'"
ctl a apps | grep -E "^web .* healthy " > /dev/null || fail "batonctl apps has no healthy column: $(ctl a apps)"
grep -q "INFO \[app web monitor\] checking $T/beat$" "$T/a.log" || fail "the monitor's output is not in the log with the app's name"
pass "a monitored app is healthy; without a monitor (or an instance here) its health is -"

last_pid() { awk '/^a@local/ {sub("pid=","",$NF); p=$NF} END {print p}' "$T/starts"; }
a_started() { [ "$(grep -c '^a@local' "$T/starts")" -eq "$1" ]; }
pid=$(last_pid)
kill -STOP "$pid"
wait_for 15 grep -q "app web: monitor timed out after 1000 ms (1 of 2)" "$T/a.log" ||
    fail "a hung monitor did not time out"
failing() { [ "$(health a web)" = "failing 1/2" ]; }
# Between the two failures (1.2 s: the interval and the timeout).
wait_for 5 failing || fail "batonctl apps did not show web failing 1/2"
wait_for 15 grep -q "app web: failed its monitor 2 times in a row: SIGKILL (pid [0-9]*)" "$T/a.log" ||
    fail "two failed checks did not kill web"
wait_for 10 grep -q "app web: failed its monitor 2 times in a row; restarting (1 of 1 within" "$T/a.log" ||
    fail "web was not restarted after its monitor failed"
wait_for 10 a_started 2 || fail "no second start of web on a"
grep -q "^a@local restart pid=" "$T/starts" || fail "the second start is not a restart"
wait_for 10 is_healthy || fail "the restarted web is not healthy: '$(health a web)'"
[ "$(pgrep -f "check.sh $T/beat" | wc -l)" -le 1 ] || fail "hung monitors were left running"
pass "SIGSTOP: the monitor timed out twice, web was killed and restarted here, healthy again"

kill -STOP "$(last_pid)"
wait_for 20 grep -q "app web: failed its monitor 2 times in a row; no restarts left: failing it over" "$T/a.log" ||
    fail "web was not failed over once its restarts were used up"
wait_for 10 runs_on web b a b || fail "web did not move to b"
grep -q "^b@local failover pid=" "$T/starts" || fail "b did not start web as a failover"
wait_for 10 grep -q "app web: ready" "$T/b.log" || fail "web not ready on b"
[ "$(health a web)" = "-" ] || fail "a still shows health '$(health a web)' for web"
pass "restarts used up: web failed over to b"

sed 's/^monitor_failures = 2/monitor_failures = 0/' "$T/a.ini" > "$T/bad.ini"
if "$BIN/batond" --check -c "$T/bad.ini" > /dev/null 2> "$T/check.err"; then
    fail "--check accepted monitor_failures = 0"
fi
grep -q 'monitor_failures: "0" is not 1..1000' "$T/check.err" || fail "unclear error: $(cat "$T/check.err")"
"$BIN/batond" --check -c "$T/a.ini" > /dev/null || fail "--check refused the monitor keys"
pass "--check takes the monitor keys and refuses a bad one"
