/*
 * fw_bus_app.c - the bus application's loop (see fw_bus_app.h).
 */
#include <string.h>

#include "fw_bus_app.h"
#include "fw_bus_state.h"

#define FW_BUS_APP_POLL_MS 1000u
#define FW_BUS_APP_REPORT_S 30u
#define FW_BUS_APP_CMD_TIMEOUT_MS 5000u
#define FW_BUS_APP_STATE_GAP_MS 2000u /* GCP closes a device sending state more than once a second */

static struct fw_at *fw_bus_app__at(const struct fw_bus_app *app)
{
    return fw_sim7600_at(app->cfg.device->cfg.modem);
}

static const struct fw_port *fw_bus_app__port(const struct fw_bus_app *app)
{
    return fw_bus_app__at(app)->cfg.port;
}

static uint32_t fw_bus_app__now(const struct fw_bus_app *app)
{
    const struct fw_port *port = fw_bus_app__port(app);
    return port->now_ms(port->ctx);
}

static void fw_bus_app__log(const struct fw_bus_app *app, enum fw_log_level level,
                            const char *event, const char *detail)
{
    const struct fw_port *port = fw_bus_app__port(app);
    if (port->log != NULL)
        port->log(port->ctx, level, "app", event, detail,
                  detail != NULL ? strlen(detail) : 0);
}

/* Timestamp of an event: the port's wall clock, else the last fix's time. */
static uint64_t fw_bus_app__timestamp(const struct fw_bus_app *app)
{
    const struct fw_port *port = fw_bus_app__port(app);
    if (port->unix_time_s != NULL)
        return port->unix_time_s(port->ctx);
    return app->have_fix ? app->fix.unix_time : 0;
}

/* The next sequence number of the events topic, saved so a reboot goes on
 * counting (a failed save only risks repeating numbers after a reboot). */
static uint32_t fw_bus_app__next_seq(struct fw_bus_app *app)
{
    const struct fw_port *port = fw_bus_app__port(app);
    uint8_t raw[4];
    uint32_t seq = ++app->seq;
    if (seq == 0)
        seq = app->seq = 1; /* 0 means "no seq" */
    raw[0] = (uint8_t)seq;
    raw[1] = (uint8_t)(seq >> 8);
    raw[2] = (uint8_t)(seq >> 16);
    raw[3] = (uint8_t)(seq >> 24);
    if (port->persist_save != NULL)
        port->persist_save(port->ctx, FW_BUS_APP_PERSIST_SEQ, raw, sizeof(raw));
    return seq;
}

/* Who sends; events on the events topic (and its subtopics) also take the
 * next sequence number. */
static struct fw_bus_identity fw_bus_app__identity(struct fw_bus_app *app, bool events_topic)
{
    struct fw_bus_identity id;
    id.bus = app->cfg.bus_id;
    id.route = app->configured && app->config.route[0] != '\0' ? app->config.route
               : app->cfg.route != NULL                          ? app->cfg.route
                                                                 : "";
    id.seq = events_topic ? fw_bus_app__next_seq(app) : 0;
    return id;
}

/* The last sequence number saved before a reboot, 0 if none. */
static uint32_t fw_bus_app__load_seq(const struct fw_bus_app *app)
{
    const struct fw_port *port = fw_bus_app__port(app);
    uint8_t raw[4];
    size_t len = 0;
    if (port->persist_load == NULL ||
        port->persist_load(port->ctx, FW_BUS_APP_PERSIST_SEQ, raw, sizeof(raw), &len) != 0 ||
        len != sizeof(raw))
        return 0;
    return (uint32_t)raw[0] | (uint32_t)raw[1] << 8 | (uint32_t)raw[2] << 16 |
           (uint32_t)raw[3] << 24;
}

static uint32_t fw_bus_app__report_ms(const struct fw_bus_app *app)
{
    uint32_t s = app->configured && app->config.report_interval_s != 0
                     ? app->config.report_interval_s
                     : app->cfg.default_report_s;
    return s * 1000u;
}

