# examples/redis (issue 14, "Done when"): three batond nodes run Debian's
# redis-server as an app. SIGSTOP makes its monitor fail: redis is
# restarted here (a new pid), and once its restarts are used up it fails
# over; the example's client follows it through the read-only socket;
# keys written before a planned takeover (batonctl takeover, drain) are
# there after it (state_export -> BATON_STATE_FILE).
source "$(dirname "$0")/lib.sh"

for p in redis-server redis-cli; do
    $p --version > /dev/null 2>&1 ||
        fail "$p is missing (or does not run): install it with scripts/setup.sh (redis-server, redis-tools)"
done
EX=$(cd "$(dirname "$0")/../../examples/redis" && pwd)
RP=$((BASE + 10)) # redis on RP, RP+1, RP+2 (a, b, c)

# batond's SIGKILL (lib.sh's cleanup) leaves its apps running: their
# redis-server pids are in the files redis-app writes.
cleanup_redis() {
    local rc=$? f pid
    set +e
    if [ $rc -ne 0 ]; then
        # batond's decisions about redis (its own output fills the tails).
        for f in "$T"/?.log; do echo "== $f: app redis" >&2; grep "app redis:" "$f" | tail -25 >&2; done
        echo "== the client" >&2
        tail -5 "$T/client.out" >&2
    fi
    for f in "$T"/redis-?/redis.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        if grep -q redis-server "/proc/$pid/cmdline" 2> /dev/null; then
            kill -CONT "$pid"
            kill -KILL "$pid"
        fi
    done
    (exit $rc)
    cleanup
}
trap cleanup_redis EXIT

LOG_LEVEL=debug "$EX/configs.sh" "$T" "$BASE" "$RP" > /dev/null
for n in a b c; do "$BIN/batond" --check -c "$T/$n.ini" > /dev/null || fail "the example's $n.ini does not pass --check"; done
start a
start b
start c
wait_for 20 runs_on redis a a b c || fail "redis never ran on a"
rcli() { redis-cli -p "$1" "${@:2}"; }
[ "$(rcli $RP ping)" = PONG ] || fail "redis on a does not answer"
addr() { "$BIN/batonctl" -s "$T/$1-ro.sock" whereis redis --address; }
[ "$(addr b)" = "127.0.0.1:$RP" ] || fail "whereis --address on b's read-only socket: '$(addr b)'"
grep -qx "a@local up normal" "$T/vip-a.log" || fail "no pre_start marker on a: $(cat "$T/vip-a.log")"
pass "redis runs on a, its address is published, pre_start ran"

python3 "$EX/redis-client.py" --socket "$T/c-ro.sock" --socket "$T/a-ro.sock" \
    --batonctl "$BIN/batonctl" \
    --interval 0.05 > "$T/client.out" 2>&1 &
PIDS[client]=$!
served_by() { tail -n 3 "$T/client.out" | grep -c "^ok 127.0.0.1:$1 " | grep -qx 3; }
wait_for 10 served_by $RP || fail "the client is not served by a: $(tail -3 "$T/client.out")"

pid1=$(cat "$T/redis-a/redis.pid")
kill -STOP "$pid1"
wait_for 20 grep -q "app redis: failed its monitor 2 times in a row; restarting (1 of 1 within" "$T/a.log" ||
    fail "a stopped redis was not restarted after its monitor failed"
new_pid() { [ "$(cat "$T/redis-a/redis.pid")" != "$pid1" ] && [ "$(rcli $RP ping)" = PONG ]; }
wait_for 15 new_pid || fail "no new redis-server on a after the restart"
# Gone, or a zombie its parent (batond's shim) has not reaped yet.
gone() { [ ! -d "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2> /dev/null)" = Z ]; }
wait_for 5 gone "$pid1" || fail "the stopped redis-server ($pid1) is still there"
grep -qx "a@local down killed" "$T/vip-a.log" || fail "no post_stop marker for the kill: $(cat "$T/vip-a.log")"
grep -qx "a@local up restart" "$T/vip-a.log" || fail "no pre_start marker for the restart: $(cat "$T/vip-a.log")"
health() { ctl a --json apps | tr '{' '\n' | grep '"name":"redis"' | sed -n 's/.*"health":"\([^"]*\)".*/\1/p'; }
is_healthy() { [ "$(health)" = healthy ]; }
wait_for 10 is_healthy || fail "the restarted redis is not healthy: '$(health)'"
wait_for 10 served_by $RP || fail "the client is not served by the restarted redis: $(tail -3 "$T/client.out")"
pass "SIGSTOP: the monitor failed, redis restarted on a (pid $pid1 -> $(cat "$T/redis-a/redis.pid")), the client reconnected"

