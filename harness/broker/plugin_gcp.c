/*
 * plugin_gcp — the Google Cloud IoT Core MQTT bridge rules (cloud-rules.md §2)
 * and the cloud application's side of them on the admin topics
 * (harness/broker/README.md §Admin topics).
 */
#include "plugin_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcp_jwt.h"
#include "gcp_topics.h"

#define GCP_EVENT_MAX_BYTES (256 * 1024)
#define GCP_STATE_MAX_BYTES (64 * 1024)
#define GCP_CONFIG_MAX_BYTES (64 * 1024)
#define GCP_COMMAND_MAX_BYTES (256 * 1024)
#define GCP_MIN_UPDATE_INTERVAL_MS 1000
#define GCP_ADMIN_PREFIX "cloud/gcp/"
#define GCP_REPLY_PREFIX "cloud/gcp/reply/"

/* ------------------------------------------------------------ helpers */

static const char *conn_id(const struct cloud_conn *conn)
{
    const char *id = mosquitto_client_id(conn->client);
    return id ? id : "(no id)";
}

/* Log why a device connection is being closed and return the closing code. */
static int refuse(const struct cloud_conn *conn, const char *topic, const char *reason)
{
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "cellbench_cloud: gcp: closing %s: %s: %s", conn_id(conn),
                         topic, reason);
    return MOSQ_ERR_PROTOCOL;
}

static struct gcp_link *link_for(struct cloud_conn *conn, const char *device_id)
{
    for (int i = 0; i < conn->link_count; i++) {
        if (strcmp(conn->links[i].device->id, device_id) == 0)
            return &conn->links[i];
    }
    return NULL;
}

/* The presence record of a registry device (made on first use); NULL when out of memory. */
static struct gcp_presence *presence_of(struct cloud_ctx *ctx, const struct gcp_device *dev)
{
    if (!ctx->gcp_presence)
        ctx->gcp_presence = calloc((size_t)ctx->reg->gcp.device_count + 1, sizeof *ctx->gcp_presence);
    return ctx->gcp_presence ? &ctx->gcp_presence[dev - ctx->reg->gcp.devices] : NULL;
}

/* Stamp a device's connection (true) or disconnection with the virtual time now. */
static void presence_stamp(struct cloud_ctx *ctx, const struct gcp_device *dev, bool connected)
{
    struct gcp_presence *p = presence_of(ctx, dev);
    if (!p)
        return;
    if (connected)
        p->connected_ms = cloud_now_ms(ctx);
    else
        p->disconnected_ms = cloud_now_ms(ctx);
}

static void link_add(struct cloud_conn *conn, const struct gcp_device *dev)
{
    if (link_for(conn, dev->id) || conn->link_count >= GCP_MAX_LINKS)
        return;
    struct gcp_link *l = &conn->links[conn->link_count++];
    memset(l, 0, sizeof *l);
    l->device = dev;
    l->config_qos = -1;
    l->commands_qos = -1;
    l->last_state_ms = INT64_MIN;
}

static void link_remove(struct cloud_conn *conn, const char *device_id)
{
    struct gcp_link *l = link_for(conn, device_id);
    if (!l || l == &conn->links[0]) /* the connection's own device stays */
        return;
    *l = conn->links[--conn->link_count];
}

/* A stable numeric id per device, like Cloud IoT's deviceNumId. */
static long long device_num_id(const struct cloud_ctx *ctx, const struct gcp_device *dev)
{
    return 2820000000000000LL + (long long)(dev - ctx->reg->gcp.devices);
}

