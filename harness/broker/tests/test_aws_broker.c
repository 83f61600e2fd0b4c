/*
 * Integration tests of the aws profile: the real `cellbench broker` with
 * mutual TLS (certs/out), libmosquitto clients presenting thing certificates,
 * IAM-style policies, topic limits, retained-message and lifecycle rules.
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
#include <jansson.h>
#include <mosquitto.h>

#include "brokertest.h"
#include "vclock.h"

static struct bt_broker broker;
static struct vclock *clock_;
static char workdir[256];
static char registry_path[300];
static char clock_path[300];

static const char *abs_cert(const char *rel)
{
    static char paths[8][512];
    static int slot;
    char *out = paths[slot++ % 8];
    if (!realpath(bt_cert(rel), out))
        snprintf(out, 512, "%s", bt_cert(rel));
    return out;
}

/* Things bus-1 and bus-2: publish bus events, subscribe to anything under
 * their own /bus/<thing>/, receive only their commands and configuration. */
static int write_registry(const char *path)
{
    const char *arn = "arn:aws:iot:us-east-1:123456789012";
    const char *t = "${iot:Connection.Thing.ThingName}";
    char text[8192];
    snprintf(text, sizeof text,
             "{\"things\": [\n"
             "  {\"name\": \"bus-1\", \"certificate\": \"%s\", \"policies\": [\"bus\"]},\n"
             "  {\"name\": \"bus-2\", \"certificate\": \"%s\", \"policies\": [\"bus\"]}],\n"
             " \"policies\": {\"bus\": {\"Statement\": [\n"
             "  {\"Effect\": \"Allow\", \"Action\": \"iot:Connect\", \"Resource\": \"%s:client/%s\"},\n"
             "  {\"Effect\": \"Allow\", \"Action\": \"iot:Publish\", \"Resource\": [\"%s:topic//bus/events\","
             " \"%s:topic//depot/*/bus-arrived\"]},\n"
             "  {\"Effect\": \"Allow\", \"Action\": \"iot:Subscribe\", \"Resource\": \"%s:topicfilter//bus/%s/*\"},\n"
             "  {\"Effect\": \"Allow\", \"Action\": \"iot:Receive\", \"Resource\": [\"%s:topic//bus/%s/commands\","
             " \"%s:topic//bus/%s/configuration\"]},\n"
             "  {\"Effect\": \"Allow\", \"Action\": [\"iot:Publish\", \"iot:Receive\"], \"Resource\": \"%s:topic/$aws/things/%s/shadow/*\"},\n"
             "  {\"Effect\": \"Allow\", \"Action\": \"iot:Subscribe\", \"Resource\": \"%s:topicfilter/$aws/things/%s/shadow/*\"},\n"
             "  {\"Effect\": \"Deny\", \"Action\": \"iot:Publish\", \"Resource\": \"%s:topic//depot/closed/*\"}]}}}\n",
             abs_cert("devices/bus-1/cert.pem"), abs_cert("devices/bus-2/cert.pem"), arn, t, arn, arn, arn, t, arn,
             t, arn, t, arn, t, arn, t, arn);
    return bt_write_file(path, text);
}

static int group_setup(void **state)
{
    if (bt_workdir(workdir, sizeof workdir, "cellbench-aws") < 0)
        return -1;
    char dir[300];
    snprintf(registry_path, sizeof registry_path, "%s/registry.json", workdir);
    snprintf(clock_path, sizeof clock_path, "%s/clock", workdir);
    snprintf(dir, sizeof dir, "%s/broker", workdir);
    if (write_registry(registry_path) < 0)
        return -1;
    clock_ = vclock_create(clock_path, vclock_now_ns(NULL), VCLOCK_RATE_ONE);
    if (!clock_)
        return -1;
    return bt_broker_start(&broker, "aws", registry_path, clock_path, dir);
}

static int group_teardown(void **state)
{
    bt_broker_stop(&broker);
    vclock_close(clock_);
    return 0;
}

