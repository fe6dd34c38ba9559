#!/usr/bin/env bash
# Fails if the sans-IO core calls anything that reads a clock, draws OS
# randomness, allocates, prints or makes a syscall. Usage: DIR
set -euo pipefail
dir=${1:?usage: check-core-purity.sh DIR}
banned='\b(time|clock|clock_gettime|gettimeofday|rand|srand|random|getrandom|arc4random|malloc|calloc|realloc|free|socket|connect|accept|bind|listen|send|sendto|sendmsg|recv|recvfrom|recvmsg|open|openat|close|read|write|pread|pwrite|fsync|fork|execv|execvp|execve|system|popen|sleep|usleep|nanosleep|getpid|kill|signal|printf|fprintf|puts|fputs|perror|exit|abort)[[:space:]]*\('
banned_headers='#include[[:space:]]*<(time\.h|unistd\.h|sys/[a-z_]+\.h|fcntl\.h|signal\.h|pthread\.h|stdlib\.h)>'
status=0
if grep -nE "$banned" "$dir"/*.c "$dir"/*.h | grep -vE '^\S+:[0-9]+:\s*(/\*|\*)'; then
    echo "check-core-purity: the calls above are not allowed in $dir (sans-IO core)" >&2
    status=1
fi
if grep -nE "$banned_headers" "$dir"/*.c "$dir"/*.h; then
    echo "check-core-purity: the headers above are not allowed in $dir (sans-IO core)" >&2
    status=1
fi
[ $status -eq 0 ] && echo "check-core-purity: $dir is sans-IO"
exit $status
