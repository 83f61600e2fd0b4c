/*
 * fw_bus_app.h - the bus application's loop for all four stacks, on top of
 * fw_device (connection over the modem's MQTT client or the MCU-TLS
 * transport, offline queue) and fw_bus (data and events):
 * switches the GNSS receiver on (AT+CGPS=1) once the device is online, polls
 * AT+CGPSINFO on the port clock, queues a location event every report
 * interval and when the cloud asks (command "location"), a speed event
 * (with location) when the speed rises above the configured threshold and
 * again every report interval while it stays above, and handles the
 * configuration and commands from the cloud (invalid or oversized JSON gives
 * an error event and the previous configuration stays; an empty
 * configuration, which GCP sends on subscribe while none is set, is
 * ignored). Every event carries
 * a timestamp (port wall clock, else the fix's UTC time).
 *
 * The application shares the AT engine with fw_device: it sends its own
 * commands only while fw_device_idle() allows it (online between the
 * device's own commands, on MCU TLS between two TCP operations, or pausing
 * in a back-off, so GNSS is read and events are queued while offline), and
 * does not poll the device while one of them runs.
 * Incoming messages reach fw_bus_app_on_message() through the fw_sim7600
 * message callback on either transport.
 *
 * State report: an accepted configuration is reported back on the
 * profile's state topic (AWS shadow update, GCP device state;
 * fw_bus_state.h), at most one report per two seconds (GCP closes a device
 * that sends state more often than once a second).
 *
 * Driver pictures: when the port's driver_event input reports phone,
 * drinking or drowsy, and when the cloud sends the "picture" command, the
 * camera's frame is frozen (port camera_capture) and read in pieces
 * (camera_read) into picture chunk events of at most
 * FW_BUS_APP_PICTURE_EVENT_MAX bytes (well under the modem's 10240-byte
 * payload limit and the clouds' limits), each with the picture number,
 * trigger, chunk index/count/bytes, so the cloud can reassemble them. A
 * chunk is queued only when the offline queue is empty, so a picture never
 * crowds out other events; one picture at a time, one query waits behind it
 * (further driver reports wait in the port meanwhile). A query without a
 * camera or frame is answered with an error event.
 *
 * Depot arrival: when a fix enters the configured depot's radius from
 * outside (the first fix only sets where the bus is), a depot_arrival event
 * goes to the profile's FW_TOPIC_DEPOT_ARRIVED topic for the configured
 * depot (AWS /depot/<depot>/bus-arrived, GCP .../events/depot-arrived), or
 * to the events topic when no profile is given.
 *
 * With a registration configured, an identification event (registration,
 * route) is queued at start, so it is the first event the cloud receives.
 * Every event on the events topic or a subtopic of it (GCP's
 * events/depot-arrived) carries "seq", a sequence number kept
 * through the port's persistent storage (FW_BUS_APP_PERSIST_SEQ), so the
 * cloud can check that none was lost or repeated.
 *
 * Test hook (not for a fleet): the "publish" command
 * {"cmd":"publish","topic":T,"payload":P} queues P (a JSON string as its
 * text, any other JSON value as written) on topic T, so a bench can make a
 * bus publish where its cloud forbids it (AWS disconnects by policy, GCP
 * closes the connection). It is compiled in unless FW_BUS_APP_TEST_PUBLISH
 * is 0 and accepted only with test_publish set in the configuration;
 * otherwise it is refused like any unknown command (an error event). It is
 * published at most once: if the connection is lost while it heads the
 * queue (the broker refused it), it is dropped and the bus carries on.
 *
 * Not done yet: the depot role (a depot unit subscribing to its
 * bus-arrived topic; fwcore runs it as a plain device that logs messages).
 */
#ifndef FW_BUS_APP_H
#define FW_BUS_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_bus.h"
#include "fw_cloud.h"
#include "fw_device.h"

/* Largest configuration or command document accepted (a configuration may
 * carry a CA certificate in PEM for fw_rotation). */
#ifndef FW_BUS_APP_JSON_MAX
#define FW_BUS_APP_JSON_MAX 4096u
#endif

/* Largest event the application writes. */
#ifndef FW_BUS_APP_EVENT_MAX
#define FW_BUS_APP_EVENT_MAX 512u
#endif

/* Persistent storage key of the events' sequence number (the offline
 * queue of fwcore uses 1). */
#ifndef FW_BUS_APP_PERSIST_SEQ
#define FW_BUS_APP_PERSIST_SEQ 2u
#endif

/* Largest picture chunk event (base64url data plus its JSON). */
#ifndef FW_BUS_APP_PICTURE_EVENT_MAX
#define FW_BUS_APP_PICTURE_EVENT_MAX 4096u
#endif

/* Raw picture bytes per chunk event. */
#define FW_BUS_APP_PICTURE_CHUNK ((FW_BUS_APP_PICTURE_EVENT_MAX - FW_BUS_PICTURE_OVERHEAD) / 4u * 3u)

/* Whether the "publish" test hook is compiled in (see above); a fleet
 * build may set 0. */
#ifndef FW_BUS_APP_TEST_PUBLISH
#define FW_BUS_APP_TEST_PUBLISH 1
#endif

/* Longest topic of the "publish" test hook. */
#define FW_BUS_APP_TEST_TOPIC_MAX 256u

