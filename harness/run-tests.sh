#!/usr/bin/env bash
# Run every test program under $BUILD/tests/ (CMocka suites and integration
# tests) and every scenario check, print each program's result, and end with
# one line "N passed, N failed" that sums the individual test cases.
#
# A CMocka program counts its own cases ("[  PASSED  ] N test(s)." and
# "[  FAILED  ] N test(s), listed below:"); any other program counts as one
# case that passes when it exits 0. A program that does not finish within
# TEST_GUARD_SECONDS (a hang guard, not a timing assertion) counts as failed.
set -u
BUILD=${BUILD:-build}
GUARD=${TEST_GUARD_SECONDS:-600}
LOGDIR="$BUILD/test-logs"
mkdir -p "$LOGDIR"

passed=0
failed=0
failed_names=()

run_one() {
    local prog=$1 name log rc p f
    name=${prog#"$BUILD/tests/"}
    log="$LOGDIR/${name//\//_}.log"
    timeout --kill-after=10 "$GUARD" "$prog" >"$log" 2>&1
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\..*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    if ! grep -q '^\[==========\]' "$log"; then
        # not a CMocka program: one case decided by the exit status
        if [ "$rc" -eq 0 ]; then p=1; f=0; else p=0; f=1; fi
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1 # crashed or timed out after its summary
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -gt 0 ]; then
        failed_names+=("$name")
        printf '%-44s %3d passed, %3d failed   (log: %s)\n' "$name" "$p" "$f" "$log"
        grep -E '^\[  (FAILED|ERROR) \]|^\[  FAILED  \]|Failure|error:' "$log" | head -n 20 | sed 's/^/    /'
    else
        printf '%-44s %3d passed\n' "$name" "$p"
    fi
}

while IFS= read -r prog; do
    run_one "$prog"
done < <(find "$BUILD/tests" -type f -perm -u+x 2>/dev/null | sort)

if [ "${#failed_names[@]}" -gt 0 ]; then
    echo "failing: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
