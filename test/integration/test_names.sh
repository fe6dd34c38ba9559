# Global names through the control socket, with real batond processes:
# register/whereis/names across nodes, "taken", calls and sends routed to
# the holder, unknown names, names dying with their session and with their
# node (kill -9), bad input and a client that never reads, and an app's
# name re-pointed by a takeover while calls keep coming.
source "$(dirname "$0")/lib.sh"

NC="$(dirname "$PROBE")/baton-names-client"
CTL="$BIN/batonctl"

cat > "$T/svc.sh" <<'APP'
#!/bin/sh
# The app serves its name (BATON_NAME): calls are answered "NODE:DATA".
exec "$BATONCTL" serve "$BATON_NAME" --prefix "$BATON_NODE:" >> "$SVC_LOG" 2>&1
APP
chmod +x "$T/svc.sh"
APP_SECTIONS="[app svc]
nodes = a@local, b@local, c@local
failover_timeout = 0
start = $T/svc.sh
name = svc.name
env = BATONCTL=$CTL
env = SVC_LOG=$T/svc.log"
cluster 3

# Config: a bad app name, two apps with one name, names_cap not a power of 2.
cp "$T/a.ini" "$T/bad.ini"
printf '[app two]\nnodes = a@local\nstart = /bin/true\nname = svc.name\n' >> "$T/bad.ini"
out=$("$BIN/batond" --check -c "$T/bad.ini" 2>&1) && fail "two apps with one name accepted"
grep -q "\[app two\] name: svc.name is already the name of app svc" <<< "$out" || fail "unclear: $out"
sed 's/^name = svc.name$/name = has space/' "$T/a.ini" > "$T/bad.ini"
out=$("$BIN/batond" --check -c "$T/bad.ini" 2>&1) && fail "a name with a space accepted"
grep -q '\[app svc\] name: "has space" is not a name' <<< "$out" || fail "unclear: $out"
sed 's/^\[nodes\]$/[cluster]\nnames_cap = 1000\n[nodes]/' "$T/a.ini" > "$T/bad.ini"
out=$("$BIN/batond" --check -c "$T/bad.ini" 2>&1) && fail "names_cap 1000 accepted"
grep -q 'names_cap: "1000" is not a power of two' <<< "$out" || fail "unclear: $out"
# A table whose full snapshot, in parts, would not fit a link's write
# queue (issue 11 item 10); test_big_snapshot.sh rejoins with a large one.
sed 's/^\[nodes\]$/[cluster]\nnames_cap = 65536\n[nodes]/' "$T/a.ini" > "$T/bad.ini"
out=$("$BIN/batond" --check -c "$T/bad.ini" 2>&1) && fail "names_cap 65536 accepted"
grep -q 'names_cap: 65536 is above 32768: a full table.s snapshot would not fit a link.s 16 MiB write queue' <<< "$out" ||
    fail "unclear: $out"
sed 's/^\[nodes\]$/[cluster]\nnames_cap = 32768\n[nodes]/' "$T/a.ini" > "$T/ok.ini"
"$BIN/batond" --check -c "$T/ok.ini" > /dev/null 2>&1 || fail "names_cap 32768 refused"
pass "config: bad app names and names_cap refused, naming file:line"

for n in a b c; do start $n; done
wait_for 10 agree a a b c || fail "no coordinator"

# whereis NAME NODE WANT: NODE sees NAME on WANT ("none": nowhere).
sees() {
    local got
    got=$(ctl "$2" whereis "$1" 2>/dev/null | awk 'NR == 2 {print $2}')
    [ "${got:-none}" = "$3" ]
}
# hold KEY NODE NAME ARGS...: batonctl register NAME --hold on NODE, in
# the background (killed by PID on exit), output in $T/KEY.out.
hold() {
    local key=$1 node=$2 name=$3
    shift 3
    : > "$T/$key.out"
    "$CTL" -c "$T/$node.ini" register "$name" --hold "$@" > "$T/$key.out" 2>&1 &
    PIDS[$key]=$!
    wait_for 5 grep -q "holding it" "$T/$key.out" || fail "$key: $(cat "$T/$key.out")"
}
unhold() { kill -TERM "${PIDS[$1]}"; wait "${PIDS[$1]}" 2>/dev/null || true; unset "PIDS[$1]"; }

