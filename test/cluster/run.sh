#!/usr/bin/env bash
# Runs one scenario of the cluster suite against the build in $BUILD
# (default build/), as root. docs/design/cluster.md lists the scenarios.
#   test/cluster/run.sh one-way --nodes 5 --repeat 3
#   test/cluster/run.sh nemesis --nodes 5 --minutes 5 --seed 42
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/../../build}
exec python3 "$here/cluster.py" --bin "$build" \
    --app "$build/test/cluster/baton-cluster-app" "$@"
