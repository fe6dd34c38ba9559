# Two nodes and a witness (docs/design/quorum.md §5): a and b may run the
# quorum app, c only votes (role = witness) and keeps its Raft store
# like the others. The app survives the loss (kill -9) of either node
# and of the witness: after each, it runs on exactly one node, under an
# epoch above every earlier one.
source "$(dirname "$0")/lib.sh"

RUNS="$T/runs" # EPOCH NODE per instance start
cat > "$T/app.sh" << EOF
#!/bin/sh
echo "\$BATON_EPOCH \${BATON_NODE%%@*}" >> "$RUNS"
exec sleep 1000
EOF
touch "$RUNS"

quorum_db "a@local, b@local"
cluster 3
sed -i "s/^c@local = \(.*\)$/c@local = \1, witness/" "$T"/?.ini
grep -q "^c@local = .*, witness$" "$T/a.ini" || fail "c is not a witness in the config"
start a; start b; start c

starts() { wc -l < "$RUNS"; }
last_epoch() { tail -1 "$RUNS" | awk '{ print $1 }'; }
epochs_grow() {
    awk 'NR > 1 && $1 <= prev { exit 1 } { prev = $1 }' "$RUNS" ||
        fail "an epoch did not grow: $(tr '\n' ';' < "$RUNS")"
}
# settle: db runs on one node and did not start anew for 3 s (a node
# back may take the app back: the placement rule prefers the first).
settle() {
    local s
    for _ in $(seq 1 20); do
        s=$(starts)
        sleep 3
        if one_runner db && [ "$(starts)" -eq "$s" ]; then return 0; fi
    done
    fail "db does not settle: $(tr '\n' ';' < "$RUNS")"
}
wait_for 30 one_runner db || fail "db never ran"
[ -s "$T/state-c/raft/raft.log" ] || fail "the witness keeps no raft.log"
here db c && fail "db runs on the witness"
pass "db runs on $(runners db); the witness c keeps its Raft store"
settle

# lose NODE: kill -9 NODE; db must run steadily on one of the two left
# (a new instance under a higher epoch if NODE ran it or led the Raft
# group: the owner's lease then lapses before a new leader renews it),
# then NODE comes back.
lose() {
    local victim=$1 owner epoch
    owner=$(runners db)
    epoch=$(last_epoch)
    stop9 "$victim"
    settle
    epochs_grow
    [ "$victim" != "$owner" ] || [ "$(last_epoch)" -gt "$epoch" ] ||
        fail "db on $(runners db) still under epoch $epoch of $victim"
    pass "loss of $victim: db runs on $(runners db) (epoch $epoch -> $(last_epoch))"
    start "$victim"
    back() { ctl "$victim" status > /dev/null 2>&1 && one_runner db; }
    wait_for 30 back || fail "$victim did not come back"
    settle
}
lose "$(runners db)" # a node, the owner
lose c               # the witness
other=a
[ "$(runners db)" = a ] && other=b
lose "$other"        # the node that does not run it
lose "$(runners db)" # and the one that does

# A store that fails while running stops the node (quorum.md §3): the
# witness restarts with the test knob BATON_RAFT_FAIL_FILE (its writes
# fail while the file exists), the owner is killed, and the grant that
# follows is a write the witness cannot make: it exits 1.
stop9 c
BATON_RAFT_FAIL_FILE="$T/fail-c" "$BIN/batond" -c "$T/c.ini" 2>> "$T/c.log" &
PIDS[c]=$!
back() { ctl c status > /dev/null 2>&1 && one_runner db; }
wait_for 30 back || fail "c did not come back with the test knob"
settle
touch "$T/fail-c"
stop9 "$(runners db)"
dead() { ! kill -0 "${PIDS[c]}" 2> /dev/null; }
wait_for 60 dead || fail "c still runs after its store failed"
rc=0
wait "${PIDS[c]}" || rc=$?
unset 'PIDS[c]'
[ $rc -eq 1 ] || fail "c exited $rc after its store failed (want 1)"
grep -q "ERROR raft store: .*: the node stops" "$T/c.log" ||
    fail "c did not say why it stopped: $(grep -i raft "$T/c.log" | tail -3)"
pass "a failed write stops the node: $(grep -o 'raft store: .*: the node stops' "$T/c.log" | tail -1)"
