# The fenced-store example (examples/fenced/, docs/design/quorum.md §4.5):
# an old owner that decided to write, was paused (SIGSTOP) and replaced
# by a new owner with a higher token, has its late write refused, and
# the store holds the new owner's data, across a restart of the store
# too. The tokens stand for BATON_EPOCH; test_quorum_fenced.sh is the
# end-to-end run, with batond granting them to a quorum app.
source "$(dirname "$0")/lib.sh"

FD="$BIN/examples/fenced"
FC="$BIN/examples/fenced-client"
[ -x "$FD" ] && [ -x "$FC" ] || fail "build the examples first ($FD, $FC)"
SOCK="$T/fenced.sock"
STATE="$T/fenced.state"

start_store() {
    rm -f "$T/fenced.out" # (a previous start's "ready" is not this one's)
    "$FD" "$SOCK" "$STATE" > "$T/fenced.out" 2> "$T/fenced.log" &
    PIDS[fenced]=$!
    wait_for 10 grep -q '^ready$' "$T/fenced.out" || fail "fenced did not start"
}
# as TOKEN ARGS...: the client as an owner whose BATON_EPOCH is TOKEN.
as() {
    local token=$1
    shift
    BATON_EPOCH=$token "$FC" "$SOCK" "$@"
}
stopped() { [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ]; }

start_store
out=$(as 5 put data from-old-1) || fail "owner 5's first write: $out"
[ "$out" = OK ] || fail "owner 5's first write answered '$out'"
[ "$(as 5 token)" = "TOKEN 5" ] || fail "the store did not keep token 5"
pass "owner 5 writes"

# Owner 5 is about to write again (connected, request ready) when it is
# paused. Its "go" is written while it is stopped: it cannot act on it.
mkfifo "$T/go"
exec 3<> "$T/go"
BATON_EPOCH=5 "$FC" -w "$SOCK" put data from-old-2 < "$T/go" > "$T/old.out" 2>&1 &
PIDS[old]=$!
wait_for 10 grep -q '^holding$' "$T/old.out" || fail "owner 5 did not get ready to write"
kill -STOP "${PIDS[old]}"
wait_for 5 stopped "${PIDS[old]}" || fail "owner 5 is not stopped"
echo go >&3
pass "owner 5 paused holding a write"

# Meanwhile the app moved: the new owner's token is higher.
out=$(as 6 put data from-new) || fail "owner 6's write: $out"
[ "$out" = OK ] || fail "owner 6's write answered '$out'"
out=$(as 6 put other from-new) || fail "owner 6's second write (same token): $out"
pass "owner 6 writes"

# Owner 5 wakes up and sends what it held.
kill -CONT "${PIDS[old]}"
rc=0
wait "${PIDS[old]}" || rc=$?
unset 'PIDS[old]'
exec 3>&-
out=$(cat "$T/old.out")
[ $rc -eq 1 ] || fail "owner 5's late write exited $rc (want 1, refused): $out"
grep -qx 'holding' "$T/old.out" && grep -qx 'ERR stale token 5 < 6' "$T/old.out" ||
    fail "owner 5's late write answered: $out"
[ "$(as 6 get data)" = "VALUE from-new" ] || fail "data is not the new owner's: $(as 6 get data)"
pass "owner 5's late write refused (ERR stale token 5 < 6); data is owner 6's"

# The highest token is durable: a restarted store still refuses owner 5.
kill -KILL "${PIDS[fenced]}"
wait "${PIDS[fenced]}" 2>/dev/null || true
unset 'PIDS[fenced]'
start_store
[ "$(as 0 token)" = "TOKEN 6" ] || fail "after a restart the token is $(as 0 token)"
out=$(as 5 put data again) && fail "after a restart owner 5's write was accepted: $out"
[ "$out" = "ERR stale token 5 < 6" ] || fail "after a restart owner 5 got '$out'"
[ "$(as 6 get data)" = "VALUE from-new" ] || fail "after a restart data is $(as 6 get data)"
[ "$(as 6 get other)" = "VALUE from-new" ] || fail "after a restart other is $(as 6 get other)"
out=$(as 7 put data from-7) || fail "owner 7's write: $out"
pass "after a restart: token 6 kept, owner 5 refused, owner 7 accepted"

# The client writes under the instance's current token: BATON_EPOCH_FILE
# (raised by batond after a heal) before BATON_EPOCH (the start's).
echo 8 > "$T/epoch"
out=$(BATON_EPOCH=7 BATON_EPOCH_FILE="$T/epoch" "$FC" "$SOCK" put data from-8) ||
    fail "the write under BATON_EPOCH_FILE's token: $out"
[ "$(as 0 token)" = "TOKEN 8" ] || fail "BATON_EPOCH_FILE's token not used: $(as 0 token)"
out=$(as 7 put data late) && fail "owner 7 accepted after token 8: $out"
pass "BATON_EPOCH_FILE's token (8) is used over BATON_EPOCH (7)"
