#!/usr/bin/env bash
# Refresh the AT command table in README.md from the simulator itself:
# everything between the lines "<!-- commands:begin -->" and
# "<!-- commands:end -->" is replaced by the output of `sim7600 --commands`.
#
#   sim/gen-commands-table.sh            rewrite README.md in place
#   sim/gen-commands-table.sh --check    exit 1 (and show a diff) when it is stale
#
# The binary is $BUILD/bin/sim7600 (BUILD defaults to build); run `make` first.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${SIM7600:-$top/${BUILD:-build}/bin/sim7600}
readme=${README:-$top/README.md}
check=0
[ "${1:-}" = "--check" ] && check=1

if [ ! -x "$bin" ]; then
    echo "gen-commands-table: $bin not found; run make first" >&2
    exit 2
fi
grep -q '^<!-- commands:begin -->$' "$readme" && grep -q '^<!-- commands:end -->$' "$readme" || {
    echo "gen-commands-table: $readme has no <!-- commands:begin/end --> markers" >&2
    exit 2
}

table=$(mktemp)
fresh=$(mktemp)
trap 'rm -f "$table" "$fresh"' EXIT
"$bin" --commands >"$table"
awk -v table="$table" '
    /^<!-- commands:begin -->$/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
    /^<!-- commands:end -->$/   { skip = 0 }
    !skip { print }
' "$readme" >"$fresh"

if [ "$check" -eq 1 ]; then
    if ! diff -u "$readme" "$fresh"; then
        echo "gen-commands-table: README.md's command table is stale; run sim/gen-commands-table.sh" >&2
        exit 1
    fi
    exit 0
fi
if ! cmp -s "$readme" "$fresh"; then
    cat "$fresh" >"$readme"
    echo "gen-commands-table: README.md updated"
fi
