/*
 * scenario — a bus-trip scenario file (JSON, scenarios/README.md) loaded
 * into C structs and checked completely before anything runs.
 *
 * Every refusal names the file, the line where the offending value starts,
 * its JSON path (e.g. `$.timeline[3].at`) and the reason; JSON syntax errors
 * give line and column instead of a path. Unknown keys are errors, so a typo never passes silently.
 * String fields point into the parsed document, which the scenario keeps
 * alive until scenario_free.
 */
#ifndef CELLBENCH_SCENARIO_H
#define CELLBENCH_SCENARIO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expect.h"
#include "route.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Which cloud the broker emulates. */
enum scenario_profile { SCENARIO_PROFILE_AWS, SCENARIO_PROFILE_GCP };

/** The four stack configurations of DESIGN.md. */
enum scenario_stack {
    SCENARIO_STACK_AWS_MODEM_TLS,
    SCENARIO_STACK_AWS_MCU_TLS,
    SCENARIO_STACK_GCP_MODEM_TLS,
    SCENARIO_STACK_GCP_MCU_TLS,
};

/** What a device is. */
enum scenario_role { SCENARIO_ROLE_BUS, SCENARIO_ROLE_DEPOT };

/** One device of the run (a bus, or a depot unit). */
struct scenario_device {
    const char *id;
    enum scenario_role role;
    const char *registration;  /* bus: vehicle registration, or NULL */
    const char *route_number;  /* bus: line number as text, or NULL */
    enum scenario_stack stack; /* the scenario's stack unless overridden */
    double lat, lon;           /* depot: position */
    double radius_m;           /* depot: arrival geofence radius */
};

/** Where the route came from. */
enum scenario_route_source { SCENARIO_ROUTE_NONE, SCENARIO_ROUTE_GPX, SCENARIO_ROUTE_NMEA, SCENARIO_ROUTE_WAYPOINTS };

/** The buses' GPS trace. */
struct scenario_route {
    enum scenario_route_source source;
    char *file;         /* GPX/NMEA: path resolved against the scenario's directory */
    double speed_kmh;   /* for a GPX without times; 0 when not given */
    unsigned laps;      /* times the (closed) trace is driven, default 1 */
    struct route route; /* resampled at 1 Hz */
};

/** Kinds of timeline entries (the key that names the action). */
enum scenario_action_kind {
    SCENARIO_ACTION_CONFIG,            /* "config": the cloud sends a configuration */
    SCENARIO_ACTION_COMMAND,           /* "command": the cloud sends a command */
    SCENARIO_ACTION_READ_STATE,        /* "read_state": the cloud reads the device state / shadow */
    SCENARIO_ACTION_DRIVER,            /* "driver": a driver-behaviour input with a picture */
    SCENARIO_ACTION_FAULT,             /* "fault": a simulator, broker or clock fault */
    SCENARIO_ACTION_EXPECT_MESSAGE,    /* "expect_message": messages on a topic */
    SCENARIO_ACTION_EXPECT_ORDER,      /* "expect_order": named messages arrive in order */
    SCENARIO_ACTION_EXPECT_NO_LOSS,    /* "expect_no_loss": no QoS 1 event lost or duplicated */
    SCENARIO_ACTION_EXPECT_CONNECTION, /* "expect_connection": connected / disconnected */
    SCENARIO_ACTION_EXPECT_ACK,        /* "expect_ack": a config/state/shadow version acknowledged */
    SCENARIO_ACTION_EXPECT_UART,       /* "expect_uart": what the UART capture shows */
};

/** Driver behaviours the camera can report. */
enum scenario_behaviour { SCENARIO_BEHAVIOUR_PHONE, SCENARIO_BEHAVIOUR_DRINKING, SCENARIO_BEHAVIOUR_DROWSY };

/** Who a fault is sent to. */
enum scenario_fault_target {
    SCENARIO_FAULT_SIM,    /* a control line for the device's simulator */
    SCENARIO_FAULT_BROKER, /* "broker restart", "broker rotate-cert" (new server certificate from a new CA) */
    SCENARIO_FAULT_CLOCK,  /* "clock jump DURATION" */
};

