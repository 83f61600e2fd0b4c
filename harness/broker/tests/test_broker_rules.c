/*
 * Unit tests of the broker plugin's pure parts: registry parsing and its
 * error messages, JWT checks (keys from certs/out), AWS policy evaluation and
 * topic limits, GCP topic and client id parsing. No broker runs here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "aws_policy.h"
#include "brokertest.h"
#include "gcp_jwt.h"
#include "gcp_topics.h"
#include "registry.h"

static char workdir[256];

static int group_setup(void **state)
{
    return bt_workdir(workdir, sizeof workdir, "cellbench-rules");
}

/* Write text as a registry file and load it; err gets the message. */
static struct cloud_registry *load_text(const char *text, enum cloud_profile profile, char *err,
                                        size_t err_len)
{
    char path[300];
    snprintf(path, sizeof path, "%s/registry.json", workdir);
    assert_int_equal(bt_write_file(path, text), 0);
    return cloud_registry_load(path, profile, err, err_len);
}

static void expect_registry_error(const char *text, enum cloud_profile profile, const char *needle)
{
    char err[1024] = "";
    struct cloud_registry *reg = load_text(text, profile, err, sizeof err);
    if (reg || !strstr(err, needle))
        fail_msg("expected error containing \"%s\", got \"%s\"", needle, err);
    assert_non_null(strstr(err, "registry.json")); /* the file is named */
}

/* ------------------------------------------------------------ registry */

static void test_generated_registries_load(void **state)
{
    char err[1024];
    struct cloud_registry *gcp = cloud_registry_load(bt_cert("registry-gcp.json"), CLOUD_PROFILE_GCP, err, sizeof err);
    if (!gcp)
        fail_msg("%s", err);
    assert_string_equal(gcp->gcp.project, "bench-project");
    assert_string_equal(gcp->gcp.region, "europe-west1");
    assert_string_equal(gcp->gcp.registry, "buses");
    assert_non_null(gcp_registry_device(&gcp->gcp, "bus-1"));
    assert_int_equal(gcp_registry_device(&gcp->gcp, "bus-1")->key_count, 2);
    assert_string_equal(gcp_registry_event_topic(&gcp->gcp, "depot-arrived"), "depot-arrivals");
    assert_string_equal(gcp_registry_event_topic(&gcp->gcp, ""), "bus-events");
    assert_string_equal(gcp_registry_event_topic(&gcp->gcp, "other"), "bus-events");
    cloud_registry_free(gcp);
    struct cloud_registry *aws = cloud_registry_load(bt_cert("registry-aws.json"), CLOUD_PROFILE_AWS, err, sizeof err);
    if (!aws)
        fail_msg("%s", err);
    assert_int_equal(aws->aws.thing_count, 3);
    assert_int_equal(aws->aws.policy_count, 1);
    assert_string_equal(aws->aws.things[0].name, "bus-1");
    cloud_registry_free(aws);
}