/* Queue the event just written to app->event (len bytes, or a failed write). */
static void fw_bus_app__queue(struct fw_bus_app *app, enum fw_bus_status written, size_t len,
                              enum fw_queue_priority prio)
{
    const char *topic = app->cfg.events_topic;
    if (written != FW_BUS_OK ||
        fw_queue_push(app->cfg.device->cfg.queue, prio, topic, strlen(topic),
                      (const uint8_t *)app->event, len) != FW_QUEUE_OK) {
        app->stats.queue_failures++;
        fw_bus_app__log(app, FW_LOG_WARN, "event not queued", fw_bus_status_str(written));
    }
}

static void fw_bus_app__error_event(struct fw_bus_app *app, const char *error, const char *detail)
{
    struct fw_bus_identity id = fw_bus_app__identity(app, true);
    size_t len = 0;
    enum fw_bus_status st = fw_bus_event_error(&id, error, detail, fw_bus_app__timestamp(app),
                                               app->event, sizeof(app->event), &len);
    fw_bus_app__log(app, FW_LOG_WARN, error, detail);
    app->stats.errors++;
    fw_bus_app__queue(app, st, len, FW_QUEUE_HIGH);
}

static void fw_bus_app__location_event(struct fw_bus_app *app, const char *request)
{
    struct fw_bus_identity id = fw_bus_app__identity(app, true);
    size_t len = 0;
    enum fw_bus_status st = fw_bus_event_location(&id, &app->fix, request,
                                                  fw_bus_app__timestamp(app), app->event,
                                                  sizeof(app->event), &len);
    app->stats.locations++;
    fw_bus_app__log(app, FW_LOG_INFO, "location event", request);
    fw_bus_app__queue(app, st, len, request != NULL ? FW_QUEUE_HIGH : FW_QUEUE_LOW);
}

static void fw_bus_app__speed_event(struct fw_bus_app *app)
{
    struct fw_bus_identity id = fw_bus_app__identity(app, true);
    size_t len = 0;
    enum fw_bus_status st = fw_bus_event_speed(&id, &app->fix, fw_bus_app__timestamp(app),
                                               app->event, sizeof(app->event), &len);
    app->stats.speeds++;
    fw_bus_app__log(app, FW_LOG_INFO, "speed event", NULL);
    fw_bus_app__queue(app, st, len, FW_QUEUE_HIGH);
}

static void fw_bus_app__identification_event(struct fw_bus_app *app)
{
    struct fw_bus_identity id = fw_bus_app__identity(app, true);
    size_t len = 0;
    enum fw_bus_status st = fw_bus_event_identification(&id, app->cfg.registration,
                                                        fw_bus_app__timestamp(app), app->event,
                                                        sizeof(app->event), &len);
    fw_bus_app__log(app, FW_LOG_INFO, "identification event", app->cfg.registration);
    fw_bus_app__queue(app, st, len, FW_QUEUE_HIGH);
}

bool fw_bus_app_init(struct fw_bus_app *app, const struct fw_bus_app_config *cfg)
{
    if (app == NULL || cfg == NULL || cfg->device == NULL || cfg->bus_id == NULL ||
        cfg->events_topic == NULL || cfg->config_topic == NULL)
        return false;
    struct fw_bus_app_config copy = *cfg; /* cfg may point into app (a restart) */
    memset(app, 0, sizeof(*app));
    app->cfg = copy;
    if (app->cfg.gnss_poll_ms == 0)
        app->cfg.gnss_poll_ms = FW_BUS_APP_POLL_MS;
    if (app->cfg.default_report_s == 0)
        app->cfg.default_report_s = FW_BUS_APP_REPORT_S;
    app->losses_seen = fw_device_stats(cfg->device)->losses;
    app->next_poll_ms = fw_bus_app__now(app);
    app->seq = fw_bus_app__load_seq(app);
    if (app->cfg.registration != NULL)
        fw_bus_app__identification_event(app);
    return true;
}

