# Names in quorum mode on real batond nodes (docs/design/quorum.md §6):
# three nodes with a quorum app (so they run the Raft group). A quorum
# name is registered at the leader (the other nodes answer
# "unavailable": no forwarding); whereis --quorum from all three agrees:
# the holder, or "unavailable", never another answer. kill -9 of the
# leader, which holds the name: every answer from then on is the
# committed holder, "unavailable" or, once the new leader has committed
# the purge of the lost node's names, "not_found", and never the holder
# again after that.
source "$(dirname "$0")/lib.sh"

cat > "$T/app.sh" << EOF
#!/bin/sh
exec sleep 1000
EOF

quorum_db "a@local, b@local, c@local"
cluster 3
start a; start b; start c
wait_for 30 one_runner db || fail "db never ran: no Raft leader"

# qwhereis NODE NAME: "node=X epoch=E", "unavailable", "not_found", or
# "error:<what>" (any other answer fails the test where it is used).
qwhereis() {
    local out
    out=$(ctl "$1" --json whereis "$2" --quorum 2> /dev/null) || true
    case $out in
        *'"ok":true'*)
            echo "node=$(echo "$out" | sed 's/.*"node":"\([^"]*\)".*/\1/' | sed 's/@.*//') epoch=$(echo "$out" | sed 's/.*"epoch":"\([0-9]*\)".*/\1/')" ;;
        *'"error":"unavailable"'*) echo unavailable ;;
        *'"error":"not_found"'*) echo not_found ;;
        *) echo "error:$out" ;;
    esac
}

# Register at each node in turn: the leader answers ok, the others
# "unavailable".
leader=""
register_somewhere() {
    local n out
    for n in a b c; do
        [ -n "${PIDS[$n]:-}" ] || continue # killed
        out=$(ctl "$n" --json register lock1 --quorum 2>&1) || true
        case $out in
            *'"ok":true'*) leader=$n; return 0 ;;
            *'"error":"unavailable"'*) ;;
            *) fail "register lock1 --quorum at $n: $out" ;;
        esac
    done
    return 1
}
wait_for 30 register_somewhere || fail "no node took the registration"
pass "lock1 registered through $leader (the leader); the others said unavailable"

# A second registration of the same name by another session: taken.
out=$(ctl "$leader" --json register lock1 --quorum 2> /dev/null) || true
case $out in
    *'"error":"taken"'*) pass "a second register of lock1 is taken" ;;
    *) fail "second register of lock1: $out" ;;
esac

# whereis from all three: the leader answers the holder; the others
# "unavailable" (no read-index round trip yet); never anything else.
held=$(qwhereis "$leader" lock1)
case $held in
    "node=$leader epoch="[0-9]*) ;;
    *) fail "whereis lock1 at the leader $leader: $held" ;;
esac
for n in a b c; do
    got=$(qwhereis "$n" lock1)
    [ "$got" = "$held" ] || [ "$got" = unavailable ] ||
        fail "whereis lock1 at $n: $got (the leader says $held)"
done
pass "whereis --quorum lock1: $held at the leader; the others agree or say unavailable"

# kill -9 the leader (the holder's node): answers stay the committed
# holder or unavailable until the purge commits, then not_found, and
# the holder never comes back.
stop9 "$leader"
purged=0
deadline=$((SECONDS + 30))
while [ $SECONDS -lt $deadline ]; do
    for n in a b c; do
        [ "$n" = "$leader" ] && continue
        got=$(qwhereis "$n" lock1)
        case $got in
            unavailable) ;;
            not_found) purged=1 ;;
            "$held") [ $purged = 0 ] || fail "whereis lock1 at $n: $got after the purge" ;;
            *) fail "whereis lock1 at $n after the kill: $got (held: $held)" ;;
        esac
    done
    [ $purged = 1 ] && break
    sleep 0.05
done
[ $purged = 1 ] || fail "the killed holder's lock1 was never purged"
for n in a b c; do
    [ "$n" = "$leader" ] && continue
    got=$(qwhereis "$n" lock1)
    [ "$got" = not_found ] || [ "$got" = unavailable ] ||
        fail "whereis lock1 at $n after the purge: $got"
done
pass "kill -9 of $leader: answers were $held or unavailable, then not_found (purged)"

# The name is free again: a survivor's registration is taken at the new
# leader, under a higher epoch.
wait_for 30 register_somewhere || fail "lock1 could not be registered again"
again=$(qwhereis "$leader" lock1)
case $again in
    "node=$leader epoch="[0-9]*)
        [ "${again#*epoch=}" -gt "${held#*epoch=}" ] ||
            fail "epoch did not grow: $held -> $again" ;;
    *) fail "whereis lock1 at the new leader $leader: $again" ;;
esac
pass "lock1 registered again through $leader: $again (was $held)"