kill -STOP "$(cat "$T/redis-a/redis.pid")"
wait_for 20 grep -q "app redis: failed its monitor 2 times in a row; no restarts left: failing it over" "$T/a.log" ||
    fail "redis was not failed over once its restarts were used up"
wait_for 15 runs_on redis b a b c || fail "redis did not fail over to b"
grep -qx "b@local up failover" "$T/vip-b.log" || fail "no pre_start marker on b: $(cat "$T/vip-b.log")"
is_addr() { [ "$(addr "$1")" = "$2" ]; }
wait_for 10 is_addr c "127.0.0.1:$((RP + 1))" || fail "whereis --address still says '$(addr c)'"
wait_for 10 served_by $((RP + 1)) || fail "the client did not follow redis to b: $(tail -3 "$T/client.out")"
pass "restarts used up: failed over to b; the client found b's address"

# A planned move: the data goes with it.
for i in 1 2 3; do [ "$(rcli $((RP + 1)) set key$i value$i)" = OK ] || fail "SET on b failed"; done
ctl c takeover redis > /dev/null || fail "batonctl takeover on c failed"
wait_for 20 runs_on redis c a b c || fail "the takeover did not move redis to c"
grep -qx "c@local up takeover" "$T/vip-c.log" || fail "no pre_start marker on c: $(cat "$T/vip-c.log")"
wait_for 10 grep -qx "b@local down stop" "$T/vip-b.log" || fail "no post_stop marker on b: $(cat "$T/vip-b.log")"
for i in 1 2 3; do
    [ "$(rcli $((RP + 2)) get key$i)" = "value$i" ] || fail "key$i did not survive the takeover: '$(rcli $((RP + 2)) get key$i)'"
done
wait_for 10 served_by $((RP + 2)) || fail "the client did not follow redis to c: $(tail -3 "$T/client.out")"
pass "batonctl takeover: redis moved to c with its keys; the client followed"

[ "$(rcli $((RP + 2)) set key4 value4)" = OK ] || fail "SET on c failed"
ctl c drain > /dev/null || fail "batonctl drain on c failed"
wait_for 30 runs_on redis b a b || wait_for 1 runs_on redis a a b || fail "the drain did not move redis off c"
to=$(owner redis a)
case $to in a@local) p=$RP ;; b@local) p=$((RP + 1)) ;; *) fail "redis is on '$to' after the drain" ;; esac
for i in 1 2 3 4; do
    [ "$(rcli "$p" get key$i)" = "value$i" ] || fail "key$i did not survive the drain to $to"
done
wait_for 10 served_by "$p" || fail "the client did not follow redis to $to: $(tail -3 "$T/client.out")"
wait "${PIDS[c]}" || fail "c's batond did not exit 0 after its drain"
unset "PIDS[c]"
pass "batonctl drain: redis moved to $to with its keys; the client followed"

# From the failover on (which starts empty), the client's counter only
# grows: redis-export pauses writes before the snapshot, so no INCR
# acknowledged by the old owner is missing on the new one.
awk -v b="127.0.0.1:$((RP + 1))" '$1 == "ok" && $2 == b {on = 1}
    on && $1 == "ok" { if ($3 <= last) { print "after " last ": " $0; bad = 1 } last = $3 }
    END { exit bad }' "$T/client.out" > "$T/lost" || fail "acknowledged writes lost in a planned move: $(cat "$T/lost")"
pass "no acknowledged write lost through the takeover and the drain"
