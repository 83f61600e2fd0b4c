/*
 * plugin_aws — the AWS IoT Core message broker rules (cloud-rules.md §1):
 * certificate-to-thing matching, IAM-style policies on Connect, Publish,
 * Subscribe and Receive, topic limits, reserved `$` topics, payload limit,
 * retained messages only on exact subscriptions, lifecycle events.
 *
 * The Device Shadow service (classic and named shadows) answers requests on
 * $aws/things/<thing>/shadow/... and the cloud application's requests on
 * cloud/aws/shadow/<thing>[/name/<shadow>]/<get|update|delete> (replies on
 * cloud/aws/reply/...).
 */
#include "plugin_internal.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_policy.h"
#include "shadow.h"

#define AWS_PAYLOAD_MAX_BYTES (128 * 1024)
#define AWS_MAX_SUBSCRIPTIONS 50
#define AWS_MAX_PUBLISHES_PER_S 100
#define AWS_THING_NAME_MAX 128
#define AWS_CLIENT_ID_MAX 128
#define AWS_SHADOW_NAME_MAX 64

/* A parsed shadow request topic. */
struct shadow_topic {
    char thing[AWS_THING_NAME_MAX + 1];
    char name[AWS_SHADOW_NAME_MAX + 1]; /* "" for the classic shadow */
    char op[8];                         /* get, update, delete */
};

static const char *conn_id(const struct cloud_conn *conn)
{
    const char *id = mosquitto_client_id(conn->client);
    return id ? id : "(no id)";
}

/* Log and remember why a connection is closed; returns the closing code. */
static int close_conn(struct cloud_conn *conn, const char *topic, const char *reason,
                      const char *lifecycle_reason)
{
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "cellbench_cloud: aws: closing %s: %s: %s", conn_id(conn),
                         topic, reason);
    free(conn->kick_reason);
    conn->kick_reason = strdup(lifecycle_reason);
    return MOSQ_ERR_PROTOCOL;
}

/* Build "arn:aws:iot:<region>:<account>:<kind>/<name>" without printf. */
static bool resource_arn(const struct cloud_ctx *ctx, enum aws_action action, const char *name, char *out,
                         size_t cap)
{
    const struct aws_registry *reg = &ctx->reg->aws;
    const char *kind = action == AWS_ACT_CONNECT ? "client/" : action == AWS_ACT_SUBSCRIBE ? "topicfilter/" : "topic/";
    const char *parts[] = { "arn:aws:iot:", reg->region, ":", reg->account, ":", kind, name };
    size_t len = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t n = strlen(parts[i]);
        if (len + n + 1 > cap)
            return false;
        memcpy(out + len, parts[i], n);
        len += n;
    }
    out[len] = '\0';
    return true;
}

/* Whether conn's policies (compiled at connect) allow action on name. */
static bool allowed(struct cloud_ctx *ctx, const struct cloud_conn *conn, enum aws_action action,
                    const char *name)
{
    char arn[1200];
    const struct aws_compiled_policy *policy = &conn->policy;
    if (!policy->arn_prefix)
        return resource_arn(ctx, action, name, arn, sizeof arn) && aws_compiled_allows(policy, action, arn);
    /* only "<kind>/<name>": every ARN starts with the policy's prefix; same length limit as above */
    const char *kind = action == AWS_ACT_CONNECT ? "client/" : action == AWS_ACT_SUBSCRIBE ? "topicfilter/" : "topic/";
    size_t kind_len = strlen(kind), name_len = strlen(name);
    if (policy->arn_prefix_len + kind_len + name_len + 1 > sizeof arn)
        return false;
    memcpy(arn, kind, kind_len);
    memcpy(arn + kind_len, name, name_len + 1);
    return aws_compiled_allows_rest(policy, action, arn);
}

/* The certificate id: lowercase hex SHA-256 of the DER (out: 65 bytes). */
static void certificate_id(const struct aws_thing *thing, char *out)
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", thing->cert_sha256[i]);
}

/* Common fields of a lifecycle event of conn. */
static json_t *lifecycle_base(struct cloud_ctx *ctx, const struct cloud_conn *conn, const char *client_id,
                              const char *type)
{
    char cert_id[65], session[40];
    certificate_id(conn->thing, cert_id);
    snprintf(session, sizeof session, "%016llx", (unsigned long long)(uintptr_t)conn->client);
    return json_pack("{s:s, s:I, s:s, s:s, s:s, s:I}", "clientId", client_id, "timestamp",
                     (json_int_t)cloud_now_ms(ctx), "eventType", type, "sessionIdentifier", session,
                     "principalIdentifier", cert_id, "versionNumber", (json_int_t)0);
}

