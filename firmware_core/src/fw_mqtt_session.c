/*
 * fw_mqtt_session.c - MQTT 3.1.1 client session (see fw_mqtt_session.h).
 */
#include <string.h>

#include "fw_mqtt_session.h"

#define FW_MQTT_SESSION_DEFAULT_ACK_MS 20000u

static uint32_t fw_mqtt_session__now(const struct fw_mqtt_session *s)
{
    return s->cfg.port->now_ms(s->cfg.port->ctx);
}

static bool fw_mqtt_session__overdue(const struct fw_mqtt_session *s, uint32_t since)
{
    return (int32_t)(fw_mqtt_session__now(s) - (since + s->cfg.ack_timeout_ms)) >= 0;
}

static enum fw_mqtt_session_status fw_mqtt_session__end(struct fw_mqtt_session *s,
                                                        enum fw_mqtt_session_status why)
{
    s->state = FW_MQTT_SESSION_DISCONNECTED;
    s->ping_outstanding = false;
    s->sub_id = 0;
    if (s->cfg.port->log != NULL)
        s->cfg.port->log(s->cfg.port->ctx, FW_LOG_INFO, "mqtt", "session ended",
                         fw_mqtt_session_status_str(why), strlen(fw_mqtt_session_status_str(why)));
    return why;
}

/* Account for an encoder's result in the transmit queue. *n is read only
 * here, after the encoder (a call argument) has run. */
static enum fw_mqtt_session_status fw_mqtt_session__queued(struct fw_mqtt_session *s,
                                                           enum fw_mqtt_status st, const size_t *n)
{
    if (st == FW_MQTT_NO_SPACE)
        return FW_MQTT_SESSION_NO_SPACE;
    if (st != FW_MQTT_OK)
        return FW_MQTT_SESSION_BAD_ARG;
    s->tx_len += *n;
    s->last_tx_ms = fw_mqtt_session__now(s);
    return FW_MQTT_SESSION_OK;
}

static uint8_t *fw_mqtt_session__tail(struct fw_mqtt_session *s, size_t *room)
{
    *room = s->cfg.tx_cap - s->tx_len;
    return s->cfg.tx_buf + s->tx_len;
}

static struct fw_mqtt_inflight *fw_mqtt_session__find(struct fw_mqtt_session *s, uint16_t id)
{
    size_t i;
    for (i = 0; i < s->cfg.inflight_cap; i++) {
        if (s->cfg.inflight[i].packet_id == id)
            return &s->cfg.inflight[i];
    }
    return NULL;
}

/* Next packet id: never 0, never one still in flight or awaiting SUBACK. */
static uint16_t fw_mqtt_session__next_id(struct fw_mqtt_session *s)
{
    do {
        s->next_id = (uint16_t)(s->next_id + 1u);
    } while (s->next_id == 0 || s->next_id == s->sub_id ||
             fw_mqtt_session__find(s, s->next_id) != NULL);
    return s->next_id;
}

enum fw_mqtt_session_status fw_mqtt_session_init(struct fw_mqtt_session *s,
                                                 const struct fw_mqtt_session_config *cfg)
{
    if (s == NULL || cfg == NULL || cfg->port == NULL || cfg->port->now_ms == NULL ||
        cfg->tx_buf == NULL || cfg->tx_cap < 16 || cfg->rx_buf == NULL || cfg->rx_cap < 16 ||
        (cfg->inflight == NULL && cfg->inflight_cap > 0))
        return FW_MQTT_SESSION_BAD_ARG;
    memset(s, 0, sizeof(*s));
    s->cfg = *cfg;
    if (s->cfg.ack_timeout_ms == 0)
        s->cfg.ack_timeout_ms = FW_MQTT_SESSION_DEFAULT_ACK_MS;
    fw_mqtt_rx_init(&s->rx, cfg->rx_buf, cfg->rx_cap);
    return FW_MQTT_SESSION_OK;
}

