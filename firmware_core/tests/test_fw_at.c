/*
 * test_fw_at.c - the AT client engine against golden modem transcripts, each
 * replayed at read sizes 1, 2, 7, 64 and whole, with writes capped at 8
 * bytes; plus URCs, raw reads, prompts, timeouts across the clock wrap,
 * garbage and truncated modem output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_port.h"
#include "fw_at.h"

/* ---- a test rig: fake port + engine + a recorder for lines and URCs ---- */

struct recorder {
    char lines[2048];          /* information lines, each followed by '|' */
    size_t lines_len;
    char urcs[2048];           /* URC lines, each followed by '|' */
    size_t urcs_len;
    uint8_t raw[4096];         /* raw bytes received by the sinks */
    size_t raw_len;
    /* +CMQTTRX block collector */
    bool in_block;
    int32_t topic_total, payload_total;
    char topic[256];
    size_t topic_len;
    uint8_t payload[4096];
    size_t payload_len;
    unsigned messages;
};

struct rig {
    struct fake_port fake;
    struct fw_at at;
    char line_buf[128];
    char tx_buf[128];
    struct recorder rec;
};

static void append(char *dst, size_t *len, size_t cap, const char *s, size_t n)
{
    assert_true(*len + n + 1 < cap);
    memcpy(dst + *len, s, n);
    *len += n;
    dst[(*len)++] = '|';
    dst[*len] = '\0';
}

static void raw_to_recorder(void *ctx, const uint8_t *data, size_t len)
{
    struct recorder *r = ctx;
    assert_true(r->raw_len + len <= sizeof(r->raw));
    memcpy(r->raw + r->raw_len, data, len);
    r->raw_len += len;
}

static void topic_sink(void *ctx, const uint8_t *data, size_t len)
{
    struct recorder *r = ctx;
    assert_true(r->topic_len + len < sizeof(r->topic));
    memcpy(r->topic + r->topic_len, data, len);
    r->topic_len += len;
}

static void payload_sink(void *ctx, const uint8_t *data, size_t len)
{
    struct recorder *r = ctx;
    assert_true(r->payload_len + len <= sizeof(r->payload));
    memcpy(r->payload + r->payload_len, data, len);
    r->payload_len += len;
}

static bool urc_record(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    struct recorder *r = ctx;
    append(r->urcs, &r->urcs_len, sizeof(r->urcs), line, len);
    return true;
}

/* Only "+CIPRXGET: 1,<link>" is unsolicited; "+CIPRXGET: 2,..." is a response. */
static bool urc_ciprxget(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    int32_t mode;
    if (!fw_at_arg_int(line, len, 0, &mode) || mode != 1)
        return false;
    return urc_record(ctx, at, line, len);
}

/* The +CMQTTRXSTART/TOPIC/PAYLOAD/END block, read by length. */
static bool urc_mqtt_rx(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    struct recorder *r = ctx;
    int32_t n;
    if (strncmp(line, "+CMQTTRXSTART:", 14) == 0) {
        r->in_block = true;
        r->topic_len = r->payload_len = 0;
        assert_true(fw_at_arg_int(line, len, 1, &r->topic_total));
        assert_true(fw_at_arg_int(line, len, 2, &r->payload_total));
    } else if (strncmp(line, "+CMQTTRXTOPIC:", 14) == 0 && r->in_block) {
        assert_true(fw_at_arg_int(line, len, 1, &n));
        fw_at_read_raw(at, (size_t)n, topic_sink, r);
    } else if (strncmp(line, "+CMQTTRXPAYLOAD:", 16) == 0 && r->in_block) {
        assert_true(fw_at_arg_int(line, len, 1, &n));
        fw_at_read_raw(at, (size_t)n, payload_sink, r);
    } else if (strncmp(line, "+CMQTTRXEND:", 12) == 0 && r->in_block) {
        r->in_block = false;
        assert_int_equal(r->topic_len, r->topic_total);
        assert_int_equal(r->payload_len, r->payload_total);
        r->messages++;
    } else {
        return false;
    }
    return true;
}

