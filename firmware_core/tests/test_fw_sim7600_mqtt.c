/*
 * test_fw_sim7600_mqtt.c - the modem's MQTT client driven through AT+CMQTT*:
 * golden transcripts for connect (TLS, plain, a modem left running by an
 * earlier MCU run, a refused handshake), subscribe, publish (with a message
 * arriving in the middle) and disconnect, each replayed at read sizes 1, 2,
 * 7, 64 and whole; and the modem's limits checked before anything is sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_port.h"
#include "fw_sim7600_mqtt.h"

struct exchange {
    const char *tx;
    const char *rx;
    size_t tx_len; /* 0: strlen(tx) */
};

struct rig {
    struct fake_port fake;
    struct fw_sim7600 modem;
    struct fw_sim7600_mqtt mqtt;
    char line_buf[128];
    char tx_buf[FW_SIM7600_MQTT_CMD_MAX];
    char topic_buf[64];
    uint8_t payload_buf[128];
    unsigned messages;
    char last_topic[64];
};

static void on_message(void *ctx, int client, const char *topic, size_t topic_len,
                       const uint8_t *payload, size_t payload_len)
{
    struct rig *r = ctx;
    r->messages++;
    memcpy(r->last_topic, topic, topic_len + 1);
}

static void rig_init(struct rig *r, size_t chunk)
{
    memset(r, 0, sizeof(*r));
    fake_port_init(&r->fake, chunk, 8);
    FAKE_SIM7600_INIT(r, on_message, r);
    fw_sim7600_mqtt_init(&r->mqtt, &r->modem);
}

/* Play the modem: answer each expected command; run the operation to its end. */
static enum fw_sim7600_mqtt_status drive(struct rig *r, enum fw_sim7600_mqtt_status started,
                                         const struct exchange *ex, size_t n)
{
    enum fw_sim7600_mqtt_status st = started;
    size_t next = 0;
    unsigned i;
    for (i = 0; i < 100000u && st == FW_SIM7600_MQTT_BUSY; i++) {
        struct fake_port *f = &r->fake;
        size_t want = next < n ? (ex[next].tx_len ? ex[next].tx_len : strlen(ex[next].tx)) : 0;
        if (next < n && f->tx_len - f->tx_checked >= want) {
            assert_true(fake_port_expect_tx(f, ex[next].tx, want));
            fake_port_push_str(f, ex[next].rx);
            fake_port_deliver(f, fw_sim7600_at(&r->modem));
            next++;
        }
        fake_port_advance(f, 5);
        st = fw_sim7600_mqtt_poll(&r->mqtt);
    }
    assert_int_equal(next, n);
    assert_int_equal(r->fake.tx_len, r->fake.tx_checked); /* nothing more was sent */
    return st;
}

static struct fw_sim7600_mqtt_params aws_params(void)
{
    struct fw_sim7600_mqtt_params p;
    memset(&p, 0, sizeof(p));
    p.client = 0;
    p.client_id = "bus-1";
    p.server = "tcp://broker.local:8883";
    p.keepalive_s = 60;
    p.clean_session = true;
    p.ssl_ctx = 0;
    return p;
}

static void test_connect_aws_tls(void **state)
{
    static const struct exchange ex[] = {
        {"AT+CMQTTSTART\r", "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n", 0},
        {"AT+CMQTTACCQ=0,\"bus-1\",1\r", "\r\nOK\r\n", 0},
        {"AT+CMQTTSSLCFG=0,0\r", "\r\nOK\r\n", 0},
        {"AT+CMQTTCONNECT=0,\"tcp://broker.local:8883\",60,1\r",
         "\r\nOK\r\n\r\n+CMQTTCONNECT: 0,0\r\n", 0},
    };
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        struct fw_sim7600_mqtt_params p = aws_params();
        rig_init(&r, fake_chunk_sizes[c]);
        assert_int_equal(drive(&r, fw_sim7600_mqtt_connect(&r.mqtt, &p), ex, 4), FW_SIM7600_MQTT_OK);
    }
}

/* The modem kept running while the MCU restarted: the service is started
 * (23) and the client still held; plain TCP with a GCP-style password */
