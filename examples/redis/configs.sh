#!/bin/sh
# configs.sh DIR [BATON_PORT [REDIS_PORT]]: the configs of a 3-node
# cluster on loopback (a@local, b@local, c@local) running redis as an
# app, in DIR: a.ini, b.ini, c.ini and their cookie. batond listens on
# BATON_PORT..+2 (default 7701), redis on REDIS_PORT..+2 (default 6380):
# one host needs a port per node. On three hosts every node would run
# redis on 6379 and the [app redis] section would be the same in every
# file, but for address.NODE. LOG_LEVEL (default info) sets log_level.
set -eu
dir=$(mkdir -p "$1" && cd "$1" && pwd)
bport=${2:-7701}
rport=${3:-6380}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -f "$dir/cookie" ]; then
    (umask 077 && head -c 24 /dev/urandom | base64 > "$dir/cookie")
fi
i=0
for n in a b c; do
    port=$((rport + i))
    cat > "$dir/$n.ini" <<INI
[node]
name = $n@local
cookie_file = cookie
control_socket = $dir/$n.sock
control_socket_ro = $dir/$n-ro.sock
state_dir = state-$n
log_level = ${LOG_LEVEL:-info}

[nodes]
a@local = 127.0.0.1:$bport
b@local = 127.0.0.1:$((bport + 1))
c@local = 127.0.0.1:$((bport + 2))

[app redis]
nodes = a@local, b@local, c@local
failover_timeout = 0
start = $here/redis-app $port $dir/redis-$n
ready = command sh -c 'test "\$(redis-cli -p $port ping)" = PONG'
state_export = $here/redis-export $port
name = redis
address.a@local = 127.0.0.1:$rport
address.b@local = 127.0.0.1:$((rport + 1))
address.c@local = 127.0.0.1:$((rport + 2))
pre_start = $here/redis-hook up $dir/vip-$n.log
post_stop = $here/redis-hook down $dir/vip-$n.log
monitor = sh -c 'test "\$(redis-cli -p $port ping)" = PONG'
monitor_interval_ms = 500
monitor_timeout_ms = 1000
monitor_failures = 2
max_restarts = 1
restart_window = 60000
INI
    i=$((i + 1))
done
echo "configs in $dir: batond -c $dir/a.ini (and b.ini, c.ini)"
