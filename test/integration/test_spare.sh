# The spare shim (docs/design/supervision.md §2): an app started through
# batond's spare runs as one started through a shim of its own would: its
# arguments, environment (env =, BATON_*), working directory (cwd =) and
# PATH lookup. A start whose command does not fit the spare's pipe, or
# whose directory cannot be entered, goes the usual way; the spare goes
# when its batond stops; a batond that no app lists keeps none.
source "$(dirname "$0")/lib.sh"

mkdir "$T/work dir"
cat > "$T/app.sh" <<'APP'
# Its first line: where it runs, what it got, and who its parent is.
printf '%s|%s|%s|%s|%s|%s\n' "$BATON_APP" "$PWD" "$MODE" "$1" "$BATON_NODE" \
    "$(tr '\0' ' ' < "/proc/$PPID/cmdline")" >> "$2"
trap 'exit 0' TERM
while :; do sleep 0.05; done
APP
APP_SECTIONS="[app web]
nodes = a@local
start = sh $T/app.sh 'two words' $T/web.starts
env = MODE=spare-test
cwd = $T/work dir

[app lost]
nodes = a@local
start = sh $T/app.sh x $T/lost.starts
cwd = $T/no such dir
max_restarts = 0"
cluster 1
gone_or_zombie() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
spare_of() { pgrep -P "$1" -f -- "--shim --spare" | head -1; }

# 1. The spare: a batond keeps one, and an app start takes it.
start a
wait_for 10 grep -q "^web|" "$T/web.starts" 2>/dev/null || fail "web never started"
IFS='|' read -r app pwd mode arg node parent < "$T/web.starts"
[ "$app" = web ] && [ "$pwd" = "$T/work dir" ] && [ "$mode" = spare-test ] &&
    [ "$arg" = "two words" ] && [ "$node" = a@local ] ||
    fail "web started with app=$app pwd=$pwd MODE=$mode \$1=$arg BATON_NODE=$node"
case $parent in
*"--shim --spare"*) ;;
*) fail "web was not started through the spare shim (its parent: $parent)" ;;
esac
pass "web ran through the spare shim: its cwd, env, BATON_* and arguments are as configured"

# 2. A directory the app cannot enter: the usual way, the usual error.
wait_for 10 grep -q 'app lost: cannot run .*no such file or directory' "$T/a.log" ||
    fail "no clear error for a cwd that does not exist"
[ ! -e "$T/lost.starts" ] || fail "lost ran without its cwd"
pass "a cwd that does not exist fails the start as before"

# 3. The spare goes when batond stops, and a new one was forked.
wait_for 5 spare_of "${PIDS[a]}" > /dev/null || fail "no new spare after the start"
spare=$(spare_of "${PIDS[a]}")
pid=${PIDS[a]}
kill -TERM "$pid"
wait_for 20 gone_or_zombie "$pid" || fail "batond did not exit on SIGTERM"
wait "$pid" 2>/dev/null || true
unset "PIDS[a]"
wait_for 5 gone_or_zombie "$spare" || fail "the spare shim (pid $spare) outlived its batond"
pass "a new spare is forked after a start, and it goes when batond stops"

# 4. A command too large for the spare's pipe (batond's own environment,
#    which apps inherit, holds 70 KB here): started the usual way.
rm -f "$T/web.starts"
BIG=$(head -c 70000 /dev/zero | tr '\0' x) start a
wait_for 10 grep -q "^web|" "$T/web.starts" 2>/dev/null || fail "web never started (large environment)"
IFS='|' read -r app pwd mode arg node parent < "$T/web.starts"
[ "$pwd" = "$T/work dir" ] && [ "$mode" = spare-test ] && [ "$arg" = "two words" ] ||
    fail "web (large environment) started with pwd=$pwd MODE=$mode \$1=$arg"
case $parent in
*"--shim -- "*) ;;
*) fail "web (large environment) was not started through a shim of its own (its parent: $parent)" ;;
esac
pass "a start too large for the spare goes the usual way, the same for the app"

# 5. A batond that no app lists has no spare to keep.
stop9 a
APP_SECTIONS=""
cluster 1
rm -f "$T/a.log"
start a
wait_for 10 grep -q "coordinator epoch" "$T/a.log" || fail "a did not come up without apps"
sleep 0.3 # the first loop turns, when a spare would be forked
[ -z "$(spare_of "${PIDS[a]}" || true)" ] || fail "a batond without apps keeps a spare shim"
pass "a batond that no app lists keeps no spare"