/* Connect as client_id presenting the certificate of device (NULL: none). */
static struct bt_client *thing_client(const char *client_id, const char *device, int *connack)
{
    char cert[128], key[128];
    vclock_jump(clock_, 1100 * VCLOCK_NS_PER_MS); /* AWS: 1 CONNECT per second per client id */
    struct bt_client *c = bt_client_new(client_id);
    if (device) {
        snprintf(cert, sizeof cert, "%s/cert.pem", device);
        snprintf(key, sizeof key, "%s/key.pem", device);
        assert_int_equal(bt_client_tls(c, abs_cert(cert), abs_cert(key)), 0);
    } else {
        assert_int_equal(bt_client_tls(c, NULL, NULL), 0);
    }
    *connack = bt_client_connect(c, broker.port, NULL, NULL);
    return c;
}

static struct bt_client *thing_connect(const char *client_id, const char *device)
{
    int rc;
    struct bt_client *c = thing_client(client_id, device, &rc);
    assert_int_equal(rc, 0);
    return c;
}

static void expect_no_connack(const char *client_id, const char *device)
{
    int rc;
    bt_client_free(thing_client(client_id, device, &rc));
    assert_int_equal(rc, -1); /* dropped without CONNACK, as AWS does for 3.1.1 */
}

/* ------------------------------------------------------------ connect */

