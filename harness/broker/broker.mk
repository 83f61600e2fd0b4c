# harness/broker/broker.mk — the cloud-rules Mosquitto plugin, the `cellbench`
# command (its `broker` subcommand) and their tests. Included by the top Makefile.

BROKER_DIR := harness/broker
BROKER_PLUGIN := $(BUILD)/lib/cellbench_cloud.so
BROKER_CORE_SRCS := $(BROKER_DIR)/registry.c $(BROKER_DIR)/gcp_jwt.c $(BROKER_DIR)/gcp_topics.c \
	$(BROKER_DIR)/gcp_acks.c $(BROKER_DIR)/aws_policy.c $(BROKER_DIR)/cloud_store.c $(BROKER_DIR)/shadow.c harness/vclock.c
BROKER_PLUGIN_SRCS := $(BROKER_CORE_SRCS) $(BROKER_DIR)/plugin.c $(BROKER_DIR)/plugin_gcp.c \
	$(BROKER_DIR)/plugin_aws.c
BROKER_PIC_OBJS := $(BROKER_PLUGIN_SRCS:%.c=$(BUILD)/pic/%.o)
BROKER_CORE_OBJS := $(BROKER_CORE_SRCS:%.c=$(BUILD)/obj/%.o)
BROKER_INC := -I$(BROKER_DIR) -Iharness -Iharness/cli -I$(BROKER_DIR)/tests/support
BROKER_LIBS := -ljwt -ljansson -lcrypto

CELLBENCH_SRCS := harness/cellbench.c $(wildcard harness/cli/*.c)
CELLBENCH_OBJS := $(CELLBENCH_SRCS:%.c=$(BUILD)/obj/%.o)

BROKER_TEST_SUPPORT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(BROKER_DIR)/tests/support/*.c))
BROKER_TESTS := $(patsubst $(BROKER_DIR)/tests/%.c,$(BUILD)/tests/broker/%,$(wildcard $(BROKER_DIR)/tests/test_*.c))

PROGRAMS += $(BROKER_PLUGIN) $(BUILD)/bin/cellbench
TESTS_EXTRA += $(BROKER_TESTS)
all: $(BROKER_PLUGIN) $(BUILD)/bin/cellbench $(BROKER_TESTS)

# Position-independent objects for the plugin
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC $(BROKER_INC) -c $< -o $@


$(BUILD)/obj/$(BROKER_DIR)/%.o: $(BROKER_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(BROKER_INC) -c $< -o $@

$(BUILD)/obj/harness/cli/%.o: harness/cli/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(BROKER_INC) -c $< -o $@

$(BUILD)/obj/harness/cellbench.o: harness/cellbench.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(BROKER_INC) -c $< -o $@

$(BROKER_PLUGIN): $(BROKER_PIC_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $^ $(BROKER_LIBS)

$(BUILD)/bin/cellbench: $(CELLBENCH_OBJS) $(BROKER_CORE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(BROKER_LIBS)

$(BUILD)/tests/broker/%: $(BUILD)/obj/$(BROKER_DIR)/tests/%.o $(BROKER_TEST_SUPPORT_OBJS) $(BROKER_CORE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS_NET) $(BROKER_LIBS) -lcmocka

# Tests need the plugin and the command built first.
$(BROKER_TESTS): | $(BROKER_PLUGIN) $(BUILD)/bin/cellbench

# Benchmark (make bench runs every program in BENCHES).
BROKER_BENCH := $(BUILD)/bench/bench_broker
BENCHES += $(BROKER_BENCH)
all: $(BROKER_BENCH)

$(BROKER_BENCH): $(BUILD)/obj/$(BROKER_DIR)/bench/bench_broker.o $(BROKER_TEST_SUPPORT_OBJS) $(BROKER_CORE_OBJS) | $(BROKER_PLUGIN) $(BUILD)/bin/cellbench
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS_NET) $(BROKER_LIBS)

# Header dependencies of the plugin's objects (the top Makefile reads only build/obj).
-include $(shell find $(BUILD)/pic -name '*.d' 2>/dev/null)

# Fuzz target (make fuzz runs every program in FUZZERS).
BROKER_FUZZ := $(BUILD)/fuzz/fuzz_broker_input
FUZZERS += $(BROKER_FUZZ)
$(BROKER_FUZZ): $(BROKER_DIR)/fuzz/fuzz_broker_input.c $(BROKER_DIR)/shadow.c $(BROKER_DIR)/gcp_topics.c \
		$(BROKER_DIR)/gcp_jwt.c $(BROKER_DIR)/aws_policy.c $(BROKER_DIR)/registry.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined $(BROKER_INC) -o $@ $^ $(BROKER_LIBS)
