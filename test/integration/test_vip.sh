# The floating-IP recipe of docs/config.md "Hooks", in a private network
# namespace: pre_start adds the app's address on this node's interface,
# post_stop removes it. Each node has its own dummy interface (vip-a,
# vip-b, a veth pair: here both nodes share one host). The address follows the app
# through a move, a move back, a crash of the app, and kill -9 of the
# owner's batond. Needs root, unshare and ip (exit 77: skipped).
if [ -z "${BATON_VIP_NETNS:-}" ]; then
    if [ "$(id -u)" != 0 ] || ! command -v unshare > /dev/null || ! command -v ip > /dev/null; then
        echo "skipped: needs root, unshare and ip"
        exit 77
    fi
    # The namespace goes with the last process in it: nothing to clean.
    exec env BATON_VIP_NETNS=1 unshare --net bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"

ip link set lo up
# A veth pair: two interfaces without a kernel module to load (dummy's
# may be missing in a container).
ip link add vip-a type veth peer name vip-b
ip link set vip-a up
ip link set vip-b up
VIP=10.99.0.1
cat > "$T/vip.sh" <<EOS
# vip.sh up|down: the app's address on this node's interface.
dev=vip-\${BATON_NODE%@*}
case \$1 in
up) ip addr replace $VIP/32 dev \$dev ;;
down) ip addr del $VIP/32 dev \$dev 2> /dev/null || true ;;
esac
EOS
APP_SECTIONS="[app svc]
nodes = a@local, b@local
failover_timeout = 0
name = svc.name
address = $VIP:6379
pre_start = sh $T/vip.sh up
post_stop = sh $T/vip.sh down
start = sh -c 'echo \$\$ > $T/svc.pid; trap \"exit 0\" TERM; while :; do sleep 0.05; done'"
cluster 2
start a
start b
wait_for 10 runs_on svc a a b || fail "svc never ran on a"

# (Not ip | grep -q: grep's early exit is a SIGPIPE for ip, a failure
# under pipefail.)
has() { [[ "$(ip -o addr show dev "vip-$1")" == *" $VIP/32 "* ]]; }
# vip_on NODE: the address is on NODE's interface only.
vip_on() {
    local other=a
    [ "$1" = a ] && other=b
    has "$1" && ! has "$other"
}
vip_on a || fail "the address is not on vip-a only: $(ip -o addr show)"
[ "$(ctl b whereis svc.name --address)" = "$VIP:6379" ] || fail "whereis --address svc.name: $(ctl b whereis svc.name)"
pass "svc runs on a: $VIP on vip-a"

ctl a permit svc false > /dev/null
wait_for 10 runs_on svc b a b || fail "svc did not move to b"
wait_for 10 vip_on b || fail "after the move the address is not on vip-b only: $(ip -o addr show)"
ctl a permit svc true > /dev/null
wait_for 10 runs_on svc a a b || fail "svc did not move back to a"
wait_for 10 vip_on a || fail "after the move back the address is not on vip-a only: $(ip -o addr show)"
pass "moves: the address follows svc (b's pre_start adds it, a's post_stop removes it, and back)"

kill -KILL "$(cat "$T/svc.pid")"
wait_for 10 grep -q "app svc: pre_start (restart) runs" "$T/a.log" || fail "svc's restart ran no pre_start"
wait_for 10 runs_on svc a a b || fail "svc not restarted on a"
wait_for 10 vip_on a || fail "after the restart the address is not on vip-a: $(ip -o addr show)"
pass "kill -9 of svc: post_stop removes the address, the restart's pre_start adds it again"

# A hard kill of a's batond runs no post_stop there (its machine would be
# gone or fenced): here the address stays on vip-a, and b's pre_start
# adds it on vip-b.
stop9 a
wait_for 15 runs_on svc b b || fail "svc did not fail over to b"
has b || fail "after the failover the address is not on vip-b: $(ip -o addr show)"
grep -q "app svc: pre_start (failover) runs" "$T/b.log" || fail "b ran no pre_start (failover)"
pass "kill -9 of a's batond: b's pre_start (failover) takes the address over"