static void test_connect_needs_registered_certificate_and_policy(void **state)
{
    bt_client_free(thing_connect("bus-1", "devices/bus-1"));
    expect_no_connack("bus-2", "devices/bus-1");      /* iot:Connect only for its own thing name */
    expect_no_connack("depot-1", "devices/depot-1");  /* certificate of no registered thing */
    expect_no_connack("bus-1", "bad/untrusted-ca");   /* not from the bench CA */
    expect_no_connack("bus-1", "bad/expired-device"); /* expired */
    expect_no_connack("bus-1", NULL);                 /* no client certificate */
    char long_id[130];
    memset(long_id, 'b', 129);
    long_id[129] = '\0';
    expect_no_connack(long_id, "devices/bus-1");      /* client id over 128 bytes */
    char path[400], log[65536];
    snprintf(path, sizeof path, "%s/mosquitto.log", broker.dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(log, 1, sizeof log - 1, f);
    fclose(f);
    log[n] = '\0';
    assert_non_null(strstr(log, "refused a client id over 128 bytes")); /* that, not iot:Connect */
}

static void test_second_connect_within_a_second_refused(void **state)
{
    bt_client_free(thing_connect("bus-2", "devices/bus-2"));
    struct bt_client *c = bt_client_new("bus-2");
    char cert[512], key[512];
    assert_non_null(realpath(bt_cert("devices/bus-2/cert.pem"), cert));
    assert_non_null(realpath(bt_cert("devices/bus-2/key.pem"), key));
    assert_int_equal(bt_client_tls(c, cert, key), 0);
    vclock_jump(clock_, 500 * VCLOCK_NS_PER_MS); /* only half a second later */
    assert_int_equal(bt_client_connect(c, broker.port, NULL, NULL), -1);
    bt_client_free(c);
    bt_client_free(thing_connect("bus-2", "devices/bus-2")); /* a second later: fine */
}

/* ------------------------------------------------------------ publish */

static void expect_publish_closes_retain(const char *topic, const void *payload, int len, int qos, bool retain)
{
    struct bt_client *c = thing_connect("bus-1", "devices/bus-1");
    bt_client_publish(c, topic, payload, len, qos, retain);
    assert_true(bt_client_wait_closed(c));
    bt_client_free(c);
}

static void expect_publish_closes(const char *topic, const void *payload, int len, int qos)
{
    expect_publish_closes_retain(topic, payload, len, qos, false);
}

static void test_allowed_publish_reaches_cloud(void **state)
{
    struct bt_client *admin = bt_admin_connect(&broker, "cloud-pub");
    assert_non_null(admin);
    assert_int_equal(bt_client_subscribe(admin, "/bus/events", 1), 1);
    assert_int_equal(bt_client_subscribe(admin, "/depot/+/bus-arrived", 1), 1);
    struct bt_client *c = thing_connect("bus-1", "devices/bus-1");
    assert_int_equal(bt_client_publish(c, "/bus/events", "{\"id\":1}", 8, 1, false), 0);
    assert_int_equal(bt_client_publish(c, "/depot/d1/bus-arrived", "{}", 2, 1, false), 0);
    struct bt_msg m;
    assert_true(bt_client_wait_message(admin, "/bus/events", &m));
    assert_string_equal(m.payload, "{\"id\":1}");
    free(m.payload);
    assert_true(bt_client_wait_message(admin, "/depot/d1/bus-arrived", &m));
    free(m.payload);
    assert_false(c->lost);
    bt_client_free(c);
    bt_client_free(admin);
}

static void test_forbidden_publishes_close_connection(void **state)
{
    static char big[128 * 1024 + 1];
    expect_publish_closes("/bus/bus-2/configuration", "x", 1, 1); /* not allowed by policy */
    expect_publish_closes("/depot/closed/bus-arrived", "x", 1, 1); /* explicit Deny wins */
    expect_publish_closes("/bus/events/a/b/c/d/e/f", "x", 1, 0);  /* 8 slashes */
    expect_publish_closes("$foo/bar", "x", 1, 1);                 /* reserved */
    expect_publish_closes("/bus/events", big, (int)sizeof big, 1); /* over 128 KB */
    expect_publish_closes("/bus/events", "x", 1, 2);              /* QoS 2 */
    expect_publish_closes_retain("/bus/events", "x", 1, 1, true); /* no iot:RetainPublish */
}

/* ------------------------------------------------------------ subscribe / receive */

static void test_forbidden_subscribe_closes_connection(void **state)
{
    struct bt_client *c = thing_connect("bus-1", "devices/bus-1");
    bt_client_subscribe(c, "/bus/bus-2/commands", 1);
    assert_true(bt_client_wait_closed(c));
    bt_client_free(c);
    c = thing_connect("bus-1", "devices/bus-1");
    bt_client_subscribe(c, "$SYS/#", 0);
    assert_true(bt_client_wait_closed(c));
    bt_client_free(c);
}

static void test_receive_policy_drops_silently(void **state)
{
    struct bt_client *admin = bt_admin_connect(&broker, "cloud-recv");
    assert_non_null(admin);
    struct bt_client *c = thing_connect("bus-1", "devices/bus-1");
    assert_int_equal(bt_client_subscribe(c, "/bus/bus-1/#", 1), 1);
    assert_int_equal(bt_client_publish(admin, "/bus/bus-1/other", "hidden", 6, 1, false), 0);
    assert_int_equal(bt_client_publish(admin, "/bus/bus-1/commands", "shown", 5, 1, false), 0);
    struct bt_msg m;
    assert_true(bt_client_wait_message(c, "/bus/bus-1/commands", &m));
    free(m.payload);
    /* messages from one publisher arrive in order: the hidden one would be here by now */
    assert_false(bt_client_has_message(c, "/bus/bus-1/other"));
    assert_false(c->lost);
    bt_client_free(c);
    bt_client_free(admin);
}

static void test_retained_only_for_exact_subscriptions(void **state)
{
    struct bt_client *admin = bt_admin_connect(&broker, "cloud-retain");
    assert_non_null(admin);
    assert_int_equal(bt_client_publish(admin, "/bus/bus-2/configuration", "cfg", 3, 1, true), 0);
    struct bt_client *c = thing_connect("bus-2", "devices/bus-2");
    assert_int_equal(bt_client_subscribe(c, "/bus/bus-2/#", 1), 1);
    assert_int_equal(bt_client_subscribe(c, "/bus/bus-2/configuration", 1), 1);
    struct bt_msg m;
    assert_true(bt_client_wait_message(c, "/bus/bus-2/configuration", &m));
    assert_string_equal(m.payload, "cfg");
    free(m.payload);
    /* a sentinel after both subscriptions: the wildcard got no retained copy */
    assert_int_equal(bt_client_publish(admin, "/bus/bus-2/commands", "s", 1, 1, false), 0);
    assert_true(bt_client_wait_message(c, "/bus/bus-2/commands", &m));
    free(m.payload);
    assert_false(bt_client_has_message(c, "/bus/bus-2/configuration"));
    bt_client_publish(admin, "/bus/bus-2/configuration", "", 0, 1, true); /* clear */
    bt_client_free(c);
    bt_client_free(admin);
}

/* ------------------------------------------------------------ lifecycle */

static json_t *wait_json(struct bt_client *c, const char *topic)
{
    struct bt_msg m;
    assert_true(bt_client_wait_message(c, topic, &m));
    json_t *j = json_loads(m.payload, 0, NULL);
    free(m.payload);
    assert_non_null(j);
    return j;
}

static void test_lifecycle_events_and_duplicate_client_id(void **state)
{
    struct bt_client *admin = bt_admin_connect(&broker, "cloud-life");
    assert_non_null(admin);
    assert_int_equal(bt_client_subscribe(admin, "$aws/events/presence/#", 1), 1);
    assert_int_equal(bt_client_subscribe(admin, "$aws/events/subscriptions/#", 1), 1);
    struct bt_client *first = thing_connect("bus-2", "devices/bus-2");
    json_t *ev = wait_json(admin, "$aws/events/presence/connected/bus-2");
    assert_string_equal(json_string_value(json_object_get(ev, "eventType")), "connected");
    assert_string_equal(json_string_value(json_object_get(ev, "clientId")), "bus-2");
    assert_int_equal(strlen(json_string_value(json_object_get(ev, "principalIdentifier"))), 64);
    assert_string_equal(json_string_value(json_object_get(ev, "ipAddress")), "127.0.0.1");
    json_decref(ev);
    assert_int_equal(bt_client_subscribe(first, "/bus/bus-2/commands", 1), 1);
    ev = wait_json(admin, "$aws/events/subscriptions/subscribed/bus-2");
    assert_string_equal(json_string_value(json_array_get(json_object_get(ev, "topics"), 0)), "/bus/bus-2/commands");
    json_decref(ev);
    struct bt_client *second = thing_connect("bus-2", "devices/bus-2");
    assert_true(bt_client_wait_closed(first));
    ev = wait_json(admin, "$aws/events/presence/disconnected/bus-2");
    assert_string_equal(json_string_value(json_object_get(ev, "disconnectReason")), "DUPLICATE_CLIENTID");
    json_decref(ev);
    bt_client_free(first);
    bt_client_free(second);
    ev = wait_json(admin, "$aws/events/presence/disconnected/bus-2");
    assert_string_equal(json_string_value(json_object_get(ev, "eventType")), "disconnected");
    json_decref(ev);
    bt_client_free(admin);
}

static void test_publishes_over_100_per_second_discarded(void **state)
{
    struct bt_client *admin = bt_admin_connect(&broker, "cloud-rate");
    assert_non_null(admin);
    assert_int_equal(bt_client_subscribe(admin, "/bus/events", 1), 1);
    struct bt_client *c = thing_connect("bus-1", "devices/bus-1");
    vclock_set_rate(clock_, 0); /* all in one virtual second */
    vclock_jump(clock_, VCLOCK_NS_PER_S);
    for (int i = 0; i < 105; i++)
        assert_int_equal(bt_client_publish(c, "/bus/events", "n", 1, 1, false), 0);
    vclock_jump(clock_, VCLOCK_NS_PER_S); /* next second: accepted again */
    assert_int_equal(bt_client_publish(c, "/bus/events", "last", 4, 1, false), 0);
    vclock_set_rate(clock_, VCLOCK_RATE_ONE);
    int got = 0;
    struct bt_msg m;
    for (;;) {
        assert_true(bt_client_wait_message(admin, "/bus/events", &m));
        bool last = strcmp(m.payload, "last") == 0;
        free(m.payload);
        if (last)
            break;
        got++;
    }
    assert_int_equal(got, 100);
    assert_false(c->lost); /* discarded, not disconnected */
    bt_client_free(c);
    bt_client_free(admin);
}

/* ------------------------------------------------------------ shadow */

static void test_shadow_delta_and_version_conflict(void **state)
{
    struct bt_client *admin = bt_admin_connect(&broker, "cloud-shadow");
    assert_non_null(admin);
    struct bt_client *c = thing_connect("bus-1", "devices/bus-1");
    assert_int_equal(bt_client_subscribe(c, "$aws/things/bus-1/shadow/update/delta", 1), 1);
    assert_int_equal(bt_client_subscribe(c, "$aws/things/bus-1/shadow/update/accepted", 1), 1);
    assert_int_equal(bt_client_subscribe(c, "$aws/things/bus-1/shadow/update/rejected", 1), 1);
    assert_int_equal(bt_client_subscribe(c, "$aws/things/bus-1/shadow/get/accepted", 1), 1);
    /* the cloud sets a desired threshold: the device gets the delta */
    const char *desired = "{\"state\":{\"desired\":{\"threshold\":60}}}";
    char *reply = bt_admin_request(admin, "cloud/aws/shadow/bus-1/update", desired, (int)strlen(desired));
    assert_non_null(reply);
    assert_non_null(strstr(reply, "\"version\":1"));
    free(reply);
    json_t *delta = wait_json(c, "$aws/things/bus-1/shadow/update/delta");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(delta, "state"), "threshold")), 60);
    json_decref(delta);
    json_decref(wait_json(c, "$aws/things/bus-1/shadow/update/accepted"));
    /* the device reports it with the right version */
    const char *report = "{\"state\":{\"reported\":{\"threshold\":60}},\"version\":1,\"clientToken\":\"r1\"}";
    assert_int_equal(bt_client_publish(c, "$aws/things/bus-1/shadow/update", report, (int)strlen(report), 1, false), 0);
    json_t *acc = wait_json(c, "$aws/things/bus-1/shadow/update/accepted");
    assert_int_equal(json_integer_value(json_object_get(acc, "version")), 2);
    assert_string_equal(json_string_value(json_object_get(acc, "clientToken")), "r1");
    json_decref(acc);
    /* a stale version is refused with 409 */
    assert_int_equal(bt_client_publish(c, "$aws/things/bus-1/shadow/update", report, (int)strlen(report), 1, false), 0);
    json_t *rej = wait_json(c, "$aws/things/bus-1/shadow/update/rejected");
    assert_int_equal(json_integer_value(json_object_get(rej, "code")), 409);
    json_decref(rej);
    /* get: in sync, no delta */
    assert_int_equal(bt_client_publish(c, "$aws/things/bus-1/shadow/get", "", 0, 1, false), 0);
    json_t *got = wait_json(c, "$aws/things/bus-1/shadow/get/accepted");
    assert_null(json_object_get(json_object_get(got, "state"), "delta"));
    json_decref(got);
    /* a named shadow is separate from the classic one */
    const char *named = "{\"state\":{\"reported\":{\"fw\":\"1.2\"}}}";
    reply = bt_admin_request(admin, "cloud/aws/shadow/bus-1/name/firmware/update", named, (int)strlen(named));
    assert_non_null(reply);
    assert_non_null(strstr(reply, "\"version\":1"));
    free(reply);
    reply = bt_admin_request(admin, "cloud/aws/shadow/bus-1/name/other/get", NULL, 0);
    assert_non_null(reply);
    assert_non_null(strstr(reply, "No shadow exists with name: 'other'"));
    free(reply);
    /* another thing's shadow is a forbidden publish */
    assert_false(c->lost);
    bt_client_publish(c, "$aws/things/bus-2/shadow/get", "", 0, 1, false);
    assert_true(bt_client_wait_closed(c));
    bt_client_free(c);
    bt_client_free(admin);
}