# --- register, whereis, names, taken --------------------------------------
hold greeter a greeter --meta "hi there" --prefix "a:"
for n in a b c; do
    wait_for 5 sees greeter $n a@local || fail "$n does not see greeter on a"
done
ctl c names | grep -Eq '^greeter +a@local +[0-9]+ +hi there$' || fail "names: $(ctl c names)"
ctl b --json whereis greeter | grep -q '"meta":"hi there"' || fail "whereis --json has no meta"
pass "greeter registered on a: whereis and names on a, b and c show it with its meta"

if out=$(ctl b register greeter 2>&1); then fail "a second register succeeded"; fi
grep -q "(taken)" <<< "$out" || fail "no clear 'taken': $out"
pass "a second register from b: taken"

[ "$(ctl b call greeter hello)" = "a:hello" ] || fail "call from b: $(ctl b call greeter hello 2>&1)"
[ "$(ctl c call greeter 'two words')" = "a:two words" ] || fail "call from c"
[ "$(ctl a call greeter local)" = "a:local" ] || fail "call on the holder's own node"
ctl c send greeter msg-from-c > /dev/null || fail "send"
wait_for 5 grep -q "message greeter from c@local: msg-from-c" "$T/greeter.out" || fail "the message never came"
grep -q "call greeter from b@local: hello" "$T/greeter.out" || fail "the holder saw no call"
pass "calls from b, c and a answered by the holder on a; a send from c delivered"

"$NC" lines "$T/b.sock" 1 '{"op":"call","name":"greeter","data64":"AAEC/w==","id":"bin"}' > "$T/bin.out" || fail "binary call"
grep -q '^{"id":"bin","ok":true,"data64":"YToAAQL/"}$' "$T/bin.out" || fail "binary call: $(cat "$T/bin.out")"
[ "$(printf 'x\001y' | ctl c call greeter - | od -An -c | tr -d ' ')" = 'a:x001y' ] || fail "binary call from stdin"
pass "binary data goes both ways as data64"

t0=$(now_ms)
if out=$(ctl b call no.such.name x 2>&1); then fail "a call to an unknown name succeeded"; fi
t1=$(now_ms)
grep -q "(not_found)" <<< "$out" || fail "unclear error: $out"
[ $((t1 - t0)) -lt 1000 ] || fail "not_found took $((t1 - t0)) ms"
if ctl b send no.such.name x 2>/dev/null; then fail "a send to an unknown name succeeded"; fi
pass "a call to an unknown name fails at once ($((t1 - t0)) ms): not_found"

"$NC" refuse "$T/c.sock" refuser > "$T/refuser.out" &
PIDS[refuser]=$!
wait_for 5 grep -q registered "$T/refuser.out" || fail "refuser did not register"
wait_for 5 sees refuser b c@local || fail "b does not see refuser"
if out=$(ctl b call refuser x 2>&1); then fail "a refused call succeeded"; fi
grep -q "nope (refused)" <<< "$out" || fail "refusal not passed on: $out"
if out=$(ctl b call greeter slow --timeout 0 2>&1); then fail "--timeout 0 accepted"; fi
pass "a call the endpoint refuses fails with its message (refused)"

# A holder that never answers: the call fails at its deadline (the
# node's deadline heap, docs/design/lib.md §4), the session goes on.
"$NC" mute "$T/c.sock" silent > "$T/silent.out" &
PIDS[silent]=$!
wait_for 5 grep -q registered "$T/silent.out" || fail "silent did not register"
wait_for 5 sees silent b c@local || fail "b does not see silent"
if out=$(ctl b call silent x --timeout 200 2>&1); then fail "a call nobody answers succeeded"; fi
grep -q "no answer within 200 ms (timeout)" <<< "$out" || fail "a call past its deadline: $out"
kill -TERM "${PIDS[silent]}"; wait "${PIDS[silent]}" 2>/dev/null || true; unset "PIDS[silent]"
pass "a call its holder never answers fails at its deadline (timeout)"

# --- names die with their session ----------------------------------------
unhold greeter
for n in a b c; do
    wait_for 5 sees greeter $n none || fail "greeter still on $n after its session closed"
done
pass "the holder's session closed: greeter gone on a, b and c"

