/*
 * fw_bus_app.h - the bus application's loop for the modem-TLS stacks, on top
 * of fw_device (connection, offline queue) and fw_bus (data and events):
 * switches the GNSS receiver on (AT+CGPS=1) once the device is online, polls
 * AT+CGPSINFO on the port clock, queues a location event every report
 * interval and when the cloud asks (command "location"), a speed event
 * (with location) when the speed rises above the configured threshold and
 * again every report interval while it stays above, and handles the
 * configuration and commands from the cloud (invalid or oversized JSON gives
 * an error event and the previous configuration stays). Every event carries
 * a timestamp (port wall clock, else the fix's UTC time).
 *
 * The application shares the AT engine with fw_device: it sends its own
 * commands only while the device is online and idle, and does not poll the
 * device while one of them runs.
 *
 * Not done yet: the picture command (camera input as a port function; it is
 * answered with an error event), driver-behaviour input, depot arrival
 * events from the loop, the depot role.
 */
#ifndef FW_BUS_APP_H
#define FW_BUS_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_bus.h"
#include "fw_device.h"

/* Largest configuration or command document accepted. */
#ifndef FW_BUS_APP_JSON_MAX
#define FW_BUS_APP_JSON_MAX 1024u
#endif

/* Largest event the application writes. */
#ifndef FW_BUS_APP_EVENT_MAX
#define FW_BUS_APP_EVENT_MAX 512u
#endif

/* Everything the loop needs; pointers stay valid while it runs. */
struct fw_bus_app_config {
    struct fw_device *device;        /* started with fw_device_start() */
    const char *bus_id;              /* device id carried by every event */
    const char *events_topic;        /* where events are queued */
    const char *config_topic;        /* messages on it are configurations; others commands */
    uint32_t gnss_poll_ms;           /* AT+CGPSINFO period; 0 = 1000 */
    uint32_t default_report_s;       /* location period before a configuration; 0 = 30 */
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
    char event[FW_BUS_APP_EVENT_MAX];
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

/* The configuration in force, or NULL before the first valid one. */
const struct fw_bus_config *fw_bus_app_config(const struct fw_bus_app *app);

/* Counters. */
const struct fw_bus_app_stats *fw_bus_app_stats(const struct fw_bus_app *app);

#endif /* FW_BUS_APP_H */