/* ---- driver pictures ----------------------------------------------------- */

/* Freeze the camera frame and start sending it; false when there is none. */
static bool fw_bus_app__picture_start(struct fw_bus_app *app, enum fw_bus_picture_reason reason,
                                      const char *request)
{
    const struct fw_port *port = fw_bus_app__port(app);
    struct fw_bus_app_picture *pic = &app->pic;
    uint32_t size = 0;
    if (port->camera_capture == NULL || port->camera_read == NULL ||
        port->camera_capture(port->ctx, &size) != 0 || size == 0)
        return false;
    memset(pic, 0, sizeof(*pic));
    pic->active = true;
    pic->reason = reason;
    pic->has_request = request != NULL;
    if (request != NULL)
        memcpy(pic->request, request, sizeof(pic->request));
    pic->number = ++app->stats.pictures;
    pic->ts = fw_bus_app__timestamp(app);
    pic->size = size;
    pic->count = (uint32_t)((size + FW_BUS_APP_PICTURE_CHUNK - 1u) / FW_BUS_APP_PICTURE_CHUNK);
    fw_bus_app__log(app, FW_LOG_INFO, "picture started", NULL);
    return true;
}

static void fw_bus_app__picture_query(struct fw_bus_app *app, const char *id)
{
    if (app->pic.active) { /* served when the running picture is sent */
        app->pic_query_pending = true;
        memcpy(app->pic_query_id, id, sizeof(app->pic_query_id));
        return;
    }
    if (!fw_bus_app__picture_start(app, FW_BUS_PIC_QUERY, id))
        fw_bus_app__error_event(app, "picture unavailable", "no camera frame");
}

/* Bytes of the chunk being sent. */
static size_t fw_bus_app__chunk_len(const struct fw_bus_app *app)
{
    uint32_t left = app->pic.size - app->pic.offset;
    return left < FW_BUS_APP_PICTURE_CHUNK ? left : FW_BUS_APP_PICTURE_CHUNK;
}

/* Where the chunk's raw bytes wait: the tail of the event buffer, so the
 * event is written around them (the header needs at most
 * FW_BUS_PICTURE_OVERHEAD bytes, base64 4 per 3, so writing never reaches
 * bytes not yet encoded). */
static uint8_t *fw_bus_app__chunk_raw(struct fw_bus_app *app)
{
    return (uint8_t *)app->pic_event + sizeof(app->pic_event) - fw_bus_app__chunk_len(app);
}

/* Fill the raw chunk from the frozen frame; true when it is complete. */
static bool fw_bus_app__picture_fill(struct fw_bus_app *app)
{
    const struct fw_port *port = fw_bus_app__port(app);
    struct fw_bus_app_picture *pic = &app->pic;
    size_t want = fw_bus_app__chunk_len(app);
    uint8_t *raw = fw_bus_app__chunk_raw(app);
    while (pic->filled < want) {
        int32_t n = port->camera_read(port->ctx, pic->offset + (uint32_t)pic->filled,
                                      raw + pic->filled, want - pic->filled);
        if (n < 0) {
            pic->active = false;
            fw_bus_app__error_event(app, "picture aborted", "camera read failed");
            return false;
        }
        if (n == 0)
            return false; /* nothing ready now: go on next poll */
        pic->filled += (size_t)n;
    }
    return true;
}

