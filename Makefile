# cellbench — build, test, benchmark and fuzz everything from here.
#   make deps    install the Debian packages the project needs (only the missing ones)
#   make         build everything into build/ (programs in build/bin/)
#   make test    build, run every test, end with "N passed, N failed"
#   make bench   benchmarks (medians and ratios measured in one run)
#   make fuzz    run every fuzz target for FUZZ_SECONDS each
#   make run     the main job (see README.md)

BUILD ?= build
CC ?= cc
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60

DEB_PACKAGES := build-essential pkg-config openssl libssl-dev mosquitto mosquitto-clients \
	libmosquitto-dev mosquitto-dev libcmocka-dev libjansson-dev libjwt-dev socat clang \
	libclang-rt-14-dev gcc-arm-none-eabi libnewlib-arm-none-eabi docker-compose qemu-system-arm libyaml-dev

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -MMD -MP
SIM_INC := -Isim/include -Isim/src -Iharness -Isim/tests/support
LIBS_NET := $(shell pkg-config --libs libmosquitto openssl 2>/dev/null || echo -lmosquitto -lssl -lcrypto)

SIM_SRCS := $(wildcard sim/src/*.c) harness/vclock.c
SIM_OBJS := $(SIM_SRCS:%.c=$(BUILD)/obj/%.o)
SIM_LIB := $(BUILD)/lib/libsim7600.a

TEST_SUPPORT_SRCS := $(wildcard sim/tests/support/*.c)
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(BUILD)/obj/%.o)
SIM_TEST_SRCS := $(wildcard sim/tests/test_*.c)
SIM_TESTS := $(SIM_TEST_SRCS:sim/tests/%.c=$(BUILD)/tests/sim/%)

BENCH_SRCS := $(wildcard sim/bench/*.c)
BENCHES := $(BENCH_SRCS:sim/bench/%.c=$(BUILD)/bench/%)

FUZZ_SRCS := $(wildcard sim/fuzz/fuzz_*.c)
FUZZERS := $(FUZZ_SRCS:sim/fuzz/%.c=$(BUILD)/fuzz/%)

PROGRAMS := $(BUILD)/bin/sim7600

.SECONDARY:
.PHONY: all deps deps-hil test check bench fuzz run demo-sim certs clean commands
all: $(PROGRAMS) $(SIM_TESTS) $(BENCHES)

# the firmware core appends its library, tests, cross check and fuzz target
include firmware_core/firmware.mk
include harness/harness.mk
include firmware_core/crypto/crypto.mk
include firmware_core/boards/boards.mk

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "deps: installing$$missing"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# `make deps-hil`: the probe tools `cellbench hil` drives (OpenOCD, pyOCD);
# not needed by make test, which runs the HIL path with QEMU as the board
deps-hil:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="openocd python3-pyocd"

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SIM_INC) -c $< -o $@

$(SIM_LIB): $(SIM_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

PROG_SRCS := sim/main.c $(wildcard sim/prog_*.c)

$(BUILD)/bin/sim7600: $(PROG_SRCS:%.c=$(BUILD)/obj/%.o) $(SIM_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS_NET) -lutil

$(BUILD)/tests/sim/%: $(BUILD)/obj/sim/tests/%.o $(TEST_SUPPORT_OBJS) $(SIM_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS_NET) -lcmocka -lutil

$(BUILD)/bench/%: $(BUILD)/obj/sim/bench/%.o $(TEST_SUPPORT_OBJS) $(SIM_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS_NET) -lcmocka -lutil -lm

$(BUILD)/fuzz/%: sim/fuzz/%.c $(SIM_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined $(SIM_INC) -o $@ $^ $(LIBS_NET)

certs:
	@bash certs/gen.sh

test: deps
	@$(MAKE) --no-print-directory all
	@bash certs/gen.sh >/dev/null
	@BUILD=$(BUILD) bash harness/run-tests.sh

check: test

bench: deps
	@$(MAKE) --no-print-directory all
	@bash certs/gen.sh >/dev/null
	@set -e; for b in $(BENCHES); do $$b; done

fuzz: deps $(FUZZERS)
	@set -e; for f in $(FUZZERS); do \
	  name=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus-$$name; \
	  seeds=sim/fuzz/seeds/$$name; [ -d $$seeds ] || seeds=; \
	  echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(BUILD)/fuzz/corpus-$$name $$seeds 2>&1 | tail -n 12; \
	done

run: deps
	@$(MAKE) --no-print-directory all
	@bash certs/gen.sh >/dev/null
	@$(BUILD)/bin/cellbench run --verbose scenarios/demo-trip.json

# The simulator on its own against a plain broker, step by step (sim/demo.sh).
demo-sim: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) bash sim/demo.sh

commands: $(BUILD)/bin/sim7600
	@$(BUILD)/bin/sim7600 --commands

clean:
	rm -rf $(BUILD)

include harness/broker/broker.mk

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
