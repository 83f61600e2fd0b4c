/*
 * test_fw_mqtt_session.c - the MQTT session against byte-exact server
 * traffic fed at chunk sizes 1, 2, 7, 64 and whole: connect (accepted,
 * refused, overdue), QoS 1 publish and PUBACK, incoming QoS 1 with its
 * PUBACK, subscribe, keep-alive and its deadline, a full in-flight table,
 * protocol violations and the transmit queue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_port.h"
#include "fw_mqtt_session.h"

struct rig {
    struct fake_port fake;
    struct fw_mqtt_session s;
    uint8_t tx[256];
    uint8_t rx[128];
    struct fw_mqtt_inflight inflight[2];
    unsigned messages, pubacks, subacks;
    char last_topic[32];
    uint16_t last_puback;
    uint8_t last_codes[4];
};

static void on_message(void *ctx, const struct fw_mqtt_publish *msg)
{
    struct rig *r = ctx;
    r->messages++;
    memcpy(r->last_topic, msg->topic, msg->topic_len);
    r->last_topic[msg->topic_len] = '\0';
}

static void on_puback(void *ctx, uint16_t id)
{
    struct rig *r = ctx;
    r->pubacks++;
    r->last_puback = id;
}

static void on_suback(void *ctx, uint16_t id, const uint8_t *codes, size_t n)
{
    struct rig *r = ctx;
    r->subacks++;
    memcpy(r->last_codes, codes, n < 4 ? n : 4);
}

static void rig_init(struct rig *r)
{
    struct fw_mqtt_session_config cfg;
    memset(r, 0, sizeof(*r));
    fake_port_init(&r->fake, 0, 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.port = &r->fake.port;
    cfg.tx_buf = r->tx;
    cfg.tx_cap = sizeof(r->tx);
    cfg.rx_buf = r->rx;
    cfg.rx_cap = sizeof(r->rx);
    cfg.inflight = r->inflight;
    cfg.inflight_cap = 2;
    cfg.ack_timeout_ms = 5000;
    cfg.on_message = on_message;
    cfg.on_puback = on_puback;
    cfg.on_suback = on_suback;
    cfg.ctx = r;
    assert_int_equal(fw_mqtt_session_init(&r->s, &cfg), FW_MQTT_SESSION_OK);
}

/* the transport took everything: it must be exactly want */
static void expect_sent(struct rig *r, const void *want, size_t len)
{
    size_t n;
    const uint8_t *p = fw_mqtt_session_pending(&r->s, &n);
    assert_int_equal(n, len);
    assert_memory_equal(p, want, len);
    fw_mqtt_session_sent(&r->s, n);
}

/* server bytes in the given chunk size (0 = whole) */
static enum fw_mqtt_session_status server(struct rig *r, const void *data, size_t len, size_t chunk)
{
    const uint8_t *b = data;
    size_t off = 0;
    enum fw_mqtt_session_status st = FW_MQTT_SESSION_OK;
    while (off < len && st == FW_MQTT_SESSION_OK) {
        size_t n = chunk == 0 || chunk > len - off ? len - off : chunk;
        st = fw_mqtt_session_input(&r->s, b + off, n);
        off += n;
    }
    return st;
}

static void connect_ok(struct rig *r, size_t chunk)
{
    struct fw_mqtt_connect c;
    memset(&c, 0, sizeof(c));
    c.client_id = "bus-1";
    c.keep_alive_s = 60;
    c.clean_session = true;
    assert_int_equal(fw_mqtt_session_connect(&r->s, &c), FW_MQTT_SESSION_OK);
    assert_int_equal(fw_mqtt_session_state(&r->s), FW_MQTT_SESSION_CONNECTING);
    expect_sent(r, "\x10\x11\x00\x04MQTT\x04\x02\x00\x3c\x00\x05" "bus-1", 19);
    assert_int_equal(server(r, "\x20\x02\x00\x00", 4, chunk), FW_MQTT_SESSION_OK);
    assert_int_equal(fw_mqtt_session_state(&r->s), FW_MQTT_SESSION_CONNECTED);
}

