/*
 * fw_queue.c - persistent offline queue (see fw_queue.h).
 */
#include <string.h>

#include "fw_queue.h"

static const uint8_t fw_queue__magic[4] = {'F', 'W', 'Q', '1'};

static void fw_queue__put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t fw_queue__get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint16_t fw_queue__get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

/* CRC-32 (IEEE 802.3, reflected), bit by bit: small rather than fast. */
static uint32_t fw_queue__crc32(uint32_t crc, const uint8_t *data, size_t len)
{
    size_t i;
    unsigned bit;
    crc = ~crc;
    for (i = 0; i < len; i++) {
        crc ^= data[i];
        for (bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static uint8_t *fw_queue__records(const struct fw_queue *q)
{
    return q->buf + FW_QUEUE_HEADER;
}

/* CRC over the counters (bytes 4..16) and the records. */
static uint32_t fw_queue__checksum(const struct fw_queue *q)
{
    uint32_t crc = fw_queue__crc32(0, q->buf + 4, 12);
    return fw_queue__crc32(crc, fw_queue__records(q), q->used);
}

static enum fw_queue_status fw_queue__save(struct fw_queue *q)
{
    memcpy(q->buf, fw_queue__magic, 4);
    fw_queue__put32(q->buf + 4, q->count);
    fw_queue__put32(q->buf + 8, (uint32_t)q->used);
    fw_queue__put32(q->buf + 12, q->dropped);
    fw_queue__put32(q->buf + 16, fw_queue__checksum(q));
    if (q->port->persist_save == NULL)
        return FW_QUEUE_OK;
    if (q->port->persist_save(q->port->ctx, q->key, q->buf, FW_QUEUE_HEADER + q->used) != 0)
        return FW_QUEUE_STORAGE;
    return FW_QUEUE_OK;
}

/* The record at offset off of the records; its total size in *size. False
 * when it runs past the used bytes. */
static bool fw_queue__record(const struct fw_queue *q, size_t off, struct fw_queue_item *item,
                             size_t *size)
{
    const uint8_t *r = fw_queue__records(q) + off;
    size_t tlen, plen;
    if (q->used - off < FW_QUEUE_RECORD_OVERHEAD)
        return false;
    tlen = fw_queue__get16(r + 1);
    plen = fw_queue__get16(r + 3);
    if (r[0] > FW_QUEUE_HIGH || q->used - off - FW_QUEUE_RECORD_OVERHEAD < tlen + plen)
        return false;
    item->priority = (enum fw_queue_priority)r[0];
    item->topic = (const char *)r + FW_QUEUE_RECORD_OVERHEAD;
    item->topic_len = tlen;
    item->payload = r + FW_QUEUE_RECORD_OVERHEAD + tlen;
    item->payload_len = plen;
    *size = FW_QUEUE_RECORD_OVERHEAD + tlen + plen;
    return true;
}

/* A loaded blob must hold exactly `count` well-formed records. */
static bool fw_queue__consistent(const struct fw_queue *q)
{
    size_t off = 0, size;
    uint32_t n = 0;
    struct fw_queue_item item;
    while (off < q->used) {
        if (!fw_queue__record(q, off, &item, &size))
            return false;
        off += size;
        n++;
    }
    return n == q->count && fw_queue__get32(q->buf + 16) == fw_queue__checksum(q);
}

static enum fw_queue_status fw_queue__load(struct fw_queue *q)
{
    size_t len = 0;
    if (q->port->persist_load == NULL)
        return FW_QUEUE_OK;
    if (q->port->persist_load(q->port->ctx, q->key, q->buf, q->cap, &len) != 0 || len > q->cap)
        return FW_QUEUE_STORAGE;
    if (len == 0)
        return FW_QUEUE_OK;
    if (len < FW_QUEUE_HEADER || memcmp(q->buf, fw_queue__magic, 4) != 0 ||
        fw_queue__get32(q->buf + 8) != len - FW_QUEUE_HEADER)
        return FW_QUEUE_CORRUPT;
    q->count = fw_queue__get32(q->buf + 4);
    q->used = len - FW_QUEUE_HEADER;
    q->dropped = fw_queue__get32(q->buf + 12);
    if (!fw_queue__consistent(q))
        return FW_QUEUE_CORRUPT;
    return FW_QUEUE_OK;
}

enum fw_queue_status fw_queue_init(struct fw_queue *q, const struct fw_port *port, uint32_t key,
                                   uint8_t *buf, size_t cap)
{
    enum fw_queue_status st;
    if (q == NULL || port == NULL || buf == NULL || cap < FW_QUEUE_HEADER + 16u)
        return FW_QUEUE_BAD_ARG;
    memset(q, 0, sizeof(*q));
    q->port = port;
    q->key = key;
    q->buf = buf;
    q->cap = cap;
    st = fw_queue__load(q);
    if (st != FW_QUEUE_OK) {
        q->count = 0;
        q->used = 0;
        q->dropped = 0;
    }
    return st;
}

/* Bytes held by low-priority records. */
static size_t fw_queue__low_bytes(const struct fw_queue *q)
{
    size_t off = 0, size, total = 0;
    struct fw_queue_item item;
    while (off < q->used && fw_queue__record(q, off, &item, &size)) {
        if (item.priority == FW_QUEUE_LOW)
            total += size;
        off += size;
    }
    return total;
}

/* Remove the record at off (size bytes). */
static void fw_queue__remove(struct fw_queue *q, size_t off, size_t size)
{
    uint8_t *r = fw_queue__records(q);
    memmove(r + off, r + off + size, q->used - off - size);
    q->used -= size;
    q->count--;
}

/* Drop the oldest low-priority record. */
static void fw_queue__drop_oldest_low(struct fw_queue *q)
{
    size_t off = 0, size;
    struct fw_queue_item item;
    while (off < q->used && fw_queue__record(q, off, &item, &size)) {
        if (item.priority == FW_QUEUE_LOW) {
            fw_queue__remove(q, off, size);
            q->dropped++;
            return;
        }
        off += size;
    }
}

enum fw_queue_status fw_queue_push(struct fw_queue *q, enum fw_queue_priority priority,
                                   const char *topic, size_t topic_len, const uint8_t *payload,
                                   size_t payload_len)
{
    size_t room, size;
    bool dropped = false;
    uint8_t *r;
    enum fw_queue_status st;
    if (q == NULL || topic == NULL || topic_len == 0 || (payload == NULL && payload_len > 0) ||
        priority > FW_QUEUE_HIGH)
        return FW_QUEUE_BAD_ARG;
    room = q->cap - FW_QUEUE_HEADER;
    if (topic_len > 0xFFFFu || payload_len > 0xFFFFu ||
        FW_QUEUE_RECORD_OVERHEAD + topic_len + payload_len > room)
        return FW_QUEUE_TOO_LARGE;
    size = FW_QUEUE_RECORD_OVERHEAD + topic_len + payload_len;
    if (q->used - fw_queue__low_bytes(q) + size > room)
        return FW_QUEUE_FULL; /* dropping every low-priority event would not be enough */
    while (q->used + size > room) {
        fw_queue__drop_oldest_low(q);
        dropped = true;
    }
    r = fw_queue__records(q) + q->used;
    r[0] = (uint8_t)priority;
    r[1] = (uint8_t)topic_len;
    r[2] = (uint8_t)(topic_len >> 8);
    r[3] = (uint8_t)payload_len;
    r[4] = (uint8_t)(payload_len >> 8);
    memcpy(r + FW_QUEUE_RECORD_OVERHEAD, topic, topic_len);
    if (payload_len > 0)
        memcpy(r + FW_QUEUE_RECORD_OVERHEAD + topic_len, payload, payload_len);
    q->used += size;
    q->count++;
    st = fw_queue__save(q);
    if (st != FW_QUEUE_OK)
        return st;
    return dropped ? FW_QUEUE_DROPPED_OLD : FW_QUEUE_OK;
}

enum fw_queue_status fw_queue_peek(const struct fw_queue *q, struct fw_queue_item *item)
{
    size_t size;
    if (q == NULL || item == NULL)
        return FW_QUEUE_BAD_ARG;
    if (q->count == 0 || !fw_queue__record(q, 0, item, &size))
        return FW_QUEUE_EMPTY;
    return FW_QUEUE_OK;
}

enum fw_queue_status fw_queue_pop(struct fw_queue *q)
{
    struct fw_queue_item item;
    size_t size;
    if (q == NULL)
        return FW_QUEUE_BAD_ARG;
    if (q->count == 0 || !fw_queue__record(q, 0, &item, &size))
        return FW_QUEUE_EMPTY;
    fw_queue__remove(q, 0, size);
    return fw_queue__save(q);
}

uint32_t fw_queue_count(const struct fw_queue *q)
{
    return q->count;
}

uint32_t fw_queue_dropped(const struct fw_queue *q)
{
    return q->dropped;
}

const char *fw_queue_status_str(enum fw_queue_status status)
{
    switch (status) {
    case FW_QUEUE_OK: return "ok";
    case FW_QUEUE_DROPPED_OLD: return "queued, older low-priority events dropped";
    case FW_QUEUE_FULL: return "full";
    case FW_QUEUE_TOO_LARGE: return "event too large";
    case FW_QUEUE_EMPTY: return "empty";
    case FW_QUEUE_CORRUPT: return "stored queue damaged";
    case FW_QUEUE_STORAGE: return "storage error";
    case FW_QUEUE_BAD_ARG: return "bad argument";
    }
    return "unknown status";
}