/* Forward a device message to Pub/Sub topic `pubsub/<topic>` as JSON. */
static void pubsub_forward(struct cloud_ctx *ctx, const char *pubsub_topic,
                           const struct gcp_device *dev, const char *subfolder, const void *data,
                           size_t len)
{
    const struct gcp_registry *g = &ctx->reg->gcp;
    char num[32], topic[1024];
    if (ctx->pubsub_filters == 0)
        return; /* nobody subscribes to any Pub/Sub topic */
    snprintf(topic, sizeof topic, "pubsub/%s", pubsub_topic);
    if (!cloud_admin_listens(ctx, topic))
        return; /* a Pub/Sub topic without subscription drops its messages */
    snprintf(num, sizeof num, "%lld", device_num_id(ctx, dev));
    json_t *attrs = json_pack("{s:s, s:s, s:s, s:s, s:s}", "deviceId", dev->id, "deviceNumId", num,
                              "deviceRegistryLocation", g->region, "deviceRegistryId", g->registry,
                              "projectId", g->project);
    if (subfolder && subfolder[0])
        json_object_set_new(attrs, "subFolder", json_string(subfolder));
    char *b64 = cloud_base64(data, len);
    json_t *msg = json_pack("{s:s, s:o, s:I}", "data", b64, "attributes", attrs, "publishTimeMs",
                            (json_int_t)cloud_now_ms(ctx));
    free(b64);
    cloud_publish_json(topic, msg);
}

/* The latest config of a device: the stored one, or version 1, empty. */
static void latest_config(struct cloud_ctx *ctx, const char *device, struct cloud_blob *out)
{
    if (cloud_store_get_blob(ctx->store, "config", device, out) == 0)
        return;
    memset(out, 0, sizeof *out);
    out->version = 1;
}

static void deliver_config(const struct cloud_conn *conn, struct gcp_link *l,
                           const struct cloud_blob *cfg)
{
    char topic[300];
    if (l->config_qos >= 1) { /* the version its "Sending PUBLISH" log line will stand for */
        if (l->config_queued_count == (int)(sizeof l->config_queued / sizeof l->config_queued[0]))
            memmove(l->config_queued, l->config_queued + 1, sizeof l->config_queued - sizeof l->config_queued[0]),
                l->config_queued_count--;
        l->config_queued[l->config_queued_count++] = cfg->version;
    }
    snprintf(topic, sizeof topic, "/devices/%s/config", l->device->id);
    cloud_publish(conn_id(conn), topic, cfg->data ? (const void *)cfg->data : "", cfg->len,
                  l->config_qos);
}

/* Tell a gateway about a failure concerning one of its devices. */
static void gateway_error(const struct cloud_conn *conn, const char *device_id, const char *type,
                          const char *description)
{
    const struct gcp_link *own = &conn->links[0];
    if (!own->errors)
        return;
    char topic[300];
    snprintf(topic, sizeof topic, "/devices/%s/errors", own->device->id);
    json_t *err = json_pack("{s:s, s:s, s:s}", "error_type", type, "description", description,
                            "device_id", device_id);
    char *text = json_dumps(err, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(err);
    cloud_publish(conn_id(conn), topic, text, strlen(text), 0);
    free(text);
}

/* ------------------------------------------------------------ connect */

int gcp_on_auth(struct cloud_ctx *ctx, struct mosquitto_evt_basic_auth *ed)
{
    const struct gcp_registry *g = &ctx->reg->gcp;
    const char *client_id = mosquitto_client_id(ed->client);
    char device[GCP_ID_MAX + 1];
    if (!gcp_client_id_parse(client_id, g->project, g->region, g->registry, device, sizeof device)) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE,
                             "cellbench_cloud: gcp: refused %s: client id must be "
                             "projects/%s/locations/%s/registries/%s/devices/<device>",
                             client_id ? client_id : "(none)", g->project, g->region, g->registry);
        return MOSQ_ERR_AUTH;
    }
    const struct gcp_device *dev = gcp_registry_device(g, device);
    if (!dev) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "cellbench_cloud: gcp: refused %s: unknown device",
                             client_id);
        return MOSQ_ERR_AUTH;
    }
    int64_t exp = 0;
    enum gcp_jwt_result r = gcp_jwt_check(ed->password, dev, g->project, cloud_now_s(ctx), &exp);
    if (r != GCP_JWT_OK) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "cellbench_cloud: gcp: refused %s: %s", client_id,
                             gcp_jwt_result_str(r));
        return MOSQ_ERR_AUTH;
    }
    struct cloud_conn *conn = cloud_conn_add(ctx, ed->client);
    conn->device = dev;
    conn->token_exp_s = exp;
    link_add(conn, dev);
    presence_stamp(ctx, dev, true);
    return MOSQ_ERR_SUCCESS;
}

