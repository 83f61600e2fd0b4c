/*
 * plugin_internal — shared state of the cellbench_cloud Mosquitto plugin.
 *
 * plugin.c owns the context, options, the connection list and the event
 * dispatch; plugin_gcp.c and plugin_aws.c implement each cloud's rules.
 */
#ifndef CELLBENCH_BROKER_PLUGIN_INTERNAL_H
#define CELLBENCH_BROKER_PLUGIN_INTERNAL_H

/* Order matters in 2.0.11: mosquitto_plugin.h needs mosquitto_broker.h first. */
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <stdbool.h>
#include <stdint.h>

#include "aws_policy.h"
#include "cloud_store.h"
#include "gcp_acks.h"
#include "registry.h"
#include "vclock.h"

/** Admin topics start with this (cloud application requests). */
#define CLOUD_ADMIN_PREFIX "cloud/"

/** A device a GCP connection speaks for (its own, or one attached to a gateway). */
struct gcp_link {
    const struct gcp_device *device;
    int config_qos;     /* -1: not subscribed to /devices/D/config */
    int commands_qos;   /* -1: not subscribed to /devices/D/commands/# */
    bool errors;        /* subscribed to /devices/D/errors (gateways) */
    int64_t last_state_ms; /* virtual time of the last state update; INT64_MIN none */
    int64_t config_queued[8]; /* config versions handed to Mosquitto at QoS 1, not yet seen sent */
    int config_queued_count;
};

/** A QoS 1 config message sent to a device, awaiting its PUBACK (gcp_acks.h). */
struct gcp_config_inflight {
    int mid;
    const struct gcp_device *device;
    int64_t version;
};

/** Most devices one gateway connection may have attached at once (here). */
#define GCP_MAX_LINKS 64

/** One connection the plugin has accepted. */
struct cloud_conn {
    const struct mosquitto *client;
    bool admin;
    /* gcp */
    const struct gcp_device *device;
    int64_t token_exp_s;     /* 0: none */
    struct gcp_link links[GCP_MAX_LINKS];
    int link_count;
    struct gcp_config_inflight config_inflight[8]; /* by message id, oldest first */
    int config_inflight_count;
    /* aws */
    const struct aws_thing *thing;
    struct aws_compiled_policy policy; /* its policies with this connection's variables */
    bool wildcard_sub_pending; /* retained deliveries follow a wildcard SUBSCRIBE */
    int64_t rate_window_s;     /* virtual second of the publish counter */
    int rate_count;            /* inbound publishes in that second */
    bool kicked;
    char *kick_reason;
    /* admin: its subscription filters, so that nothing is built for nobody */
    char **filters;
    int filter_count;
    struct cloud_conn *next;
};

/** When a client id last connected (AWS: 1 CONNECT per second per client id). */
struct connect_stamp {
    char *client_id;
    int64_t at_ms;
    struct connect_stamp *next;
};

/** When a registry device last connected and disconnected (gcp; virtual ms, 0: never). */
struct gcp_presence {
    int64_t connected_ms;
    int64_t disconnected_ms;
};

/** The plugin context (one per broker). */
struct cloud_ctx {
    mosquitto_plugin_id_t *pid;
    enum cloud_profile profile;
    struct cloud_registry *reg;
    struct vclock *clock;   /* NULL: real time */
    char *admin_user;
    char *admin_password;
    struct cloud_store *store;
    struct cloud_conn *conns;
    bool rate_limits; /* aws: 100 publishes/s per connection, 1 CONNECT/s per client id */
    struct connect_stamp *connect_stamps;
    int64_t last_periodic_s;  /* virtual second of the last periodic TICK work */
    struct gcp_presence *gcp_presence; /* gcp: one per registry device, made on first use */
    int pubsub_filters;       /* admin filters that could match pubsub/... */
    struct gcp_log_follow *ack_log; /* gcp: the broker's debug log, for config PUBACKs; NULL: not followed */
};

/** Virtual time now, seconds / milliseconds. */
int64_t cloud_now_s(const struct cloud_ctx *ctx);
int64_t cloud_now_ms(const struct cloud_ctx *ctx);

/** The connection record of client, or NULL. */
struct cloud_conn *cloud_conn_find(struct cloud_ctx *ctx, const struct mosquitto *client);

/** Add a record for client (replacing any old one). */
struct cloud_conn *cloud_conn_add(struct cloud_ctx *ctx, const struct mosquitto *client);

/** Publish a copy of payload to topic (clientid NULL: normal routing). */
void cloud_publish(const char *clientid, const char *topic, const void *payload, size_t len,
                   int qos);

/** Publish a JSON value (consumed) to topic with normal routing. */
void cloud_publish_json(const char *topic, json_t *value);

/** Whether some admin connection is subscribed to a filter matching topic. */
bool cloud_admin_listens(const struct cloud_ctx *ctx, const char *topic);

/** Whether username/password are the admin credentials. */
bool cloud_is_admin_login(const struct cloud_ctx *ctx, const char *username,
                          const char *password);

/* GCP profile (plugin_gcp.c). Each returns a MOSQ_ERR_* code for its event. */
int gcp_on_auth(struct cloud_ctx *ctx, struct mosquitto_evt_basic_auth *ed);
int gcp_on_acl(struct cloud_ctx *ctx, struct cloud_conn *conn, struct mosquitto_evt_acl_check *ed);
int gcp_on_message(struct cloud_ctx *ctx, struct cloud_conn *conn, struct mosquitto_evt_message *ed);
int gcp_on_admin(struct cloud_ctx *ctx, struct mosquitto_evt_message *ed);
void gcp_on_tick(struct cloud_ctx *ctx);
/** A device connection closed (gcp): stamps the disconnection of every device it served. */
void gcp_on_disconnect(struct cloud_ctx *ctx, struct cloud_conn *conn);
/** Read the broker log lines appended since the last call and record config acknowledgements. */
void gcp_follow_acks(struct cloud_ctx *ctx);

/* AWS profile (plugin_aws.c). */
int aws_on_auth(struct cloud_ctx *ctx, struct mosquitto_evt_basic_auth *ed);
int aws_on_acl(struct cloud_ctx *ctx, struct cloud_conn *conn, struct mosquitto_evt_acl_check *ed);
int aws_on_message(struct cloud_ctx *ctx, struct cloud_conn *conn, struct mosquitto_evt_message *ed);
int aws_on_admin(struct cloud_ctx *ctx, struct mosquitto_evt_message *ed);
void aws_on_disconnect(struct cloud_ctx *ctx, struct cloud_conn *conn);
void aws_free(struct cloud_ctx *ctx);

#endif /* CELLBENCH_BROKER_PLUGIN_INTERNAL_H */
