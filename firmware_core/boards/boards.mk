# boards.mk - firmware images for boards; included from the top Makefile.
#
#   make firmware-qemu   build/qemu/cellbench-bus.elf (+ .map): the core
#                        (build/fw-m4/libfwcore.a) with the mps2-an386 board port,
#                        for qemu-system-arm -M mps2-an386
#   build/tests/fw/test_qemu_boot   boots that image in QEMU against build/bin/sim7600
#                        (bring-up alone, without a SIM, ES256 signature, and the aws
#                        and gcp bus applications against build/bin/cellbench broker)
#   build/tests/fw/test_run_qemu    cellbench run --target qemu on smoke-aws / smoke-gcp
#
# Both join `all` only when arm-none-eabi-gcc is installed.

QEMU_BOARD_DIR := firmware_core/boards/mps2-an386
BOARD_COMMON_DIR := firmware_core/boards/common
QEMU_BOARD_SRCS := $(wildcard $(QEMU_BOARD_DIR)/*.c) $(wildcard $(BOARD_COMMON_DIR)/*.c)
QEMU_BOARD_OBJS := $(QEMU_BOARD_SRCS:firmware_core/boards/%.c=$(BUILD)/qemu/obj/%.o)
# the signer and key parser (firmware_core/crypto) built with the image's hard-float flags
BOARD_CRYPTO_SRCS := $(wildcard firmware_core/crypto/*.c)
BOARD_CRYPTO_OBJS := $(BOARD_CRYPTO_SRCS:firmware_core/crypto/%.c=$(BUILD)/boards-crypto/%.o)
QEMU_BOARD_OBJS += $(BOARD_CRYPTO_OBJS)
QEMU_LDSCRIPT := $(QEMU_BOARD_DIR)/mps2_an386.ld
QEMU_ELF := $(BUILD)/qemu/cellbench-bus.elf
QEMU_TEST := $(BUILD)/tests/fw/test_qemu_boot
QEMU_RUN_TEST := $(BUILD)/tests/fw/test_run_qemu

.PHONY: firmware-qemu
firmware-qemu: $(QEMU_ELF)

ifneq ($(shell command -v $(FW_M4_CC) 2>/dev/null),)
all: $(QEMU_ELF) $(QEMU_TEST) $(QEMU_RUN_TEST)
endif

$(BUILD)/qemu/obj/%.o: firmware_core/boards/%.c
	@mkdir -p $(dir $@)
	$(FW_M4_CC) $(FW_M4_FLAGS) -g $(FW_INC) -Ifirmware_core/crypto -I$(QEMU_BOARD_DIR) -I$(BOARD_COMMON_DIR) \
		-MMD -MP -c $< -o $@

$(BUILD)/boards-crypto/%.o: firmware_core/crypto/%.c
	@mkdir -p $(dir $@)
	$(FW_M4_CC) $(FW_M4_FLAGS) -g -MMD -MP -c $< -o $@

$(QEMU_ELF): $(QEMU_BOARD_OBJS) $(FW_M4_LIB) $(QEMU_LDSCRIPT)
	@mkdir -p $(dir $@)
	$(FW_M4_CC) $(FW_M4_FLAGS) -nostartfiles --specs=nano.specs -T $(QEMU_LDSCRIPT) \
		-Wl,--gc-sections -Wl,-Map=$(@:.elf=.map) -o $@ $(QEMU_BOARD_OBJS) $(FW_M4_LIB) -lc -lgcc

$(QEMU_TEST): firmware_core/boards/tests/test_qemu_boot.sh $(QEMU_ELF) $(BUILD)/bin/sim7600 \
		$(BUILD)/bin/cellbench
	@mkdir -p $(dir $@)
	sed -e 's|@QEMU_ELF@|$(abspath $(QEMU_ELF))|' -e 's|@SIM7600@|$(abspath $(BUILD)/bin/sim7600)|' \
		-e 's|@CELLBENCH@|$(abspath $(BUILD)/bin/cellbench)|' -e 's|@CERTS@|$(abspath certs/out)|' \
		$< > $@ && chmod +x $@

-include $(shell find $(BUILD)/qemu $(BUILD)/boards-crypto -name '*.d' 2>/dev/null)

$(QEMU_RUN_TEST): firmware_core/boards/tests/test_run_qemu.sh $(QEMU_ELF) $(BUILD)/bin/sim7600 \
		$(BUILD)/bin/cellbench
	@mkdir -p $(dir $@)
	sed -e 's|@CELLBENCH@|$(abspath $(BUILD)/bin/cellbench)|' -e 's|@SCENARIOS@|$(abspath scenarios)|' \
		$< > $@ && chmod +x $@

# ---- nRF52840 (the bus unit's MCU) ----
#   make firmware-nrf52840 (or make firmware)   build/nrf52840/cellbench-bus.elf, .hex, .map
#   build/tests/fw/check_nrf52840   links, vector table at 0, fits flash and RAM, no heap/stdio
#   make size                       flash/RAM of both images (nRF52840 against 96 KB / 32 KB)
# One image runs aws-modem-tls and gcp-modem-tls (chosen by the go line). The MCU-TLS
# stacks need a TLS library the target does not have: STACK=aws-mcu-tls or gcp-mcu-tls
# stops the build with that message.
NRF_BOARD_DIR := firmware_core/boards/nrf52840
NRF_BOARD_SRCS := $(wildcard $(NRF_BOARD_DIR)/*.c) $(wildcard $(BOARD_COMMON_DIR)/*.c)
NRF_BOARD_OBJS := $(NRF_BOARD_SRCS:firmware_core/boards/%.c=$(BUILD)/nrf52840/obj/%.o) $(BOARD_CRYPTO_OBJS)
NRF_LDSCRIPT := $(NRF_BOARD_DIR)/nrf52840.ld
NRF_ELF := $(BUILD)/nrf52840/cellbench-bus.elf
NRF_HEX := $(NRF_ELF:.elf=.hex)
NRF_CHECK := $(BUILD)/tests/fw/check_nrf52840

.PHONY: firmware firmware-nrf52840
firmware: firmware-nrf52840
firmware-nrf52840:
	@case "$(STACK)" in *-mcu-tls) \
	  echo "firmware-nrf52840: $(STACK) needs a TLS library on the MCU, which this target does not have;" \
	       "build aws-modem-tls or gcp-modem-tls (one image runs both)" >&2; exit 1;; esac
	@$(MAKE) --no-print-directory $(NRF_ELF) $(NRF_HEX)

NRF_HIL_TEST := $(BUILD)/tests/fw/test_hil

ifneq ($(shell command -v $(FW_M4_CC) 2>/dev/null),)
all: $(NRF_ELF) $(NRF_HEX) $(NRF_CHECK) $(NRF_HIL_TEST)
endif

$(NRF_HIL_TEST): firmware_core/boards/tests/test_hil.sh $(BUILD)/bin/cellbench $(QEMU_ELF) $(BUILD)/bin/sim7600
	@mkdir -p $(dir $@)
	sed -e 's|@CELLBENCH@|$(abspath $(BUILD)/bin/cellbench)|' -e 's|@SCENARIOS@|$(abspath scenarios)|' \
		-e 's|@CERTS@|$(abspath certs/out)|' -e 's|@QEMU_ELF@|$(abspath $(QEMU_ELF))|' $< > $@ && chmod +x $@

$(BUILD)/nrf52840/obj/%.o: firmware_core/boards/%.c
	@mkdir -p $(dir $@)
	$(FW_M4_CC) $(FW_M4_FLAGS) -g $(FW_INC) -Ifirmware_core/crypto -I$(NRF_BOARD_DIR) -I$(BOARD_COMMON_DIR) \
		-MMD -MP -c $< -o $@

$(NRF_ELF): $(NRF_BOARD_OBJS) $(FW_M4_LIB) $(NRF_LDSCRIPT)
	@mkdir -p $(dir $@)
	$(FW_M4_CC) $(FW_M4_FLAGS) -nostartfiles --specs=nano.specs -T $(NRF_LDSCRIPT) \
		-Wl,--gc-sections -Wl,-Map=$(@:.elf=.map) -o $@ $(NRF_BOARD_OBJS) $(FW_M4_LIB) -lc -lgcc

$(NRF_HEX): $(NRF_ELF)
	arm-none-eabi-objcopy -O ihex $< $@

$(NRF_CHECK): $(NRF_BOARD_DIR)/check_nrf52840.sh $(NRF_ELF)
	@mkdir -p $(dir $@)
	sed -e 's|@NRF_ELF@|$(abspath $(NRF_ELF))|' -e 's|@CRYPTO_OBJ_DIR@|$(abspath $(BUILD)/boards-crypto)|' \
		$< > $@ && chmod +x $@

-include $(shell find $(BUILD)/nrf52840 -name '*.d' 2>/dev/null)

# `make bench`: the boards' figures: nRF52840 flash/RAM and signer size, and under QEMU
# the ES256 instruction count (-icount shift=0) and the painted-stack high-water marks
BOARDS_BENCH := $(BUILD)/bench/fw_boards
ifneq ($(shell command -v $(FW_M4_CC) 2>/dev/null),)
all: $(BOARDS_BENCH)
BENCHES += $(BOARDS_BENCH)
endif

$(BOARDS_BENCH): $(NRF_CHECK) $(QEMU_TEST) firmware_core/boards/boards.mk
	@mkdir -p $(dir $@)
	printf '#!/bin/sh\n%s | grep -E "^nrf52840 image|^signer|target"\nQEMU_BOOT_CASES="es256 aws gcp" %s | grep -E "^image|instructions|^(ready|es256|aws|gcp): stack high-water"\n' \
		'$(abspath $(NRF_CHECK))' '$(abspath $(QEMU_TEST))' > $@ && chmod +x $@

# `make size`: flash and RAM of the board images (the nRF52840's against its targets)
.PHONY: size
size: $(NRF_CHECK) $(QEMU_ELF)
	@$(NRF_CHECK) | grep -E '^nrf52840 image|^signer|target'
	@arm-none-eabi-size $(QEMU_ELF) $(NRF_ELF)

# host test of the boards' portable parts: the nRF52840 NVMC store over a simulated flash,
# the command-line words (build/tests/fw/test_boards_host)
BOARDS_HOST_TEST := $(BUILD)/tests/fw/test_boards_host
all: $(BOARDS_HOST_TEST)

$(BOARDS_HOST_TEST): firmware_core/boards/tests/test_boards_host.c $(NRF_BOARD_DIR)/nvmc_store.c \
		$(BOARD_COMMON_DIR)/bus_args.c $(wildcard $(NRF_BOARD_DIR)/*.h $(BOARD_COMMON_DIR)/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DNVMC_STORE_HOST_TEST $(FW_INC) -I$(NRF_BOARD_DIR) -I$(BOARD_COMMON_DIR) -o $@ \
		firmware_core/boards/tests/test_boards_host.c $(NRF_BOARD_DIR)/nvmc_store.c $(BOARD_COMMON_DIR)/bus_args.c \
		-lcmocka
