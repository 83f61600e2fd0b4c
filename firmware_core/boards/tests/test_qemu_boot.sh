#!/usr/bin/env bash
# test_qemu_boot - boots build/qemu/cellbench-bus.elf in qemu-system-arm
# (-M mps2-an386, Cortex-M4) with its UART0 wired to build/bin/sim7600, and
# checks what the image runs:
#   ready       no arguments: the core's SIM7600 bring-up (AT sync, ATE0,
#               AT+CMEE=2, AT+CPIN?, AT+CGREG?, APN) and AT+CGMR, ending with
#               semihosting exit status 0;
#   sim-absent  the same with the SIM removed through the simulator's control
#               socket: exit status 1 at the SIM step;
#   es256       "bench-es256 KEY": one ES256 signature under -icount shift=0,
#               verified by OpenSSL; prints its instruction count;
#   aws         "aws bus-1 localhost:PORT certs/out 1": the bus application
#               against the aws cloud broker (cellbench broker) with a GNSS fix
#               in the simulator: online over the modem's TLS, and a location
#               event of bus-1 reaches a cloud subscriber; exit status 0;
#   gcp         the same on gcp-modem-tls: the JWT signed on the CPU with the
#               device's es256-private.pem, the event on /devices/bus-1/events.
# Every case prints the painted-stack high-water mark the image reports.
# QEMU_BOOT_CASES="es256 gcp" runs only those cases.
#
# Wiring: QEMU starts paused with UART0 on a PTY (QEMU's PTY drops bytes while
# nobody has it open, so the CPU runs only once the simulator serves it with
# --serial and any control verb is in: "cont" on QEMU's monitor socket). Skips (exit 0, message) when qemu-system-arm is missing.
set -u
elf=@QEMU_ELF@
sim=@SIM7600@
cellbench=@CELLBENCH@
certs=@CERTS@
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
    for p in "${pids[@]}"; do kill -- "$p" 2>/dev/null; done
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

# wait_line FILE TEXT: up to 15 s for TEXT to show up in FILE
wait_line() {
    local i
    for i in $(seq 1 150); do
        grep -qF "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# stream RX|TX LOG: the bytes of one direction of the capture, chunks joined, escaped as logged
stream() {
    grep -E " $1 \"" "$2" | sed -E 's/^[^ ]+ [^ ]+ (RX|TX) "(.*)"$/\2/' | tr -d '\n'
}

# run_case NAME EXPECTED_STATUS [CONTROL_VERB [SEMIHOSTING_ARGS]]: one boot against a
# fresh simulator; SEMIHOSTING_ARGS is the image's command line, comma-separated
run_case() {
    local name=$1 expect=$2 verb=${3:-} args=${4:-} dir="$tmp/$1" rc qemu_pid sim_pid pty
    local semi=enable=on,target=native failed_before=$failures
    [ -n "$args" ] && semi="$semi,arg=cellbench-bus,arg=${args//,/,arg=}"
    mkdir -p "$dir"
    # QEMU starts paused (-S) with UART0 on a PTY; the simulator serves that PTY;
    # the control verb goes in; then the monitor's "cont" lets the CPU run
    timeout "$guard" qemu-system-arm -M mps2-an386 -nographic -S \
        -monitor unix:"$dir/monitor.sock",server=on,wait=off \
        -semihosting-config "$semi" \
        -chardev pty,id=uart0 -serial chardev:uart0 -kernel "$elf" >"$dir/qemu.out" 2>&1 &
    qemu_pid=$!
    pids+=("$qemu_pid")
    if ! wait_line "$dir/qemu.out" "redirected to /dev/pts/" || ! wait_for "$dir/monitor.sock"; then
        fail "$name: QEMU did not start"
        cat "$dir/qemu.out"
        return
    fi
    pty=$(sed -n 's|.*redirected to \(/dev/pts/[0-9]*\).*|\1|p' "$dir/qemu.out")
    "$sim" --serial "$pty" --boot-ms 0 --control "$dir/control.sock" \
        --log "$dir/uart.log" >"$dir/sim.out" 2>&1 &
    sim_pid=$!
    pids+=("$sim_pid")
    if ! wait_for "$dir/control.sock"; then
        fail "$name: the simulator did not start"
        cat "$dir/sim.out"
        return
    fi
    if [ -n "$verb" ]; then
        echo "$verb" | socat -t 2 - UNIX-CONNECT:"$dir/control.sock" >"$dir/control.out" 2>&1
        grep -q '^ok' "$dir/control.out" || fail "$name: control verb '$verb' refused: $(cat "$dir/control.out")"
    fi
    echo cont | socat -t 1 - UNIX-CONNECT:"$dir/monitor.sock" >"$dir/monitor.out" 2>&1
    wait "$qemu_pid"
    rc=$?
    kill "$sim_pid" 2>/dev/null
    wait "$sim_pid" 2>/dev/null
    echo "--- $name: semihosting console (QEMU exit status $rc) ---"
    grep -v 'redirected to /dev/pts/' "$dir/qemu.out"
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
    if [ "$failures" -ne "$failed_before" ]; then
        echo "--- $name: simulator output ---"
        cat "$dir/sim.out"
    fi
}

selected() { [ -z "${QEMU_BOOT_CASES:-}" ] || [[ " $QEMU_BOOT_CASES " == *" $1 "* ]]; }

if selected ready; then
run_case ready 0
grep -q '^qemu-boot: modem ready$' "$tmp/ready.console" || fail "ready: setup did not report the modem ready"
grep -q '^qemu-boot: revision +CGMR: ' "$tmp/ready.console" || fail "ready: no AT+CGMR answer"
grep -qF 'AT+CGDCONT=1,\"IP\",\"internet\"\r' "$tmp/ready/rx.txt" || fail "ready: APN not set"
grep -q '^board: stack high-water ' "$tmp/ready.console" && echo "ready: $(sed -n 's/^board: //p' "$tmp/ready.console" | grep '^stack')"

fi
if selected sim-absent; then
run_case sim-absent 1 "sim absent"
grep -q '^qemu-boot: setup failed at step SIM ready (AT+CPIN?)$' "$tmp/sim-absent.console" ||
    fail "sim-absent: failure not reported at the SIM step"
fi

# free_port: a TCP port nothing listens on (probed, so a race is possible but harmless:
# the broker then fails to start and the case fails with its output)
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
    done
}

