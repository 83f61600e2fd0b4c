/*
 * board_port.c - the fw_port of the mps2-an386 board (see board_port.h).
 */
#include <string.h>

#include "board.h"
#include "board_port.h"

/* Longest log line, including the escaped detail. */
#define LOG_LINE_MAX 200u

/* The host's clock stands in for a real-time clock the MPS2 does not have. */
static uint64_t port_unix_time_s(void *ctx)
{
    (void)ctx;
    return semihost_time();
}

static int32_t port_uart_write(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    return (int32_t)board_uart_write(buf, len);
}

static int32_t port_uart_read(void *ctx, uint8_t *buf, size_t cap)
{
    (void)ctx;
    return (int32_t)board_uart_read(buf, cap);
}

static uint32_t port_now_ms(void *ctx)
{
    (void)ctx;
    return board_ms();
}

/* Append text to line[*n], keeping room for the newline and NUL. */
static void put_text(char *line, size_t *n, const char *text)
{
    while (*text != '\0' && *n < LOG_LINE_MAX - 2u)
        line[(*n)++] = *text++;
}

/* Append detail bytes, CR/LF as \r \n and other unprintable bytes as '.'. */
static void put_detail(char *line, size_t *n, const char *detail, size_t len)
{
    size_t i;
    for (i = 0; i < len && *n < LOG_LINE_MAX - 3u; i++) {
        unsigned char c = (unsigned char)detail[i];
        if (c == '\r' || c == '\n') {
            line[(*n)++] = '\\';
            line[(*n)++] = c == '\r' ? 'r' : 'n';
        } else {
            line[(*n)++] = (c >= 0x20u && c < 0x7Fu) ? (char)c : '.';
        }
    }
}

static void port_log(void *ctx, enum fw_log_level level, const char *module, const char *event,
                     const char *detail, size_t detail_len)
{
    static const char *const names[] = {"error ", "warn ", "info ", "debug "};
    struct board_port *p = ctx;
    char line[LOG_LINE_MAX];
    size_t n = 0;
    if (level > p->max_level)
        return;
    put_text(line, &n, "fw ");
    put_text(line, &n, names[level]);
    put_text(line, &n, module);
    put_text(line, &n, ": ");
    put_text(line, &n, event);
    if (detail != NULL && detail_len > 0) {
        put_text(line, &n, " ");
        put_detail(line, &n, detail, detail_len);
    }
    line[n++] = '\n';
    line[n] = '\0';
    semihost_write(line);
}

static struct board_blob *find_blob(struct board_port *p, uint32_t key)
{
    size_t i;
    for (i = 0; i < BOARD_PERSIST_SLOTS; i++)
        if (p->blobs[i].used && p->blobs[i].key == key)
            return &p->blobs[i];
    return NULL;
}

static int32_t port_persist_load(void *ctx, uint32_t key, uint8_t *buf, size_t cap, size_t *len)
{
    const struct board_blob *b = find_blob(ctx, key);
    *len = 0;
    if (b == NULL)
        return 0;
    if (b->len > cap)
        return -1;
    memcpy(buf, b->data, b->len);
    *len = b->len;
    return 0;
}

/* A plain copy: the blobs live only as long as the QEMU run, and a reset in the
 * middle of a copy (the only way to tear it) is caught by the queue's CRC. */
static int32_t port_persist_save(void *ctx, uint32_t key, const uint8_t *buf, size_t len)
{
    struct board_port *p = ctx;
    struct board_blob *b = find_blob(p, key);
    size_t i;
    if (len > BOARD_PERSIST_BLOB_MAX)
        return -1;
    for (i = 0; b == NULL && i < BOARD_PERSIST_SLOTS; i++)
        if (!p->blobs[i].used)
            b = &p->blobs[i];
    if (b == NULL)
        return -1;
    memcpy(b->data, buf, len);
    b->key = key;
    b->len = (uint32_t)len;
    b->used = 1;
    return 0;
}

void board_port_init(struct board_port *p, enum fw_log_level max_level)
{
    memset(p, 0, sizeof(*p));
    p->max_level = max_level;
    p->port.ctx = p;
    p->port.uart_write = port_uart_write;
    p->port.uart_read = port_uart_read;
    p->port.now_ms = port_now_ms;
    p->port.unix_time_s = port_unix_time_s;
    p->port.log = port_log;
    p->port.persist_load = port_persist_load;
    p->port.persist_save = port_persist_save;
    /* random and sign: not on this board yet (no jitter in back-off; no GCP JWT) */
}