# --- bad input -----------------------------------------------------------
long=$(printf 'n%.0s' $(seq 128))
meta=$(printf 'm%.0s' $(seq 257))
"$NC" lines "$T/b.sock" 11 \
    '{"op":"register","name":"","id":1}' \
    "{\"op\":\"register\",\"name\":\"$long\",\"id\":2}" \
    '{"op":"register","name":"with space","id":3}' \
    "{\"op\":\"register\",\"name\":\"m\",\"meta\":\"$meta\",\"id\":4}" \
    '{"op":"register","name":"x"' \
    '{"op":"frobnicate","id":6}' \
    '{"op":"register","name":"r","resolver":"coin_toss","id":7}' \
    '{"op":"call","name":"x","data64":"!!!","id":8}' \
    '{"op":"whereis","name":"no.such","id":9}' \
    '{"op":"reply","call":1e30,"id":10}' \
    '{"op":"call","name":"x","timeout_ms":-1e300,"id":11}' > "$T/bad.out" || fail "bad input: too few answers: $(cat "$T/bad.out")"
msg="name must be 1-127 printable ASCII bytes without spaces"
for id in 1 2 3; do
    grep -q "^{\"id\":$id,\"ok\":false,\"error\":\"invalid\",\"message\":\"$msg\"}" "$T/bad.out" || fail "bad name $id: $(cat "$T/bad.out")"
done
grep -q '"id":4,.*"meta must be at most 256 bytes"' "$T/bad.out" || fail "meta too large"
grep -q '"error":"invalid","message":"malformed JSON"' "$T/bad.out" || fail "malformed JSON"
grep -q '"id":6,.*unknown op \\"frobnicate\\"' "$T/bad.out" || fail "unknown op"
grep -q '"id":7,.*resolver must be' "$T/bad.out" || fail "bad resolver"
grep -q '"id":8,.*data64 must be base64' "$T/bad.out" || fail "bad base64"
grep -q '"id":9,"ok":false,"error":"not_found"' "$T/bad.out" || fail "the session did not go on after errors"
grep -q '"id":10,"ok":false,"error":"invalid","message":"call must be a whole number' "$T/bad.out" || fail "call 1e30: $(cat "$T/bad.out")"
grep -q '"id":11,"ok":false,"error":"invalid","message":"timeout_ms must be' "$T/bad.out" || fail "timeout_ms -1e300"
"$NC" long "$T/b.sock" 300000 > "$T/long.out"
grep -q "request line longer than" "$T/long.out" && grep -q closed "$T/long.out" || fail "an over-long line: $(cat "$T/long.out")"
"$NC" lines "$T/a.sock" 3 \
    '{"op":"register","name":"m1","id":1}' '{"op":"register","name":"m2","id":2}' \
    '{"op":"register","name":"m3","multi":true,"id":3}' > "$T/multi.out" || fail "multi: $(cat "$T/multi.out")"
grep -q '"id":2,"ok":false,"error":"has_name"' "$T/multi.out" || fail "a second name without multi: $(cat "$T/multi.out")"
grep -q '"id":3,"ok":true' "$T/multi.out" || fail "a second name with multi"
ctl b status > /dev/null || fail "b stopped serving after bad input"
if out=$(ctl b serve greeter 2>&1); then fail "serve of a name that is no app's"; fi
grep -q "not the name of an app" <<< "$out" || fail "serve: $out"
pass "bad names, meta too large, malformed JSON, unknown op, numbers out of range, long line, a second name without multi, serve of no app: clear errors, batond goes on"

"$NC" flood "$T/b.sock" > "$T/flood.out" || fail "a client that never reads was not disconnected: $(cat "$T/flood.out")"
grep -q "WARN control session [0-9]*: the client leaves .* unread" "$T/b.log" || fail "no warning naming the session"
ctl b status > /dev/null || fail "b stopped serving after the flood"
[ "$(ctl b call refuser x 2>&1 | grep -c refused)" = 1 ] || fail "b cannot call after the flood"
pass "a client that never reads its answers is disconnected (warning logged); b goes on"

