/*
 * Unit tests of acks: which configuration a reported state reports, gcp
 * config versions from the broker's replies, the acknowledgements found in
 * a cloud log (gcp config PUBACK notices, gcp states, aws shadow documents)
 * and their verdicts through scenario_check_ack, "latest" included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acks.h"

static json_t *J(const char *text)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    return j;
}

static void test_reported_matches(void **state)
{
    char why[200];
    json_t *cfg = J("{\"speed_threshold_kmh\":60,\"depot\":{\"name\":\"north\",\"lat\":50.47,\"lon\":30.53},"
                    "\"ca\":\"-----BEGIN...\"}");
    json_t *same = J("{\"speed_threshold_kmh\":60.0,\"report_interval_s\":30,"
                     "\"depot\":{\"name\":\"north\",\"lat\":50.470000,\"lon\":30.530000,\"radius_m\":100}}");
    json_t *other = J("{\"speed_threshold_kmh\":90,\"depot\":{\"name\":\"north\",\"lat\":50.47,\"lon\":30.53}}");
    json_t *other_depot = J("{\"speed_threshold_kmh\":60,\"depot\":{\"name\":\"south\"}}");
    json_t *unrelated = J("{\"firmware\":\"1.2\"}");
    assert_true(acks_reported_matches(cfg, same, why, sizeof why)); /* "ca" not reported: not compared */
    assert_false(acks_reported_matches(cfg, other, why, sizeof why));
    assert_string_equal(why, "speed_threshold_kmh: sent 60, reported 90");
    assert_false(acks_reported_matches(cfg, other_depot, why, sizeof why));
    assert_string_equal(why, "depot.name: sent \"north\", reported \"south\"");
    assert_false(acks_reported_matches(cfg, unrelated, why, sizeof why));
    assert_string_equal(why, "nothing in common with the configuration");
    assert_false(acks_reported_matches(cfg, NULL, why, sizeof why));
    json_t *arr = J("[1]");
    assert_false(acks_reported_matches(cfg, arr, NULL, 0));
    json_decref(arr);
    json_decref(cfg);
    json_decref(same);
    json_decref(other);
    json_decref(other_depot);
    json_decref(unrelated);
}

/* A small cloud log: its JSON values are kept alive by the test. */
struct log {
    struct expect_record rec[16];
    json_t *json[16];
    size_t n;
};

static void add(struct log *l, double t, const char *topic, const char *payload)
{
    l->json[l->n] = J(payload);
    l->rec[l->n] = (struct expect_record){ t, topic, NULL, NULL, l->json[l->n] };
    l->n++;
}

static void log_free(struct log *l)
{
    for (size_t i = 0; i < l->n; i++)
        json_decref(l->json[i]);
}

static void test_gcp_versions_from_replies(void **state)
{
    json_t *c1 = J("{\"speed_threshold_kmh\":90}"), *c2 = J("{\"speed_threshold_kmh\":60}"),
           *c3 = J("{\"speed_threshold_kmh\":50}");
    struct ack_config configs[] = { { "bus-1", 0, c1, 0 }, { "bus-2", 0, c1, 0 }, { "bus-1", 240, c2, 0 },
                                    { "bus-1", 241, c3, 0 } };
    struct log l = { .n = 0 };
    add(&l, 0.1, "cloud/gcp/reply/devices/bus-1/config/set", "{\"version\":2}");
    add(&l, 0.1, "cloud/gcp/reply/devices/bus-2/config/set", "{\"version\":2}");
    add(&l, 240.1, "cloud/gcp/reply/devices/bus-1/config/set", "{\"version\":3}");
    add(&l, 241.0, "cloud/gcp/reply/devices/bus-1/config/set",
        "{\"error\":{\"code\":\"RESOURCE_EXHAUSTED\",\"message\":\"x\"}}");
    add(&l, 242.0, "cloud/gcp/reply/devices/bus-1/config/get", "{\"version\":3}");
    acks_gcp_versions(configs, 4, l.rec, l.n);
    assert_int_equal(configs[0].cloud_version, 2);
    assert_int_equal(configs[1].cloud_version, 2);
    assert_int_equal(configs[2].cloud_version, 3);
    assert_int_equal(configs[3].cloud_version, 0); /* refused */
    assert_int_equal(acks_latest(configs, 4, "bus-1", 0), 1);
    assert_int_equal(acks_latest(configs, 4, "bus-1", 239.9), 1);
    assert_int_equal(acks_latest(configs, 4, "bus-1", 240), 2);
    assert_int_equal(acks_latest(configs, 4, "bus-1", 900), 3);
    assert_int_equal(acks_latest(configs, 4, "bus-9", 900), 0);
    log_free(&l);
    json_decref(c1);
    json_decref(c2);
    json_decref(c3);
}

