# Definitions that differ between nodes are refused on every node, which
# keep running; a missing mandatory sync node refuses the start.
source "$(dirname "$0")/lib.sh"

APP_SECTIONS="[app web]
nodes = a@local, b@local
start = sleep 60"
cluster 2
APP_EXTRA[b]="[app web]
nodes = b@local, a@local
start = sleep 60"
cluster 2
start a; start b
wait_for 10 agree a a b || fail "no agreement"
wait_for 5 grep -q "app web: refused: its node list, failover_timeout or mode" "$T/a.log" || fail "a did not refuse web"
wait_for 5 grep -q "app web: refused" "$T/b.log" || fail "b did not refuse web"
sleep 0.5
kill -0 "${PIDS[a]}" && kill -0 "${PIDS[b]}" || fail "a node died over a definition mismatch"
pass "differing definitions: refused on both nodes, which keep running"
stop9 a; stop9 b

APP_EXTRA=()
APP_SECTIONS=""
cluster 2
sed -i '/^\[node\]/a sync_nodes_mandatory = b@local\nsync_nodes_timeout = 500' "$T/a.ini"
if "$BIN/batond" -c "$T/a.ini" 2> "$T/a-sync.log"; then
    fail "batond started without its mandatory node"
fi
grep -q "sync_nodes_mandatory: b@local not up within 500 ms: refusing to start" "$T/a-sync.log" || fail "unclear sync error"
pass "a missing mandatory node refuses the start, clearly"
