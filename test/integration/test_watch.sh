# The cluster event stream (docs/control.md "Cluster events"): batonctl
# watch on b (JSON) and c (text) while a name is registered on a and a,
# the owner of web, is killed: the node-down, the app's stop, failover,
# placing and start, and the name's removal come in that order. A session
# subscribed to names only gets no node or app events; a bad kind is
# refused.
source "$(dirname "$0")/lib.sh"

cat > "$T/app.sh" <<'APP'
#!/bin/sh
trap 'exit 0' TERM
while :; do sleep 0.05; done
APP
chmod +x "$T/app.sh"
APP_SECTIONS="[app web]
nodes = a@local, b@local, c@local
failover_timeout = 200
start = $T/app.sh"
cluster 3
for n in a b c; do start $n; done
wait_for 10 runs_on web a a b c || fail "web never ran on a"

# (batonctl itself, not the ctl function's subshell: the PIDs get signals)
"$BIN/batonctl" -c "$T/b.ini" --json watch > "$T/b.events" 2> "$T/b.watch.err" &
PIDS[watch_b]=$!
"$BIN/batonctl" -c "$T/c.ini" watch > "$T/c.events" 2> "$T/c.watch.err" &
PIDS[watch_c]=$!
wait_for 5 grep -q 'watching app, node and name events' "$T/c.events" || fail "c's watch did not start"

# A names-only subscriber, and a refused kind, on a raw session to c.
python3 - "$T/c.sock" > "$T/names_only.out" 2>&1 <<'PY' &
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
def req(o):
    f.write(json.dumps(o) + "\n"); f.flush()
    return json.loads(f.readline())
bad = req({"op": "subscribe", "id": 1, "events": ["app", "bogus"]})
assert bad["ok"] is False and bad["error"] == "invalid", bad
ok = req({"op": "subscribe", "id": 2, "events": ["name"]})
assert ok["ok"] is True and ok["events"] == ["name"], ok
print("subscribed", flush=True)
for line in f:
    ev = json.loads(line)
    print(line.strip(), flush=True)
    assert ev["event"] == "name", "a names-only session got " + line
    if ev["change"] == "unregistered":
        break
PY
PIDS[names_only]=$!
wait_for 5 grep -q subscribed "$T/names_only.out" || fail "names-only subscription: $(cat "$T/names_only.out")"

"$BIN/batonctl" -c "$T/a.ini" register greeter --hold > /dev/null &
PIDS[hold]=$!
wait_for 5 grep -q '"event":"name","change":"registered","name":"greeter","node":"a@local"' "$T/b.events" ||
    fail "b: no name registered event"
grep -q '"endpoint":' "$T/b.events" || fail "name event without an endpoint"
pass "name registered on a: b's watch saw it"

