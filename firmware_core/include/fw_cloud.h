/*
 * fw_cloud.h - the two cloud profiles of the bus unit: client ids and the
 * topic design of DESIGN.md for AWS IoT Core and Google Cloud IoT Core, the
 * profile limits (AWS: topic at most 256 bytes; both: client id at most 128
 * bytes for the modem), and when a GCP JWT must be renewed.
 *
 *   topic                AWS                           GCP
 *   configuration        /bus/<id>/configuration       /devices/<id>/config
 *   commands (filter)    /bus/<id>/commands            /devices/<id>/commands/#
 *   events               /bus/events                   /devices/<id>/events
 *   depot arrival        /depot/<depot>/bus-arrived    /devices/<id>/events/depot-arrived
 */
#ifndef FW_CLOUD_H
#define FW_CLOUD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which cloud. */
enum fw_cloud_kind {
    FW_CLOUD_AWS = 0,
    FW_CLOUD_GCP = 1
};

/* Topics of the bus application. */
enum fw_cloud_topic {
    FW_TOPIC_CONFIG = 0,        /* subscribe: configuration for this device */
    FW_TOPIC_COMMANDS,          /* subscribe: commands for this device (a filter on GCP) */
    FW_TOPIC_EVENTS,            /* publish: bus events */
    FW_TOPIC_DEPOT_ARRIVED      /* publish (bus) / subscribe (depot on AWS): arrivals */
};

/* Status of the profile functions. */
enum fw_cloud_status {
    FW_CLOUD_OK = 0,
    FW_CLOUD_NO_SPACE,          /* the output buffer is too small */
    FW_CLOUD_TOO_LONG,          /* longer than the cloud or the modem allows */
    FW_CLOUD_BAD_ARG            /* missing or invalid name (empty, '/', '+', '#') */
};

/* A device's identity in its cloud. */
struct fw_cloud_profile {
    enum fw_cloud_kind kind;
    const char *device_id;      /* AWS thing name / GCP device id */
    const char *project;        /* GCP only: project id (also the JWT audience) */
    const char *region;         /* GCP only: cloud region */
    const char *registry;       /* GCP only: registry id */
};

/* Longest client id the SIM7600's AT+CMQTTACCQ accepts. */
#define FW_CLOUD_CLIENT_ID_MAX 128u

/* Write the MQTT client id (AWS: the thing name; GCP: projects/P/locations/
 * R/registries/G/devices/D) into buf (NUL-terminated), length in *len. */
enum fw_cloud_status fw_cloud_client_id(const struct fw_cloud_profile *p, char *buf, size_t cap,
                                        size_t *len);

/* Write a topic; depot names the destination depot for
 * FW_TOPIC_DEPOT_ARRIVED on AWS (ignored otherwise, may be NULL). */
enum fw_cloud_status fw_cloud_topic(const struct fw_cloud_profile *p, enum fw_cloud_topic topic,
                                    const char *depot, char *buf, size_t cap, size_t *len);

/* Whether the profile authenticates with a JWT password (GCP). */
bool fw_cloud_uses_jwt(const struct fw_cloud_profile *p);

/* Whether a token expiring at exp (Unix s) must be renewed at now (Unix s),
 * margin_s ahead of its expiry (GCP drops the connection when it expires). */
bool fw_cloud_jwt_due(uint64_t now, uint64_t exp, uint32_t margin_s);

/* Human-readable name of a status; never NULL. */
const char *fw_cloud_status_str(enum fw_cloud_status status);

#endif /* FW_CLOUD_H */