static const struct fw_at_urc test_urcs[] = {
    {"+CMQTTRX", urc_mqtt_rx},
    {"+CIPRXGET:", urc_ciprxget},
    {"+CREG:", urc_record},
    {"+CMQTTCONNLOST:", urc_record},
    {"RDY", urc_record},
};

static void on_line_record(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    struct recorder *r = ctx;
    append(r->lines, &r->lines_len, sizeof(r->lines), line, len);
}

/* +CIPRXGET: 2,<link>,<read_len>,<rest_len> is followed by read_len raw bytes */
static void on_line_ciprxget(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    int32_t mode, n;
    on_line_record(ctx, at, line, len);
    if (fw_at_arg_int(line, len, 0, &mode) && mode == 2 && fw_at_arg_int(line, len, 2, &n))
        fw_at_read_raw(at, (size_t)n, raw_to_recorder, ctx);
}

static void rig_init(struct rig *r, size_t chunk)
{
    struct fw_at_config cfg;
    memset(r, 0, sizeof(*r));
    fake_port_init(&r->fake, chunk, 8);
    memset(&cfg, 0, sizeof(cfg));
    cfg.port = &r->fake.port;
    cfg.line_buf = r->line_buf;
    cfg.line_cap = sizeof(r->line_buf);
    cfg.tx_buf = r->tx_buf;
    cfg.tx_cap = sizeof(r->tx_buf);
    cfg.urcs = test_urcs;
    cfg.n_urcs = sizeof(test_urcs) / sizeof(test_urcs[0]);
    cfg.urc_ctx = &r->rec;
    assert_int_equal(fw_at_init(&r->at, &cfg), FW_AT_IDLE);
}

static enum fw_at_status rig_send(struct rig *r, const char *cmd, const char *await)
{
    struct fw_at_request req;
    memset(&req, 0, sizeof(req));
    req.cmd = cmd;
    req.await_line = await;
    req.on_line = on_line_record;
    req.ctx = &r->rec;
    req.timeout_ms = 3000;
    return fw_at_send(&r->at, &req);
}

/* ---- transcripts --------------------------------------------------------- */

static void test_ok_with_echo(void **state)
{
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        const struct fake_step steps[] = {{"AT\r", "AT\r\r\nOK\r\n", 0}};
        rig_init(&r, fake_chunk_sizes[c]);
        assert_int_equal(rig_send(&r, "AT", NULL), FW_AT_IN_PROGRESS);
        fake_port_run(&r.fake, &r.at, steps, 1);
        assert_int_equal(fw_at_poll(&r.at), FW_AT_OK);
        assert_int_equal(r.rec.lines_len, 0); /* the echo is not an information line */
        assert_int_equal(fw_at_stats(&r.at)->unhandled, 0);
    }
}

static void test_information_lines(void **state)
{
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        const struct fake_step steps[] = {
            {"ATI\r", "\r\nManufacturer: SIMCOM INCORPORATED\r\nModel: SIMCOM_SIM7600E\r\n"
                      "Revision: SIM7600M21-A_V1.1\r\n\r\nOK\r\n", 0},
        };
        rig_init(&r, fake_chunk_sizes[c]);
        assert_int_equal(rig_send(&r, "ATI", NULL), FW_AT_IN_PROGRESS);
        fake_port_run(&r.fake, &r.at, steps, 1);
        assert_int_equal(fw_at_poll(&r.at), FW_AT_OK);
        assert_string_equal(r.rec.lines, "Manufacturer: SIMCOM INCORPORATED|Model: SIMCOM_SIM7600E|"
                                          "Revision: SIM7600M21-A_V1.1|");
    }
}

