# The Prometheus endpoint (docs/metrics.md): a 3-node cluster with
# metrics_listen, scraped with curl; the text checked with expfmt.py (the
# exposition grammar, no duplicate series, counters end in _total); the
# values follow the cluster (kill the owner's node: peers up drops,
# failovers_total rises, the owner moves); a malformed metrics_listen is
# refused; idle and slow HTTP clients are bounded.
source "$(dirname "$0")/lib.sh"
EXPFMT="$(dirname "$0")/expfmt.py"
MB=$((BASE + 100)) # metrics ports: a, b, c at MB, MB+1, MB+2

cat > "$T/app.sh" <<'APP'
#!/bin/sh
trap 'exit 0' TERM
while :; do sleep 0.05; done
APP
chmod +x "$T/app.sh"
APP_SECTIONS="[app web]
nodes = a@local, {b@local c@local}
failover_timeout = 0
start = $T/app.sh"
cluster 3
for i in 0 1 2; do
    sed -i "/^log_level/a metrics_listen = 127.0.0.1:$((MB + i))" "$T/${NODES[$i]}.ini"
done

# A malformed metrics_listen is refused, naming the key.
for bad in "127.0.0.1" "127.0.0.1:0" "localhost:9100" "127.0.0.1:70000" "[::1:9100"; do
    sed "s/^metrics_listen = .*/metrics_listen = $bad/" "$T/a.ini" > "$T/bad.ini"
    if msg=$("$BIN/batond" --check -c "$T/bad.ini" 2>&1); then
        fail "--check accepted metrics_listen = $bad"
    fi
    grep -q 'metrics_listen: .* is not address:port' <<< "$msg" || fail "unclear error: $msg"
done
sed "s/^metrics_listen = .*/metrics_listen = [::1]:9100/" "$T/a.ini" > "$T/v6.ini"
"$BIN/batond" --check -c "$T/v6.ini" > /dev/null || fail "[::1]:9100 refused"
pass "malformed metrics_listen refused with a clear error; [::1]:port accepted"

# The checker itself refuses what Prometheus would.
expfmt_refuses() { # TEXT WHY
    printf '%b' "$1" > "$T/bad.txt"
    ! python3 "$EXPFMT" "$T/bad.txt" 2> /dev/null || fail "expfmt.py accepted $2"
}
printf '# HELP x_total A.\n# TYPE x_total counter\nx_total{a="1"} 2\nx_total{a="2"} 3\n' > "$T/good.txt"
python3 "$EXPFMT" "$T/good.txt" > /dev/null || fail "expfmt.py refused good text"
expfmt_refuses '# TYPE x counter\nx 1\n' "a counter without _total"
expfmt_refuses '# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n' "a duplicate series"
expfmt_refuses '# TYPE x gauge\nx one\n' "a bad value"
expfmt_refuses '# TYPE x gauge\nx{a=1} 1\n' "an unquoted label value"
expfmt_refuses '# TYPE 1x gauge\n' "a bad metric name"
expfmt_refuses '# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\nx{a="b"} 1\n' "interleaved families"
expfmt_refuses '# TYPE x gauge\nx 1\n# TYPE x gauge\n' "a second TYPE"
expfmt_refuses '# TYPE x gauge\nx 1' "no final newline"
pass "expfmt.py refuses bad exposition text"

# A metrics port another process holds: the node does not start, and
# says why (and, under ASan, leaks nothing on the way out).
# The squatter takes a port the kernel hands it (a fixed one may be in
# TIME_WAIT or held by another test), and c is pointed at it.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(30)' "$T/squat.port" &
PIDS[squatter]=$!
wait_for 5 test -s "$T/squat.port" || fail "the squatter took no port"
SQ=$(cat "$T/squat.port")
sed "s/^metrics_listen = .*/metrics_listen = 127.0.0.1:$SQ/" "$T/c.ini" > "$T/c-taken.ini"
grep -q "^metrics_listen = 127.0.0.1:$SQ" "$T/c-taken.ini" || fail "c.ini has no metrics_listen line to point at the squatter"
rc=0
timeout 20 "$BIN/batond" -c "$T/c-taken.ini" 2> "$T/c.refused" || rc=$?
kill "${PIDS[squatter]}"; wait "${PIDS[squatter]}" 2> /dev/null || true; unset "PIDS[squatter]"
[ $rc != 0 ] || fail "c started with its metrics port taken"
[ $rc != 124 ] || fail "c ran on with its metrics port taken (killed by timeout)"
grep -q "metrics_listen 127.0.0.1:$SQ: cannot listen" "$T/c.refused" || fail "unclear: $(cat "$T/c.refused")"
! grep -q 'Sanitizer' "$T/c.refused" || fail "sanitizer: $(cat "$T/c.refused")"
pass "metrics port taken: c refuses to start ($(grep -o 'metrics_listen.*' "$T/c.refused" | head -1))"

