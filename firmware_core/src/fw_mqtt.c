/*
 * fw_mqtt.c - MQTT 3.1.1 packet codec (see fw_mqtt.h). Section numbers in
 * comments refer to the OASIS MQTT 3.1.1 specification.
 */
#include <string.h>

#include "fw_mqtt.h"

/* ---- encoding ----------------------------------------------------------- */

/* Bounded output: every put checks space, the first miss sticks. */
struct fw_mqtt__out {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool full;
};

static void fw_mqtt__put(struct fw_mqtt__out *o, const void *data, size_t n)
{
    if (o->full || n > o->cap - o->len) {
        o->full = true;
        return;
    }
    if (n > 0)
        memcpy(o->buf + o->len, data, n);
    o->len += n;
}

static void fw_mqtt__put_byte(struct fw_mqtt__out *o, uint8_t b)
{
    fw_mqtt__put(o, &b, 1);
}

static void fw_mqtt__put_u16(struct fw_mqtt__out *o, uint16_t v)
{
    fw_mqtt__put_byte(o, (uint8_t)(v >> 8));
    fw_mqtt__put_byte(o, (uint8_t)(v & 0xFFu));
}

/* A length-prefixed string or binary field (1.5.3). */
static void fw_mqtt__put_field(struct fw_mqtt__out *o, const void *data, size_t n)
{
    fw_mqtt__put_u16(o, (uint16_t)n);
    fw_mqtt__put(o, data, n);
}

size_t fw_mqtt_remaining_length_size(uint32_t n)
{
    if (n < 128u)
        return 1;
    if (n < 16384u)
        return 2;
    if (n < 2097152u)
        return 3;
    if (n <= FW_MQTT_MAX_REMAINING)
        return 4;
    return 0;
}

/* Fixed header: type/flags byte and the remaining length (2.2.3). */
static void fw_mqtt__put_fixed(struct fw_mqtt__out *o, uint8_t first, uint32_t remaining)
{
    fw_mqtt__put_byte(o, first);
    do {
        uint8_t digit = (uint8_t)(remaining % 128u);
        remaining /= 128u;
        if (remaining > 0)
            digit |= 0x80u;
        fw_mqtt__put_byte(o, digit);
    } while (remaining > 0);
}

static enum fw_mqtt_status fw_mqtt__done(const struct fw_mqtt__out *o, size_t *out_len)
{
    if (o->full)
        return FW_MQTT_NO_SPACE;
    *out_len = o->len;
    return FW_MQTT_OK;
}

static bool fw_mqtt__field_ok(size_t n)
{
    return n <= 65535u;
}

static bool fw_mqtt__has_wildcard(const char *topic, size_t len)
{
    return memchr(topic, '+', len) != NULL || memchr(topic, '#', len) != NULL ||
           memchr(topic, '\0', len) != NULL;
}

/* Check CONNECT fields (3.1.2) and compute its remaining length. */
static enum fw_mqtt_status fw_mqtt__connect_length(const struct fw_mqtt_connect *c,
                                                   uint32_t *remaining)
{
    size_t n = 10u + 2u + strlen(c->client_id);
    if (!fw_mqtt__field_ok(strlen(c->client_id)) || (c->client_id[0] == '\0' && !c->clean_session))
        return FW_MQTT_BAD_ARG;
    if (c->password != NULL && c->username == NULL)
        return FW_MQTT_BAD_ARG; /* 3.1.2.9: no password without a user name */
    if (c->will_topic != NULL) {
        size_t t = strlen(c->will_topic);
        if (t == 0 || !fw_mqtt__field_ok(t) || c->will_qos > 1 ||
            !fw_mqtt__field_ok(c->will_payload_len) ||
            (c->will_payload == NULL && c->will_payload_len > 0) ||
            fw_mqtt__has_wildcard(c->will_topic, t))
            return FW_MQTT_BAD_ARG;
        n += 2u + t + 2u + c->will_payload_len;
    }
    if (c->username != NULL) {
        if (!fw_mqtt__field_ok(strlen(c->username)))
            return FW_MQTT_BAD_ARG;
        n += 2u + strlen(c->username);
    }
    if (c->password != NULL) {
        if (!fw_mqtt__field_ok(c->password_len))
            return FW_MQTT_BAD_ARG;
        n += 2u + c->password_len;
    }
    *remaining = (uint32_t)n;
    return FW_MQTT_OK;
}