# (int(): the apps document's epoch is a number or a decimal string)
epoch_a=$(ctl b --json apps | python3 -c 'import json, sys
print([int(a["epoch"]) for a in json.load(sys.stdin)["apps"] if a["name"] == "web"][0])')
stop9 a
unset "PIDS[hold]" # its batond is gone; the session with it
wait_for 10 grep -q '"change":"started","app":"web"' "$T/b.events" || fail "b: web never started again"
wait_for 5 grep -q '"change":"unregistered","name":"greeter"' "$T/b.events" || fail "b: greeter not unregistered"

# line N PATTERN: the line number of the first event matching PATTERN.
line() { grep -n -- "$2" "$T/$1.events" | head -1 | cut -d: -f1; }
down=$(line b '"event":"node","change":"down","node":"a@local"')
stopped=$(line b '"change":"stopped","app":"web","node":"a@local","epoch":"'"$epoch_a"'","reason":"lost"')
failover=$(line b '"change":"failover","app":"web","node":"b@local"')
placed=$(line b '"change":"placed","app":"web","node":"b@local"')
started=$(line b '"change":"started","app":"web","node":"b@local"')
for v in down stopped failover placed started; do
    [ -n "${!v}" ] || fail "b: no $v event in: $(cat "$T/b.events")"
done
[ "$down" -lt "$stopped" ] && [ "$stopped" -lt "$failover" ] &&
    [ "$failover" -lt "$placed" ] && [ "$placed" -lt "$started" ] ||
    fail "b: events out of order (down $down stopped $stopped failover $failover placed $placed started $started)"
grep '"change":"failover"' "$T/b.events" | grep -q '"from":"a@local"' || fail "failover without from a"
grep '"change":"placed","app":"web","node":"b@local"' "$T/b.events" | grep -q '"reason":"failover"' ||
    fail "placed without reason failover"
new_epoch=$(grep '"change":"started","app":"web","node":"b@local"' "$T/b.events" | grep -o '"epoch":"[0-9]*"' | tr -dc 0-9)
[ "$new_epoch" -gt "$epoch_a" ] || fail "epoch did not grow ($epoch_a -> $new_epoch)"
pass "kill -9 a: b saw node down, web stopped (lost), failover from a, placed, started (epoch $epoch_a -> $new_epoch), greeter unregistered, in order"

wait_for 5 grep -q 'app started web b@local epoch' "$T/c.events" || fail "c: text watch missed the start"
c_down=$(line c ' node down a@local$')
c_fail=$(line c " app failover web b@local epoch $new_epoch from a@local$")
[ -n "$c_down" ] && [ -n "$c_fail" ] && [ "$c_down" -lt "$c_fail" ] ||
    fail "c: text lines missing or out of order: $(cat "$T/c.events")"
pass "c's text watch: $(sed -n "${c_fail}p" "$T/c.events" | cut -d' ' -f2-)"

wait_for 5 grep -q '"change":"unregistered"' "$T/names_only.out" || fail "names-only session missed the removal"
wait "${PIDS[names_only]}" || fail "names-only session: $(cat "$T/names_only.out")"
unset "PIDS[names_only]"
pass "a names-only subscriber got only name events; a bad kind was refused"

# a comes back: web moves home (a takeover), seen as the old instance's
# stop (moved), then takeover, placed and started on a.
start a
wait_for 15 grep -q '"change":"started","app":"web","node":"a@local"' "$T/b.events" || fail "b: web never started on a again"
moved=$(line b '"change":"stopped","app":"web","node":"b@local","epoch":"'"$new_epoch"'","reason":"moved"')
takeover=$(line b '"change":"takeover","app":"web","node":"a@local"')
placed_a=$(line b '"change":"placed","app":"web","node":"a@local"')
started_a=$(line b '"change":"started","app":"web","node":"a@local"')
up=$(line b '"event":"node","change":"up","node":"a@local"')
for v in up moved takeover placed_a started_a; do
    [ -n "${!v}" ] || fail "b: no $v event in: $(cat "$T/b.events")"
done
[ "$started" -lt "$up" ] && [ "$up" -lt "$moved" ] && [ "$moved" -lt "$takeover" ] &&
    [ "$takeover" -lt "$placed_a" ] && [ "$placed_a" -lt "$started_a" ] ||
    fail "b: takeover events out of order"
grep '"change":"takeover"' "$T/b.events" | grep -q '"from":"b@local"' || fail "takeover without from b"
pass "a back: b saw node up, web stopped on b (moved), takeover from b, placed and started on a, in order"

kill -INT "${PIDS[watch_c]}"
wait "${PIDS[watch_c]}" || fail "watch did not exit 0 on SIGINT"
unset "PIDS[watch_c]"
pass "watch exits 0 on SIGINT"

# A subscriber that does not read: once 1 MiB waits for it, it gets one
# "overflow" event and no more events, and its session stays open. 3,000
# long names registered and dropped on c, twice, make about 2.5 MB of
# events.
python3 - "$T/c.sock" <<'PY' || fail "overflow"
import json, socket, sys, time
path = sys.argv[1]
def session():
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    return s, s.makefile("rw")
slow, sf = session()
sf.write(json.dumps({"op": "subscribe", "id": 1, "events": ["name"]}) + "\n")
sf.flush()
assert json.loads(sf.readline())["ok"] is True
# The flood, twice: register N names, 200 in flight at a time, then
# close the session (which drops them all).
N = 3000
def flood_once():
    flood = socket.socket(socket.AF_UNIX)
    flood.connect(path)
    sent = answered = 0
    pending = b""
    while answered < N:
        batch = b""
        while sent < N and sent - answered < 200:
            name = "overflow-%05d-" % sent + "x" * 100
            batch += (json.dumps({"op": "register", "id": sent, "name": name,
                                  "multi": True}) + "\n").encode()
            sent += 1
        flood.sendall(batch)
        pending += flood.recv(1 << 16)
        *done, pending = pending.split(b"\n")
        for line in done:
            a = json.loads(line)
            assert a.get("ok") is True, a
            answered += 1
    flood.close()
    time.sleep(0.5)  # the drop applied before the next round registers
flood_once()
flood_once()
time.sleep(1.0)
# Now read everything the slow subscriber was sent.
slow.settimeout(2.0)
buf = b""
try:
    while True:
        chunk = slow.recv(1 << 20)
        if not chunk:
            sys.exit("the slow subscriber was disconnected")
        buf += chunk
except socket.timeout:
    pass
lines = [json.loads(l) for l in buf.decode().splitlines()]
kinds = [l.get("event") for l in lines]
if "overflow" not in kinds:
    sys.exit("no overflow event in %d lines (%d bytes)" % (len(lines), len(buf)))
at = kinds.index("overflow")
if at != len(kinds) - 1 or kinds.count("overflow") != 1:
    sys.exit("events after the overflow: %s" % kinds[at:at + 5])
if at < 3000:
    sys.exit("overflow after only %d events" % at)
# The session goes on: it answers, and may subscribe again.
slow.sendall(b'{"op":"subscribe","id":2,"events":["node"]}\n')
slow.settimeout(5.0)
ans = json.loads(slow.recv(65536).decode().splitlines()[0])
assert ans.get("id") == 2 and ans.get("ok") is True, ans
print("overflow after %d events (%d bytes read); session still open" % (at, len(buf)))
PY
pass "a subscriber that does not read: one overflow event, then none; the session goes on"
