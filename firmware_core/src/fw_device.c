/*
 * fw_device.c - the device lifecycle over the modem's MQTT client or the
 * MCU-TLS transport (see fw_device.h).
 */
#include <string.h>

#include "fw_device.h"

#define FW_DEVICE_BACKOFF_MIN_MS 1000u
#define FW_DEVICE_BACKOFF_MAX_MS 300000u
#define FW_DEVICE_JWT_MARGIN_S 300u

static const struct fw_port *fw_device__port(const struct fw_device *d)
{
    return fw_sim7600_at(d->cfg.modem)->cfg.port;
}

static uint32_t fw_device__now(const struct fw_device *d)
{
    return fw_device__port(d)->now_ms(fw_device__port(d)->ctx);
}

static void fw_device__log(const struct fw_device *d, const char *event, const char *detail)
{
    const struct fw_port *port = fw_device__port(d);
    if (port->log != NULL)
        port->log(port->ctx, FW_LOG_INFO, "device", event, detail,
                  detail != NULL ? strlen(detail) : 0);
}

/* Pause: min * 2^attempt capped at max, then a random point in its upper half. */
static uint32_t fw_device__backoff_ms(struct fw_device *d)
{
    const struct fw_port *port = fw_device__port(d);
    uint32_t delay = d->cfg.backoff_min_ms, jitter = 0;
    unsigned i;
    for (i = 0; i < d->attempt && delay < d->cfg.backoff_max_ms; i++)
        delay *= 2u;
    if (delay > d->cfg.backoff_max_ms)
        delay = d->cfg.backoff_max_ms;
    if (port->random != NULL && port->random(port->ctx, (uint8_t *)&jitter, sizeof(jitter)) != 0)
        jitter = 0;
    return delay / 2u + jitter % (delay / 2u + 1u);
}

static bool fw_device__mcu(const struct fw_device *d)
{
    return d->cfg.transport == FW_DEVICE_MCU_TLS;
}

static void fw_device__lost(struct fw_device *d, const char *why)
{
    fw_device__log(d, "starting over", why);
    if (fw_device__mcu(d)) {
        fw_mcu_tls_stop(d->cfg.mcu_tls);
        d->need_setup = true; /* the modem may have restarted or dropped the network */
    } else {
        fw_sim7600_mqtt_abort(&d->mqtt);
    }
    fw_at_cancel(fw_sim7600_at(d->cfg.modem)); /* a setup command, if one runs */
    d->stats.losses++;
    d->publishing = false;
    d->disconnecting = false;
    d->restarting = false;
    d->last_backoff_ms = fw_device__backoff_ms(d);
    d->resume_ms = fw_device__now(d) + d->last_backoff_ms;
    d->attempt++;
    d->state = FW_DEVICE_BACKOFF;
}

/* The event at the head of the queue is being published. */
static void fw_device__sending(struct fw_device *d, const struct fw_queue_item *item)
{
    d->publishing = true;
    d->inflight_prio = item->priority;
    d->inflight_dropped = fw_queue_dropped(d->cfg.queue);
}

/* The event being published was delivered: remove it from the queue. If
 * the queue dropped low-priority events for room meanwhile, a low-priority
 * head may be another one now: keep it then (at worst a duplicate). */
static void fw_device__delivered(struct fw_device *d)
{
    d->publishing = false;
    d->stats.published++;
    if (d->inflight_prio == FW_QUEUE_LOW &&
        fw_queue_dropped(d->cfg.queue) != d->inflight_dropped)
        return;
    fw_queue_pop(d->cfg.queue);
}

/* Build a fresh token into jwt_buf (*len); false after a loss. */
static bool fw_device__fresh_jwt(struct fw_device *d, size_t *len)
{
    enum fw_jwt_status st = fw_jwt_build(fw_device__port(d), d->cfg.jwt, d->cfg.jwt_buf,
                                         d->cfg.jwt_cap, len, &d->jwt_exp);
    if (st != FW_JWT_OK) {
        fw_device__lost(d, fw_jwt_status_str(st));
        return false;
    }
    d->stats.jwt_renewals++;
    return true;
}

static void fw_device__connect_result(struct fw_device *d, bool accepted);
static bool fw_device__restart_due(struct fw_device *d);

/* ---- MCU TLS ------------------------------------------------------------- */

/* An incoming PUBLISH, handed to the modem's message callback like a
 * +CMQTTRX message (the topic NUL-terminated in the modem's topic buffer). */