/* ------------------------------------------------------------ gateways */

/* The JWT of an attach payload {"authorization": "..."}; NULL when absent. */
static char *attach_token(const void *payload, uint32_t len)
{
    if (len == 0)
        return NULL;
    json_t *root = json_loadb(payload, len, 0, NULL);
    const char *tok = json_string_value(json_object_get(root, "authorization"));
    char *copy = tok ? strdup(tok) : NULL;
    json_decref(root);
    return copy;
}

static int gateway_attach(struct cloud_ctx *ctx, struct cloud_conn *conn, const struct gcp_topic *t,
                          const struct mosquitto_evt_acl_check *ed)
{
    const struct gcp_device *dev = gcp_registry_device(&ctx->reg->gcp, t->device);
    if (!dev || !gcp_device_is_bound(conn->device, t->device)) {
        gateway_error(conn, t->device, "GATEWAY_DEVICE_NOT_BOUND", "device is not bound to this gateway");
        return MOSQ_ERR_ACL_DENIED;
    }
    char *token = attach_token(ed->payload, ed->payloadlen);
    if (token) {
        enum gcp_jwt_result r = gcp_jwt_check(token, dev, ctx->reg->gcp.project, cloud_now_s(ctx), NULL);
        free(token);
        if (r != GCP_JWT_OK) {
            gateway_error(conn, t->device, "GATEWAY_ATTACHMENT_ERROR", gcp_jwt_result_str(r));
            return MOSQ_ERR_ACL_DENIED;
        }
    }
    link_add(conn, dev);
    presence_stamp(ctx, dev, true);
    return MOSQ_ERR_SUCCESS;
}

static int gateway_control(struct cloud_ctx *ctx, struct cloud_conn *conn, const struct gcp_topic *t,
                           const struct mosquitto_evt_acl_check *ed)
{
    if (!conn->device->gateway)
        return refuse(conn, ed->topic, "only gateways may attach or detach devices");
    if (t->kind == GCP_TOPIC_DETACH) {
        struct gcp_link *l = link_for(conn, t->device);
        if (l && l != &conn->links[0])
            presence_stamp(ctx, l->device, false);
        link_remove(conn, t->device);
        return MOSQ_ERR_SUCCESS;
    }
    return gateway_attach(ctx, conn, t, ed);
}

/* ------------------------------------------------------------ ACL */

static int acl_write(struct cloud_ctx *ctx, struct cloud_conn *conn,
                     const struct mosquitto_evt_acl_check *ed)
{
    struct gcp_topic t;
    gcp_topic_parse(ed->topic, &t);
    if (ed->retain)
        return refuse(conn, ed->topic, "retained messages are not supported");
    if (t.kind == GCP_TOPIC_ATTACH || t.kind == GCP_TOPIC_DETACH)
        return gateway_control(ctx, conn, &t, ed);
    struct gcp_link *l = t.kind == GCP_TOPIC_OTHER ? NULL : link_for(conn, t.device);
    if (t.kind == GCP_TOPIC_EVENTS && l) {
        if (ed->payloadlen > GCP_EVENT_MAX_BYTES)
            return refuse(conn, ed->topic, "telemetry over 256 KB");
        if (!gcp_registry_event_topic(&ctx->reg->gcp, t.subfolder))
            return refuse(conn, ed->topic, "no Pub/Sub topic configured for these events");
        return MOSQ_ERR_SUCCESS;
    }
    if (t.kind == GCP_TOPIC_STATE && l) {
        int64_t now = cloud_now_ms(ctx);
        if (ed->payloadlen > GCP_STATE_MAX_BYTES)
            return refuse(conn, ed->topic, "state over 64 KB");
        if (l->last_state_ms != INT64_MIN && now - l->last_state_ms < GCP_MIN_UPDATE_INTERVAL_MS)
            return refuse(conn, ed->topic, "more than 1 state update per second");
        l->last_state_ms = now;
        return MOSQ_ERR_SUCCESS;
    }
    return refuse(conn, ed->topic, l || t.kind == GCP_TOPIC_OTHER
                                       ? "devices may not publish to this topic"
                                       : "topic of a device that is not attached");
}

