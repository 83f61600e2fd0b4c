# crypto.mk - the firmware core's crypto (SHA-256, HMAC-SHA256, P-256 ECDSA); included from
# the top Makefile.
#
#   build/tests/fw/test_sha256     FIPS 180-4 / RFC 4231 vectors, OpenSSL cross-checks
#   build/tests/fw/test_p256       field/scalar/point arithmetic and ECDSA vs OpenSSL, RFC 6979
#   build/tests/fw/test_p256_ct    the signer under valgrind with the key marked undefined
#   build/fw-m4/crypto/*.o         the crypto sources cross-compiled for Cortex-M4

CRYPTO_DIR := firmware_core/crypto
CRYPTO_SRCS := $(wildcard $(CRYPTO_DIR)/*.c)
CRYPTO_OBJS := $(CRYPTO_SRCS:%.c=$(BUILD)/obj/%.o)
# test_p256 includes p256.c itself to reach its static arithmetic, so tests link only these
CRYPTO_BASE_OBJS := $(filter-out %/p256.o,$(CRYPTO_OBJS))
CRYPTO_TEST_SRCS := $(wildcard $(CRYPTO_DIR)/tests/test_*.c)
CRYPTO_TESTS := $(CRYPTO_TEST_SRCS:$(CRYPTO_DIR)/tests/%.c=$(BUILD)/tests/fw/%)
CRYPTO_TEST_LIBS := -lcmocka $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)
CRYPTO_HOST_CFLAGS := -std=c99 $(WARN) $(CFLAGS) -MMD -MP

CRYPTO_M4_FLAGS := -mcpu=cortex-m4 -mthumb -Os -ffreestanding -std=c99 -Wall -Wextra -Werror \
	-Wshadow -Wstrict-prototypes
CRYPTO_M4_OBJS := $(CRYPTO_SRCS:firmware_core/%.c=$(BUILD)/fw-m4/%.o)

# the signer built for the constant-time check: declassification points tell valgrind
# which one-bit results (rejection of a candidate nonce, the public r and s) are public
CRYPTO_CT_OBJS := $(CRYPTO_SRCS:%.c=$(BUILD)/obj/ct/%.o)
CRYPTO_CT_DEFS := -include valgrind/memcheck.h \
	'-DP256_DECLASSIFY(p,n)=((void)VALGRIND_MAKE_MEM_DEFINED((p),(n)))'

CRYPTO_ALL := $(CRYPTO_TESTS) $(CRYPTO_M4_OBJS)
all: $(CRYPTO_ALL)

$(CRYPTO_OBJS): $(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CRYPTO_HOST_CFLAGS) -c $< -o $@

$(CRYPTO_CT_OBJS): $(BUILD)/obj/ct/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CRYPTO_HOST_CFLAGS) $(CRYPTO_CT_DEFS) -c $< -o $@

$(CRYPTO_TEST_SRCS:%.c=$(BUILD)/obj/%.o): $(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -I$(CRYPTO_DIR) -c $< -o $@

$(filter-out $(BUILD)/tests/fw/test_p256_ct,$(CRYPTO_TESTS)): $(BUILD)/tests/fw/%: \
		$(BUILD)/obj/$(CRYPTO_DIR)/tests/%.o $(CRYPTO_BASE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CRYPTO_TEST_LIBS)

$(filter $(BUILD)/tests/fw/test_p256_ct,$(CRYPTO_TESTS)): $(BUILD)/tests/fw/%: \
		$(BUILD)/obj/$(CRYPTO_DIR)/tests/%.o $(CRYPTO_CT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CRYPTO_TEST_LIBS)

# Cortex-M4 cross-compile check: a warning or error fails `make all`
$(CRYPTO_M4_OBJS): $(BUILD)/fw-m4/%.o: firmware_core/%.c
	@mkdir -p $(dir $@)
	arm-none-eabi-gcc $(CRYPTO_M4_FLAGS) -MMD -MP -c $< -o $@