/* Queue the next chunk when the queue is empty. */
static void fw_bus_app__picture_step(struct fw_bus_app *app)
{
    struct fw_bus_app_picture *pic = &app->pic;
    struct fw_bus_identity id;
    enum fw_bus_status st;
    size_t len = 0;
    if (fw_queue_count(app->cfg.device->cfg.queue) != 0 || !fw_bus_app__picture_fill(app))
        return;
    id = fw_bus_app__identity(app, true);
    st = fw_bus_event_picture_chunk(&id, pic->number, pic->reason,
                                    pic->has_request ? pic->request : NULL, pic->index,
                                    pic->count, fw_bus_app__chunk_raw(app), pic->filled, pic->ts,
                                    app->pic_event, sizeof(app->pic_event), &len);
    if (st != FW_BUS_OK ||
        fw_queue_push(app->cfg.device->cfg.queue, FW_QUEUE_HIGH, app->cfg.events_topic,
                      strlen(app->cfg.events_topic), (const uint8_t *)app->pic_event,
                      len) != FW_QUEUE_OK) {
        app->stats.queue_failures++;
        pic->active = false;
        fw_bus_app__error_event(app, "picture aborted", "chunk not queued");
        return;
    }
    app->stats.chunks++;
    pic->offset += (uint32_t)pic->filled;
    pic->filled = 0;
    if (++pic->index == pic->count)
        pic->active = false;
}

/* Start pictures for driver reports and a waiting query; send chunks. */
static void fw_bus_app__pictures(struct fw_bus_app *app)
{
    static const enum fw_bus_picture_reason reasons[] = {FW_BUS_PIC_PHONE, FW_BUS_PIC_DRINKING,
                                                         FW_BUS_PIC_DROWSY};
    const struct fw_port *port = fw_bus_app__port(app);
    if (!app->pic.active && app->pic_query_pending) {
        app->pic_query_pending = false;
        fw_bus_app__picture_query(app, app->pic_query_id);
    }
    if (!app->pic.active && port->driver_event != NULL) {
        enum fw_driver_behaviour b = FW_DRIVER_PHONE;
        int32_t got = port->driver_event(port->ctx, &b);
        if (got > 0 && (unsigned)b <= FW_DRIVER_DROWSY) {
            app->stats.driver_events++;
            fw_bus_app__log(app, FW_LOG_INFO, "driver behaviour", NULL);
            if (!fw_bus_app__picture_start(app, reasons[b], NULL))
                fw_bus_app__error_event(app, "picture unavailable", "no camera frame");
        } else if (got < 0 || got > 0) {
            fw_bus_app__log(app, FW_LOG_WARN, "driver input failed", NULL);
        }
    }
    if (app->pic.active)
        fw_bus_app__picture_step(app);
}

/* ---- depot arrival -------------------------------------------------------- */

/* The topic of arrival events for the configured depot; NULL if unusable. */
static const char *fw_bus_app__arrival_topic(struct fw_bus_app *app)
{
    size_t len = 0;
    if (app->cfg.profile == NULL)
        return app->cfg.events_topic;
    if (fw_cloud_topic(app->cfg.profile, FW_TOPIC_DEPOT_ARRIVED, app->config.depot,
                       app->arrival_topic, sizeof(app->arrival_topic), &len) != FW_CLOUD_OK)
        return NULL;
    return app->arrival_topic;
}

/* A depot-arrival event when the fix enters the depot's radius. */
/* Whether topic is the events topic or one of its subtopics (GCP's
 * events/depot-arrived): events there share the sequence numbers. */
static bool fw_bus_app__under_events(const struct fw_bus_app *app, const char *topic)
{
    size_t n = strlen(app->cfg.events_topic);
    return strncmp(topic, app->cfg.events_topic, n) == 0 && (topic[n] == '\0' || topic[n] == '/');
}

static void fw_bus_app__depot(struct fw_bus_app *app)
{
    struct fw_bus_identity id;
    const char *topic;
    size_t len = 0;
    enum fw_bus_status st;
    bool inside = fw_bus_at_depot(&app->config, &app->fix);
    bool arrived = app->depot_known && inside && !app->at_depot;
    app->depot_known = true;
    app->at_depot = inside;
    if (!arrived)
        return;
    app->stats.arrivals++;
    fw_bus_app__log(app, FW_LOG_INFO, "depot arrival", app->config.depot);
    topic = fw_bus_app__arrival_topic(app);
    id = fw_bus_app__identity(app, topic != NULL && fw_bus_app__under_events(app, topic));
    st = fw_bus_event_arrival(&id, &app->config, &app->fix, fw_bus_app__timestamp(app),
                              app->event, sizeof(app->event), &len);
    if (st != FW_BUS_OK || topic == NULL ||
        fw_queue_push(app->cfg.device->cfg.queue, FW_QUEUE_HIGH, topic, strlen(topic),
                      (const uint8_t *)app->event, len) != FW_QUEUE_OK) {
        app->stats.queue_failures++;
        fw_bus_app__log(app, FW_LOG_WARN, "event not queued", "depot arrival");
    }
}

