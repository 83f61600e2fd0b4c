/*
 * Integration tests of the gcp profile: the real `cellbench broker` (Mosquitto
 * with the cellbench_cloud plugin) on free ports, real TLS with certs/out,
 * libmosquitto clients, JWTs made with libjwt, time from a virtual clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "brokertest.h"
#include "vclock.h"

#define PROJECT "bench-project"
#define CLIENT_PREFIX "projects/" PROJECT "/locations/europe-west1/registries/buses/devices/"

static struct bt_broker broker;
static struct vclock *clock_;
static char workdir[256];
static char registry_path[300];
static char clock_path[300];

static long vnow(void)
{
    return (long)(vclock_now_ms(clock_) / 1000);
}

/* Move virtual time on (e.g. past the 1 per second limits). */
static void jump_s(long seconds)
{
    vclock_jump(clock_, (int64_t)seconds * VCLOCK_NS_PER_S);
}

static const char *key_of(const char *device, const char *file)
{
    static char paths[4][512];
    static int slot;
    char *out = paths[slot++ % 4];
    char rel[256];
    snprintf(rel, sizeof rel, "devices/%s/%s", device, file);
    if (!realpath(bt_cert(rel), out))
        snprintf(out, 512, "%s", bt_cert(rel));
    return out;
}

/* A registry with two buses, a gateway (keys of depot-1) bound to bus-2, and a
 * device whose only key is bad/es256-other. */
static void write_registry(void)
{
    char other[512], text[8192];
    if (!realpath(bt_cert("bad/es256-other/es256-public.pem"), other))
        other[0] = '\0';
    snprintf(text, sizeof text,
             "{\"project\": \"" PROJECT "\", \"region\": \"europe-west1\", \"registry\": \"buses\",\n"
             " \"devices\": [\n"
             "  {\"id\": \"bus-1\", \"keys\": [{\"algorithm\": \"ES256\", \"file\": \"%s\"},\n"
             "                            {\"algorithm\": \"RS256\", \"file\": \"%s\"}]},\n"
             "  {\"id\": \"bus-2\", \"keys\": [{\"algorithm\": \"ES256\", \"file\": \"%s\"}]},\n"
             "  {\"id\": \"gw-1\", \"gateway\": true, \"bound\": [\"bus-2\"],\n"
             "   \"keys\": [{\"algorithm\": \"ES256\", \"file\": \"%s\"}]},\n"
             "  {\"id\": \"bus-3\", \"keys\": [{\"algorithm\": \"ES256\", \"file\": \"%s\"}]}],\n"
             " \"event_notification_configs\": [\n"
             "  {\"subfolder\": \"depot-arrived\", \"topic\": \"depot-arrivals\"},\n"
             "  {\"topic\": \"bus-events\"}],\n"
             " \"state_notification_topic\": \"bus-state\"}\n",
             key_of("bus-1", "es256-public.pem"), key_of("bus-1", "rs256-public.pem"),
             key_of("bus-2", "es256-public.pem"), key_of("depot-1", "es256-public.pem"), other);
    assert_int_equal(bt_write_file(registry_path, text), 0);
}

static int group_setup(void **state)
{
    if (bt_workdir(workdir, sizeof workdir, "cellbench-gcp") < 0)
        return -1;
    snprintf(registry_path, sizeof registry_path, "%s/registry.json", workdir);
    snprintf(clock_path, sizeof clock_path, "%s/clock", workdir);
    write_registry();
    clock_ = vclock_create(clock_path, vclock_now_ns(NULL), VCLOCK_RATE_ONE);
    if (!clock_)
        return -1;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/broker", workdir);
    broker.extra_args[0] = "--config-acks"; /* every rule must hold with it too */
    return bt_broker_start(&broker, "gcp", registry_path, clock_path, dir);
}

static int group_teardown(void **state)
{
    bt_broker_stop(&broker);
    vclock_close(clock_);
    return 0;
}