static void test_registry_errors_name_path_and_reason(void **state)
{
    expect_registry_error("{\"project\": 1}", CLOUD_PROFILE_GCP, "$.project: must be a non-empty string");
    expect_registry_error("[1]", CLOUD_PROFILE_GCP, "$: the registry must be a JSON object");
    expect_registry_error("{\"project\": \"p\", \"region\": \"r\"", CLOUD_PROFILE_GCP, "registry.json:1:");
    expect_registry_error("{\"project\": \"p\", \"region\": \"r\", \"registry\": \"buses\"}", CLOUD_PROFILE_GCP,
                          "$.devices: missing");
    expect_registry_error("{\"project\": \"p\", \"region\": \"r\", \"registry\": \"buses\", \"devices\": "
                          "[{\"id\": \"bus-1\", \"keys\": [{\"algorithm\": \"ES256\", \"file\": \"/nonexistent.pem\"}]}]}",
                          CLOUD_PROFILE_GCP, "$.devices[0].keys[0].file: cannot open /nonexistent.pem");
    expect_registry_error("{\"project\": \"p\", \"region\": \"r\", \"registry\": \"buses\", \"devices\": "
                          "[{\"id\": \"1bad\", \"keys\": []}]}",
                          CLOUD_PROFILE_GCP, "$.devices[0].id: \"1bad\" is not a valid device id");
    expect_registry_error("{\"project\": \"p\", \"region\": \"r\", \"registry\": \"buses\", \"devices\": "
                          "[{\"id\": \"gw-1\", \"gateway\": true, \"keys\": [], \"bound\": [\"bus-9\"]}]}",
                          CLOUD_PROFILE_GCP, "$.devices[0].bound[0]: unknown device \"bus-9\"");
    expect_registry_error("{\"policies\": {\"p\": {\"Statement\": [{\"Effect\": \"Maybe\"}]}}, \"things\": []}",
                          CLOUD_PROFILE_AWS, "$.policies.p.Statement[0].Effect: must be \"Allow\" or \"Deny\"");
    expect_registry_error("{\"policies\": {\"p\": {\"Statement\": [{\"Effect\": \"Allow\", \"Action\": "
                          "\"iot:Fly\", \"Resource\": \"*\"}]}}, \"things\": []}",
                          CLOUD_PROFILE_AWS, "$.policies.p.Statement[0].Action[0]: unknown action");
    expect_registry_error("{\"policies\": {}, \"things\": [{\"name\": \"t\", \"certificate\": \"/nonexistent\", "
                          "\"policies\": []}]}",
                          CLOUD_PROFILE_AWS, "$.things[0].certificate: cannot open /nonexistent");
}

static void test_registry_rejects_key_of_wrong_type(void **state)
{
    char text[1024], err[1024] = "";
    char rs[512];
    assert_non_null(realpath(bt_cert("devices/bus-1/rs256-public.pem"), rs));
    snprintf(text, sizeof text,
             "{\"project\": \"p\", \"region\": \"r\", \"registry\": \"buses\", \"devices\": "
             "[{\"id\": \"bus-1\", \"keys\": [{\"algorithm\": \"ES256\", \"file\": \"%s\"}]}]}", rs);
    assert_null(load_text(text, CLOUD_PROFILE_GCP, err, sizeof err));
    assert_non_null(strstr(err, "$.devices[0].keys[0].file"));
    assert_non_null(strstr(err, "is not an EC key"));
}

/* ------------------------------------------------------------ JWT */

/* A one-device registry: bus-1 with ES256 and RS256 keys; the RS256 key expires at rs_expiry. */
static struct cloud_registry *jwt_registry(long rs_expiry)
{
    char text[2048], err[1024], es[512], rs[512];
    assert_non_null(realpath(bt_cert("devices/bus-1/es256-public.pem"), es));
    assert_non_null(realpath(bt_cert("devices/bus-1/rs256-public.pem"), rs));
    snprintf(text, sizeof text,
             "{\"project\": \"bench-project\", \"region\": \"r\", \"registry\": \"buses\", \"devices\": "
             "[{\"id\": \"bus-1\", \"keys\": [{\"algorithm\": \"ES256\", \"file\": \"%s\"},"
             " {\"algorithm\": \"RS256\", \"file\": \"%s\", \"expires\": %ld}]}]}", es, rs, rs_expiry);
    struct cloud_registry *reg = load_text(text, CLOUD_PROFILE_GCP, err, sizeof err);
    if (!reg)
        fail_msg("%s", err);
    return reg;
}

static enum gcp_jwt_result check(struct cloud_registry *reg, char *token, long now)
{
    assert_non_null(token);
    enum gcp_jwt_result r = gcp_jwt_check(token, &reg->gcp.devices[0], "bench-project", now, NULL);
    free(token);
    return r;
}