/* Everything the loop needs; pointers stay valid while it runs. */
struct fw_bus_app_config {
    struct fw_device *device;        /* started with fw_device_start() */
    const char *bus_id;              /* device id carried by every event */
    const char *events_topic;        /* where events are queued */
    const char *config_topic;        /* messages on it are configurations; others commands */
    uint32_t gnss_poll_ms;           /* AT+CGPSINFO period; 0 = 1000 */
    uint32_t default_report_s;       /* location period before a configuration; 0 = 30 */
    const struct fw_cloud_profile *profile; /* names the arrival topic; NULL: events_topic */
    const char *registration;        /* vehicle registration; NULL: no identification event */
    const char *route;               /* route before a configuration names one; NULL = "" */
    bool test_publish;               /* accept the "publish" test hook (never in a fleet) */
    /* Optional: asked about every configuration that parsed (fwcore:
     * fw_rotation_config_hook for "endpoint" and "ca_cert"); false, with a
     * reason in reason[cap], rejects the whole configuration. */
    bool (*config_hook)(void *ctx, const char *json, size_t len, char *reason, size_t cap);
    void *config_hook_ctx;
};

/* Counters. */
struct fw_bus_app_stats {
    uint32_t polls;                  /* AT+CGPSINFO answered */
    uint32_t fixes;                  /* of them with a position */
    uint32_t locations;              /* location events queued */
    uint32_t speeds;                 /* speed events queued */
    uint32_t errors;                 /* error events queued */
    uint32_t configs;                /* configurations accepted */
    uint32_t queue_failures;         /* events the queue refused */
    uint32_t arrivals;               /* depot_arrival events queued */
    uint32_t driver_events;          /* driver-behaviour reports taken */
    uint32_t pictures;               /* pictures started */
    uint32_t chunks;                 /* picture chunk events queued */
};

/* A picture being sent. */
struct fw_bus_app_picture {
    bool active;
    enum fw_bus_picture_reason reason;
    bool has_request;
    char request[48];
    uint32_t number;                 /* picture number, per boot */
    uint64_t ts;                     /* capture time, on every chunk */
    uint32_t size, offset;           /* frame bytes, bytes read so far */
    uint32_t index, count;           /* next chunk, chunks in all */
    size_t filled;                   /* raw bytes of the next chunk read */
};

/* Application state. Allocated by the caller; fields are private. */
struct fw_bus_app {
    struct fw_bus_app_config cfg;
    struct fw_bus_config config;
    bool configured;
    bool gps_on;
    bool at_busy;                    /* our command owns the AT engine */
    bool at_is_cgps;
    bool line_fix;                   /* the running AT+CGPSINFO gave a position */
    bool line_seen;
    struct fw_bus_fix line;
    struct fw_bus_fix fix;
    bool have_fix;
    bool query_pending;
    char query_id[48];
    bool above_threshold;
    bool located_once, speed_once;
    uint32_t next_poll_ms;
    uint32_t last_location_ms, last_speed_ms;
    uint32_t losses_seen;
    uint32_t at_timeouts;            /* our AT commands unanswered in a row */
    uint32_t seq;                    /* last sequence number on the events topic */
    bool depot_known, at_depot;      /* inside the depot radius at the last fix */
    struct fw_bus_app_picture pic;
    bool pic_query_pending;          /* a picture command waits for the running picture */
    char pic_query_id[48];
    char event[FW_BUS_APP_EVENT_MAX];
    /* a chunk event; its raw bytes are read into the tail and encoded in
     * place (base64 output never overtakes its input), so no second buffer */
    char pic_event[FW_BUS_APP_PICTURE_EVENT_MAX];
    char arrival_topic[260];
#if FW_BUS_APP_TEST_PUBLISH
    bool test_pending;               /* a test publish may still head the queue */
    uint32_t test_sum;               /* checksum of its topic and payload */
#endif
    bool state_pending;              /* a state report of the configuration is due */
    bool state_sent;                 /* one was queued, at last_state_ms */
    uint32_t last_state_ms;
    struct fw_bus_app_stats stats;
};

/* Initialise app for a started device. Returns false for missing pointers. */
bool fw_bus_app_init(struct fw_bus_app *app, const struct fw_bus_app_config *cfg);

/* An incoming message (from the fw_sim7600 message callback): a
 * configuration on the configuration topic, a command on any other. */
void fw_bus_app_on_message(struct fw_bus_app *app, const char *topic, size_t topic_len,
                           const uint8_t *payload, size_t payload_len);

/* Advance the device and the application; returns the device's state. */
enum fw_device_state fw_bus_app_poll(struct fw_bus_app *app);

/* Earliest port-clock time (ms) at which fw_bus_app_poll() has timed work
 * (the next AT+CGPSINFO poll while the device is idle or backing off, and everything
 * fw_device_next_deadline_ms() reports), into *deadline_ms. Returns false
 * when nothing is timed (only modem input can move it on). */
bool fw_bus_app_next_deadline_ms(const struct fw_bus_app *app, uint32_t *deadline_ms);

/* The configuration in force, or NULL before the first valid one. */
const struct fw_bus_config *fw_bus_app_config(const struct fw_bus_app *app);

/* Counters. */
const struct fw_bus_app_stats *fw_bus_app_stats(const struct fw_bus_app *app);

#endif /* FW_BUS_APP_H */
