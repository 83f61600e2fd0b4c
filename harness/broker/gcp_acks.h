/*
 * gcp_acks — how the plugin sees a device acknowledge a GCP config version.
 *
 * Cloud IoT Core counts a config version as acknowledged when the device
 * sends the PUBACK of the QoS 1 config message (deviceAckTime). Mosquitto
 * 2.0.11's plugin API has no PUBACK event, but with `log_type debug` the
 * broker writes one line per packet to its log file, flushed at once:
 *
 *     1795758795: Sending PUBLISH to <client id> (d0, q1, r0, m3, '/devices/bus-1/config', ... (20 bytes))
 *     1795758795: Received PUBACK from <client id> (Mid: 3, RC:0)
 *
 * gcp_acks_parse_line reads those two kinds of line; struct gcp_log_follow
 * reads the complete lines appended to the log since the last call. The
 * plugin (plugin_gcp.c) pairs them: which config version went out under
 * which message id to which client, and which of those came back acked.
 */
#ifndef CELLBENCH_BROKER_GCP_ACKS_H
#define CELLBENCH_BROKER_GCP_ACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/** What a broker log line says, as far as config acknowledgements go. */
enum gcp_ack_line_kind {
    GCP_ACK_LINE_OTHER,  /* anything else */
    GCP_ACK_LINE_SEND,   /* "Sending PUBLISH to ..." */
    GCP_ACK_LINE_PUBACK, /* "Received PUBACK from ..." */
};

/** A parsed log line. */
struct gcp_ack_line {
    enum gcp_ack_line_kind kind;
    char client[256]; /* client id */
    int mid;          /* MQTT message id */
    int qos;          /* SEND: QoS of the publish */
    bool dup;         /* SEND: the DUP flag (a retry) */
    char topic[512];  /* SEND: the topic */
};

/**
 * Parse one log line (without its newline). Returns the kind; for SEND and
 * PUBACK out is filled. A line that is cut short or too long for out is OTHER.
 */
enum gcp_ack_line_kind gcp_acks_parse_line(const char *line, struct gcp_ack_line *out);

/** Reads the lines appended to a log file. */
struct gcp_log_follow {
    char *path;     /* owned */
    FILE *f;        /* NULL until the file could be opened */
    char buf[2048]; /* a line not yet complete */
    size_t len;
    bool skipping;  /* the current line was longer than buf: dropped */
};

/** Start following path (copied); reading starts at the file's end when it is first opened. */
int gcp_log_follow_init(struct gcp_log_follow *lf, const char *path);

/**
 * The next complete line appended since the last call, NUL-terminated in
 * lf->buf (valid until the next call); NULL when there is none yet.
 */
const char *gcp_log_follow_next(struct gcp_log_follow *lf);

/** Close the file and free the path. */
void gcp_log_follow_close(struct gcp_log_follow *lf);

#endif /* CELLBENCH_BROKER_GCP_ACKS_H */
