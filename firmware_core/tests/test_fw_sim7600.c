/*
 * test_fw_sim7600.c - the SIM7600 URC layer: incoming MQTT message blocks
 * (split parts, raw bytes that look like AT lines, the real SIM7600EI
 * capture), oversized and broken blocks, every event URC, an AT+CRESET URC
 * storm, and responses that share a prefix with a URC; transcripts replayed
 * at read sizes 1, 2, 7, 64 and whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_port.h"
#include "fw_sim7600.h"

struct inbox {
    unsigned count;
    int client;
    char topic[64];
    size_t topic_len;
    uint8_t payload[256];
    size_t payload_len;
    char lines[512];            /* information lines of the command, '|'-separated */
    size_t lines_len;
};

struct rig {
    struct fake_port fake;
    struct fw_sim7600 modem;
    char line_buf[128];
    char tx_buf[64];
    char topic_buf[64];
    uint8_t payload_buf[256];
    struct inbox in;
};

static void on_message(void *ctx, int client, const char *topic, size_t topic_len,
                       const uint8_t *payload, size_t payload_len)
{
    struct inbox *in = ctx;
    in->count++;
    in->client = client;
    assert_int_equal(strlen(topic), topic_len);
    memcpy(in->topic, topic, topic_len + 1);
    in->topic_len = topic_len;
    memcpy(in->payload, payload, payload_len);
    in->payload_len = payload_len;
}

static void on_line(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    struct inbox *in = ctx;
    assert_true(in->lines_len + len + 2 < sizeof(in->lines));
    memcpy(in->lines + in->lines_len, line, len);
    in->lines_len += len;
    in->lines[in->lines_len++] = '|';
    in->lines[in->lines_len] = '\0';
}

static void rig_init(struct rig *r, size_t chunk)
{
    memset(r, 0, sizeof(*r));
    fake_port_init(&r->fake, chunk, 8);
    FAKE_SIM7600_INIT(r, on_message, &r->in);
}

/* Send cmd, play rx as the modem's answer, return the command's status. */
static enum fw_at_status exchange(struct rig *r, const char *cmd, const char *rx, size_t rx_len)
{
    struct fw_at_request req;
    char tx[64];
    struct fw_at *at = fw_sim7600_at(&r->modem);
    memset(&req, 0, sizeof(req));
    req.cmd = cmd;
    req.on_line = on_line;
    req.ctx = &r->in;
    assert_int_equal(fw_at_send(at, &req), FW_AT_IN_PROGRESS);
    snprintf(tx, sizeof(tx), "%s\r", cmd);
    {
        const struct fake_step steps[] = {{tx, rx, rx_len}};
        fake_port_run(&r->fake, at, steps, 1);
    }
    return fw_at_poll(at);
}

static void push(struct rig *r, const char *rx, size_t len)
{
    fake_port_push(&r->fake, rx, len);
    fake_port_deliver(&r->fake, fw_sim7600_at(&r->modem));
}

static void test_real_capture(void **state)
{
    static const char rx[] = "\r\n+CMQTTRXSTART: 0,3,38\r\n+CMQTTRXTOPIC: 0,3\r\naws\r\n"
                             "+CMQTTRXPAYLOAD: 0,38\r\n{\"message\":\"Hello from SIMCom Module\"}\r\n"
                             "+CMQTTRXEND: 0\r\n";
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        rig_init(&r, fake_chunk_sizes[c]);
        push(&r, rx, sizeof(rx) - 1);
        assert_int_equal(r.in.count, 1);
        assert_int_equal(r.in.client, 0);
        assert_string_equal(r.in.topic, "aws");
        assert_int_equal(r.in.payload_len, 38);
        assert_memory_equal(r.in.payload, "{\"message\":\"Hello from SIMCom Module\"}", 38);
        assert_int_equal(fw_sim7600_take_events(&r.modem), 0);
    }
}

/* Parts split across several headers; payload bytes that look like AT lines
 * (OK, +CMQTTRXEND, ERROR) arrive between a command's echo and its OK */
