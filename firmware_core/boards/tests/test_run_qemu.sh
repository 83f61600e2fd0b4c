#!/usr/bin/env bash
# test_run_qemu - `cellbench run --target qemu`: the scenarios smoke-aws.json and
# smoke-gcp.json with each device's firmware running as the Cortex-M4 image in
# qemu-system-arm (mps2-an386) instead of fwcore, at the scenarios' own rate (20):
# every expectation must hold, and the firmware's log must be the image's
# semihosting console (its banner, online, location events); depot-arrival-aws
# (rate 100) with a bus and a depot unit, each a QEMU image. Also: a scenario the
# image cannot run (driver inputs) is NOT RUN with the reason, and a bad --target
# is refused with status 2. Skips (exit 0, message) when qemu-system-arm is missing.
set -u
cellbench=@CELLBENCH@
scenarios=@SCENARIOS@

if ! command -v qemu-system-arm >/dev/null 2>&1; then
    echo "SKIP: qemu-system-arm is not installed (make deps installs it); nothing run"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# run_scenario NAME [DEVICE]: one scenario on the QEMU target, run directory kept under
# $tmp; DEVICE (default bus-1) is the device whose console is checked
run_scenario() {
    local name=$1 dev=${2:-bus-1} rc log
    TMPDIR="$tmp" timeout 120 "$cellbench" run --target qemu --keep "$scenarios/$name.json" >"$tmp/$name.out" 2>&1
    rc=$?
    cat "$tmp/$name.out"
    [ "$rc" -eq 0 ] || fail "$name: cellbench run --target qemu exited $rc"
    grep -q "^== $name .*, qemu)" "$tmp/$name.out" || fail "$name: the run does not say it used the qemu target"
    log=$(ls "$tmp"/cellbench-run.*/fw-"$dev".log 2>/dev/null | head -n 1)
    if [ -z "$log" ]; then
        fail "$name: no firmware log in the run directory"
        return
    fi
    echo "--- $name: the image's console ---"
    grep -v '^fw info app: location event$' "$log" | head -n 20
    grep -q '^qemu-boot: cellbench-bus on mps2-an386 (Cortex-M4)' "$log" || fail "$name: the firmware was not the QEMU image"
    grep -q '^bus: device online$' "$log" || fail "$name: the image never came online"
    if [ "$dev" = bus-1 ]; then
        grep -q '^fw info app: location event$' "$log" || fail "$name: the image queued no location event"
    else
        grep -q '^bus: message from the cloud$' "$log" || fail "$name: the depot received nothing"
    fi
    rm -rf "$tmp"/cellbench-run.*
}

run_scenario smoke-aws
run_scenario smoke-gcp
run_scenario depot-arrival-aws depot-north

TMPDIR="$tmp" timeout 60 "$cellbench" run --target qemu "$scenarios/driver-picture-chunked.json" >"$tmp/driver.out" 2>&1
rc=$?
cat "$tmp/driver.out"
[ "$rc" -eq 1 ] || fail "driver-picture-chunked: exit status $rc, expected 1 (not run)"
grep -q '^NOT RUN .*no driver-monitoring or camera input' "$tmp/driver.out" ||
    fail "driver-picture-chunked: no NOT RUN line with the reason"
ls "$tmp"/cellbench-run.* >/dev/null 2>&1 && fail "driver-picture-chunked: something was started"

"$cellbench" run --target arm "$scenarios/smoke-aws.json" >"$tmp/bad.out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "--target arm: exit status $rc, expected 2"
grep -q "neither host nor qemu" "$tmp/bad.out" || fail "--target arm: no clear message"

if [ "$failures" -ne 0 ]; then
    echo "test_run_qemu: $failures check(s) failed"
    exit 1
fi
echo "test_run_qemu: smoke-aws, smoke-gcp and depot-arrival-aws pass with the firmware as the QEMU"
echo "image; a scenario with driver inputs is NOT RUN with its reason; a bad --target is refused"