static void test_restart_keeps_shadows_and_retained_messages(void **state)
{
    struct bt_client *before = bt_admin_connect(&broker, "cloud-before");
    assert_non_null(before);
    assert_int_equal(bt_client_publish(before, "/bus/bus-1/configuration", "keep", 4, 1, true), 0);
    bt_client_free(before);
    char dir[300];
    snprintf(dir, sizeof dir, "%s", broker.dir);
    assert_int_equal(bt_broker_stop(&broker), 0);
    assert_int_equal(bt_broker_start(&broker, "aws", registry_path, clock_path, dir), 0);
    struct bt_client *admin = bt_admin_connect(&broker, "cloud-restart");
    assert_non_null(admin);
    char *reply = bt_admin_request(admin, "cloud/aws/shadow/bus-1/get", NULL, 0);
    assert_non_null(reply);
    json_t *doc = json_loads(reply, 0, NULL);
    free(reply);
    assert_int_equal(json_integer_value(json_object_get(doc, "version")), 2);
    json_decref(doc);
    struct bt_client *c = thing_connect("bus-1", "devices/bus-1");
    assert_int_equal(bt_client_subscribe(c, "/bus/bus-1/configuration", 1), 1);
    struct bt_msg m;
    assert_true(bt_client_wait_message(c, "/bus/bus-1/configuration", &m));
    assert_string_equal(m.payload, "keep");
    free(m.payload);
    bt_client_free(c);
    bt_client_free(admin);
}

