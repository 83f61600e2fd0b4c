/*
 * fw_bus_app.c - the bus application's loop (see fw_bus_app.h).
 */
#include <string.h>

#include "fw_bus_app.h"

#define FW_BUS_APP_POLL_MS 1000u
#define FW_BUS_APP_REPORT_S 30u
#define FW_BUS_APP_CMD_TIMEOUT_MS 5000u

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

static struct fw_bus_identity fw_bus_app__identity(const struct fw_bus_app *app)
{
    struct fw_bus_identity id;
    id.bus = app->cfg.bus_id;
    id.route = app->configured ? app->config.route : "";
    return id;
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
    struct fw_bus_identity id = fw_bus_app__identity(app);
    size_t len = 0;
    enum fw_bus_status st = fw_bus_event_error(&id, error, detail, fw_bus_app__timestamp(app),
                                               app->event, sizeof(app->event), &len);
    fw_bus_app__log(app, FW_LOG_WARN, error, detail);
    app->stats.errors++;
    fw_bus_app__queue(app, st, len, FW_QUEUE_HIGH);
}

static void fw_bus_app__location_event(struct fw_bus_app *app, const char *request)
{
    struct fw_bus_identity id = fw_bus_app__identity(app);
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
    struct fw_bus_identity id = fw_bus_app__identity(app);
    size_t len = 0;
    enum fw_bus_status st = fw_bus_event_speed(&id, &app->fix, fw_bus_app__timestamp(app),
                                               app->event, sizeof(app->event), &len);
    app->stats.speeds++;
    fw_bus_app__log(app, FW_LOG_INFO, "speed event", NULL);
    fw_bus_app__queue(app, st, len, FW_QUEUE_HIGH);
}

bool fw_bus_app_init(struct fw_bus_app *app, const struct fw_bus_app_config *cfg)
{
    if (app == NULL || cfg == NULL || cfg->device == NULL || cfg->bus_id == NULL ||
        cfg->events_topic == NULL || cfg->config_topic == NULL)
        return false;
    memset(app, 0, sizeof(*app));
    app->cfg = *cfg;
    if (app->cfg.gnss_poll_ms == 0)
        app->cfg.gnss_poll_ms = FW_BUS_APP_POLL_MS;
    if (app->cfg.default_report_s == 0)
        app->cfg.default_report_s = FW_BUS_APP_REPORT_S;
    app->losses_seen = fw_device_stats(cfg->device)->losses;
    app->next_poll_ms = fw_bus_app__now(app);
    return true;
}

static void fw_bus_app__configure(struct fw_bus_app *app, const char *json, size_t len)
{
    struct fw_bus_config next;
    char reason[96];
    if (len > FW_BUS_APP_JSON_MAX) {
        fw_bus_app__error_event(app, "configuration rejected", "document too large");
        return;
    }
    if (fw_bus_parse_config(json, len, &next, reason, sizeof(reason)) != FW_BUS_OK) {
        fw_bus_app__error_event(app, "configuration rejected", reason);
        return;
    }
    app->config = next;
    app->configured = true;
    app->stats.configs++;
    fw_bus_app__log(app, FW_LOG_DEBUG, "configuration accepted", next.route);
}

static void fw_bus_app__command(struct fw_bus_app *app, const char *json, size_t len)
{
    struct fw_bus_command cmd;
    char reason[96];
    if (len > FW_BUS_APP_JSON_MAX) {
        fw_bus_app__error_event(app, "command rejected", "document too large");
        return;
    }
    if (fw_bus_parse_command(json, len, &cmd, reason, sizeof(reason)) != FW_BUS_OK) {
        fw_bus_app__error_event(app, "command rejected", reason);
        return;
    }
    if (cmd.kind == FW_BUS_CMD_PICTURE) {
        /* the camera input is not a port function yet */
        fw_bus_app__error_event(app, "command not supported yet", "picture");
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
        memcmp(topic, app->cfg.config_topic, topic_len) == 0)
        fw_bus_app__configure(app, json, payload_len);
    else
        fw_bus_app__command(app, json, payload_len);
}

static bool fw_bus_app__elapsed(uint32_t now, uint32_t since, uint32_t period)
{
    return (uint32_t)(now - since) >= period;
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

static void fw_bus_app__finish(struct fw_bus_app *app, enum fw_at_status st)
{
    uint32_t now = fw_bus_app__now(app);
    app->at_busy = false;
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
    ds = fw_device_poll(dev);
    losses = fw_device_stats(dev)->losses;
    if (losses != app->losses_seen) {
        app->losses_seen = losses;
        app->gps_on = false; /* the modem may have rebooted meanwhile */
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

const struct fw_bus_config *fw_bus_app_config(const struct fw_bus_app *app)
{
    return app != NULL && app->configured ? &app->config : NULL;
}

const struct fw_bus_app_stats *fw_bus_app_stats(const struct fw_bus_app *app)
{
    return &app->stats;
}
