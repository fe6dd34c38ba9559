# The read-only control socket (issue 14 item 2, docs/control.md
# "Read-only socket"): [node] control_socket_ro is mode 666 (or 660 with
# control_group) and answers lookups only; every other request gets
# "denied". As root, the lookups are made as the user nobody, who cannot
# use the main socket.
source "$(dirname "$0")/lib.sh"

RO=$T/a-ro.sock
APP_SECTIONS="[app svc]
nodes = a@local
name = svc.name
address = 127.0.0.1:7000
start = sh -c 'trap \"exit 0\" TERM; while :; do sleep 0.05; done'"
cluster 1
sed -i "/^\[node\]/a control_socket_ro = $RO" "$T/a.ini" # one [node] section
chmod 711 "$T" # another user reaches the sockets, and lists nothing
start a
wait_for 10 runs_on svc a a || fail "svc never ran"
[ "$(stat -c %a "$RO")" = 666 ] || fail "the read-only socket is mode $(stat -c %a "$RO"), not 666"
[ "$(stat -c %a "$T/a.sock")" = 600 ] || fail "the main socket is mode $(stat -c %a "$T/a.sock")"

# as_user CMD...: CMD as nobody when this test runs as root, else as is.
as_user() {
    if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
        setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
    else
        "$@"
    fi
}
roctl() { as_user "$BIN/batonctl" -s "$RO" "$@"; }
roctl status | grep -q "a@local" || fail "status on the read-only socket: $(roctl status 2>&1)"
roctl apps | grep -q "svc" || fail "apps on the read-only socket: $(roctl apps 2>&1)"
[ "$(roctl whereis svc.name --address)" = 127.0.0.1:7000 ] || fail "whereis on the read-only socket: $(roctl whereis svc.name 2>&1)"
roctl names | grep -q "svc.name" || fail "names on the read-only socket"
pass "the read-only socket answers status, apps, whereis, names"
rc=0; as_user timeout 2 "$BIN/batonctl" -s "$RO" watch --json > "$T/watch.out" 2>&1 || rc=$?
[ "$rc" = 124 ] || fail "watch on the read-only socket ended with $rc (not cut by timeout): $(cat "$T/watch.out")"
! grep -q denied "$T/watch.out" || fail "watch on the read-only socket: $(cat "$T/watch.out")"
pass "the read-only socket streams events (batonctl watch)"
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
    as_user "$BIN/batonctl" -s "$T/a.sock" status > /dev/null 2> "$T/main.err" &&
        fail "nobody could use the main socket"
    grep -q "Permission denied" "$T/main.err" || fail "the main socket as nobody: $(cat "$T/main.err")"
    pass "as nobody: the main socket refuses, the read-only one answers"
fi

roctl permit svc false > "$T/permit.out" 2>&1 && fail "permit on the read-only socket exited 0"
grep -q "denied" "$T/permit.out" || fail "permit on the read-only socket: $(cat "$T/permit.out")"
roctl drain > "$T/drain.out" 2>&1 && fail "drain on the read-only socket exited 0"
grep -q "denied" "$T/drain.out" || fail "drain on the read-only socket: $(cat "$T/drain.out")"
roctl register x --hold > "$T/reg.out" 2>&1 && fail "register on the read-only socket exited 0"
grep -q "(denied)" "$T/reg.out" || fail "register on the read-only socket: $(cat "$T/reg.out")"
roctl reregister svc.name > "$T/rereg.out" 2>&1 && fail "reregister on the read-only socket exited 0"
grep -q "(denied)" "$T/rereg.out" || fail "reregister on the read-only socket: $(cat "$T/rereg.out")"
roctl call svc.name hi > "$T/call.out" 2>&1 && fail "call on the read-only socket exited 0"
grep -q "(denied)" "$T/call.out" || fail "call on the read-only socket: $(cat "$T/call.out")"
runs_on svc a a || fail "svc moved"
ctl a whereis svc.name | grep -q "a@local" || fail "svc.name moved"
pass "permit, drain, register, reregister, call on the read-only socket: denied, nothing changed"

# control_group: 660 and that group; an unknown group refuses the file.
stop9 a
grp=$(id -gn nobody 2>/dev/null || echo nogroup)
sed -i "s|^control_socket_ro = .*|&\ncontrol_group = $grp|" "$T/a.ini"
start a
wait_for 10 test -S "$RO" || fail "no read-only socket after the restart"
wait_for 10 runs_on svc a a || fail "svc never ran after the restart"
[ "$(stat -c '%a %G' "$RO")" = "660 $grp" ] || fail "with control_group: $(stat -c '%a %G' "$RO")"
sed "s|^control_group = .*|control_group = no-such-group-x|" "$T/a.ini" > "$T/bad.ini"
"$BIN/batond" --check -c "$T/bad.ini" > /dev/null 2> "$T/check.err" && fail "--check accepted an unknown control_group"
grep -q 'control_group: no group "no-such-group-x"' "$T/check.err" || fail "--check: $(cat "$T/check.err")"
pass "control_group: mode 660 and that group; an unknown group refuses the config"