static bool fw_bus_app__elapsed(uint32_t now, uint32_t since, uint32_t period)
{
    return (uint32_t)(now - since) >= period;
}

/* Queue the report of the applied configuration on the profile's state
 * topic (fw_bus_state.h), at most one per FW_BUS_APP_STATE_GAP_MS; a later
 * one waits in state_pending for the next poll. No profile: no report. */
static void fw_bus_app__report_state(struct fw_bus_app *app)
{
    char topic[FW_BUS_STATE_TOPIC_MAX];
    size_t topic_len = 0, len = 0;
    uint32_t now = fw_bus_app__now(app);
    const struct fw_cloud_profile *profile = app->cfg.profile;
    if (!app->state_pending || profile == NULL || !app->configured)
        return;
    if (app->state_sent && !fw_bus_app__elapsed(now, app->last_state_ms, FW_BUS_APP_STATE_GAP_MS))
        return;
    app->state_pending = false;
    app->state_sent = true;
    app->last_state_ms = now;
    if (fw_bus_state_topic(profile, topic, sizeof(topic), &topic_len) != FW_CLOUD_OK ||
        fw_bus_state_report(profile->kind, &app->config, fw_bus_app__timestamp(app), app->event,
                            sizeof(app->event), &len) != FW_BUS_OK ||
        fw_queue_push(app->cfg.device->cfg.queue, FW_QUEUE_HIGH, topic, topic_len,
                      (const uint8_t *)app->event, len) != FW_QUEUE_OK) {
        app->stats.queue_failures++;
        fw_bus_app__log(app, FW_LOG_WARN, "state report not queued", topic);
        return;
    }
    fw_bus_app__log(app, FW_LOG_INFO, "state report", topic);
}

static void fw_bus_app__configure(struct fw_bus_app *app, const char *json, size_t len)
{
    struct fw_bus_config next;
    char reason[96];
    if (len > FW_BUS_APP_JSON_MAX) {
        fw_bus_app__error_event(app, "configuration rejected", "document too large");
        return;
    }
    if (fw_bus_parse_config(json, len, &next, reason, sizeof(reason)) != FW_BUS_OK ||
        (app->cfg.config_hook != NULL &&
         !app->cfg.config_hook(app->cfg.config_hook_ctx, json, len, reason, sizeof(reason)))) {
        fw_bus_app__error_event(app, "configuration rejected", reason);
        return;
    }
    if (!app->configured || strcmp(app->config.depot, next.depot) != 0)
        app->depot_known = false; /* a new destination: learn where the bus is first */
    app->config = next;
    app->configured = true;
    app->stats.configs++;
    fw_bus_app__log(app, FW_LOG_DEBUG, "configuration accepted", next.route);
    app->state_pending = true;
    fw_bus_app__report_state(app);
}

/* ---- the "publish" test hook (fw_bus_app.h) ------------------------------ */

#if FW_BUS_APP_TEST_PUBLISH
#define FW_BUS_APP_TEST_TOKENS 32u

/* FNV-1a over topic, a separator and payload: tells the test message at
 * the head of the queue from others. */
static uint32_t fw_bus_app__test_sum(const char *topic, size_t topic_len, const uint8_t *payload,
                                     size_t len)
{
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < topic_len; i++)
        h = (h ^ (uint8_t)topic[i]) * 16777619u;
    h = (h ^ 0u) * 16777619u;
    for (i = 0; i < len; i++)
        h = (h ^ payload[i]) * 16777619u;
    return h;
}

/* The payload of a publish command into app->event: a string's text, any
 * other value as written. Returns its length, or 0 when unusable. */
