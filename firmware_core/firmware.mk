# firmware.mk - firmware_core's part of the top Makefile (included from it).
#
#   build/lib/libfwcore.a          the core for the host (C99, no libc beyond <string.h>)
#   build/tests/fw/test_*          CMocka suites, linked with the fake port
#   build/fw-m4/libfwcore.a        the core cross-compiled for Cortex-M4
#   build/tests/fw/check_cortex_m4 fails on any heap/stdio/OS symbol; prints sizes
#   build/fuzz/fuzz_fw_*           libFuzzer targets (make fuzz)

include firmware_core/sources.mk

FW_INC := -Ifirmware_core/include
FW_HOST_CFLAGS := -std=c99 $(WARN) $(CFLAGS) -MMD -MP
FW_OBJS := $(FW_CORE_SRCS:%.c=$(BUILD)/obj/%.o)
FW_LIB := $(BUILD)/lib/libfwcore.a

FW_TEST_SUPPORT_SRCS := $(wildcard firmware_core/tests/support/*.c)
FW_TEST_SUPPORT_OBJS := $(FW_TEST_SUPPORT_SRCS:%.c=$(BUILD)/obj/%.o)
FW_TEST_SRCS := $(wildcard firmware_core/tests/test_*.c)
FW_TESTS := $(FW_TEST_SRCS:firmware_core/tests/%.c=$(BUILD)/tests/fw/%)
FW_TEST_LIBS := -lcmocka $(shell pkg-config --libs libjwt openssl 2>/dev/null || echo -ljwt -lssl -lcrypto)

# the Linux port (POSIX, OpenSSL) and the fwcore program built on it
FW_PORT_SRCS := $(wildcard firmware_core/ports/linux/*.c)
FW_PORT_OBJS := $(FW_PORT_SRCS:%.c=$(BUILD)/obj/%.o)
FW_PORT_LIB := $(BUILD)/lib/libfwport_linux.a
FW_PORT_INC := -Ifirmware_core/ports/linux -Iharness
FW_VCLOCK_OBJ := $(BUILD)/obj/harness/vclock.o
FW_PROGRAM := $(BUILD)/bin/fwcore

FW_M4_CC ?= arm-none-eabi-gcc
FW_M4_FLAGS := -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -ffreestanding \
	-ffunction-sections -fdata-sections -std=c99 -Wall -Wextra -Werror -Wshadow \
	-Wstrict-prototypes -Wno-unused-parameter
FW_M4_OBJS := $(FW_CORE_SRCS:firmware_core/%.c=$(BUILD)/fw-m4/%.o)
FW_M4_LIB := $(BUILD)/fw-m4/libfwcore.a

FW_BENCH_SRCS := $(wildcard firmware_core/ports/linux/bench/bench_*.c)
FW_BENCHES := $(FW_BENCH_SRCS:firmware_core/ports/linux/bench/%.c=$(BUILD)/bench/%)

FW_FUZZ_SRCS := $(wildcard firmware_core/fuzz/fuzz_*.c)
FW_FUZZERS := $(FW_FUZZ_SRCS:firmware_core/fuzz/%.c=$(BUILD)/fuzz/%)

all: $(FW_LIB) $(FW_PORT_LIB) $(FW_PROGRAM) $(FW_TESTS) $(FW_M4_LIB) $(BUILD)/tests/fw/check_cortex_m4 $(FW_BENCHES) \
	$(BUILD)/bench/fw_cortex_m4_size $(BUILD)/bench/fw_stack_size
FUZZERS += $(FW_FUZZERS)
BENCHES += $(FW_BENCHES) $(BUILD)/bench/fw_cortex_m4_size $(BUILD)/bench/fw_stack_size

# the core itself: C99, only its own headers (shorter stem than obj/% wins)
$(BUILD)/obj/firmware_core/src/%.o: firmware_core/src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(FW_HOST_CFLAGS) $(FW_INC) -c $< -o $@

$(BUILD)/obj/firmware_core/tests/%.o: firmware_core/tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FW_INC) $(FW_PORT_INC) -Ifirmware_core/tests/support -c $< -o $@

$(BUILD)/obj/firmware_core/ports/%.o: firmware_core/ports/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FW_INC) $(FW_PORT_INC) -c $< -o $@

$(BUILD)/obj/firmware_core/ports/linux/programs/%.o: firmware_core/ports/linux/programs/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FW_INC) $(FW_PORT_INC) -c $< -o $@

$(FW_PORT_LIB): $(FW_PORT_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(FW_PROGRAM): $(BUILD)/obj/firmware_core/ports/linux/programs/fwcore.o $(FW_PORT_LIB) $(FW_LIB) $(FW_VCLOCK_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS_NET)

$(FW_LIB): $(FW_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/obj/firmware_core/ports/linux/bench/%.o: firmware_core/ports/linux/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FW_INC) -c $< -o $@

$(BUILD)/bench/bench_fw_%: $(BUILD)/obj/firmware_core/ports/linux/bench/bench_fw_%.o $(FW_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(FW_TEST_LIBS)

# `make bench` prints the Cortex-M4 flash/RAM of each core module
$(BUILD)/bench/fw_cortex_m4_size: $(BUILD)/tests/fw/check_cortex_m4
	@mkdir -p $(dir $@)
	printf '#!/bin/sh\nexec %s --per-module\n' '$(abspath $<)' > $@ && chmod +x $@

# `make bench` prints flash and static RAM per stack configuration: one bare
# Cortex-M4 image per stack (firmware_core/ports/size/size_stack.c), linked
# with --gc-sections, its map split into core, application and libc
FW_SIZE_IMAGES := aws-modem gcp-modem full-modem full-rot aws-mcu gcp-mcu
FW_SIZE_ELFS := $(FW_SIZE_IMAGES:%=$(BUILD)/fw-size/%.elf)

$(BUILD)/fw-size/%.elf: firmware_core/ports/size/size_stack.c $(FW_M4_LIB)
	@mkdir -p $(dir $@)
	$(FW_M4_CC) $(FW_M4_FLAGS) -DFW_STACK_MCU_TLS=1 -DFW_HAVE_TLS=1 \
		-DSIZE_STACK=SIZE_$(shell echo $* | tr a-z- A-Z_) $(FW_INC) -c $< -o $(@:.elf=.o)
	$(FW_M4_CC) -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -nostartfiles \
		--specs=nano.specs -Wl,--gc-sections -Wl,-e,size_entry -Wl,--defsym=cert_region=0x000F0000 \
		-Wl,-Map=$(@:.elf=.map) $(@:.elf=.o) $(FW_M4_LIB) -o $@

$(BUILD)/bench/fw_stack_size: firmware_core/ports/size/size_stack.sh $(FW_SIZE_ELFS)
	@mkdir -p $(dir $@)
	sed 's|@FW_SIZE_DIR@|$(abspath $(BUILD)/fw-size)|' $< > $@ && chmod +x $@

$(BUILD)/tests/fw/%: $(BUILD)/obj/firmware_core/tests/%.o $(FW_TEST_SUPPORT_OBJS) $(FW_PORT_LIB) \
		$(FW_LIB) $(FW_VCLOCK_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(FW_TEST_LIBS) -lutil

# Cortex-M4 cross build of every core source; a compile error fails `make all`
$(BUILD)/fw-m4/%.o: firmware_core/%.c
	@mkdir -p $(dir $@)
	$(FW_M4_CC) $(FW_M4_FLAGS) $(FW_INC) -MMD -MP -c $< -o $@

$(FW_M4_LIB): $(FW_M4_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && arm-none-eabi-ar rcs $@ $^

$(BUILD)/tests/fw/check_cortex_m4: firmware_core/tests/check_cortex_m4.sh $(FW_M4_LIB)
	@mkdir -p $(dir $@)
	sed 's|@FW_M4_LIB@|$(abspath $(FW_M4_LIB))|' $< > $@ && chmod +x $@

$(BUILD)/fuzz/fuzz_fw_%: firmware_core/fuzz/fuzz_fw_%.c $(FW_CORE_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined $(FW_INC) -o $@ $^

-include $(shell find $(BUILD)/fw-m4 -name '*.d' 2>/dev/null)
