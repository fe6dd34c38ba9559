# Config errors name file:line and the key, every one of them; missing
# or non-executable programs, a section or a key given twice are
# refused; a cookie file readable by others is refused; batonctl
# explains a missing batond; options anywhere and --version; SIGTERM
# closes links at once.
source "$(dirname "$0")/lib.sh"

cluster 2
out=$("$BIN/batond" --check -c "$T/a.ini") || fail "--check rejected a good config"
pass "--check: $out"

expect_error() { # FILE PATTERN
    local msg
    if msg=$("$BIN/batond" --check -c "$1" 2>&1); then
        fail "--check accepted $1"
    fi
    grep -qE "$2" <<< "$msg" || fail "error '$msg' does not match '$2'"
    pass "refused: $msg"
}
sed '3a bogus = 1' "$T/a.ini" > "$T/bad1.ini"
expect_error "$T/bad1.ini" "bad1.ini:4: \[node\]: unknown key \"bogus\""
sed 's/127.0.0.1:'$BASE'/127.0.0.1:99999/' "$T/a.ini" > "$T/bad2.ini"
expect_error "$T/bad2.ini" "bad2.ini:[0-9]+: \[nodes\] a@local: \"127.0.0.1:99999\" is not host:port"
sed 's/^name = a@local/name = zed@local/' "$T/a.ini" > "$T/bad3.ini"
expect_error "$T/bad3.ini" "name zed@local is not listed in \[nodes\]"
printf '[node\nname = a\n' > "$T/bad4.ini"
expect_error "$T/bad4.ini" "bad4.ini:1: syntax error"
chmod 644 "$T/cookie"
expect_error "$T/a.ini" "cookie file .* is accessible by group or others \(mode 644\)"
chmod 600 "$T/cookie"
expect_error "$T/nonexistent.ini" "cannot read"

# Every error of a file, each with file:line and key, not just the first.
mkdir "$T/bin"
printf '#!/bin/sh\nexit 0\n' > "$T/bin/tool"; chmod 755 "$T/bin/tool"
printf '#!/bin/sh\nexit 0\n' > "$T/bin/noexec"; chmod 644 "$T/bin/noexec"
{
    sed '3a bogus = 1' "$T/a.ini"       # line 4
    echo "[app web]"                      # line W = a.ini's lines + 2
    echo "nodes = a@local"
    echo "start = $T/bin/missing --port 1"
    echo "stop = sh -c 'exit 0'"           # the shell, checked on its first word
    echo "ready = command no-such-program-xyz"
    echo "state_export = $T/bin/noexec"
    echo "env = PATH=$T/bin:/usr/bin:/bin"
    echo "env = MODE=x"                    # env repeats: no error
    echo "[app web]"                       # line W + 8
    echo "cwd = /"
    echo "[app db]"
    echo "nodes = a@local"
    echo "env = PATH=$T/bin:/usr/bin:/bin"
    echo "start = tool"                    # through the app's PATH: found
    echo "restart = permanent"
    echo "restart = temporary"             # line W + 15
    echo "[app far]"                       # runs on b only: not checked here
    echo "nodes = b@local"
    echo "start = /nowhere/on/this/node"
    echo "this line is no key"             # line W + 19
} > "$T/multi.ini"
msg=$("$BIN/batond" --check -c "$T/multi.ini" 2>&1) && fail "--check accepted multi.ini"
W=$(($(wc -l < "$T/a.ini") + 2))
want=(
    'multi.ini:4: \[node\]: unknown key "bogus"'
    "multi.ini:$((W + 2)): \[app web\] start: program $T/bin/missing: No such file or directory"
    "multi.ini:$((W + 4)): \[app web\] ready: program \"no-such-program-xyz\" is not found in PATH"
    "multi.ini:$((W + 5)): \[app web\] state_export: program $T/bin/noexec is not an executable file"
    "multi.ini:$((W + 8)): \[app web\]: section given twice \(first at line $W\)"
    "multi.ini:$((W + 15)): \[app db\]: key \"restart\" given twice"
    "multi.ini:$((W + 19)): syntax error"
)
for w in "${want[@]}"; do
    grep -qE "^batond: $T/$w" <<< "$msg" || fail "--check did not report '$w' in: $msg"