static size_t fw_bus_app__test_payload(struct fw_bus_app *app, const struct fw_json_doc *doc,
                                       size_t v)
{
    const struct fw_json_token *t = &doc->tokens[v];
    size_t len = 0;
    if (t->type == FW_JSON_STRING)
        return fw_json_get_string(doc, v, app->event, sizeof(app->event), &len) == FW_JSON_OK
                   ? len
                   : 0;
    len = t->end - t->start;
    if (len == 0 || len > sizeof(app->event))
        return 0;
    memcpy(app->event, doc->text + t->start, len);
    return len;
}

/* Queue the test publish of a parsed publish command; why it failed, or NULL. */
static const char *fw_bus_app__test_queue(struct fw_bus_app *app, const struct fw_json_doc *doc)
{
    char topic[FW_BUS_APP_TEST_TOPIC_MAX + 1];
    size_t topic_len = 0, len, v;
    if (!app->cfg.test_publish)
        return "the publish test hook is not enabled";
    if (fw_json_object_get(doc, 0, "topic", &v) != FW_JSON_OK ||
        fw_json_get_string(doc, v, topic, sizeof(topic), &topic_len) != FW_JSON_OK ||
        topic_len == 0)
        return "missing or invalid: topic";
    if (fw_json_object_get(doc, 0, "payload", &v) != FW_JSON_OK ||
        (len = fw_bus_app__test_payload(app, doc, v)) == 0)
        return "missing, empty or too long: payload";
    if (fw_queue_push(app->cfg.device->cfg.queue, FW_QUEUE_HIGH, topic, topic_len,
                      (const uint8_t *)app->event, len) != FW_QUEUE_OK)
        return "queue full";
    app->test_pending = true;
    app->test_sum = fw_bus_app__test_sum(topic, topic_len, (const uint8_t *)app->event, len);
    fw_bus_app__log(app, FW_LOG_INFO, "test publish queued", topic);
    return NULL;
}

/* Handle json if it is a publish command; false when it is not one. */
static bool fw_bus_app__test_command(struct fw_bus_app *app, const char *json, size_t len)
{
    struct fw_json_token tokens[FW_BUS_APP_TEST_TOKENS];
    struct fw_json_doc doc;
    char kind[16];
    size_t v;
    const char *why;
    if (fw_json_parse(json, len, tokens, FW_BUS_APP_TEST_TOKENS, &doc, NULL) != FW_JSON_OK ||
        tokens[0].type != FW_JSON_OBJECT || fw_json_object_get(&doc, 0, "cmd", &v) != FW_JSON_OK ||
        fw_json_get_string(&doc, v, kind, sizeof(kind), NULL) != FW_JSON_OK ||
        strcmp(kind, "publish") != 0)
        return false;
    why = fw_bus_app__test_queue(app, &doc);
    if (why != NULL)
        fw_bus_app__error_event(app, "command rejected", why);
    return true;
}

/* After a connection loss: drop the test message if it heads the queue (the
 * broker refused it; publishing it again would only be refused again). */
static void fw_bus_app__test_drop_refused(struct fw_bus_app *app)
{
    struct fw_queue *q = app->cfg.device->cfg.queue;
    struct fw_queue_item item;
    if (!app->test_pending)
        return;
    if (fw_queue_peek(q, &item) != FW_QUEUE_OK) {
        app->test_pending = false; /* published and gone */
        return;
    }
    if (fw_bus_app__test_sum(item.topic, item.topic_len, item.payload, item.payload_len) !=
        app->test_sum)
        return;
    fw_queue_pop(q);
    app->test_pending = false;
    fw_bus_app__log(app, FW_LOG_INFO, "test publish dropped", "the connection closed on it");
}
#else
static bool fw_bus_app__test_command(struct fw_bus_app *app, const char *json, size_t len)
{
    (void)app;
    (void)json;
    (void)len;
    return false;
}