static void test_jwt_rules(void **state)
{
    const long now = 1800000000;
    struct cloud_registry *reg = jwt_registry(now + 100000);
    char es[512], rs[512], es_pub[512], other[512];
    assert_non_null(realpath(bt_cert("devices/bus-1/es256-private.pem"), es));
    assert_non_null(realpath(bt_cert("devices/bus-1/rs256-private.pem"), rs));
    assert_non_null(realpath(bt_cert("devices/bus-1/es256-public.pem"), es_pub));
    assert_non_null(realpath(bt_cert("bad/es256-other/es256-private.pem"), other));
    assert_int_equal(check(reg, bt_jwt("ES256", es, "bench-project", now, now + 3600), now), GCP_JWT_OK);
    assert_int_equal(check(reg, bt_jwt("RS256", rs, "bench-project", now, now + 3600), now), GCP_JWT_OK);
    assert_int_equal(check(reg, bt_jwt("ES256", es, "bench-project", now, now + 24 * 3600), now), GCP_JWT_OK);
    assert_int_equal(check(reg, bt_jwt("ES256", es, "bench-project", now, now + 24 * 3600 + 1), now), GCP_JWT_TOO_LONG);
    assert_int_equal(check(reg, bt_jwt("ES256", es, "x", now, now + 60), now), GCP_JWT_BAD_AUDIENCE);
    assert_int_equal(check(reg, bt_jwt("ES256", es, NULL, now, now + 60), now), GCP_JWT_BAD_AUDIENCE);
    assert_int_equal(check(reg, bt_jwt("ES256", es, "bench-project", 0, now + 60), now), GCP_JWT_MISSING_TIMES);
    assert_int_equal(check(reg, bt_jwt("ES256", es, "bench-project", now, 0), now), GCP_JWT_MISSING_TIMES);
    assert_int_equal(check(reg, bt_jwt("none", NULL, "bench-project", now, now + 60), now), GCP_JWT_BAD_ALG);
    assert_int_equal(check(reg, bt_jwt("HS256", es_pub, "bench-project", now, now + 60), now), GCP_JWT_BAD_ALG);
    assert_int_equal(check(reg, bt_jwt("ES256", other, "bench-project", now, now + 60), now), GCP_JWT_BAD_SIGNATURE);
    assert_int_equal(check(reg, strdup("not.a.jwt"), now), GCP_JWT_MALFORMED);
    assert_int_equal(check(reg, strdup("garbage"), now), GCP_JWT_MALFORMED);
    /* skew: 10 minutes either side */
    assert_int_equal(check(reg, bt_jwt("ES256", es, "bench-project", now + 599, now + 1000), now), GCP_JWT_OK);
    assert_int_equal(check(reg, bt_jwt("ES256", es, "bench-project", now + 601, now + 1000), now), GCP_JWT_NOT_YET_VALID);
    assert_int_equal(check(reg, bt_jwt("ES256", es, "bench-project", now - 3600, now - 600), now), GCP_JWT_OK);
    assert_int_equal(check(reg, bt_jwt("ES256", es, "bench-project", now - 3600, now - 601), now), GCP_JWT_EXPIRED);
    /* an expired key no longer verifies */
    assert_int_equal(check(reg, bt_jwt("RS256", rs, "bench-project", now + 100000, now + 100100), now + 100001),
                     GCP_JWT_NO_KEY);
    cloud_registry_free(reg);
    for (int r = GCP_JWT_OK; r <= GCP_JWT_EXPIRED; r++)
        assert_string_not_equal(gcp_jwt_result_str((enum gcp_jwt_result)r), "unknown");
}

/* ------------------------------------------------------------ AWS policies */

static const char *policy_registry =
    "{\"region\": \"eu-west-1\", \"account\": \"111\",\n"
    " \"policies\": {\n"
    "  \"dev\": {\"Statement\": [\n"
    "   {\"Effect\": \"Allow\", \"Action\": \"iot:Connect\", \"Resource\": \"arn:aws:iot:eu-west-1:111:client/${iot:Connection.Thing.ThingName}\"},\n"
    "   {\"Effect\": \"Allow\", \"Action\": [\"iot:Publish\", \"iot:Receive\"], \"Resource\": \"arn:aws:iot:eu-west-1:111:topic/bus/${iot:ClientId}/*\"},\n"
    "   {\"Effect\": \"Allow\", \"Action\": \"iot:Subscribe\", \"Resource\": \"arn:aws:iot:eu-west-1:111:topicfilter/bus/${iot:ClientId}/+\"},\n"
    "   {\"Effect\": \"Deny\", \"Action\": \"iot:Publish\", \"Resource\": \"arn:aws:iot:eu-west-1:111:topic/bus/*/secret\"}]},\n"
    "  \"extra\": {\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"iot:*\", \"Resource\": \"arn:aws:iot:eu-west-1:111:topic/open?\"},\n"
    "   {\"Effect\": \"Allow\", \"Action\": \"iot:Publish\", \"Resource\": \"arn:aws:iot:*:111:topic/wild/*\"},\n"
    "   {\"Effect\": \"Deny\", \"Action\": \"iot:Publish\", \"Resource\": \"arn:aws:*:topic/wild/no\"}]}},\n"
    " \"things\": [{\"name\": \"bus-1\", \"certificate\": \"CERT\", \"policies\": [\"dev\", \"extra\"]}]}\n";

