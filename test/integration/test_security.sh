# Wrong cookie: rejected on both ends, both log it, the cookie never
# appears. Garbage, a truncated handshake, an oversized length, a
# replayed and a tampered frame: that link is closed, the node keeps
# serving the others.
source "$(dirname "$0")/lib.sh"

COOKIE_OVERRIDE[c]=wrong-cookie
cluster 3
cookie "$T/wrong-cookie" "not-the-cluster-cookie"
for n in a b c; do start $n; done
wait_for 10 agree a a b || fail "a and b never agreed"
wait_for 5 grep -q "authentication failed" "$T/a.log" || fail "a did not log the auth failure"
wait_for 5 grep -q "authentication failed" "$T/c.log" || fail "c did not log the auth failure"
grep -q "127.0.0.1" <(grep "authentication failed" "$T/a.log") || fail "no peer address in the log"
for f in a b c; do
    if grep -qF "$(cat "$T/cookie")" "$T/$f.log" || grep -qF "not-the-cluster-cookie" "$T/$f.log"; then
        fail "a cookie appears in $f.log"
    fi
done
[ "$(coord c)" != "a@local" ] || fail "c with the wrong cookie joined a"
pass "wrong cookie: refused and logged on both ends, never printed"

stop9 c
# The probe speaks as c, with the right cookie.
cp "$T/c.ini" "$T/probe.ini"
sed -i "s|^cookie_file = .*|cookie_file = cookie|" "$T/probe.ini"
for mode in garbage truncated oversized bighello oldversion replay tamper; do
    "$PROBE" $mode "$T/probe.ini" a@local > /dev/null || fail "probe $mode: link not closed"
    agree a a b || fail "a stopped serving b after probe $mode"
    pass "probe $mode: link closed, a still serves b"
done
grep -q "malformed or oversized frame" "$T/a.log" || fail "no log line for the malformed frame"
grep -q "wire version mismatch with an unidentified peer (127.0.0.1:[0-9]*): peer speaks [0-9]*, which predates negotiation; this node speaks [0-9]*\.\.[0-9]*" "$T/a.log" ||
    fail "no log line naming both wire versions"
grep -q "failed authentication (tampered, replayed or reordered)" "$T/a.log" || fail "no log line for the replayed frame"
# The HELLOs' ranges are in the transcript (docs/design/transport.md §2):
# a range narrowed on the way fails the proof, the link is not downgraded.
# (The wrong cookie above logged such lines too: count the new one.)
failed() { grep -c "authentication failed with c@local (127.0.0.1:[0-9]*): its cookie differs or the handshake was altered" "$T/a.log" || true; }
before=$(failed)
"$PROBE" downgrade "$T/probe.ini" a@local > /dev/null || fail "probe downgrade: link not closed"
more_failed() { [ "$(failed)" -gt "$before" ]; } # re-run by wait_for
wait_for 5 more_failed || fail "no proof failure for the narrowed range"
agree a a b || fail "a stopped serving b after probe downgrade"
pass "probe downgrade: a range narrowed on the way fails the proof"
"$PROBE" valid "$T/probe.ini" a@local > /dev/null || fail "a valid peer was disconnected"
pass "a well-behaved peer keeps its link"