static void test_error_codes(void **state)
{
    static const struct {
        const char *rx;
        enum fw_at_status status;
        int32_t code;
    } cases[] = {
        {"\r\nERROR\r\n", FW_AT_ERROR, -1},
        {"\r\n+CME ERROR: 10\r\n", FW_AT_CME_ERROR, 10},
        {"\r\n+CME ERROR: SIM not inserted\r\n", FW_AT_CME_ERROR, -1},
        {"\r\n+CMS ERROR: 500\r\n", FW_AT_CMS_ERROR, 500},
    };
    size_t i, c;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (c = 0; c < 5; c++) {
            struct rig r;
            const struct fake_step steps[] = {{"AT+CPIN?\r", cases[i].rx, 0}};
            rig_init(&r, fake_chunk_sizes[c]);
            assert_int_equal(rig_send(&r, "AT+CPIN?", NULL), FW_AT_IN_PROGRESS);
            fake_port_run(&r.fake, &r.at, steps, 1);
            assert_int_equal(fw_at_poll(&r.at), cases[i].status);
            assert_int_equal(fw_at_result(&r.at)->error_code, cases[i].code);
        }
    }
}

/* AT+CMQTTSTART: the manual shows OK first, real SIM7600E logs the line first */
static void test_two_phase_either_order(void **state)
{
    static const char *orders[] = {
        "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n",
        "\r\n+CMQTTSTART: 0\r\n\r\nOK\r\n",
    };
    size_t o, c;
    for (o = 0; o < 2; o++) {
        for (c = 0; c < 5; c++) {
            struct rig r;
            const struct fake_step steps[] = {{"AT+CMQTTSTART\r", orders[o], 0}};
            rig_init(&r, fake_chunk_sizes[c]);
            assert_int_equal(rig_send(&r, "AT+CMQTTSTART", "+CMQTTSTART:"), FW_AT_IN_PROGRESS);
            fake_port_run(&r.fake, &r.at, steps, 1);
            assert_int_equal(fw_at_poll(&r.at), FW_AT_OK);
            assert_int_equal(fw_at_result(&r.at)->await_value, 0);
            assert_string_equal(r.rec.lines, "+CMQTTSTART: 0|");
        }
    }
}

static void test_two_phase_waits_for_line(void **state)
{
    struct rig r;
    rig_init(&r, 7);
    assert_int_equal(rig_send(&r, "AT+CMQTTCONNECT=0,\"tcp://h:8883\",60,1", "+CMQTTCONNECT:"),
                     FW_AT_IN_PROGRESS);
    fake_port_push_str(&r.fake, "\r\nOK\r\n");
    fake_port_deliver(&r.fake, &r.at);
    assert_int_equal(fw_at_poll(&r.at), FW_AT_IN_PROGRESS);
    /* a URC in between does not complete it */
    fake_port_push_str(&r.fake, "\r\n+CREG: 1\r\n");
    fake_port_deliver(&r.fake, &r.at);
    assert_int_equal(fw_at_poll(&r.at), FW_AT_IN_PROGRESS);
    fake_port_advance(&r.fake, 2000);
    fake_port_push_str(&r.fake, "\r\n+CMQTTCONNECT: 0,26\r\n");
    fake_port_deliver(&r.fake, &r.at);
    assert_int_equal(fw_at_poll(&r.at), FW_AT_OK);
    assert_int_equal(fw_at_result(&r.at)->await_value, 26);
    assert_string_equal(r.rec.urcs, "+CREG: 1|");
}

/* A modem left running by a previous MCU run: CMQTTSTART answers 23 then ERROR */
static void test_two_phase_error_keeps_value(void **state)
{
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        const struct fake_step steps[] = {{"AT+CMQTTSTART\r", "\r\n+CMQTTSTART: 23\r\n\r\nERROR\r\n", 0}};
        rig_init(&r, fake_chunk_sizes[c]);
        assert_int_equal(rig_send(&r, "AT+CMQTTSTART", "+CMQTTSTART:"), FW_AT_IN_PROGRESS);
        fake_port_run(&r.fake, &r.at, steps, 1);
        assert_int_equal(fw_at_poll(&r.at), FW_AT_ERROR);
        assert_int_equal(fw_at_result(&r.at)->await_value, 23);
    }
}

