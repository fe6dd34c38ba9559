# A takeover's state that the new owner cannot write (a full disk): the
# app starts without state and the log says so; no partial or temporary
# file is left; batond leaks no fd, however often it happens.
source "$(dirname "$0")/lib.sh"

A=sa$$
B=sb$$
SDIR=$T/state-$A # A's state_dir
MNT=""
cleanup_state() {
    local rc=$?
    set +e
    if [ -n "$MNT" ]; then umount -l "$MNT" 2>/dev/null || true; fi # lazy: a leaked fd may hold it
    chmod 700 "$SDIR" 2>/dev/null || true
    (exit $rc)
    cleanup
}
trap cleanup_state EXIT

mkdir -m 700 "$SDIR"
if [ "$(id -u)" = 0 ]; then
    # A full filesystem: 8 KiB of tmpfs, half taken, and 32 KiB of state
    # (its first part fits, so the write fails part way).
    mount -t tmpfs -o size=8k,mode=700 tmpfs "$SDIR" || fail "cannot mount a tmpfs on $SDIR"
    MNT=$SDIR
    head -c 4096 /dev/zero > "$SDIR/fill" 2>/dev/null || true
    why="No space left on device"
else
    echo "not root: no tmpfs; the state directory is made unwritable instead"
    chmod 500 "$SDIR"
    why="Permission denied"
fi

cookie "$T/cookie"
for me in $A $B; do
    {
        echo "[node]"
        echo "name = $me@local"
        echo "cookie_file = cookie"
        echo "control_socket = $T/$me.sock"
        echo "log_level = debug"
        echo "state_dir = state-$me"
        echo "[nodes]"
        echo "$A@local = 127.0.0.1:$BASE"
        echo "$B@local = 127.0.0.1:$((BASE + 1))"
        echo "[app web]"
        echo "nodes = $A@local, $B@local"
        echo "failover_timeout = 0"
        echo "start = sh -c 'echo \"\$BATON_NODE \$BATON_START_TYPE state=[\$BATON_STATE_FILE]\" >> $T/web.starts; trap \"exit 0\" TERM; while :; do sleep 0.05; done'"
        echo "state_export = sh -c 'head -c 32768 /dev/zero | tr \"\\\\0\" x'"
    } > "$T/$me.ini"
done

start $B
wait_for 10 runs_on web $B $B || fail "web never ran on $B"
start $A
wait_for 10 runs_on web $A $A $B || fail "$A did not take web over"
wait_for 5 grep -q "app web: cannot write .*: $why: it starts without state" "$T/$A.log" ||
    fail "no clear error for the state that could not be written"
wait_for 5 grep -q "^$A@local takeover state=\[\]$" "$T/web.starts" || fail "web started with a state file it could not have: $(cat "$T/web.starts")"
pass "state that cannot be written ($why): web starts without state and the log says so"

fds() { ls "/proc/${PIDS[$A]}/fd" | wc -l; }
# batond holds 3 fds for its spare shim (its stdin, stdout and stderr
# pipes), forked 50 ms after a start took the previous one: count with
# one there, both times.
spare_there() { pgrep -P "${PIDS[$A]}" -f -- "--shim --spare" > /dev/null; }
# batonctl sessions close a little after batonctl exits: a count taken
# then is high. A leak is a count that stays above the one before.
settled() { local n; n=$(fds); sleep 0.2; spare_there && [ "$n" -eq "$(fds)" ]; }
fds_are() { spare_there && [ "$(fds)" -le "$1" ]; }
wait_for 5 settled || fail "$A's fd count does not settle, or it has no spare shim"
before=$(fds)
for i in 1 2 3; do
    ctl $A permit web false > /dev/null || fail "permit false"
    wait_for 10 runs_on web $B $A $B || fail "web did not move to $B"
    ctl $A permit web true > /dev/null || fail "permit true"
    wait_for 10 runs_on web $A $A $B || fail "web did not move back to $A"
done
n=$(grep -c "app web: cannot write .*: it starts without state" "$T/$A.log")
[ "$n" -eq 4 ] || fail "$n failed state writes logged on $A, not 4"
# Sessions of batonctl may still be closing: wait for the count to settle.
wait_for 5 fds_are "$before" || fail "batond on $A leaks fds: $before before 3 more failed state writes, $(fds) after: $(ls -l "/proc/${PIDS[$A]}/fd")"
pass "3 more failed state writes: no fd leaked ($before fds before and after)"

# (web.epoch and web.address are the running instance's token file and
# address file, BATON_EPOCH_FILE and BATON_ADDRESS_FILE; settings holds
# the operator's permits, docs/config.md.)
left=$(ls -A "$SDIR" | grep -v -e '^fill$' -e '^web\.epoch$' -e '^web\.address$' -e '^settings$' || true)
[ -z "$left" ] || fail "files left in $SDIR: $left"
pass "no partial or temporary state file left behind"