static int acl_subscribe(struct cloud_ctx *ctx, struct cloud_conn *conn,
                         const struct mosquitto_evt_acl_check *ed)
{
    struct gcp_topic t;
    gcp_topic_parse(ed->topic, &t);
    struct gcp_link *l = t.kind == GCP_TOPIC_OTHER ? NULL : link_for(conn, t.device);
    if (l && t.kind == GCP_TOPIC_CONFIG) {
        struct cloud_blob cfg;
        l->config_qos = ed->qos;
        latest_config(ctx, l->device->id, &cfg);
        deliver_config(conn, l, &cfg); /* queued: goes out right after the SUBACK */
        free(cfg.data);
        return MOSQ_ERR_SUCCESS;
    }
    if (l && t.kind == GCP_TOPIC_COMMANDS_ALL) {
        l->commands_qos = ed->qos;
        return MOSQ_ERR_SUCCESS;
    }
    if (l && t.kind == GCP_TOPIC_ERRORS && l == &conn->links[0] && conn->device->gateway) {
        l->errors = true;
        return MOSQ_ERR_SUCCESS;
    }
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "cellbench_cloud: gcp: %s may not subscribe to %s",
                         conn_id(conn), ed->topic);
    return MOSQ_ERR_ACL_DENIED;
}

static int acl_unsubscribe(struct cloud_conn *conn, const struct mosquitto_evt_acl_check *ed)
{
    struct gcp_topic t;
    gcp_topic_parse(ed->topic, &t);
    struct gcp_link *l = t.kind == GCP_TOPIC_OTHER ? NULL : link_for(conn, t.device);
    if (l && t.kind == GCP_TOPIC_CONFIG)
        l->config_qos = -1;
    if (l && t.kind == GCP_TOPIC_COMMANDS_ALL)
        l->commands_qos = -1;
    if (l && t.kind == GCP_TOPIC_ERRORS)
        l->errors = false;
    return MOSQ_ERR_SUCCESS;
}

static int acl_read(struct cloud_conn *conn, const struct mosquitto_evt_acl_check *ed)
{
    struct gcp_topic t;
    gcp_topic_parse(ed->topic, &t);
    const struct gcp_link *l = t.kind == GCP_TOPIC_OTHER ? NULL : link_for(conn, t.device);
    if (!l || ed->retain)
        return MOSQ_ERR_ACL_DENIED;
    if ((t.kind == GCP_TOPIC_CONFIG && l->config_qos >= 0) || (t.kind == GCP_TOPIC_COMMAND && l->commands_qos >= 0) ||
        (t.kind == GCP_TOPIC_ERRORS && l->errors))
        return MOSQ_ERR_SUCCESS;
    return MOSQ_ERR_ACL_DENIED;
}

int gcp_on_acl(struct cloud_ctx *ctx, struct cloud_conn *conn, struct mosquitto_evt_acl_check *ed)
{
    switch (ed->access) {
    case MOSQ_ACL_WRITE: return acl_write(ctx, conn, ed);
    case MOSQ_ACL_SUBSCRIBE: return acl_subscribe(ctx, conn, ed);
    case MOSQ_ACL_UNSUBSCRIBE: return acl_unsubscribe(conn, ed);
    case MOSQ_ACL_READ: return acl_read(conn, ed);
    default: return MOSQ_ERR_ACL_DENIED;
    }
}