static uint8_t fw_mqtt__connect_flags(const struct fw_mqtt_connect *c)
{
    uint8_t flags = 0;
    if (c->clean_session)
        flags |= 0x02u;
    if (c->will_topic != NULL) {
        flags |= 0x04u | (uint8_t)(c->will_qos << 3);
        if (c->will_retain)
            flags |= 0x20u;
    }
    if (c->password != NULL)
        flags |= 0x40u;
    if (c->username != NULL)
        flags |= 0x80u;
    return flags;
}

enum fw_mqtt_status fw_mqtt_encode_connect(const struct fw_mqtt_connect *c, uint8_t *buf,
                                           size_t cap, size_t *out_len)
{
    struct fw_mqtt__out o = {buf, cap, 0, false};
    uint32_t remaining;
    enum fw_mqtt_status st;

    if (c == NULL || c->client_id == NULL || buf == NULL || out_len == NULL)
        return FW_MQTT_BAD_ARG;
    st = fw_mqtt__connect_length(c, &remaining);
    if (st != FW_MQTT_OK)
        return st;
    fw_mqtt__put_fixed(&o, FW_MQTT_CONNECT << 4, remaining);
    fw_mqtt__put_field(&o, "MQTT", 4);
    fw_mqtt__put_byte(&o, 4); /* protocol level 3.1.1 */
    fw_mqtt__put_byte(&o, fw_mqtt__connect_flags(c));
    fw_mqtt__put_u16(&o, c->keep_alive_s);
    fw_mqtt__put_field(&o, c->client_id, strlen(c->client_id));
    if (c->will_topic != NULL) {
        fw_mqtt__put_field(&o, c->will_topic, strlen(c->will_topic));
        fw_mqtt__put_field(&o, c->will_payload, c->will_payload_len);
    }
    if (c->username != NULL)
        fw_mqtt__put_field(&o, c->username, strlen(c->username));
    if (c->password != NULL)
        fw_mqtt__put_field(&o, c->password, c->password_len);
    return fw_mqtt__done(&o, out_len);
}

static enum fw_mqtt_status fw_mqtt__publish_head(const struct fw_mqtt_publish *p,
                                                 struct fw_mqtt__out *o)
{
    uint64_t remaining;
    uint8_t first;
    if (p->topic == NULL || p->topic_len == 0 || !fw_mqtt__field_ok(p->topic_len) ||
        fw_mqtt__has_wildcard(p->topic, p->topic_len) || p->qos > 1 ||
        (p->qos > 0 && p->packet_id == 0) || (p->qos == 0 && p->dup))
        return FW_MQTT_BAD_ARG;
    remaining = 2u + (uint64_t)p->topic_len + (p->qos > 0 ? 2u : 0u) + (uint64_t)p->payload_len;
    if (remaining > FW_MQTT_MAX_REMAINING)
        return FW_MQTT_BAD_ARG;
    first = (uint8_t)((FW_MQTT_PUBLISH << 4) | (p->dup ? 0x08u : 0u) | (p->qos << 1) |
                      (p->retain ? 0x01u : 0u));
    fw_mqtt__put_fixed(o, first, (uint32_t)remaining);
    fw_mqtt__put_field(o, p->topic, p->topic_len);
    if (p->qos > 0)
        fw_mqtt__put_u16(o, p->packet_id);
    return FW_MQTT_OK;
}

