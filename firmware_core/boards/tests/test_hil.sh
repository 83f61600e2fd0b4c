#!/usr/bin/env bash
# test_hil - `cellbench hil` without a board: --dry-run prints the build, the
# credential region, the flashing commands for OpenOCD and pyOCD (with a probe
# id from --probe-id or a hardware map) and the `cellbench run --target hil`
# line, and runs nothing; --write-provision writes the nRF52840's credential
# region as Intel HEX (checked byte for byte against certs/out after
# arm-none-eabi-objcopy turns it back into binary); without --dry-run and
# without a CMSIS-DAP probe (or its tool) it stops at once with a clear message;
# bad input (no --probe, two devices, --target hil without --serial) is refused.
# And `cellbench run --target hil` end to end with the mps2-an386 image standing
# in for the board: QEMU in its "hil" mode on a PTY waits for the go line like
# the nRF52840 image (the same common/go_line.c), the run sends it on the PTY,
# then serves the PTY with the simulator; smoke-aws and smoke-gcp must pass and
# the JUnit file must hold their test cases (at rate 8).
set -u
cellbench=@CELLBENCH@
scenarios=@SCENARIOS@
certs=@CERTS@
elf=@QEMU_ELF@
tmp=$(mktemp -d)
qemu_pid=
cleanup() {
    [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
expect_line() { # expect_line FILE TEXT: a line of FILE contains TEXT
    grep -qF -- "$2" "$1" || fail "$(basename "$1"): no line with: $2"
}

# --dry-run with OpenOCD
"$cellbench" hil --probe openocd --dry-run "$scenarios/smoke-gcp.json" >"$tmp/openocd.out" 2>&1
rc=$?
cat "$tmp/openocd.out"
[ "$rc" -eq 0 ] || fail "openocd --dry-run exited $rc"
expect_line "$tmp/openocd.out" "firmware-nrf52840"
expect_line "$tmp/openocd.out" "openocd -f interface/cmsis-dap.cfg -c 'transport select swd' -f target/nrf52.cfg"
expect_line "$tmp/openocd.out" "nrf52840/cellbench-bus.elf verify'"
expect_line "$tmp/openocd.out" "provision-bus-1.hex verify reset exit'"
expect_line "$tmp/openocd.out" "sim7600 --serial /dev/ttyACM0"
expect_line "$tmp/openocd.out" "run --target hil --serial /dev/ttyACM0 --rate 1 --junit hil-junit.xml"
ls "$tmp"/* | grep -qv '\.out$' && fail "--dry-run wrote files"

# --dry-run with pyOCD and a hardware map choosing the probe and the port
printf '# board probe-id serial\nnrf52840-dk 000683000001 /dev/ttyACM7\nnrf52840-dk 000683000002 /dev/ttyACM8\n' >"$tmp/map"
"$cellbench" hil --probe pyocd --map "$tmp/map" --probe-id 000683000002 --dry-run "$scenarios/smoke-aws.json" \
    >"$tmp/pyocd.out" 2>&1
rc=$?
cat "$tmp/pyocd.out"
[ "$rc" -eq 0 ] || fail "pyocd --dry-run exited $rc"
if command -v pyocd >/dev/null 2>&1; then
    expect_line "$tmp/pyocd.out" "pyocd flash -t nrf52840 -u 000683000002"
else
    expect_line "$tmp/pyocd.out" "pyocd-flashtool -t nrf52840 -b 000683000002"
fi
expect_line "$tmp/pyocd.out" "nrf52840/cellbench-bus.hex"
expect_line "$tmp/pyocd.out" "--serial /dev/ttyACM8"
"$cellbench" hil --probe openocd --map "$tmp/map" --dry-run "$scenarios/smoke-aws.json" >"$tmp/map1.out" 2>&1
expect_line "$tmp/map1.out" "adapter serial 000683000001"
expect_line "$tmp/map1.out" "--serial /dev/ttyACM7"

# the credential region
"$cellbench" hil --write-provision "$tmp/prov.hex" "$scenarios/smoke-gcp.json" || fail "--write-provision failed"
if [ -f "$tmp/prov.hex" ]; then
    head -n 1 "$tmp/prov.hex" | grep -q '^:02000004000EEC$' || fail "provision HEX does not start at 0xE0000"
    tail -n 1 "$tmp/prov.hex" | grep -q '^:00000001FF$' || fail "provision HEX has no end record"
    arm-none-eabi-objcopy -I ihex -O binary "$tmp/prov.hex" "$tmp/prov.bin" || fail "objcopy cannot read the HEX"
    [ "$(head -c 4 "$tmp/prov.bin")" = "CBPV" ] || fail "no CBPV magic"
    off=8
    for rel in ca.pem devices/bus-1/cert.pem devices/bus-1/key.pem devices/bus-1/es256-private.pem; do
        name=$(dd if="$tmp/prov.bin" bs=1 skip=$off count=64 2>/dev/null | tr -d '\0')
        len=$(od -An -tu4 -j $((off + 64)) -N4 "$tmp/prov.bin" | tr -d ' ')
        [ "$name" = "$rel" ] || fail "entry at $off is '$name', expected $rel"
        dd if="$tmp/prov.bin" bs=1 skip=$((off + 68)) count="$len" of="$tmp/entry" 2>/dev/null
        cmp -s "$tmp/entry" "$certs/$rel" || fail "entry $rel differs from $certs/$rel"
        off=$((off + 68 + (len + 3) / 4 * 4))
    done
    echo "provision HEX: 4 entries, $off bytes, identical to certs/out"
fi

# no probe: a clear error at once, nothing flashed (only when none is attached here)
if grep -qs CMSIS-DAP /sys/bus/usb/devices/*/product; then
    echo "a CMSIS-DAP probe is attached: the no-probe check is skipped so nothing is flashed"
else
    timeout 20 "$cellbench" hil --probe openocd "$scenarios/smoke-aws.json" >"$tmp/noprobe.out" 2>&1
    rc=$?
    cat "$tmp/noprobe.out"
    [ "$rc" -eq 1 ] || fail "without a probe: exit status $rc, expected 1"
    grep -qE 'no CMSIS-DAP probe attached|openocd is not installed' "$tmp/noprobe.out" ||
        fail "without a probe: no clear message"
fi

# bad input
"$cellbench" hil --dry-run "$scenarios/smoke-aws.json" >"$tmp/bad1" 2>&1
[ $? -eq 2 ] && grep -q -- '--probe openocd or --probe pyocd is required' "$tmp/bad1" || fail "missing --probe accepted"
"$cellbench" hil --probe openocd --dry-run "$scenarios/depot-arrival-aws.json" >"$tmp/bad2" 2>&1
[ $? -eq 2 ] && grep -q 'exactly one' "$tmp/bad2" || fail "a two-device scenario accepted"
"$cellbench" run --target hil "$scenarios/smoke-aws.json" >"$tmp/bad3" 2>&1
[ $? -eq 2 ] && grep -q -- '--serial DEV go together' "$tmp/bad3" || fail "--target hil without --serial accepted"

# the board path of `cellbench run` with QEMU as the board
hil_qemu_case() {
    local name=$1 pty rc i
    timeout 90 qemu-system-arm -M mps2-an386 -nographic -monitor none \
        -semihosting-config "enable=on,target=native,arg=cellbench-bus,arg=hil,arg=$certs" \
        -chardev pty,id=uart0 -serial chardev:uart0 -kernel "$elf" >"$tmp/qemu-$name.out" 2>&1 &
    qemu_pid=$!
    for i in $(seq 1 100); do
        grep -q 'redirected to /dev/pts/' "$tmp/qemu-$name.out" && break
        sleep 0.1
    done
    pty=$(sed -n 's|.*redirected to \(/dev/pts/[0-9]*\).*|\1|p' "$tmp/qemu-$name.out")
    if [ -z "$pty" ]; then
        fail "$name on the QEMU board: QEMU did not start"
        cat "$tmp/qemu-$name.out"
        return
    fi
    # rate 8, not the scenarios' 20: the board path adds the go line and the serial
    # hand-over before the AT sync, and one slow start must not miss the 60 s window
    TMPDIR="$tmp" timeout 90 "$cellbench" run --target hil --serial "$pty" --rate 8 --junit "$tmp/$name.xml" \
        "$scenarios/$name.json" >"$tmp/run-$name.out" 2>&1
    rc=$?
    kill "$qemu_pid" 2>/dev/null
    wait "$qemu_pid" 2>/dev/null
    qemu_pid=
    cat "$tmp/run-$name.out"
    echo "--- $name: the stand-in board's console ---"
    grep -v '^fw info app: location event$' "$tmp/qemu-$name.out" | head -n 12
    [ "$rc" -eq 0 ] || fail "$name on the QEMU board: cellbench run --target hil exited $rc"
    grep -q "^== $name .*, board)" "$tmp/run-$name.out" || fail "$name: the run does not say it used a board"
    grep -q '^qemu-boot: go$' "$tmp/qemu-$name.out" || fail "$name: the board never accepted the go line"
    grep -q '^bus: device online$' "$tmp/qemu-$name.out" || fail "$name: the board never came online"
    grep -q '<testcase' "$tmp/$name.xml" 2>/dev/null || fail "$name: no JUnit test cases"
}
if command -v qemu-system-arm >/dev/null 2>&1 && [ -f "$elf" ]; then
    hil_qemu_case smoke-aws
    hil_qemu_case smoke-gcp
else
    echo "SKIP: the board path with QEMU as the board (qemu-system-arm or $elf missing)"
fi

if [ "$failures" -ne 0 ]; then
    echo "test_hil: $failures check(s) failed"
    exit 1
fi
echo "test_hil: dry runs print the build, flash and run commands for both probes; the credential"
echo "region HEX matches certs/out; without a probe the command stops with a clear message;"
echo "cellbench run --target hil passes smoke-aws and smoke-gcp with QEMU standing in for the board"
