# Clients find the app (issue 14 item 2): batonctl reregister moves a
# name atomically; whereis --address prints the address in a name's meta;
# an app's name carries its address on its node (address =, address.NODE
# =, or what the app wrote to $BATON_ADDRESS_FILE), and the address
# follows a failover.
source "$(dirname "$0")/lib.sh"

APP_SECTIONS="[app svc]
nodes = a@local, b@local
failover_timeout = 0
name = svc.name
address = 127.0.0.1:7000
address.b@local = 127.0.0.1:7001
start = sh -c 'trap \"exit 0\" TERM; while :; do sleep 0.05; done'
[app dyn]
nodes = a@local, b@local
failover_timeout = 0
name = dyn.name
address = 127.0.0.1:7999
ready = command sh -c 'test -s \"\$BATON_ADDRESS_FILE\"'
start = sh -c 'case \$BATON_NODE in a@local) p=8001;; *) p=8002;; esac; sleep 0.2; echo \"[::1]:\$p\" > \"\$BATON_ADDRESS_FILE\"; trap \"exit 0\" TERM; while :; do sleep 0.05; done'
[app once]
nodes = b@local
name = once.name
address = 127.0.0.1:7100
ready = command sh $T/once-ready.sh
start = sh $T/once.sh"
# once: publishes 127.0.0.1:7101 on its first start only.
cat > "$T/once.sh" <<'EOS'
if [ ! -e "$(dirname "$0")/once.done" ]; then
    echo 127.0.0.1:7101 > "$BATON_ADDRESS_FILE"
    touch "$(dirname "$0")/once.done"
fi
echo $$ > "$(dirname "$0")/once.pid"
trap "exit 0" TERM
while :; do sleep 0.05; done
EOS
echo 'test -s "$BATON_ADDRESS_FILE" || test -e "$(dirname "$0")/once.done"' > "$T/once-ready.sh"
cluster 2

# Config: an address that is not host:port, or a node not in [nodes].
for bad in "address = 127.0.0.1" "address = h:99999" "address = a:b:1" "address.z@local = h:1"; do
    printf '%s\n' "$(cat "$T/a.ini")" "[app bad]" "nodes = a@local" "start = true" "$bad" > "$T/bad.ini"
    if "$BIN/batond" --check -c "$T/bad.ini" > /dev/null 2> "$T/check.err"; then
        fail "--check accepted \"$bad\""
    fi
    grep -q "\[app bad\] address" "$T/check.err" || fail "--check on \"$bad\": $(cat "$T/check.err")"
done
pass "address must be host:port, address.NODE a node of [nodes]"
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

# addr NODE NAME WANT: NODE's whereis --address NAME prints WANT.
addr() { [ "$(ctl "$1" whereis "$2" --address 2>/dev/null)" = "$3" ]; }
wait_for 10 runs_on svc a a b || fail "svc never ran on a"
wait_for 10 addr b svc.name 127.0.0.1:7000 || fail "svc on a: b sees $(ctl b whereis svc.name 2>&1 | tail -1)"
ctl b whereis svc.name | grep -q "app=svc address=127.0.0.1:7000" || fail "svc.name's meta: $(ctl b whereis svc.name)"
wait_for 10 runs_on dyn a a b || fail "dyn never ran on a"
addr b dyn.name "[::1]:8001" || fail "dyn on a is ready, but b sees $(ctl b whereis dyn.name 2>&1 | tail -1)"
grep -q "app dyn: publishes address \[::1\]:8001" "$T/a.log" || fail "a did not log dyn's address"
pass "an app's name carries its address: address = (svc), \$BATON_ADDRESS_FILE once ready (dyn)"

stop9 a
wait_for 15 runs_on svc b b || fail "svc did not fail over to b"
wait_for 10 addr b svc.name 127.0.0.1:7001 || fail "svc on b: b sees $(ctl b whereis svc.name 2>&1 | tail -1)"
wait_for 15 runs_on dyn b b || fail "dyn did not fail over to b"
addr b dyn.name "[::1]:8002" || fail "dyn on b is ready, but b sees $(ctl b whereis dyn.name 2>&1 | tail -1)"
pass "after a failover the address is the new node's (address.b@local; dyn's own)"

# A local restart starts with the configured address, not the crashed
# instance's: once publishes 127.0.0.1:7101 on its first start only.
wait_for 10 runs_on once b b || fail "once never ran on b"
wait_for 10 addr b once.name 127.0.0.1:7101 || fail "once's first instance: b sees $(ctl b whereis once.name 2>&1 | tail -1)"
kill -KILL "$(cat "$T/once.pid")"
wait_for 10 grep -q "app once: killed by signal 9; restarting" "$T/b.log" || fail "once was not restarted"
wait_for 10 addr b once.name 127.0.0.1:7100 || fail "once restarted: b sees $(ctl b whereis once.name 2>&1 | tail -1)"
pass "a restarted instance that publishes nothing has the configured address again"