static void fw_device__mcu_message(void *ctx, const struct fw_mqtt_publish *msg)
{
    struct fw_device *d = ctx;
    struct fw_sim7600 *m = d->cfg.modem;
    if (m->cfg.on_message == NULL)
        return;
    if (m->cfg.topic_buf == NULL || msg->topic_len >= m->cfg.topic_cap) {
        m->stats.dropped++;
        fw_device__log(d, "message dropped: topic longer than the topic buffer", NULL);
        return;
    }
    memcpy(m->cfg.topic_buf, msg->topic, msg->topic_len);
    m->cfg.topic_buf[msg->topic_len] = '\0';
    m->stats.messages++;
    m->cfg.on_message(m->cfg.ctx, 0, m->cfg.topic_buf, msg->topic_len, msg->payload,
                      msg->payload_len);
}

static void fw_device__mcu_puback(void *ctx, uint16_t packet_id)
{
    struct fw_device *d = ctx;
    if (d->publishing && packet_id == d->inflight_id) {
        d->inflight_id = 0;
        fw_device__delivered(d);
    }
}

/* Open the transport: socket, TLS, CONNECT (a fresh JWT on GCP), SUBSCRIBE. */
static void fw_device__mcu_connect(struct fw_device *d)
{
    struct fw_mcu_tls_config c = d->cfg.mcu;
    size_t i, len = 0;
    if (d->cfg.jwt != NULL) {
        if (!fw_device__fresh_jwt(d, &len))
            return;
        c.connect.password = (const uint8_t *)d->cfg.jwt_buf;
        c.connect.password_len = len;
    }
    for (i = 0; i < d->cfg.n_subscriptions; i++) {
        d->mcu_subs[i].filter = d->cfg.subscriptions[i];
        d->mcu_subs[i].qos = 1;
    }
    c.modem = d->cfg.modem;
    c.port = fw_device__port(d);
    c.subs = d->mcu_subs;
    c.n_subs = d->cfg.n_subscriptions;
    c.session.on_message = fw_device__mcu_message;
    c.session.on_puback = fw_device__mcu_puback;
    c.session.on_suback = NULL;
    c.session.ctx = d;
    d->publishing = false;
    d->disconnecting = false;
    d->inflight_id = 0;
    d->state = FW_DEVICE_CONNECTING;
    if (!fw_mcu_tls_start(d->cfg.mcu_tls, &c)) {
        fw_device__connect_result(d, false); /* e.g. a CA the port cannot take */
        fw_device__lost(d, "MCU-TLS transport refused its configuration");
    }
}

/* Connect, with a fresh token as password when the profile uses JWTs. */
static void fw_device__connect(struct fw_device *d)
{
    struct fw_sim7600_mqtt_params p = d->cfg.mqtt;
    size_t len;
    if (fw_device__mcu(d)) {
        fw_device__mcu_connect(d);
        return;
    }
    if (d->cfg.jwt != NULL) {
        if (!fw_device__fresh_jwt(d, &len))
            return;
        p.password = d->cfg.jwt_buf;
    }
    d->state = FW_DEVICE_CONNECTING;
    if (fw_sim7600_mqtt_connect(&d->mqtt, &p) != FW_SIM7600_MQTT_BUSY)
        fw_device__lost(d, "connect refused before sending");
}

/* hooks->prepare: true when the server or certificates changed. */
static bool fw_device__prepare(struct fw_device *d)
{
    const struct fw_device_hooks *h = d->cfg.hooks;
    return h != NULL && h->prepare != NULL && h->prepare(h->ctx, &d->cfg);
}

static void fw_device__connect_result(struct fw_device *d, bool accepted)
{
    const struct fw_device_hooks *h = d->cfg.hooks;
    if (h != NULL && h->connect_result != NULL)
        h->connect_result(h->ctx, accepted);
}

static bool fw_device__restart_due(struct fw_device *d)
{
    const struct fw_device_hooks *h = d->cfg.hooks;
    return h != NULL && h->restart_due != NULL && h->restart_due(h->ctx);
}

static void fw_device__begin_setup(struct fw_device *d)
{
    d->state = FW_DEVICE_SETUP;
    if (fw_sim7600_setup_start(&d->setup, d->cfg.modem, &d->cfg.setup) != FW_SIM7600_SETUP_BUSY)
        fw_device__lost(d, "setup refused");
}

static void fw_device__go_online(struct fw_device *d)
{
    d->state = FW_DEVICE_ONLINE;
    d->attempt = 0;
    d->stats.connects++;
    fw_device__log(d, "online", NULL);
}

