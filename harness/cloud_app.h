/*
 * cloud_app — the cloud application of a run: a libmosquitto client on the
 * broker's admin listener that records every message it receives, stamped
 * with the trip time read from the run's virtual clock.
 *
 * It subscribes to everything a cloud application may see: `#` (device
 * topics and admin replies), the AWS lifecycle events `$aws/events/#` and
 * the GCP Pub/Sub topics `pubsub/#` and the AWS shadow documents
 * `$aws/things/+/shadow/update/documents`. The log is handed to the verdict
 * functions of scenario.h as struct expect_record entries; AWS presence
 * events also become connection events.
 *
 * Single-threaded: the runner calls cloud_app_poll() from its loop.
 */
#ifndef CELLBENCH_CLOUD_APP_H
#define CELLBENCH_CLOUD_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "expect.h"
#include "scenario.h"
#include "vclock.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One received message. */
struct cloud_message {
    double t_s;       /* trip time of arrival */
    char *topic;      /* as received */
    void *payload;    /* NUL-terminated copy */
    size_t len;
    json_t *json;     /* parsed payload, or NULL when it is not JSON */
    char *sender;     /* the publishing device when the cloud can tell, else NULL */
};

/** A relayed command awaiting the broker's reply. */
struct cloud_relay {
    char *device;  /* the depot it was sent to */
    char *payload; /* the command, NUL-terminated */
};

/** The cloud application of one run. */
struct cloud_app {
    struct mosquitto *mosq;
    const struct vclock *clock;
    int64_t trip_start_ns; /* virtual time of trip time 0 */
    bool connected;
    FILE *log;             /* one line per message received, or NULL */
    size_t subscribed_count; /* SUBACKs received */
    bool relay_depot_arrivals; /* gcp: relay pubsub/depot-arrivals to the depot (see cloud_app_relay_depot_arrivals) */
    unsigned relays_failed;    /* relays not published or refused by the broker */
    struct cloud_relay *relays; /* relays sent, awaiting the broker's reply */
    size_t relay_count, relay_cap;
    struct cloud_message *messages;
    size_t count, cap;
};

/**
 * Connect to the admin listener at 127.0.0.1:port as user/password and
 * subscribe to every topic; waits (real-time guard guard_ms) for CONNACK and
 * SUBACKs. clock and trip_start_ns give trip times. log_path (may be NULL)
 * gets one line per message: `TRIP_S TOPIC PAYLOAD`. Returns 0, or -1 with
 * a message on stderr.
 */
int cloud_app_start(struct cloud_app *app, int port, const char *user, const char *password,
                    const struct vclock *clock, int64_t trip_start_ns, const char *log_path, int guard_ms);

/**
 * Connect again after a broker restart (the admin password changes on every
 * start) and subscribe again; messages sent meanwhile are lost to the cloud,
 * as they would be. Returns 0, or -1 with a message on stderr.
 */
int cloud_app_reconnect(struct cloud_app *app, const char *password, int guard_ms);

/**
 * Serve the connection for at most timeout_ms real milliseconds, recording
 * what arrives. Returns 0, or -1 when the connection to the broker is lost.
 */
int cloud_app_poll(struct cloud_app *app, int timeout_ms);

/**
 * Like cloud_app_poll() with a timeout in real nanoseconds (a trip second is
 * half a millisecond at 2000x): waits until the connection has something to
 * read (or write) or the time is up, then serves it once. Returns 0 or -1.
 */
int cloud_app_poll_ns(struct cloud_app *app, int64_t timeout_ns);

/** Publish payload on topic at QoS 1, retained or not (a cloud action). Returns 0 or -1. */
int cloud_app_publish(struct cloud_app *app, const char *topic, const void *payload, size_t len, bool retain);

/**
 * The log as verdict records: *out (freed by the caller with free()) gets
 * one record per message; Pub/Sub messages (`pubsub/T`) carry pubsub T
 * and their data decoded (pubsub.h: JSON data parsed, base64 kept in
 * "data_base64");
 * the sender is the publishing device when the cloud can tell (Pub/Sub
 * attributes, GCP and AWS event topics, else the payload's "bus" field).
 * The records point into the app, valid until cloud_app_stop. Returns the count.
 */
size_t cloud_app_records(const struct cloud_app *app, struct expect_record **out);

/**
 * Connection events of devices as the broker reported them: AWS presence
 * events, and for GCP what successive device lists show (see
 * cloud_app_poll_devices): each new lastConnectMs / lastDisconnectMs stamp
 * at the trip time it names, and a change of the connected flag. *out is freed by the caller; records point into
 * the app. Returns the count.
 */
size_t cloud_app_conn_events(const struct cloud_app *app, struct scenario_conn_event **out);

/**
 * GCP: ask the broker for its device list (who is connected); the reply is
 * recorded like any message. Returns 0 or -1.
 */
int cloud_app_poll_devices(struct cloud_app *app);

/**
 * GCP: from now on, relay every depot arrival seen on the Pub/Sub topic
 * depot-arrivals (data {"type":"depot_arrival","depot":D,...}) to depot D
 * as a command: the event's data plus "bus" (the sending device), sent with
 * cloud/gcp/devices/D/commands/send/depot-arrivals, so the depot unit
 * receives it on /devices/D/commands/depot-arrivals. The broker delivers
 * commands to the device alone (the admin `#` subscription never sees
 * them), so when it answers {"ok":true} (delivered to a connected,
 * subscribed depot) the command is recorded as a message on that topic;
 * a refusal is counted in relays_failed and reported on stderr.
 */
void cloud_app_relay_depot_arrivals(struct cloud_app *app);

/** Disconnect and release everything (the struct is left empty). */
void cloud_app_stop(struct cloud_app *app);

#ifdef __cplusplus
}
#endif

#endif /* CELLBENCH_CLOUD_APP_H */