static void test_connect_recovers_stale_modem(void **state)
{
    static const char *jwt = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjF9.c2ln";
    static const struct exchange ex[] = {
        {"AT+CMQTTSTART\r", "\r\n+CMQTTSTART: 23\r\n\r\nERROR\r\n", 0},
        {"AT+CMQTTACCQ=1,\"projects/p/locations/r/registries/g/devices/bus-1\"\r",
         "\r\n+CMQTTACCQ: 1,19\r\n\r\nERROR\r\n", 0},
        {"AT+CMQTTDISC=1,120\r", "\r\n+CMQTTDISC: 1,11\r\n\r\nERROR\r\n", 0},
        {"AT+CMQTTREL=1\r", "\r\nOK\r\n", 0},
        {"AT+CMQTTACCQ=1,\"projects/p/locations/r/registries/g/devices/bus-1\"\r", "\r\nOK\r\n", 0},
        {"AT+CMQTTCONNECT=1,\"tcp://10.0.0.2:1883\",300,0,\"unused\","
         "\"eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjF9.c2ln\"\r",
         "\r\n+CMQTTCONNECT: 1,0\r\n\r\nOK\r\n", 0},
    };
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        struct fw_sim7600_mqtt_params p;
        memset(&p, 0, sizeof(p));
        p.client = 1;
        p.client_id = "projects/p/locations/r/registries/g/devices/bus-1";
        p.server = "tcp://10.0.0.2:1883";
        p.keepalive_s = 300;
        p.ssl_ctx = -1;
        p.username = "unused";
        p.password = jwt;
        rig_init(&r, fake_chunk_sizes[c]);
        assert_int_equal(drive(&r, fw_sim7600_mqtt_connect(&r.mqtt, &p), ex, 6), FW_SIM7600_MQTT_OK);
    }
}

static void test_connect_refused(void **state)
{
    static const struct exchange ex[] = {
        {"AT+CMQTTSTART\r", "\r\n+CMQTTSTART: 0\r\n\r\nOK\r\n", 0},
        {"AT+CMQTTACCQ=0,\"bus-1\",1\r", "\r\nOK\r\n", 0},
        {"AT+CMQTTSSLCFG=0,0\r", "\r\nOK\r\n", 0},
        {"AT+CMQTTCONNECT=0,\"tcp://broker.local:8883\",60,1\r",
         "\r\nOK\r\n\r\n+CMQTTCONNECT: 0,32\r\n", 0},
    };
    struct rig r;
    struct fw_sim7600_mqtt_params p = aws_params();
    rig_init(&r, 7);
    assert_int_equal(drive(&r, fw_sim7600_mqtt_connect(&r.mqtt, &p), ex, 4), FW_SIM7600_MQTT_FAILED);
    assert_int_equal(fw_sim7600_mqtt_error(&r.mqtt), 32); /* handshake fail */
}

/* the second ACCQ fails too: give up rather than loop */
static void test_connect_gives_up_after_one_recovery(void **state)
{
    static const struct exchange ex[] = {
        {"AT+CMQTTSTART\r", "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n", 0},
        {"AT+CMQTTACCQ=0,\"bus-1\",1\r", "\r\nERROR\r\n", 0},
        {"AT+CMQTTDISC=0,120\r", "\r\nERROR\r\n", 0},
        {"AT+CMQTTREL=0\r", "\r\n+CMQTTREL: 0,21\r\n\r\nERROR\r\n", 0},
        {"AT+CMQTTACCQ=0,\"bus-1\",1\r", "\r\nERROR\r\n", 0},
    };
    struct rig r;
    struct fw_sim7600_mqtt_params p = aws_params();
    rig_init(&r, 64);
    assert_int_equal(drive(&r, fw_sim7600_mqtt_connect(&r.mqtt, &p), ex, 5), FW_SIM7600_MQTT_FAILED);
}

/* publish a binary payload; a command message arrives between prompt and OK */
static void test_publish_with_incoming_message(void **state)
{
    static const uint8_t payload[] = {'{', 0x00, '\r', '\n', 'O', 'K', '\r', '\n', 0x1a, '}'};
    static const struct exchange ex[] = {
        {"AT+CMQTTTOPIC=0,11\r", "\r\n>", 0},
        {"/bus/events", "\r\nOK\r\n", 0},
        {"AT+CMQTTPAYLOAD=0,10\r", "\r\n>", 0},
        {"{\0\r\nOK\r\n\x1a}", "\r\n+CMQTTRXSTART: 0,15,2\r\n+CMQTTRXTOPIC: 0,15\r\n/bus/1/commands"
                               "\r\n+CMQTTRXPAYLOAD: 0,2\r\n{}\r\n+CMQTTRXEND: 0\r\n\r\nOK\r\n", 10},
        {"AT+CMQTTPUB=0,1,60\r", "\r\nOK\r\n\r\n+CMQTTPUB: 0,0\r\n", 0},
    };
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        rig_init(&r, fake_chunk_sizes[c]);
        assert_int_equal(drive(&r, fw_sim7600_mqtt_publish(&r.mqtt, "/bus/events", 11, payload,
                                                            sizeof(payload), 1), ex, 5),
                         FW_SIM7600_MQTT_OK);
        assert_int_equal(r.messages, 1);
        assert_string_equal(r.last_topic, "/bus/1/commands");
    }
}

static void test_publish_refused(void **state)
{
    static const struct exchange ex[] = {
        {"AT+CMQTTTOPIC=0,1\r", "\r\n>", 0},
        {"t", "\r\nOK\r\n", 0},
        {"AT+CMQTTPAYLOAD=0,1\r", "\r\n>", 0},
        {"x", "\r\nOK\r\n", 0},
        {"AT+CMQTTPUB=0,0,60\r", "\r\n+CMQTTPUB: 0,11\r\n\r\nERROR\r\n", 0},
    };
    struct rig r;
    rig_init(&r, 2);
    assert_int_equal(drive(&r, fw_sim7600_mqtt_publish(&r.mqtt, "t", 1, (const uint8_t *)"x", 1, 0),
                           ex, 5),
                     FW_SIM7600_MQTT_FAILED);
    assert_int_equal(fw_sim7600_mqtt_error(&r.mqtt), 11); /* no connection */
}