/* ------------------------------------------------------------ messages */

int gcp_on_message(struct cloud_ctx *ctx, struct cloud_conn *conn, struct mosquitto_evt_message *ed)
{
    struct gcp_topic t;
    gcp_topic_parse(ed->topic, &t);
    const struct gcp_link *l = t.kind == GCP_TOPIC_OTHER ? NULL : link_for(conn, t.device);
    if (!l)
        return MOSQ_ERR_SUCCESS; /* attach / detach: already handled in the ACL check */
    if (t.kind == GCP_TOPIC_EVENTS) {
        const char *topic = gcp_registry_event_topic(&ctx->reg->gcp, t.subfolder);
        if (topic)
            pubsub_forward(ctx, topic, l->device, t.subfolder, ed->payload, ed->payloadlen);
    } else if (t.kind == GCP_TOPIC_STATE) {
        struct cloud_blob old;
        int64_t version = 1;
        if (cloud_store_get_blob(ctx->store, "state", l->device->id, &old) == 0) {
            version = old.version + 1;
            free(old.data);
        }
        if (cloud_store_put_blob(ctx->store, "state", l->device->id, ed->payload, ed->payloadlen,
                                 cloud_now_ms(ctx), version) < 0)
            mosquitto_log_printf(MOSQ_LOG_ERR, "cellbench_cloud: cannot write the state file");
        if (ctx->reg->gcp.state_topic)
            pubsub_forward(ctx, ctx->reg->gcp.state_topic, l->device, "", ed->payload, ed->payloadlen);
    }
    return MOSQ_ERR_SUCCESS;
}

/* ------------------------------------------------------------ token expiry */

void gcp_on_tick(struct cloud_ctx *ctx)
{
    int64_t now = cloud_now_s(ctx);
    char *expired[64];
    int n = 0;
    for (struct cloud_conn *c = ctx->conns; c && n < 64; c = c->next) {
        if (c->token_exp_s && !c->kicked && now > c->token_exp_s + GCP_JWT_SKEW_S) {
            const char *id = mosquitto_client_id(c->client);
            c->kicked = true;
            if (id)
                expired[n++] = strdup(id);
        }
    }
    /* kick after the walk: a kick may run the DISCONNECT callback at once */
    for (int i = 0; i < n; i++) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "cellbench_cloud: gcp: closing %s: token expired", expired[i]);
        mosquitto_kick_client_by_clientid(expired[i], false);
        free(expired[i]);
    }
}

void gcp_on_disconnect(struct cloud_ctx *ctx, struct cloud_conn *conn)
{
    for (int i = 0; i < conn->link_count; i++)
        presence_stamp(ctx, conn->links[i].device, false);
}

/* ------------------------------------------------------------ admin side */

/* Reply to request topic cloud/gcp/<rest> on cloud/gcp/reply/<rest>. */
static void admin_reply(const char *request_topic, json_t *body)
{
    char topic[1024];
    snprintf(topic, sizeof topic, "%s%s", GCP_REPLY_PREFIX, request_topic + strlen(GCP_ADMIN_PREFIX));
    cloud_publish_json(topic, body);
}

static void admin_error(const char *request_topic, const char *code, const char *message)
{
    admin_reply(request_topic, json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message));
}

static void broadcast_config(struct cloud_ctx *ctx, const char *device, const struct cloud_blob *cfg)
{
    for (struct cloud_conn *c = ctx->conns; c; c = c->next) {
        struct gcp_link *l = c->admin ? NULL : link_for(c, device);
        if (l && l->config_qos >= 0)
            deliver_config(c, l, cfg);
    }
}