/* A device connection with a fresh ES256 token (or the given one). */
static struct bt_client *device_connect_token(const char *device, const char *token, int *connack)
{
    char id[300];
    snprintf(id, sizeof id, CLIENT_PREFIX "%s", device);
    struct bt_client *c = bt_client_new(id);
    assert_int_equal(bt_client_tls(c, NULL, NULL), 0);
    *connack = bt_client_connect(c, broker.port, "unused", token);
    return c;
}

static const char *es256_key(const char *device)
{
    return key_of(strcmp(device, "gw-1") == 0 ? "depot-1" : device, "es256-private.pem");
}

static struct bt_client *device_connect(const char *device)
{
    char *tok = bt_jwt("ES256", es256_key(device), PROJECT, vnow(), vnow() + 1200);
    int rc;
    struct bt_client *c = device_connect_token(device, tok, &rc);
    free(tok);
    assert_int_equal(rc, 0);
    return c;
}

/* Connect with token and return the CONNACK code (-1: closed without one). */
static int connack_for(const char *device, const char *token)
{
    int rc;
    bt_client_free(device_connect_token(device, token, &rc));
    return rc;
}

/* ------------------------------------------------------------ authentication */

static void test_connect_es256_and_rs256(void **state)
{
    char *es = bt_jwt("ES256", key_of("bus-1", "es256-private.pem"), PROJECT, vnow(), vnow() + 3600);
    char *rs = bt_jwt("RS256", key_of("bus-1", "rs256-private.pem"), PROJECT, vnow(), vnow() + 3600);
    assert_int_equal(connack_for("bus-1", es), 0);
    assert_int_equal(connack_for("bus-1", rs), 0);
    free(es);
    free(rs);
}

static void expect_refused(const char *device, char *token)
{
    assert_non_null(token);
    assert_int_equal(connack_for(device, token), 5);
    free(token);
}

static void test_refuses_bad_tokens(void **state)
{
    const char *es = key_of("bus-1", "es256-private.pem");
    long now = vnow();
    expect_refused("bus-1", bt_jwt("ES256", es, "other-project", now, now + 600));   /* aud */
    expect_refused("bus-1", bt_jwt("ES256", es, PROJECT, now - 7200, now - 3600));    /* expired */
    expect_refused("bus-1", bt_jwt("ES256", es, PROJECT, now, now + 25 * 3600));      /* 25 h */
    expect_refused("bus-1", bt_jwt("ES256", es, PROJECT, now + 3600, now + 4000));    /* future iat */
    expect_refused("bus-1", bt_jwt("ES256", es, PROJECT, 0, now + 600));              /* no iat */
    expect_refused("bus-1", bt_jwt("none", NULL, PROJECT, now, now + 600));           /* alg none */
    /* HS256 keyed with the device's public key PEM: the classic alg confusion */
    expect_refused("bus-1", bt_jwt("HS256", key_of("bus-1", "es256-public.pem"), PROJECT, now, now + 600));
    /* signed by a key that is not the device's */
    expect_refused("bus-1", bt_jwt("ES256", es256_key("bus-2"), PROJECT, now, now + 600));
    /* bus-2 has no RS256 key */
    expect_refused("bus-2", bt_jwt("RS256", key_of("bus-2", "rs256-private.pem"), PROJECT, now, now + 600));
    /* within the 10 minutes of skew: accepted */
    char *skewed = bt_jwt("ES256", es, PROJECT, now + 300, now + 900);
    assert_int_equal(connack_for("bus-1", skewed), 0);
    free(skewed);
}

static void test_refuses_bad_client_ids(void **state)
{
    char *tok = bt_jwt("ES256", key_of("bus-1", "es256-private.pem"), PROJECT, vnow(), vnow() + 600);
    const char *ids[] = {
        "projects/other/locations/europe-west1/registries/buses/devices/bus-1",
        "projects/" PROJECT "/locations/us-central1/registries/buses/devices/bus-1",
        CLIENT_PREFIX "bus-9", "bus-1",
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        struct bt_client *c = bt_client_new(ids[i]);
        assert_int_equal(bt_client_tls(c, NULL, NULL), 0);
        assert_int_equal(bt_client_connect(c, broker.port, "unused", tok), 5);
        bt_client_free(c);
    }
    free(tok);
}

