/* cloud_app — the run's cloud application on the admin listener (cloud_app.h). */
#include "cloud_app.h"

#include "pubsub.h"

#include <mosquitto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PRESENCE_PREFIX "$aws/events/presence/"
#define PUBSUB_PREFIX "pubsub/"
#define DEPOT_ARRIVALS_TOPIC "depot-arrivals"
#define GCP_COMMAND_SEND "cloud/gcp/devices/"
#define GCP_COMMAND_REPLY "cloud/gcp/reply/devices/"
#define GCP_DEVICE_LIST "cloud/gcp/list-devices"
#define GCP_DEVICE_LIST_REPLY "cloud/gcp/reply/list-devices"

/* "#" does not match "$" topics: the AWS lifecycle events and the shadow
 * documents (expect_ack "shadow") are subscribed to by name. */
static const char *const subscriptions[] = { "#", "$aws/events/#", "pubsub/#",
                                             "$aws/things/+/shadow/update/documents" };
#define SUBSCRIPTION_COUNT (sizeof subscriptions / sizeof subscriptions[0])

static double trip_time(const struct cloud_app *app)
{
    return (double)(vclock_now_ns(app->clock) - app->trip_start_ns) / (double)VCLOCK_NS_PER_S;
}

/*
 * Who published a message, when the cloud can tell: a Pub/Sub message's
 * attributes.deviceId, the D of a GCP /devices/D/... topic, the client id at
 * the end of an AWS $aws/events/... topic, else the "bus" field the bus
 * application puts in every payload. NULL when unknown.
 */
static const char *message_sender(const struct cloud_message *c, char *buf, size_t cap)
{
    if (strncmp(c->topic, PUBSUB_PREFIX, strlen(PUBSUB_PREFIX)) == 0)
        return json_string_value(json_object_get(json_object_get(c->json, "attributes"), "deviceId"));
    if (strncmp(c->topic, "/devices/", 9) == 0) {
        const char *end = strchr(c->topic + 9, '/');
        size_t len = end ? (size_t)(end - c->topic - 9) : strlen(c->topic + 9);
        snprintf(buf, cap, "%.*s", (int)len, c->topic + 9);
        return buf;
    }
    if (strncmp(c->topic, "$aws/events/", 12) == 0)
        return strrchr(c->topic, '/') + 1;
    if (strncmp(c->topic, "$aws/things/", 12) == 0) { /* $aws/things/<thing>/shadow/... */
        const char *end = strchr(c->topic + 12, '/');
        size_t len = end ? (size_t)(end - c->topic - 12) : strlen(c->topic + 12);
        snprintf(buf, cap, "%.*s", (int)len, c->topic + 12);
        return buf;
    }
    return json_string_value(json_object_get(c->json, "bus"));
}

static int append(struct cloud_app *app, const struct mosquitto_message *m);

/* Remember a relay until the broker answers; returns 0 or -1. */
static int relay_pending(struct cloud_app *app, const char *device, const char *payload)
{
    if (app->relay_count == app->relay_cap) {
        size_t cap = app->relay_cap * 2 + 4;
        struct cloud_relay *grown = realloc(app->relays, cap * sizeof *grown);
        if (!grown)
            return -1;
        app->relays = grown;
        app->relay_cap = cap;
    }
    struct cloud_relay *r = &app->relays[app->relay_count];
    r->device = strdup(device);
    r->payload = strdup(payload);
    if (!r->device || !r->payload) {
        free(r->device);
        free(r->payload);
        return -1;
    }
    app->relay_count++;
    return 0;
}

/*
 * The broker's reply to a relay (`cloud/gcp/reply/devices/D/commands/send/
 * depot-arrivals`): the oldest relay to D is settled; when delivered it is
 * recorded as the message the depot received.
 */
