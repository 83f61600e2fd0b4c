#!/usr/bin/env bash
# test_ci_workflow: the sample GitHub Actions workflow
# (.github/workflows/cellbench.yml) is valid YAML with the shape of a
# workflow, every command it runs exists in this build or on this machine
# (build/tools/check-workflow, C with libyaml), it runs on debian:bookworm,
# and it publishes the JUnit XML it makes. A self-check first feeds the
# checker broken files and wants each refused. Installed into
# build/tests/harness/ by harness.mk with the directories filled in.
set -u
SOURCE_DIR='@SOURCE_DIR@'
BUILD_DIR='@BUILD_DIR@'
CHECK="$BUILD_DIR/tools/check-workflow"
WORKFLOW="$SOURCE_DIR/.github/workflows/cellbench.yml"
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

check() {
    "$CHECK" "$1" --source "$SOURCE_DIR" --build "$BUILD_DIR"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Self-check: each of these must be refused, for the reason given.
refused() { # NAME EXPECTED-TEXT YAML
    printf '%s' "$3" >"$tmp/$1.yml"
    local out
    out=$(check "$tmp/$1.yml" 2>&1) && { fail "check-workflow accepted $1"; return; }
    echo "$out" | grep -q "$2" || fail "check-workflow refused $1 without saying '$2': $out"
}
job='on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n'
refused not-yaml "not valid YAML" $'on: push\njobs: [unclosed\n'
refused no-jobs "jobs: missing" $'on: push\n'
refused no-command "not a command on this machine" "$(printf "$job")"$'\n      - run: no-such-command-cellbench --x\n'
refused not-built "not an executable here" "$(printf "$job")"$'\n      - run: build/bin/no-such-program\n'
refused no-target "no rule for the target" "$(printf "$job")"$'\n      - run: make no-such-target\n'
refused no-script "does not exist" "$(printf "$job")"$'\n      - run: bash certs/no-such.sh\n'
refused no-subcommand "no subcommand" "$(printf "$job")"$'\n      - run: build/bin/cellbench fly\n'
refused no-glob "matches no file" "$(printf "$job")"$'\n      - run: build/bin/cellbench run scenarios/*.nothing\n'
refused bad-action "not an action reference" "$(printf "$job")"$'\n      - uses: checkout\n'
refused second-command "not a command" "$(printf "$job")"$'\n      - run: make deps && no-such-command-cellbench\n'

# The shipped workflow.
if [ ! -f "$WORKFLOW" ]; then
    fail "no $WORKFLOW"
else
    check "$WORKFLOW" || fail "check-workflow refused the shipped workflow"
    grep -q '^ *image: debian:bookworm$' "$WORKFLOW" || fail "the workflow does not run in a debian:bookworm container"
    for step in 'make deps' 'make -j' 'cellbench run --junit'; do
        grep -q "run: .*$step" "$WORKFLOW" || fail "the workflow has no step running '$step'"
    done
    junit=$(grep -o -- '--junit [^ ]*' "$WORKFLOW" | head -n 1 | cut -d' ' -f2)
    [ -n "$junit" ] && grep -q "^ *$junit\$\|report_paths: $junit\$" "$WORKFLOW" ||
        fail "the JUnit file '$junit' is not published (artifact path or test report)"
    grep -q 'uses: actions/upload-artifact@' "$WORKFLOW" || fail "the workflow uploads no artifact"
fi

if [ "$failures" -ne 0 ]; then
    echo "test_ci_workflow: $failures check(s) failed"
    exit 1
fi
echo "test_ci_workflow: the sample workflow is valid and every command it runs exists"