static void test_split_block_inside_command(void **state)
{
    static const char rx[] =
        "\r\n+CMQTTRXSTART: 1,15,25\r\n"
        "+CMQTTRXTOPIC: 1,7\r\n/bus/1/"
        "\r\n+CMQTTRXTOPIC: 1,8\r\ncommands"
        "\r\n+CMQTTRXPAYLOAD: 1,13\r\n\r\nOK\r\nERROR\r\n"
        "\r\n+CMQTTRXPAYLOAD: 1,12\r\n+CMQTTRXEND:"
        "\r\n+CMQTTRXEND: 1\r\n"
        "\r\n+CSQ: 20,99\r\n\r\nOK\r\n";
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        rig_init(&r, fake_chunk_sizes[c]);
        assert_int_equal(exchange(&r, "AT+CSQ", rx, sizeof(rx) - 1), FW_AT_OK);
        assert_string_equal(r.in.lines, "+CSQ: 20,99|");
        assert_int_equal(r.in.count, 1);
        assert_int_equal(r.in.client, 1);
        assert_string_equal(r.in.topic, "/bus/1/commands");
        assert_int_equal(r.in.payload_len, 25);
        assert_memory_equal(r.in.payload, "\r\nOK\r\nERROR\r\n+CMQTTRXEND:", 25);
    }
}

/* 300 payload bytes do not fit the 256-byte buffer: dropped, counted, its
 * bytes (holding "OK") skipped; the command still gets its real answer and
 * the next message arrives whole */
static void test_oversized_message_dropped(void **state)
{
    static char rx[1024];
    size_t n = 0, c;
    n += (size_t)sprintf(rx + n, "\r\n+CMQTTRXSTART: 0,1,300\r\n+CMQTTRXTOPIC: 0,1\r\nt\r\n"
                                 "+CMQTTRXPAYLOAD: 0,300\r\n");
    memset(rx + n, 'x', 300);
    memcpy(rx + n + 100, "\r\nOK\r\n", 6);
    n += 300;
    n += (size_t)sprintf(rx + n, "\r\n+CMQTTRXEND: 0\r\n\r\nOK\r\n"
                                 "\r\n+CMQTTRXSTART: 0,1,2\r\n+CMQTTRXTOPIC: 0,1\r\nu\r\n"
                                 "+CMQTTRXPAYLOAD: 0,2\r\nhi\r\n+CMQTTRXEND: 0\r\n");
    for (c = 0; c < 5; c++) {
        struct rig r;
        rig_init(&r, fake_chunk_sizes[c]);
        assert_int_equal(exchange(&r, "AT", rx, n), FW_AT_OK);
        assert_int_equal(fw_sim7600_stats(&r.modem)->dropped, 1);
        assert_int_equal(fw_sim7600_stats(&r.modem)->messages, 1);
        assert_true(fw_sim7600_take_events(&r.modem) & FW_SIM7600_EV_MSG_DROPPED);
        assert_string_equal(r.in.topic, "u");
        assert_int_equal(r.in.payload_len, 2);
        assert_int_equal(r.in.lines_len, 0); /* none of the skipped bytes became a line */
    }
}

static void test_broken_blocks(void **state)
{
    static const char *cases[] = {
        /* cut off: a new block starts before END */
        "\r\n+CMQTTRXSTART: 0,3,2\r\n+CMQTTRXTOPIC: 0,3\r\nabc\r\n",
        /* a part longer than announced */
        "\r\n+CMQTTRXSTART: 0,3,2\r\n+CMQTTRXTOPIC: 0,5\r\nabcde\r\n+CMQTTRXEND: 0\r\n",
        /* END before the payload */
        "\r\n+CMQTTRXSTART: 0,3,2\r\n+CMQTTRXTOPIC: 0,3\r\nabc\r\n+CMQTTRXEND: 0\r\n",
        /* parts without a START */
        "\r\n+CMQTTRXPAYLOAD: 0,4\r\nOK\r\n\r\n+CMQTTRXEND: 0\r\n",
        /* a topic longer than the buffer */
        "\r\n+CMQTTRXSTART: 0,64,0\r\n+CMQTTRXEND: 0\r\n",
    };
    static const char good[] = "\r\n+CMQTTRXSTART: 0,1,1\r\n+CMQTTRXTOPIC: 0,1\r\nq\r\n"
                               "+CMQTTRXPAYLOAD: 0,1\r\n!\r\n+CMQTTRXEND: 0\r\n";
    size_t i, c;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (c = 0; c < 5; c++) {
            struct rig r;
            rig_init(&r, fake_chunk_sizes[c]);
            push(&r, cases[i], strlen(cases[i]));
            push(&r, good, sizeof(good) - 1);
            if (r.in.count != 1 || fw_sim7600_stats(&r.modem)->dropped != 1)
                fail_msg("case %zu chunk %zu: %u delivered, %u dropped", i, fake_chunk_sizes[c],
                         r.in.count, fw_sim7600_stats(&r.modem)->dropped);
            assert_string_equal(r.in.topic, "q");
            assert_int_equal(r.in.payload[0], '!');
        }
    }
}

