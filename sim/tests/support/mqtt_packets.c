/*
 * MQTT 3.1.1 packet builders and a stream parser for tests (see
 * mqtt_packets.h). The builders lay out bytes as PubSubClient v2.8 does.
 */
#include "mqtt_packets.h"

#include <string.h>

/* Write the fixed header (type byte and remaining length); returns its length or 0. */
static size_t put_header(uint8_t *out, size_t cap, uint8_t first, size_t remaining)
{
    uint8_t len_bytes[4];
    size_t n = 0;
    do {
        uint8_t digit = (uint8_t)(remaining % 128);
        remaining /= 128;
        if (remaining > 0) {
            digit |= 0x80;
        }
        if (n == sizeof(len_bytes)) {
            return 0;
        }
        len_bytes[n++] = digit;
    } while (remaining > 0);
    if (cap < 1 + n) {
        return 0;
    }
    out[0] = first;
    memcpy(out + 1, len_bytes, n);
    return 1 + n;
}

/* Append a length-prefixed string at *pos. */
static void put_string(uint8_t *out, size_t *pos, const char *text, size_t len)
{
    out[(*pos)++] = (uint8_t)(len >> 8);
    out[(*pos)++] = (uint8_t)(len & 0xFF);
    memcpy(out + *pos, text, len);
    *pos += len;
}

size_t mqtt_build_connect(uint8_t *out, size_t cap, const char *client_id, uint16_t keepalive_s)
{
    size_t id_len = strlen(client_id);
    size_t remaining = 10 + 2 + id_len;
    size_t pos = put_header(out, cap, MQTT_CONNECT << 4, remaining);
    if (pos == 0 || cap < pos + remaining) {
        return 0;
    }
    put_string(out, &pos, "MQTT", 4);
    out[pos++] = 4;    /* protocol level 3.1.1 */
    out[pos++] = 0x02; /* clean session */
    out[pos++] = (uint8_t)(keepalive_s >> 8);
    out[pos++] = (uint8_t)(keepalive_s & 0xFF);
    put_string(out, &pos, client_id, id_len);
    return pos;
}

size_t mqtt_build_subscribe(uint8_t *out, size_t cap, uint16_t mid, const char *topic, uint8_t qos)
{
    size_t topic_len = strlen(topic);
    size_t remaining = 2 + 2 + topic_len + 1;
    size_t pos = put_header(out, cap, (MQTT_SUBSCRIBE << 4) | 0x02, remaining);
    if (pos == 0 || cap < pos + remaining) {
        return 0;
    }
    out[pos++] = (uint8_t)(mid >> 8);
    out[pos++] = (uint8_t)(mid & 0xFF);
    put_string(out, &pos, topic, topic_len);
    out[pos++] = qos;
    return pos;
}

size_t mqtt_build_publish(uint8_t *out, size_t cap, const char *topic, const void *payload, size_t len)
{
    size_t topic_len = strlen(topic);
    size_t remaining = 2 + topic_len + len;
    size_t pos = put_header(out, cap, MQTT_PUBLISH << 4, remaining);
    if (pos == 0 || cap < pos + remaining) {
        return 0;
    }
    put_string(out, &pos, topic, topic_len);
    memcpy(out + pos, payload, len);
    return pos + len;
}

size_t mqtt_build_empty(uint8_t *out, size_t cap, enum mqtt_packet_type type)
{
    return put_header(out, cap, (uint8_t)(type << 4), 0);
}

int mqtt_parse(const uint8_t *data, size_t len, struct mqtt_packet *p)
{
    size_t remaining = 0;
    size_t multiplier = 1;
    size_t pos = 1;
    for (;;) {
        if (pos >= len) {
            return 0;
        }
        if (pos > 4) {
            return -1;
        }
        uint8_t digit = data[pos++];
        remaining += (size_t)(digit & 0x7F) * multiplier;
        multiplier *= 128;
        if ((digit & 0x80) == 0) {
            break;
        }
    }
    if (len < pos + remaining) {
        return 0;
    }
    p->type = data[0] >> 4;
    p->flags = data[0] & 0x0F;
    p->body = data + pos;
    p->body_len = remaining;
    p->total_len = pos + remaining;
    return 1;
}

bool mqtt_publish_fields(const struct mqtt_packet *p, const uint8_t **topic, size_t *topic_len,
                         const uint8_t **payload, size_t *payload_len)
{
    if (p->type != MQTT_PUBLISH || p->body_len < 2) {
        return false;
    }
    size_t tlen = ((size_t)p->body[0] << 8) | p->body[1];
    size_t skip = 2 + tlen + ((p->flags & 0x06) != 0 ? 2 : 0);
    if (skip > p->body_len) {
        return false;
    }
    *topic = p->body + 2;
    *topic_len = tlen;
    *payload = p->body + skip;
    *payload_len = p->body_len - skip;
    return true;
}