static void relay_settled(struct cloud_app *app, const struct cloud_message *c)
{
    const char *tail = "/commands/send/" DEPOT_ARRIVALS_TOPIC;
    size_t plen = strlen(GCP_COMMAND_REPLY), tlen = strlen(tail), len = strlen(c->topic);
    if (strncmp(c->topic, GCP_COMMAND_REPLY, plen) != 0 || len <= plen + tlen || strcmp(c->topic + len - tlen, tail) != 0)
        return;
    const char *device = c->topic + plen;
    size_t dlen = len - plen - tlen;
    size_t i = 0;
    while (i < app->relay_count && (strlen(app->relays[i].device) != dlen || strncmp(app->relays[i].device, device, dlen) != 0))
        i++;
    if (i == app->relay_count)
        return;
    struct cloud_relay r = app->relays[i];
    memmove(&app->relays[i], &app->relays[i + 1], (app->relay_count - i - 1) * sizeof r);
    app->relay_count--;
    char topic[320];
    snprintf(topic, sizeof topic, "/devices/%s/commands/" DEPOT_ARRIVALS_TOPIC, r.device);
    struct mosquitto_message delivered = { .topic = topic, .payload = r.payload, .payloadlen = (int)strlen(r.payload) };
    if (!json_is_true(json_object_get(c->json, "ok")) || append(app, &delivered) < 0) {
        app->relays_failed++;
        fprintf(stderr, "cellbench: cloud app: depot arrival not delivered to %s: %s\n", r.device, (const char *)c->payload);
    }
    free(r.device);
    free(r.payload);
}

static int append(struct cloud_app *app, const struct mosquitto_message *m)
{
    if (app->count == app->cap) {
        size_t cap = app->cap ? app->cap * 2 : 64;
        struct cloud_message *grown = realloc(app->messages, cap * sizeof *grown);
        if (!grown)
            return -1;
        app->messages = grown;
        app->cap = cap;
    }
    struct cloud_message *c = &app->messages[app->count];
    c->t_s = trip_time(app);
    c->topic = strdup(m->topic);
    c->payload = malloc((size_t)m->payloadlen + 1);
    if (!c->topic || !c->payload) {
        free(c->topic);
        free(c->payload);
        return -1;
    }
    memcpy(c->payload, m->payload, (size_t)m->payloadlen);
    ((char *)c->payload)[m->payloadlen] = '\0';
    c->len = (size_t)m->payloadlen;
    c->json = json_loadb(c->payload, c->len, JSON_DECODE_ANY, NULL);
    if (c->json && strncmp(c->topic, PUBSUB_PREFIX, strlen(PUBSUB_PREFIX)) == 0)
        pubsub_decode_envelope(c->json); /* data.* predicates see the event; binary data stays base64 */
    char id[128];
    const char *sender = message_sender(c, id, sizeof id);
    c->sender = sender ? strdup(sender) : NULL;
    app->count++;
    if (app->log) {
        fprintf(app->log, "%.3f %s %.*s\n", c->t_s, c->topic, (int)c->len, (const char *)c->payload);
        fflush(app->log);
    }
    return 0;
}

/* A depot arrival on the depot-arrivals Pub/Sub topic goes on to its depot as a command. */
static void relay_depot_arrival(struct cloud_app *app, const struct cloud_message *c)
{
    if (strcmp(c->topic, PUBSUB_PREFIX DEPOT_ARRIVALS_TOPIC) != 0 || !c->sender)
        return;
    const json_t *data = json_object_get(c->json, "data");
    const char *depot = json_string_value(json_object_get(data, "depot"));
    const char *type = json_string_value(json_object_get(data, "type"));
    if (!depot || !type || strcmp(type, "depot_arrival") != 0)
        return;
    json_t *command = json_deep_copy(data);
    char *text = NULL;
    if (command && json_object_set_new(command, "bus", json_string(c->sender)) == 0)
        text = json_dumps(command, JSON_COMPACT);
    json_decref(command);
    char topic[256];
    int len = snprintf(topic, sizeof topic, GCP_COMMAND_SEND "%s/commands/send/" DEPOT_ARRIVALS_TOPIC, depot);
    if (!text || len < 0 || (size_t)len >= sizeof topic || strpbrk(depot, "/+#") ||
        relay_pending(app, depot, text) < 0 || cloud_app_publish(app, topic, text, strlen(text), false) < 0) {
        app->relays_failed++;
        fprintf(stderr, "cellbench: cloud app: depot arrival of %s not relayed to %s\n", c->sender, depot);
    }
    free(text);
}

static void on_message(struct mosquitto *mosq, void *ctx, const struct mosquitto_message *m)
{
    (void)mosq;
    struct cloud_app *app = ctx;
    if (append(app, m) < 0)
        fprintf(stderr, "cellbench: cloud app: out of memory, message on %s not recorded\n", m->topic);
    else if (app->relay_depot_arrivals && app->messages[app->count - 1].json) {
        relay_depot_arrival(app, &app->messages[app->count - 1]);
        relay_settled(app, &app->messages[app->count - 1]);
    }
}

