/*
 * cellbench_cloud — a Mosquitto 2.0.11 plugin (API v5) that makes the broker
 * behave like AWS IoT Core or Google Cloud IoT Core (harness/broker/README.md).
 *
 * Options (plugin_opt_<key> lines after the plugin line):
 *   profile          aws | gcp                         (required)
 *   registry         registry JSON file                (required)
 *   state_file       cloud state file (configs, states, shadows); memory only if absent
 *   clock            virtual clock file (harness/vclock.h); real time if absent
 *   admin_user       username of the privileged cloud application
 *   admin_password   its password (no admin login when absent)
 *   rate_limits      on (default) | off: aws 100 publishes/s per connection and 1 CONNECT/s per client id
 */
#include "plugin_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t cloud_now_ms(const struct cloud_ctx *ctx)
{
    return vclock_now_ms(ctx->clock);
}

int64_t cloud_now_s(const struct cloud_ctx *ctx)
{
    return vclock_now_ms(ctx->clock) / 1000;
}

struct cloud_conn *cloud_conn_find(struct cloud_ctx *ctx, const struct mosquitto *client)
{
    for (struct cloud_conn *c = ctx->conns; c; c = c->next) {
        if (c->client == client)
            return c;
    }
    return NULL;
}

/* Whether an admin filter could match a pubsub/... topic. */
static bool could_match_pubsub(const char *filter)
{
    return filter[0] == '#' || filter[0] == '+' || strncmp(filter, "pubsub", 6) == 0;
}

static void conn_remove(struct cloud_ctx *ctx, const struct mosquitto *client)
{
    for (struct cloud_conn **pp = &ctx->conns; *pp; pp = &(*pp)->next) {
        if ((*pp)->client == client) {
            struct cloud_conn *dead = *pp;
            *pp = dead->next;
            free(dead->kick_reason);
            aws_compiled_free(&dead->policy);
            for (int i = 0; i < dead->filter_count; i++) {
                ctx->pubsub_filters -= could_match_pubsub(dead->filters[i]);
                free(dead->filters[i]);
            }
            free(dead->filters);
            free(dead);
            return;
        }
    }
}

struct cloud_conn *cloud_conn_add(struct cloud_ctx *ctx, const struct mosquitto *client)
{
    conn_remove(ctx, client);
    struct cloud_conn *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->client = client;
    c->next = ctx->conns;
    ctx->conns = c;
    return c;
}

void cloud_publish(const char *clientid, const char *topic, const void *payload, size_t len,
                   int qos)
{
    int rc = mosquitto_broker_publish_copy(clientid, topic, (int)len, payload, qos, false, NULL);
    if (rc != MOSQ_ERR_SUCCESS)
        mosquitto_log_printf(MOSQ_LOG_WARNING, "cellbench_cloud: publish to %s failed: %s", topic,
                             mosquitto_strerror(rc));
}

void cloud_publish_json(const char *topic, json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(value);
    if (!text)
        return;
    cloud_publish(NULL, topic, text, strlen(text), 1);
    free(text);
}

bool cloud_is_admin_login(const struct cloud_ctx *ctx, const char *username, const char *password)
{
    return ctx->admin_user && ctx->admin_password && username && password &&
           strcmp(username, ctx->admin_user) == 0 && strcmp(password, ctx->admin_password) == 0;
}

bool cloud_admin_listens(const struct cloud_ctx *ctx, const char *topic)
{
    if (ctx->pubsub_filters == 0 && strncmp(topic, "pubsub", 6) == 0)
        return false; /* the common case, without walking every filter */
    for (const struct cloud_conn *c = ctx->conns; c; c = c->next) {
        for (int i = 0; c->admin && i < c->filter_count; i++) {
            bool match = false;
            if (mosquitto_topic_matches_sub(c->filters[i], topic, &match) == MOSQ_ERR_SUCCESS && match)
                return true;
        }
    }
    return false;
}

/* Keep an admin connection's filter list in step with its (un)subscriptions. */
static void admin_track_filter(struct cloud_ctx *ctx, struct cloud_conn *conn, int access, const char *filter)
{
    for (int i = 0; i < conn->filter_count; i++) {
        if (strcmp(conn->filters[i], filter) == 0) {
            if (access == MOSQ_ACL_UNSUBSCRIBE) {
                ctx->pubsub_filters -= could_match_pubsub(conn->filters[i]);
                free(conn->filters[i]);
                conn->filters[i] = conn->filters[--conn->filter_count];
            }
            return;
        }
    }
    if (access != MOSQ_ACL_SUBSCRIBE)
        return;
    char **grown = realloc(conn->filters, (size_t)(conn->filter_count + 1) * sizeof *grown);
    char *copy = strdup(filter);
    if (!grown || !copy) {
        free(copy);
        if (grown)
            conn->filters = grown;
        return;
    }
    conn->filters = grown;
    conn->filters[conn->filter_count++] = copy;
    ctx->pubsub_filters += could_match_pubsub(copy);
}

