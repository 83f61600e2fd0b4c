#!/usr/bin/env bash
# One shipped scenario as a make test case: `cellbench run` at the
# scenario's own rate; passes when every expectation holds (exit 0).
# Made into build/tests/scenarios/<name> by harness/harness.mk.
set -u
exec @CELLBENCH@ run @SCENARIO@