static void test_token_expiry_closes_connection(void **state)
{
    struct bt_client *c = device_connect("bus-1");
    assert_int_equal(bt_client_subscribe(c, "/devices/bus-1/commands/#", 1), 1);
    assert_false(c->lost);
    /* exp = now + 1200; closed once exp + 10 min of skew has passed */
    jump_s(1200 + 600 + 5);
    assert_true(bt_client_wait_closed(c));
    bt_client_free(c);
}

/* ------------------------------------------------------------ topics */

static json_t *wait_pubsub(struct bt_client *admin, const char *topic)
{
    struct bt_msg m;
    assert_true(bt_client_wait_message(admin, topic, &m));
    json_t *j = json_loads(m.payload, 0, NULL);
    free(m.payload);
    assert_non_null(j);
    return j;
}

static const char *attr(json_t *msg, const char *name)
{
    return json_string_value(json_object_get(json_object_get(msg, "attributes"), name));
}

static void test_events_land_on_pubsub_topics(void **state)
{
    struct bt_client *admin = bt_admin_connect(&broker, "cloud-events");
    assert_non_null(admin);
    assert_int_equal(bt_client_subscribe(admin, "pubsub/#", 1), 1);
    struct bt_client *c = device_connect("bus-1");
    assert_int_equal(bt_client_publish(c, "/devices/bus-1/events", "{\"speed\":50}", 12, 1, false), 0);
    assert_int_equal(bt_client_publish(c, "/devices/bus-1/events/depot-arrived", "{\"depot\":1}", 11, 1, false), 0);
    json_t *ev = wait_pubsub(admin, "pubsub/bus-events");
    assert_string_equal(attr(ev, "deviceId"), "bus-1");
    assert_string_equal(attr(ev, "projectId"), PROJECT);
    assert_string_equal(attr(ev, "deviceRegistryId"), "buses");
    assert_string_equal(attr(ev, "deviceRegistryLocation"), "europe-west1");
    assert_null(attr(ev, "subFolder"));
    assert_string_equal(json_string_value(json_object_get(ev, "data")), "eyJzcGVlZCI6NTB9");
    json_decref(ev);
    ev = wait_pubsub(admin, "pubsub/depot-arrivals");
    assert_string_equal(attr(ev, "subFolder"), "depot-arrived");
    json_decref(ev);
    assert_false(c->lost);
    bt_client_free(c);
    bt_client_free(admin);
}

/* Publishing to topic closes the device's connection. */
static void expect_publish_closes(const char *device, const char *topic, int qos, bool retain)
{
    struct bt_client *c = device_connect(device);
    bt_client_publish(c, topic, "x", 1, qos, retain);
    assert_true(bt_client_wait_closed(c));
    bt_client_free(c);
}

static void test_forbidden_publishes_close_connection(void **state)
{
    expect_publish_closes("bus-1", "/devices/bus-2/events", 1, false); /* another device */
    expect_publish_closes("bus-1", "/bus/events", 0, false);           /* not a device topic */
    expect_publish_closes("bus-1", "/devices/bus-1/state/sub", 1, false);
    expect_publish_closes("bus-1", "/devices/bus-1/config", 1, false);
    expect_publish_closes("bus-1", "/devices/bus-1/commands", 1, false);
    expect_publish_closes("bus-1", "/devices/bus-1/events", 1, true);  /* retained */
    expect_publish_closes("bus-1", "/devices/bus-1/attach", 1, false); /* not a gateway */
}

static void test_qos2_publish_closes_connection(void **state)
{
    expect_publish_closes("bus-1", "/devices/bus-1/events", 2, false);
}

static void test_subscription_rules(void **state)
{
    struct bt_client *c = device_connect("bus-1");
    assert_int_equal(bt_client_subscribe(c, "/devices/bus-2/config", 1), 128);
    assert_int_equal(bt_client_subscribe(c, "/devices/bus-1/commands/bus-commands", 1), 128);
    assert_int_equal(bt_client_subscribe(c, "/devices/bus-1/#", 1), 128);
    assert_int_equal(bt_client_subscribe(c, "/devices/bus-1/events", 0), 128);
    assert_int_equal(bt_client_subscribe(c, "/devices/bus-1/commands/#", 0), 0);
    assert_int_equal(bt_client_subscribe(c, "/devices/bus-1/config", 2), 1); /* QoS 2 granted 1 */
    assert_false(c->lost);
    bt_client_free(c);
}