static const char *const gcp_scenario =
    "{\"name\":\"acks\",\"profile\":\"gcp\",\"stack\":\"gcp-modem-tls\",\"duration\":900,"
    " \"devices\":[{\"id\":\"bus-1\"}],"
    " \"route\":{\"waypoints\":[{\"lat\":50.45,\"lon\":30.52,\"speed_kmh\":40},{\"lat\":50.46,\"lon\":30.52}]},"
    " \"timeline\":["
    "  {\"at\":0,\"expect_ack\":{\"what\":\"config\",\"version\":1,\"within\":90}},"
    "  {\"at\":280,\"expect_ack\":{\"what\":\"config\",\"version\":\"latest\",\"within\":120}},"
    "  {\"at\":280,\"expect_ack\":{\"what\":\"state\",\"version\":2,\"within\":120}},"
    "  {\"at\":0,\"expect_ack\":{\"what\":\"state\",\"version\":\"latest\",\"within\":60}},"
    "  {\"at\":280,\"expect_ack\":{\"what\":\"config\",\"version\":2,\"within\":10}}]}";

static void load(const char *text, struct scenario *s)
{
    struct scenario_error err;
    int rc = scenario_load_text(text, strlen(text), "acks.json", ".", s, &err);
    if (rc != 0)
        fail_msg("%s:%d: %s: %s", err.file, err.line, err.path, err.reason);
}

/* The action of timeline entry i (the loader may sort them). */
static const struct scenario_action *entry(const struct scenario *s, size_t i)
{
    for (size_t k = 0; k < s->action_count; k++)
        if (s->actions[k].index == i)
            return &s->actions[k];
    fail_msg("no timeline entry %zu", i);
    return NULL;
}

static bool verdict(const struct scenario *s, size_t i, struct ack_config *configs, size_t n,
                    const struct log *l, char *why, size_t cap)
{
    const struct scenario_action *a = entry(s, i);
    struct scenario_ack_event *events = NULL;
    acks_gcp_versions(configs, n, l->rec, l->n);
    size_t count = acks_collect(s->profile, configs, n, l->rec, l->n, &events);
    bool ok = scenario_check_ack(s, a, events, count, acks_latest(configs, n, "bus-1", a->at_s), why, cap);
    free(events);
    return ok;
}

static void test_gcp_acks_in_a_log(void **state)
{
    struct scenario s;
    char why[300];
    load(gcp_scenario, &s);
    json_t *c1 = J("{\"speed_threshold_kmh\":90}"), *c2 = J("{\"speed_threshold_kmh\":60}");
    struct ack_config configs[] = { { "bus-1", 0, c1, 0 }, { "bus-1", 240, c2, 0 } };
    struct log l = { .n = 0 };
    add(&l, 0.1, "cloud/gcp/reply/devices/bus-1/config/set", "{\"version\":2}");
    add(&l, 1.0, "cloud/gcp/notify/devices/bus-1/config-ack", "{\"version\":1,\"deviceAckTimeMs\":1}"); /* empty v1 */
    add(&l, 2.0, "cloud/gcp/notify/devices/bus-1/config-ack", "{\"version\":2,\"deviceAckTimeMs\":2}");
    add(&l, 2.5, "/devices/bus-1/state", "{\"speed_threshold_kmh\":90,\"report_interval_s\":30,\"ts\":5}");
    add(&l, 240.1, "cloud/gcp/reply/devices/bus-1/config/set", "{\"version\":3}");
    add(&l, 300.0, "/devices/bus-1/events", "{\"speed_threshold_kmh\":60}"); /* not a state */
    add(&l, 364.0, "cloud/gcp/notify/devices/bus-1/config-ack", "{\"version\":3,\"deviceAckTimeMs\":3}");
    add(&l, 365.0, "/devices/bus-1/state", "{\"speed_threshold_kmh\":60,\"report_interval_s\":30,\"ts\":6}");
    struct scenario_ack_event *events = NULL;
    acks_gcp_versions(configs, 2, l.rec, l.n);
    size_t count = acks_collect(s.profile, configs, 2, l.rec, l.n, &events);
    assert_int_equal(count, 4);
    assert_int_equal(events[0].what, SCENARIO_ACK_CONFIG);
    assert_int_equal(events[0].version, 1);
    assert_true(events[0].t_s == 2.0);
    assert_string_equal(events[0].device, "bus-1");
    assert_int_equal(events[1].what, SCENARIO_ACK_STATE);
    assert_int_equal(events[1].version, 1);
    assert_int_equal(events[2].what, SCENARIO_ACK_CONFIG);
    assert_int_equal(events[2].version, 2);
    assert_int_equal(events[3].what, SCENARIO_ACK_STATE);
    assert_int_equal(events[3].version, 2);
    free(events);
    assert_true(verdict(&s, 0, configs, 2, &l, why, sizeof why));
    assert_true(verdict(&s, 1, configs, 2, &l, why, sizeof why)); /* latest at 280 = 2 */
    assert_true(verdict(&s, 2, configs, 2, &l, why, sizeof why));
    assert_true(verdict(&s, 3, configs, 2, &l, why, sizeof why)); /* latest at 0 = 1 */
    assert_false(verdict(&s, 4, configs, 2, &l, why, sizeof why)); /* 364 is after 280 + 10 */
    assert_non_null(strstr(why, "did not acknowledge config version 2"));
    log_free(&l);
    json_decref(c1);
    json_decref(c2);
    scenario_free(&s);
}