/** What an expect_ack waits for. */
enum scenario_ack { SCENARIO_ACK_CONFIG, SCENARIO_ACK_STATE, SCENARIO_ACK_SHADOW };

/** Message counts within a window: at_least <= n <= at_most. */
struct scenario_count {
    long at_least; /* default 1 */
    long at_most;  /* -1: no upper bound */
};

/** One timeline entry. */
struct scenario_action {
    size_t index;     /* position in $.timeline */
    double at_s;      /* trip time in seconds */
    int device;       /* index into devices, -1 when the action is not tied to one */
    const char *note; /* free text, or NULL */
    enum scenario_action_kind kind;
    union {
        struct {
            const json_t *payload; /* JSON object */
        } config;
        struct {
            const char *name;   /* query_location | query_picture | publish (args topic, payload) */
            const json_t *args; /* JSON object or NULL */
        } command;
        struct {
            struct expect_match match; /* the state read must match */
        } read_state;
        struct {
            enum scenario_behaviour behaviour;
            char *picture;       /* resolved path of the picture file, or NULL */
            size_t picture_size; /* size of a synthetic picture when no file is given */
        } driver;
        struct {
            enum scenario_fault_target target;
            char *line;    /* normalised text, e.g. "net down", "clock jump 86400" */
            double jump_s; /* clock jump in seconds */
        } fault;
        struct {
            const char *topic;  /* MQTT topic filter, or NULL */
            const char *pubsub; /* Pub/Sub topic (gcp), or NULL */
            const char *id;     /* name for expect_order, or NULL */
            struct expect_match match;
            double within_s;
            struct scenario_count count;
        } message;
        struct {
            const char **ids; /* expect_message ids, in the required order */
            size_t count;
        } order;
        struct {
            const char *topic;
            const char *key; /* path of the sequence number in each message */
            struct expect_match match;
        } no_loss;
        struct {
            bool connected;
            double within_s;
        } connection;
        struct {
            enum scenario_ack what;
            long version; /* 0: the latest */
            double within_s;
        } ack;
        struct {
            const char **contains; /* strings the capture must contain */
            size_t contains_count;
            const char **absent; /* strings it must not contain */
            size_t absent_count;
        } uart;
    } u;
};

/** A loaded scenario. */
struct scenario {
    char *path; /* as given */
    const char *name;
    const char *description; /* "" when not given */
    enum scenario_profile profile;
    enum scenario_stack stack;
    double rate;           /* virtual seconds per real second (default 1) */
    int64_t start_epoch_s; /* virtual Unix time at trip time 0 (0: from the trace, else the runner's choice) */
    double duration_s;     /* trip length: given, else the route's */
    struct scenario_device *devices;
    size_t device_count;
    struct scenario_route route;
    struct scenario_action *actions; /* in file order */
    size_t action_count;
    json_t *root; /* the document (owns every const char * above) */
};

/** Why a scenario was refused. */
struct scenario_error {
    char file[512];
    char path[256];    /* JSON path, "" for syntax and file errors */
    int line;          /* line of the offending value or syntax error; 0 when unknown (e.g. no file) */
    int column;        /* column of a syntax error, else 0 */
    char reason[512];
    char message[1400]; /* "FILE:LINE: PATH: REASON", or "FILE:LINE:COLUMN: REASON" for syntax errors */
};

/**
 * Load and check a scenario file. Relative file names inside (traces,
 * pictures) are resolved against the file's directory.
 * Returns 0, or -1 with err filled and out left empty.
 */
int scenario_load(const char *path, struct scenario *out, struct scenario_error *err);

/**
 * Load from JSON text; name stands for the file in messages and base_dir
 * resolves relative file names. Returns as scenario_load.
 */
int scenario_load_text(const char *text, size_t len, const char *name, const char *base_dir, struct scenario *out,
                       struct scenario_error *err);

/** Release everything a loaded scenario holds (the struct is left empty). NULL is ignored. */
void scenario_free(struct scenario *s);

