# Wire versions negotiated at the handshake (docs/design/wire.md §1.1):
# three nodes of one build, one of them offering other versions through
# the test knob BATON_WIRE_RANGE. This build speaks 5..6: a node pinned
# to 5 links at 5 with the others (which link at 6 among themselves), a
# disjoint range is refused, both sides naming both ranges, and the same
# node with the build's range links at 6 again.
source "$(dirname "$0")/lib.sh"

cluster 3

# wire NODE PEER: the version NODE's status shows for its link to PEER
# ("null" while it is down).
wire() {
    ctl "$1" --json status 2>/dev/null | tr '{' '\n' |
        grep "\"name\":\"$2@local\"" | sed -n 's/.*"wire":\([^,}]*\).*/\1/p'
}
linked() { [ "$(wire "$1" "$2")" = "$3" ]; }

# A knob outside what negotiation allows is refused at start.
BATON_WIRE_RANGE=4-5 "$BIN/batond" -c "$T/c.ini" 2> "$T/knob.log" &&
    fail "batond started with BATON_WIRE_RANGE=4-5"
grep -q "BATON_WIRE_RANGE=4-5: expected MIN-MAX, 5 <= MIN <= MAX <= 255" "$T/knob.log" ||
    fail "no line naming the bad knob: $(cat "$T/knob.log")"
pass "a range below negotiation is refused at start"

# c offers 5..5 only: a and b link with it at 5, with each other at 6.
start a; start b
BATON_WIRE_RANGE=5-5 start c
for x in a:c b:c c:a c:b; do
    wait_for 10 linked "${x%:*}" "${x#*:}" 5 ||
        fail "${x%:*} -> ${x#*:}: wire $(wire "${x%:*}" "${x#*:}"), not 5"
done
wait_for 10 linked a b 6 || fail "a -> b: wire $(wire a b), not 6"
grep -q "offering wire versions 5..5 instead of 5..6" "$T/c.log" ||
    fail "c did not say it runs with the test knob"
wait_for 10 agree a a b c || fail "no agreement with c at 5..5"
pass "5..6 and 5..5 link at version 5, 5..6 with 5..6 at 6"

# c offers 7..8 only: refused by both a and b, each side naming both
# ranges; c stays unlinked.
stop9 c
BATON_WIRE_RANGE=7-8 start c
for n in a b; do
    wait_for 10 grep -q "wire versions disjoint with c@local (127.0.0.1:[0-9]*): peer speaks 7..8, this node 5..6; closing the link" "$T/$n.log" ||
        fail "$n did not name both ranges"
done
wait_for 10 grep -q "wire versions disjoint with [ab]@local (127.0.0.1:[0-9]*): peer speaks 5..6, this node 7..8; closing the link" "$T/c.log" ||
    fail "c did not name both ranges"
for n in a b; do
    linked "$n" c null || fail "$n shows a link to c: wire $(wire "$n" c)"
    linked c "$n" null || fail "c shows a link to $n: wire $(wire c "$n")"
done
linked a b 6 || fail "a and b lost their link: wire $(wire a b)"
pass "5..6 and 7..8 are refused, both ranges named"

# The same node with the build's range links again.
stop9 c
start c
for x in a:c b:c c:a c:b; do
    wait_for 10 linked "${x%:*}" "${x#*:}" 6 ||
        fail "${x%:*} -> ${x#*:}: wire $(wire "${x%:*}" "${x#*:}") after c's restart"
done
wait_for 10 agree a a b c || fail "no agreement after c's restart"
pass "c with the build's range links at 6 again"

# The AEAD (docs/design/transport.md §3): c offers ChaCha20-Poly1305
# alone (the test knob BATON_AEAD), as a machine without AES-NI does; a
# and b offer AES-256-GCM where this machine has it. c links with both
# all the same (ChaCha20-Poly1305 on its links, AES-256-GCM between a
# and b), and a value the knob does not know is refused at start.
stop9 c
BATON_AEAD=aes "$BIN/batond" -c "$T/c.ini" 2> "$T/aead.log" &&
    fail "batond started with BATON_AEAD=aes"
grep -q "BATON_AEAD=aes: the one value is chacha20-poly1305" "$T/aead.log" ||
    fail "no line naming the bad knob: $(cat "$T/aead.log")"
BATON_AEAD=chacha20-poly1305 start c
for x in a:c b:c c:a c:b; do
    wait_for 10 linked "${x%:*}" "${x#*:}" 6 ||
        fail "${x%:*} -> ${x#*:}: wire $(wire "${x%:*}" "${x#*:}") with c on ChaCha20-Poly1305 alone"
done
grep -q "BATON_AEAD (a test knob): offering ChaCha20-Poly1305 alone" "$T/c.log" ||
    fail "c did not say it runs with the test knob"
wait_for 10 agree a a b c || fail "no agreement with c on ChaCha20-Poly1305 alone"
linked a b 6 || fail "a and b lost their link: wire $(wire a b)"
pass "a node offering ChaCha20-Poly1305 alone links with the others"
