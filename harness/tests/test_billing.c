/* Tests for billing: unit rounding, minimums, meter lists, topic classification, per-row and total sums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "billing.h"

static void test_aws_rounds_up_to_5k_messages(void **state)
{
    (void)state;
    struct billing_meter m[BILLING_MAX_METERS];
    billing_default_meters(m);
    assert_string_equal(m[0].name, "aws");
    assert_int_equal(billing_units(&m[0], 0), 1);
    assert_int_equal(billing_units(&m[0], 1), 1);
    assert_int_equal(billing_units(&m[0], 5120), 1);
    assert_int_equal(billing_units(&m[0], 5121), 2);
    assert_int_equal(billing_units(&m[0], 6 * 1024), 2);
    assert_int_equal(billing_units(&m[0], 10240), 2);
    assert_int_equal(billing_units(&m[0], 10241), 3);
}

static void test_gcp_bills_1024_byte_minimum(void **state)
{
    (void)state;
    struct billing_meter m[BILLING_MAX_METERS];
    billing_default_meters(m);
    assert_string_equal(m[1].name, "gcp");
    assert_int_equal(billing_units(&m[1], 0), 1024);
    assert_int_equal(billing_units(&m[1], 10), 1024);
    assert_int_equal(billing_units(&m[1], 1024), 1024);
    assert_int_equal(billing_units(&m[1], 1025), 1025);
    assert_int_equal(billing_units(&m[1], 70000), 70000);
}

static void test_meter_list_changes_and_adds(void **state)
{
    (void)state;
    struct billing_meter m[BILLING_MAX_METERS];
    size_t n = billing_default_meters(m);
    char why[200];
    assert_int_equal(billing_parse_meters("aws=1024,kb=1000/4000", m, &n, why, sizeof why), 0);
    assert_int_equal(n, 3);
    assert_int_equal(m[0].unit_bytes, 1024);
    assert_int_equal(billing_units(&m[0], 1025), 2);
    assert_string_equal(m[2].name, "kb");
    assert_int_equal(billing_units(&m[2], 10), 4);
    assert_int_equal(billing_units(&m[2], 4001), 5);
    assert_int_equal(billing_parse_meters("aws=0", m, &n, why, sizeof why), -1);
    assert_non_null(strstr(why, "aws=0"));
    assert_int_equal(billing_parse_meters("aws", m, &n, why, sizeof why), -1);
    assert_int_equal(billing_parse_meters("aws=12x", m, &n, why, sizeof why), -1);
    assert_int_equal(billing_parse_meters("aws=-5", m, &n, why, sizeof why), -1);
    assert_int_equal(billing_parse_meters("a=1,b=1,c=1", m, &n, why, sizeof why), -1);
    assert_int_equal(n, 3); /* a refused list changes nothing */
    assert_int_equal(m[0].unit_bytes, 1024);
}

static void test_classify_topics(void **state)
{
    (void)state;
    char dev[64];
    assert_int_equal(billing_classify("/bus/events", "bus-7", dev, sizeof dev), BILLING_UP);
    assert_string_equal(dev, "bus-7");
    assert_int_equal(billing_classify("/bus/bus-1/commands", NULL, dev, sizeof dev), BILLING_DOWN);
    assert_string_equal(dev, "bus-1");
    assert_int_equal(billing_classify("/bus/bus-2/configuration", "", dev, sizeof dev), BILLING_DOWN);
    assert_string_equal(dev, "bus-2");
    assert_int_equal(billing_classify("$aws/events/presence/connected/bus-3", NULL, dev, sizeof dev), BILLING_SERVICE);
    assert_string_equal(dev, "bus-3");
    assert_int_equal(billing_classify("$aws/things/bus-4/shadow/update", NULL, dev, sizeof dev), BILLING_UP);
    assert_string_equal(dev, "bus-4");
    assert_int_equal(billing_classify("$aws/things/bus-4/shadow/update/delta", NULL, dev, sizeof dev), BILLING_DOWN);
    assert_int_equal(billing_classify("/devices/bus-5/events/alerts", NULL, dev, sizeof dev), BILLING_UP);
    assert_string_equal(dev, "bus-5");
    assert_int_equal(billing_classify("/devices/bus-5/config", NULL, dev, sizeof dev), BILLING_DOWN);
    assert_int_equal(billing_classify("pubsub/telemetry", NULL, dev, sizeof dev), BILLING_SERVICE);
    assert_string_equal(dev, "");
    assert_string_equal(billing_direction_str(BILLING_DOWN), "down");
}

static void test_rows_and_totals(void **state)
{
    (void)state;
    struct billing_meter m[BILLING_MAX_METERS];
    size_t n = billing_default_meters(m);
    struct billing_table t;
    billing_init(&t, m, n);
    assert_int_equal(billing_add(&t, "bus-1", "/bus/events", BILLING_UP, 100), 0);
    assert_int_equal(billing_add(&t, "bus-1", "/bus/events", BILLING_UP, 6000), 0);
    assert_int_equal(billing_add(&t, "bus-2", "/bus/events", BILLING_UP, 2000), 0);
    assert_int_equal(billing_add(&t, "bus-1", "/bus/bus-1/commands", BILLING_DOWN, 30), 0);
    assert_int_equal(billing_add(&t, "bus-1", "$aws/events/presence/connected/bus-1", BILLING_SERVICE, 300), 0);
    assert_int_equal(t.count, 4);
    assert_int_equal(t.rows[0].messages, 2);
    assert_int_equal(t.rows[0].bytes, 6100);
    assert_int_equal(t.rows[0].units[0], 1 + 2);
    assert_int_equal(t.rows[0].units[1], 1024 + 6000);
    assert_int_equal(t.rows[3].units[0], 0); /* service traffic is not billed */
    struct billing_row up, down, service;
    billing_total(&t, BILLING_UP, &up);
    billing_total(&t, BILLING_DOWN, &down);
    billing_total(&t, BILLING_SERVICE, &service);
    assert_int_equal(up.messages, 3);
    assert_int_equal(up.bytes, 8100);
    assert_int_equal(up.units[0], 4);
    assert_int_equal(up.units[1], 1024 + 6000 + 2000);
    assert_int_equal(down.messages, 1);
    assert_int_equal(down.units[1], 1024);
    assert_int_equal(service.messages, 1);
    assert_int_equal(service.units[0], 0);
    billing_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_rounds_up_to_5k_messages),
        cmocka_unit_test(test_gcp_bills_1024_byte_minimum),
        cmocka_unit_test(test_meter_list_changes_and_adds),
        cmocka_unit_test(test_classify_topics),
        cmocka_unit_test(test_rows_and_totals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
