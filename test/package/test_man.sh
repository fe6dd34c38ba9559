# The man pages format without a warning (groff -ww), and man(1) reads
# them. Usage: BUILD_DIR (the pages as configured, version filled in).
set -euo pipefail
build=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v groff > /dev/null || fail "groff is missing (scripts/setup.sh installs groff-base)"
for page in batond.8 batonctl.8 baton.conf.5; do
    f=$build/man/$page
    [ -f "$f" ] || fail "$page was not configured"
    grep -q '@VERSION@' "$f" && fail "$page: version not filled in"
    warnings=$(groff -man -Tutf8 -ww -z "$f" 2>&1)
    [ -z "$warnings" ] || fail "$page: $warnings"
    text=$(groff -man -Tutf8 "$f" 2> /dev/null | sed 's/\x1b\[[0-9;]*m//g; s/.\x08//g')
    grep -q "^NAME" <<< "$text" || fail "$page: no NAME section"
    grep -q "^SEE ALSO" <<< "$text" || fail "$page: no SEE ALSO section"
    if command -v man > /dev/null; then
        out=$(MANWIDTH=80 man -l "$f" 2>&1 > /dev/null)
        [ -z "$out" ] || fail "man -l $page: $out"
    fi
    echo "ok: $page ($(wc -l <<< "$text") lines, no warnings)"
done
