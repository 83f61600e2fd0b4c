/*
 * test_fw_cloud.c - client ids and topics of both cloud profiles, exactly as
 * DESIGN.md names them, and the limits: the modem's 128-byte client id,
 * AWS's 256-byte topics, invalid names; JWT renewal timing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fw_cloud.h"

static const struct fw_cloud_profile aws = {FW_CLOUD_AWS, "bus-1", NULL, NULL, NULL};
static const struct fw_cloud_profile gcp = {FW_CLOUD_GCP, "bus-1", "cellbench", "europe-west1",
                                            "buses"};

static void expect_topic(const struct fw_cloud_profile *p, enum fw_cloud_topic t, const char *depot,
                         const char *want)
{
    char buf[300];
    size_t len;
    assert_int_equal(fw_cloud_topic(p, t, depot, buf, sizeof(buf), &len), FW_CLOUD_OK);
    assert_string_equal(buf, want);
    assert_int_equal(len, strlen(want));
}

static void test_topics(void **state)
{
    expect_topic(&aws, FW_TOPIC_CONFIG, NULL, "/bus/bus-1/configuration");
    expect_topic(&aws, FW_TOPIC_COMMANDS, NULL, "/bus/bus-1/commands");
    expect_topic(&aws, FW_TOPIC_EVENTS, NULL, "/bus/events");
    expect_topic(&aws, FW_TOPIC_DEPOT_ARRIVED, "central", "/depot/central/bus-arrived");
    expect_topic(&gcp, FW_TOPIC_CONFIG, NULL, "/devices/bus-1/config");
    expect_topic(&gcp, FW_TOPIC_COMMANDS, NULL, "/devices/bus-1/commands/#");
    expect_topic(&gcp, FW_TOPIC_EVENTS, NULL, "/devices/bus-1/events");
    expect_topic(&gcp, FW_TOPIC_DEPOT_ARRIVED, NULL, "/devices/bus-1/events/depot-arrived");
}

static void test_client_ids(void **state)
{
    char buf[200];
    size_t len;
    struct fw_cloud_profile long_gcp = gcp;
    static char name[80];
    assert_int_equal(fw_cloud_client_id(&aws, buf, sizeof(buf), &len), FW_CLOUD_OK);
    assert_string_equal(buf, "bus-1");
    assert_int_equal(fw_cloud_client_id(&gcp, buf, sizeof(buf), &len), FW_CLOUD_OK);
    assert_string_equal(buf, "projects/cellbench/locations/europe-west1/registries/buses/devices/bus-1");
    assert_int_equal(len, strlen(buf));
    assert_int_equal(fw_cloud_client_id(&gcp, buf, 20, &len), FW_CLOUD_NO_SPACE);
    memset(name, 'r', sizeof(name) - 1);
    long_gcp.registry = name; /* the full path passes the modem's 128 bytes */
    assert_int_equal(fw_cloud_client_id(&long_gcp, buf, sizeof(buf), &len), FW_CLOUD_TOO_LONG);
}

static void test_limits_and_names(void **state)
{
    char buf[400];
    size_t len;
    static char long_depot[260];
    struct fw_cloud_profile bad = aws;
    memset(long_depot, 'd', sizeof(long_depot) - 1);
    assert_int_equal(fw_cloud_topic(&aws, FW_TOPIC_DEPOT_ARRIVED, long_depot, buf, sizeof(buf), &len),
                     FW_CLOUD_TOO_LONG);
    assert_int_equal(fw_cloud_topic(&aws, FW_TOPIC_DEPOT_ARRIVED, "a/b", buf, sizeof(buf), &len),
                     FW_CLOUD_BAD_ARG);
    assert_int_equal(fw_cloud_topic(&aws, FW_TOPIC_DEPOT_ARRIVED, NULL, buf, sizeof(buf), &len),
                     FW_CLOUD_BAD_ARG);
    bad.device_id = "bus+1";
    assert_int_equal(fw_cloud_topic(&bad, FW_TOPIC_EVENTS, NULL, buf, sizeof(buf), &len), FW_CLOUD_BAD_ARG);
    bad.device_id = "";
    assert_int_equal(fw_cloud_client_id(&bad, buf, sizeof(buf), &len), FW_CLOUD_BAD_ARG);
    bad = gcp;
    bad.project = NULL;
    assert_int_equal(fw_cloud_client_id(&bad, buf, sizeof(buf), &len), FW_CLOUD_BAD_ARG);
    assert_int_equal(fw_cloud_topic(&aws, (enum fw_cloud_topic)9, NULL, buf, sizeof(buf), &len),
                     FW_CLOUD_BAD_ARG);
    assert_int_equal(fw_cloud_topic(&aws, FW_TOPIC_CONFIG, NULL, buf, 10, &len), FW_CLOUD_NO_SPACE);
}

static void test_jwt_timing(void **state)
{
    int s;
    assert_false(fw_cloud_uses_jwt(&aws));
    assert_true(fw_cloud_uses_jwt(&gcp));
    assert_false(fw_cloud_jwt_due(1000, 5000, 600));
    assert_false(fw_cloud_jwt_due(4399, 5000, 600));
    assert_true(fw_cloud_jwt_due(4400, 5000, 600));
    assert_true(fw_cloud_jwt_due(9000, 5000, 600));
    assert_true(fw_cloud_jwt_due(0, 100, 600)); /* a token shorter than the margin */
    for (s = FW_CLOUD_OK; s <= FW_CLOUD_BAD_ARG; s++)
        assert_string_not_equal(fw_cloud_status_str((enum fw_cloud_status)s), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topics),
        cmocka_unit_test(test_client_ids),
        cmocka_unit_test(test_limits_and_names),
        cmocka_unit_test(test_jwt_timing),
    };
    return cmocka_run_group_tests_name("fw_cloud", tests, NULL, NULL);
}