# Limits (docs/control.md): an unfinished line for 10 s, 512 connections,
# 64 MiB of unfinished lines across sessions; each logged when it bites.
"$NC" conns "$T/b.sock" 600 0 3 > "$T/many.out"
busy=$(awk '/^busy/ {print $2}' "$T/many.out")
[ "${busy:-0}" -ge 88 ] || fail "600 connections: $(cat "$T/many.out")"
grep -q "WARN control socket: 512 connections open: a new one refused" "$T/b.log" || fail "the session cap was not logged"
"$NC" conns "$T/b.sock" 300 250000 5 > "$T/fill.out"
busy=$(awk '/^busy/ {print $2}' "$T/fill.out")
[ "${busy:-0}" -ge 1 ] || fail "300 unfinished 250 kB lines: $(cat "$T/fill.out")"
grep -q "WARN control socket: unfinished requests fill 64 MiB" "$T/b.log" || fail "the input budget was not logged"
"$NC" conns "$T/b.sock" 1 10 20 > "$T/idle.out"
grep -q "^invalid 1" "$T/idle.out" && grep -q "^closed 1" "$T/idle.out" || fail "an unfinished line: $(cat "$T/idle.out")"
grep -q "WARN control socket: a request line unfinished after 10 s" "$T/b.log" || fail "the idle timeout was not logged"
ctl b status > /dev/null || fail "b stopped serving after the limits bit"
pass "an unfinished line is cut after 10 s, the 513th connection and unfinished lines past 64 MiB get busy; each logged; b goes on"

# --- an app's name follows a takeover ------------------------------------
wait_for 10 runs_on svc a a b c || fail "svc never ran on a"
wait_for 5 sees svc.name b a@local || fail "b does not see svc.name on a"
answers() { [ "$(ctl b call svc.name x 2>/dev/null)" = "a@local:x" ]; } # re-run by wait_for
wait_for 5 answers || fail "svc on a does not answer"
pass "svc (name = svc.name) runs on a and answers its calls there"

(
    ok=0
    for i in $(seq 1 60); do
        if r=$("$CTL" -c "$T/b.ini" call svc.name "m$i" --timeout 10000 2>&1); then
            ok=$((ok + 1))
            echo "reply $r"
        else
            echo "call $i failed: $r"
        fi
        sleep 0.02
    done
    echo "answered $ok"
) > "$T/moving.out" 2>&1 &
PIDS[caller]=$!
sleep 0.3
ctl c takeover svc > /dev/null || fail "takeover"
wait "${PIDS[caller]}" || true
unset "PIDS[caller]"
wait_for 10 runs_on svc c a b c || fail "svc did not move to c"
for n in a b c; do
    wait_for 5 sees svc.name $n c@local || fail "$n does not see svc.name on c"
done
grep -q "answered 60" "$T/moving.out" || fail "calls lost during the move: $(cat "$T/moving.out")"
grep -q "^reply a@local:m" "$T/moving.out" && grep -q "^reply c@local:m" "$T/moving.out" || fail "the calls did not span the move: $(cat "$T/moving.out")"
[ "$(ctl b call svc.name after)" = "c@local:after" ] || fail "after the move: $(ctl b call svc.name after 2>&1)"
pass "takeover svc to c: svc.name points to c everywhere, all 60 calls made during the move answered"

# --- kill -9 of the holder's node -----------------------------------------
hold victim a victim
wait_for 5 sees victim b a@local || fail "b does not see victim"
# A call in flight to a holder that never answers: its node's loss must
# fail it with "unreachable", not leave it to its (long) deadline.
"$NC" mute "$T/a.sock" mute > "$T/mute.out" &
PIDS[mute]=$!
wait_for 5 grep -q registered "$T/mute.out" || fail "mute did not register"
wait_for 5 sees mute b a@local || fail "b does not see mute"
"$CTL" -c "$T/b.ini" call mute x --timeout 600000 > "$T/inflight.out" 2>&1 &
PIDS[inflight]=$!
wait_for 5 grep -q call "$T/mute.out" || fail "the call did not reach mute"
t0=$(now_ms)
stop9 a
wait_for 5 sees victim b none || fail "victim still on b 5 s after a was killed"
t1=$(now_ms)
wait_for 5 sees victim c none || fail "victim still on c"
pass "kill -9 of a: victim gone on b within $((t1 - t0)) ms (polled by batonctl)"
rc=0
wait "${PIDS[inflight]}" || rc=$?
unset "PIDS[inflight]"
[ $rc -ne 0 ] && grep -q "(unreachable)" "$T/inflight.out" || fail "the call in flight to a's mute: rc $rc, $(cat "$T/inflight.out")"
pass "a call in flight when the holder's node died failed with unreachable"