enum fw_mqtt_status fw_mqtt_encode_publish_header(const struct fw_mqtt_publish *p, uint8_t *buf,
                                                  size_t cap, size_t *out_len)
{
    struct fw_mqtt__out o = {buf, cap, 0, false};
    enum fw_mqtt_status st;
    if (p == NULL || buf == NULL || out_len == NULL)
        return FW_MQTT_BAD_ARG;
    st = fw_mqtt__publish_head(p, &o);
    if (st != FW_MQTT_OK)
        return st;
    return fw_mqtt__done(&o, out_len);
}

enum fw_mqtt_status fw_mqtt_encode_publish(const struct fw_mqtt_publish *p, uint8_t *buf,
                                           size_t cap, size_t *out_len)
{
    struct fw_mqtt__out o = {buf, cap, 0, false};
    enum fw_mqtt_status st;
    if (p == NULL || buf == NULL || out_len == NULL || (p->payload == NULL && p->payload_len > 0))
        return FW_MQTT_BAD_ARG;
    st = fw_mqtt__publish_head(p, &o);
    if (st != FW_MQTT_OK)
        return st;
    fw_mqtt__put(&o, p->payload, p->payload_len);
    return fw_mqtt__done(&o, out_len);
}

enum fw_mqtt_status fw_mqtt_encode_subscribe(uint16_t packet_id,
                                             const struct fw_mqtt_subscription *subs, size_t n,
                                             uint8_t *buf, size_t cap, size_t *out_len)
{
    struct fw_mqtt__out o = {buf, cap, 0, false};
    uint64_t remaining = 2;
    size_t i;
    if (subs == NULL || n == 0 || packet_id == 0 || buf == NULL || out_len == NULL)
        return FW_MQTT_BAD_ARG;
    for (i = 0; i < n; i++) {
        size_t f;
        if (subs[i].filter == NULL || subs[i].qos > 1)
            return FW_MQTT_BAD_ARG;
        f = strlen(subs[i].filter);
        if (f == 0 || !fw_mqtt__field_ok(f))
            return FW_MQTT_BAD_ARG;
        remaining += 2u + f + 1u;
    }
    if (remaining > FW_MQTT_MAX_REMAINING)
        return FW_MQTT_BAD_ARG;
    fw_mqtt__put_fixed(&o, (FW_MQTT_SUBSCRIBE << 4) | 0x02u, (uint32_t)remaining); /* 3.8.1 */
    fw_mqtt__put_u16(&o, packet_id);
    for (i = 0; i < n; i++) {
        fw_mqtt__put_field(&o, subs[i].filter, strlen(subs[i].filter));
        fw_mqtt__put_byte(&o, subs[i].qos);
    }
    return fw_mqtt__done(&o, out_len);
}

enum fw_mqtt_status fw_mqtt_encode_unsubscribe(uint16_t packet_id, const char *const *filters,
                                               size_t n, uint8_t *buf, size_t cap,
                                               size_t *out_len)
{
    struct fw_mqtt__out o = {buf, cap, 0, false};
    uint64_t remaining = 2;
    size_t i;
    if (filters == NULL || n == 0 || packet_id == 0 || buf == NULL || out_len == NULL)
        return FW_MQTT_BAD_ARG;
    for (i = 0; i < n; i++) {
        size_t f;
        if (filters[i] == NULL)
            return FW_MQTT_BAD_ARG;
        f = strlen(filters[i]);
        if (f == 0 || !fw_mqtt__field_ok(f))
            return FW_MQTT_BAD_ARG;
        remaining += 2u + f;
    }
    if (remaining > FW_MQTT_MAX_REMAINING)
        return FW_MQTT_BAD_ARG;
    fw_mqtt__put_fixed(&o, (FW_MQTT_UNSUBSCRIBE << 4) | 0x02u, (uint32_t)remaining); /* 3.10.1 */
    fw_mqtt__put_u16(&o, packet_id);
    for (i = 0; i < n; i++)
        fw_mqtt__put_field(&o, filters[i], strlen(filters[i]));
    return fw_mqtt__done(&o, out_len);
}