done
[ "$(wc -l <<< "$msg")" -eq ${#want[@]} ] || fail "--check reported more than expected: $msg"
grep -q "app far\|app db\] start\|\[app web\] stop" <<< "$msg" && fail "a good or foreign program refused: $msg"
pass "--check reported all ${#want[@]} errors, each with file:line"

# The example /etc/baton/baton.conf of the package is a valid config
# once its cookie exists.
mkdir "$T/etc"
cp "$(dirname "$0")/../../packaging/baton.conf" "$T/etc/baton.conf"
cookie "$T/etc/cookie"
"$BIN/batond" --check -c "$T/etc/baton.conf" | grep -q "OK: node a@host1, 3 nodes, 0 apps, control socket /run/baton/baton.sock" ||
    fail "the example config: $("$BIN/batond" --check -c "$T/etc/baton.conf" 2>&1)"
pass "packaging/baton.conf passes --check"

# Options anywhere; --version on both programs.
"$BIN/batond" -c "$T/a.ini" --check > /dev/null || fail "batond -c FILE --check"
"$BIN/batond" --config="$T/a.ini" --check > /dev/null || fail "batond --config=FILE"
"$BIN/batond" --version | grep -qE '^batond [0-9]+\.[0-9]+\.[0-9]+' || fail "batond --version"
"$BIN/batonctl" --version | grep -qE '^batonctl [0-9]+\.[0-9]+\.[0-9]+' || fail "batonctl --version"
"$BIN/batond" --bogus -c "$T/a.ini" 2> /dev/null && fail "batond took an unknown option"
pass "options anywhere, --version: $("$BIN/batond" --version)"

# Quorum mode's keys (docs/config.md "Quorum mode"): a good set passes,
# each bad value is refused naming file:line (or the file), the key, the
# value and the allowed range.
quorum_ini() { # FILE [cluster] lines, [nodes] role of b, [app db] lines
    { sed '/^\[nodes\]/,$d' "$T/a.ini"; printf '[cluster]\n%b\n' "$2"
      echo "[nodes]"; echo "a@local = 127.0.0.1:$BASE"
      echo "b@local = 127.0.0.1:$((BASE + 1))$3"
      printf '[app db]\nnodes = a@local\nstart = /bin/true\n%b\n' "$4"; } > "$1"
}
quorum_ini "$T/q.ini" "heartbeat_ms = 250\nheartbeat_miss = 8\nmax_drift = 0.5%" ", witness" \
    "mode = quorum\nlease_ms = 2000\nstop_margin_ms = 1000"
"$BIN/batond" --check -c "$T/q.ini" > /dev/null || fail "--check rejected quorum keys"
pass "--check: quorum keys, a witness"
quorum_ini "$T/q1.ini" "" "" "mode = quorate"
expect_error "$T/q1.ini" "q1.ini:[0-9]+: \[app db\] mode = quorate: not available or quorum"
quorum_ini "$T/q2.ini" "heartbeat_ms = 500" "" "mode = quorum\nlease_ms = 1999"
expect_error "$T/q2.ini" "q2.ini:[0-9]+: \[app db\] lease_ms = 1999: not in 2000..60000 \(at least 4 x heartbeat_ms\)"
quorum_ini "$T/q3.ini" "" "" "mode = quorum\nlease_ms = 60001"
expect_error "$T/q3.ini" "q3.ini:[0-9]+: \[app db\] lease_ms = 60001: not a number of ms in 1..60000"
quorum_ini "$T/q4.ini" "" "" "mode = quorum\nstop_margin_ms = 501"
expect_error "$T/q4.ini" "q4.ini:[0-9]+: \[app db\] stop_margin_ms = 501: not in 1..500 \(at most half of lease_ms, 1000\)"
quorum_ini "$T/q5.ini" "" "" "lease_ms = 1000"
expect_error "$T/q5.ini" "q5.ini: \[app db\] lease_ms = 1000: only for mode = quorum"
quorum_ini "$T/q6.ini" "max_drift = 20%" "" ""
expect_error "$T/q6.ini" "q6.ini:[0-9]+: \[cluster\] max_drift: \"20%\" is not a percentage in 0.01%..10%"
quorum_ini "$T/q7.ini" "" ", witness" "[app web]\nnodes = a@local, b@local\nstart = /bin/true"
expect_error "$T/q7.ini" "q7.ini:[0-9]+: \[app web\] nodes: b@local is a witness: it votes but holds no app"
quorum_ini "$T/q8.ini" "" ", referee" ""
expect_error "$T/q8.ini" "q8.ini:[0-9]+: \[nodes\] b@local: role \"referee\" is not candidate, worker or witness"
# heartbeat_ms after the app: the lease is checked again at the end.
{ sed '/^\[nodes\]/,$d' "$T/a.ini"; echo "[nodes]"; echo "a@local = 127.0.0.1:$BASE"
  printf '[app db]\nnodes = a@local\nstart = /bin/true\nmode = quorum\nlease_ms = 1000\n'
  printf '[cluster]\nheartbeat_ms = 300\n'; } > "$T/q9.ini"
expect_error "$T/q9.ini" "q9.ini: \[app db\] lease_ms = 1000: not in 1200..60000"
# The election timeout (heartbeat_ms x heartbeat_miss) must leave room
# for a renewal: stop_margin_ms + heartbeat_ms + 10 ms.
quorum_ini "$T/q10.ini" "heartbeat_miss = 3" "" "mode = quorum\nlease_ms = 2000\nstop_margin_ms = 500"
expect_error "$T/q10.ini" "q10.ini: \[app db\] stop_margin_ms = 500: the election timeout \(heartbeat_ms 250 x heartbeat_miss 3 = 750 ms\) must exceed stop_margin_ms \+ heartbeat_ms \+ 10 ms \(760 ms\)"
quorum_ini "$T/q11.ini" "heartbeat_miss = 4" "" "mode = quorum\nlease_ms = 2000\nstop_margin_ms = 500"
"$BIN/batond" --check -c "$T/q11.ini" > /dev/null || fail "--check refused an election timeout of 1000 ms for a margin of 500"

if msg=$(ctl a status 2>&1); then fail "batonctl succeeded without batond"; fi
grep -q "cannot reach batond at $T/a.sock: .* (is batond running?)" <<< "$msg" || fail "unclear batonctl error: $msg"
pass "batonctl without batond: $msg"

start a; start b
wait_for 10 agree a a b || fail "no agreement"
stat -c %a "$T/a.sock" | grep -qx 600 || fail "control socket is not 0600"
ctl a --json status | grep -q '"coordinator":"a@local"' || fail "--json status"
"$BIN/batonctl" status --json -c "$T/a.ini" | grep -q '"coordinator":"a@local"' ||
    fail "batonctl status --json -c FILE (options after the command)"
"$BIN/batonctl" status --socket "$T/a.sock" > /dev/null || fail "batonctl status --socket"
pass "batonctl options after the command"
out=$(ctl b nodes)
grep -qE "^a@local +127.0.0.1:$BASE +up +coordinator +yes +- +-$" <<< "$out" || fail "nodes: a: $out"
grep -qE "^b@local +127.0.0.1:$((BASE + 1)) +self +follower +- +- +-$" <<< "$out" || fail "nodes: b: $out"
pass "batonctl nodes:
$out"
kill -TERM "${PIDS[a]}"
wait "${PIDS[a]}" || fail "batond did not exit 0 on SIGTERM"
unset "PIDS[a]"
wait_for 2 grep -q "peer-down a@local (link closed" "$T/b.log" || fail "b did not see a's link close at once"
grep -q "shutting down (SIGTERM)" "$T/a.log" || fail "no shutdown log line"
# a is down: its role is unknown, not its last one shown as current.
out=$(ctl b nodes)
grep -qE "^a@local +127.0.0.1:$BASE +down +unknown +- +- +-$" <<< "$out" || fail "nodes after a left: $out"
ctl b --json status | grep -q '"name":"a@local",[^}]*"role":"unknown"' || fail "status: a's role is not unknown"
ctl b --json status | grep -q '"last_status":"coordinator"' || fail "status: a's last status is gone"
ctl b status | grep -qE "^  a@local .* down .* unknown$" || fail "status shows a's last status as current: $(ctl b status)"
pass "a dead peer's role is unknown"
pass "SIGTERM: clean exit, b saw the link close"
