/*
 * plugin_aws — the AWS IoT Core message broker rules (cloud-rules.md §1):
 * certificate-to-thing matching, IAM-style policies on Connect, Publish,
 * Subscribe and Receive, topic limits, reserved `$` topics, payload limit,
 * retained messages only on exact subscriptions, lifecycle events.
 *
 * UNFINISHED: the Device Shadow service ($aws/things/<thing>/shadow/...) and
 * the admin requests (cloud/aws/...) are not implemented yet: shadow requests
 * pass the policy check but get no answer, and every cloud/aws/ request is
 * answered with error UNIMPLEMENTED.
 */
#include "plugin_internal.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_policy.h"

#define AWS_PAYLOAD_MAX_BYTES (128 * 1024)

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

static bool allowed(struct cloud_ctx *ctx, const struct cloud_conn *conn, enum aws_action action,
                    const char *name)
{
    char arn[1200];
    if (aws_resource_arn(&ctx->reg->aws, action, name, arn, sizeof arn) < 0)
        return false;
    struct aws_policy_vars vars = { .client_id = mosquitto_client_id(conn->client),
                                    .thing_name = conn->thing ? conn->thing->name : NULL };
    return aws_policy_allows(&ctx->reg->aws, conn->thing, action, arn, &vars);
}

static void lifecycle_event(struct cloud_ctx *ctx, const char *client_id, const char *type,
                            const char *reason)
{
    char topic[400];
    snprintf(topic, sizeof topic, "$aws/events/presence/%s/%s", type, client_id);
    json_t *ev = json_pack("{s:s, s:I, s:s, s:s, s:I}", "clientId", client_id, "timestamp",
                           (json_int_t)cloud_now_ms(ctx), "eventType", type, "principalIdentifier",
                           client_id, "versionNumber", (json_int_t)0);
    if (reason) {
        json_object_set_new(ev, "disconnectReason", json_string(reason));
        json_object_set_new(ev, "clientInitiatedDisconnect",
                            json_boolean(strcmp(reason, "CLIENT_INITIATED_DISCONNECT") == 0));
    }
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

int aws_on_auth(struct cloud_ctx *ctx, struct mosquitto_evt_basic_auth *ed)
{
    const char *id = mosquitto_client_id(ed->client);
    const struct aws_thing *thing = thing_of_client(ctx, ed->client);
    /* AWS drops a refused 3.1.1 connection without CONNACK; v5 gets 0x87 */
    int refused = mosquitto_client_protocol_version(ed->client) == 5 ? MOSQ_ERR_AUTH : MOSQ_ERR_UNKNOWN;
    if (!thing || !id) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "cellbench_cloud: aws: refused %s: no registered, "
                             "unexpired thing certificate", id ? id : "(no id)");
        return refused;
    }
    struct cloud_conn probe = { .client = ed->client, .thing = thing };
    if (!allowed(ctx, &probe, AWS_ACT_CONNECT, id)) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "cellbench_cloud: aws: refused %s: iot:Connect not "
                             "allowed for thing %s", id, thing->name);
        return refused;
    }
    mark_duplicate(ctx, ed->client, id);
    struct cloud_conn *conn = cloud_conn_add(ctx, ed->client);
    conn->thing = thing;
    lifecycle_event(ctx, id, "connected", NULL);
    return MOSQ_ERR_SUCCESS;
}

void aws_on_disconnect(struct cloud_ctx *ctx, struct cloud_conn *conn)
{
    const char *id = mosquitto_client_id(conn->client);
    if (!conn->thing || !id)
        return;
    /* 2.0.11 gives no reason: a client DISCONNECT and a lost network look alike */
    lifecycle_event(ctx, id, "disconnected", conn->kick_reason ? conn->kick_reason : "CONNECTION_LOST");
}

/* ------------------------------------------------------------ ACL */

static bool is_shadow_request(const char *topic, const char *thing)
{
    static const char *const ops[] = { "get", "update", "delete" };
    char expect[400];
    for (size_t i = 0; i < 3; i++) {
        snprintf(expect, sizeof expect, "$aws/things/%s/shadow/%s", thing, ops[i]);
        if (strcmp(topic, expect) == 0)
            return true;
    }
    return false;
}

static int acl_write(struct cloud_ctx *ctx, struct cloud_conn *conn,
                     const struct mosquitto_evt_acl_check *ed)
{
    conn->wildcard_sub_pending = false;
    if (!aws_topic_within_limits(ed->topic))
        return close_conn(conn, ed->topic, "topic over 256 bytes or 7 slashes", "CLIENT_ERROR");
    if (ed->payloadlen > AWS_PAYLOAD_MAX_BYTES)
        return close_conn(conn, ed->topic, "payload over 128 KB", "MESSAGE_TOO_LARGE");
    if (ed->topic[0] == '$' && (ed->retain || !is_shadow_request(ed->topic, conn->thing->name)))
        return close_conn(conn, ed->topic, "reserved topic", "CLIENT_ERROR");
    if (!allowed(ctx, conn, AWS_ACT_PUBLISH, ed->topic) ||
        (ed->retain && !allowed(ctx, conn, AWS_ACT_RETAIN_PUBLISH, ed->topic)))
        return close_conn(conn, ed->topic, "iot:Publish not allowed", "AUTHORIZATION_ERROR");
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
    if (ed->topic[0] == '$' && !reserved_filter_ok(ed->topic))
        return close_conn(conn, ed->topic, "reserved topic", "CLIENT_ERROR");
    if (!allowed(ctx, conn, AWS_ACT_SUBSCRIBE, ed->topic))
        return close_conn(conn, ed->topic, "iot:Subscribe not allowed", "AUTHORIZATION_ERROR");
    /* the retained messages for this filter are READ-checked right after this */
    conn->wildcard_sub_pending = strpbrk(ed->topic, "+#") != NULL;
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
    case MOSQ_ACL_UNSUBSCRIBE: return MOSQ_ERR_SUCCESS;
    case MOSQ_ACL_READ: return acl_read(ctx, conn, ed);
    default: return MOSQ_ERR_ACL_DENIED;
    }
}

int aws_on_message(struct cloud_ctx *ctx, struct cloud_conn *conn, struct mosquitto_evt_message *ed)
{
    conn->wildcard_sub_pending = false;
    /* UNFINISHED: Device Shadow requests are routed but not served yet. */
    return MOSQ_ERR_SUCCESS;
}

int aws_on_admin(struct cloud_ctx *ctx, struct mosquitto_evt_message *ed)
{
    char topic[1024];
    if (strncmp(ed->topic, "cloud/aws/", 10) != 0 || strncmp(ed->topic, "cloud/aws/reply/", 16) == 0)
        return MOSQ_ERR_SUCCESS;
    /* UNFINISHED: shadow read/update and lifecycle queries for the cloud side. */
    snprintf(topic, sizeof topic, "cloud/aws/reply/%s", ed->topic + 10);
    cloud_publish_json(topic, json_pack("{s:{s:s, s:s}}", "error", "code", "UNIMPLEMENTED", "message",
                                        "aws admin requests are not implemented yet"));
    return MOSQ_ERR_SUCCESS;
}
