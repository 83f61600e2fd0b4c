/*
 * gcp_topics — classify Cloud IoT Core device topics and client ids
 * (cloud-rules.md §2.1, §2.2).
 */
#ifndef CELLBENCH_BROKER_GCP_TOPICS_H
#define CELLBENCH_BROKER_GCP_TOPICS_H

#include <stdbool.h>
#include <stddef.h>

/** What a /devices/... topic or filter is. */
enum gcp_topic_kind {
    GCP_TOPIC_OTHER,        /* not a device topic (or malformed) */
    GCP_TOPIC_EVENTS,       /* /devices/D/events[/subfolder...] */
    GCP_TOPIC_STATE,        /* /devices/D/state */
    GCP_TOPIC_CONFIG,       /* /devices/D/config */
    GCP_TOPIC_COMMANDS_ALL, /* /devices/D/commands/# (the only command filter) */
    GCP_TOPIC_COMMAND,      /* /devices/D/commands[/subfolder...] (delivery topic) */
    GCP_TOPIC_ATTACH,       /* /devices/D/attach */
    GCP_TOPIC_DETACH,       /* /devices/D/detach */
    GCP_TOPIC_ERRORS,       /* /devices/D/errors */
};

/** Longest device id (cloud-rules.md §2.1). */
#define GCP_ID_MAX 255

/** A parsed device topic. */
struct gcp_topic {
    enum gcp_topic_kind kind;
    char device[GCP_ID_MAX + 1];
    const char *subfolder; /* into the parsed string; "" when none */
};

/** Parse topic (or subscription filter) into out. Returns out->kind. */
enum gcp_topic_kind gcp_topic_parse(const char *topic, struct gcp_topic *out);

/**
 * Parse a client id projects/P/locations/R/registries/G/devices/D and check
 * P, R and G against the registry. Copies D into device (device_len bytes).
 * Returns true when it has that form and P, R, G match.
 */
bool gcp_client_id_parse(const char *client_id, const char *project, const char *region,
                         const char *registry, char *device, size_t device_len);

#endif /* CELLBENCH_BROKER_GCP_TOPICS_H */
