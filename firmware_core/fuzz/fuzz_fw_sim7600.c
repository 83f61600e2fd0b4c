/*
 * fuzz_fw_sim7600.c - libFuzzer target for the SIM7600 URC layer: the bytes
 * play the modem (at a read size chosen by the first byte) while commands
 * run; message blocks are reassembled into small buffers, and every
 * delivered message must lie within them.
 */
#include <stdlib.h>
#include <string.h>

#include "fw_sim7600.h"

struct fuzz_port {
    const uint8_t *data;
    size_t len, off, chunk;
    uint32_t now;
};

static int32_t fz_write(void *ctx, const uint8_t *buf, size_t len) { return (int32_t)len; }

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
    p->now += 131;
    return (int32_t)n;
}

static uint32_t fz_now(void *ctx) { return ((struct fuzz_port *)ctx)->now; }

static void on_message(void *ctx, int client, const char *topic, size_t topic_len,
                       const uint8_t *payload, size_t payload_len)
{
    if (strlen(topic) != topic_len || topic_len >= 32 || payload_len > 64)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct fuzz_port fp;
    struct fw_port port;
    struct fw_sim7600 d;
    struct fw_sim7600_config cfg;
    char line[80], tx[32], topic[32];
    uint8_t payload[64];
    unsigned spins = 0;
    if (len == 0)
        return 0;
    memset(&fp, 0, sizeof(fp));
    fp.data = data + 1;
    fp.len = len - 1;
    fp.chunk = (size_t)(data[0] % 40) + 1;
    memset(&port, 0, sizeof(port));
    port.ctx = &fp;
    port.uart_read = fz_read;
    port.uart_write = fz_write;
    port.now_ms = fz_now;
    memset(&cfg, 0, sizeof(cfg));
    cfg.port = &port;
    cfg.line_buf = line;
    cfg.line_cap = sizeof(line);
    cfg.tx_buf = tx;
    cfg.tx_cap = sizeof(tx);
    cfg.topic_buf = topic;
    cfg.topic_cap = sizeof(topic);
    cfg.payload_buf = payload;
    cfg.payload_cap = sizeof(payload);
    cfg.on_message = on_message;
    if (fw_sim7600_init(&d, &cfg) != FW_AT_IDLE)
        return 0;
    while (fp.off < fp.len && spins++ < 100000u) {
        struct fw_at *at = fw_sim7600_at(&d);
        if (fw_at_poll(at) != FW_AT_IN_PROGRESS) {
            struct fw_at_request req;
            memset(&req, 0, sizeof(req));
            req.cmd = "AT+CGREG?";
            req.timeout_ms = 700;
            fw_at_send(at, &req);
        }
        fw_sim7600_take_events(&d);
    }
    return 0;
}