enum fw_mqtt_session_status fw_mqtt_session_connect(struct fw_mqtt_session *s,
                                                    const struct fw_mqtt_connect *c)
{
    size_t room, n = 0;
    uint8_t *tail;
    enum fw_mqtt_session_status st;
    if (s == NULL || c == NULL)
        return FW_MQTT_SESSION_BAD_ARG;
    s->tx_len = 0; /* whatever the old connection had not sent is void */
    s->sub_id = 0;
    s->ping_outstanding = false;
    if (s->cfg.inflight_cap > 0)
        memset(s->cfg.inflight, 0, s->cfg.inflight_cap * sizeof(s->cfg.inflight[0]));
    fw_mqtt_rx_init(&s->rx, s->cfg.rx_buf, s->cfg.rx_cap);
    tail = fw_mqtt_session__tail(s, &room);
    st = fw_mqtt_session__queued(s, fw_mqtt_encode_connect(c, tail, room, &n), &n);
    if (st != FW_MQTT_SESSION_OK)
        return st;
    s->state = FW_MQTT_SESSION_CONNECTING;
    s->keepalive_ms = (uint32_t)c->keep_alive_s * 1000u;
    s->connect_ms = fw_mqtt_session__now(s);
    return FW_MQTT_SESSION_OK;
}

enum fw_mqtt_session_status fw_mqtt_session_publish(struct fw_mqtt_session *s,
                                                    const char *topic, size_t topic_len,
                                                    const uint8_t *payload, size_t payload_len,
                                                    uint8_t qos, uint16_t *packet_id)
{
    struct fw_mqtt_publish p;
    struct fw_mqtt_inflight *slot = NULL;
    enum fw_mqtt_session_status st;
    size_t room, n = 0;
    uint8_t *tail;
    if (s == NULL || s->state != FW_MQTT_SESSION_CONNECTED || qos > 1)
        return FW_MQTT_SESSION_BAD_ARG;
    memset(&p, 0, sizeof(p));
    p.topic = topic;
    p.topic_len = topic_len;
    p.payload = payload;
    p.payload_len = payload_len;
    p.qos = qos;
    if (qos == 1) {
        slot = fw_mqtt_session__find(s, 0);
        if (slot == NULL)
            return FW_MQTT_SESSION_NO_SPACE;
        p.packet_id = fw_mqtt_session__next_id(s);
    }
    tail = fw_mqtt_session__tail(s, &room);
    st = fw_mqtt_session__queued(s, fw_mqtt_encode_publish(&p, tail, room, &n), &n);
    if (st != FW_MQTT_SESSION_OK)
        return st;
    if (slot != NULL) {
        slot->packet_id = p.packet_id;
        slot->sent_ms = s->last_tx_ms;
    }
    if (packet_id != NULL)
        *packet_id = p.packet_id;
    return FW_MQTT_SESSION_OK;
}

enum fw_mqtt_session_status fw_mqtt_session_subscribe(struct fw_mqtt_session *s,
                                                      const struct fw_mqtt_subscription *subs,
                                                      size_t n_subs, uint16_t *packet_id)
{
    enum fw_mqtt_session_status st;
    size_t room, n = 0;
    uint8_t *tail;
    uint16_t id;
    if (s == NULL || s->state != FW_MQTT_SESSION_CONNECTED)
        return FW_MQTT_SESSION_BAD_ARG;
    if (s->sub_id != 0)
        return FW_MQTT_SESSION_NO_SPACE;
    id = fw_mqtt_session__next_id(s);
    tail = fw_mqtt_session__tail(s, &room);
    st = fw_mqtt_session__queued(s, fw_mqtt_encode_subscribe(id, subs, n_subs, tail, room, &n),
                                 &n);
    if (st != FW_MQTT_SESSION_OK)
        return st;
    s->sub_id = id;
    s->sub_ms = s->last_tx_ms;
    if (packet_id != NULL)
        *packet_id = id;
    return FW_MQTT_SESSION_OK;
}

enum fw_mqtt_session_status fw_mqtt_session_disconnect(struct fw_mqtt_session *s)
{
    size_t room, n = 0;
    uint8_t *tail;
    enum fw_mqtt_session_status st;
    if (s == NULL || s->state == FW_MQTT_SESSION_DISCONNECTED)
        return FW_MQTT_SESSION_BAD_ARG;
    tail = fw_mqtt_session__tail(s, &room);
    st = fw_mqtt_session__queued(s, fw_mqtt_encode_disconnect(tail, room, &n), &n);
    s->state = FW_MQTT_SESSION_DISCONNECTED;
    return st;
}