static void run_prompt(size_t chunk, const char *prompt, enum fw_at_status want)
{
    static const uint8_t data[] = {'h', 0x00, '\r', '\n', 0x1a, 'O', 'K'};
    struct rig r;
    struct fw_at_request req;
    rig_init(&r, chunk);
    memset(&req, 0, sizeof(req));
    req.cmd = "AT+CIPSEND=0,7";
    req.data = data;
    req.data_len = sizeof(data);
    req.await_line = "+CIPSEND:";
    req.on_line = on_line_record;
    req.ctx = &r.rec;
    assert_int_equal(fw_at_send(&r.at, &req), FW_AT_IN_PROGRESS);
    {
        const struct fake_step steps[] = {{"AT+CIPSEND=0,7\r", prompt, 0}};
        fake_port_run(&r.fake, &r.at, steps, 1);
    }
    if (want != FW_AT_OK) {
        assert_int_equal(fw_at_poll(&r.at), want);
        assert_int_equal(r.fake.tx_len, r.fake.tx_checked); /* no data went out */
        return;
    }
    assert_int_equal(fw_at_poll(&r.at), FW_AT_IN_PROGRESS);
    assert_true(fake_port_expect_tx(&r.fake, data, sizeof(data)));
    {
        const struct fake_step steps[] = {{NULL, "\r\nOK\r\n\r\n+CIPSEND: 0,7,7\r\n", 0}};
        fake_port_run(&r.fake, &r.at, steps, 1);
    }
    assert_int_equal(fw_at_poll(&r.at), FW_AT_OK);
    assert_int_equal(fw_at_result(&r.at)->await_value, 7);
    assert_string_equal(r.rec.lines, "+CIPSEND: 0,7,7|");
}

static void test_prompt_then_raw_data(void **state)
{
    size_t c;
    for (c = 0; c < 5; c++) {
        run_prompt(fake_chunk_sizes[c], "\r\n>", FW_AT_OK);
        run_prompt(fake_chunk_sizes[c], "\r\n> ", FW_AT_OK);
        run_prompt(fake_chunk_sizes[c], "AT+CIPSEND=0,7\r>", FW_AT_OK); /* echo on */
        run_prompt(fake_chunk_sizes[c], "\r\nERROR\r\n", FW_AT_ERROR);
        run_prompt(fake_chunk_sizes[c], "\r\nOK\r\n", FW_AT_NO_PROMPT);
    }
}

/* URCs before, between echo and OK, and after; an MQTT message block with
 * CR, LF and "OK" inside its payload arrives in the middle of a command */
static void test_urcs_and_rx_block_inside_command(void **state)
{
    static const char rx[] =
        "AT+CSQ\r"
        "\r\n+CREG: 5\r\n"
        "\r\n+CMQTTRXSTART: 0,9,12\r\n"
        "+CMQTTRXTOPIC: 0,9\r\n/bus/1/cm"
        "\r\n+CMQTTRXPAYLOAD: 0,7\r\n{\"a\":\r\n"
        "\r\n+CMQTTRXPAYLOAD: 0,5\r\nOK\r\n}"
        "\r\n+CMQTTRXEND: 0\r\n"
        "\r\n+CSQ: 23,99\r\n"
        "\r\n+CIPRXGET: 1,0\r\n"
        "\r\nOK\r\n"
        "\r\n+CMQTTCONNLOST: 0,1\r\n";
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        const struct fake_step steps[] = {{"AT+CSQ\r", rx, 0}};
        int32_t rssi;
        rig_init(&r, fake_chunk_sizes[c]);
        assert_int_equal(rig_send(&r, "AT+CSQ", NULL), FW_AT_IN_PROGRESS);
        fake_port_run(&r.fake, &r.at, steps, 1);
        assert_int_equal(fw_at_poll(&r.at), FW_AT_OK);
        assert_string_equal(r.rec.lines, "+CSQ: 23,99|");
        assert_true(fw_at_arg_int(r.rec.lines, 11, 0, &rssi));
        assert_int_equal(rssi, 23);
        assert_string_equal(r.rec.urcs, "+CREG: 5|+CIPRXGET: 1,0|+CMQTTCONNLOST: 0,1|");
        assert_int_equal(r.rec.messages, 1);
        assert_int_equal(r.rec.topic_len, 9);
        assert_memory_equal(r.rec.topic, "/bus/1/cm", 9);
        assert_int_equal(r.rec.payload_len, 12);
        assert_memory_equal(r.rec.payload, "{\"a\":\r\nOK\r\n}", 12);
        assert_int_equal(fw_at_stats(&r.at)->unhandled, 0);
    }
}