static void test_subscribe_and_disconnect(void **state)
{
    static const struct exchange sub[] = {
        {"AT+CMQTTSUB=0,16,1\r", "\r\n>", 0},
        {"/bus/1/commands#", "\r\nOK\r\n\r\n+CMQTTSUB: 0,0\r\n", 0},
    };
    static const struct exchange disc[] = {
        {"AT+CMQTTDISC=0,120\r", "\r\nOK\r\n\r\n+CMQTTDISC: 0,0\r\n", 0},
        {"AT+CMQTTREL=0\r", "\r\nOK\r\n", 0},
        {"AT+CMQTTSTOP\r", "\r\nOK\r\n\r\n+CMQTTSTOP: 0\r\n", 0},
    };
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        rig_init(&r, fake_chunk_sizes[c]);
        assert_int_equal(drive(&r, fw_sim7600_mqtt_subscribe(&r.mqtt, "/bus/1/commands#", 16, 1),
                               sub, 2),
                         FW_SIM7600_MQTT_OK);
        assert_int_equal(drive(&r, fw_sim7600_mqtt_disconnect(&r.mqtt), disc, 3), FW_SIM7600_MQTT_OK);
    }
}

/* limits are checked before a byte goes out; one operation at a time */
static void test_limits_and_busy(void **state)
{
    static char long_pw[258], long_id[130];
    static uint8_t big[FW_SIM7600_MQTT_PAYLOAD_MAX + 1];
    struct rig r;
    struct fw_sim7600_mqtt_params p = aws_params();
    int s;
    rig_init(&r, 64);
    memset(long_pw, 'a', 257);
    memset(long_id, 'b', 129);
    p.username = "u";
    p.password = long_pw;
    assert_int_equal(fw_sim7600_mqtt_connect(&r.mqtt, &p), FW_SIM7600_MQTT_TOO_LONG);
    long_pw[256] = '\0';
    assert_int_equal(fw_sim7600_mqtt_connect(&r.mqtt, &p), FW_SIM7600_MQTT_BUSY); /* 256 is fine */
    fw_sim7600_mqtt_init(&r.mqtt, &r.modem);
    fw_at_cancel(fw_sim7600_at(&r.modem));
    p = aws_params();
    p.client_id = long_id;
    assert_int_equal(fw_sim7600_mqtt_connect(&r.mqtt, &p), FW_SIM7600_MQTT_TOO_LONG);
    p.client_id = "bus\"1";
    assert_int_equal(fw_sim7600_mqtt_connect(&r.mqtt, &p), FW_SIM7600_MQTT_BAD_ARG);
    p = aws_params();
    p.password = "x";
    assert_int_equal(fw_sim7600_mqtt_connect(&r.mqtt, &p), FW_SIM7600_MQTT_BAD_ARG);
    p = aws_params();
    p.client = 2;
    assert_int_equal(fw_sim7600_mqtt_connect(&r.mqtt, &p), FW_SIM7600_MQTT_BAD_ARG);
    assert_int_equal(fw_sim7600_mqtt_publish(&r.mqtt, "t", 1, big, sizeof(big), 0),
                     FW_SIM7600_MQTT_TOO_LONG);
    assert_int_equal(fw_sim7600_mqtt_publish(&r.mqtt, "t", 1, big, 0, 0), FW_SIM7600_MQTT_BAD_ARG);
    assert_int_equal(fw_sim7600_mqtt_subscribe(&r.mqtt, "t", 1, 2), FW_SIM7600_MQTT_BAD_ARG);
    assert_int_equal(fw_sim7600_mqtt_subscribe(&r.mqtt, "t", 1025, 0), FW_SIM7600_MQTT_TOO_LONG);
    assert_int_equal(r.fake.tx_len, 14); /* only the one accepted AT+CMQTTSTART went out */
    for (s = FW_SIM7600_MQTT_OK; s <= FW_SIM7600_MQTT_TOO_LONG; s++)
        assert_string_not_equal(fw_sim7600_mqtt_status_str((enum fw_sim7600_mqtt_status)s),
                                "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_aws_tls),
        cmocka_unit_test(test_connect_recovers_stale_modem),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_connect_gives_up_after_one_recovery),
        cmocka_unit_test(test_publish_with_incoming_message),
        cmocka_unit_test(test_publish_refused),
        cmocka_unit_test(test_subscribe_and_disconnect),
        cmocka_unit_test(test_limits_and_busy),
    };
    return cmocka_run_group_tests_name("fw_sim7600_mqtt", tests, NULL, NULL);
}
