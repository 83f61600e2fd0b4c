# crypto.mk - the firmware core's crypto (SHA-256, HMAC-SHA256, P-256 ECDSA); included from
# the top Makefile.
#
#   build/tests/fw/test_sha256     FIPS 180-4 / RFC 4231 vectors, OpenSSL cross-checks
#   build/tests/fw/test_p256       field/scalar/point arithmetic and ECDSA vs OpenSSL, RFC 6979
#   build/tests/fw/test_p256_ct    the signer under valgrind with the key marked undefined
#   build/tests/fw/test_p256_ct_clang_os   the same with the signer built by clang -Os
#   build/tests/fw/test_ec_key     P-256 keys in PKCS#8 / SEC 1 (PEM, DER) from OpenSSL; bad input
#   build/fw-m4/crypto/*.o         the crypto sources cross-compiled for Cortex-M4

CRYPTO_DIR := firmware_core/crypto
CRYPTO_SRCS := $(wildcard $(CRYPTO_DIR)/*.c)
CRYPTO_OBJS := $(CRYPTO_SRCS:%.c=$(BUILD)/obj/%.o)
# test_p256 includes p256.c itself to reach its static arithmetic, so tests link only these
# (ec_key.o needs p256.o: only test_ec_key links the two)
CRYPTO_BASE_OBJS := $(filter-out %/p256.o %/ec_key.o,$(CRYPTO_OBJS))
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

# the constant-time check needs valgrind's headers (package valgrind, installed by make deps);
# without them that one test program is left out of the build and make says so
DEB_PACKAGES += valgrind
CRYPTO_HAVE_VALGRIND := $(shell printf '\043include <valgrind/memcheck.h>\n' | \
	$(CC) -E -x c - >/dev/null 2>&1 && echo yes)
ifneq ($(CRYPTO_HAVE_VALGRIND),yes)
$(warning crypto.mk: valgrind/memcheck.h not found, test_p256_ct (constant-time check) not built; run make deps)
CRYPTO_TESTS := $(filter-out $(BUILD)/tests/fw/test_p256_ct,$(CRYPTO_TESTS))
endif

# the same check on a clang -Os build of the signer (the build that once turned a masked
# table select into a secret-dependent address); DWARF 4 because valgrind 3.19 can't read 5
CRYPTO_CT_CLANG_OBJS := $(CRYPTO_SRCS:%.c=$(BUILD)/obj/ct-clang-os/%.o)
CRYPTO_CT_CLANG_TEST := $(BUILD)/tests/fw/test_p256_ct_clang_os
ifeq ($(CRYPTO_HAVE_VALGRIND),yes)
ifneq ($(shell command -v $(FUZZ_CC) 2>/dev/null),)
CRYPTO_TESTS += $(CRYPTO_CT_CLANG_TEST)
endif
endif

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

$(BUILD)/tests/fw/test_ec_key: $(BUILD)/obj/$(CRYPTO_DIR)/tests/test_ec_key.o $(CRYPTO_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CRYPTO_TEST_LIBS)

$(filter-out $(BUILD)/tests/fw/test_p256_ct% $(BUILD)/tests/fw/test_ec_key,$(CRYPTO_TESTS)): $(BUILD)/tests/fw/%: \
		$(BUILD)/obj/$(CRYPTO_DIR)/tests/%.o $(CRYPTO_BASE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CRYPTO_TEST_LIBS)

$(filter $(BUILD)/tests/fw/test_p256_ct,$(CRYPTO_TESTS)): $(BUILD)/tests/fw/%: \
		$(BUILD)/obj/$(CRYPTO_DIR)/tests/%.o $(CRYPTO_CT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CRYPTO_TEST_LIBS)

$(CRYPTO_CT_CLANG_OBJS): $(BUILD)/obj/ct-clang-os/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c99 $(WARN) -Os -gdwarf-4 -MMD -MP $(CRYPTO_CT_DEFS) -c $< -o $@

$(CRYPTO_CT_CLANG_TEST): $(BUILD)/obj/$(CRYPTO_DIR)/tests/test_p256_ct.o $(CRYPTO_CT_CLANG_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CRYPTO_TEST_LIBS)

# Cortex-M4 cross-compile check: a warning or error fails `make all`
$(CRYPTO_M4_OBJS): $(BUILD)/fw-m4/%.o: firmware_core/%.c
	@mkdir -p $(dir $@)
	arm-none-eabi-gcc $(CRYPTO_M4_FLAGS) -MMD -MP -c $< -o $@