static const char *const aws_scenario =
    "{\"name\":\"acks\",\"profile\":\"aws\",\"stack\":\"aws-modem-tls\",\"duration\":900,"
    " \"devices\":[{\"id\":\"bus-1\"}],"
    " \"route\":{\"waypoints\":[{\"lat\":50.45,\"lon\":30.52,\"speed_kmh\":40},{\"lat\":50.46,\"lon\":30.52}]},"
    " \"timeline\":["
    "  {\"at\":280,\"expect_ack\":{\"what\":\"shadow\",\"within\":120}},"
    "  {\"at\":0,\"expect_ack\":{\"what\":\"shadow\",\"version\":1,\"within\":60}},"
    "  {\"at\":0,\"expect_ack\":{\"what\":\"shadow\",\"version\":2,\"within\":900}}]}";

/* aws: shadow documents whose reported state reports the configuration; a
 * report is never taken for a configuration sent after it */
static void test_aws_shadow_documents(void **state)
{
    struct scenario s;
    char why[300];
    load(aws_scenario, &s);
    json_t *c1 = J("{\"speed_threshold_kmh\":90}"), *c2 = J("{\"speed_threshold_kmh\":60}");
    struct ack_config configs[] = { { "bus-1", 0, c1, 0 }, { "bus-1", 240, c2, 0 } };
    struct log l = { .n = 0 };
    add(&l, 3.0, "$aws/things/bus-1/shadow/update/documents",
        "{\"previous\":null,\"current\":{\"state\":{\"reported\":{\"speed_threshold_kmh\":90}},\"version\":1}}");
    add(&l, 100.0, "$aws/things/bus-1/shadow/update/documents",
        "{\"current\":{\"state\":{\"desired\":{\"speed_threshold_kmh\":60}},\"version\":2}}"); /* nothing reported */
    add(&l, 230.0, "$aws/things/bus-1/shadow/update/documents", /* 60 before config 2 was sent: not an ack */
        "{\"current\":{\"state\":{\"reported\":{\"speed_threshold_kmh\":60}},\"version\":3}}");
    add(&l, 300.0, "$aws/things/bus-2/shadow/update/documents", /* another thing */
        "{\"current\":{\"state\":{\"reported\":{\"speed_threshold_kmh\":60}},\"version\":1}}");
    struct scenario_ack_event *events = NULL;
    size_t count = acks_collect(s.profile, configs, 2, l.rec, l.n, &events);
    assert_int_equal(count, 1);
    assert_int_equal(events[0].what, SCENARIO_ACK_SHADOW);
    assert_int_equal(events[0].version, 1);
    free(events);
    assert_false(verdict(&s, 0, configs, 2, &l, why, sizeof why));
    assert_true(verdict(&s, 1, configs, 2, &l, why, sizeof why));
    assert_false(verdict(&s, 2, configs, 2, &l, why, sizeof why));
    add(&l, 350.0, "$aws/things/bus-1/shadow/update/documents",
        "{\"current\":{\"state\":{\"reported\":{\"speed_threshold_kmh\":60,\"route\":null}},\"version\":4}}");
    assert_true(verdict(&s, 0, configs, 2, &l, why, sizeof why));
    assert_true(verdict(&s, 2, configs, 2, &l, why, sizeof why));
    log_free(&l);
    json_decref(c1);
    json_decref(c2);
    scenario_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reported_matches),
        cmocka_unit_test(test_gcp_versions_from_replies),
        cmocka_unit_test(test_gcp_acks_in_a_log),
        cmocka_unit_test(test_aws_shadow_documents),
    };
    return cmocka_run_group_tests_name("acks", tests, NULL, NULL);
}
