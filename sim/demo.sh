#!/usr/bin/env bash
# The `make run` demonstration while the firmware and the cloud-rules broker
# are still to come: a real Mosquitto on a free loopback port, the SIM7600E
# simulator on a PTY, and a host that talks AT to it like firmware would.
# Prints the AT transcript, what the broker delivered, the control-socket
# replies and the UART capture.
#
# Commands this build of the simulator does not implement (not listed by
# `sim7600 --commands`) are skipped with a visible note, as are the steps
# that need them; a command that answers ERROR is shown as such.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${SIM7600:-$top/${BUILD:-build}/bin/sim7600}
guard=${DEMO_GUARD_SECONDS:-10}

[ -x "$bin" ] || { echo "demo: $bin not found; run make first" >&2; exit 1; }
command -v mosquitto >/dev/null || PATH=$PATH:/usr/sbin
command -v mosquitto >/dev/null || { echo "demo: mosquitto not installed (make deps)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/cellbench-demo.XXXXXX)
pids=()
cleanup() {
    exec 3>&- 4<&- 2>/dev/null
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

section() { printf '\n== %s\n' "$*"; }
note() { printf '   note: %s\n' "$*"; }

# ------------------------------------------------------------------ broker
port_in_use() { (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_broker() {
    local attempt port
    for attempt in 1 2 3 4 5; do
        port=$((20000 + RANDOM % 40000))
        port_in_use "$port" && continue
        printf 'listener %d 127.0.0.1\nallow_anonymous true\n' "$port" >"$tmp/mosquitto.conf"
        mosquitto -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 &
        local pid=$!
        for _ in $(seq 50); do
            if port_in_use "$port"; then
                pids+=("$pid")
                broker_port=$port
                return 0
            fi
            sleep 0.1
        done
        kill "$pid" 2>/dev/null
    done
    echo "demo: mosquitto did not start (see $tmp/mosquitto.log)" >&2
    return 1
}

# ------------------------------------------------------------------ simulator
start_sim() {
    "$bin" --link "$tmp/modem" --control "$tmp/ctl" --log "$tmp/uart.log" >"$tmp/sim.out" 2>"$tmp/sim.err" &
    pids+=("$!")
    for _ in $(seq 50); do
        [ -s "$tmp/sim.out" ] && break
        sleep 0.1
    done
    slave=$(head -n 1 "$tmp/sim.out")
    [ -n "$slave" ] || { echo "demo: sim7600 did not start:" >&2; cat "$tmp/sim.err" >&2; return 1; }
    exec 3<>"$tmp/modem"
    # bash's read changes a terminal's modes while it reads (ICRNL would turn the
    # modem's CR into LF), so the replies come through a FIFO fed by cat instead.
    mkfifo "$tmp/rx"
    cat <&3 >"$tmp/rx" &
    pids+=("$!")
    exec 4<"$tmp/rx"
}

implemented() { grep -qF "| \`AT$1\` |" "$tmp/commands.md"; }

# Print what the modem said, one "<-" line per non-empty line.
show_reply() {
    local text=${1//$'\r'/}
    local line
    while IFS= read -r line; do
        [ -n "$line" ] && printf '   <- %s\n' "$(printf '%s' "$line" | cat -v)"
    done <<<"$text"
}

# at COMMAND [DATA [URC]]: send COMMAND, feed DATA (a printf format, so \xHH
# writes any byte) at the '>' prompt, wait for
# the final result code and then for a line containing URC (two-phase result).
# Returns 0 on OK, 1 on ERROR / +CME ERROR, 2 when the guard expired.
at() {
    local cmd=$1 data=${2:-} urc=${3:-} buf="" c status=2 sent_data=0 deadline=$((SECONDS + guard))
    printf '   -> %s\n' "$cmd"
    printf '%s\r' "$cmd" >&3
    while [ $SECONDS -lt $deadline ]; do
        IFS= read -r -N1 -t 1 -u 4 c || continue
        buf+=$c
        if [ $sent_data -eq 0 ] && [ -n "$data" ] && [[ $buf == *$'\r\n>' || $buf == *$'\r\n> ' ]]; then
            show_reply "$buf"
            printf '   -> [raw] %s\n' "$data"
            # shellcheck disable=SC2059 # data is a printf format: \xHH for binary bytes
            printf "$data" >&3
            sent_data=1
            buf=""
            continue
        fi
        if [[ $buf == *$'\r\nOK\r\n' ]]; then status=0; break; fi
        if [[ $buf == *$'\r\nERROR\r\n' || $buf =~ \+CME\ ERROR:[^$'\r']*$'\r\n'$ ]]; then status=1; break; fi
    done
    if [ $status -eq 0 ] && [ -n "$urc" ] && [[ $buf != *"$urc"* ]]; then
        while [ $SECONDS -lt $deadline ]; do
            IFS= read -r -N1 -t 1 -u 4 c || continue
            buf+=$c
            [[ $buf == *"$urc"*$'\r\n' ]] && break
        done
    fi
    show_reply "$buf"
    [ $status -eq 2 ] && note "no final result code within ${guard} s"
    return $status
}

# Run a command only if this build implements it.
maybe_at() {
    local name=$1
    shift
    if ! implemented "$name"; then
        note "AT$name is not implemented by this build of the simulator: skipped"
        return 3
    fi
    at "$@"
    local rc=$?
    [ $rc -eq 1 ] && note "AT$name answered an error"
    return $rc
}

# Wait for an unsolicited line containing PATTERN (shown as it arrives).
wait_urc() {
    local pattern=$1 buf="" c deadline=$((SECONDS + guard))
    while [ $SECONDS -lt $deadline ]; do
        IFS= read -r -N1 -t 1 -u 4 c || continue
        buf+=$c
        [[ $buf == *"$pattern"*$'\r\n' ]] && break
    done
    show_reply "$buf"
    [[ $buf == *"$pattern"* ]]
}

# Read N raw bytes (data the modem pushes after +IPD<N>) and show them in hex.
# (bash's read drops NUL bytes, so head reads them.)
show_bytes() {
    local hex
    hex=$(timeout "$guard" head -c "$1" <&4 | od -An -tx1 | tr -s ' \n' ' ')
    printf '   <- [%d bytes]%s\n' "$1" "${hex% }"
}

control() {
    printf '   ctl> %s\n' "$1"
    printf '%s\n' "$1" | socat -t 2 - "UNIX-CONNECT:$tmp/ctl" | sed 's/^/   ctl< /'
}

# ------------------------------------------------------------------ the run
start_broker || exit 1
start_sim || exit 1
"$bin" --commands >"$tmp/commands.md"

if command -v mosquitto_sub >/dev/null; then
    mosquitto_sub -h 127.0.0.1 -p "$broker_port" -t 'cellbench/#' -v >"$tmp/sub.out" 2>&1 &
    sub_pid=$!
    pids+=("$sub_pid")
else
    sub_pid=""
fi

section "cellbench demo: mosquitto on 127.0.0.1:$broker_port, sim7600 on $slave (linked from $tmp/modem)"
echo "   The firmware and the cloud-rules broker come in later issues; this run shows the"
echo "   simulator on its own, driven over its PTY like firmware drives a real SIM7600E."

section "basics"
at "ATE0"
at "AT"
for c in I +CGMI +CGMM +CGMR +CGSN +CICCID +CPIN? +CSQ +CREG? +CGREG? +COPS? +CPSI? +CCLK?; do
    name=${c%\?}
    maybe_at "$name" "AT$c"
done

section "control socket: faults and statistics"
control "ping"
control "signal 9 99"
maybe_at "+CSQ" "AT+CSQ"
control "signal 23 99"

section "GNSS: the fix comes from the control socket"
if implemented +CGPS && implemented +CGPSINFO; then
    maybe_at "+CGPS" "AT+CGPS=1"
    maybe_at "+CGPSINFO" "AT+CGPSINFO"
    control "gnss fix 48.8566 2.3522 35 42.5 90"
    maybe_at "+CGPSINFO" "AT+CGPSINFO"
    control "gnss nofix"
    maybe_at "+CGPS" "AT+CGPS=0"
else
    note "AT+CGPS/AT+CGPSINFO are not implemented by this build of the simulator: GNSS skipped"
fi

section "MQTT publish flow (AT+CMQTT*) to the local broker"
mqtt_needed=(+CMQTTSTART +CMQTTACCQ +CMQTTCONNECT +CMQTTTOPIC +CMQTTPAYLOAD +CMQTTPUB +CMQTTDISC +CMQTTREL +CMQTTSTOP)
missing=()
for c in "${mqtt_needed[@]}"; do implemented "$c" || missing+=("AT$c"); done
if [ ${#missing[@]} -gt 0 ]; then
    note "not implemented by this build of the simulator: ${missing[*]}; MQTT flow skipped"
else
    topic="cellbench/bus-1/events"
    payload='{"bus":"bus-1","speed_kmh":42.5,"lat":48.8566,"lon":2.3522}'
    ok=1
    at "AT+CMQTTSTART" "" "+CMQTTSTART:" || ok=0
    [ $ok -eq 1 ] && { at 'AT+CMQTTACCQ=0,"bus-1"' || ok=0; }
    [ $ok -eq 1 ] && { at "AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:$broker_port\",60,1" "" "+CMQTTCONNECT: 0," || ok=0; }
    if [ $ok -eq 1 ] && implemented +CMQTTSUBTOPIC && implemented +CMQTTSUB; then
        at "AT+CMQTTSUBTOPIC=0,${#topic},1" "$topic" && at "AT+CMQTTSUB=0" "" "+CMQTTSUB: 0,"
    fi
    [ $ok -eq 1 ] && { at "AT+CMQTTTOPIC=0,${#topic}" "$topic" || ok=0; }
    [ $ok -eq 1 ] && { at "AT+CMQTTPAYLOAD=0,${#payload}" "$payload" || ok=0; }
    [ $ok -eq 1 ] && { at "AT+CMQTTPUB=0,0,60" "" "+CMQTTPUB: 0," || ok=0; }
    if [ $ok -eq 1 ] && implemented +CMQTTSUB; then
        echo "   (subscribed to its own topic: the broker sends the message back as a URC block)"
        wait_urc "+CMQTTRXEND: 0" || note "no incoming message block within ${guard} s"
    fi
    at "AT+CMQTTDISC=0,120" "" "+CMQTTDISC: 0,"
    at "AT+CMQTTREL=0"
    at "AT+CMQTTSTOP" "" "+CMQTTSTOP:"
fi

section "raw TCP (AT+NETOPEN/CIPOPEN/CIPSEND): the MCU speaks MQTT itself, as in the *-mcu-tls stacks"
tcp_needed=(+NETOPEN +CIPOPEN +CIPSEND +CIPCLOSE +NETCLOSE)
missing=()
for c in "${tcp_needed[@]}"; do implemented "$c" || missing+=("AT$c"); done
if [ ${#missing[@]} -gt 0 ]; then
    note "not implemented by this build of the simulator: ${missing[*]}; raw TCP flow skipped"
else
    # MQTT 3.1.1 packets: CONNECT (client "demo-raw", clean session, keep-alive 60 s),
    # PUBLISH QoS 0 of {"via":"CIPSEND"} to cellbench/bus-1/raw, DISCONNECT.
    connect='\x10\x14\x00\x04MQTT\x04\x02\x00\x3c\x00\x08demo-raw'
    publish='\x30\x26\x00\x13cellbench/bus-1/raw{"via":"CIPSEND"}'
    ok=1
    at "AT+NETOPEN" "" "+NETOPEN:" || ok=0
    [ $ok -eq 1 ] && { at "AT+CIPOPEN=0,\"TCP\",\"127.0.0.1\",$broker_port" "" "+CIPOPEN: 0," || ok=0; }
    if [ $ok -eq 1 ]; then
        at "AT+CIPSEND=0,22" "$connect" "+CIPSEND: 0," && {
            echo "   (the broker's CONNACK comes back as pushed data: +IPD4, then 20 02 00 00)"
            if wait_urc "+IPD4"; then show_bytes 4; else note "no CONNACK within ${guard} s"; fi
        }
        at "AT+CIPSEND=0,40" "$publish" "+CIPSEND: 0,"
        at "AT+CIPSEND=0,2" '\xe0\x00' "+CIPSEND: 0,"
        echo "   (after DISCONNECT the broker closes the connection: +IPCLOSE: 0,1)"
        wait_urc "+IPCLOSE: 0," || at "AT+CIPCLOSE=0" "" "+CIPCLOSE: 0,"
    fi
    at "AT+NETCLOSE" "" "+NETCLOSE:"
fi

if [ -n "$sub_pid" ]; then
    sleep 0.5
    kill "$sub_pid" 2>/dev/null
    wait "$sub_pid" 2>/dev/null
    section "what mosquitto_sub received on cellbench/#"
    if [ -s "$tmp/sub.out" ]; then sed 's/^/   /' "$tmp/sub.out"; else note "nothing"; fi
fi

section "statistics"
control "stats"

exec 3>&-
section "UART capture (--log): <virtual time> <real time> RX|TX \"bytes\""
sed 's/^/   /' "$tmp/uart.log"
echo
echo "demo: done"