static void test_connect_publish_receive(void **state)
{
    static const uint8_t incoming[] = {0x32, 0x13, 0x00, 0x0f, '/', 'b', 'u', 's', '/', '1', '/',
                                       'c', 'o', 'm', 'm', 'a', 'n', 'd', 's', 0x12, 0x34, '{', '}'};
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        uint16_t id = 0;
        rig_init(&r);
        connect_ok(&r, fake_chunk_sizes[c]);
        assert_int_equal(fw_mqtt_session_publish(&r.s, "/bus/events", 11, (const uint8_t *)"{}", 2,
                                                 1, &id), FW_MQTT_SESSION_OK);
        assert_int_equal(id, 1);
        expect_sent(&r, "\x32\x11\x00\x0b/bus/events\x00\x01{}", 19);
        assert_int_equal(fw_mqtt_session_inflight(&r.s), 1);
        assert_int_equal(server(&r, "\x40\x02\x00\x01", 4, fake_chunk_sizes[c]), FW_MQTT_SESSION_OK);
        assert_int_equal(r.pubacks, 1);
        assert_int_equal(r.last_puback, 1);
        assert_int_equal(fw_mqtt_session_inflight(&r.s), 0);
        /* a QoS 1 command from the server is delivered and acknowledged */
        assert_int_equal(server(&r, incoming, sizeof(incoming), fake_chunk_sizes[c]), FW_MQTT_SESSION_OK);
        assert_int_equal(r.messages, 1);
        assert_string_equal(r.last_topic, "/bus/1/commands");
        expect_sent(&r, "\x40\x02\x12\x34", 4);
        /* QoS 0 has no packet id and waits for nothing */
        assert_int_equal(fw_mqtt_session_publish(&r.s, "t", 1, (const uint8_t *)"x", 1, 0, &id),
                         FW_MQTT_SESSION_OK);
        assert_int_equal(id, 0);
        expect_sent(&r, "\x30\x04\x00\x01tx", 6);
        assert_int_equal(fw_mqtt_session_disconnect(&r.s), FW_MQTT_SESSION_OK);
        expect_sent(&r, "\xe0\x00", 2);
        assert_int_equal(fw_mqtt_session_state(&r.s), FW_MQTT_SESSION_DISCONNECTED);
    }
}

static void test_refused_and_overdue_connack(void **state)
{
    struct rig r;
    struct fw_mqtt_connect c;
    rig_init(&r);
    memset(&c, 0, sizeof(c));
    c.client_id = "bus-1";
    c.clean_session = true;
    assert_int_equal(fw_mqtt_session_connect(&r.s, &c), FW_MQTT_SESSION_OK);
    assert_int_equal(server(&r, "\x20\x02\x00\x05", 4, 0), FW_MQTT_SESSION_REFUSED);
    assert_int_equal(fw_mqtt_session_connack(&r.s), 5);
    assert_int_equal(fw_mqtt_session_state(&r.s), FW_MQTT_SESSION_DISCONNECTED);
    assert_int_equal(fw_mqtt_session_connect(&r.s, &c), FW_MQTT_SESSION_OK);
    fake_port_advance(&r.fake, 4999);
    assert_int_equal(fw_mqtt_session_poll(&r.s), FW_MQTT_SESSION_OK);
    fake_port_advance(&r.fake, 1);
    assert_int_equal(fw_mqtt_session_poll(&r.s), FW_MQTT_SESSION_TIMEOUT);
}

static void test_keepalive(void **state)
{
    struct rig r;
    rig_init(&r);
    connect_ok(&r, 0);
    fake_port_advance(&r.fake, 59999);
    assert_int_equal(fw_mqtt_session_poll(&r.s), FW_MQTT_SESSION_OK);
    expect_sent(&r, "", 0);
    fake_port_advance(&r.fake, 1);
    assert_int_equal(fw_mqtt_session_poll(&r.s), FW_MQTT_SESSION_OK);
    expect_sent(&r, "\xc0\x00", 2);
    assert_int_equal(fw_mqtt_session_poll(&r.s), FW_MQTT_SESSION_OK); /* one ping at a time */
    expect_sent(&r, "", 0);
    assert_int_equal(server(&r, "\xd0\x00", 2, 1), FW_MQTT_SESSION_OK);
    fake_port_advance(&r.fake, 60000);
    assert_int_equal(fw_mqtt_session_poll(&r.s), FW_MQTT_SESSION_OK);
    expect_sent(&r, "\xc0\x00", 2);
    fake_port_advance(&r.fake, 5000); /* no PINGRESP this time */
    assert_int_equal(fw_mqtt_session_poll(&r.s), FW_MQTT_SESSION_TIMEOUT);
    assert_int_equal(fw_mqtt_session_state(&r.s), FW_MQTT_SESSION_DISCONNECTED);
}

static void test_inflight_limit_and_overdue_puback(void **state)
{
    struct rig r;
    uint16_t a, b;
    rig_init(&r);
    connect_ok(&r, 0);
    assert_int_equal(fw_mqtt_session_publish(&r.s, "t", 1, (const uint8_t *)"1", 1, 1, &a), FW_MQTT_SESSION_OK);
    assert_int_equal(fw_mqtt_session_publish(&r.s, "t", 1, (const uint8_t *)"2", 1, 1, &b), FW_MQTT_SESSION_OK);
    assert_int_not_equal(a, b);
    assert_int_equal(fw_mqtt_session_publish(&r.s, "t", 1, (const uint8_t *)"3", 1, 1, NULL),
                     FW_MQTT_SESSION_NO_SPACE);
    assert_int_equal(server(&r, "\x40\x02\x00\x63", 4, 0), FW_MQTT_SESSION_OK); /* unknown id: ignored */
    assert_int_equal(r.pubacks, 0);
    fake_port_advance(&r.fake, 5000);
    assert_int_equal(fw_mqtt_session_poll(&r.s), FW_MQTT_SESSION_TIMEOUT);
    assert_int_equal(fw_mqtt_session_inflight(&r.s), 2); /* the caller republishes these */
}