/* ---- incoming packets --------------------------------------------------- */

static enum fw_mqtt_session_status fw_mqtt_session__on_publish(struct fw_mqtt_session *s,
                                                               const struct fw_mqtt_packet *pkt)
{
    size_t room, n = 0;
    uint8_t *tail;
    enum fw_mqtt_session_status st = FW_MQTT_SESSION_OK;
    if (pkt->publish.qos > 1)
        return fw_mqtt_session__end(s, FW_MQTT_SESSION_PROTOCOL); /* never subscribed at QoS 2 */
    if (pkt->publish.qos == 1) {
        tail = fw_mqtt_session__tail(s, &room);
        st = fw_mqtt_session__queued(s, fw_mqtt_encode_puback(pkt->packet_id, tail, room, &n),
                                     &n);
    }
    if (s->cfg.on_message != NULL)
        s->cfg.on_message(s->cfg.ctx, &pkt->publish);
    return st;
}

static enum fw_mqtt_session_status fw_mqtt_session__on_packet(struct fw_mqtt_session *s,
                                                              const struct fw_mqtt_packet *pkt)
{
    struct fw_mqtt_inflight *slot;
    bool connecting = s->state == FW_MQTT_SESSION_CONNECTING;
    if (connecting != (pkt->type == FW_MQTT_CONNACK))
        return fw_mqtt_session__end(s, FW_MQTT_SESSION_PROTOCOL); /* 3.2: CONNACK first, once */
    switch (pkt->type) {
    case FW_MQTT_CONNACK:
        s->connack_code = pkt->return_code;
        if (pkt->return_code != 0)
            return fw_mqtt_session__end(s, FW_MQTT_SESSION_REFUSED);
        s->state = FW_MQTT_SESSION_CONNECTED;
        return FW_MQTT_SESSION_OK;
    case FW_MQTT_PUBLISH:
        return fw_mqtt_session__on_publish(s, pkt);
    case FW_MQTT_PUBACK:
        slot = fw_mqtt_session__find(s, pkt->packet_id);
        if (slot != NULL) {
            slot->packet_id = 0;
            if (s->cfg.on_puback != NULL)
                s->cfg.on_puback(s->cfg.ctx, pkt->packet_id);
        }
        return FW_MQTT_SESSION_OK;
    case FW_MQTT_SUBACK:
        if (pkt->packet_id != s->sub_id)
            return fw_mqtt_session__end(s, FW_MQTT_SESSION_PROTOCOL);
        s->sub_id = 0;
        if (s->cfg.on_suback != NULL)
            s->cfg.on_suback(s->cfg.ctx, pkt->packet_id, pkt->suback_codes, pkt->suback_count);
        return FW_MQTT_SESSION_OK;
    case FW_MQTT_PINGRESP:
        s->ping_outstanding = false;
        return FW_MQTT_SESSION_OK;
    case FW_MQTT_UNSUBACK:
        return FW_MQTT_SESSION_OK;
    default: /* PUBREC/PUBREL/PUBCOMP belong to QoS 2, which this client never uses */
        return fw_mqtt_session__end(s, FW_MQTT_SESSION_PROTOCOL);
    }
}

enum fw_mqtt_session_status fw_mqtt_session_input(struct fw_mqtt_session *s, const uint8_t *data,
                                                  size_t len)
{
    size_t off = 0;
    enum fw_mqtt_session_status result = FW_MQTT_SESSION_OK;
    if (s == NULL || (data == NULL && len > 0))
        return FW_MQTT_SESSION_BAD_ARG;
    while (off < len && s->state != FW_MQTT_SESSION_DISCONNECTED) {
        size_t used = 0, plen;
        struct fw_mqtt_packet pkt;
        enum fw_mqtt_status st = fw_mqtt_rx_feed(&s->rx, data + off, len - off, &used);
        const uint8_t *p;
        off += used;
        if (st == FW_MQTT_TOO_LARGE) {
            s->oversized++;
            continue;
        }
        if (st == FW_MQTT_NEED_MORE)
            break;
        if (st != FW_MQTT_OK)
            return fw_mqtt_session__end(s, FW_MQTT_SESSION_PROTOCOL);
        p = fw_mqtt_rx_packet(&s->rx, &plen);
        if (fw_mqtt_decode(p, plen, &pkt) != FW_MQTT_OK)
            return fw_mqtt_session__end(s, FW_MQTT_SESSION_PROTOCOL);
        result = fw_mqtt_session__on_packet(s, &pkt);
        if (result != FW_MQTT_SESSION_OK && result != FW_MQTT_SESSION_NO_SPACE)
            return result;
    }
    return result;
}