for n in a b c; do start $n; done
wait_for 10 runs_on web a a b c || fail "web never ran on a"

# scrape NODE_INDEX FILE: GET /metrics, checked with the parser.
scrape() {
    curl -sf --max-time 5 "http://127.0.0.1:$((MB + $1))/metrics" -o "$2" || return 1
    python3 "$EXPFMT" "$2" > /dev/null
}
# value FILE SERIES: the series' value (fails if absent).
value() { python3 "$EXPFMT" "$1" "$2"; }
peers_up_is() { scrape "$1" "$T/m.txt" && [ "$(value "$T/m.txt" baton_peers_up)" = "$2" ]; }

for i in 0 1 2; do
    wait_for 5 peers_up_is $i 2 || fail "node $i: peers_up never 2"
done
coords=0
for i in 0 1 2; do
    scrape $i "$T/m$i.txt" || fail "node $i: invalid exposition text"
    [ "$(value "$T/m$i.txt" baton_has_coordinator)" = 1 ] || fail "node $i: no coordinator"
    coords=$((coords + $(value "$T/m$i.txt" baton_is_coordinator)))
    [ "$(value "$T/m$i.txt" baton_peers)" = 2 ] || fail "node $i: peers != 2"
    [ "$(value "$T/m$i.txt" 'baton_app_owner{app="web",node="a@local"}')" = 1 ] || fail "node $i: owner not a"
    [ "$(value "$T/m$i.txt" 'baton_app_state{app="web",state="running"}')" = 1 ] || fail "node $i: web not running"
    [ "$(value "$T/m$i.txt" 'baton_app_state{app="web",state="waiting"}')" = 0 ] || fail "node $i: web waiting"
    [ "$(value "$T/m$i.txt" 'baton_app_failovers_total{app="web"}')" = 0 ] || fail "node $i: a failover already"
    [ "$(value "$T/m$i.txt" 'baton_app_owner_epoch{app="web"}')" != 0 ] || fail "node $i: no epoch"
    grep -q "^baton_node_info{node=\"${NODES[$i]}@local\",version=\"[0-9.]*\"} 1$" "$T/m$i.txt" || fail "node $i: no node info"
    grep -q '^baton_peer_link_rtt_seconds{peer="[a-c]@local"} [0-9.]*$' "$T/m$i.txt" || fail "node $i: no link RTT"
    for m in baton_coordinator_changes_total baton_names baton_names_held baton_rejected_frames_total \
             baton_auth_failures_total 'baton_rejected_messages_total{reason="stale_inc"}' \
             'baton_app_takeovers_total{app="web"}' 'baton_app_restarts_total{app="web"}' \
             'baton_app_monitor_failures_total{app="web"}'; do
        value "$T/m$i.txt" "$m" > /dev/null || fail "node $i: no $m"
    done
done
[ $coords = 1 ] || fail "$coords nodes say they are the coordinator"
epoch0=$(value "$T/m1.txt" 'baton_app_owner_epoch{app="web"}')
changes0=$(value "$T/m1.txt" baton_coordinator_changes_total)
pass "3 nodes: valid exposition text, one coordinator, web running on a, every metric present"

# Names held: a batonctl session on b holds one.
"$BIN/batonctl" -c "$T/b.ini" register greeter --hold > /dev/null & HOLD=$!
PIDS[hold]=$HOLD
names_is() { scrape "$1" "$T/n.txt" && [ "$(value "$T/n.txt" "$2")" = "$3" ]; }
wait_for 5 names_is 1 baton_names_held 1 || fail "b: names_held never 1"
wait_for 5 names_is 2 baton_names 1 || fail "c: names never 1"
names_is 2 baton_names_held 0 || fail "c: holds a name"
pass "names: b holds 1, c sees 1 and holds 0"