/* ------------------------------------------------------------ config */

static int64_t reply_int(char *reply, const char *key)
{
    assert_non_null(reply);
    json_t *j = json_loads(reply, 0, NULL);
    free(reply);
    assert_non_null(j);
    int64_t v = json_integer_value(json_object_get(j, key));
    json_decref(j);
    return v;
}

static char *reply_error(char *reply)
{
    assert_non_null(reply);
    json_t *j = json_loads(reply, 0, NULL);
    free(reply);
    const char *code = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
    char *out = strdup(code ? code : "(none)");
    json_decref(j);
    return out;
}

static void expect_error(char *reply, const char *code)
{
    char *got = reply_error(reply);
    assert_string_equal(got, code);
    free(got);
}

static void test_config_delivered_on_subscribe_and_on_update(void **state)
{
    struct bt_client *admin = bt_admin_connect(&broker, "cloud-config");
    assert_non_null(admin);
    jump_s(2);
    int64_t v = reply_int(bt_admin_request(admin, "cloud/gcp/devices/bus-2/config/set", "{\"threshold\":60}", 16),
                          "version");
    assert_true(v >= 2);
    struct bt_client *c = device_connect("bus-2");
    assert_int_equal(bt_client_subscribe(c, "/devices/bus-2/config", 1), 1);
    struct bt_msg m;
    assert_true(bt_client_wait_message(c, "/devices/bus-2/config", &m));
    assert_string_equal(m.payload, "{\"threshold\":60}");
    assert_int_equal(m.qos, 1);
    free(m.payload);
    jump_s(2);
    int64_t v2 = reply_int(bt_admin_request(admin, "cloud/gcp/devices/bus-2/config/set", "{\"threshold\":70}", 16),
                           "version");
    assert_int_equal(v2, v + 1);
    assert_true(bt_client_wait_message(c, "/devices/bus-2/config", &m));
    assert_string_equal(m.payload, "{\"threshold\":70}");
    free(m.payload);
    bt_client_free(c);
    bt_client_free(admin);
}

/* The version in an acknowledgement notice, after checking its ack time is now. */
static int64_t acked_version(struct bt_client *admin, const char *device)
{
    char topic[128];
    struct bt_msg m;
    snprintf(topic, sizeof topic, "cloud/gcp/notify/devices/%s/config-ack", device);
    assert_true(bt_client_wait_message(admin, topic, &m));
    json_t *j = json_loads(m.payload, 0, NULL);
    free(m.payload);
    assert_non_null(j);
    int64_t v = json_integer_value(json_object_get(j, "version"));
    int64_t at_ms = json_integer_value(json_object_get(j, "deviceAckTimeMs"));
    json_decref(j);
    assert_true(at_ms / 1000 >= vnow() - 5 && at_ms / 1000 <= vnow());
    return v;
}

/* The device's PUBACK of a QoS 1 config message acknowledges that version:
 * announced to the cloud side and kept for state/get (deviceAckTime). */