# cloud_case aws|gcp: the bus application against that profile's cloud broker; a
# cloud subscriber must see bus-1's location event (aws: /bus/events; gcp: the
# device's events topic, after the broker checked the JWT signed on the CPU)
cloud_case() {
    local profile=$1 port admin broker_pid sub_pid pw topic args
    if [ ! -f "$certs/registry-$profile.json" ]; then
        fail "$profile: $certs missing (bash certs/gen.sh; make test runs it)"
        return
    fi
    port=$(free_port)
    admin=$(free_port)
    mkdir -p "$tmp/$profile-broker"
    setsid "$cellbench" broker --profile "$profile" --port "$port" --admin-port "$admin" \
        --registry "$certs/registry-$profile.json" --dir "$tmp/$profile-broker/dir" --certs "$certs" \
        >"$tmp/$profile-broker/out" 2>&1 &
    broker_pid=$!
    pids+=("-$broker_pid")
    if ! wait_line "$tmp/$profile-broker/out" ready; then
        fail "$profile: the broker did not start"
        cat "$tmp/$profile-broker/out"
        return
    fi
    pw=$(cat "$tmp/$profile-broker/dir/admin-password")
    topic=/bus/events
    args="aws,bus-1,localhost:$port,$certs,1"
    if [ "$profile" = gcp ]; then
        topic=/devices/bus-1/events
        args="gcp,bus-1,localhost:$port,$certs,1,project=$(reg_field project),region=$(reg_field region)"
        args="$args,registry=$(reg_field registry)"
    fi
    stdbuf -oL mosquitto_sub -d -h 127.0.0.1 -p "$admin" -u cloud -P "$pw" -t "$topic" -q 1 \
        >"$tmp/$profile-broker/sub" 2>&1 &
    sub_pid=$!
    pids+=("$sub_pid")
    wait_line "$tmp/$profile-broker/sub" SUBACK || fail "$profile: the cloud subscriber did not subscribe"
    run_case "$profile" 0 "gnss fix 50.5 30.5 120 36" "$args"
    grep -q '^bus: device online$' "$tmp/$profile.console" || fail "$profile: the device never came online"
    grep -q '^bus: location events published$' "$tmp/$profile.console" ||
        fail "$profile: no location event published"
    wait_line "$tmp/$profile-broker/sub" '"type":"location","bus":"bus-1"' ||
        fail "$profile: the cloud subscriber saw no location event of bus-1"
    grep -q '"lat":50.5' "$tmp/$profile-broker/sub" || fail "$profile: the event does not carry the fix"
    stack_line "$profile"
    echo "--- $profile: what the cloud subscriber received ---"
    grep '^{' "$tmp/$profile-broker/sub"
}