static void on_connect(struct mosquitto *mosq, void *ctx, int rc)
{
    (void)mosq;
    struct cloud_app *app = ctx;
    app->connected = rc == 0;
    if (rc != 0)
        fprintf(stderr, "cellbench: cloud app: CONNACK %d (%s)\n", rc, mosquitto_connack_string(rc));
}

static int pump_until(struct cloud_app *app, const bool *flag, int guard_ms)
{
    for (int waited = 0; waited < guard_ms && !*flag; waited += 10) {
        if (mosquitto_loop(app->mosq, 10, 1) != MOSQ_ERR_SUCCESS)
            return -1;
    }
    return *flag ? 0 : -1;
}

static void on_subscribe(struct mosquitto *mosq, void *ctx, int mid, int n, const int *granted)
{
    (void)mosq;
    (void)mid;
    (void)n;
    (void)granted;
    struct cloud_app *app = ctx;
    app->subscribed_count++;
}

static int subscribe_all(struct cloud_app *app, int guard_ms)
{
    app->subscribed_count = 0;
    for (size_t i = 0; i < SUBSCRIPTION_COUNT; i++)
        mosquitto_subscribe(app->mosq, NULL, subscriptions[i], 1);
    for (int waited = 0; waited < guard_ms && app->subscribed_count < SUBSCRIPTION_COUNT; waited += 10)
        mosquitto_loop(app->mosq, 10, 1);
    if (app->subscribed_count < SUBSCRIPTION_COUNT) {
        fprintf(stderr, "cellbench: cloud app: subscriptions not acknowledged\n");
        return -1;
    }
    return 0;
}

int cloud_app_start(struct cloud_app *app, int port, const char *user, const char *password,
                    const struct vclock *clock, int64_t trip_start_ns, const char *log_path, int guard_ms)
{
    memset(app, 0, sizeof *app);
    app->log = log_path ? fopen(log_path, "w") : NULL;
    app->clock = clock;
    app->trip_start_ns = trip_start_ns;
    mosquitto_lib_init();
    app->mosq = mosquitto_new("cellbench-cloud-app", true, app);
    if (!app->mosq)
        return -1;
    mosquitto_connect_callback_set(app->mosq, on_connect);
    mosquitto_message_callback_set(app->mosq, on_message);
    mosquitto_subscribe_callback_set(app->mosq, on_subscribe);
    mosquitto_username_pw_set(app->mosq, user, password);
    /* small requests must not wait for the broker's delayed ACK (Nagle): 40 ms real is minutes of trip at 1000x */
    mosquitto_int_option(app->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    int rc = mosquitto_connect(app->mosq, "127.0.0.1", port, 60);
    if (rc != MOSQ_ERR_SUCCESS || pump_until(app, &app->connected, guard_ms) < 0) {
        fprintf(stderr, "cellbench: cloud app: cannot connect to 127.0.0.1:%d: %s\n", port,
                rc != MOSQ_ERR_SUCCESS ? mosquitto_strerror(rc) : "no CONNACK");
        return -1;
    }
    return subscribe_all(app, guard_ms);
}

int cloud_app_reconnect(struct cloud_app *app, const char *password, int guard_ms)
{
    app->connected = false;
    mosquitto_username_pw_set(app->mosq, "cloud", password);
    int rc = mosquitto_reconnect(app->mosq);
    if (rc != MOSQ_ERR_SUCCESS || pump_until(app, &app->connected, guard_ms) < 0) {
        fprintf(stderr, "cellbench: cloud app: cannot reconnect: %s\n",
                rc != MOSQ_ERR_SUCCESS ? mosquitto_strerror(rc) : "no CONNACK");
        return -1;
    }
    return subscribe_all(app, guard_ms);
}

int cloud_app_poll(struct cloud_app *app, int timeout_ms)
{
    int rc = mosquitto_loop(app->mosq, timeout_ms, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "cellbench: cloud app: connection to the broker lost: %s\n", mosquitto_strerror(rc));
        return -1;
    }
    return 0;
}

int cloud_app_poll_ns(struct cloud_app *app, int64_t timeout_ns)
{
    int sock = mosquitto_socket(app->mosq);
    if (sock >= 0 && timeout_ns > 0) {
        struct pollfd p = { .fd = sock, .events = (short)(POLLIN | (mosquitto_want_write(app->mosq) ? POLLOUT : 0)) };
        struct timespec ts = { (time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000) };
        ppoll(&p, 1, &ts, NULL);
    }
    return cloud_app_poll(app, 0);
}