static void test_config_ack_seen_from_device_puback(void **state)
{
    struct bt_client *admin = bt_admin_connect(&broker, "cloud-acks");
    assert_non_null(admin);
    assert_int_equal(bt_client_subscribe(admin, "cloud/gcp/notify/#", 1), 1);
    jump_s(2);
    int64_t v = reply_int(bt_admin_request(admin, "cloud/gcp/devices/bus-1/config/set", "{\"a\":1}", 7), "version");
    struct bt_client *c = device_connect("bus-1"); /* libmosquitto PUBACKs what it receives */
    assert_int_equal(bt_client_subscribe(c, "/devices/bus-1/config", 1), 1);
    struct bt_msg m;
    assert_true(bt_client_wait_message(c, "/devices/bus-1/config", &m));
    free(m.payload);
    assert_int_equal(acked_version(admin, "bus-1"), v);
    jump_s(2);
    int64_t v2 = reply_int(bt_admin_request(admin, "cloud/gcp/devices/bus-1/config/set", "{\"a\":2}", 7), "version");
    assert_int_equal(v2, v + 1);
    assert_true(bt_client_wait_message(c, "/devices/bus-1/config", &m));
    free(m.payload);
    assert_int_equal(acked_version(admin, "bus-1"), v2);
    char *reply = bt_admin_request(admin, "cloud/gcp/devices/bus-1/state/get", NULL, 0);
    assert_non_null(reply);
    json_t *j = json_loads(reply, 0, NULL);
    free(reply);
    assert_int_equal(json_integer_value(json_object_get(j, "deviceAckVersion")), v2);
    assert_true(json_is_integer(json_object_get(j, "deviceAckTime")));
    json_decref(j);
    bt_client_free(c);
    bt_client_free(admin);
}

/* A QoS 0 config subscription has no PUBACK, so nothing is acknowledged. */
static void test_config_at_qos0_is_not_acknowledged(void **state)
{
    struct bt_client *admin = bt_admin_connect(&broker, "cloud-acks0");
    assert_non_null(admin);
    assert_int_equal(bt_client_subscribe(admin, "cloud/gcp/notify/#", 1), 1);
    struct bt_client *c = device_connect("bus-2");
    assert_int_equal(bt_client_subscribe(c, "/devices/bus-2/config", 0), 0);
    struct bt_msg m;
    assert_true(bt_client_wait_message(c, "/devices/bus-2/config", &m));
    assert_int_equal(m.qos, 0);
    free(m.payload);
    /* a round trip later (the admin's reply comes after the config went out), no notice */
    char *reply = bt_admin_request(admin, "cloud/gcp/devices/bus-2/config/get", NULL, 0);
    free(reply);
    assert_false(bt_client_has_message(admin, "cloud/gcp/notify/devices/bus-2/config-ack"));
    bt_client_free(c);
    bt_client_free(admin);
}

static void test_config_version_check_and_rate_limit(void **state)
{
    struct bt_client *admin = bt_admin_connect(&broker, "cloud-cas");
    assert_non_null(admin);
    jump_s(2);
    int64_t v = reply_int(bt_admin_request(admin, "cloud/gcp/devices/bus-3/config/set", "a", 1), "version");
    /* a second update within one second is refused */
    expect_error(bt_admin_request(admin, "cloud/gcp/devices/bus-3/config/set", "b", 1), "RESOURCE_EXHAUSTED");
    jump_s(2);
    char topic[128];
    snprintf(topic, sizeof topic, "cloud/gcp/devices/bus-3/config/set-if-version/%lld", (long long)v + 5);
    expect_error(bt_admin_request(admin, topic, "c", 1), "FAILED_PRECONDITION");
    snprintf(topic, sizeof topic, "cloud/gcp/devices/bus-3/config/set-if-version/%lld", (long long)v);
    assert_int_equal(reply_int(bt_admin_request(admin, topic, "d", 1), "version"), v + 1);
    expect_error(bt_admin_request(admin, "cloud/gcp/devices/nope-1/config/set", "e", 1), "NOT_FOUND");
    bt_client_free(admin);
}

/* ------------------------------------------------------------ commands and state */