static void fw_device__subscribe_next(struct fw_device *d)
{
    const char *topic;
    if (d->sub_index == d->cfg.n_subscriptions) {
        fw_device__go_online(d);
        return;
    }
    topic = d->cfg.subscriptions[d->sub_index];
    d->state = FW_DEVICE_SUBSCRIBING;
    if (fw_sim7600_mqtt_subscribe(&d->mqtt, topic, strlen(topic), 1) != FW_SIM7600_MQTT_BUSY)
        fw_device__lost(d, "subscribe refused before sending");
}

static bool fw_device__port_has_tls(const struct fw_port *p)
{
    return p->tls_open != NULL && p->tls_feed_ciphertext != NULL &&
           p->tls_take_ciphertext != NULL && p->tls_write_plain != NULL &&
           p->tls_read_plain != NULL && p->tls_close != NULL;
}

bool fw_device_start(struct fw_device *d, const struct fw_device_config *cfg)
{
    if (d == NULL || cfg == NULL || cfg->modem == NULL || cfg->queue == NULL ||
        cfg->publish_qos > 1 || (cfg->n_subscriptions > 0 && cfg->subscriptions == NULL) ||
        (cfg->jwt != NULL && (cfg->jwt_buf == NULL || cfg->jwt_cap < 257)))
        return false;
    if (cfg->transport == FW_DEVICE_MCU_TLS &&
        (cfg->mcu_tls == NULL || cfg->n_subscriptions > FW_DEVICE_SUBS_MAX ||
         !fw_device__port_has_tls(fw_sim7600_at(cfg->modem)->cfg.port)))
        return false;
    memset(d, 0, sizeof(*d));
    d->cfg = *cfg;
    if (d->cfg.backoff_min_ms == 0)
        d->cfg.backoff_min_ms = FW_DEVICE_BACKOFF_MIN_MS;
    if (d->cfg.backoff_max_ms == 0)
        d->cfg.backoff_max_ms = FW_DEVICE_BACKOFF_MAX_MS;
    if (d->cfg.jwt_margin_s == 0)
        d->cfg.jwt_margin_s = FW_DEVICE_JWT_MARGIN_S;
    fw_sim7600_mqtt_init(&d->mqtt, cfg->modem);
    fw_device__prepare(d);
    d->need_setup = true;
    fw_device__begin_setup(d);
    return true;
}

/* Events from URCs that end the session; a modem reboot also needs setup. */
static bool fw_device__check_events(struct fw_device *d)
{
    uint32_t ev = fw_sim7600_take_events(d->cfg.modem);
    if (ev & FW_SIM7600_EV_BOOT)
        d->need_setup = true;
    if (ev & (FW_SIM7600_EV_BOOT | FW_SIM7600_EV_MQTT_CONN_LOST | FW_SIM7600_EV_MQTT_NO_NET |
              FW_SIM7600_EV_NET_CLOSED | FW_SIM7600_EV_MQTT_PING_FAIL)) {
        fw_device__lost(d, "connection lost");
        return true;
    }
    return false;
}

static bool fw_device__jwt_due(const struct fw_device *d)
{
    const struct fw_port *port = fw_device__port(d);
    uint64_t now;
    if (d->cfg.jwt == NULL || port->unix_time_s == NULL)
        return false;
    now = port->unix_time_s(port->ctx);
    return now + d->cfg.jwt_margin_s >= d->jwt_exp;
}

/* Online: one operation at a time: renew the token, or publish the oldest event. */
static void fw_device__online(struct fw_device *d)
{
    struct fw_queue_item item;
    enum fw_sim7600_mqtt_status st;
    if (d->publishing || d->disconnecting) {
        st = fw_sim7600_mqtt_poll(&d->mqtt);
        if (st == FW_SIM7600_MQTT_BUSY)
            return;
        if (d->disconnecting && d->restarting) { /* start over now, through prepare */
            d->disconnecting = d->restarting = false;
            d->state = FW_DEVICE_BACKOFF;
            d->resume_ms = fw_device__now(d);
            return;
        }
        if (d->disconnecting) { /* the token is renewed by connecting again */
            d->disconnecting = false;
            fw_device__connect(d);
            return;
        }
        if (st != FW_SIM7600_MQTT_OK) {
            fw_device__lost(d, "publish failed");
            return;
        }
        fw_device__delivered(d);
        return;
    }
    if (fw_device__jwt_due(d) || fw_device__restart_due(d)) {
        d->restarting = !fw_device__jwt_due(d);
        d->disconnecting = true;
        if (fw_sim7600_mqtt_disconnect(&d->mqtt) != FW_SIM7600_MQTT_BUSY)
            fw_device__lost(d, "disconnect refused");
        return;
    }
    if (fw_queue_peek(d->cfg.queue, &item) != FW_QUEUE_OK)
        return;
    if (fw_sim7600_mqtt_publish(&d->mqtt, item.topic, item.topic_len, item.payload,
                                item.payload_len, d->cfg.publish_qos) != FW_SIM7600_MQTT_BUSY) {
        fw_queue_pop(d->cfg.queue); /* the modem can never send it (too long, empty) */
        fw_device__log(d, "event dropped: the modem cannot send it", NULL);
        return;
    }
    fw_device__sending(d, &item);
}