/* ------------------------------------------------------------ events */

static int on_basic_auth(int event, void *event_data, void *userdata)
{
    struct cloud_ctx *ctx = userdata;
    struct mosquitto_evt_basic_auth *ed = event_data;
    if (cloud_is_admin_login(ctx, ed->username, ed->password)) {
        cloud_conn_add(ctx, ed->client)->admin = true;
        return MOSQ_ERR_SUCCESS;
    }
    return ctx->profile == CLOUD_PROFILE_GCP ? gcp_on_auth(ctx, ed) : aws_on_auth(ctx, ed);
}

static int on_acl_check(int event, void *event_data, void *userdata)
{
    struct cloud_ctx *ctx = userdata;
    struct mosquitto_evt_acl_check *ed = event_data;
    struct cloud_conn *conn = cloud_conn_find(ctx, ed->client);
    if (!conn)
        return MOSQ_ERR_ACL_DENIED;
    if (conn->admin) {
        if (ed->access == MOSQ_ACL_SUBSCRIBE || ed->access == MOSQ_ACL_UNSUBSCRIBE)
            admin_track_filter(ctx, conn, ed->access, ed->topic);
        return MOSQ_ERR_SUCCESS;
    }
    return ctx->profile == CLOUD_PROFILE_GCP ? gcp_on_acl(ctx, conn, ed) : aws_on_acl(ctx, conn, ed);
}

static int on_message(int event, void *event_data, void *userdata)
{
    struct cloud_ctx *ctx = userdata;
    struct mosquitto_evt_message *ed = event_data;
    struct cloud_conn *conn = cloud_conn_find(ctx, ed->client);
    if (!conn)
        return MOSQ_ERR_ACL_DENIED;
    if (conn->admin) {
        if (strncmp(ed->topic, CLOUD_ADMIN_PREFIX, strlen(CLOUD_ADMIN_PREFIX)) != 0)
            return MOSQ_ERR_SUCCESS;
        return ctx->profile == CLOUD_PROFILE_GCP ? gcp_on_admin(ctx, ed) : aws_on_admin(ctx, ed);
    }
    return ctx->profile == CLOUD_PROFILE_GCP ? gcp_on_message(ctx, conn, ed)
                                             : aws_on_message(ctx, conn, ed);
}

static int on_disconnect(int event, void *event_data, void *userdata)
{
    struct cloud_ctx *ctx = userdata;
    struct mosquitto_evt_disconnect *ed = event_data;
    struct cloud_conn *conn = cloud_conn_find(ctx, ed->client);
    if (conn && ctx->profile == CLOUD_PROFILE_AWS)
        aws_on_disconnect(ctx, conn);
    else if (conn && ctx->profile == CLOUD_PROFILE_GCP)
        gcp_on_disconnect(ctx, conn);
    conn_remove(ctx, ed->client);
    return MOSQ_ERR_SUCCESS;
}

/*
 * Whether a new virtual second began since the last periodic pass. Virtual,
 * not real, time: at a high clock rate a real 100 ms is minutes of trip time,
 * and an expired token must be noticed within a trip second.
 */
static bool periodic_due(struct cloud_ctx *ctx)
{
    int64_t now_s = cloud_now_s(ctx);
    if (now_s == ctx->last_periodic_s)
        return false;
    ctx->last_periodic_s = now_s;
    return true;
}

static int on_tick(int event, void *event_data, void *userdata)
{
    struct cloud_ctx *ctx = userdata;
    for (struct cloud_conn *c = ctx->conns; c; c = c->next)
        c->wildcard_sub_pending = false; /* the retained burst of a SUBSCRIBE is over */
    /* TICK comes every loop pass; token expiry needs looking at only once a
     * virtual second (the broker itself waits up to 100 ms real between passes
     * when idle, so an idle broker at a high rate still notices late) */
    if (ctx->ack_log) /* every pass: the ack time is the virtual time it is seen */
        gcp_follow_acks(ctx);
    if (ctx->profile == CLOUD_PROFILE_GCP && periodic_due(ctx))
        gcp_on_tick(ctx);
    return MOSQ_ERR_SUCCESS;
}

/* ------------------------------------------------------------ life cycle */

static const struct {
    int event;
    MOSQ_FUNC_generic_callback fn;
} callbacks[] = {
    { MOSQ_EVT_BASIC_AUTH, on_basic_auth }, { MOSQ_EVT_ACL_CHECK, on_acl_check },
    { MOSQ_EVT_MESSAGE, on_message },       { MOSQ_EVT_DISCONNECT, on_disconnect },
    { MOSQ_EVT_TICK, on_tick },
};
#define CALLBACK_COUNT (sizeof callbacks / sizeof callbacks[0])