static void test_commands_only_while_subscribed(void **state)
{
    struct bt_client *admin = bt_admin_connect(&broker, "cloud-commands");
    assert_non_null(admin);
    expect_error(bt_admin_request(admin, "cloud/gcp/devices/bus-2/commands/send/bus-commands", "{\"q\":1}", 7),
                 "FAILED_PRECONDITION");
    struct bt_client *c = device_connect("bus-2");
    expect_error(bt_admin_request(admin, "cloud/gcp/devices/bus-2/commands/send/bus-commands", "{\"q\":1}", 7),
                 "FAILED_PRECONDITION"); /* connected, not subscribed */
    assert_int_equal(bt_client_subscribe(c, "/devices/bus-2/commands/#", 1), 1);
    char *ok = bt_admin_request(admin, "cloud/gcp/devices/bus-2/commands/send/bus-commands", "{\"q\":1}", 7);
    assert_non_null(ok);
    assert_non_null(strstr(ok, "\"ok\""));
    free(ok);
    struct bt_msg m;
    assert_true(bt_client_wait_message(c, "/devices/bus-2/commands/bus-commands", &m));
    assert_string_equal(m.payload, "{\"q\":1}");
    assert_int_equal(m.qos, 1);
    free(m.payload);
    /* subscribed at QoS 0: commands come at QoS 0 */
    assert_int_equal(bt_client_subscribe(c, "/devices/bus-2/commands/#", 0), 0);
    free(bt_admin_request(admin, "cloud/gcp/devices/bus-2/commands/send", "x", 1));
    assert_true(bt_client_wait_message(c, "/devices/bus-2/commands", &m));
    assert_int_equal(m.qos, 0);
    free(m.payload);
    bt_client_free(c);
    bt_client_free(admin);
}

static void test_state_stored_and_limited_to_one_per_second(void **state)
{
    struct bt_client *admin = bt_admin_connect(&broker, "cloud-state");
    assert_non_null(admin);
    assert_int_equal(bt_client_subscribe(admin, "pubsub/bus-state", 1), 1);
    struct bt_client *c = device_connect("bus-1");
    assert_int_equal(bt_client_publish(c, "/devices/bus-1/state", "{\"door\":\"open\"}", 15, 1, false), 0);
    json_t *n = wait_pubsub(admin, "pubsub/bus-state");
    assert_string_equal(attr(n, "deviceId"), "bus-1");
    json_decref(n);
    char *reply = bt_admin_request(admin, "cloud/gcp/devices/bus-1/state/get", NULL, 0);
    assert_non_null(reply);
    assert_non_null(strstr(reply, "eyJkb29yIjoib3BlbiJ9")); /* base64 of the state */
    free(reply);
    jump_s(2);
    assert_int_equal(bt_client_publish(c, "/devices/bus-1/state", "{\"door\":\"shut\"}", 15, 1, false), 0);
    assert_false(c->lost);
    /* the next one within the same virtual second closes the connection */
    bt_client_publish(c, "/devices/bus-1/state", "{}", 2, 1, false);
    assert_true(bt_client_wait_closed(c));
    bt_client_free(c);
    bt_client_free(admin);
}

/* ------------------------------------------------------------ gateways */