/*
 * "broker rotate-cert": the broker restarted with the server certificate of
 * certs/out/rotated/ (a new CA, same host names). The connection made before
 * ends; a client that trusts only the old CA can no longer connect, one that
 * was given the new CA can (its device certificate is still from the first
 * CA, which the broker keeps verifying clients with).
 */
static void test_rotated_server_certificate(void **state)
{
    char dir[300], rotated[512];
    int rc;
    snprintf(dir, sizeof dir, "%s", broker.dir);
    snprintf(rotated, sizeof rotated, "%s", abs_cert("rotated"));
    struct bt_client *before = thing_connect("bus-1", "devices/bus-1");
    assert_int_equal(bt_broker_stop(&broker), 0);
    assert_true(bt_client_wait_closed(before));
    bt_client_free(before);
    broker.extra_args[0] = "--server-certs";
    broker.extra_args[1] = rotated;
    broker.extra_args[2] = NULL;
    assert_int_equal(bt_broker_start(&broker, "aws", registry_path, clock_path, dir), 0);
    bt_client_free(thing_client("bus-1", "devices/bus-1", &rc));
    assert_int_equal(rc, -1); /* the old CA does not verify the new server certificate */
    vclock_jump(clock_, 1100 * VCLOCK_NS_PER_MS);
    struct bt_client *c = bt_client_new("bus-1");
    assert_int_equal(mosquitto_tls_set(c->mosq, abs_cert("rotated/ca.pem"), NULL, abs_cert("devices/bus-1/cert.pem"),
                                       abs_cert("devices/bus-1/key.pem"), NULL),
                     MOSQ_ERR_SUCCESS);
    assert_int_equal(bt_client_connect(c, broker.port, NULL, NULL), 0);
    bt_client_free(c);
    /* back to the first certificate */
    assert_int_equal(bt_broker_stop(&broker), 0);
    broker.extra_args[0] = NULL;
    assert_int_equal(bt_broker_start(&broker, "aws", registry_path, clock_path, dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_needs_registered_certificate_and_policy),
        cmocka_unit_test(test_second_connect_within_a_second_refused),
        cmocka_unit_test(test_allowed_publish_reaches_cloud),
        cmocka_unit_test(test_forbidden_publishes_close_connection),
        cmocka_unit_test(test_forbidden_subscribe_closes_connection),
        cmocka_unit_test(test_receive_policy_drops_silently),
        cmocka_unit_test(test_retained_only_for_exact_subscriptions),
        cmocka_unit_test(test_lifecycle_events_and_duplicate_client_id),
        cmocka_unit_test(test_publishes_over_100_per_second_discarded),
        cmocka_unit_test(test_shadow_delta_and_version_conflict),
        cmocka_unit_test(test_restart_keeps_shadows_and_retained_messages),
        cmocka_unit_test(test_rotated_server_certificate),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
