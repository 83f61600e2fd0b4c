/*
 * registry — the cloud registry the broker plugin enforces (harness/broker/README.md).
 *
 * One JSON file describes either an AWS IoT account (things, their
 * certificates and the IAM-like policies attached to them) or a Google Cloud
 * IoT Core registry (project, region, registry id, devices with their JWT
 * public keys, gateways and Pub/Sub routing). Relative file names inside the
 * registry are resolved against the registry file's directory.
 */
#ifndef CELLBENCH_BROKER_REGISTRY_H
#define CELLBENCH_BROKER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Which cloud the registry (and the broker) emulates. */
enum cloud_profile {
    CLOUD_PROFILE_AWS,
    CLOUD_PROFILE_GCP,
};

/** Most JWT credentials a GCP device may hold (as Cloud IoT Core). */
#define GCP_MAX_KEYS 3

/** JWT signature algorithms a GCP credential may use. */
enum gcp_key_alg {
    GCP_KEY_ES256,
    GCP_KEY_RS256,
};

/** One public key of a GCP device. */
struct gcp_key {
    enum gcp_key_alg alg;
    char *pem;          /* "-----BEGIN PUBLIC KEY-----" text, NUL-terminated */
    size_t pem_len;
    int64_t expires_s;  /* Unix seconds; 0 = never */
};

/** One GCP device (or gateway). */
struct gcp_device {
    char *id;
    struct gcp_key keys[GCP_MAX_KEYS];
    int key_count;
    bool gateway;
    char **bound;       /* ids of devices bound to this gateway */
    int bound_count;
};

/** One event notification config: subfolder ("" = any) -> Pub/Sub topic. */
struct gcp_event_route {
    char *subfolder;
    char *topic;
};

/** A Google Cloud IoT Core registry. */
struct gcp_registry {
    char *project;
    char *region;
    char *registry;
    struct gcp_device *devices;
    int device_count;
    struct gcp_event_route *routes;
    int route_count;
    char *state_topic;  /* NULL when none */
};

/** Policy actions, as bits. */
enum aws_action {
    AWS_ACT_CONNECT = 1u << 0,
    AWS_ACT_PUBLISH = 1u << 1,
    AWS_ACT_SUBSCRIBE = 1u << 2,
    AWS_ACT_RECEIVE = 1u << 3,
    AWS_ACT_RETAIN_PUBLISH = 1u << 4,
};

/** One policy statement. */
struct aws_statement {
    bool allow;          /* Effect Allow (true) or Deny */
    unsigned actions;    /* enum aws_action bits */
    char **resources;    /* ARNs with * / ? wildcards and ${...} variables */
    int resource_count;
};

/** One named policy. */
struct aws_policy {
    char *name;
    struct aws_statement *statements;
    int statement_count;
};

/** One thing with its certificate and attached policies. */
struct aws_thing {
    char *name;
    unsigned char cert_sha256[32]; /* SHA-256 of the certificate's DER */
    int64_t cert_not_after_s;      /* certificate expiry, Unix seconds */
    int *policies;                 /* indexes into aws_registry.policies */
    int policy_count;
};

/** An AWS IoT account. */
struct aws_registry {
    char *region;   /* used in ARNs; default "us-east-1" */
    char *account;  /* used in ARNs; default "123456789012" */
    struct aws_thing *things;
    int thing_count;
    struct aws_policy *policies;
    int policy_count;
};

/** A loaded registry of either profile. */
struct cloud_registry {
    enum cloud_profile profile;
    struct gcp_registry gcp;
    struct aws_registry aws;
};

/**
 * Load and check the registry file at path for profile.
 * Returns the registry, or NULL with "FILE: JSON-PATH: reason" in err.
 */
struct cloud_registry *cloud_registry_load(const char *path, enum cloud_profile profile,
                                           char *err, size_t err_len);

/** Free a registry (NULL is ignored). */
void cloud_registry_free(struct cloud_registry *reg);

/** Parse "aws" or "gcp". Returns 0, or -1 for anything else. */
int cloud_profile_parse(const char *text, enum cloud_profile *profile);

/** The GCP device with this id, or NULL. */
const struct gcp_device *gcp_registry_device(const struct gcp_registry *reg, const char *id);

/** Whether gateway gw has device_id bound to it. */
bool gcp_device_is_bound(const struct gcp_device *gw, const char *device_id);

/**
 * The Pub/Sub topic for an event with this subfolder ("" for none): the
 * first route whose subfolder equals it or is empty. NULL when none matches.
 */
const char *gcp_registry_event_topic(const struct gcp_registry *reg, const char *subfolder);

/** The AWS thing whose certificate has this SHA-256, or NULL. */
const struct aws_thing *aws_registry_thing_by_cert(const struct aws_registry *reg,
                                                   const unsigned char sha256[32]);

#endif /* CELLBENCH_BROKER_REGISTRY_H */