static void test_gateway_attach_and_act_for_bound_device(void **state)
{
    struct bt_client *admin = bt_admin_connect(&broker, "cloud-gw");
    assert_non_null(admin);
    assert_int_equal(bt_client_subscribe(admin, "pubsub/bus-events", 1), 1);
    struct bt_client *gw = device_connect("gw-1");
    assert_int_equal(bt_client_subscribe(gw, "/devices/gw-1/errors", 0), 0);
    /* not yet attached: bus-2's topics are refused */
    assert_int_equal(bt_client_subscribe(gw, "/devices/bus-2/config", 1), 128);
    /* bus-3 is not bound: attach fails with an error message */
    assert_int_equal(bt_client_publish(gw, "/devices/bus-3/attach", "", 0, 1, false), 0);
    struct bt_msg m;
    assert_true(bt_client_wait_message(gw, "/devices/gw-1/errors", &m));
    assert_non_null(strstr(m.payload, "bus-3"));
    free(m.payload);
    /* attach bus-2 with its own JWT */
    char *tok = bt_jwt("ES256", es256_key("bus-2"), PROJECT, vnow(), vnow() + 600);
    char payload[1024];
    snprintf(payload, sizeof payload, "{\"authorization\":\"%s\"}", tok);
    free(tok);
    assert_int_equal(bt_client_publish(gw, "/devices/bus-2/attach", payload, (int)strlen(payload), 1, false), 0);
    assert_int_equal(bt_client_subscribe(gw, "/devices/bus-2/config", 1), 1);
    assert_true(bt_client_wait_message(gw, "/devices/bus-2/config", &m));
    free(m.payload);
    assert_int_equal(bt_client_publish(gw, "/devices/bus-2/events", "{}", 2, 1, false), 0);
    json_t *ev = wait_pubsub(admin, "pubsub/bus-events");
    assert_string_equal(attr(ev, "deviceId"), "bus-2");
    json_decref(ev);
    /* detach, then attach again by association (no JWT: bus-2 is bound) */
    assert_int_equal(bt_client_publish(gw, "/devices/bus-2/detach", "", 0, 1, false), 0);
    assert_int_equal(bt_client_publish(gw, "/devices/bus-2/attach", "", 0, 1, false), 0);
    assert_int_equal(bt_client_publish(gw, "/devices/bus-2/state", "{}", 2, 1, false), 0);
    /* an attach with a JWT of the wrong key fails */
    tok = bt_jwt("ES256", es256_key("bus-1"), PROJECT, vnow(), vnow() + 600);
    snprintf(payload, sizeof payload, "{\"authorization\":\"%s\"}", tok);
    free(tok);
    assert_int_equal(bt_client_publish(gw, "/devices/bus-2/detach", "", 0, 1, false), 0);
    assert_int_equal(bt_client_publish(gw, "/devices/bus-2/attach", payload, (int)strlen(payload), 1, false), 0);
    assert_true(bt_client_wait_message(gw, "/devices/gw-1/errors", &m));
    assert_non_null(strstr(m.payload, "GATEWAY_ATTACHMENT_ERROR"));
    free(m.payload);
    /* not attached: publishing for bus-2 closes the connection */
    bt_client_publish(gw, "/devices/bus-2/events", "{}", 2, 1, false);
    assert_true(bt_client_wait_closed(gw));
    bt_client_free(gw);
    bt_client_free(admin);
}

/* ------------------------------------------------------------ admin and restart */

/* The device list reply as JSON. */
static json_t *list_devices(struct bt_client *admin)
{
    char *reply = bt_admin_request(admin, "cloud/gcp/list-devices", NULL, 0);
    assert_non_null(reply);
    json_t *j = json_loads(reply, 0, NULL);
    free(reply);
    assert_non_null(j);
    return j;
}

/* The entry of device id in a device list reply. */
static json_t *listed(json_t *list, const char *id)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(list, "devices"), i, d) {
        if (strcmp(json_string_value(json_object_get(d, "id")), id) == 0)
            return d;
    }
    fail_msg("%s not listed", id);
    return NULL;
}

static int64_t listed_int(json_t *list, const char *id, const char *key)
{
    return json_integer_value(json_object_get(listed(list, id), key));
}

/* connected flags, and the last connection and disconnection stamped with the virtual time */
static void test_list_devices_shows_connection_status(void **state)
{
    struct bt_client *admin = bt_admin_connect(&broker, "cloud-list");
    assert_non_null(admin);
    int64_t before_ms = vnow() * 1000;
    struct bt_client *c = device_connect("bus-1");
    json_t *j = list_devices(admin);
    json_t *devs = json_object_get(j, "devices");
    assert_int_equal(json_array_size(devs), 4);
    size_t i;
    json_t *d;
    json_array_foreach(devs, i, d) {
        const char *id = json_string_value(json_object_get(d, "id"));
        assert_int_equal(json_is_true(json_object_get(d, "connected")), strcmp(id, "bus-1") == 0);
    }
    int64_t connected_ms = listed_int(j, "bus-1", "lastConnectMs");
    assert_true(connected_ms >= before_ms);
    assert_true(listed_int(j, "bus-1", "lastDisconnectMs") < connected_ms);
    assert_true(json_is_integer(json_object_get(listed(j, "bus-2"), "lastConnectMs"))); /* 0 if never */
    assert_true(json_integer_value(json_object_get(j, "nowMs")) >= connected_ms);
    json_decref(j);
    /* a disconnection two virtual seconds later is stamped then */
    jump_s(2);
    bt_client_free(c);
    int64_t disconnected_ms = 0;
    for (int tries = 0; tries < 200 && disconnected_ms <= connected_ms; tries++) {
        j = list_devices(admin);
        disconnected_ms = listed_int(j, "bus-1", "lastDisconnectMs");
        json_decref(j);
    }
    assert_true(disconnected_ms >= connected_ms + 2000);
    j = list_devices(admin);
    assert_false(json_is_true(json_object_get(listed(j, "bus-1"), "connected")));
    assert_int_equal(listed_int(j, "bus-1", "lastConnectMs"), connected_ms);
    json_decref(j);
    bt_client_free(admin);
}

