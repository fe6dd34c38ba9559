# Config errors name file:line and the key; a cookie file readable by
# others is refused; batonctl explains a missing batond; SIGTERM closes
# links at once.
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

# Quorum mode's keys (docs/config.md "Quorum mode"): a good set passes,
# each bad value is refused naming file:line (or the file), the key, the
# value and the allowed range.
quorum_ini() { # FILE [cluster] lines, [nodes] role of b, [app db] lines
    { sed '/^\[nodes\]/,$d' "$T/a.ini"; printf '[cluster]\n%b\n' "$2"
      echo "[nodes]"; echo "a@local = 127.0.0.1:$BASE"
      echo "b@local = 127.0.0.1:$((BASE + 1))$3"
      printf '[app db]\nnodes = a@local\nstart = /bin/true\n%b\n' "$4"; } > "$1"
}
quorum_ini "$T/q.ini" "heartbeat_ms = 250\nmax_drift = 0.5%" ", witness" \
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
quorum_ini "$T/q7.ini" "" ", witness" "nodes = a@local, b@local"
expect_error "$T/q7.ini" "q7.ini:[0-9]+: \[app db\] nodes: b@local is a witness: it votes but holds no app"
quorum_ini "$T/q8.ini" "" ", referee" ""
expect_error "$T/q8.ini" "q8.ini:[0-9]+: \[nodes\] b@local: role \"referee\" is not candidate, worker or witness"
# heartbeat_ms after the app: the lease is checked again at the end.
quorum_ini "$T/q9.ini" "" "" "mode = quorum\nlease_ms = 1000"
printf '[cluster]\nheartbeat_ms = 300\n' >> "$T/q9.ini"
expect_error "$T/q9.ini" "q9.ini: \[app db\] lease_ms = 1000: not in 1200..60000"

if msg=$(ctl a status 2>&1); then fail "batonctl succeeded without batond"; fi
grep -q "cannot reach batond at $T/a.sock: .* (is batond running?)" <<< "$msg" || fail "unclear batonctl error: $msg"
pass "batonctl without batond: $msg"

start a; start b
wait_for 10 agree a a b || fail "no agreement"
stat -c %a "$T/a.sock" | grep -qx 600 || fail "control socket is not 0600"
ctl a --json status | grep -q '"coordinator":"a@local"' || fail "--json status"
kill -TERM "${PIDS[a]}"
wait "${PIDS[a]}" || fail "batond did not exit 0 on SIGTERM"
unset "PIDS[a]"
wait_for 2 grep -q "peer-down a@local (link closed" "$T/b.log" || fail "b did not see a's link close at once"
grep -q "shutting down (SIGTERM)" "$T/a.log" || fail "no shutdown log line"
pass "SIGTERM: clean exit, b saw the link close"
