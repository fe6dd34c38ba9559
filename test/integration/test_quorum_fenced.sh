# The fenced-store example end to end (examples/fenced/, docs/design/
# quorum.md §4.5): a quorum app on three batond nodes writes to the
# store under its BATON_EPOCH (fenced-client reads BATON_EPOCH_FILE,
# then BATON_EPOCH). Its owner's whole node is frozen (SIGSTOP of batond,
# the shim and the app) past its lease; the app starts on another node
# under a higher epoch and writes; the old owner's app, woken first
# (SIGCONT), makes its late write: the store refuses it. Then the old
# node wakes up and stops its instance, its lease long over.
source "$(dirname "$0")/lib.sh"

FD="$BIN/examples/fenced"
FC="$BIN/examples/fenced-client"
[ -x "$FD" ] && [ -x "$FC" ] || fail "build the examples first ($FD, $FC)"
SOCK="$T/fenced.sock"
WRITES="$T/writes" # EPOCH NODE first|late ANSWER

"$FD" "$SOCK" "$T/fenced.state" > "$T/fenced.out" 2> "$T/fenced.log" &
PIDS[fenced]=$!
wait_for 10 grep -q '^ready$' "$T/fenced.out" || fail "fenced did not start"

# The app: writes once at start; writes again (late) when go-NODE shows.
cat > "$T/app.sh" << EOF
#!/bin/sh
me=\${BATON_NODE%%@*}
echo "\$\$ \$PPID" > "$T/app-\$me.pids"
out=\$("$FC" "$SOCK" put data "from-\$me-\$BATON_EPOCH" 2>&1)
echo "\$BATON_EPOCH \$me first \$out" >> "$WRITES"
while :; do
    if [ -e "$T/go-\$me" ]; then
        rm -f "$T/go-\$me"
        out=\$("$FC" "$SOCK" put data "late-\$me-\$BATON_EPOCH" 2>&1)
        echo "\$BATON_EPOCH \$me late \$out" >> "$WRITES"
    fi
    sleep 0.05
done
EOF
touch "$WRITES"

quorum_db "a@local, b@local, c@local"
cluster 3
start a; start b; start c

first_of() { awk -v n="$1" '$2 == n && $3 == "first"' "$WRITES" | tail -1; }
wait_for 30 one_runner db || fail "db never ran"
old=$(runners db)
wrote() { [ -n "$(first_of "$old")" ]; }
wait_for 10 wrote || fail "db on $old did not write"
line=$(first_of "$old")
old_epoch=$(echo "$line" | awk '{ print $1 }')
[ "$(echo "$line" | awk '{ print $4 }')" = OK ] || fail "db's first write on $old: $line"
pass "db on $old (epoch $old_epoch) writes under its token"

# Freeze the old owner's node: the app, its shim, batond.
read -r app_pid shim_pid < "$T/app-$old.pids"
kill -STOP "$app_pid" "$shim_pid" "${PIDS[$old]}"
new_writes() { awk -v n="$old" '$2 != n && $3 == "first"' "$WRITES" | tail -1; }
moved() { [ -n "$(new_writes)" ]; }
wait_for 30 moved || fail "db did not start elsewhere while $old was frozen"
line=$(new_writes)
new=$(echo "$line" | awk '{ print $2 }')
new_epoch=$(echo "$line" | awk '{ print $1 }')
[ "$new_epoch" -gt "$old_epoch" ] || fail "the new owner's epoch $new_epoch is not above $old_epoch"
[ "$(echo "$line" | awk '{ print $4 }')" = OK ] || fail "the new owner's write: $line"
pass "$old frozen past its lease: db on $new (epoch $new_epoch) writes"

# The old owner's app wakes first and sends its late write.
touch "$T/go-$old"
kill -CONT "$app_pid"
late() { awk -v n="$old" '$2 == n && $3 == "late"' "$WRITES" | tail -1; }
has_late() { [ -n "$(late)" ]; }
wait_for 10 has_late || fail "the old owner's app made no late write: $(tr '\n' ';' < "$WRITES")"
line=$(late)
echo "$line" | grep -q "ERR stale token $old_epoch < $new_epoch" ||
    fail "the old owner's late write was not refused: $line"
[ "$("$FC" -t "$new_epoch" "$SOCK" get data)" = "VALUE from-$new-$new_epoch" ] ||
    fail "the data is not the new owner's: $("$FC" "$SOCK" get data)"
pass "the old owner's late write refused ($(echo "$line" | cut -d' ' -f4-)); the data is $new's"

# Its node wakes: the old instance stops (lease over), one instance left.
kill -CONT "$shim_pid" "${PIDS[$old]}"
gone() { ! kill -0 "$app_pid" 2> /dev/null; }
wait_for 30 gone || fail "the old instance on $old still runs after its node woke"
wait_for 30 one_runner db || fail "db not running after $old woke"
pass "$old woke and stopped its instance; db runs on $(runners db) alone"