static void lifecycle_event(struct cloud_ctx *ctx, const struct cloud_conn *conn, const char *client_id,
                            const char *type, const char *reason)
{
    char topic[400];
    if (strpbrk(client_id, "+#")) /* AWS sends none for such ids */
        return;
    snprintf(topic, sizeof topic, "$aws/events/presence/%s/%s", type, client_id);
    json_t *ev = lifecycle_base(ctx, conn, client_id, type);
    if (reason) {
        json_object_set_new(ev, "disconnectReason", json_string(reason));
        json_object_set_new(ev, "clientInitiatedDisconnect",
                            json_boolean(strcmp(reason, "CLIENT_INITIATED_DISCONNECT") == 0));
    } else {
        const char *address = mosquitto_client_address(conn->client);
        json_object_set_new(ev, "ipAddress", json_string(address ? address : ""));
    }
    cloud_publish_json(topic, ev);
}

/* $aws/events/subscriptions/<subscribed|unsubscribed>/<clientId> for one filter. */
static void subscription_event(struct cloud_ctx *ctx, const struct cloud_conn *conn, const char *type,
                               const char *filter)
{
    const char *id = mosquitto_client_id(conn->client);
    char topic[400];
    if (!id || strpbrk(id, "+#")) /* AWS sends none for such ids */
        return;
    snprintf(topic, sizeof topic, "$aws/events/subscriptions/%s/%s", type, id);
    json_t *ev = lifecycle_base(ctx, conn, id, type);
    json_object_set_new(ev, "topics", json_pack("[s]", filter));
    cloud_publish_json(topic, ev);
}

/* ------------------------------------------------------------ connect */

/* The thing whose registered certificate the client presented, or NULL. */
static const struct aws_thing *thing_of_client(struct cloud_ctx *ctx, struct mosquitto *client)
{
    X509 *crt = mosquitto_client_certificate(client);
    if (!crt)
        return NULL;
    unsigned char md[32];
    unsigned int len = 0;
    X509_digest(crt, EVP_sha256(), md, &len);
    X509_free(crt);
    const struct aws_thing *t = aws_registry_thing_by_cert(&ctx->reg->aws, md);
    if (t && t->cert_not_after_s && t->cert_not_after_s < cloud_now_s(ctx))
        return NULL; /* expired by the virtual clock */
    return t;
}

/* Mark the live connection with the same client id as replaced. */
static void mark_duplicate(struct cloud_ctx *ctx, const struct mosquitto *client, const char *id)
{
    for (struct cloud_conn *c = ctx->conns; c; c = c->next) {
        const char *other = mosquitto_client_id(c->client);
        if (c->client != client && other && strcmp(other, id) == 0) {
            free(c->kick_reason);
            c->kick_reason = strdup("DUPLICATE_CLIENTID");
        }
    }
}

/*
 * AWS accepts 1 CONNECT per second per client id. Returns true when id
 * connected less than a (virtual) second ago; records this attempt.
 */
static bool connect_throttled(struct cloud_ctx *ctx, const char *id)
{
    if (!ctx->rate_limits)
        return false;
    int64_t now = cloud_now_ms(ctx);
    bool throttled = false, seen = false;
    for (struct connect_stamp **pp = &ctx->connect_stamps; *pp;) {
        struct connect_stamp *s = *pp;
        if (strcmp(s->client_id, id) == 0) {
            throttled = now - s->at_ms < 1000 && now >= s->at_ms;
            s->at_ms = now;
            seen = true;
        } else if (now - s->at_ms > 2000 || now < s->at_ms) { /* forget old ones */
            *pp = s->next;
            free(s->client_id);
            free(s);
            continue;
        }
        pp = &s->next;
    }
    if (!seen) {
        struct connect_stamp *s = calloc(1, sizeof *s);
        if (s && (s->client_id = strdup(id))) {
            s->at_ms = now;
            s->next = ctx->connect_stamps;
            ctx->connect_stamps = s;
        } else {
            free(s);
        }
    }
    return throttled;
}

void aws_free(struct cloud_ctx *ctx)
{
    while (ctx->connect_stamps) {
        struct connect_stamp *s = ctx->connect_stamps;
        ctx->connect_stamps = s->next;
        free(s->client_id);
        free(s);
    }
}