/* Check a config update; returns the error code, or NULL when it may go ahead. */
static const char *config_update_error(struct cloud_ctx *ctx, const struct cloud_blob *cur,
                                       size_t len, int64_t version_to_update)
{
    if (len > GCP_CONFIG_MAX_BYTES)
        return "INVALID_ARGUMENT";
    if (version_to_update && version_to_update != cur->version)
        return "FAILED_PRECONDITION";
    if (cur->updated_ms && cloud_now_ms(ctx) - cur->updated_ms < GCP_MIN_UPDATE_INTERVAL_MS)
        return "RESOURCE_EXHAUSTED";
    return NULL;
}

static void admin_config_set(struct cloud_ctx *ctx, const struct gcp_device *dev,
                             const struct mosquitto_evt_message *ed, int64_t version_to_update)
{
    struct cloud_blob cur;
    latest_config(ctx, dev->id, &cur);
    free(cur.data);
    const char *error = config_update_error(ctx, &cur, ed->payloadlen, version_to_update);
    if (error) {
        admin_error(ed->topic, error, "config not updated");
        return;
    }
    struct cloud_blob next = { .version = cur.version + 1, .updated_ms = cloud_now_ms(ctx),
                               .data = ed->payload, .len = ed->payloadlen };
    if (cloud_store_put_blob(ctx->store, "config", dev->id, next.data, next.len, next.updated_ms,
                             next.version) < 0) {
        admin_error(ed->topic, "INTERNAL", "cannot write the state file");
        return;
    }
    broadcast_config(ctx, dev->id, &next);
    admin_reply(ed->topic, json_pack("{s:I}", "version", (json_int_t)next.version));
}

static void admin_command(struct cloud_ctx *ctx, const struct gcp_device *dev,
                          const struct mosquitto_evt_message *ed, const char *subfolder)
{
    char topic[1024];
    if (ed->payloadlen > GCP_COMMAND_MAX_BYTES || strpbrk(subfolder, "+#") || strlen(subfolder) > 256) {
        admin_error(ed->topic, "INVALID_ARGUMENT", "bad command subfolder or payload over 256 KB");
        return;
    }
    snprintf(topic, sizeof topic, "/devices/%s/commands%s%s", dev->id, subfolder[0] ? "/" : "", subfolder);
    int sent = 0;
    for (struct cloud_conn *c = ctx->conns; c; c = c->next) {
        const struct gcp_link *l = c->admin ? NULL : link_for(c, dev->id);
        if (l && l->commands_qos >= 0) { /* never above the granted QoS */
            cloud_publish(conn_id(c), topic, ed->payload, ed->payloadlen, l->commands_qos);
            sent++;
        }
    }
    if (!sent) {
        admin_error(ed->topic, "FAILED_PRECONDITION", "device is not connected and subscribed to commands");
        return;
    }
    admin_reply(ed->topic, json_pack("{s:b}", "ok", 1));
}

static json_t *blob_json(struct cloud_ctx *ctx, const char *kind, const char *device)
{
    struct cloud_blob b;
    if (strcmp(kind, "config") == 0)
        latest_config(ctx, device, &b);
    else if (cloud_store_get_blob(ctx->store, kind, device, &b) < 0)
        return json_null();
    char *b64 = cloud_base64(b.data ? (const void *)b.data : "", b.len);
    json_t *o = json_pack("{s:I, s:I, s:s}", "version", (json_int_t)b.version, "updateTimeMs",
                          (json_int_t)b.updated_ms, "data", b64);
    free(b64);
    free(b.data);
    return o;
}

static bool device_connected(struct cloud_ctx *ctx, const char *device)
{
    for (struct cloud_conn *c = ctx->conns; c; c = c->next) {
        if (!c->admin && link_for(c, device))
            return true;
    }
    return false;
}

