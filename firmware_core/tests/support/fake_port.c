/* fake_port.c - the host-test platform for firmware_core (see fake_port.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_port.h"

const size_t fake_chunk_sizes[5] = {1, 2, 7, 64, 0};

static int32_t fake_write(void *ctx, const uint8_t *buf, size_t len)
{
    struct fake_port *f = ctx;
    if (f->link_dead)
        return -1;
    if (f->write_cap > 0 && len > f->write_cap)
        len = f->write_cap;
    if (len > FAKE_TX_CAP - f->tx_len)
        len = FAKE_TX_CAP - f->tx_len;
    memcpy(f->tx + f->tx_len, buf, len);
    f->tx_len += len;
    return (int32_t)len;
}

static int32_t fake_read(void *ctx, uint8_t *buf, size_t cap)
{
    struct fake_port *f = ctx;
    size_t n = f->rx_len - f->rx_off;
    if (f->link_dead)
        return -1;
    if (f->read_chunk > 0 && n > f->read_chunk)
        n = f->read_chunk;
    if (n > cap)
        n = cap;
    memcpy(buf, f->rx + f->rx_off, n);
    f->rx_off += n;
    return (int32_t)n;
}

static uint32_t fake_now(void *ctx)
{
    return ((struct fake_port *)ctx)->now;
}

static uint64_t fake_unix(void *ctx)
{
    return ((struct fake_port *)ctx)->unix_time;
}

static void fake_log(void *ctx, enum fw_log_level level, const char *module, const char *event,
                     const char *detail, size_t detail_len)
{
    struct fake_port *f = ctx;
    f->log_lines++;
    if (getenv("FAKE_PORT_LOG") != NULL)
        fprintf(stderr, "[%d] %s: %s %.*s\n", (int)level, module, event, (int)detail_len,
                detail != NULL ? detail : "");
}

static int32_t fake_random(void *ctx, uint8_t *buf, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 37u + 11u);
    return 0;
}

static int32_t fake_sign(void *ctx, enum fw_sign_alg alg, const uint8_t *msg, size_t len,
                         uint8_t *sig, size_t cap, size_t *sig_len)
{
    struct fake_port *f = ctx;
    if (f->signer == NULL)
        return -1;
    return f->signer(f->signer_ctx, alg, msg, len, sig, cap, sig_len);
}

static int32_t fake_load(void *ctx, uint32_t key, uint8_t *buf, size_t cap, size_t *len)
{
    struct fake_port *f = ctx;
    if (f->store_fail || key >= 4 || f->store_len[key] > cap)
        return -1;
    memcpy(buf, f->store[key], f->store_len[key]);
    *len = f->store_len[key];
    return 0;
}

static int32_t fake_save(void *ctx, uint32_t key, const uint8_t *buf, size_t len)
{
    struct fake_port *f = ctx;
    if (f->store_fail || key >= 4 || len > sizeof(f->store[0]))
        return -1;
    memcpy(f->store[key], buf, len);
    f->store_len[key] = len;
    f->saves++;
    return 0;
}

void fake_port_init(struct fake_port *f, size_t read_chunk, size_t write_cap)
{
    memset(f, 0, sizeof(*f));
    f->port.ctx = f;
    f->port.uart_write = fake_write;
    f->port.uart_read = fake_read;
    f->port.now_ms = fake_now;
    f->port.unix_time_s = fake_unix;
    f->port.log = fake_log;
    f->port.random = fake_random;
    f->port.sign = fake_sign;
    f->port.persist_load = fake_load;
    f->port.persist_save = fake_save;
    f->now = 0xFFFFF000u; /* near the wrap, so every test crosses it */
    f->unix_time = 1700000000u;
    f->read_chunk = read_chunk;
    f->write_cap = write_cap;
}

void fake_port_push(struct fake_port *f, const void *data, size_t len)
{
    if (f->rx_off == f->rx_len)
        f->rx_off = f->rx_len = 0;
    assert_true(len <= FAKE_RX_CAP - f->rx_len);
    memcpy(f->rx + f->rx_len, data, len);
    f->rx_len += len;
}

void fake_port_push_str(struct fake_port *f, const char *s)
{
    fake_port_push(f, s, strlen(s));
}

bool fake_port_expect_tx(struct fake_port *f, const void *expect, size_t len)
{
    if (f->tx_len - f->tx_checked < len || memcmp(f->tx + f->tx_checked, expect, len) != 0) {
        print_error("TX mismatch: expected \"%.*s\", written \"%.*s\"\n", (int)len,
                    (const char *)expect, (int)(f->tx_len - f->tx_checked),
                    (const char *)f->tx + f->tx_checked);
        return false;
    }
    f->tx_checked += len;
    return true;
}

void fake_port_deliver(struct fake_port *f, struct fw_at *at)
{
    unsigned guard = 0;
    if (f->read_chunk == 0) {
        size_t n = f->rx_len - f->rx_off;
        f->rx_off = f->rx_len;
        fw_at_feed(at, f->rx + f->rx_len - n, n);
        fw_at_poll(at);
        return;
    }
    while (f->rx_off < f->rx_len && guard++ < 1000000u)
        fw_at_poll(at);
    fw_at_poll(at);
}

void fake_port_advance(struct fake_port *f, uint32_t ms)
{
    f->now += ms;
    f->unix_time += ms / 1000u;
}

void fake_port_run(struct fake_port *f, struct fw_at *at, const struct fake_step *steps, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned spins;
        if (steps[i].tx != NULL) {
            size_t want = strlen(steps[i].tx);
            for (spins = 0; spins < 10000u && f->tx_len - f->tx_checked < want; spins++)
                fw_at_poll(at);
            assert_true(fake_port_expect_tx(f, steps[i].tx, want));
        }
        if (steps[i].rx != NULL) {
            size_t len = steps[i].rx_len > 0 ? steps[i].rx_len : strlen(steps[i].rx);
            fake_port_push(f, steps[i].rx, len);
            fake_port_deliver(f, at);
        }
    }
}

void fake_sim7600_init(struct fw_sim7600 *modem, struct fake_port *f, char *line, size_t line_cap,
                       char *tx, size_t tx_cap, char *topic, size_t topic_cap, uint8_t *payload,
                       size_t payload_cap, fw_sim7600_message_fn on_message, void *ctx)
{
    struct fw_sim7600_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.port = &f->port;
    cfg.line_buf = line;
    cfg.line_cap = line_cap;
    cfg.tx_buf = tx;
    cfg.tx_cap = tx_cap;
    cfg.topic_buf = topic;
    cfg.topic_cap = topic_cap;
    cfg.payload_buf = payload;
    cfg.payload_cap = payload_cap;
    cfg.on_message = on_message;
    cfg.ctx = ctx;
    assert_int_equal(fw_sim7600_init(modem, &cfg), FW_AT_IDLE);
}

bool fake_port_take_line(struct fake_port *f, char *line, size_t cap)
{
    const uint8_t *p = f->tx + f->tx_checked;
    const uint8_t *cr = memchr(p, '\r', f->tx_len - f->tx_checked);
    if (cr == NULL)
        return false;
    assert_true((size_t)(cr - p) < cap);
    memcpy(line, p, (size_t)(cr - p));
    line[cr - p] = '\0';
    f->tx_checked += (size_t)(cr - p) + 1;
    return true;
}
