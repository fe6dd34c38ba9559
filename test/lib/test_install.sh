# Installs the build to a temporary prefix and builds a program against
# it with pkg-config, shared and static: the header is the only one
# installed, and only its functions are exported. Usage: BUILD_DIR
set -euo pipefail
build=$1
T=$(mktemp -d /tmp/baton-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$T/prefix" > "$T/install.log"
pcdir=$(find "$T/prefix" -name baton.pc -printf '%h\n')
[ -n "$pcdir" ] || fail "no baton.pc installed"
export PKG_CONFIG_PATH=$pcdir
libdir=$(pkg-config --variable=libdir baton)
[ "$(find "$T/prefix/include" -type f)" = "$T/prefix/include/baton/baton.h" ] ||
    fail "installed headers: $(find "$T/prefix/include" -type f)"

cat > "$T/hello.c" <<'C'
#include <baton/baton.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
    struct baton_options o;
    struct baton *b;
    char err[256];
    (void)argc;
    memset(&o, 0, sizeof(o));
    o.config_file = argv[1];
    if (baton_new(&b, &o, err, sizeof(err)) != BATON_EINVAL) return 1;
    printf("%s\n%s\n", baton_strerror(BATON_ENAMETAKEN), err);
    return 0;
}
C
cc=${CC:-cc}
$cc -std=c11 -Wall -Werror "$T/hello.c" -o "$T/hello-shared" $(pkg-config --cflags --libs baton)
LD_LIBRARY_PATH=$libdir "$T/hello-shared" "$T/missing.ini" > "$T/out"
grep -q "name already registered" "$T/out" || fail "shared: $(cat "$T/out")"
grep -q "missing.ini: cannot read" "$T/out" || fail "shared: $(cat "$T/out")"
$cc -std=c11 -Wall -Werror "$T/hello.c" -o "$T/hello-static" $(pkg-config --cflags baton) \
    "$libdir/libbaton.a" $(pkg-config --static --libs-only-l --libs-only-L baton | sed 's/-lbaton//')
"$T/hello-static" "$T/missing.ini" | grep -q "name already registered" || fail "static"
# Only the API is exported.
extra=$(nm -D --defined-only "$libdir/libbaton.so" | awk '{print $3}' | grep -v '^baton_[a-z_]*$' || true)
[ -z "$extra" ] || fail "exported beyond the API: $extra"
nm -D --defined-only "$libdir/libbaton.so" | awk '{print $3}' | grep -q '^baton__' && fail "internal symbols exported"
echo "ok: installed, built with pkg-config (shared and static), only the API exported"
