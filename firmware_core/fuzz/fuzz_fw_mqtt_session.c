/*
 * fuzz_fw_mqtt_session.c - libFuzzer target for the MQTT session's input:
 * after CONNECT the bytes play the server at a chunk size chosen by the
 * first byte; the session publishes, subscribes and runs its timers while
 * the clock moves, and must keep its in-flight count within the table.
 */
#include <stdlib.h>
#include <string.h>

#include "fw_mqtt_session.h"

static uint32_t clock_ms;
static uint32_t fz_now(void *ctx) { return clock_ms; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static uint8_t tx[512], rx[256];
    struct fw_mqtt_inflight inflight[3];
    struct fw_mqtt_session_config cfg;
    struct fw_mqtt_session s;
    struct fw_mqtt_connect c;
    struct fw_port port;
    const struct fw_mqtt_subscription sub = {"a/#", 1};
    size_t off = 1, chunk, n;
    if (len == 0)
        return 0;
    chunk = (size_t)(data[0] % 16) + 1;
    clock_ms = 0xFFFFF000u;
    memset(&port, 0, sizeof(port));
    port.now_ms = fz_now;
    memset(&cfg, 0, sizeof(cfg));
    cfg.port = &port;
    cfg.tx_buf = tx;
    cfg.tx_cap = sizeof(tx);
    cfg.rx_buf = rx;
    cfg.rx_cap = sizeof(rx);
    cfg.inflight = inflight;
    cfg.inflight_cap = 3;
    if (fw_mqtt_session_init(&s, &cfg) != FW_MQTT_SESSION_OK)
        abort();
    memset(&c, 0, sizeof(c));
    c.client_id = "fuzz";
    c.keep_alive_s = 5;
    c.clean_session = true;
    fw_mqtt_session_connect(&s, &c);
    while (off < len) {
        size_t piece = len - off < chunk ? len - off : chunk;
        fw_mqtt_session_input(&s, data + off, piece);
        off += piece;
        clock_ms += 700;
        fw_mqtt_session_poll(&s);
        if (fw_mqtt_session_state(&s) == FW_MQTT_SESSION_CONNECTED) {
            fw_mqtt_session_publish(&s, "t", 1, data, piece, (uint8_t)(off & 1), NULL);
            fw_mqtt_session_subscribe(&s, &sub, 1, NULL);
        }
        fw_mqtt_session_pending(&s, &n);
        fw_mqtt_session_sent(&s, n / 2 + 1);
        if (fw_mqtt_session_inflight(&s) > 3)
            abort();
    }
    return 0;
}
