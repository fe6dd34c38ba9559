#!/bin/sh
# The counter's state_export: print the current count.
cat "${COUNTER_DIR:-/tmp}/counter-$BATON_NODE/count"