# Unknown paths and methods; idle connections beyond the limit do not
# stop the node, and the slow ones are closed after the idle timeout.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((MB + 1))/other")
[ "$code" = 404 ] || fail "GET /other: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "http://127.0.0.1:$((MB + 1))/metrics")
[ "$code" = 405 ] || fail "POST /metrics: $code"
rss() { awk '/^VmRSS/ {print $2}' "/proc/${PIDS[b]}/status"; }
rss0=$(rss)
python3 - "$((MB + 1))" "$T/b.sock" <<'PY' || fail "slow clients were not bounded"
import socket, sys, time
port, ctl = int(sys.argv[1]), sys.argv[2]
def slow():
    s = socket.socket()
    s.settimeout(20)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # never finished
    return s
# One slow client alone is closed by the node after the idle timeout
# (10 s), without an answer.
s, t = slow(), time.monotonic()
if s.recv(4096) != b"" or not 8 < time.monotonic() - t < 19:
    sys.exit("a slow connection was not closed after the idle timeout")
s.close()
# 64 at once: more than the 16 connections served at once (the rest are
# closed as soon as accepted); the node's control socket answers
# meanwhile, and so does /metrics once they are gone.
conns = []
for _ in range(64):
    try:
        conns.append(slow())
    except OSError:
        pass
c = socket.socket(socket.AF_UNIX)
c.connect(ctl)
c.sendall(b"status\n")
if b'"node"' not in c.recv(65536):
    sys.exit("no status while slow HTTP clients wait")
for s in conns:
    s.close()
PY
rss1=$(rss)
[ $((rss1 - rss0)) -lt 4096 ] || fail "b's RSS grew by $((rss1 - rss0)) KiB with slow clients"
wait_for 5 scrape 1 "$T/m.txt" || fail "no metrics after the slow clients"
ctl b status > /dev/null || fail "b does not answer after the slow clients"
pass "404, 405; a slow client closed after the idle timeout; 64 at once: the node serves on, RSS $rss0 -> $rss1 KiB"

# Kill a (owner and coordinator): b sees one peer up, a failover, web on
# b or c with a higher epoch, and a coordinator change.
stop9 a
wait_for 5 peers_up_is 1 1 || fail "b: peers_up did not drop to 1"
failed_over() {
    scrape 1 "$T/m.txt" && [ "$(value "$T/m.txt" 'baton_app_failovers_total{app="web"}')" = 1 ] &&
        [ "$(value "$T/m.txt" 'baton_app_state{app="web",state="running"}')" = 1 ]
}
wait_for 10 failed_over || fail "b: failovers_total did not become 1"
grep -qE '^baton_app_owner\{app="web",node="[bc]@local"\} 1$' "$T/m.txt" || fail "web's owner did not move"
[ "$(value "$T/m.txt" 'baton_peer_up{peer="a@local"}')" = 0 ] || fail "a still up"
! grep -q 'baton_peer_link_rtt_seconds{peer="a@local"}' "$T/m.txt" || fail "an RTT for a lost link"
epoch1=$(value "$T/m.txt" 'baton_app_owner_epoch{app="web"}')
[ "$epoch1" -gt "$epoch0" ] || fail "epoch did not grow ($epoch0 -> $epoch1)"
changes1=$(value "$T/m.txt" baton_coordinator_changes_total)
[ "$changes1" -gt "$changes0" ] || fail "coordinator changes did not grow"
pass "kill -9 a: peers_up 1, failovers_total 1, owner moved, epoch $epoch0 -> $epoch1, coordinator changes $changes0 -> $changes1"

# a comes back: web moves home (nodes = a first), b counts a takeover.
start a
taken_over() {
    scrape 1 "$T/m.txt" && [ "$(value "$T/m.txt" 'baton_app_takeovers_total{app="web"}')" = 1 ] &&
        [ "$(value "$T/m.txt" 'baton_app_owner{app="web",node="a@local"}' 2>/dev/null)" = 1 ] &&
        [ "$(value "$T/m.txt" baton_peers_up)" = 2 ]
}
wait_for 15 taken_over || fail "b: no takeover counted when a came back"
[ "$(value "$T/m.txt" 'baton_app_failovers_total{app="web"}')" = 1 ] || fail "failovers_total changed"
pass "a back: peers_up 2, takeovers_total 1, web owned by a again"

# SIGTERM with an HTTP client connected: b closes the endpoint with the
# node and exits 0 (under ASan, with no leak).
python3 -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
time.sleep(30)' "$((MB + 1))" &
PIDS[idle_client]=$!
sleep 0.2
kill -TERM "${PIDS[b]}"
rc=0
wait "${PIDS[b]}" || rc=$?
unset "PIDS[b]"
[ $rc = 0 ] || fail "b exited $rc after SIGTERM"
pass "SIGTERM with an HTTP client connected: b exits 0"