enum fw_mqtt_status fw_mqtt_encode_puback(uint16_t packet_id, uint8_t *buf, size_t cap,
                                          size_t *out_len)
{
    struct fw_mqtt__out o = {buf, cap, 0, false};
    if (packet_id == 0 || buf == NULL || out_len == NULL)
        return FW_MQTT_BAD_ARG;
    fw_mqtt__put_fixed(&o, FW_MQTT_PUBACK << 4, 2);
    fw_mqtt__put_u16(&o, packet_id);
    return fw_mqtt__done(&o, out_len);
}

static enum fw_mqtt_status fw_mqtt__encode_empty(uint8_t first, uint8_t *buf, size_t cap,
                                                 size_t *out_len)
{
    struct fw_mqtt__out o = {buf, cap, 0, false};
    if (buf == NULL || out_len == NULL)
        return FW_MQTT_BAD_ARG;
    fw_mqtt__put_fixed(&o, first, 0);
    return fw_mqtt__done(&o, out_len);
}

enum fw_mqtt_status fw_mqtt_encode_pingreq(uint8_t *buf, size_t cap, size_t *out_len)
{
    return fw_mqtt__encode_empty(FW_MQTT_PINGREQ << 4, buf, cap, out_len);
}

enum fw_mqtt_status fw_mqtt_encode_disconnect(uint8_t *buf, size_t cap, size_t *out_len)
{
    return fw_mqtt__encode_empty(FW_MQTT_DISCONNECT << 4, buf, cap, out_len);
}

/* ---- framing ------------------------------------------------------------ */

/* Parse the fixed header in buf[0..len). Returns FW_MQTT_OK with the header
 * length and remaining length, FW_MQTT_NEED_MORE or FW_MQTT_MALFORMED. */
static enum fw_mqtt_status fw_mqtt__fixed_header(const uint8_t *buf, size_t len,
                                                 size_t *header_len, uint32_t *remaining)
{
    uint32_t value = 0, multiplier = 1;
    size_t i;
    for (i = 1; i < len && i <= 4; i++) {
        value += (uint32_t)(buf[i] & 0x7Fu) * multiplier;
        if ((buf[i] & 0x80u) == 0) {
            *header_len = i + 1;
            *remaining = value;
            return FW_MQTT_OK;
        }
        multiplier *= 128u;
    }
    return i > 4 ? FW_MQTT_MALFORMED : FW_MQTT_NEED_MORE;
}

enum fw_mqtt_status fw_mqtt_rx_init(struct fw_mqtt_rx *rx, uint8_t *buf, size_t cap)
{
    if (rx == NULL || buf == NULL || cap < 5)
        return FW_MQTT_BAD_ARG;
    memset(rx, 0, sizeof(*rx));
    rx->buf = buf;
    rx->cap = cap;
    return FW_MQTT_OK;
}

/* Collect header bytes one at a time until the remaining length is known. */
static enum fw_mqtt_status fw_mqtt__rx_header_byte(struct fw_mqtt_rx *rx, uint8_t byte)
{
    uint32_t remaining;
    enum fw_mqtt_status st;
    rx->buf[rx->have++] = byte;
    if (rx->have < 2)
        return FW_MQTT_NEED_MORE;
    st = fw_mqtt__fixed_header(rx->buf, rx->have, &rx->header_len, &remaining);
    if (st == FW_MQTT_MALFORMED) {
        rx->broken = true;
        return st;
    }
    if (st != FW_MQTT_OK)
        return st;
    rx->total = rx->header_len + remaining;
    if (rx->total > rx->cap) {
        rx->skip_left = rx->total - rx->have;
        rx->have = 0;
        rx->header_len = 0;
        return FW_MQTT_TOO_LARGE;
    }
    return rx->total == rx->have ? FW_MQTT_OK : FW_MQTT_NEED_MORE;
}