static void admin_list(struct cloud_ctx *ctx, const char *request_topic)
{
    json_t *list = json_array();
    for (int i = 0; i < ctx->reg->gcp.device_count; i++) {
        const struct gcp_device *d = &ctx->reg->gcp.devices[i];
        const struct gcp_presence *p = presence_of(ctx, d);
        json_array_append_new(list, json_pack("{s:s, s:b, s:b, s:I, s:I}", "id", d->id, "gateway", d->gateway,
                                              "connected", device_connected(ctx, d->id), "lastConnectMs",
                                              (json_int_t)(p ? p->connected_ms : 0), "lastDisconnectMs",
                                              (json_int_t)(p ? p->disconnected_ms : 0)));
    }
    admin_reply(request_topic, json_pack("{s:o, s:I}", "devices", list, "nowMs", (json_int_t)cloud_now_ms(ctx)));
}

/* state/get: the state, the config, and the device's last config acknowledgement
 * (deviceAckTime in ms and its version; null when none was seen or acks are not followed). */
static void admin_state_get(struct cloud_ctx *ctx, const char *request_topic, const char *device)
{
    struct cloud_blob ack;
    json_t *reply = json_pack("{s:o, s:o}", "state", blob_json(ctx, "state", device), "config",
                              blob_json(ctx, "config", device));
    if (cloud_store_get_blob(ctx->store, "config-ack", device, &ack) == 0) {
        json_object_set_new(reply, "deviceAckTime", json_integer(ack.updated_ms));
        json_object_set_new(reply, "deviceAckVersion", json_integer(ack.version));
        free(ack.data);
    } else {
        json_object_set_new(reply, "deviceAckTime", json_null());
        json_object_set_new(reply, "deviceAckVersion", json_null());
    }
    admin_reply(request_topic, reply);
}

/* Dispatch cloud/gcp/devices/<D>/<verb...>. */
static void admin_device(struct cloud_ctx *ctx, const struct mosquitto_evt_message *ed, const char *rest)
{
    char device[GCP_ID_MAX + 1];
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : 0;
    if (!slash || n == 0 || n > GCP_ID_MAX) {
        admin_error(ed->topic, "INVALID_ARGUMENT", "expected cloud/gcp/devices/<device>/<request>");
        return;
    }
    memcpy(device, rest, n);
    device[n] = '\0';
    const struct gcp_device *dev = gcp_registry_device(&ctx->reg->gcp, device);
    const char *verb = slash + 1;
    if (!dev)
        admin_error(ed->topic, "NOT_FOUND", "no such device");
    else if (strcmp(verb, "config/set") == 0)
        admin_config_set(ctx, dev, ed, 0);
    else if (strncmp(verb, "config/set-if-version/", 22) == 0 && atoll(verb + 22) > 0)
        admin_config_set(ctx, dev, ed, atoll(verb + 22));
    else if (strcmp(verb, "config/get") == 0)
        admin_reply(ed->topic, blob_json(ctx, "config", device));
    else if (strcmp(verb, "state/get") == 0)
        admin_state_get(ctx, ed->topic, device);
    else if (strcmp(verb, "commands/send") == 0 || strncmp(verb, "commands/send/", 14) == 0)
        admin_command(ctx, dev, ed, verb[13] ? verb + 14 : "");
    else
        admin_error(ed->topic, "INVALID_ARGUMENT", "unknown request");
}

int gcp_on_admin(struct cloud_ctx *ctx, struct mosquitto_evt_message *ed)
{
    if (strncmp(ed->topic, GCP_ADMIN_PREFIX, strlen(GCP_ADMIN_PREFIX)) != 0 ||
        strncmp(ed->topic, GCP_REPLY_PREFIX, strlen(GCP_REPLY_PREFIX)) == 0)
        return MOSQ_ERR_SUCCESS;
    const char *rest = ed->topic + strlen(GCP_ADMIN_PREFIX);
    if (strcmp(rest, "list-devices") == 0)
        admin_list(ctx, ed->topic);
    else if (strncmp(rest, "devices/", 8) == 0)
        admin_device(ctx, ed, rest + 8);
    else
        admin_error(ed->topic, "INVALID_ARGUMENT", "unknown request");
    return MOSQ_ERR_SUCCESS;
}

/* ------------------------------------------------------------ config acknowledgements */

