# A node rejoins a cluster whose name table is larger than a frame
# (issue 11 finding 7): names_cap = 16384, 12,000 names of 110 bytes
# with 250 bytes of metadata (about 4.6 MB of snapshot, more than a
# 4 MiB frame), held by sessions on a and b. c is
# killed with -9 and restarted: the snapshot reaches it in parts, and it
# must follow a again with every name. Before snapshots came in parts,
# it stayed joining while a logged "larger than a frame".
source "$(dirname "$0")/lib.sh"

NC="$(dirname "$PROBE")/baton-names-client"
# Two sessions of 3,000 names on each of a and b: a session holds at
# most 4,096 names, a node's sessions 8,192 in all.
TOTAL=12000

cluster 3
# A 4.6 MB snapshot takes a sanitized batond a second or more to encode
# or decode, a step its node cannot heartbeat in: a 4 s detection
# window keeps such steps from being taken for failures (the test is
# about size, not detection).
for n in a b c; do
    sed -i 's/^\[nodes\]$/[cluster]\nnames_cap = 16384\nheartbeat_ms = 1000\n[nodes]/' "$T/$n.ini"
done
for n in a b c; do start $n; done
wait_for 10 agree a a b c || fail "no coordinator"

# register KEY NODE PREFIX FIRST N: a session on NODE holding N names,
# in the background (killed by PID on exit), output in $T/KEY.out.
register() {
    "$NC" hold "$T/$2.sock" "$3" "$4" "$5" > "$T/$1.out" 2>&1 &
    PIDS[$1]=$!
}
registered() { grep -q "^registered $2 failed 0$" "$T/$1.out"; }
register a1 a a 0 3000
register a2 a a 3000 3000
register b1 b b 0 3000
register b2 b b 3000 3000
for k in a1 a2 b1 b2; do
    wait_for 120 registered $k 3000 || fail "$k: $(cat "$T/$k.out")"
done

# count NODE: how many names NODE's table shows. A listing of 12,000
# names takes batond a while to write (seconds under the sanitizers,
# time its node does not step), so it is polled every half second.
count() { ctl "$1" --json names 2>/dev/null | grep -o '"endpoint":' | wc -l; }
has_all() { [ "$(count "$1")" -eq "$TOTAL" ]; }
# poll SECONDS CMD...: as wait_for, every 0.5 s.
poll() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.5
    done
}
for n in a b c; do poll 60 has_all $n || fail "$n sees $(count $n) of $TOTAL names"; done
pass "$TOTAL names of 110 bytes with 250-byte metadata on every node"

# follows NODE: NODE follows a, a counts it as a member.
follows() {
    ctl "$1" status 2>/dev/null | grep -q '^role: *follower$' &&
        ctl a status 2>/dev/null | grep -q "^ *$1@local .*follower of a@local"
}
stop9 c
start c
poll 60 follows c || fail "c did not rejoin: $(ctl c status 2>&1)"
poll 60 has_all c || fail "c rejoined with $(count c) of $TOTAL names"
# Exactly a's table: the same names, holders and tokens. (A read leaves
# out the names of a node it sees down: on a loaded machine a peer may
# be, for a moment, so the two reads are retried until both are whole.)
same_table() {
    ctl a --json names | tr '{' '\n' | grep '"endpoint":' | sort > "$T/a.names"
    ctl c --json names | tr '{' '\n' | grep '"endpoint":' | sort > "$T/c.names"
    [ "$(wc -l < "$T/a.names")" -eq "$TOTAL" ] && cmp -s "$T/a.names" "$T/c.names"
}
poll 60 same_table || fail "c's table differs from a's ($(wc -l < "$T/c.names") and $(wc -l < "$T/a.names") names)"
! grep -q "larger than a frame" "$T/a.log" || fail "a: a message larger than a frame"
grep -q "snapshot from a" "$T/c.log" || fail "c logged no snapshot from a"
# For the record, not asserted: c's boot to its welcome, by its log.
ms() { date -d "$1" +%s%3N; }
boot=$(grep ' INFO boot inc=' "$T/c.log" | tail -1 | cut -d' ' -f1)
welcomed=$(grep ' INFO follower of a@local' "$T/c.log" | tail -1 | cut -d' ' -f1)
pass "c killed -9 and restarted: it follows a with all $TOTAL names, as a holds them" \
    "($(( $(ms "$welcomed") - $(ms "$boot") )) ms from boot to welcome)"