int cloud_app_publish(struct cloud_app *app, const char *topic, const void *payload, size_t len, bool retain)
{
    int rc = mosquitto_publish(app->mosq, NULL, topic, (int)len, payload, 1, retain);
    return rc == MOSQ_ERR_SUCCESS ? 0 : -1;
}

size_t cloud_app_records(const struct cloud_app *app, struct expect_record **out)
{
    *out = app->count ? calloc(app->count, sizeof **out) : NULL;
    if (!*out)
        return 0;
    for (size_t i = 0; i < app->count; i++) {
        const struct cloud_message *c = &app->messages[i];
        struct expect_record *r = &(*out)[i];
        r->t_s = c->t_s;
        r->msg = c->json;
        r->sender = c->sender;
        if (strncmp(c->topic, PUBSUB_PREFIX, strlen(PUBSUB_PREFIX)) == 0)
            r->pubsub = c->topic + strlen(PUBSUB_PREFIX);
        else
            r->topic = c->topic;
    }
    return app->count;
}

/* "$aws/events/presence/connected/<id>" with a JSON payload naming clientId. */
static bool presence_event(const struct cloud_message *c, struct scenario_conn_event *e)
{
    if (strncmp(c->topic, PRESENCE_PREFIX, strlen(PRESENCE_PREFIX)) != 0 || !c->json)
        return false;
    const char *kind = json_string_value(json_object_get(c->json, "eventType"));
    const char *client = json_string_value(json_object_get(c->json, "clientId"));
    if (!kind || !client)
        return false;
    e->t_s = c->t_s;
    e->device = client;
    e->connected = strcmp(kind, "connected") == 0;
    return true;
}

/* Whether the device was last reported connected (in the events so far). */
static bool last_state(const struct scenario_conn_event *events, size_t n, const char *device)
{
    for (size_t i = n; i-- > 0;) {
        if (strcmp(events[i].device, device) == 0)
            return events[i].connected;
    }
    return false; /* never seen counts as disconnected */
}

/* Append one connection event; false when out of memory. */
static bool conn_event_add(struct scenario_conn_event **out, size_t *n, size_t *cap, double t_s, const char *id,
                           bool connected)
{
    if (*n == *cap) {
        size_t grown_cap = *cap * 2 + 16;
        struct scenario_conn_event *grown = realloc(*out, grown_cap * sizeof *grown);
        if (!grown)
            return false;
        *out = grown;
        *cap = grown_cap;
    }
    (*out)[(*n)++] = (struct scenario_conn_event){ t_s, id, connected };
    return true;
}

/* What the device list replies so far said about one device. */
struct presence_seen {
    const char *id;
    int64_t connect_ms, disconnect_ms; /* the last stamps seen */
    double reply_t_s;                  /* trip time of the last reply naming it */
};