/* +CIPRXGET: 2 response followed by exactly read_len raw bytes, then OK */
static void test_counted_raw_read_in_response(void **state)
{
    static const char rx[] = "\r\n+CIPRXGET: 2,0,6,0\r\n\x20\x02\r\nOK\r\nOK\r\n";
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        struct fw_at_request req;
        const struct fake_step steps[] = {{"AT+CIPRXGET=2,0,1500\r", rx, sizeof(rx) - 1}};
        rig_init(&r, fake_chunk_sizes[c]);
        memset(&req, 0, sizeof(req));
        req.cmd = "AT+CIPRXGET=2,0,1500";
        req.on_line = on_line_ciprxget;
        req.ctx = &r.rec;
        assert_int_equal(fw_at_send(&r.at, &req), FW_AT_IN_PROGRESS);
        fake_port_run(&r.fake, &r.at, steps, 1);
        assert_int_equal(fw_at_poll(&r.at), FW_AT_OK);
        assert_int_equal(r.rec.raw_len, 6);
        assert_memory_equal(r.rec.raw, "\x20\x02\r\nOK", 6);
    }
}

static void test_boot_urcs_while_idle(void **state)
{
    struct rig r;
    rig_init(&r, 2);
    fake_port_push_str(&r.fake, "\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nOK\r\n");
    fake_port_deliver(&r.fake, &r.at);
    assert_int_equal(fw_at_poll(&r.at), FW_AT_IDLE);
    assert_string_equal(r.rec.urcs, "RDY|");
    assert_int_equal(fw_at_stats(&r.at)->unhandled, 3); /* +CPIN, SMS DONE, a stray OK */
}

/* ---- time ---------------------------------------------------------------- */

static void test_timeout_across_clock_wrap(void **state)
{
    struct rig r;
    rig_init(&r, 64);
    r.fake.now = 0xFFFFFE00u;
    assert_int_equal(rig_send(&r, "AT+NETOPEN", "+NETOPEN:"), FW_AT_IN_PROGRESS);
    assert_int_equal(fw_at_poll(&r.at), FW_AT_IN_PROGRESS);
    fake_port_advance(&r.fake, 2999); /* crosses 2^32 */
    assert_true(r.fake.now < 0x1000u);
    assert_int_equal(fw_at_poll(&r.at), FW_AT_IN_PROGRESS);
    assert_int_equal(rig_send(&r, "AT", NULL), FW_AT_BUSY);
    fake_port_advance(&r.fake, 1);
    assert_int_equal(fw_at_poll(&r.at), FW_AT_TIMEOUT);
    assert_int_equal(fw_at_stats(&r.at)->timeouts, 1);
    /* the late answer is noise now, and the next command works */
    fake_port_push_str(&r.fake, "\r\nOK\r\n\r\n+NETOPEN: 0\r\n");
    fake_port_deliver(&r.fake, &r.at);
    assert_int_equal(rig_send(&r, "AT", NULL), FW_AT_IN_PROGRESS);
    fake_port_push_str(&r.fake, "\r\nOK\r\n");
    fake_port_deliver(&r.fake, &r.at);
    assert_int_equal(fw_at_poll(&r.at), FW_AT_OK);
}

