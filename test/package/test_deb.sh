# The Debian package built from the tree (README.md "Operating batond"):
# cpack -G DEB in a build for prefix /usr, its declared dependencies
# resolve on this system (apt-get -s), it installs with dpkg, its unit
# passes systemd-analyze verify (if there), the installed batond says
# READY=1 and STATUS= on a notify socket and joins a 2-node cluster with
# a second instance, and the package purges cleanly.
#
# dpkg installs into a temporary root (dpkg --root), not into the
# system: the test runs on developers' machines too, and must neither
# replace a batond installed there nor race another run for dpkg's lock.
# The dependencies are checked against the system's packages instead.
# Usage: SOURCE_DIR. Root
# only (dpkg --root); otherwise it exits 77, which CTest reports skipped.
set -euo pipefail
src=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the package test needs root (dpkg); run it as root, as CI does"
    exit 77
fi
for tool in cpack dpkg dpkg-deb dpkg-shlibdeps file readelf apt-get python3; do
    command -v "$tool" > /dev/null || fail "$tool is missing (scripts/setup.sh)"
done
T=$(mktemp -d /tmp/baton-deb.XXXXXX)
declare -A PIDS=()
cleanup() {
    local rc=$? n
    for n in "${!PIDS[@]}"; do kill -KILL "${PIDS[$n]}" 2> /dev/null || true; done
    wait 2> /dev/null || true
    if [ $rc -ne 0 ]; then
        for f in "$T"/*.log "$T"/notify.out; do
            [ -f "$f" ] && { echo "== $f" >&2; tail -30 "$f" >&2; }
        done
    fi
    rm -rf "$T"
    exit $rc
}
trap cleanup EXIT
wait_for() { # SECONDS COMMAND...
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.1
    done
}

# Build: only what the package holds (no tests, examples or benches).
cmake -S "$src" -B "$T/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER="${CC:-gcc}" -DCMAKE_INSTALL_PREFIX=/usr \
    -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON > "$T/configure.log" 2>&1 ||
    fail "configure: $(tail -5 "$T/configure.log")"
cmake --build "$T/build" --target batond batonctl baton_shared baton_static \
    > "$T/build.log" 2>&1 || fail "build: $(tail -5 "$T/build.log")"
(cd "$T/build" && cpack -G DEB) > "$T/cpack.log" 2>&1 || fail "cpack: $(tail -5 "$T/cpack.log")"
deb=$(ls "$T"/build/baton_*.deb)
pass "built $(basename "$deb")"

depends=$(dpkg-deb -f "$deb" Depends)
for lib in libuv1 libsodium23 libinih1 libcjson1 libc6; do
    grep -q "$lib" <<< "$depends" || fail "Depends lacks $lib: $depends"
done
dpkg-deb -c "$deb" | awk '{print $NF}' > "$T/files"
for f in ./usr/sbin/batond ./usr/bin/batonctl ./usr/lib/systemd/system/batond.service \
    ./etc/baton/baton.conf ./usr/include/baton/baton.h ./usr/share/man/man8/batond.8 \
    ./usr/share/man/man8/batonctl.8 ./usr/share/man/man5/baton.conf.5; do
    grep -qx -- "$f" "$T/files" || fail "the package lacks $f"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/baton/baton.conf ||
    fail "/etc/baton/baton.conf is not a conffile"
apt-get -s install "$deb" > "$T/apt.log" 2>&1 || fail "dependencies do not resolve: $(tail -5 "$T/apt.log")"
grep -q "^Inst baton " "$T/apt.log" || fail "apt-get -s would not install it: $(tail -5 "$T/apt.log")"
pass "Depends: $depends (they resolve here)"

root=$T/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
: > "$root/var/lib/dpkg/status"
: > "$root/var/lib/dpkg/available"
dpkg --root="$root" --force-depends --force-script-chrootless -i "$deb" > "$T/dpkg.log" 2>&1 ||
    fail "dpkg -i: $(tail -5 "$T/dpkg.log")"
dpkg --root="$root" -s baton | grep -q "^Status: install ok installed" || fail "not installed"
pass "installed with dpkg into $root"

unit=$root/usr/lib/systemd/system/batond.service
grep -q "^ExecStart=/usr/sbin/batond -c /etc/baton/baton.conf$" "$unit" || fail "ExecStart: $(grep ExecStart "$unit")"
grep -q "^Type=notify$" "$unit" || fail "not Type=notify"
if command -v systemd-analyze > /dev/null; then
    # On the host's systemd (--root would lack its targets), with the
    # unit's paths pointed into the temporary root; --man=no: the pages
    # are not in the host's man path.
    mkdir "$T/unit"
    sed "s|/usr/sbin/|$root/usr/sbin/|g; s|/etc/baton/|$root/etc/baton/|g" "$unit" > "$T/unit/batond.service"
    out=$(systemd-analyze verify --man=no "$T/unit/batond.service" 2>&1) ||
        fail "systemd-analyze verify: $out"
    [ -z "$out" ] || fail "systemd-analyze verify: $out"
    pass "systemd-analyze verify: clean"
else
    echo "note: no systemd-analyze here: the unit is not verified"
fi

# The installed batond, two nodes on loopback; a under a notify socket.
batond=$root/usr/sbin/batond
batonctl=$root/usr/bin/batonctl
"$batond" --version | grep -q "^batond " || fail "installed batond --version"
base=$((20000 + RANDOM % 12000))
printf '%s\n' "$(head -c 24 /dev/urandom | base64)" > "$T/cookie"
chmod 600 "$T/cookie"
for me in a b; do
    cat > "$T/$me.ini" <<INI
[node]
name = $me@local
cookie_file = cookie
control_socket = $T/$me.sock
[nodes]
a@local = 127.0.0.1:$base
b@local = 127.0.0.1:$((base + 1))
INI
done
"$batond" --check -c "$T/a.ini" > /dev/null || fail "installed batond --check"
python3 "$src/test/integration/notify_listen.py" "$T/notify.sock" "$T/notify.out" &
PIDS[listener]=$!
wait_for 5 test -S "$T/notify.sock" || fail "no notify listener"
"$batond" -c "$T/b.ini" 2> "$T/b.log" &
PIDS[b]=$!
NOTIFY_SOCKET=$T/notify.sock "$batond" -c "$T/a.ini" 2> "$T/a.log" &
PIDS[a]=$!
wait_for 20 grep -q "^READY=1" "$T/notify.out" || fail "no READY=1"
status=$(grep -A1 "^READY=1" "$T/notify.out" | tail -1)
grep -q "^STATUS=.*coordinator a@local" <<< "$status" || fail "READY without a joined STATUS: $status"
pass "READY=1, $status"
joined() { "$batonctl" status --json -c "$T/b.ini" 2> /dev/null | grep -q '"coordinator":"a@local"'; }
wait_for 10 joined || fail "b did not join a's cluster"
"$batonctl" -s "$T/a.sock" status | grep -q "b@local .* alive" || fail "a does not see b alive"
pass "the installed batond and a second one form a 2-node cluster"
kill -TERM "${PIDS[a]}" "${PIDS[b]}"
wait "${PIDS[a]}" || fail "a did not exit 0 on SIGTERM"
wait "${PIDS[b]}" || fail "b did not exit 0 on SIGTERM"
unset "PIDS[a]" "PIDS[b]"
wait_for 5 grep -q "^STOPPING=1" "$T/notify.out" || fail "no STOPPING=1"

dpkg --root="$root" --force-script-chrootless --purge baton > "$T/dpkg.log" 2>&1 ||
    fail "dpkg --purge: $(tail -5 "$T/dpkg.log")"
left=$(find "$root" -type f ! -path "$root/var/*" | head -5)
[ -z "$left" ] || fail "left after purge: $left"
pass "purged: nothing left"