int aws_on_auth(struct cloud_ctx *ctx, struct mosquitto_evt_basic_auth *ed)
{
    const char *id = mosquitto_client_id(ed->client);
    const struct aws_thing *thing = thing_of_client(ctx, ed->client);
    /* AWS drops a refused 3.1.1 connection without CONNACK; v5 gets 0x87 */
    int refused = mosquitto_client_protocol_version(ed->client) == 5 ? MOSQ_ERR_AUTH : MOSQ_ERR_UNKNOWN;
    if (id && strlen(id) > AWS_CLIENT_ID_MAX) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "cellbench_cloud: aws: refused a client id over %d bytes",
                             AWS_CLIENT_ID_MAX);
        return refused;
    }
    if (!thing || !id) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "cellbench_cloud: aws: refused %s: no registered, "
                             "unexpired thing certificate", id ? id : "(no id)");
        return refused;
    }
    if (connect_throttled(ctx, id)) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "cellbench_cloud: aws: refused %s: more than 1 CONNECT "
                             "per second for this client id", id);
        return refused;
    }
    struct aws_policy_vars vars = { .client_id = id, .thing_name = thing->name };
    struct aws_compiled_policy policy;
    if (aws_policy_compile(&ctx->reg->aws, thing, &vars, &policy) < 0) {
        aws_compiled_free(&policy);
        return refused;
    }
    struct cloud_conn probe = { .client = ed->client, .thing = thing, .policy = policy };
    if (!allowed(ctx, &probe, AWS_ACT_CONNECT, id)) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "cellbench_cloud: aws: refused %s: iot:Connect not "
                             "allowed for thing %s", id, thing->name);
        aws_compiled_free(&policy);
        return refused;
    }
    mark_duplicate(ctx, ed->client, id);
    struct cloud_conn *conn = cloud_conn_add(ctx, ed->client);
    conn->thing = thing;
    conn->policy = policy;
    lifecycle_event(ctx, conn, id, "connected", NULL);
    return MOSQ_ERR_SUCCESS;
}

void aws_on_disconnect(struct cloud_ctx *ctx, struct cloud_conn *conn)
{
    const char *id = mosquitto_client_id(conn->client);
    if (!conn->thing || !id)
        return;
    /* 2.0.11 gives no reason: a client DISCONNECT and a lost network look alike */
    lifecycle_event(ctx, conn, id, "disconnected", conn->kick_reason ? conn->kick_reason : "CONNECTION_LOST");
}

/* ------------------------------------------------------------ ACL */

/* Copy the segment [start, end) into out (cap bytes); false when empty or too long. */
static bool take_segment(const char *start, const char *end, char *out, size_t cap)
{
    size_t n = (size_t)(end - start);
    if (n == 0 || n >= cap)
        return false;
    memcpy(out, start, n);
    out[n] = '\0';
    return true;
}

/* Parse $aws/things/<thing>/shadow[/name/<name>]/<get|update|delete>. */
static bool shadow_topic_parse(const char *topic, struct shadow_topic *st)
{
    static const char prefix[] = "$aws/things/";
    memset(st, 0, sizeof *st);
    if (strncmp(topic, prefix, sizeof prefix - 1) != 0)
        return false;
    const char *thing = topic + sizeof prefix - 1;
    const char *slash = strchr(thing, '/');
    if (!slash || !take_segment(thing, slash, st->thing, sizeof st->thing) ||
        strncmp(slash, "/shadow/", 8) != 0)
        return false;
    const char *rest = slash + 8;
    if (strncmp(rest, "name/", 5) == 0) {
        const char *name = rest + 5;
        const char *end = strchr(name, '/');
        if (!end || !take_segment(name, end, st->name, sizeof st->name))
            return false;
        rest = end + 1;
    }
    if (strcmp(rest, "get") != 0 && strcmp(rest, "update") != 0 && strcmp(rest, "delete") != 0)
        return false;
    snprintf(st->op, sizeof st->op, "%s", rest);
    return true;
}

static bool is_shadow_request(const char *topic, const char *thing)
{
    struct shadow_topic st;
    return shadow_topic_parse(topic, &st) && strcmp(st.thing, thing) == 0;
}

/* ------------------------------------------------------------ shadows */

static void shadow_prefix(const struct shadow_topic *st, char *out, size_t len)
{
    if (st->name[0])
        snprintf(out, len, "$aws/things/%s/shadow/name/%s", st->thing, st->name);
    else
        snprintf(out, len, "$aws/things/%s/shadow", st->thing);
}

