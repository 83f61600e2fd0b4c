/*
 * test_fw_bus_state.c - the state report of the applied configuration:
 * topics per profile, the AWS shadow update and GCP state documents (null
 * for a route or depot no longer configured on AWS), and buffers too small.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fw_bus.h"
#include "fw_bus_state.h"

static const struct fw_cloud_profile aws = {.kind = FW_CLOUD_AWS, .device_id = "bus-7"};
static const struct fw_cloud_profile gcp = {.kind = FW_CLOUD_GCP, .device_id = "bus-7",
                                            .project = "p", .region = "r", .registry = "g"};

static void parse(const char *json, struct fw_bus_config *cfg)
{
    char reason[96];
    assert_int_equal(fw_bus_parse_config(json, strlen(json), cfg, reason, sizeof(reason)), FW_BUS_OK);
}

static void expect_report(enum fw_cloud_kind kind, const struct fw_bus_config *cfg, const char *want)
{
    char buf[FW_BUS_STATE_REPORT_MAX];
    size_t len = 0;
    assert_int_equal(fw_bus_state_report(kind, cfg, 1700000000u, buf, sizeof(buf), &len), FW_BUS_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);
}

static void test_topics(void **state)
{
    char buf[FW_BUS_STATE_TOPIC_MAX];
    size_t len = 0;
    (void)state;
    assert_int_equal(fw_bus_state_topic(&aws, buf, sizeof(buf), &len), FW_CLOUD_OK);
    assert_string_equal(buf, "$aws/things/bus-7/shadow/update");
    assert_int_equal(len, strlen(buf));
    assert_int_equal(fw_bus_state_topic(&gcp, buf, sizeof(buf), &len), FW_CLOUD_OK);
    assert_string_equal(buf, "/devices/bus-7/state");
    assert_int_equal(fw_bus_state_topic(&gcp, buf, 10, &len), FW_CLOUD_NO_SPACE);
    assert_int_equal(fw_bus_state_topic(NULL, buf, sizeof(buf), &len), FW_CLOUD_BAD_ARG);
    static const struct fw_cloud_profile bad = {.kind = FW_CLOUD_AWS, .device_id = "a/b"};
    assert_int_equal(fw_bus_state_topic(&bad, buf, sizeof(buf), &len), FW_CLOUD_BAD_ARG);
}

static void test_full_configuration(void **state)
{
    struct fw_bus_config cfg;
    (void)state;
    parse("{\"route\":\"42\",\"speed_threshold_kmh\":62.5,\"report_interval_s\":15,"
          "\"depot\":{\"name\":\"north\",\"lat\":-50.47,\"lon\":30.53,\"radius_m\":250}}", &cfg);
    expect_report(FW_CLOUD_GCP, &cfg,
                  "{\"speed_threshold_kmh\":62.5,\"report_interval_s\":15,\"route\":\"42\","
                  "\"depot\":{\"name\":\"north\",\"lat\":-50.470000,\"lon\":30.530000,\"radius_m\":250},"
                  "\"ts\":1700000000}");
    expect_report(FW_CLOUD_AWS, &cfg,
                  "{\"state\":{\"reported\":{\"speed_threshold_kmh\":62.5,\"report_interval_s\":15,"
                  "\"route\":\"42\",\"depot\":{\"name\":\"north\",\"lat\":-50.470000,\"lon\":30.530000,"
                  "\"radius_m\":250},\"ts\":1700000000}}}");
}

/* only a threshold: GCP leaves route and depot out, AWS deletes them */
static void test_threshold_only(void **state)
{
    struct fw_bus_config cfg;
    (void)state;
    parse("{\"speed_threshold_kmh\":60}", &cfg);
    expect_report(FW_CLOUD_GCP, &cfg, "{\"speed_threshold_kmh\":60,\"report_interval_s\":30,\"ts\":1700000000}");
    expect_report(FW_CLOUD_AWS, &cfg,
                  "{\"state\":{\"reported\":{\"speed_threshold_kmh\":60,\"report_interval_s\":30,"
                  "\"route\":null,\"depot\":null,\"ts\":1700000000}}}");
}

static void test_no_space(void **state)
{
    struct fw_bus_config cfg;
    char buf[40];
    size_t len = 0;
    (void)state;
    parse("{\"speed_threshold_kmh\":60,\"route\":\"42\"}", &cfg);
    assert_int_equal(fw_bus_state_report(FW_CLOUD_AWS, &cfg, 1, buf, sizeof(buf), &len), FW_BUS_NO_SPACE);
    assert_int_equal(fw_bus_state_report(FW_CLOUD_AWS, NULL, 1, buf, sizeof(buf), &len), FW_BUS_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topics),
        cmocka_unit_test(test_full_configuration),
        cmocka_unit_test(test_threshold_only),
        cmocka_unit_test(test_no_space),
    };
    return cmocka_run_group_tests_name("fw_bus_state", tests, NULL, NULL);
}