enum fw_mqtt_status fw_mqtt_rx_feed(struct fw_mqtt_rx *rx, const uint8_t *data, size_t len,
                                    size_t *consumed)
{
    size_t used = 0;
    if (rx == NULL || consumed == NULL || (data == NULL && len > 0))
        return FW_MQTT_BAD_ARG;
    *consumed = 0;
    if (rx->broken)
        return FW_MQTT_MALFORMED;
    if (rx->total > 0 && rx->have == rx->total) { /* the previous packet was handed out */
        rx->have = rx->total = rx->header_len = 0;
    }
    while (used < len) {
        if (rx->skip_left > 0) {
            size_t n = len - used < rx->skip_left ? len - used : rx->skip_left;
            rx->skip_left -= n;
            used += n;
            continue;
        }
        if (rx->header_len == 0) {
            enum fw_mqtt_status st = fw_mqtt__rx_header_byte(rx, data[used++]);
            if (st != FW_MQTT_NEED_MORE) {
                *consumed = used;
                return st;
            }
            continue;
        }
        {
            size_t n = rx->total - rx->have;
            if (n > len - used)
                n = len - used;
            memcpy(rx->buf + rx->have, data + used, n);
            rx->have += n;
            used += n;
            if (rx->have == rx->total) {
                *consumed = used;
                return FW_MQTT_OK;
            }
        }
    }
    *consumed = used;
    return FW_MQTT_NEED_MORE;
}

const uint8_t *fw_mqtt_rx_packet(const struct fw_mqtt_rx *rx, size_t *len)
{
    bool complete = rx->total > 0 && rx->have == rx->total;
    if (len != NULL)
        *len = complete ? rx->total : 0;
    return complete ? rx->buf : NULL;
}

/* ---- decoding ----------------------------------------------------------- */

static uint16_t fw_mqtt__u16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static enum fw_mqtt_status fw_mqtt__decode_connack(const uint8_t *body, uint32_t n,
                                                   struct fw_mqtt_packet *out)
{
    if (out->flags != 0 || n != 2 || (body[0] & 0xFEu) != 0 || body[1] > 5)
        return FW_MQTT_MALFORMED; /* 3.2.2 */
    if (body[1] != 0 && (body[0] & 1u) != 0)
        return FW_MQTT_MALFORMED; /* 3.2.2.2: refused means no session */
    out->session_present = (body[0] & 1u) != 0;
    out->return_code = body[1];
    return FW_MQTT_OK;
}

static enum fw_mqtt_status fw_mqtt__decode_publish(const uint8_t *body, uint32_t n,
                                                   struct fw_mqtt_packet *out)
{
    struct fw_mqtt_publish *p = &out->publish;
    size_t pos = 2;
    p->qos = (uint8_t)((out->flags >> 1) & 3u);
    p->dup = (out->flags & 0x08u) != 0;
    p->retain = (out->flags & 0x01u) != 0;
    if (p->qos == 3 || (p->qos == 0 && p->dup) || n < 2)
        return FW_MQTT_MALFORMED; /* 3.3.1 */
    p->topic_len = fw_mqtt__u16(body);
    p->topic = (const char *)body + 2;
    pos += p->topic_len;
    if (p->topic_len == 0 || pos > n || fw_mqtt__has_wildcard(p->topic, p->topic_len))
        return FW_MQTT_MALFORMED; /* 3.3.2.1 */
    if (p->qos > 0) {
        if (pos + 2 > n)
            return FW_MQTT_MALFORMED;
        p->packet_id = fw_mqtt__u16(body + pos);
        out->packet_id = p->packet_id;
        pos += 2;
        if (p->packet_id == 0)
            return FW_MQTT_MALFORMED; /* 2.3.1 */
    }
    p->payload = body + pos;
    p->payload_len = n - pos;
    return FW_MQTT_OK;
}

