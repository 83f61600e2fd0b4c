/* Growable byte buffers used for the UART queues and responses. */
#include "sim_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void buf_reserve(struct sim_buf *b, size_t extra)
{
    if (b->head > 0 && b->head == b->len) {
        b->head = 0;
        b->len = 0;
    }
    if (b->len + extra <= b->cap) {
        return;
    }
    if (b->head > 0 && b->head >= b->cap / 2) {
        memmove(b->data, b->data + b->head, b->len - b->head);
        b->len -= b->head;
        b->head = 0;
        if (b->len + extra <= b->cap) {
            return;
        }
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) {
        cap *= 2;
    }
    uint8_t *data = realloc(b->data, cap);
    if (data == NULL) {
        abort(); /* the simulator cannot answer like a modem without memory */
    }
    b->data = data;
    b->cap = cap;
}

void sim_buf_put(struct sim_buf *b, const void *data, size_t len)
{
    if (len == 0) {
        return;
    }
    buf_reserve(b, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

/* Room a formatted append is first tried in: most lines fit, and then vsnprintf runs once. */
#define BUF_PRINTF_TRY 128

void sim_buf_vprintf(struct sim_buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    buf_reserve(b, BUF_PRINTF_TRY);
    size_t room = b->cap - b->len;
    int n = vsnprintf((char *)b->data + b->len, room, fmt, copy);
    va_end(copy);
    if (n <= 0) {
        return;
    }
    if ((size_t)n >= room) {
        /* too long for the first try: make room for all of it and format again */
        buf_reserve(b, (size_t)n + 1);
        vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    }
    b->len += (size_t)n;
}

void sim_buf_printf(struct sim_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sim_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

size_t sim_buf_used(const struct sim_buf *b)
{
    return b->len - b->head;
}

size_t sim_buf_take(struct sim_buf *b, void *out, size_t cap)
{
    size_t n = sim_buf_used(b);
    if (n > cap) {
        n = cap;
    }
    if (n > 0) {
        memcpy(out, b->data + b->head, n);
        b->head += n;
    }
    if (b->head == b->len) {
        b->head = 0;
        b->len = 0;
    }
    return n;
}

void sim_buf_clear(struct sim_buf *b)
{
    b->head = 0;
    b->len = 0;
}

void sim_buf_free(struct sim_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}