/* The device connection whose client id is client, or NULL. */
static struct cloud_conn *conn_by_client_id(struct cloud_ctx *ctx, const char *client)
{
    for (struct cloud_conn *c = ctx->conns; c; c = c->next) {
        const char *id = c->admin ? NULL : mosquitto_client_id(c->client);
        if (id && strcmp(id, client) == 0)
            return c;
    }
    return NULL;
}

/* A QoS 1 config message left for client under message id mid. */
static void config_sent(struct cloud_ctx *ctx, const struct gcp_ack_line *line)
{
    struct gcp_topic t;
    gcp_topic_parse(line->topic, &t);
    struct cloud_conn *conn = conn_by_client_id(ctx, line->client);
    struct gcp_link *l = conn && t.kind == GCP_TOPIC_CONFIG ? link_for(conn, t.device) : NULL;
    if (!l || line->qos < 1 || line->dup) /* a retry keeps the version of its first send */
        return;
    int64_t version;
    if (l->config_queued_count > 0) {
        version = l->config_queued[0];
        memmove(l->config_queued, l->config_queued + 1, (size_t)--l->config_queued_count * sizeof l->config_queued[0]);
    } else { /* not queued by us (cannot happen today): the latest */
        struct cloud_blob cfg;
        latest_config(ctx, l->device->id, &cfg);
        free(cfg.data);
        version = cfg.version;
    }
    const int cap = (int)(sizeof conn->config_inflight / sizeof conn->config_inflight[0]);
    int i = 0;
    while (i < conn->config_inflight_count && conn->config_inflight[i].mid != line->mid)
        i++;
    if (i == cap) { /* full: the oldest goes */
        memmove(conn->config_inflight, conn->config_inflight + 1, (size_t)(cap - 1) * sizeof conn->config_inflight[0]);
        i = cap - 1;
    } else if (i == conn->config_inflight_count) {
        conn->config_inflight_count++;
    }
    conn->config_inflight[i] = (struct gcp_config_inflight){ line->mid, l->device, version };
}

/* A PUBACK: if it answers a config message, the device acknowledged that version. */
static void config_acked(struct cloud_ctx *ctx, const struct gcp_ack_line *line)
{
    struct cloud_conn *conn = conn_by_client_id(ctx, line->client);
    int i = 0;
    while (conn && i < conn->config_inflight_count && conn->config_inflight[i].mid != line->mid)
        i++;
    if (!conn || i == conn->config_inflight_count)
        return;
    struct gcp_config_inflight acked = conn->config_inflight[i];
    memmove(conn->config_inflight + i, conn->config_inflight + i + 1,
            (size_t)(--conn->config_inflight_count - i) * sizeof conn->config_inflight[0]);
    int64_t now_ms = cloud_now_ms(ctx);
    if (cloud_store_put_blob(ctx->store, "config-ack", acked.device->id, "", 0, now_ms, acked.version) < 0)
        mosquitto_log_printf(MOSQ_LOG_WARNING, "cellbench_cloud: gcp: cannot write the state file");
    char topic[300];
    snprintf(topic, sizeof topic, "cloud/gcp/notify/devices/%s/config-ack", acked.device->id);
    if (cloud_admin_listens(ctx, topic))
        cloud_publish_json(topic, json_pack("{s:I, s:I}", "version", (json_int_t)acked.version,
                                            "deviceAckTimeMs", (json_int_t)now_ms));
}

void gcp_follow_acks(struct cloud_ctx *ctx)
{
    const char *text;
    for (int n = 0; n < 10000 && (text = gcp_log_follow_next(ctx->ack_log)) != NULL; n++) {
        struct gcp_ack_line line;
        switch (gcp_acks_parse_line(text, &line)) {
        case GCP_ACK_LINE_SEND: config_sent(ctx, &line); break;
        case GCP_ACK_LINE_PUBACK: config_acked(ctx, &line); break;
        case GCP_ACK_LINE_OTHER: break;
        }
    }
}
