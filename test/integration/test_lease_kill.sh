# The shim's own lease timer (docs/design/quorum.md §4.4,
# docs/design/supervision.md §8): a quorum app's shim kills the app's
# process group at the lease end batond handed it, whether batond renews
# or not; a renewal moves the end; an app whose shim gets no lease (an
# available app) is never killed by it. lease_shim.py plays batond on
# the shim's stdin and never renews, as a batond frozen by SIGSTOP would
# not. (A quorum app does not run under batond until the Raft store is
# wired in: quorum.md §9; this checks the shim, the part that must act
# without batond.)
source "$(dirname "$0")/lib.sh"

H="$(dirname "$0")/lease_shim.py"
for mode in once renewed none; do
    python3 "$H" "$BIN/batond" "$mode" 2> "$T/$mode.log" || {
        cat "$T/$mode.log" >&2
        fail "lease_shim.py $mode"
    }
    case $mode in
    once | renewed)
        grep -q "baton-shim: lease ended" "$T/$mode.log" ||
            fail "$mode: the shim did not say why it killed the group"
        ;;
    esac
done
pass "the shim kills the app's group at its lease end, not before; a renewal moves it; no lease, no kill"