static const char *option(struct mosquitto_opt *opts, int count, const char *key)
{
    for (int i = 0; i < count; i++) {
        if (opts[i].key && strcmp(opts[i].key, key) == 0)
            return opts[i].value;
    }
    return NULL;
}

static void ctx_free(struct cloud_ctx *ctx)
{
    while (ctx->conns)
        conn_remove(ctx, ctx->conns->client);
    aws_free(ctx);
    free(ctx->gcp_presence);
    if (ctx->ack_log) {
        gcp_log_follow_close(ctx->ack_log);
        free(ctx->ack_log);
    }
    cloud_registry_free(ctx->reg);
    cloud_store_close(ctx->store);
    vclock_close(ctx->clock);
    free(ctx->admin_user);
    free(ctx->admin_password);
    free(ctx);
}

/* Read the options into ctx; logs and returns -1 on a problem. */
static int ctx_configure(struct cloud_ctx *ctx, struct mosquitto_opt *opts, int count)
{
    char err[1024];
    const char *profile = option(opts, count, "profile");
    const char *registry = option(opts, count, "registry");
    const char *clock = option(opts, count, "clock");
    if (cloud_profile_parse(profile, &ctx->profile) < 0 || !registry) {
        mosquitto_log_printf(MOSQ_LOG_ERR,
                             "cellbench_cloud: plugin_opt_profile (aws|gcp) and plugin_opt_registry are required");
        return -1;
    }
    ctx->reg = cloud_registry_load(registry, ctx->profile, err, sizeof err);
    if (!ctx->reg) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "cellbench_cloud: bad registry: %s", err);
        return -1;
    }
    if (clock && !(ctx->clock = vclock_open(clock))) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "cellbench_cloud: cannot open clock file %s", clock);
        return -1;
    }
    ctx->store = cloud_store_open(option(opts, count, "state_file"), err, sizeof err);
    if (!ctx->store) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "cellbench_cloud: bad state file: %s", err);
        return -1;
    }
    const char *user = option(opts, count, "admin_user");
    const char *password = option(opts, count, "admin_password");
    ctx->admin_user = user ? strdup(user) : NULL;
    ctx->admin_password = password ? strdup(password) : NULL;
    const char *limits = option(opts, count, "rate_limits");
    ctx->rate_limits = !limits || strcmp(limits, "off") != 0;
    const char *ack_log = option(opts, count, "config_ack_log");
    if (ack_log && ctx->profile == CLOUD_PROFILE_GCP) {
        ctx->ack_log = calloc(1, sizeof *ctx->ack_log);
        if (!ctx->ack_log || gcp_log_follow_init(ctx->ack_log, ack_log) < 0) {
            mosquitto_log_printf(MOSQ_LOG_ERR, "cellbench_cloud: out of memory");
            return -1;
        }
    }
    return 0;
}

/** Plugin API version negotiation: this plugin speaks version 5 only. */
int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
    for (int i = 0; i < supported_version_count; i++) {
        if (supported_versions[i] == 5)
            return 5;
    }
    return -1;
}

/** Load the registry and register the event callbacks. */
int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                          struct mosquitto_opt *options, int option_count)
{
    struct cloud_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return MOSQ_ERR_NOMEM;
    ctx->pid = identifier;
    if (ctx_configure(ctx, options, option_count) < 0) {
        ctx_free(ctx);
        return MOSQ_ERR_INVAL;
    }
    for (size_t i = 0; i < CALLBACK_COUNT; i++) {
        int rc = mosquitto_callback_register(identifier, callbacks[i].event, callbacks[i].fn, NULL, ctx);
        if (rc != MOSQ_ERR_SUCCESS) {
            for (size_t j = 0; j < i; j++)
                mosquitto_callback_unregister(identifier, callbacks[j].event, callbacks[j].fn, NULL);
            ctx_free(ctx);
            return rc;
        }
    }
    *userdata = ctx;
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "cellbench_cloud: %s profile ready",
                         ctx->profile == CLOUD_PROFILE_GCP ? "gcp" : "aws");
    return MOSQ_ERR_SUCCESS;
}

/** Unregister the callbacks and free everything. */
int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
    struct cloud_ctx *ctx = userdata;
    if (!ctx)
        return MOSQ_ERR_SUCCESS;
    for (size_t i = 0; i < CALLBACK_COUNT; i++)
        mosquitto_callback_unregister(ctx->pid, callbacks[i].event, callbacks[i].fn, NULL);
    ctx_free(ctx);
    return MOSQ_ERR_SUCCESS;
}
