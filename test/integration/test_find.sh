# Clients find the app (issue 14 item 2): batonctl reregister moves a
# name atomically; whereis --address prints the address in a name's meta.
source "$(dirname "$0")/lib.sh"

cluster 2
start a
start b
wait_for 10 agree a a b || fail "no coordinator"

# A name held on a, re-pointed from b with an address in its meta.
ctl a register web --meta "app=web" --hold > "$T/hold_a.out" 2>&1 &
PIDS[hold_a]=$!
wait_for 10 grep -q "holding it" "$T/hold_a.out" || fail "register --hold on a: $(cat "$T/hold_a.out")"
wait_for 10 sh -c "'$BIN/batonctl' -c '$T/b.ini' whereis web | grep -q a@local" ||
    fail "b does not see web on a"
ctl a whereis web --address > "$T/none.out" 2>&1 && fail "whereis --address without an address exited 0"
grep -q "no address in its meta" "$T/none.out" || fail "whereis --address without an address: $(cat "$T/none.out")"
ctl b reregister web "app=web address=10.0.0.7:6379" --hold > "$T/hold_b.out" 2>&1 &
PIDS[hold_b]=$!
wait_for 10 grep -q "reregistered web: holding it" "$T/hold_b.out" || fail "reregister on b: $(cat "$T/hold_b.out")"
wait_for 10 grep -q "lost web: replaced" "$T/hold_a.out" || fail "a's holder did not hear name_lost replaced: $(cat "$T/hold_a.out")"
got=$(ctl a whereis web --address) || fail "whereis --address on a failed"
[ "$got" = "10.0.0.7:6379" ] || fail "whereis --address on a: \"$got\""
ctl a whereis web | grep -q "b@local" || fail "whereis on a does not show web on b"
pass "batonctl reregister moves web to b; whereis --address prints its address"
ctl b reregister web --meta x extra > /dev/null 2>&1 && fail "reregister with META and --meta was accepted"
kill "${PIDS[hold_a]}" "${PIDS[hold_b]}"
wait "${PIDS[hold_a]}" "${PIDS[hold_b]}" || true
unset "PIDS[hold_a]" "PIDS[hold_b]"
