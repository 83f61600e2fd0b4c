#!/usr/bin/env bash
# size_stack - flash and static RAM of each stack configuration on Cortex-M4,
# from the linker maps of the size_stack.c images (`make bench`). Input
# sections are attributed to the core (libfwcore.a), the image's own
# application state and port stand-ins (size_stack.o), or the C library and
# compiler helpers. Flash = .text + .rodata + .data initialisers; RAM =
# .data + .bss. Targets (issue text): the full modem-TLS build at most
# 48 KB of flash and 16 KB of static RAM, without the ES256 signer.
set -u
dir=@FW_SIZE_DIR@
flash_target=49152
ram_target=16384

# Print "core_flash app_flash libc_flash ram" for one map file.
split_map() {
    awk '
        function hex(s,   i, c, v) {
            v = 0
            s = tolower(substr(s, 3))
            for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return v
        }
        /^Linker script and memory map/ { on = 1; next }
        !on { next }
        /^ \*fill\*/ { next }
        {
            if ($0 ~ /^ [.A-Za-z_]/ && NF == 1) { pending = $1; next }
            if ($0 ~ /^ [.A-Za-z_]/ && NF >= 4 && $2 ~ /^0x/ && $3 ~ /^0x/) { sec = $1; size = $3; file = $4 }
            else if (pending != "" && NF >= 3 && $1 ~ /^0x/ && $2 ~ /^0x/) { sec = pending; size = $2; file = $3 }
            else { pending = ""; next }
            pending = ""
            n = hex(size)
            if (n == 0) next
            who = file ~ /libfwcore\.a/ ? "core" : file ~ /lib(c|c_nano|gcc|nosys|m)\.a|crt[^/]*\.o$/ ? "libc" : "app"
            if (sec ~ /^\.(text|rodata)/) flash[who] += n
            else if (sec ~ /^\.data/) { flash[who] += n; ram += n }
            else if (sec ~ /^\.bss/ || sec ~ /^COMMON/) ram += n
        }
        END { printf "%d %d %d %d\n", flash["core"], flash["app"], flash["libc"], ram }
    ' "$1"
}

echo "cortex-m4 (-Os, --gc-sections) per stack; certificates live in a provisioned"
echo "flash region, the TLS engine and the ES256 signer are the port's (not counted):"
printf '  %-24s %10s %10s %8s %10s\n' stack core-flash app+port libc static-RAM
full=""
for s in aws-modem-tls gcp-modem-tls full-modem-tls full-rot aws-mcu-tls gcp-mcu-tls; do
    map="$dir/${s%-tls}.map"
    if [ ! -f "$map" ]; then echo "missing $map (run make)"; exit 1; fi
    read -r core app libc ram < <(split_map "$map")
    label=$s
    [ "$s" = full-rot ] && label="full-modem-tls+rotation"
    printf '  %-24s %10d %10d %8d %10d\n' "$label" "$core" "$app" "$libc" "$ram"
    [ "$s" = full-modem-tls ] && full="$core $app $libc $ram"
done
read -r core app libc ram <<<"$full"
flash=$((core + app + libc))
awk -v f="$flash" -v ft=$flash_target -v r="$ram" -v rt=$ram_target 'BEGIN {
    printf "full modem-TLS build: flash %d of %d bytes (ratio %.2f, %s), static RAM %d of %d bytes (ratio %.2f, %s)\n",
        f, ft, f / ft, f <= ft ? "target met" : "TARGET MISSED", r, rt, r / rt, r <= rt ? "target met" : "TARGET MISSED" }'