static void test_restart_keeps_configs_and_states(void **state)
{
    struct bt_client *admin = bt_admin_connect(&broker, "cloud-restart");
    assert_non_null(admin);
    jump_s(2);
    int64_t v = reply_int(bt_admin_request(admin, "cloud/gcp/devices/bus-1/config/set", "kept", 4), "version");
    bt_client_free(admin);
    char dir[300];
    snprintf(dir, sizeof dir, "%s", broker.dir);
    assert_int_equal(bt_broker_stop(&broker), 0);
    assert_int_equal(bt_broker_start(&broker, "gcp", registry_path, clock_path, dir), 0);
    admin = bt_admin_connect(&broker, "cloud-restart");
    assert_non_null(admin);
    char *reply = bt_admin_request(admin, "cloud/gcp/devices/bus-1/config/get", NULL, 0);
    assert_non_null(reply);
    assert_non_null(strstr(reply, "a2VwdA==")); /* base64 of "kept" */
    assert_int_equal(reply_int(reply, "version"), v);
    reply = bt_admin_request(admin, "cloud/gcp/devices/bus-1/state/get", NULL, 0);
    assert_non_null(reply);
    assert_non_null(strstr(reply, "eyJkb29yIjoi")); /* the state stored before the restart */
    free(reply);
    bt_client_free(admin);
}

static void test_bad_registry_refused_with_path_and_reason(void **state)
{
    char bad[320], cmd[1200], out[2048] = "";
    snprintf(bad, sizeof bad, "%s/bad-registry.json", workdir);
    assert_int_equal(bt_write_file(bad, "{\"project\": \"p\", \"region\": \"r\", \"registry\": \"buses\",\n"
                                        " \"devices\": [{\"id\": \"bus-1\", \"keys\": [{\"algorithm\": \"HS256\", \"file\": \"x\"}]}]}\n"),
                     0);
    snprintf(cmd, sizeof cmd, "%s broker --profile gcp --port %d --registry %s --dir %s/bad 2>&1",
             bt_build_path("bin/cellbench"), bt_free_port(), bad, workdir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    assert_int_equal(WEXITSTATUS(status), 2);
    assert_non_null(strstr(out, "bad-registry.json: $.devices[0].keys[0].algorithm: unsupported algorithm"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_es256_and_rs256),
        cmocka_unit_test(test_refuses_bad_tokens),
        cmocka_unit_test(test_refuses_bad_client_ids),
        cmocka_unit_test(test_events_land_on_pubsub_topics),
        cmocka_unit_test(test_forbidden_publishes_close_connection),
        cmocka_unit_test(test_qos2_publish_closes_connection),
        cmocka_unit_test(test_subscription_rules),
        cmocka_unit_test(test_config_delivered_on_subscribe_and_on_update),
        cmocka_unit_test(test_config_version_check_and_rate_limit),
        cmocka_unit_test(test_config_ack_seen_from_device_puback),
        cmocka_unit_test(test_config_at_qos0_is_not_acknowledged),
        cmocka_unit_test(test_commands_only_while_subscribed),
        cmocka_unit_test(test_state_stored_and_limited_to_one_per_second),
        cmocka_unit_test(test_gateway_attach_and_act_for_bound_device),
        cmocka_unit_test(test_list_devices_shows_connection_status),
        cmocka_unit_test(test_token_expiry_closes_connection),
        cmocka_unit_test(test_restart_keeps_configs_and_states),
        cmocka_unit_test(test_bad_registry_refused_with_path_and_reason),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
