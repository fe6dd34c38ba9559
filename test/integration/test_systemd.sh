# batond under a service manager (docs/config.md "Running under systemd"):
# READY=1 only once it has joined the cluster, STATUS= with role,
# coordinator and apps, WATCHDOG=1 pings, STOPPING=1 on SIGTERM; the
# variables are not passed on to apps; "<N>" log lines when stderr is
# the journal.
source "$(dirname "$0")/lib.sh"

APP_SECTIONS="[app web]
nodes = b@local, a@local
start = sh -c 'env > \"$T/web.env\"; exec sleep 600'"
cluster 2
python3 "$(dirname "$0")/notify_listen.py" "$T/notify.sock" "$T/notify.out" &
PIDS[listener]=$!
wait_for 5 test -S "$T/notify.sock" || fail "no notify listener"

# a alone: b (first for web) is not there; a joins once its sync window
# has passed: READY then, not before the daemon is up.
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=200000 start a
wait_for 10 grep -q "READY=1" "$T/notify.out" || fail "no READY=1"
grep -q "STATUS=coordinator, coordinator a@local, " "$T/notify.out" ||
    fail "READY without STATUS: $(cat "$T/notify.out")"
pass "READY=1 with $(grep -A1 "^READY=1" "$T/notify.out" | tail -1)"
wait_for 10 grep -q "STATUS=coordinator, coordinator a@local, 1 app running here" "$T/notify.out" ||
    fail "STATUS did not follow web starting on a: $(cat "$T/notify.out")"
wait_for 5 test -s "$T/web.env" || fail "web did not start"
grep -qE "^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID)=" "$T/web.env" &&
    fail "an app inherited batond's notify variables"
pass "STATUS follows the apps; the app has no NOTIFY_SOCKET"
ctl a --json apps | grep -qE '"name":"web",[^}]*"epoch":"[1-9][0-9]*"' ||
    fail "an app's epoch is not a decimal string: $(ctl a --json apps)"
ctl a apps | grep -qE "^web +running +a@local +[1-9][0-9]* " || fail "apps: $(ctl a apps)"
pass "app epochs are strings in JSON"
start b
wait_for 10 runs_on web b a b || fail "web did not move to b"
wait_for 10 grep -q "STATUS=.*0 apps running here" "$T/notify.out" ||
    fail "STATUS did not follow web leaving a"
n=$(grep -c "^WATCHDOG=1" "$T/notify.out")
[ "$n" -ge 3 ] || fail "only $n WATCHDOG=1 pings (every 100 ms expected)"
pass "WATCHDOG=1 pings: $n"
kill -TERM "${PIDS[a]}"
wait "${PIDS[a]}" || fail "a did not exit 0"
unset "PIDS[a]"
# The listener may not have written the last datagram yet.
wait_for 5 grep -q "STOPPING=1" "$T/notify.out" || fail "no STOPPING=1"
# No app here then: 0 to hand over, web's stop_timeout 5000, 5000 margin.
wait_for 5 grep -q "^EXTEND_TIMEOUT_USEC=10000000$" "$T/notify.out" ||
    fail "no EXTEND_TIMEOUT_USEC=10000000: $(grep EXTEND "$T/notify.out")"
pass "STOPPING=1 and EXTEND_TIMEOUT_USEC on SIGTERM"

# Journal: stderr's own dev:ino in JOURNAL_STREAM -> "<N>" lines.
js=$(stat -c '%d:%i' "$T/journal.log" 2> /dev/null || { : > "$T/journal.log"; stat -c '%d:%i' "$T/journal.log"; })
JOURNAL_STREAM=$js "$BIN/batond" -c "$T/a.ini" 2>> "$T/journal.log" &
PIDS[a]=$!
wait_for 10 grep -q "^<6>batond a@local started" "$T/journal.log" ||
    fail "no <6> line: $(head -3 "$T/journal.log")"
wait_for 5 grep -q "^<7>" "$T/journal.log" || fail "no <7> debug line"
grep -qvE "^<[0-7]>" "$T/journal.log" && fail "a line without a level: $(grep -vE '^<[0-7]>' "$T/journal.log" | head -1)"
pass "journal: $(head -1 "$T/journal.log")"
# Another stream's JOURNAL_STREAM (stderr is not the journal): as before.
stop9 a
JOURNAL_STREAM=1:1 "$BIN/batond" -c "$T/a.ini" 2>> "$T/plain.log" &
PIDS[a]=$!
wait_for 10 grep -qE "^[0-9-]+T[0-9:.]+Z INFO batond a@local started" "$T/plain.log" ||
    fail "not plain lines: $(head -3 "$T/plain.log")"
pass "plain lines when stderr is not the journal"
