# SIGHUP and batonctl reload re-read the config file (docs/config.md
# "Reload"): an app added on every node runs somewhere; a changed start
# command is used from the next start (the running instance is left
# alone); an app removed on its owner moves, removed everywhere it runs
# nowhere; a broken file or a [nodes] change changes nothing and says
# why (file:line); batonctl reload answers the diff.
source "$(dirname "$0")/lib.sh"

cat > "$T/app.sh" <<'APP'
#!/bin/sh
echo "$BATON_NODE $2 $BATON_START_TYPE pid=$$" >> "$1"
trap 'exit 0' TERM
while :; do sleep 0.05; done
APP
chmod +x "$T/app.sh"
KEEP="[app keep]
nodes = a@local, b@local, c@local
failover_timeout = 0
start = $T/app.sh $T/keep.starts v1"
APP_SECTIONS=$KEEP
cluster 3
for n in a b c; do cp "$T/$n.ini" "$T/$n.base"; done
# apps NODE TEXT: NODE's config is the cluster's base (with keep) and TEXT.
apps() { { cat "$T/$1.base"; printf '%s\n' "$2"; } > "$T/$1.ini"; }
hup() { local n; for n in "$@"; do kill -HUP "${PIDS[$n]}"; done; }
# instances APP: how many of APP's instances run, cluster-wide: its
# processes but the shell's own short-lived forks (their parent is one).
instances() {
    local pids p n=0
    pids=$(pgrep -f -- "$T/app.sh $T/$1.starts" || true)
    for p in $pids; do
        grep -qw -- "$(ps -o ppid= -p "$p" | tr -d ' ')" <<< "$pids" || n=$((n + 1))
    done
    echo $n
}

one_web() { [ "$(instances web)" = 1 ]; }

for n in a b c; do start $n; done
wait_for 10 runs_on keep a a b c || fail "keep never ran on a"
wait_for 5 grep -q "a@local v1" "$T/keep.starts" || fail "keep wrote no start line"
keep_pid=$(awk '{sub("pid=","",$NF); print $NF}' "$T/keep.starts")
pass "keep runs on a"

# web VERSION [NODES]: web's section, its start command marked VERSION.
web() {
    printf '[app web]\nnodes = %s\nfailover_timeout = 0\nstart = %s\n' \
        "${2:-b@local, a@local, c@local}" "$T/app.sh $T/web.starts $1"
}
for n in a b c; do apps $n "$(web v1)"; done
hup a b c
wait_for 10 runs_on web b a b c || fail "web, added on every node, never ran on b"
for n in a b c; do
    wait_for 5 grep -q "reload: added web" "$T/$n.log" || fail "$n logged no \"added web\""
done
wait_for 5 one_web || fail "web runs $(instances web) times"
pass "an app added on every node + SIGHUP runs once, on its first node"

for n in a b c; do apps $n "$(web v2)"; done
answer=$(ctl b reload) || fail "batonctl reload failed: $answer"
[ "$answer" = "changed web (next start)" ] || fail "unexpected reload answer: $answer"
hup a c
wait_for 5 grep -q "reload: changed web (next start)" "$T/a.log" || fail "a did not apply the change"
sleep 0.3
[ "$(grep -c 'b@local v1' "$T/web.starts")" = 1 ] || fail "the reload restarted web"
grep -q v2 "$T/web.starts" && fail "v2 started before the next start"
ctl b permit web false > /dev/null
wait_for 10 runs_on web a a b c || fail "permit false did not move web to a"
wait_for 5 grep -q "a@local v2 takeover" "$T/web.starts" || fail "a's start did not use the new command"
ctl b permit web true > /dev/null
wait_for 10 runs_on web b a b c || fail "web did not come back to b"
wait_for 5 grep -q "b@local v2 takeover" "$T/web.starts" || fail "b's next start did not use the new command"
pass "batonctl reload answers the diff; a changed start command is used from the next start, not before"

# A rolling change of the node list: b first, then a and c.
NEW="c@local, b@local, a@local"
apps b "$(web v2 "$NEW")"
answer=$(ctl b reload) || fail "batonctl reload failed: $answer"
[ "$answer" = "changed web (nodes/failover_timeout: once every node agrees)" ] ||
    fail "unexpected reload answer: $answer"
wait_for 5 grep -q "app web: its node list, failover_timeout or mode differs between nodes: kept running on b@local unmoved" "$T"/*.log ||
    fail "the coordinator did not say it keeps web where it runs"
sleep 0.5
runs_on web b a b c || fail "web moved while the nodes disagree"
for n in a c; do apps $n "$(web v2 "$NEW")"; done
hup a c
wait_for 10 runs_on web c a b c || fail "web did not move to c, first of the new list"
wait_for 5 one_web || fail "web runs $(instances web) times"
pass "a rolling node-list change: web stays on b while the nodes disagree, then moves to c"

apps c ""
answer=$(ctl c reload) || fail "batonctl reload failed: $answer"
[ "$answer" = "removed web" ] || fail "unexpected reload answer: $answer"
wait_for 10 runs_on web b a b c || fail "web, removed on its owner c, did not move to b"
grep -q "app web: stop here (now running on b@local)" "$T/c.log" || fail "c did not hand web over"
sleep 1
runs_on web b a b c || fail "web did not stay on b"
wait_for 5 one_web || fail "web runs $(instances web) times"
pass "removed on its owner: web moves (a takeover) and stays away"

apps a ""; apps b ""
hup a b
no_web() { [ "$(instances web)" = 0 ]; }
wait_for 10 no_web || fail "web, removed everywhere, still runs"
sleep 0.5
[ "$(instances web)" = 0 ] || fail "web started again"
[ -z "$(owner web a)" ] || fail "a says web runs on $(owner web a)"
pass "removed everywhere: web runs nowhere"

# A broken file: nothing changes, the errors name file:line.
apps a "[app extra]
nodes = a@local
start = sleep 60
bogus_key = 1"
line=$(grep -n bogus_key "$T/a.ini" | cut -d: -f1)
hup a
wait_for 5 grep -q "reload: .*$T/a.ini:$line: .*unknown key \"bogus_key\"" "$T/a.log" ||
    fail "a's log names no file:line for the broken file"
grep -q "reload: not reloaded, nothing changed" "$T/a.log" || fail "a did not say nothing changed"
if msg=$(ctl a reload 2>&1); then fail "batonctl reload of a broken file succeeded"; fi
grep -q "$T/a.ini:$line:" <<< "$msg" || fail "batonctl reload names no file:line: $msg"
kill -0 "${PIDS[a]}" || fail "a died on a broken config"
kill -0 "$keep_pid" && [ "$(wc -l < "$T/keep.starts")" = 1 ] || fail "keep was touched"
runs_on keep a a b c || fail "keep no longer runs on a"
pass "a broken file + SIGHUP: node keeps running, keep untouched, the error names file:line"

# [nodes] is not reloaded: refused, with a clear message.
apps a ""
sed -i "s/^c@local = 127.0.0.1:.*/c@local = 127.0.0.1:$((BASE + 7))/" "$T/a.ini"
if msg=$(ctl a reload 2>&1); then fail "a [nodes] change was reloaded"; fi
grep -q "\[nodes\] changed: that takes a restart of batond" <<< "$msg" || fail "unclear refusal: $msg"
pass "a [nodes] change is refused on reload (restart needed)"
