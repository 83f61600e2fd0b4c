/*
 * billing — message and byte counts of a run per device, topic and
 * direction, and the units each cloud would bill for them.
 *
 * A meter turns one message of N payload bytes into billed units:
 * ceil(max(N, min_bytes) / unit_bytes), at least 1. AWS IoT Core meters
 * messages in 5 KB increments (unit 5120, no minimum: a 6 KB message is 2
 * messages); GCP IoT Core metered data volume with a 1,024-byte minimum per
 * message (unit 1 byte, minimum 1024: a 10-byte message bills 1024 bytes).
 * Only payload bytes are metered here; the topic name is not counted.
 * Pure arithmetic, no I/O.
 */
#ifndef CELLBENCH_BILLING_H
#define CELLBENCH_BILLING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most meters a table applies at once. */
#define BILLING_MAX_METERS 4

/** One cloud's metering rule. */
struct billing_meter {
    char name[16];      /* e.g. "aws" */
    uint64_t unit_bytes; /* size of one billed unit (> 0) */
    uint64_t min_bytes;  /* a message is billed as at least this many bytes */
    char unit_label[16]; /* what a unit is called in reports: "messages", "bytes" */
};

/** Who sent a message the cloud saw. */
enum billing_direction {
    BILLING_UP,      /* device to cloud */
    BILLING_DOWN,    /* cloud to device */
    BILLING_SERVICE, /* broker events and cloud-side replies: not device traffic, not billed */
};

/** Counts of one (device, topic, direction), or a total. */
struct billing_row {
    char device[64]; /* "" when unknown */
    char topic[256];
    enum billing_direction direction;
    uint64_t messages;
    uint64_t bytes;                        /* payload bytes */
    uint64_t units[BILLING_MAX_METERS];    /* billed units per meter of the table */
};

/** Rows in first-seen order, and the meters applied to every message. */
struct billing_table {
    struct billing_meter meters[BILLING_MAX_METERS];
    size_t meter_count;
    struct billing_row *rows;
    size_t count, cap;
};

/** The two default meters: aws (5120-byte messages) and gcp (bytes, 1024 minimum). Returns 2. */
size_t billing_default_meters(struct billing_meter *out);

/**
 * Parse a meter list "NAME=UNIT[/MIN],..." (e.g. "aws=5120,gcp=1/1024"); a
 * name already in meters (count *n) is changed, a new one added (up to
 * BILLING_MAX_METERS). Returns 0, or -1 with why (may be NULL) filled.
 */
int billing_parse_meters(const char *spec, struct billing_meter *meters, size_t *n, char *why, size_t why_cap);

/** Units one message of bytes payload bytes costs under a meter. */
uint64_t billing_units(const struct billing_meter *m, uint64_t bytes);

/** Name of a direction ("up", "down", "service"). */
const char *billing_direction_str(enum billing_direction d);

/**
 * Classify a topic the cloud saw: its direction, and the device it concerns
 * (from bus_field, the payload's "bus" value, when given, else from the
 * topic: /bus/ID/..., $aws/things/ID/..., $aws/events/.../ID, devices/ID/...)
 * into device ("" when unknown).
 */
enum billing_direction billing_classify(const char *topic, const char *bus_field, char *device, size_t cap);

/** Start an empty table applying meters (count <= BILLING_MAX_METERS). */
void billing_init(struct billing_table *t, const struct billing_meter *meters, size_t count);

/** Count one message. Returns 0, or -1 when out of memory. */
int billing_add(struct billing_table *t, const char *device, const char *topic, enum billing_direction d,
                uint64_t bytes);

/** Sum of every row with direction d into *total (device and topic ""). */
void billing_total(const struct billing_table *t, enum billing_direction d, struct billing_row *total);

/** Release the rows (the meters stay). */
void billing_free(struct billing_table *t);

#ifdef __cplusplus
}
#endif

#endif /* CELLBENCH_BILLING_H */
