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
