/*
 * board_port.c - the fw_port of the nRF52840 board (see board_port.h).
 */
#include "board.h"
#include "board_api.h"
#include "board_port.h"
#include "port_common.h"

static uint64_t port_unix_time_s(void *ctx)
{
    const struct board_port *p = ctx;
    return p->epoch_s == 0 ? 0 : p->epoch_s + board_port_scaled_ms(p) / 1000u;
}

static int32_t port_random(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    board_rng_fill(buf, len);
    return 0;
}

static int32_t port_persist_load(void *ctx, uint32_t key, uint8_t *buf, size_t cap, size_t *len)
{
    (void)ctx;
    return nvmc_store_load(key, buf, cap, len);
}

static int32_t port_persist_save(void *ctx, uint32_t key, const uint8_t *buf, size_t len)
{
    (void)ctx;
    return nvmc_store_save(key, buf, len);
}

void board_port_init(struct board_port *p, enum fw_log_level max_level)
{
    board_port_common_init(p, max_level);
    p->port.unix_time_s = port_unix_time_s;
    p->port.random = port_random;
    p->port.persist_load = port_persist_load;
    p->port.persist_save = port_persist_save;
}