static void test_cancel(void **state)
{
    struct rig r;
    rig_init(&r, 64);
    assert_int_equal(rig_send(&r, "AT", NULL), FW_AT_IN_PROGRESS);
    fw_at_cancel(&r.at);
    assert_int_equal(fw_at_poll(&r.at), FW_AT_TIMEOUT);
    assert_int_equal(rig_send(&r, "AT", NULL), FW_AT_IN_PROGRESS);
}

/* ---- bad modem output ---------------------------------------------------- */

static void test_garbage_and_overlong_lines(void **state)
{
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        char rx[1024];
        size_t n = 0;
        rig_init(&r, fake_chunk_sizes[c]);
        memcpy(rx + n, "\x00\xff\xfe\x1b[0m\r\n\x01\x02garbage\n", 19);
        n += 19;
        memset(rx + n, 'X', 500); /* far beyond the 128-byte line buffer */
        n += 500;
        memcpy(rx + n, "\r\n>>>\r\n\r\n+CSQ: 31,0\r\nOK\r\n", 26);
        n += 26;
        assert_int_equal(rig_send(&r, "AT+CSQ", NULL), FW_AT_IN_PROGRESS);
        {
            const struct fake_step steps[] = {{"AT+CSQ\r", rx, n}};
            fake_port_run(&r.fake, &r.at, steps, 1);
        }
        assert_int_equal(fw_at_poll(&r.at), FW_AT_OK);
        assert_int_equal(fw_at_stats(&r.at)->overflows, 1);
        /* noise lines during a command are information lines: the caller judges them */
        assert_non_null(memmem(r.rec.lines, r.rec.lines_len, "+CSQ: 31,0|", 11));
    }
}

/* The modem announces 100 payload bytes but sends 10 and stops: after the
 * idle gap the engine goes back to lines and keeps working */
static void test_truncated_raw_read(void **state)
{
    struct rig r;
    rig_init(&r, 7);
    fake_port_push_str(&r.fake, "\r\n+CMQTTRXSTART: 0,1,100\r\n+CMQTTRXTOPIC: 0,1\r\nt"
                                 "\r\n+CMQTTRXPAYLOAD: 0,100\r\n0123456789");
    fake_port_deliver(&r.fake, &r.at);
    assert_int_equal(r.at.rx, FW_AT_RX_RAW);
    fake_port_advance(&r.fake, FW_AT_RAW_IDLE_MS);
    fw_at_poll(&r.at);
    assert_int_equal(fw_at_stats(&r.at)->raw_aborts, 1);
    assert_int_equal(rig_send(&r, "AT", NULL), FW_AT_IN_PROGRESS);
    fake_port_push_str(&r.fake, "\r\nOK\r\n");
    fake_port_deliver(&r.fake, &r.at);
    assert_int_equal(fw_at_poll(&r.at), FW_AT_OK);
    assert_int_equal(r.rec.messages, 0);
}

static void test_dead_link(void **state)
{
    struct rig r;
    rig_init(&r, 64);
    assert_int_equal(rig_send(&r, "AT", NULL), FW_AT_IN_PROGRESS);
    r.fake.link_dead = true;
    assert_int_equal(fw_at_poll(&r.at), FW_AT_PORT_ERROR);
    assert_int_equal(fw_at_result(&r.at)->status, FW_AT_PORT_ERROR);
    assert_int_equal(rig_send(&r, "AT", NULL), FW_AT_PORT_ERROR);
}

/* ---- API edges ----------------------------------------------------------- */