/* MCU TLS, online: renew the token by reconnecting, or publish the oldest
 * event when none awaits its PUBACK. */
static void fw_device__mcu_online(struct fw_device *d)
{
    struct fw_mqtt_session *s = fw_mcu_tls_session(d->cfg.mcu_tls);
    struct fw_queue_item item;
    enum fw_mqtt_session_status st;
    uint16_t id = 0;
    if (fw_device__jwt_due(d)) {
        fw_device__log(d, "renewing the JWT: disconnecting", NULL);
        d->disconnecting = fw_mcu_tls_disconnect(d->cfg.mcu_tls);
        if (!d->disconnecting)
            fw_device__lost(d, "disconnect refused");
        return;
    }
    if (fw_device__restart_due(d)) { /* e.g. a new server or CA: through prepare */
        fw_device__log(d, "restarting the session: disconnecting", NULL);
        d->disconnecting = fw_mcu_tls_disconnect(d->cfg.mcu_tls);
        d->restarting = d->disconnecting;
        if (!d->disconnecting)
            fw_device__lost(d, "disconnect refused");
        return;
    }
    if (d->publishing || fw_queue_peek(d->cfg.queue, &item) != FW_QUEUE_OK)
        return;
    st = fw_mqtt_session_publish(s, item.topic, item.topic_len, item.payload, item.payload_len,
                                 d->cfg.publish_qos, &id);
    if (st == FW_MQTT_SESSION_NO_SPACE)
        return; /* the transmit buffer is full: later */
    if (st != FW_MQTT_SESSION_OK) {
        fw_queue_pop(d->cfg.queue); /* the session can never send it (too long, bad topic) */
        fw_device__log(d, "event dropped: the session cannot send it",
                       fw_mqtt_session_status_str(st));
        return;
    }
    fw_device__sending(d, &item);
    if (d->cfg.publish_qos == 0)
        fw_device__delivered(d); /* QoS 0: handed over is all there is */
    else
        d->inflight_id = id;
}

/* MCU TLS: follow the transport through connecting and online. */
static void fw_device__mcu_step(struct fw_device *d)
{
    enum fw_mcu_tls_state t = fw_mcu_tls_poll(d->cfg.mcu_tls);
    if (d->disconnecting) { /* renewing the token or restarting: once closed */
        if (t == FW_MCU_TLS_IDLE || t == FW_MCU_TLS_FAILED) {
            d->disconnecting = false;
            if (d->restarting) { /* start over now, through prepare */
                d->restarting = false;
                d->state = FW_DEVICE_BACKOFF;
                d->resume_ms = fw_device__now(d);
                return;
            }
            fw_device__connect(d);
        }
        return;
    }
    if (d->state == FW_DEVICE_CONNECTING &&
        (t == FW_MCU_TLS_FAILED || t == FW_MCU_TLS_SUBSCRIBING || t == FW_MCU_TLS_ONLINE))
        fw_device__connect_result(d, t != FW_MCU_TLS_FAILED); /* CONNACK or not */
    switch (t) {
    case FW_MCU_TLS_FAILED:
        fw_device__lost(d, fw_mcu_tls_failure_str(fw_mcu_tls_failure(d->cfg.mcu_tls)));
        return;
    case FW_MCU_TLS_SUBSCRIBING:
        d->state = FW_DEVICE_SUBSCRIBING;
        return;
    case FW_MCU_TLS_ONLINE:
        if (d->state != FW_DEVICE_ONLINE)
            fw_device__go_online(d);
        fw_device__mcu_online(d);
        return;
    default: /* opening, handshake, closing after a failure */
        return;
    }
}

