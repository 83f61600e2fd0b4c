/*
 * fuzz_fw_at.c - libFuzzer target for the AT client engine's input: the
 * fuzzer's bytes play the modem's UART while commands with prompts and
 * two-phase answers run, URC handlers request counted raw reads, and the
 * clock moves. The first byte chooses the read size.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fw_at.h"

struct fuzz_port {
    const uint8_t *data;
    size_t len, off, chunk;
    uint32_t now;
};

static int32_t fz_write(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    return len > 5 ? 5 : (int32_t)len;
}

static int32_t fz_read(void *ctx, uint8_t *buf, size_t cap)
{
    struct fuzz_port *p = ctx;
    size_t n = p->len - p->off;
    if (n > p->chunk)
        n = p->chunk;
    if (n > cap)
        n = cap;
    memcpy(buf, p->data + p->off, n);
    p->off += n;
    p->now += 97; /* time passes with traffic, crossing the wrap */
    return (int32_t)n;
}

static uint32_t fz_now(void *ctx)
{
    return ((struct fuzz_port *)ctx)->now;
}

static void sink(void *ctx, const uint8_t *data, size_t len)
{
    volatile uint8_t x = 0;
    size_t i;
    (void)ctx;
    for (i = 0; i < len; i++)
        x ^= data[i]; /* touch every byte so ASan checks the range */
}

static bool urc_counted(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    int32_t n;
    if (fw_at_arg_int(line, len, 1, &n) && n >= 0 && n < 20000)
        fw_at_read_raw(at, (size_t)n, sink, ctx);
    return true;
}

static void on_line(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    char buf[16];
    int32_t n;
    if (fw_at_arg_str(line, len, 0, buf, sizeof(buf), NULL) && buf[0] == '2' &&
        fw_at_arg_int(line, len, 2, &n) && n >= 0 && n < 20000)
        fw_at_read_raw(at, (size_t)n, sink, ctx);
}

static const struct fw_at_urc urcs[] = {
    {"+CMQTTRXTOPIC:", urc_counted},
    {"+CMQTTRXPAYLOAD:", urc_counted},
    {"+CMQTTRX", urc_counted},
    {"+CREG", urc_counted},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static const uint8_t payload[] = "0123456789";
    static const char *cmds[] = {"AT+CIPRXGET=2,0", "AT+CIPSEND=0,10", "AT+CMQTTSTART"};
    struct fuzz_port fp;
    struct fw_port port;
    struct fw_at at;
    struct fw_at_config cfg;
    char line[64], tx[64];
    unsigned round = 0, spins = 0;

    if (len == 0)
        return 0;
    memset(&fp, 0, sizeof(fp));
    fp.data = data + 1;
    fp.len = len - 1;
    fp.chunk = (size_t)(data[0] % 70) + 1;
    fp.now = 0xFFFFF000u;
    memset(&port, 0, sizeof(port));
    port.ctx = &fp;
    port.uart_write = fz_write;
    port.uart_read = fz_read;
    port.now_ms = fz_now;
    memset(&cfg, 0, sizeof(cfg));
    cfg.port = &port;
    cfg.line_buf = line;
    cfg.line_cap = sizeof(line);
    cfg.tx_buf = tx;
    cfg.tx_cap = sizeof(tx);
    cfg.urcs = urcs;
    cfg.n_urcs = sizeof(urcs) / sizeof(urcs[0]);
    if (fw_at_init(&at, &cfg) != FW_AT_IDLE)
        return 0;
    while (fp.off < fp.len && spins++ < 100000u) {
        enum fw_at_status s = fw_at_poll(&at);
        if (s != FW_AT_IN_PROGRESS) {
            struct fw_at_request req;
            memset(&req, 0, sizeof(req));
            req.cmd = cmds[round % 3];
            if (round % 3 == 1) {
                req.data = payload;
                req.data_len = 10;
            }
            if (round % 3 == 2)
                req.await_line = "+CMQTTSTART:";
            req.on_line = on_line;
            req.timeout_ms = 500;
            fw_at_send(&at, &req);
            round++;
        }
    }
    return 0;
}
