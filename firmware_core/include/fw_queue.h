/*
 * fw_queue.h - the bounded offline queue of events that could not be sent:
 * records (priority, topic, payload) kept in order in a caller buffer and
 * saved through the port's persistent storage after every change, so a
 * reboot loses nothing. When a new event does not fit, the oldest
 * low-priority events are dropped to make room (and counted); when only
 * high-priority events are queued, the new event is refused instead.
 *
 * Stored form: "FWQ1", record count, used bytes, dropped counter, CRC-32
 * of the records; each record: priority, topic length, payload length
 * (little-endian 16-bit), topic, payload.
 */
#ifndef FW_QUEUE_H
#define FW_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_port.h"

/* Bytes of the stored header in front of the records. */
#define FW_QUEUE_HEADER 20u
/* Bytes of a record besides its topic and payload. */
#define FW_QUEUE_RECORD_OVERHEAD 5u

/* Priority of an event. */
enum fw_queue_priority {
    FW_QUEUE_LOW = 0,            /* may be dropped when the queue is full */
    FW_QUEUE_HIGH = 1            /* never dropped to make room */
};

/* Status of the queue functions. */
enum fw_queue_status {
    FW_QUEUE_OK = 0,
    FW_QUEUE_DROPPED_OLD,        /* queued, after dropping older low-priority events */
    FW_QUEUE_FULL,               /* refused: only high-priority events to drop */
    FW_QUEUE_TOO_LARGE,          /* the record could never fit the buffer */
    FW_QUEUE_EMPTY,              /* nothing queued */
    FW_QUEUE_CORRUPT,            /* the stored queue was damaged: started empty */
    FW_QUEUE_STORAGE,            /* the port failed to load or save */
    FW_QUEUE_BAD_ARG
};

/* One queued event (pointers into the queue's buffer, valid until the next
 * change). */
struct fw_queue_item {
    enum fw_queue_priority priority;
    const char *topic;
    size_t topic_len;
    const uint8_t *payload;
    size_t payload_len;
};

/* Queue state. Allocated by the caller; fields are private. */
struct fw_queue {
    const struct fw_port *port;
    uint32_t key;                /* persistent storage key */
    uint8_t *buf;                /* header + records */
    size_t cap;
    size_t used;                 /* bytes of records */
    uint32_t count;
    uint32_t dropped;            /* low-priority events dropped for room, ever */
};

/* Bind q to buf (capacity cap, at least FW_QUEUE_HEADER + 16) and load what
 * was saved under key. Returns FW_QUEUE_OK, FW_QUEUE_CORRUPT (started
 * empty), FW_QUEUE_STORAGE (load failed; started empty) or FW_QUEUE_BAD_ARG. */
enum fw_queue_status fw_queue_init(struct fw_queue *q, const struct fw_port *port, uint32_t key,
                                   uint8_t *buf, size_t cap);

/* Append an event and save. */
enum fw_queue_status fw_queue_push(struct fw_queue *q, enum fw_queue_priority priority,
                                   const char *topic, size_t topic_len, const uint8_t *payload,
                                   size_t payload_len);

/* The oldest event, without removing it. */
enum fw_queue_status fw_queue_peek(const struct fw_queue *q, struct fw_queue_item *item);

/* Remove the oldest event and save. */
enum fw_queue_status fw_queue_pop(struct fw_queue *q);

/* Events queued. */
uint32_t fw_queue_count(const struct fw_queue *q);

/* Low-priority events dropped to make room since the queue was first made. */
uint32_t fw_queue_dropped(const struct fw_queue *q);

/* Human-readable name of a status; never NULL. */
const char *fw_queue_status_str(enum fw_queue_status status);

#endif /* FW_QUEUE_H */