# reg_field NAME: a string field of the GCP registry (project, region, registry)
reg_field() {
    sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" "$certs/registry-gcp.json" | head -n 1
}

# stack_line CASE: the painted-stack high-water mark the image reported on the way out
stack_line() {
    local line
    line=$(grep '^board: stack high-water ' "$tmp/$1.console")
    [ -n "$line" ] || { fail "$1: no stack high-water mark reported"; return; }
    echo "$1: ${line#board: }"
}

# der_int HEX: a DER INTEGER (hex) of a 32-byte big-endian unsigned number
der_int() {
    local v=$1
    while [ "${v:0:2}" = 00 ] && [ ${#v} -gt 2 ]; do v=${v:2}; done
    case ${v:0:1} in [89a-f]) v=00$v ;; esac
    printf '02%02x%s' $((${#v} / 2)) "$v"
}

# es256: one JWT signature on the CPU under -icount shift=0 (one instruction = 1 ns of
# virtual time; SysTick counts 25 MHz of it, so instructions = ticks x 40, SysTick
# interrupt handlers included); OpenSSL must verify the signature with the public key
es256_case() {
    local dir="$tmp/es256" rc msg sig ticks r s body
    mkdir -p "$dir"
    timeout "$guard" qemu-system-arm -M mps2-an386 -nographic -monitor none -serial null -icount shift=0 \
        -semihosting-config "enable=on,target=native,arg=cellbench-bus,arg=bench-es256,arg=$certs/devices/bus-1/es256-private.pem" \
        -kernel "$elf" >"$dir/out" 2>&1
    rc=$?
    echo "--- es256: semihosting console (QEMU exit status $rc) ---"
    cat "$dir/out"
    [ "$rc" -eq 0 ] || { fail "es256: exit status $rc"; return; }
    msg=$(sed -n 's/^es256: message //p' "$dir/out")
    sig=$(sed -n 's/^es256: signature //p' "$dir/out")
    ticks=$(sed -n 's/^es256: systick ticks //p' "$dir/out")
    [ ${#sig} -eq 128 ] && [ -n "$msg" ] && [ -n "$ticks" ] || { fail "es256: no signature or count"; return; }
    r=$(der_int "${sig:0:64}")
    s=$(der_int "${sig:64:64}")
    body="$r$s"
    printf '30%02x%s' $((${#body} / 2)) "$body" | xxd -r -p >"$dir/sig.der"
    printf '%s' "$msg" >"$dir/msg"
    openssl dgst -sha256 -verify "$certs/devices/bus-1/es256-public.pem" -signature "$dir/sig.der" "$dir/msg" \
        >"$dir/verify" 2>&1 || fail "es256: OpenSSL does not verify the signature: $(cat "$dir/verify")"
    echo "es256: one ES256 signature on Cortex-M4 (QEMU -icount shift=0): $((ticks * 40)) instructions"
    [ $((ticks * 40)) -le 20000000 ] || fail "es256: more than 20 million instructions"
    cp "$dir/out" "$tmp/es256.console"
    stack_line es256
}

for tool in "$cellbench" mosquitto_sub stdbuf setsid openssl xxd; do
    command -v "$tool" >/dev/null 2>&1 || { fail "missing $tool (make, make deps)"; }
done
selected es256 && es256_case
selected aws && cloud_case aws
selected gcp && cloud_case gcp

if [ "$failures" -ne 0 ]; then
    echo "test_qemu_boot: $failures check(s) failed"
    exit 1
fi
echo "test_qemu_boot: the image boots on mps2-an386, brings the simulated SIM7600 up and exits 0;"
echo "without a SIM it stops at the SIM step with status 1; its ES256 signature verifies with OpenSSL;"
echo "the aws and gcp bus applications publish a location event that reaches the cloud subscriber"
