#!/usr/bin/env bash
# check_nrf52840 - the nRF52840 image (build/nrf52840/cellbench-bus.elf) links
# for the nRF52840: the vector table is the first 256 bytes of flash at 0 with
# the initial stack pointer at the top of RAM and a Thumb reset address; code
# and initialised data fit the code part of flash (below the provisioned and
# storage regions at 0xE0000); RAM (data + bss + an 8 KB stack floor) fits
# 256 KB; nothing from the heap, stdio or an OS is linked in. Prints the sizes
# against the targets (96 KB flash, 32 KB RAM). QEMU has no nRF52
# machine: the image is checked, not run.
set -u
elf=@NRF_ELF@
[ -f "$elf" ] || { echo "missing $elf (make firmware-nrf52840)"; exit 1; }
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

read -r text data bss _ < <(arm-none-eabi-size "$elf" | awk 'NR == 2 {print $1, $2, $3}')
flash=$((text + data))
ram=$((data + bss))
echo "nrf52840 image: flash $flash bytes (text $text, data $data), RAM $ram bytes (data $data, bss $bss) + stack"

vec=$(arm-none-eabi-readelf -S -W "$elf" | sed 's/^ *\[ *[0-9]*\] *//' | awk '$1 == ".isr_vector" {print $3, $5}')
[ "$vec" = "00000000 000100" ] || fail "vector table section at/size '$vec', expected 00000000 000100 (256 bytes at 0)"
words=$(arm-none-eabi-objcopy -O binary -j .isr_vector "$elf" /dev/stdout | od -An -tx4 -N8 | tr -s ' ')
sp=$(echo "$words" | awk '{print $1}')
reset=$(echo "$words" | awk '{print $2}')
[ "$sp" = "20040000" ] || fail "initial stack pointer $sp, expected 20040000 (top of 256 KB RAM)"
reset_sym=$(arm-none-eabi-nm "$elf" | awk '$3 == "Reset_Handler" {print $1}')
[ $((16#$reset)) -eq $((16#$reset_sym | 1)) ] || fail "reset vector $reset is not Reset_Handler|1 ($reset_sym)"

[ "$flash" -le $((0xE0000)) ] || fail "code and data ($flash) overflow the 896 KB code region"
[ $((ram + 8192)) -le $((256 * 1024)) ] || fail "RAM ($ram + 8 KB stack) exceeds 256 KB"

bad=$(arm-none-eabi-nm "$elf" | awk '{print $NF}' |
    grep -E '^(malloc|free|calloc|realloc|_malloc_r|_free_r|_sbrk|_sbrk_r|printf|puts|fprintf|sprintf|snprintf|vfprintf|_vfprintf_r|fwrite|fopen|_write|_read|_open|_close|exit|abort|__sfp)$')
[ -z "$bad" ] || fail "heap/stdio/OS symbols linked in: $(echo $bad)"

for sym in Timer1_Handler Uarte0_Handler nvmc_store_save board_rng_fill p256_ecdsa_sign ec_key_p256_from_pem; do
    arm-none-eabi-nm "$elf" | grep -q " $sym$" || fail "$sym is not in the image"
done
signer=0
for obj in p256 ec_key sha256; do
    n=$(arm-none-eabi-size "@CRYPTO_OBJ_DIR@/$obj.o" | awk 'NR == 2 {print $1}')
    signer=$((signer + n))
done
echo "signer (p256.o + ec_key.o + sha256.o, text before --gc-sections): $signer bytes"
[ "$flash" -le $((96 * 1024)) ] && echo "flash target (96 KB): met" || echo "flash target (96 KB): NOT met ($flash bytes)"
[ "$ram" -le $((32 * 1024)) ] && echo "RAM target (32 KB, data + bss): met, $((32 * 1024 - ram)) bytes left for the stack" ||
    echo "RAM target (32 KB, data + bss): NOT met ($ram bytes)"

if [ "$failures" -ne 0 ]; then
    echo "check_nrf52840: $failures check(s) failed"
    exit 1
fi
echo "check_nrf52840: the image links for the nRF52840 with its vector table at 0, fits, and has no heap or stdio"