static struct presence_seen *presence_seen_of(struct presence_seen **seen, size_t *count, const char *id)
{
    for (size_t i = 0; i < *count; i++) {
        if (strcmp((*seen)[i].id, id) == 0)
            return &(*seen)[i];
    }
    struct presence_seen *grown = realloc(*seen, (*count + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    *seen = grown;
    grown[*count] = (struct presence_seen){ id, 0, 0, -1e18 };
    return &grown[(*count)++];
}

/*
 * Trip time of a broker stamp (virtual epoch ms) named in a reply received at
 * trip time reply_t_s when the broker's clock read now_ms: between the reply
 * before (which did not have it yet) and this one.
 */
static double stamp_trip_time(int64_t stamp_ms, int64_t now_ms, double reply_t_s, double previous_reply_t_s)
{
    double t = reply_t_s - (double)(now_ms - stamp_ms) / 1000.0;
    return t < previous_reply_t_s ? previous_reply_t_s : t > reply_t_s ? reply_t_s : t;
}

/*
 * One device of a GCP device list reply: its new connection and disconnection
 * stamps become events at the times they happened (a reconnection shorter
 * than the polling period still shows), in the order they happened; if the
 * connected flag still differs from the state so far, an event at the reply.
 */
static void device_entry_events(const struct cloud_message *c, const json_t *d, int64_t now_ms, struct presence_seen *p,
                                struct scenario_conn_event **out, size_t *n, size_t *cap)
{
    int64_t connect_ms = json_integer_value(json_object_get(d, "lastConnectMs"));
    int64_t disconnect_ms = json_integer_value(json_object_get(d, "lastDisconnectMs"));
    bool new_connect = connect_ms > p->connect_ms, new_disconnect = disconnect_ms > p->disconnect_ms;
    double tc = stamp_trip_time(connect_ms, now_ms, c->t_s, p->reply_t_s);
    double td = stamp_trip_time(disconnect_ms, now_ms, c->t_s, p->reply_t_s);
    bool disconnect_first = disconnect_ms <= connect_ms;
    if (new_disconnect && disconnect_first)
        conn_event_add(out, n, cap, td, p->id, false);
    if (new_connect)
        conn_event_add(out, n, cap, tc, p->id, true);
    if (new_disconnect && !disconnect_first)
        conn_event_add(out, n, cap, td, p->id, false);
    bool connected = json_is_true(json_object_get(d, "connected"));
    if (connected != last_state(*out, *n, p->id))
        conn_event_add(out, n, cap, c->t_s, p->id, connected);
    p->connect_ms = connect_ms > p->connect_ms ? connect_ms : p->connect_ms;
    p->disconnect_ms = disconnect_ms > p->disconnect_ms ? disconnect_ms : p->disconnect_ms;
    p->reply_t_s = c->t_s;
}

/* A GCP device list reply: the connection events it reveals. Returns whether c was one. */
static bool device_list_events(const struct cloud_message *c, struct presence_seen **seen, size_t *seen_count,
                               struct scenario_conn_event **out, size_t *n, size_t *cap)
{
    if (strcmp(c->topic, GCP_DEVICE_LIST_REPLY) != 0 || !c->json)
        return false;
    const json_t *devices = json_object_get(c->json, "devices"), *d;
    int64_t now_ms = json_integer_value(json_object_get(c->json, "nowMs"));
    size_t i;
    json_array_foreach(devices, i, d) {
        const char *id = json_string_value(json_object_get(d, "id"));
        struct presence_seen *p = id ? presence_seen_of(seen, seen_count, id) : NULL;
        if (p)
            device_entry_events(c, d, now_ms, p, out, n, cap);
    }
    return true;
}

/* Stable insertion sort by time (a stamp may predate another device's event of the same reply). */
static void sort_by_time(struct scenario_conn_event *e, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct scenario_conn_event x = e[i];
        size_t j = i;
        for (; j > 0 && e[j - 1].t_s > x.t_s; j--)
            e[j] = e[j - 1];
        e[j] = x;
    }
}

size_t cloud_app_conn_events(const struct cloud_app *app, struct scenario_conn_event **out)
{
    size_t n = 0, cap = app->count + 16;
    *out = calloc(cap, sizeof **out);
    if (!*out)
        return 0;
    struct presence_seen *seen = NULL;
    size_t seen_count = 0;
    for (size_t i = 0; i < app->count; i++) {
        struct scenario_conn_event e;
        if (!device_list_events(&app->messages[i], &seen, &seen_count, out, &n, &cap) &&
            presence_event(&app->messages[i], &e))
            conn_event_add(out, &n, &cap, e.t_s, e.device, e.connected);
    }
    free(seen);
    sort_by_time(*out, n);
    return n;
}

int cloud_app_poll_devices(struct cloud_app *app)
{
    return cloud_app_publish(app, GCP_DEVICE_LIST, "", 0, false);
}

void cloud_app_relay_depot_arrivals(struct cloud_app *app)
{
    app->relay_depot_arrivals = true;
}

void cloud_app_stop(struct cloud_app *app)
{
    if (app->mosq) {
        mosquitto_disconnect(app->mosq);
        mosquitto_destroy(app->mosq);
        mosquitto_lib_cleanup();
    }
    for (size_t i = 0; i < app->count; i++) {
        free(app->messages[i].topic);
        free(app->messages[i].payload);
        free(app->messages[i].sender);
        json_decref(app->messages[i].json);
    }
    free(app->messages);
    for (size_t i = 0; i < app->relay_count; i++) {
        free(app->relays[i].device);
        free(app->relays[i].payload);
    }
    free(app->relays);
    if (app->log)
        fclose(app->log);
    memset(app, 0, sizeof *app);
}