static void fw_bus_app__test_drop_refused(struct fw_bus_app *app)
{
    (void)app;
}
#endif

static void fw_bus_app__command(struct fw_bus_app *app, const char *json, size_t len)
{
    struct fw_bus_command cmd;
    char reason[96];
    if (len > FW_BUS_APP_JSON_MAX) {
        fw_bus_app__error_event(app, "command rejected", "document too large");
        return;
    }
    if (fw_bus_app__test_command(app, json, len))
        return;
    if (fw_bus_parse_command(json, len, &cmd, reason, sizeof(reason)) != FW_BUS_OK) {
        fw_bus_app__error_event(app, "command rejected", reason);
        return;
    }
    if (cmd.kind == FW_BUS_CMD_PICTURE) {
        fw_bus_app__picture_query(app, cmd.id);
        return;
    }
    app->query_pending = true; /* answered after the next AT+CGPSINFO */
    memcpy(app->query_id, cmd.id, sizeof(app->query_id));
    app->next_poll_ms = fw_bus_app__now(app); /* poll at once */
}

void fw_bus_app_on_message(struct fw_bus_app *app, const char *topic, size_t topic_len,
                           const uint8_t *payload, size_t payload_len)
{
    const char *json = (const char *)payload;
    if (app == NULL || topic == NULL || (payload == NULL && payload_len > 0))
        return;
    if (topic_len == strlen(app->cfg.config_topic) &&
        memcmp(topic, app->cfg.config_topic, topic_len) == 0) {
        /* GCP sends the current configuration on every subscribe, an empty
         * one while none is set: nothing to apply, nothing to complain about */
        if (payload_len > 0)
            fw_bus_app__configure(app, json, payload_len);
    } else {
        fw_bus_app__command(app, json, payload_len);
    }
}

/* A new fix: speed above the threshold (on crossing, then every report
 * interval), location when asked, else every report interval. */
static void fw_bus_app__on_fix(struct fw_bus_app *app, uint32_t now)
{
    uint32_t period = fw_bus_app__report_ms(app);
    bool above = app->configured && fw_bus_speed_reportable(&app->config, &app->fix);
    if (above && (!app->above_threshold || !app->speed_once ||
                  fw_bus_app__elapsed(now, app->last_speed_ms, period))) {
        fw_bus_app__speed_event(app);
        app->last_speed_ms = now;
        app->speed_once = true;
    }
    app->above_threshold = above;
    if (app->configured)
        fw_bus_app__depot(app);
    if (app->query_pending) { /* the answer also counts as the periodic report */
        app->query_pending = false;
        fw_bus_app__location_event(app, app->query_id);
        app->last_location_ms = now;
        app->located_once = true;
    } else if (!app->located_once || fw_bus_app__elapsed(now, app->last_location_ms, period)) {
        fw_bus_app__location_event(app, NULL);
        app->last_location_ms = now;
        app->located_once = true;
    }
}

/* Count our commands the modem left unanswered; enough in a row and the
 * device starts over (the modem may be hung, see fw_device_modem_silent). */
static void fw_bus_app__count_silence(struct fw_bus_app *app, enum fw_at_status st)
{
    if (st != FW_AT_TIMEOUT) {
        app->at_timeouts = 0;
        return;
    }
    if (++app->at_timeouts >= FW_DEVICE_SILENT_LIMIT) {
        app->at_timeouts = 0;
        fw_bus_app__log(app, FW_LOG_WARN, "modem not answering", NULL);
        fw_device_modem_silent(app->cfg.device);
    }
}

