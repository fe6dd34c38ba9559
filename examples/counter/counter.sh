#!/bin/sh
# counter: baton's demo app. It counts up five times a second and keeps
# its count across a takeover: the old owner's export (export.sh) hands
# the count to the new owner, which finds it in $BATON_STATE_FILE.
dir="${COUNTER_DIR:-/tmp}/counter-$BATON_NODE"
mkdir -p "$dir"
count=0
if [ -n "$BATON_STATE_FILE" ] && [ -s "$BATON_STATE_FILE" ]; then
    count=$(cat "$BATON_STATE_FILE")
fi
echo "counter: started on $BATON_NODE ($BATON_START_TYPE${BATON_FROM_NODE:+ from $BATON_FROM_NODE}), epoch $BATON_EPOCH, count $count" >&2
trap 'echo "counter: stopped on $BATON_NODE at $count" >&2; exit 0' TERM
while :; do
    count=$((count + 1))
    echo "$count" > "$dir/count"
    sleep 0.2
done