static struct cloud_registry *aws_registry(void)
{
    char cert[512], err[1024];
    assert_non_null(realpath(bt_cert("devices/bus-1/cert.pem"), cert));
    char *text = malloc(strlen(policy_registry) + 600);
    const char *at = strstr(policy_registry, "CERT");
    sprintf(text, "%.*s%s%s", (int)(at - policy_registry), policy_registry, cert, at + 4);
    struct cloud_registry *reg = load_text(text, CLOUD_PROFILE_AWS, err, sizeof err);
    free(text);
    if (!reg)
        fail_msg("%s", err);
    return reg;
}

/* The answer of both evaluators, which must agree. */
static bool may(struct cloud_registry *reg, enum aws_action action, const char *name, const char *client_id)
{
    char arn[600];
    assert_int_equal(aws_resource_arn(&reg->aws, action, name, arn, sizeof arn), 0);
    struct aws_policy_vars vars = { .client_id = client_id, .thing_name = "bus-1" };
    bool direct = aws_policy_allows(&reg->aws, &reg->aws.things[0], action, arn, &vars);
    struct aws_compiled_policy compiled;
    assert_int_equal(aws_policy_compile(&reg->aws, &reg->aws.things[0], &vars, &compiled), 0);
    bool fast = aws_compiled_allows(&compiled, action, arn);
    assert_non_null(compiled.arn_prefix);
    assert_true(strncmp(arn, compiled.arn_prefix, compiled.arn_prefix_len) == 0);
    bool fast_rest = aws_compiled_allows_rest(&compiled, action, arn + compiled.arn_prefix_len);
    aws_compiled_free(&compiled);
    assert_int_equal(direct, fast);
    assert_int_equal(direct, fast_rest);
    return direct;
}

static void test_policy_evaluation(void **state)
{
    struct cloud_registry *reg = aws_registry();
    assert_true(may(reg, AWS_ACT_CONNECT, "bus-1", "bus-1"));
    assert_false(may(reg, AWS_ACT_CONNECT, "bus-2", "bus-2"));     /* default deny */
    assert_true(may(reg, AWS_ACT_PUBLISH, "bus/c1/a/b", "c1"));     /* '*' crosses '/' */
    assert_false(may(reg, AWS_ACT_PUBLISH, "bus/c2/a", "c1"));      /* another client's topic */
    assert_false(may(reg, AWS_ACT_PUBLISH, "bus/c1/secret", "c1")); /* explicit Deny wins */
    assert_true(may(reg, AWS_ACT_RECEIVE, "bus/c1/secret", "c1"));  /* the Deny is Publish only */
    assert_true(may(reg, AWS_ACT_SUBSCRIBE, "bus/c1/+", "c1"));     /* '+' is literal */
    assert_false(may(reg, AWS_ACT_SUBSCRIBE, "bus/c1/x", "c1"));
    assert_false(may(reg, AWS_ACT_SUBSCRIBE, "bus/c1/#", "c1"));
    assert_true(may(reg, AWS_ACT_PUBLISH, "open1", "c1"));          /* '?' one character */
    assert_false(may(reg, AWS_ACT_PUBLISH, "open12", "c1"));
    /* resources not starting with the literal ARN prefix are matched on the whole ARN */
    assert_true(may(reg, AWS_ACT_PUBLISH, "wild/x", "c1"));
    assert_false(may(reg, AWS_ACT_PUBLISH, "wild/no", "c1"));
    assert_false(may(reg, AWS_ACT_RECEIVE, "wild/x", "c1"));
    /* a client id with glob characters is substituted literally */
    assert_false(may(reg, AWS_ACT_PUBLISH, "bus/abc/x", "*"));
    assert_true(may(reg, AWS_ACT_PUBLISH, "bus/*/x", "*"));
    assert_false(aws_policy_allows(&reg->aws, NULL, AWS_ACT_CONNECT, "x", &(struct aws_policy_vars){ "a", "b" }));
    cloud_registry_free(reg);
}