static void publish_reply_part(const char *prefix, const char *suffix, json_t *body)
{
    char topic[512];
    if (!body)
        return;
    snprintf(topic, sizeof topic, "%s/%s", prefix, suffix);
    cloud_publish_json(topic, json_incref(body));
}

/*
 * Run a shadow request and publish its replies on the shadow topics (as AWS
 * does for both MQTT and HTTP requests). Returns the accepted or rejected
 * document (new reference) for a cloud-side caller.
 */
static json_t *shadow_request(struct cloud_ctx *ctx, const struct shadow_topic *st, const void *payload,
                              size_t len)
{
    char key[AWS_THING_NAME_MAX + AWS_SHADOW_NAME_MAX + 8], prefix[400], path[420];
    snprintf(key, sizeof key, "%s%s%s", st->thing, st->name[0] ? "/name/" : "", st->name);
    json_t *shadows = cloud_store_object(ctx->store, "shadows");
    const json_t *stored = json_object_get(shadows, key);
    const char *shown = st->name[0] ? st->name : st->thing;
    struct shadow_reply r;
    int64_t now = cloud_now_s(ctx);
    if (strcmp(st->op, "update") == 0)
        shadow_update(stored, payload, len, now, &r);
    else if (strcmp(st->op, "get") == 0)
        shadow_get(stored, shown, payload, len, now, &r);
    else
        shadow_delete(stored, shown, payload, len, now, &r);
    if (r.stored) {
        json_object_set(shadows, key, r.stored);
        if (cloud_store_save(ctx->store) < 0)
            mosquitto_log_printf(MOSQ_LOG_ERR, "cellbench_cloud: cannot write the state file");
    }
    shadow_prefix(st, prefix, sizeof prefix);
    snprintf(path, sizeof path, "%s/%s", prefix, st->op);
    publish_reply_part(path, "accepted", r.accepted);
    publish_reply_part(path, "rejected", r.rejected);
    publish_reply_part(prefix, "update/delta", r.delta);
    publish_reply_part(prefix, "update/documents", r.documents);
    json_t *answer = json_incref(r.accepted ? r.accepted : r.rejected);
    shadow_reply_clear(&r);
    return answer;
}

/* ------------------------------------------------------------ ACL */

/* AWS discards publishes over 100 per second per connection (it stays up). */
static bool over_publish_rate(struct cloud_ctx *ctx, struct cloud_conn *conn)
{
    if (!ctx->rate_limits)
        return false;
    int64_t now = cloud_now_s(ctx);
    if (now != conn->rate_window_s) {
        conn->rate_window_s = now;
        conn->rate_count = 0;
    }
    return ++conn->rate_count > AWS_MAX_PUBLISHES_PER_S;
}

static int acl_write(struct cloud_ctx *ctx, struct cloud_conn *conn,
                     const struct mosquitto_evt_acl_check *ed)
{
    conn->wildcard_sub_pending = false;
    if (!aws_topic_within_limits(ed->topic))
        return close_conn(conn, ed->topic, "topic over 256 bytes or 7 slashes", "CLIENT_ERROR");
    if (ed->payloadlen > AWS_PAYLOAD_MAX_BYTES)
        return close_conn(conn, ed->topic, "payload over 128 KB", "CLIENT_ERROR");
    if (ed->topic[0] == '$' && (ed->retain || !is_shadow_request(ed->topic, conn->thing->name)))
        return close_conn(conn, ed->topic, "reserved topic", "CLIENT_ERROR");
    if (!allowed(ctx, conn, AWS_ACT_PUBLISH, ed->topic) ||
        (ed->retain && !allowed(ctx, conn, AWS_ACT_RETAIN_PUBLISH, ed->topic)))
        return close_conn(conn, ed->topic, "iot:Publish not allowed", "FORBIDDEN_ACCESS");
    if (over_publish_rate(ctx, conn)) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "cellbench_cloud: aws: %s: over 100 publishes per second, "
                             "discarded", conn_id(conn));
        return MOSQ_ERR_ACL_DENIED;
    }
    return MOSQ_ERR_SUCCESS;
}

static bool reserved_filter_ok(const char *filter)
{
    return strncmp(filter, "$aws/things/", 12) == 0 || strncmp(filter, "$aws/events/", 12) == 0;
}

