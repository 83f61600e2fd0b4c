/*
 * board_port.c - the fw_port of the mps2-an386 board (see board_port.h).
 */
#include <string.h>

#include "board.h"
#include "board_port.h"
#include "p256.h"
#include "port_common.h"

/* The host's clock stands in for a real-time clock the MPS2 does not have,
 * unless the command line gave the start time. */
static uint64_t port_unix_time_s(void *ctx)
{
    const struct board_port *p = ctx;
    if (p->epoch_s == 0)
        return semihost_time();
    return p->epoch_s + board_port_scaled_ms(p) / 1000u;
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
    board_port_common_init(p, max_level);
    p->port.unix_time_s = port_unix_time_s;
    p->port.persist_load = port_persist_load;
    p->port.persist_save = port_persist_save;
    /* random: the MPS2 has no entropy source (back-off without jitter) */
}

uint64_t board_port_time_es256(struct board_port *p, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    size_t sig_len = 0;
    uint64_t start = board_clock_ticks(), end;
    int32_t rc = board_port_sign(p, FW_SIGN_ES256, msg, len, sig, P256_SIGNATURE_LEN, &sig_len);
    end = board_clock_ticks();
    return rc == 0 ? end - start : 0;
}
