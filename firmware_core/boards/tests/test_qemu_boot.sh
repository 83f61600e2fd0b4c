#!/usr/bin/env bash
# test_qemu_boot - boots build/qemu/cellbench-bus.elf in qemu-system-arm
# (-M mps2-an386, Cortex-M4) with its UART0 wired to build/bin/sim7600, and
# checks what the image runs today: the core's SIM7600 bring-up (AT sync,
# ATE0, AT+CMEE=2, AT+CPIN?, AT+CGREG?, APN) and AT+CGMR, ending with
# semihosting exit status 0; with the SIM removed through the simulator's
# control socket the same image must end with status 1 at the SIM step.
#
# Wiring: QEMU serves UART0 on a Unix socket and waits (wait=on, so no byte
# is lost before the other side is there); the simulator creates its PTY;
# socat joins the two. Skips (exit 0, message) when qemu-system-arm is missing.
set -u
elf=@QEMU_ELF@
sim=@SIM7600@
guard=${QEMU_GUARD_SECONDS:-90}

if ! command -v qemu-system-arm >/dev/null 2>&1; then
    echo "SKIP: qemu-system-arm is not installed (make deps installs it); image not run"
    exit 0
fi
for f in "$elf" "$sim"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "missing $f (run make)"; exit 1; }
done
for tool in socat arm-none-eabi-size; do
    command -v "$tool" >/dev/null 2>&1 || { echo "missing $tool (make deps)"; exit 1; }
done

arm-none-eabi-size "$elf" | awk 'NR == 2 {printf "image %s: text %d, data %d, bss %d bytes\n", "cellbench-bus.elf", $1, $2, $3}'

tmp=$(mktemp -d)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

wait_for() { # wait_for PATH: up to 10 s for a file or socket to appear
    local i
    for i in $(seq 1 100); do
        [ -e "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

# stream RX|TX LOG: the bytes of one direction of the capture, chunks joined, escaped as logged
stream() {
    grep -E " $1 \"" "$2" | sed -E 's/^[^ ]+ [^ ]+ (RX|TX) "(.*)"$/\2/' | tr -d '\n'
}

# run_case NAME EXPECTED_STATUS [CONTROL_VERB]: one boot against a fresh simulator
run_case() {
    local name=$1 expect=$2 verb=${3:-} dir="$tmp/$1" rc qemu_pid sim_pid socat_pid
    mkdir -p "$dir"
    timeout "$guard" qemu-system-arm -M mps2-an386 -nographic -monitor none \
        -semihosting-config enable=on,target=native \
        -chardev socket,id=uart0,path="$dir/uart.sock",server=on,wait=on \
        -serial chardev:uart0 -kernel "$elf" >"$dir/qemu.out" 2>&1 &
    qemu_pid=$!
    "$sim" --link "$dir/modem" --boot-ms 0 --control "$dir/control.sock" \
        --log "$dir/uart.log" >"$dir/sim.out" 2>&1 &
    sim_pid=$!
    pids+=("$qemu_pid" "$sim_pid")
    if ! wait_for "$dir/uart.sock" || ! wait_for "$dir/modem" || ! wait_for "$dir/control.sock"; then
        fail "$name: QEMU or the simulator did not start"
        cat "$dir/qemu.out" "$dir/sim.out"
        return
    fi
    if [ -n "$verb" ]; then
        echo "$verb" | socat -t 2 - UNIX-CONNECT:"$dir/control.sock" >"$dir/control.out" 2>&1
        grep -q '^ok' "$dir/control.out" || fail "$name: control verb '$verb' refused: $(cat "$dir/control.out")"
    fi
    socat "$dir/modem",rawer,echo=0 UNIX-CONNECT:"$dir/uart.sock" 2>"$dir/socat.err" &
    socat_pid=$!
    pids+=("$socat_pid")
    wait "$qemu_pid"
    rc=$?
    kill "$sim_pid" "$socat_pid" 2>/dev/null
    echo "--- $name: semihosting console (QEMU exit status $rc) ---"
    grep -v 'QEMU waiting for connection' "$dir/qemu.out"
    echo "--- $name: UART as the simulator saw it ---"
    grep -E ' (RX|TX) ' "$dir/uart.log" | cut -d' ' -f3-
    [ "$rc" -eq 124 ] && fail "$name: QEMU did not exit within ${guard} s"
    [ "$rc" -eq "$expect" ] || fail "$name: exit status $rc, expected $expect"
    grep -q '^qemu-boot: cellbench-bus on mps2-an386' "$dir/qemu.out" || fail "$name: no boot banner"
    # the firmware synced with the modem: AT answered OK, then echo switched off
    # (the capture holds one line per chunk, so the checks join the chunks first)
    stream RX "$dir/uart.log" >"$dir/rx.txt"
    stream TX "$dir/uart.log" >"$dir/tx.txt"
    grep -q '^AT\\r' "$dir/rx.txt" || fail "$name: the first bytes the simulator received were not AT<CR>"
    grep -qF 'AT\r\r\nOK\r\nATE0\r\r\nOK\r\n' "$dir/tx.txt" || fail "$name: no AT/OK, ATE0/OK exchange"
    cp "$dir/qemu.out" "$tmp/$name.console"
}

run_case ready 0
grep -q '^qemu-boot: modem ready$' "$tmp/ready.console" || fail "ready: setup did not report the modem ready"
grep -q '^qemu-boot: revision +CGMR: ' "$tmp/ready.console" || fail "ready: no AT+CGMR answer"
grep -qF 'AT+CGDCONT=1,\"IP\",\"internet\"\r' "$tmp/ready/rx.txt" || fail "ready: APN not set"

run_case sim-absent 1 "sim absent"
grep -q '^qemu-boot: setup failed at step SIM ready (AT+CPIN?)$' "$tmp/sim-absent.console" ||
    fail "sim-absent: failure not reported at the SIM step"

if [ "$failures" -ne 0 ]; then
    echo "test_qemu_boot: $failures check(s) failed"
    exit 1
fi
echo "test_qemu_boot: the image boots on mps2-an386, brings the simulated SIM7600 up and exits 0;"
echo "without a SIM it stops at the SIM step with status 1"