static int acl_subscribe(struct cloud_ctx *ctx, struct cloud_conn *conn,
                         const struct mosquitto_evt_acl_check *ed)
{
    if (!aws_topic_within_limits(ed->topic))
        return close_conn(conn, ed->topic, "filter over 256 bytes or 7 slashes", "CLIENT_ERROR");
    if (mosquitto_client_sub_count(ed->client) >= AWS_MAX_SUBSCRIPTIONS)
        return close_conn(conn, ed->topic, "over 50 subscriptions", "CLIENT_ERROR");
    if (ed->topic[0] == '$' && !reserved_filter_ok(ed->topic))
        return close_conn(conn, ed->topic, "reserved topic", "CLIENT_ERROR");
    if (!allowed(ctx, conn, AWS_ACT_SUBSCRIBE, ed->topic))
        return close_conn(conn, ed->topic, "iot:Subscribe not allowed", "FORBIDDEN_ACCESS");
    /* the retained messages for this filter are READ-checked right after this */
    conn->wildcard_sub_pending = strpbrk(ed->topic, "+#") != NULL;
    subscription_event(ctx, conn, "subscribed", ed->topic);
    return MOSQ_ERR_SUCCESS;
}

static int acl_read(struct cloud_ctx *ctx, struct cloud_conn *conn,
                    const struct mosquitto_evt_acl_check *ed)
{
    if (ed->retain && conn->wildcard_sub_pending)
        return MOSQ_ERR_ACL_DENIED; /* AWS sends retained messages to exact filters only */
    return allowed(ctx, conn, AWS_ACT_RECEIVE, ed->topic) ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ACL_DENIED;
}

int aws_on_acl(struct cloud_ctx *ctx, struct cloud_conn *conn, struct mosquitto_evt_acl_check *ed)
{
    switch (ed->access) {
    case MOSQ_ACL_WRITE: return acl_write(ctx, conn, ed);
    case MOSQ_ACL_SUBSCRIBE: return acl_subscribe(ctx, conn, ed);
    case MOSQ_ACL_UNSUBSCRIBE:
        subscription_event(ctx, conn, "unsubscribed", ed->topic);
        return MOSQ_ERR_SUCCESS;
    case MOSQ_ACL_READ: return acl_read(ctx, conn, ed);
    default: return MOSQ_ERR_ACL_DENIED;
    }
}

int aws_on_message(struct cloud_ctx *ctx, struct cloud_conn *conn, struct mosquitto_evt_message *ed)
{
    conn->wildcard_sub_pending = false;
    struct shadow_topic st;
    if (shadow_topic_parse(ed->topic, &st) && strcmp(st.thing, conn->thing->name) == 0)
        json_decref(shadow_request(ctx, &st, ed->payload, ed->payloadlen));
    return MOSQ_ERR_SUCCESS; /* the request also reaches its subscribers, as on AWS */
}

/* cloud/aws/shadow/<thing>[/name/<shadow>]/<op> -> the device-side topic form. */
static bool admin_shadow_topic(const char *rest, struct shadow_topic *st)
{
    char device_form[600];
    snprintf(device_form, sizeof device_form, "$aws/things/%s", rest);
    char *op = strrchr(device_form, '/');
    if (!op)
        return false;
    /* insert "/shadow" after the thing name */
    char *thing_end = strchr(device_form + 12, '/');
    if (!thing_end)
        return false;
    char rebuilt[640];
    snprintf(rebuilt, sizeof rebuilt, "%.*s/shadow%s", (int)(thing_end - device_form), device_form, thing_end);
    return shadow_topic_parse(rebuilt, st);
}

int aws_on_admin(struct cloud_ctx *ctx, struct mosquitto_evt_message *ed)
{
    char topic[1024];
    if (strncmp(ed->topic, "cloud/aws/", 10) != 0 || strncmp(ed->topic, "cloud/aws/reply/", 16) == 0)
        return MOSQ_ERR_SUCCESS;
    snprintf(topic, sizeof topic, "cloud/aws/reply/%s", ed->topic + 10);
    struct shadow_topic st;
    if (strncmp(ed->topic, "cloud/aws/shadow/", 17) == 0 && admin_shadow_topic(ed->topic + 17, &st)) {
        cloud_publish_json(topic, shadow_request(ctx, &st, ed->payload, ed->payloadlen));
        return MOSQ_ERR_SUCCESS;
    }
    cloud_publish_json(topic, json_pack("{s:{s:s, s:s}}", "error", "code", "INVALID_ARGUMENT", "message",
                                        "expected cloud/aws/shadow/<thing>[/name/<shadow>]/<get|update|delete>"));
    return MOSQ_ERR_SUCCESS;
}