static void test_glob_and_topic_limits(void **state)
{
    assert_true(aws_glob_match("a*c", "abbbc"));
    assert_true(aws_glob_match("a*", "a/b/c"));
    assert_false(aws_glob_match("a?c", "ac"));
    assert_true(aws_glob_match("a\\*c", "a*c"));
    assert_false(aws_glob_match("a\\*c", "abc"));
    assert_true(aws_topic_within_limits("a/b/c/d/e/f/g/h"));        /* 7 slashes */
    assert_false(aws_topic_within_limits("a/b/c/d/e/f/g/h/i"));     /* 8 slashes */
    assert_true(aws_topic_within_limits("$aws/rules/r/a/b/c/d/e/f/g/h")); /* prefix not counted */
    char long_topic[300];
    memset(long_topic, 'x', 257);
    long_topic[257] = '\0';
    assert_false(aws_topic_within_limits(long_topic));
    long_topic[256] = '\0';
    assert_true(aws_topic_within_limits(long_topic));
}

/* ------------------------------------------------------------ GCP topics */

static void test_gcp_topics(void **state)
{
    struct gcp_topic t;
    assert_int_equal(gcp_topic_parse("/devices/bus-1/events", &t), GCP_TOPIC_EVENTS);
    assert_string_equal(t.device, "bus-1");
    assert_string_equal(t.subfolder, "");
    assert_int_equal(gcp_topic_parse("/devices/bus-1/events/a/b", &t), GCP_TOPIC_EVENTS);
    assert_string_equal(t.subfolder, "a/b");
    assert_int_equal(gcp_topic_parse("/devices/bus-1/events/", &t), GCP_TOPIC_OTHER);
    assert_int_equal(gcp_topic_parse("/devices/bus-1/events/+", &t), GCP_TOPIC_OTHER);
    assert_int_equal(gcp_topic_parse("/devices/bus-1/state", &t), GCP_TOPIC_STATE);
    assert_int_equal(gcp_topic_parse("/devices/bus-1/state/x", &t), GCP_TOPIC_OTHER);
    assert_int_equal(gcp_topic_parse("/devices/bus-1/config", &t), GCP_TOPIC_CONFIG);
    assert_int_equal(gcp_topic_parse("/devices/bus-1/commands/#", &t), GCP_TOPIC_COMMANDS_ALL);
    assert_int_equal(gcp_topic_parse("/devices/bus-1/commands/x", &t), GCP_TOPIC_COMMAND);
    assert_int_equal(gcp_topic_parse("/devices/+/config", &t), GCP_TOPIC_OTHER);
    assert_int_equal(gcp_topic_parse("devices/bus-1/config", &t), GCP_TOPIC_OTHER);
    assert_int_equal(gcp_topic_parse("/devices/bus-1/attach", &t), GCP_TOPIC_ATTACH);
    char dev[256];
    assert_true(gcp_client_id_parse("projects/p/locations/r/registries/g/devices/bus-1", "p", "r", "g", dev, sizeof dev));
    assert_string_equal(dev, "bus-1");
    assert_false(gcp_client_id_parse("projects/p/locations/r/registries/g/devices/", "p", "r", "g", dev, sizeof dev));
    assert_false(gcp_client_id_parse("projects/p/locations/r/registries/g/devices/a/b", "p", "r", "g", dev, sizeof dev));
    assert_false(gcp_client_id_parse("projects/px/locations/r/registries/g/devices/a", "p", "r", "g", dev, sizeof dev));
    assert_false(gcp_client_id_parse(NULL, "p", "r", "g", dev, sizeof dev));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_registries_load),
        cmocka_unit_test(test_registry_errors_name_path_and_reason),
        cmocka_unit_test(test_registry_rejects_key_of_wrong_type),
        cmocka_unit_test(test_jwt_rules),
        cmocka_unit_test(test_policy_evaluation),
        cmocka_unit_test(test_glob_and_topic_limits),
        cmocka_unit_test(test_gcp_topics),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