static void test_subscribe(void **state)
{
    const struct fw_mqtt_subscription subs[] = {{"/bus/1/commands", 1}, {"/bus/1/configuration", 1}};
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        uint16_t id;
        rig_init(&r);
        connect_ok(&r, fake_chunk_sizes[c]);
        assert_int_equal(fw_mqtt_session_subscribe(&r.s, subs, 2, &id), FW_MQTT_SESSION_OK);
        assert_int_equal(fw_mqtt_session_subscribe(&r.s, subs, 1, NULL), FW_MQTT_SESSION_NO_SPACE);
        assert_int_equal(server(&r, "\x90\x04\x00\x01\x01\x80", 6, fake_chunk_sizes[c]),
                         FW_MQTT_SESSION_OK);
        assert_int_equal(r.subacks, 1);
        assert_memory_equal(r.last_codes, "\x01\x80", 2);
    }
}

static void test_protocol_violations(void **state)
{
    static const struct {
        const char *bytes;
        size_t len;
    } cases[] = {
        {"\x20\x02\x00\x00", 4},             /* a second CONNACK */
        {"\x90\x03\x00\x07\x00", 5},         /* SUBACK nobody asked for */
        {"\x34\x05\x00\x01t\x00\x01", 7},    /* QoS 2 publish */
        {"\x50\x02\x00\x01", 4},             /* PUBREC */
        {"\x30\xff\xff\xff\xff\x01", 6},     /* impossible length */
        {"\x20\x02\x00\x09", 4},             /* malformed CONNACK */
    };
    size_t i;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rig r;
        rig_init(&r);
        connect_ok(&r, 0);
        assert_int_equal(server(&r, cases[i].bytes, cases[i].len, 0), FW_MQTT_SESSION_PROTOCOL);
        assert_int_equal(fw_mqtt_session_state(&r.s), FW_MQTT_SESSION_DISCONNECTED);
    }
    {
        struct rig r;
        struct fw_mqtt_connect c;
        rig_init(&r);
        memset(&c, 0, sizeof(c));
        c.client_id = "x";
        c.clean_session = true;
        fw_mqtt_session_connect(&r.s, &c);
        /* anything before CONNACK */
        assert_int_equal(server(&r, "\xd0\x00", 2, 0), FW_MQTT_SESSION_PROTOCOL);
    }
}

static void test_transmit_queue(void **state)
{
    static uint8_t big[300];
    struct rig r;
    size_t n;
    rig_init(&r);
    connect_ok(&r, 0);
    assert_int_equal(fw_mqtt_session_publish(&r.s, "t", 1, big, sizeof(big), 0, NULL),
                     FW_MQTT_SESSION_NO_SPACE);
    assert_int_equal(fw_mqtt_session_publish(&r.s, "a", 1, (const uint8_t *)"1", 1, 0, NULL), FW_MQTT_SESSION_OK);
    assert_int_equal(fw_mqtt_session_publish(&r.s, "b", 1, (const uint8_t *)"2", 1, 0, NULL), FW_MQTT_SESSION_OK);
    fw_mqtt_session_pending(&r.s, &n);
    assert_int_equal(n, 12);
    fw_mqtt_session_sent(&r.s, 5); /* the transport took part of it */
    expect_sent(&r, "1\x30\x04\x00\x01" "b2", 7);
    assert_int_equal(fw_mqtt_session_publish(&r.s, "t", 1, big, 1, 3, NULL), FW_MQTT_SESSION_BAD_ARG);
    {
        int s;
        for (s = FW_MQTT_SESSION_OK; s <= FW_MQTT_SESSION_PROTOCOL; s++)
            assert_string_not_equal(fw_mqtt_session_status_str((enum fw_mqtt_session_status)s),
                                    "unknown status");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_publish_receive),
        cmocka_unit_test(test_refused_and_overdue_connack),
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_inflight_limit_and_overdue_puback),
        cmocka_unit_test(test_subscribe),
        cmocka_unit_test(test_protocol_violations),
        cmocka_unit_test(test_transmit_queue),
    };
    return cmocka_run_group_tests_name("fw_mqtt_session", tests, NULL, NULL);
}
