# harness.mk — the harness foundation: scenario loader, GPS routes and JSON
# predicates (build/lib/libharness.a), the `cellbench-scenario` program
# (validate / list before the main `cellbench` command absorbs it), the
# trace generator, and the CMocka tests under build/tests/harness/.
# Included from the top Makefile after its `all:` rule.

HARNESS_LIB_SRCS := harness/readfile.c harness/scenario.c harness/route.c harness/expect.c harness/billing.c harness/report.c \
	harness/pubsub.c harness/acks.c
HARNESS_LIB_OBJS := $(HARNESS_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
HARNESS_LIB := $(BUILD)/lib/libharness.a
HARNESS_LDLIBS := -ljansson -lm

HARNESS_TEST_SRCS := $(wildcard harness/tests/test_*.c)
HARNESS_TESTS := $(HARNESS_TEST_SRCS:harness/tests/%.c=$(BUILD)/tests/harness/%)

# `cellbench run`: process supervision and the cloud application, linked
# into the cellbench program (its rule is in harness/broker/broker.mk).
RUN_SRCS := harness/orchestrate.c harness/cloud_app.c
RUN_OBJS := $(RUN_SRCS:%.c=$(BUILD)/obj/%.o)
$(BUILD)/bin/cellbench: $(RUN_OBJS) $(HARNESS_LIB)
$(BUILD)/bin/cellbench: BROKER_LIBS += -lmosquitto -ljansson -lm

# test_run drives the whole bench through the cellbench program.
$(BUILD)/tests/harness/test_run: | $(BUILD)/bin/cellbench $(BUILD)/bin/sim7600 $(BUILD)/bin/fwcore

HARNESS_PROGRAMS := $(BUILD)/bin/cellbench-scenario $(BUILD)/bin/gen-city-loop

all: $(HARNESS_LIB) $(HARNESS_PROGRAMS) $(HARNESS_TESTS)

# Tests find their data files (harness/tests/data, scenarios/) from the source tree.
$(BUILD)/obj/harness/tests/%.o: ALL_CFLAGS += -DCELLBENCH_SOURCE_DIR='"$(CURDIR)"' \
	-DCELLBENCH_BUILD_DIR='"$(abspath $(BUILD))"'

$(HARNESS_LIB): $(HARNESS_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/cellbench-scenario: $(BUILD)/obj/harness/scenario_main.o $(HARNESS_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(HARNESS_LDLIBS)

$(BUILD)/bin/gen-city-loop: $(BUILD)/obj/scenarios/traces/gen_city_loop.o $(HARNESS_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(HARNESS_LDLIBS)

# test_scenario also runs the cellbench-scenario program.
$(BUILD)/tests/harness/test_scenario: | $(BUILD)/bin/cellbench-scenario

$(BUILD)/tests/harness/%: $(BUILD)/obj/harness/tests/%.o $(HARNESS_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(HARNESS_LDLIBS) -lcmocka

# Fuzzing the scenario loader (`make fuzz` runs every target in FUZZERS;
# seeds: the shipped scenarios and the test data).
HARNESS_FUZZER := $(BUILD)/fuzz/fuzz_scenario
FUZZERS += $(HARNESS_FUZZER)

$(HARNESS_FUZZER): harness/tests/fuzz_scenario.c $(HARNESS_LIB_SRCS)
	@mkdir -p $(dir $@) $(BUILD)/fuzz/corpus-fuzz_scenario
	cp -n scenarios/*.json harness/tests/data/*.json $(BUILD)/fuzz/corpus-fuzz_scenario/ 2>/dev/null || true
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Iharness \
	  -DCELLBENCH_SOURCE_DIR='"$(CURDIR)"' -o $@ $^ -ljansson -lm

# `make scenarios`: every shipped scenario through `cellbench run` at its own
# rate, JUnit XML in build/scenarios.xml. Entries the runner does not execute
# yet are reported as NOT RUN and fail the run.
.PHONY: scenarios
scenarios: $(BUILD)/bin/cellbench $(BUILD)/bin/sim7600 $(BUILD)/bin/fwcore $(BUILD)/lib/cellbench_cloud.so
	$(BUILD)/bin/cellbench run --junit $(BUILD)/scenarios.xml scenarios/*.json

# `make test` runs every shipped scenario too: build/tests/scenarios/<name>
# is one test case that runs `cellbench run` on scenarios/<name>.json.
SHIPPED_SCENARIOS := $(wildcard scenarios/*.json)
SCENARIO_TESTS := $(SHIPPED_SCENARIOS:scenarios/%.json=$(BUILD)/tests/scenarios/%)

all: $(SCENARIO_TESTS)

$(BUILD)/tests/scenarios/%: harness/tests/run_scenario.sh scenarios/%.json
	@mkdir -p $(dir $@)
	sed -e 's|@CELLBENCH@|$(abspath $(BUILD))/bin/cellbench|' \
	    -e 's|@SCENARIO@|$(CURDIR)/scenarios/$*.json|' $< > $@ && chmod +x $@

# test_report also runs `cellbench run --report` on scenarios/smoke-aws.json.
$(BUILD)/tests/harness/test_report: | $(BUILD)/bin/cellbench $(BUILD)/bin/sim7600 $(BUILD)/bin/fwcore

# test_compose: docker-compose.yml validated with `docker-compose config` and
# every program it names checked against this build (the script with the
# source and build directories filled in).
HARNESS_COMPOSE_TEST := $(BUILD)/tests/harness/test_compose
all: $(HARNESS_COMPOSE_TEST)
$(HARNESS_COMPOSE_TEST): harness/tests/test_compose.sh
	@mkdir -p $(dir $@)
	sed -e 's|@SOURCE_DIR@|$(CURDIR)|' -e 's|@BUILD_DIR@|$(abspath $(BUILD))|' $< > $@ && chmod +x $@

# test_ci_workflow: the sample GitHub Actions workflow is valid YAML and
# every command it runs exists (build/tools/check-workflow, C with libyaml).
CHECK_WORKFLOW := $(BUILD)/tools/check-workflow
HARNESS_CI_TEST := $(BUILD)/tests/harness/test_ci_workflow
all: $(CHECK_WORKFLOW) $(HARNESS_CI_TEST)
$(CHECK_WORKFLOW): $(BUILD)/obj/harness/tests/check_workflow.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ -lyaml
$(HARNESS_CI_TEST): harness/tests/test_ci_workflow.sh | $(CHECK_WORKFLOW)
	@mkdir -p $(dir $@)
	sed -e 's|@SOURCE_DIR@|$(CURDIR)|' -e 's|@BUILD_DIR@|$(abspath $(BUILD))|' $< > $@ && chmod +x $@

# bench_run: time compression of `cellbench run` (trip time / wall time per
# rate, and a rate-1 window compared verdict by verdict). `make bench` runs it.
HARNESS_RUN_BENCH := $(BUILD)/bench/bench_run
BENCHES += $(HARNESS_RUN_BENCH)
all: $(HARNESS_RUN_BENCH)
$(BUILD)/obj/harness/bench/%.o: ALL_CFLAGS += -DCELLBENCH_SOURCE_DIR='"$(CURDIR)"' \
	-DCELLBENCH_BUILD_DIR='"$(abspath $(BUILD))"'
$(HARNESS_RUN_BENCH): $(BUILD)/obj/harness/bench/bench_run.o $(HARNESS_LIB) | $(BUILD)/bin/cellbench \
		$(BUILD)/bin/sim7600 $(BUILD)/bin/fwcore $(BUILD)/lib/cellbench_cloud.so
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(HARNESS_LDLIBS)
