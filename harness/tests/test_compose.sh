#!/usr/bin/env bash
# test_compose: docker-compose.yml is valid (`docker-compose config`, no Docker
# engine needed) and every program it names under /cellbench/build/bin/ exists
# and is executable in this build; the Dockerfile builds on debian:bookworm.
# A self-check first runs the same checks on a broken file and wants them to
# fail. Installed into build/tests/harness/ by harness.mk with the source and
# build directories filled in; exits 0 when everything holds.
set -u
SOURCE_DIR='@SOURCE_DIR@'
BUILD_DIR='@BUILD_DIR@'
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# The normalised configuration of a compose file on stdout; non-zero when invalid.
compose_config() {
    docker-compose --project-directory "$SOURCE_DIR" -f "$1" config
}

# Every /cellbench/build/bin/NAME named in a normalised configuration, one a line.
programs_named() {
    grep -o '/cellbench/build/bin/[A-Za-z0-9_.-]*' | sort -u
}

# 0 when the compose file is valid and every program it names is in the build.
check_compose() {
    local file=$1 config progs prog bad=0
    if ! config=$(compose_config "$file" 2>&1); then
        echo "  $file: docker-compose config failed:"
        echo "$config" | sed 's/^/    /'
        return 1
    fi
    progs=$(echo "$config" | programs_named)
    if [ -z "$progs" ]; then
        echo "  $file: names no program under /cellbench/build/bin/"
        return 1
    fi
    for prog in $progs; do
        if [ ! -x "$BUILD_DIR/bin/${prog##*/}" ]; then
            echo "  $file: $prog is not in the build ($BUILD_DIR/bin/${prog##*/} missing)"
            bad=1
        fi
    done
    return $bad
}

if ! command -v docker-compose >/dev/null 2>&1; then
    echo "FAIL: docker-compose is not installed (make deps installs the Debian package)"
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Self-check: a program missing from the build and an invalid file are both caught.
printf 'services:\n  a:\n    image: x\n    command: ["/cellbench/build/bin/no-such-program"]\n' >"$tmp/missing.yml"
printf 'services:\n  a:\n    image: x\n    no_such_key: 1\n' >"$tmp/invalid.yml"
check_compose "$tmp/missing.yml" >/dev/null && fail "a compose file naming a missing program passed"
check_compose "$tmp/invalid.yml" >/dev/null 2>&1 && fail "an invalid compose file passed"

# The real file.
check_compose "$SOURCE_DIR/docker-compose.yml" || fail "docker-compose.yml"
config=$(compose_config "$SOURCE_DIR/docker-compose.yml" 2>/dev/null)
for service in broker bus-1 harness; do
    echo "$config" | grep -q "^  $service:$" || fail "docker-compose.yml has no service $service"
done
echo "$config" | grep -q 'published: 8883' || fail "the broker's device port 8883 is not published"
echo "$config" | grep -q 'fwcore' || fail "no firmware (fwcore) service"
echo "$config" | grep -q 'sim7600' || fail "no simulator (sim7600) service"
echo "$config" | grep -q 'cellbench run\|- run$' || fail "no harness running a scenario"
for scenario in $(echo "$config" | grep -o 'scenarios/[A-Za-z0-9_.-]*\.json' | sort -u); do
    [ -f "$SOURCE_DIR/$scenario" ] || fail "docker-compose.yml names $scenario, which does not exist"
done

# The Dockerfile builds on debian:bookworm with make.
dockerfile="$SOURCE_DIR/Dockerfile"
if [ ! -f "$dockerfile" ]; then
    fail "no Dockerfile"
else
    grep -q '^FROM debian:bookworm$' "$dockerfile" || fail "the Dockerfile is not FROM debian:bookworm"
    grep -q 'make deps' "$dockerfile" || fail "the Dockerfile does not install the dependencies with make deps"
    grep -q 'make -j' "$dockerfile" || fail "the Dockerfile does not build with make"
fi

if [ "$failures" -ne 0 ]; then
    echo "test_compose: $failures check(s) failed"
    exit 1
fi
echo "test_compose: docker-compose.yml and Dockerfile ok"
