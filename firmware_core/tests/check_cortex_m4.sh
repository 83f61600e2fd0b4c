#!/usr/bin/env bash
# check_cortex_m4 - the firmware core cross-compiled for Cortex-M4 must need
# nothing from the platform but a few <string.h> functions and compiler
# helpers: no heap, no stdio, no OS calls. Prints the text/data/bss sizes
# (with --per-module, one line per source file as well).
set -u
lib=@FW_M4_LIB@
[ -f "$lib" ] || { echo "missing $lib (run make)"; exit 1; }
if [ "${1:-}" = "--per-module" ]; then
    echo "cortex-m4 core (-Os), per module: text data bss"
    arm-none-eabi-size "$lib" | awk 'NR > 1 {printf "  %-20s %6d %5d %5d\n", $6, $1, $2, $3}'
fi
allowed='^(memcpy|memmove|memset|memcmp|memchr|strlen|strcmp|strncmp|__aeabi_[a-z0-9_]+)$'
undefined=$(arm-none-eabi-nm -u "$lib" | awk 'NF==2 {print $2}' | sort -u)
bad=$(printf '%s\n' "$undefined" | grep -Ev "$allowed" | grep -v '^$')
# symbols the core defines itself are fine (one object calling another)
defined=$(arm-none-eabi-nm --defined-only "$lib" | awk 'NF==3 {print $3}' | sort -u)
bad=$(comm -23 <(printf '%s\n' "$bad" | sort -u) <(printf '%s\n' "$defined") | grep -v '^$')
arm-none-eabi-size -t "$lib" | tail -n 1 | awk '{printf "cortex-m4 core: text %d, data %d, bss %d bytes\n", $1, $2, $3}'
if [ -n "$bad" ]; then
    echo "forbidden platform symbols referenced by the core:"
    printf '  %s\n' $bad
    exit 1
fi
echo "no heap, stdio or OS symbols referenced"