static void fw_device__step(struct fw_device *d)
{
    switch (d->state) {
    case FW_DEVICE_SETUP:
        switch (fw_sim7600_setup_poll(&d->setup)) {
        case FW_SIM7600_SETUP_BUSY: return;
        case FW_SIM7600_SETUP_OK:
            d->need_setup = false;
            fw_sim7600_take_events(d->cfg.modem); /* boot URCs belong to this setup */
            fw_device__connect(d);
            return;
        default:
            fw_device__lost(d, fw_sim7600_setup_step_str(
                                   fw_sim7600_setup_failed_step(&d->setup, NULL)));
            return;
        }
    case FW_DEVICE_CONNECTING:
    case FW_DEVICE_SUBSCRIBING:
    case FW_DEVICE_ONLINE:
        if (fw_device__mcu(d)) {
            fw_device__mcu_step(d);
            return;
        }
        if (d->state == FW_DEVICE_ONLINE) {
            fw_device__online(d);
            return;
        }
        switch (fw_sim7600_mqtt_poll(&d->mqtt)) {
        case FW_SIM7600_MQTT_BUSY: return;
        case FW_SIM7600_MQTT_OK:
            if (d->state == FW_DEVICE_CONNECTING) {
                d->sub_index = 0;
                fw_device__connect_result(d, true);
            } else {
                d->sub_index++;
            }
            fw_device__subscribe_next(d);
            return;
        default:
            if (d->state == FW_DEVICE_CONNECTING)
                fw_device__connect_result(d, false);
            fw_device__lost(d, d->state == FW_DEVICE_CONNECTING ? "connect failed"
                                                                : "subscribe failed");
            return;
        }
    default: /* FW_DEVICE_BACKOFF */
        fw_at_poll(fw_sim7600_at(d->cfg.modem));
        if ((int32_t)(fw_device__now(d) - d->resume_ms) < 0)
            return;
        if (fw_sim7600_take_events(d->cfg.modem) & FW_SIM7600_EV_BOOT)
            d->need_setup = true; /* the modem restarted while we waited */
        if (fw_device__prepare(d))
            d->need_setup = true; /* new server or certificates */
        if (d->need_setup)
            fw_device__begin_setup(d);
        else
            fw_device__connect(d);
        return;
    }
}

enum fw_device_state fw_device_poll(struct fw_device *d)
{
    if (d == NULL)
        return FW_DEVICE_BACKOFF;
    /* read the modem even with no command running: URCs (messages, loss) */
    fw_at_poll(fw_sim7600_at(d->cfg.modem));
    /* (the MCU-TLS transport takes the modem's events itself) */
    if (d->state != FW_DEVICE_BACKOFF && d->state != FW_DEVICE_SETUP && !fw_device__mcu(d) &&
        fw_device__check_events(d))
        return d->state;
    fw_device__step(d);
    return d->state;
}

bool fw_device_idle(const struct fw_device *d)
{
    if (d != NULL && d->state == FW_DEVICE_BACKOFF)
        return true; /* only reading URCs while the pause runs */
    if (d == NULL || d->state != FW_DEVICE_ONLINE || d->disconnecting)
        return false;
    if (fw_device__mcu(d))
        return fw_mcu_tls_at_free(d->cfg.mcu_tls);
    return !d->publishing;
}

bool fw_device_next_deadline_ms(const struct fw_device *d, uint32_t *deadline_ms)
{
    bool has;
    if (d == NULL || d->cfg.modem == NULL || deadline_ms == NULL)
        return false;
    if (d->state == FW_DEVICE_SETUP)
        has = fw_sim7600_setup_next_deadline_ms(&d->setup, deadline_ms);
    else if (fw_device__mcu(d) && d->state != FW_DEVICE_BACKOFF)
        has = fw_mcu_tls_next_deadline_ms(d->cfg.mcu_tls, deadline_ms);
    else
        has = fw_at_next_deadline_ms(fw_sim7600_at(d->cfg.modem), deadline_ms);
    if (d->state == FW_DEVICE_BACKOFF)
        fw_deadline_keep_earliest(&has, deadline_ms, d->resume_ms);
    return has;
}

void fw_device_modem_silent(struct fw_device *d)
{
    if (d == NULL || d->state != FW_DEVICE_ONLINE)
        return;
    d->need_setup = true;
    fw_device__lost(d, "modem not answering");
}

uint32_t fw_device_last_backoff(const struct fw_device *d)
{
    return d->last_backoff_ms;
}

const struct fw_device_stats *fw_device_stats(const struct fw_device *d)
{
    return &d->stats;
}

const char *fw_device_state_str(enum fw_device_state state)
{
    switch (state) {
    case FW_DEVICE_SETUP: return "setup";
    case FW_DEVICE_CONNECTING: return "connecting";
    case FW_DEVICE_SUBSCRIBING: return "subscribing";
    case FW_DEVICE_ONLINE: return "online";
    case FW_DEVICE_BACKOFF: return "backoff";
    }
    return "unknown state";
}
