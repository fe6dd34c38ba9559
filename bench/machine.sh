# The machine's floor, printed beside the figures it bounds
# (docs/benchmarks.md "The machine"): a loopback TCP round trip, a Unix
# socket round trip (16 bytes, two processes, as every hop of a call) and
# fork + exec of /bin/true (what starting any app costs here), each as
# min / median / max of many samples (bench/probe.c).
source "$(dirname "$0")/lib.sh"
PB="$BIN/baton-bench-probe"
floor() { # NAME TARGET PROBE-ARGS...: the probe's "min median max" in µs
    local name=$1 target=$2 lo mid hi
    shift 2
    read -r lo mid hi < <("$PB" "$@")
    result "$name" "$mid" us "$target" "$lo" "$hi"
}
floor machine.tcp_loopback_rtt_us "report (Erlang's machine: 9.1)" tcp 20000
floor machine.unix_socket_rtt_us "report (Erlang's machine: 6.5)" unix 20000
floor machine.fork_exec_true_us "report (Erlang's machine: 1000)" spawn 300 /bin/true