static void test_event_urcs(void **state)
{
    static const char rx[] = "\r\n+CMQTTCONNLOST: 0,1\r\n\r\n+CIPRXGET: 1,2\r\n"
                             "\r\n+IPCLOSE: 3,1\r\n\r\n+CGREG: 5\r\n\r\n+CMQTTPING: 0,11\r\n";
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        uint32_t ev;
        rig_init(&r, fake_chunk_sizes[c]);
        assert_int_equal(fw_sim7600_conn_lost_cause(&r.modem), -1);
        push(&r, rx, sizeof(rx) - 1);
        ev = fw_sim7600_take_events(&r.modem);
        assert_int_equal(ev, FW_SIM7600_EV_MQTT_CONN_LOST | FW_SIM7600_EV_TCP_DATA |
                                 FW_SIM7600_EV_TCP_CLOSED | FW_SIM7600_EV_REG_CHANGED |
                                 FW_SIM7600_EV_MQTT_PING_FAIL);
        assert_int_equal(fw_sim7600_conn_lost_cause(&r.modem), 1);
        assert_int_equal(fw_sim7600_reg_stat(&r.modem), 5);
        assert_int_equal(r.modem.tcp_link, 3);
        assert_int_equal(fw_sim7600_take_events(&r.modem), 0);
    }
}

/* AT+CRESET with MQTT and sockets up: the teardown and boot URCs */
static void test_creset_storm(void **state)
{
    static const char rx[] = "\r\nOK\r\n"
                             "\r\n+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY\r\n"
                             "\r\n+CMQTTCONNLOST: 0,3\r\n\r\n+CMQTTNONET\r\n"
                             "\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n";
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        rig_init(&r, fake_chunk_sizes[c]);
        assert_int_equal(exchange(&r, "AT+CRESET", rx, sizeof(rx) - 1), FW_AT_OK);
        assert_int_equal(fw_sim7600_take_events(&r.modem),
                         FW_SIM7600_EV_NET_CLOSED | FW_SIM7600_EV_MQTT_CONN_LOST |
                             FW_SIM7600_EV_MQTT_NO_NET | FW_SIM7600_EV_BOOT);
        assert_int_equal(fw_sim7600_conn_lost_cause(&r.modem), 3);
    }
}

/* Answers that share a prefix with a URC go to the command, and a real URC
 * between them is still recognised */
static void test_responses_are_not_urcs(void **state)
{
    static const char cgreg[] = "\r\n+CGREG: 0,1\r\n\r\nOK\r\n";
    static const char cgreg2[] = "\r\n+CGREG: 2,1,\"1A2B\",\"01C3D4E5\"\r\n\r\nOK\r\n";
    static const char rxget[] = "\r\n+CIPRXGET: 1,0\r\n\r\n+CIPRXGET: 4,0,12\r\n\r\nOK\r\n";
    struct rig r;
    rig_init(&r, 7);
    assert_int_equal(exchange(&r, "AT+CGREG?", cgreg, sizeof(cgreg) - 1), FW_AT_OK);
    assert_string_equal(r.in.lines, "+CGREG: 0,1|");
    r.in.lines_len = 0;
    assert_int_equal(exchange(&r, "AT+CGREG?", cgreg2, sizeof(cgreg2) - 1), FW_AT_OK);
    assert_string_equal(r.in.lines, "+CGREG: 2,1,\"1A2B\",\"01C3D4E5\"|");
    r.in.lines_len = 0;
    assert_int_equal(exchange(&r, "AT+CIPRXGET=4,0", rxget, sizeof(rxget) - 1), FW_AT_OK);
    assert_string_equal(r.in.lines, "+CIPRXGET: 4,0,12|");
    assert_int_equal(fw_sim7600_take_events(&r.modem), FW_SIM7600_EV_TCP_DATA);
    assert_int_equal(fw_sim7600_reg_stat(&r.modem), -1);
}

static void test_bad_config(void **state)
{
    struct rig r;
    struct fw_sim7600_config cfg;
    rig_init(&r, 64);
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(fw_sim7600_init(&r.modem, &cfg), FW_AT_BAD_ARG);
    cfg.topic_buf = r.topic_buf;
    cfg.topic_cap = sizeof(r.topic_buf);
    assert_int_equal(fw_sim7600_init(&r.modem, &cfg), FW_AT_BAD_ARG); /* no port */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_capture),
        cmocka_unit_test(test_split_block_inside_command),
        cmocka_unit_test(test_oversized_message_dropped),
        cmocka_unit_test(test_broken_blocks),
        cmocka_unit_test(test_event_urcs),
        cmocka_unit_test(test_creset_storm),
        cmocka_unit_test(test_responses_are_not_urcs),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests_name("fw_sim7600", tests, NULL, NULL);
}
