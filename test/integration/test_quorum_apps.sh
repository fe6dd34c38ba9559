# Quorum apps on real batond nodes (docs/design/quorum.md §3, §9 step 4):
# three nodes on loopback keep their Raft store in <state_dir>/raft/;
# a `mode = quorum` app (a script that records its BATON_EPOCH and node)
# runs on exactly one node at every sample. kill -9 of its owner's
# batond moves it to another node under a higher epoch (five times, the
# time from the kill to the new instance's start printed as min/median/
# max); the killed node comes back from its store (the same raft.log);
# after a restart of all three nodes the epochs keep growing.
source "$(dirname "$0")/lib.sh"

RUNS="$T/runs" # one line per instance start: EPOCH NODE MS
cat > "$T/app.sh" << EOF
#!/bin/sh
echo "\$BATON_EPOCH \$BATON_NODE \$(date +%s%3N)" >> "$RUNS"
exec sleep 1000
EOF
touch "$RUNS"

quorum_db "a@local, b@local, c@local"
cluster 3
start a; start b; start c

# starts: how many instances started so far.
starts() { wc -l < "$RUNS"; }
last_epoch() { tail -1 "$RUNS" | awk '{ print $1 }'; }
last_node() { tail -1 "$RUNS" | awk '{ print $2 }' | sed 's/@.*//'; }
# epochs_grow: every start's epoch is above the one before.
epochs_grow() {
    awk 'NR > 1 && $1 <= prev { exit 1 } { prev = $1 }' "$RUNS" ||
        fail "an epoch did not grow: $(tr '\n' ';' < "$RUNS")"
}
raft_key() { head -c 48 "$T/state-$1/raft/raft.log" | od -An -tx1 | tr -d ' \n'; }

wait_for 30 one_runner db || fail "db never ran"
started() { [ "$(starts)" -ge 1 ]; }
wait_for 10 started || fail "db ran but did not record its start"
owner_=$(last_node)
here db "$owner_" || fail "db's start says $owner_, which does not run it"
[ "$(starts)" -eq 1 ] || fail "db started $(starts) times"
for n in a b c; do
    [ -s "$T/state-$n/raft/raft.log" ] || fail "$n keeps no raft.log in state-$n/raft/"
done
pass "db runs on $owner_ alone, epoch $(last_epoch); every node keeps raft/raft.log"

# Five kills of the owner: the app starts elsewhere under a higher epoch;
# the killed node restarts from its store and rejoins.
times=()
for round in 1 2 3 4 5; do
    victim=$(last_node)
    before=$(starts)
    epoch=$(last_epoch)
    key=$(raft_key "$victim")
    t0=$(now_ms)
    stop9 "$victim"
    moved() { one_runner db && [ "$(starts)" -gt "$before" ]; }
    wait_for 30 moved || fail "round $round: db did not move after kill -9 of $victim"
    t1=$(tail -1 "$RUNS" | awk '{ print $3 }')
    times+=($((t1 - t0)))
    [ "$(last_node)" != "$victim" ] || fail "round $round: db restarted on the killed $victim"
    [ "$(last_epoch)" -gt "$epoch" ] || fail "round $round: epoch $(last_epoch) after $epoch"
    epochs_grow
    start "$victim"
    # Back from its store: the same file (its random key), a live Raft
    # member again (it follows the leader's term).
    rejoined() { ctl "$victim" status > /dev/null 2>&1 && one_runner db; }
    wait_for 30 rejoined || fail "round $round: $victim did not come back"
    [ "$(raft_key "$victim")" = "$key" ] || fail "round $round: $victim made a new raft.log"
    grep -q "raft store" "$T/$victim.log" && grep "raft store" "$T/$victim.log" | grep -qv "torn tail" &&
        fail "round $round: $victim's store: $(grep 'raft store' "$T/$victim.log" | tail -1)"
    pass "round $round: kill -9 of $victim -> db on $(last_node) in ${times[-1]} ms, epoch $epoch -> $(last_epoch); $victim rejoined from its store"
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "kill -9 of the owner -> app started on the majority: min ${sorted[0]} ms, median ${sorted[2]} ms, max ${sorted[4]} ms (5 runs)"

# Let the last restarted node settle (no start may be lost), then stop
# all three and start them again: the epochs go on growing.
sleep 1
one_runner db || wait_for 30 one_runner db || fail "db not running before the full restart"
epoch=$(last_epoch)
before=$(starts)
stop9 a; stop9 b; stop9 c
start a; start b; start c
again() { one_runner db && [ "$(starts)" -gt "$before" ]; }
wait_for 30 again || fail "db did not run again after a restart of all three nodes"
epochs_grow
[ "$(last_epoch)" -gt "$epoch" ] || fail "after the full restart: epoch $(last_epoch), before $epoch"
pass "full restart: db on $(last_node), epoch $epoch -> $(last_epoch) (tokens never go back)"

# A store that cannot be read refuses the start, naming the file and the
# offset: a record damaged in the middle of c's raft.log (its first
# record's body; valid records follow it).
# exits_with NODE: starts NODE, which must exit 1 at once.
exits_with() {
    local rc=0
    "$BIN/batond" -c "$T/$1.ini" 2>> "$T/$1.log" || rc=$?
    [ $rc -eq 1 ] || fail "batond $1 on a bad store exited $rc (want 1)"
}
stop9 c
cp "$T/state-c/raft/raft.log" "$T/raft.log.good"
printf '\xff' | dd of="$T/state-c/raft/raft.log" bs=1 seek=$((48 + 48 + 4)) conv=notrunc 2> /dev/null
exits_with c
grep -q "raft store .*state-c/raft: .*state-c/raft/raft.log: damaged record at offset 48" "$T/c.log" ||
    fail "no error naming raft.log and the offset: $(tail -3 "$T/c.log")"
pass "a damaged record mid-file refuses the start: $(grep -o 'raft.log: damaged record at offset [0-9]*' "$T/c.log" | tail -1)"
# A store directory that cannot be made (a file stands in its place).
mv "$T/state-c/raft" "$T/raft.c.saved"
touch "$T/state-c/raft"
exits_with c
grep -q "raft store .*state-c/raft" "$T/c.log" || fail "no error naming the store: $(tail -3 "$T/c.log")"
pass "an unusable store directory refuses the start: $(grep 'raft store' "$T/c.log" | tail -1 | sed 's/.*ERROR //')"
rm "$T/state-c/raft"
mv "$T/raft.c.saved" "$T/state-c/raft"
cp "$T/raft.log.good" "$T/state-c/raft/raft.log"
start c
wait_for 30 ctl c status > /dev/null 2>&1 || fail "c did not start again on its repaired store"
wait_for 30 one_runner db || fail "db not running after c came back"
epochs_grow
pass "c restarts on its store once repaired; db runs on one node"