static void test_bad_arguments(void **state)
{
    struct rig r;
    struct fw_at_config cfg;
    struct fw_at at;
    struct fw_at_request req;
    char longcmd[200];
    rig_init(&r, 64);
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(fw_at_init(&at, &cfg), FW_AT_BAD_ARG);
    cfg.port = &r.fake.port;
    cfg.line_buf = r.line_buf;
    cfg.line_cap = 4;
    cfg.tx_buf = r.tx_buf;
    cfg.tx_cap = sizeof(r.tx_buf);
    assert_int_equal(fw_at_init(&at, &cfg), FW_AT_BAD_ARG);
    assert_int_equal(fw_at_send(&r.at, NULL), FW_AT_BAD_ARG);
    memset(&req, 0, sizeof(req));
    req.cmd = "";
    assert_int_equal(fw_at_send(&r.at, &req), FW_AT_BAD_ARG);
    memset(longcmd, 'A', sizeof(longcmd) - 1);
    longcmd[sizeof(longcmd) - 1] = '\0';
    req.cmd = longcmd;
    assert_int_equal(fw_at_send(&r.at, &req), FW_AT_TOO_LONG);
    req.cmd = "AT+CIPSEND=0,3";
    req.data_len = 3;
    assert_int_equal(fw_at_send(&r.at, &req), FW_AT_BAD_ARG);
    assert_int_equal(fw_at_poll(&r.at), FW_AT_IDLE);
}

static void test_argument_helpers(void **state)
{
    static const char line[] = "+CIPOPEN: 1,\"TCP\",\"a,b\", -42 ,,2147483648";
    size_t len = sizeof(line) - 1, n;
    int32_t v;
    char buf[8];
    assert_true(fw_at_arg_int(line, len, 0, &v));
    assert_int_equal(v, 1);
    assert_true(fw_at_arg_str(line, len, 1, buf, sizeof(buf), &n));
    assert_string_equal(buf, "TCP");
    assert_true(fw_at_arg_str(line, len, 2, buf, sizeof(buf), &n));
    assert_string_equal(buf, "a,b");
    assert_int_equal(n, 3);
    assert_true(fw_at_arg_int(line, len, 3, &v));
    assert_int_equal(v, -42);
    assert_false(fw_at_arg_int(line, len, 4, &v));  /* empty */
    assert_false(fw_at_arg_int(line, len, 5, &v));  /* overflows int32 */
    assert_false(fw_at_arg_int(line, len, 6, &v));  /* absent */
    assert_false(fw_at_arg_int(line, len, 1, &v));  /* not a number */
    assert_false(fw_at_arg_str(line, len, 2, buf, 3, &n)); /* does not fit */
    assert_int_equal(fw_at_arg_count(line, len), 6);
    assert_int_equal(fw_at_arg_count("+CGREG: 1", 9), 1);
    assert_int_equal(fw_at_arg_count("RDY", 3), 1);
}

static void test_status_strings(void **state)
{
    int s;
    for (s = FW_AT_OK; s <= FW_AT_PORT_ERROR; s++)
        assert_string_not_equal(fw_at_status_str((enum fw_at_status)s), "unknown status");
    assert_string_equal(fw_at_status_str((enum fw_at_status)99), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_with_echo),
        cmocka_unit_test(test_information_lines),
        cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_two_phase_either_order),
        cmocka_unit_test(test_two_phase_waits_for_line),
        cmocka_unit_test(test_two_phase_error_keeps_value),
        cmocka_unit_test(test_prompt_then_raw_data),
        cmocka_unit_test(test_urcs_and_rx_block_inside_command),
        cmocka_unit_test(test_counted_raw_read_in_response),
        cmocka_unit_test(test_boot_urcs_while_idle),
        cmocka_unit_test(test_timeout_across_clock_wrap),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_garbage_and_overlong_lines),
        cmocka_unit_test(test_truncated_raw_read),
        cmocka_unit_test(test_dead_link),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_argument_helpers),
        cmocka_unit_test(test_status_strings),
    };
    return cmocka_run_group_tests_name("fw_at", tests, NULL, NULL);
}