/* ---- timers ------------------------------------------------------------- */

static bool fw_mqtt_session__puback_overdue(const struct fw_mqtt_session *s)
{
    size_t i;
    for (i = 0; i < s->cfg.inflight_cap; i++) {
        if (s->cfg.inflight[i].packet_id != 0 &&
            fw_mqtt_session__overdue(s, s->cfg.inflight[i].sent_ms))
            return true;
    }
    return false;
}

enum fw_mqtt_session_status fw_mqtt_session_poll(struct fw_mqtt_session *s)
{
    size_t room, n = 0;
    uint8_t *tail;
    if (s == NULL)
        return FW_MQTT_SESSION_BAD_ARG;
    if (s->state == FW_MQTT_SESSION_CONNECTING && fw_mqtt_session__overdue(s, s->connect_ms))
        return fw_mqtt_session__end(s, FW_MQTT_SESSION_TIMEOUT);
    if (s->state != FW_MQTT_SESSION_CONNECTED)
        return FW_MQTT_SESSION_OK;
    if ((s->sub_id != 0 && fw_mqtt_session__overdue(s, s->sub_ms)) ||
        (s->ping_outstanding && fw_mqtt_session__overdue(s, s->ping_ms)) ||
        fw_mqtt_session__puback_overdue(s))
        return fw_mqtt_session__end(s, FW_MQTT_SESSION_TIMEOUT);
    if (s->keepalive_ms == 0 || s->ping_outstanding ||
        (int32_t)(fw_mqtt_session__now(s) - (s->last_tx_ms + s->keepalive_ms)) < 0)
        return FW_MQTT_SESSION_OK;
    tail = fw_mqtt_session__tail(s, &room);
    if (fw_mqtt_encode_pingreq(tail, room, &n) != FW_MQTT_OK)
        return FW_MQTT_SESSION_NO_SPACE;
    fw_mqtt_session__queued(s, FW_MQTT_OK, &n);
    s->ping_outstanding = true;
    s->ping_ms = s->last_tx_ms;
    return FW_MQTT_SESSION_OK;
}

/* ---- transport side ----------------------------------------------------- */

const uint8_t *fw_mqtt_session_pending(const struct fw_mqtt_session *s, size_t *len)
{
    *len = s->tx_len;
    return s->cfg.tx_buf;
}

void fw_mqtt_session_sent(struct fw_mqtt_session *s, size_t n)
{
    if (n > s->tx_len)
        n = s->tx_len;
    memmove(s->cfg.tx_buf, s->cfg.tx_buf + n, s->tx_len - n);
    s->tx_len -= n;
}

enum fw_mqtt_session_state fw_mqtt_session_state(const struct fw_mqtt_session *s)
{
    return s->state;
}

uint8_t fw_mqtt_session_connack(const struct fw_mqtt_session *s)
{
    return s->connack_code;
}

size_t fw_mqtt_session_inflight(const struct fw_mqtt_session *s)
{
    size_t i, n = 0;
    for (i = 0; i < s->cfg.inflight_cap; i++)
        n += s->cfg.inflight[i].packet_id != 0;
    return n;
}

const char *fw_mqtt_session_status_str(enum fw_mqtt_session_status status)
{
    switch (status) {
    case FW_MQTT_SESSION_OK: return "ok";
    case FW_MQTT_SESSION_NO_SPACE: return "no space";
    case FW_MQTT_SESSION_BAD_ARG: return "bad argument";
    case FW_MQTT_SESSION_REFUSED: return "connection refused";
    case FW_MQTT_SESSION_TIMEOUT: return "acknowledgement overdue";
    case FW_MQTT_SESSION_PROTOCOL: return "protocol violation";
    }
    return "unknown status";
}