static enum fw_mqtt_status fw_mqtt__decode_ack(const uint8_t *body, uint32_t n, uint8_t flags,
                                               struct fw_mqtt_packet *out)
{
    if (out->flags != flags || n != 2)
        return FW_MQTT_MALFORMED;
    out->packet_id = fw_mqtt__u16(body);
    return out->packet_id == 0 ? FW_MQTT_MALFORMED : FW_MQTT_OK;
}

static enum fw_mqtt_status fw_mqtt__decode_suback(const uint8_t *body, uint32_t n,
                                                  struct fw_mqtt_packet *out)
{
    uint32_t i;
    if (out->flags != 0 || n < 3)
        return FW_MQTT_MALFORMED;
    out->packet_id = fw_mqtt__u16(body);
    if (out->packet_id == 0)
        return FW_MQTT_MALFORMED;
    for (i = 2; i < n; i++) {
        if (body[i] > 2 && body[i] != 0x80u)
            return FW_MQTT_MALFORMED; /* 3.9.3 */
    }
    out->suback_codes = body + 2;
    out->suback_count = n - 2;
    return FW_MQTT_OK;
}

enum fw_mqtt_status fw_mqtt_decode(const uint8_t *buf, size_t len, struct fw_mqtt_packet *out)
{
    size_t header_len;
    uint32_t remaining;
    const uint8_t *body;
    enum fw_mqtt_status st;

    if (buf == NULL || out == NULL)
        return FW_MQTT_BAD_ARG;
    memset(out, 0, sizeof(*out));
    if (len < 2)
        return FW_MQTT_NEED_MORE;
    st = fw_mqtt__fixed_header(buf, len, &header_len, &remaining);
    if (st != FW_MQTT_OK)
        return st;
    if (len - header_len < remaining)
        return FW_MQTT_NEED_MORE;
    if (len - header_len > remaining)
        return FW_MQTT_MALFORMED; /* more than one packet: the caller framed it wrong */
    out->type = (enum fw_mqtt_type)(buf[0] >> 4);
    out->flags = buf[0] & 0x0Fu;
    body = buf + header_len;
    switch (out->type) {
    case FW_MQTT_CONNACK: return fw_mqtt__decode_connack(body, remaining, out);
    case FW_MQTT_PUBLISH: return fw_mqtt__decode_publish(body, remaining, out);
    case FW_MQTT_PUBACK:
    case FW_MQTT_PUBREC:
    case FW_MQTT_PUBCOMP:
    case FW_MQTT_UNSUBACK: return fw_mqtt__decode_ack(body, remaining, 0, out);
    case FW_MQTT_PUBREL: return fw_mqtt__decode_ack(body, remaining, 2, out);
    case FW_MQTT_SUBACK: return fw_mqtt__decode_suback(body, remaining, out);
    case FW_MQTT_PINGRESP:
        return out->flags == 0 && remaining == 0 ? FW_MQTT_OK : FW_MQTT_MALFORMED;
    case FW_MQTT_CONNECT:
    case FW_MQTT_SUBSCRIBE:
    case FW_MQTT_UNSUBSCRIBE:
    case FW_MQTT_PINGREQ:
    case FW_MQTT_DISCONNECT: return FW_MQTT_UNEXPECTED;
    }
    return FW_MQTT_MALFORMED; /* types 0 and 15 are reserved */
}

const char *fw_mqtt_status_str(enum fw_mqtt_status status)
{
    switch (status) {
    case FW_MQTT_OK: return "ok";
    case FW_MQTT_NEED_MORE: return "need more bytes";
    case FW_MQTT_NO_SPACE: return "buffer too small";
    case FW_MQTT_BAD_ARG: return "bad argument";
    case FW_MQTT_MALFORMED: return "malformed packet";
    case FW_MQTT_UNEXPECTED: return "packet not sent to clients";
    case FW_MQTT_TOO_LARGE: return "packet too large";
    }
    return "unknown status";
}