static void fw_bus_app__finish(struct fw_bus_app *app, enum fw_at_status st)
{
    uint32_t now = fw_bus_app__now(app);
    app->at_busy = false;
    fw_bus_app__count_silence(app, st);
    if (app->at_is_cgps) {
        /* ERROR means the receiver is already on (the modem refuses a switch
         * to the state it is in); a timeout is retried after a poll period */
        app->gps_on = st == FW_AT_OK || st == FW_AT_ERROR || st == FW_AT_CME_ERROR;
        app->next_poll_ms = now + (app->gps_on ? 0u : app->cfg.gnss_poll_ms);
        return;
    }
    app->next_poll_ms = now + app->cfg.gnss_poll_ms;
    if (st != FW_AT_OK) {
        fw_bus_app__log(app, FW_LOG_WARN, "AT+CGPSINFO failed", fw_at_status_str(st));
        app->gps_on = false; /* switch it on again: the modem may have restarted */
        app->next_poll_ms = now;
        return;
    }
    app->stats.polls++;
    if (!app->line_fix) {
        if (app->query_pending) {
            app->query_pending = false;
            fw_bus_app__error_event(app, "location unavailable", "no GNSS fix");
        }
        return;
    }
    app->stats.fixes++;
    app->fix = app->line;
    app->have_fix = true;
    fw_bus_app__on_fix(app, now);
}

static void fw_bus_app__on_line(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    struct fw_bus_app *app = ctx;
    (void)at;
    if (len >= 10 && memcmp(line, "+CGPSINFO:", 10) == 0) {
        app->line_seen = true;
        app->line_fix = fw_bus_parse_cgpsinfo(line, len, &app->line) == FW_BUS_OK;
    }
}

static void fw_bus_app__send(struct fw_bus_app *app, const char *cmd, bool is_cgps)
{
    struct fw_at_request req;
    memset(&req, 0, sizeof(req));
    req.cmd = cmd;
    req.on_line = fw_bus_app__on_line;
    req.ctx = app;
    req.timeout_ms = FW_BUS_APP_CMD_TIMEOUT_MS;
    app->line_fix = false;
    app->line_seen = false;
    app->at_is_cgps = is_cgps;
    app->at_busy = fw_at_send(fw_bus_app__at(app), &req) == FW_AT_IN_PROGRESS;
    if (!app->at_busy)
        app->next_poll_ms = fw_bus_app__now(app) + app->cfg.gnss_poll_ms;
}

enum fw_device_state fw_bus_app_poll(struct fw_bus_app *app)
{
    struct fw_device *dev;
    enum fw_device_state ds;
    uint32_t losses;
    if (app == NULL)
        return FW_DEVICE_BACKOFF;
    dev = app->cfg.device;
    if (app->at_busy) {
        enum fw_at_status st = fw_at_poll(fw_bus_app__at(app));
        if (st == FW_AT_IN_PROGRESS)
            return dev->state;
        fw_bus_app__finish(app, st);
    }
    fw_bus_app__pictures(app);
    fw_bus_app__report_state(app);
    ds = fw_device_poll(dev);
    losses = fw_device_stats(dev)->losses;
    if (losses != app->losses_seen) {
        app->losses_seen = losses;
        app->gps_on = false; /* the modem may have rebooted meanwhile */
        fw_bus_app__test_drop_refused(app);
    }
    if (!fw_device_idle(dev))
        return ds;
    if ((int32_t)(fw_bus_app__now(app) - app->next_poll_ms) < 0)
        return ds;
    if (!app->gps_on)
        fw_bus_app__send(app, "AT+CGPS=1", true);
    else
        fw_bus_app__send(app, "AT+CGPSINFO", false);
    return ds;
}

bool fw_bus_app_next_deadline_ms(const struct fw_bus_app *app, uint32_t *deadline_ms)
{
    bool has;
    if (app == NULL || app->cfg.device == NULL || deadline_ms == NULL)
        return false;
    has = fw_device_next_deadline_ms(app->cfg.device, deadline_ms);
    if (!app->at_busy && fw_device_idle(app->cfg.device))
        fw_deadline_keep_earliest(&has, deadline_ms, app->next_poll_ms);
    return has;
}

const struct fw_bus_config *fw_bus_app_config(const struct fw_bus_app *app)
{
    return app != NULL && app->configured ? &app->config : NULL;
}

const struct fw_bus_app_stats *fw_bus_app_stats(const struct fw_bus_app *app)
{
    return &app->stats;
}
