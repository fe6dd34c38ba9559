# batond always exits on SIGTERM, and leaves no app process behind:
# - the shim gets the group's SIGTERM before it has forked the app (an app
#   started just before shutdown): the app must not run on;
# - an app that does not end on SIGTERM: the core's STOP that follows
#   batond's own drain must not cancel the stop_timeout SIGKILL.
source "$(dirname "$0")/lib.sh"

gone() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '/^State/ {print $2}' "/proc/$1/status" 2>/dev/null)" = Z ]; }

# 1. The shim, started with a SIGTERM already pending (blocked by its
# parent, kept across exec): the state of a shim that the group's SIGTERM
# reached before its fork. The app must never run and the shim must end.
python3 -c '
import os, signal, sys
os.setsid()  # the shim leads its own group, as under batond
r, w = os.pipe()  # its stdin, as the pipe from batond; the shim holds it open
os.dup2(r, 0)
os.set_inheritable(w, True)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
os.kill(os.getpid(), signal.SIGTERM)
os.execv(sys.argv[1], sys.argv[1:])
' "$BIN/batond" --shim -- sh -c "echo \$\$ > $T/early.pid; exec sleep 300" &
shim=$!
wait_for 10 gone "$shim" || { kill -KILL -- "-$shim"; fail "the shim ignored a SIGTERM that came before its fork"; }
rc=0; wait "$shim" || rc=$?
[ "$rc" -eq $((128 + 15)) ] || fail "the shim ended with $rc, not as killed by SIGTERM (143)"
if [ -s "$T/early.pid" ]; then
    p=$(cat "$T/early.pid")
    gone "$p" || { kill -KILL "$p"; fail "the app (pid $p) runs on after a SIGTERM sent before its start"; }
    fail "the app was started although its SIGTERM came first"
fi
pass "a SIGTERM that reaches the shim before its fork: the app never runs, the shim ends by SIGTERM"

# 2. batond with an app that ignores SIGTERM: batond's drain stops it,
# then the core's STOP comes; stop_timeout's SIGKILL must still fire.
APP_SECTIONS="[app stubborn]
nodes = a@local
failover_timeout = 0
stop_timeout = 300
start = sh -c 'trap \"\" TERM; echo \$\$ > $T/stubborn.pid; while :; do sleep 0.05; done'"
cluster 1
start a
wait_for 10 runs_on stubborn a a || fail "stubborn never ran on a"
wait_for 5 test -s "$T/stubborn.pid" || fail "stubborn wrote no pid"
app=$(cat "$T/stubborn.pid")
kill -TERM "${PIDS[a]}"
wait_for 30 gone "${PIDS[a]}" || fail "batond did not exit on SIGTERM (an app that ignores SIGTERM)"
unset "PIDS[a]"
gone "$app" || { kill -KILL "$app"; fail "stubborn (pid $app) outlived its batond"; }
grep -q "app stubborn: still running 300 ms after the stop: SIGKILL" "$T/a.log" || fail "no SIGKILL after stop_timeout logged"
pass "batond exits on SIGTERM: an app that ignores SIGTERM is SIGKILLed after stop_timeout"

# 3. A second batond on a running node's config (its control socket and
# port are taken) is refused with a reason and exits 1 (it used to abort
# in uv_close, closing driver handles it had never opened); the running
# node is untouched.
start a
wait_for 10 runs_on stubborn a a || fail "stubborn never ran on a (second start)"
rc=0; "$BIN/batond" -c "$T/a.ini" 2> "$T/second.err" || rc=$?
[ "$rc" -eq 1 ] || fail "a second batond on a.ini ended with $rc, not 1: $(cat "$T/second.err")"
grep -q "control socket $T/a.sock: another node is running there" "$T/second.err" ||
    fail "unclear refusal: $(cat "$T/second.err")"
sed "s|$T/a.sock|$T/other.sock|" "$T/a.ini" > "$T/other.ini"
rc=0; "$BIN/batond" -c "$T/other.ini" 2> "$T/other.err" || rc=$?
[ "$rc" -eq 1 ] || fail "a second batond on a's port ended with $rc, not 1: $(cat "$T/other.err")"
grep -q "cannot listen on 127.0.0.1:" "$T/other.err" || fail "unclear refusal: $(cat "$T/other.err")"
kill -0 "${PIDS[a]}" || fail "the running batond died"
[ "$(coord a)" = "a@local" ] || fail "the running node lost its coordinator role"
pass "a second batond on a running node's socket or port exits 1 with the reason; the first runs on"
