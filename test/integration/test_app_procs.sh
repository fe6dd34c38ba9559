# App processes (docs/design/supervision.md §7): an app and its helpers
# inherit fds 0-2 only; their stdout and stderr reach the log line by
# line with the app's name (long lines split); state_export's stdout is
# a pipe, so an export that writes to /dev/stdout works.
source "$(dirname "$0")/lib.sh"

cat > "$T/app.sh" <<'APP'
#!/bin/sh
echo "app-out on $BATON_NODE, state=$(cat "${BATON_STATE_FILE:-/dev/null}")"
echo "app-err on $BATON_NODE" >&2
echo "appvar=$APPVAR"
printf 'a\rcarriage \033[2Jreturn\n'
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
env = APPVAR=from-env-key
ready = command sh -c 'ls -l /proc/\$\$/fd > $T/ready-fds.\$BATON_NODE; echo ready-out'
state_export = sh -c 'echo exported-via-dev-stdout > /dev/stdout; echo export-err >&2'"
cluster 2
# An fd batond inherits without close-on-exec: no app or helper may get it.
exec 7> "$T/leak"
APPVAR=from-batond start b # env= must win, in a shell too
exec 7>&-
wait_for 10 runs_on web b b || fail "web never ran on b"
app_fds() { ls "/proc/$(pgrep -f "^$T/sleeper 1000")/fd" | tr '\n' ' '; }
wait_for 5 pgrep -f "^$T/sleeper 1000" > /dev/null || fail "the app is not running"
[ "$(app_fds)" = "0 1 2 " ] || fail "the app inherited fds: $(app_fds)"
# The check's shell opens fds of its own (dash keeps a copy of stdout
# while it redirects): none may be the leaked file or one of batond's.
! grep -E "$T/leak|socket:|anon_inode:" "$T/ready-fds.b@local" ||
    fail "the ready check inherited fds: $(cat "$T/ready-fds.b@local")"
ls -l "/proc/${PIDS[b]}/fd" | grep -q "$T/leak" || fail "batond did not inherit the test's fd 7 (the test proves nothing)"
pass "the app and its ready check inherit fds 0-2 only"

grep -q "INFO \[app web\] app-out on b@local, state=$" "$T/b.log" || fail "no prefixed stdout line"
grep -q "INFO \[app web\] app-err on b@local$" "$T/b.log" || fail "no prefixed stderr line"
grep -q "INFO \[app web\] appvar=from-env-key$" "$T/b.log" || fail "env = APPVAR=... lost to batond's APPVAR: $(grep appvar= "$T/b.log")"
grep -q "INFO \[app web ready\] ready-out$" "$T/b.log" || fail "no prefixed ready check line"
grep -q "INFO \[app web\] a?carriage ?\[2Jreturn$" "$T/b.log" || fail "control bytes reached the log"
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

# user = / group = (as root only: without root, batond refuses them).
stop9 a
stop9 b
if [ "$(id -u)" -ne 0 ]; then
    echo "user/group: skipped: not root (batond must be root to change an app's user)"
    exit 0
fi
getent passwd nobody > /dev/null && getent group nogroup > /dev/null ||
    fail "this host has no user nobody or group nogroup"
uid=$(id -u nobody)
gid=$(id -g nobody)
grp=$(getent group nogroup | cut -d: -f3)
# Inline commands: nobody cannot list the test's directory; it may pass
# through it to its files in the state_dirs (the cookie stays 600).
chmod 711 "$T"
APP_SECTIONS="[app web]
nodes = a@local, b@local
failover_timeout = 0
user = nobody
start = sh -c 'echo \"ids=\$(id -u):\$(id -g):\$(id -G) state=\$(cat \$BATON_STATE_FILE) epoch=\$(cat \$BATON_EPOCH_FILE) home=\$HOME user=\$USER\"; exec sleep 1000'
ready = command sh -c 'echo ready-ids=\$(id -u):\$(id -g)'
state_export = sh -c 'echo export-by-\$(id -u)'

[app grouped]
nodes = a@local
group = nogroup
start = sh -c 'echo \"grouped-ids=\$(id -u):\$(id -g):\$(id -G)\"; exec sleep 1000'"
cluster 2
start b
wait_for 10 runs_on web b b || fail "web never ran on b as nobody"
wait_for 5 grep -q "\[app web\] ids=$uid:$gid:" "$T/b.log" || fail "the app does not run as nobody: $(grep ids= "$T/b.log")"
grep -q "\[app web ready\] ready-ids=$uid:$gid$" "$T/b.log" || fail "the ready check does not run as nobody"
start a
wait_for 10 runs_on web a a b || fail "a did not take web over"
wait_for 5 grep -q "\[app web\] ids=$uid:$gid:.* state=export-by-$uid epoch=[0-9]" "$T/a.log" ||
    fail "the app on a (nobody) did not get the state nobody's export wrote, or cannot read its files: $(grep 'ids=' "$T/a.log")"
grep -q "\[app web\] ids=$uid:.* home=$(getent passwd nobody | cut -d: -f6) user=nobody$" "$T/a.log" ||
    fail "HOME and USER are not nobody's: $(grep 'ids=' "$T/a.log")"
wait_for 5 grep -q "\[app grouped\] grouped-ids=0:$grp:$grp$" "$T/a.log" ||
    fail "group = nogroup alone: $(grep grouped-ids "$T/a.log")"
pass "user = nobody: app, ready check and state_export run as nobody, which reads its state and epoch files; group alone keeps root with that group only"

sed 's/^user = nobody/user = no-such-user-baton/' "$T/a.ini" > "$T/bad.ini"
if "$BIN/batond" --check -c "$T/bad.ini" > /dev/null 2> "$T/check.err"; then
    fail "--check accepted an unknown user"
fi
grep -q '\[app web\] user: no user "no-such-user-baton" on this host' "$T/check.err" || fail "unclear error: $(cat "$T/check.err")"
pass "an unknown user is refused when the config is read, clearly"

# A batond that is not root refuses another user than its own (nobody
# runs --check on a readable copy of the config: the [app] keys are read
# before the cookie file, which nobody cannot read), and takes its own.
sed 's/^user = nobody/user = root/' "$T/a.ini" > "$T/a-public.ini"
chmod 644 "$T/a-public.ini"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
if as_nobody "$BIN/batond" --check -c "$T/a-public.ini" > /dev/null 2> "$T/check.err"; then
    fail "a batond running as nobody accepted user = root"
fi
grep -q "\[app web\] user: batond runs as uid $uid, not root: it cannot run apps as user root" "$T/check.err" ||
    fail "unclear error for a non-root batond: $(cat "$T/check.err")"
install -m 644 "$T/a.ini" "$T/a-public.ini"
as_nobody "$BIN/batond" --check -c "$T/a-public.ini" > /dev/null 2> "$T/check.err" || true
if grep -q "not root" "$T/check.err"; then
    fail "a batond running as nobody refused user = nobody: $(cat "$T/check.err")"
fi
pass "a batond that is not root refuses to run apps as someone else, clearly, and takes its own user"