/**
 * Parse a trip time: a number of seconds (>= 0) or "HH:MM:SS" (hours may
 * exceed 23; fractional seconds allowed). Returns 0 or -1.
 */
int scenario_parse_time(const json_t *value, double *seconds);

/** Parse a duration word: "90", "90s", "15m", "24h", "2d" (> 0). Returns 0 or -1. */
int scenario_parse_duration(const char *text, double *seconds);

/** Format seconds as "HH:MM:SS" (fractions dropped) into buf. */
void scenario_format_time(double seconds, char *buf, size_t cap);

/** Name of a profile ("aws", "gcp"). */
const char *scenario_profile_str(enum scenario_profile p);

/** Name of a stack ("aws-modem-tls", ...). */
const char *scenario_stack_str(enum scenario_stack s);

/** Cloud a stack belongs to. */
enum scenario_profile scenario_stack_profile(enum scenario_stack s);

/** Whether TLS (and so every payload) stays on the MCU side of the UART. */
bool scenario_stack_mcu_tls(enum scenario_stack s);

/** Name of a role ("bus", "depot"). */
const char *scenario_role_str(enum scenario_role r);

/** The key that names an action kind ("config", "expect_message", ...). */
const char *scenario_action_str(enum scenario_action_kind k);

/** Name of a driver behaviour ("phone", "drinking", "drowsy"). */
const char *scenario_behaviour_str(enum scenario_behaviour b);

/** Name of an acknowledgement kind ("config", "state", "shadow"). */
const char *scenario_ack_str(enum scenario_ack a);

/** Index of the device with this id, or -1. */
int scenario_find_device(const struct scenario *s, const char *id);

/* ---- verdicts over what a run observed (pure functions) ---- */

/**
 * The records an expect_message (window at .. at + within) or an
 * expect_no_loss (trip start .. at) is about. Returns 0, or -1 for other kinds.
 */
int scenario_message_query(const struct scenario *s, const struct scenario_action *a, struct expect_query *q);

/**
 * Verdict of an expect_message over the cloud side's message log: the count
 * of selected messages is within the expected bounds. why (may be NULL) gets
 * the reason of a failure.
 */
bool scenario_check_message(const struct scenario *s, const struct scenario_action *a,
                            const struct expect_record *log, size_t n, char *why, size_t why_cap);

/** Verdict of an expect_order: the first match of each named expect_message comes in order. */
bool scenario_check_order(const struct scenario *s, const struct scenario_action *a, const struct expect_record *log,
                          size_t n, char *why, size_t why_cap);

/** Verdict of an expect_no_loss: sequence numbers without gap or duplicate. */
bool scenario_check_no_loss(const struct scenario *s, const struct scenario_action *a,
                            const struct expect_record *log, size_t n, char *why, size_t why_cap);

/** A device connecting or disconnecting, as the broker saw it. */
struct scenario_conn_event {
    double t_s;
    const char *device;
    bool connected;
};

/**
 * Verdict of an expect_connection: the device is in the wanted state at the
 * entry's time (after every event up to then; a device never seen counts as
 * disconnected), or gets there within the window. events are in time order.
 */
bool scenario_check_connection(const struct scenario *s, const struct scenario_action *a,
                               const struct scenario_conn_event *events, size_t n, char *why, size_t why_cap);

/** A device acknowledging a config, state or shadow version. */
struct scenario_ack_event {
    double t_s;
    const char *device;
    enum scenario_ack what;
    long version;
};

/**
 * Verdict of an expect_ack: an acknowledgement of that kind and version
 * (latest_version when the entry says "latest") arrives within the window.
 */
bool scenario_check_ack(const struct scenario *s, const struct scenario_action *a,
                        const struct scenario_ack_event *events, size_t n, long latest_version, char *why,
                        size_t why_cap);

/** Verdict of an expect_uart on the capture text (raw UART bytes) up to the entry's time. */
bool scenario_check_uart(const struct scenario_action *a, const void *capture, size_t len, char *why, size_t why_cap);

#ifdef __cplusplus
}
#endif

#endif /* CELLBENCH_SCENARIO_H */
