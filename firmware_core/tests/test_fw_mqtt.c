/*
 * test_fw_mqtt.c - the MQTT 3.1.1 codec against byte-exact packets, the
 * remaining-length boundaries, framing at read sizes 1, 2, 7, 64 and whole,
 * oversized and malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_port.h"
#include "fw_mqtt.h"

static const size_t chunks[5] = {1, 2, 7, 64, 0};

/* ---- encoding ------------------------------------------------------------ */

/* PubSubClient's CONNECT for "GsmClientTest": the real log shows AT+CIPSEND=0,27 */
static void test_connect_minimal(void **state)
{
    static const uint8_t want[] = {0x10, 0x19, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00,
                                   0x0F, 0x00, 0x0D, 'G', 's', 'm', 'C', 'l', 'i', 'e', 'n', 't',
                                   'T', 'e', 's', 't'};
    struct fw_mqtt_connect c;
    uint8_t buf[64];
    size_t n;
    memset(&c, 0, sizeof(c));
    c.client_id = "GsmClientTest";
    c.keep_alive_s = 15;
    c.clean_session = true;
    assert_int_equal(fw_mqtt_encode_connect(&c, buf, sizeof(buf), &n), FW_MQTT_OK);
    assert_int_equal(n, 27);
    assert_memory_equal(buf, want, sizeof(want));
    assert_int_equal(fw_mqtt_encode_connect(&c, buf, 26, &n), FW_MQTT_NO_SPACE);
}

static void test_connect_full(void **state)
{
    static const uint8_t want[] = {0x10, 0x1C, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0xEE, 0x00,
                                   0x3C, 0x00, 0x02, 'c', '1', 0x00, 0x01, 'w', 0x00, 0x03, 'b',
                                   'y', 'e', 0x00, 0x01, 'u', 0x00, 0x01, 'p'};
    struct fw_mqtt_connect c;
    uint8_t buf[64];
    size_t n;
    memset(&c, 0, sizeof(c));
    c.client_id = "c1";
    c.keep_alive_s = 60;
    c.clean_session = true;
    c.will_topic = "w";
    c.will_payload = (const uint8_t *)"bye";
    c.will_payload_len = 3;
    c.will_qos = 1;
    c.will_retain = true;
    c.username = "u";
    c.password = (const uint8_t *)"p";
    c.password_len = 1;
    assert_int_equal(fw_mqtt_encode_connect(&c, buf, sizeof(buf), &n), FW_MQTT_OK);
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
}

static void test_connect_rejects(void **state)
{
    struct fw_mqtt_connect c;
    uint8_t buf[64];
    size_t n;
    memset(&c, 0, sizeof(c));
    c.client_id = "";
    assert_int_equal(fw_mqtt_encode_connect(&c, buf, sizeof(buf), &n), FW_MQTT_BAD_ARG);
    c.client_id = "x";
    c.password = (const uint8_t *)"p";
    c.password_len = 1;
    assert_int_equal(fw_mqtt_encode_connect(&c, buf, sizeof(buf), &n), FW_MQTT_BAD_ARG);
    c.password = NULL;
    c.will_topic = "a/+";
    assert_int_equal(fw_mqtt_encode_connect(&c, buf, sizeof(buf), &n), FW_MQTT_BAD_ARG);
    c.will_topic = "a";
    c.will_qos = 2;
    assert_int_equal(fw_mqtt_encode_connect(&c, buf, sizeof(buf), &n), FW_MQTT_BAD_ARG);
    assert_int_equal(fw_mqtt_encode_connect(NULL, buf, sizeof(buf), &n), FW_MQTT_BAD_ARG);
}

static void test_publish_exact(void **state)
{
    static const uint8_t want1[] = {0x32, 0x09, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A, 'h', 'i'};
    static const uint8_t want0[] = {0x31, 0x05, 0x00, 0x01, 't', 'h', 'i'};
    static const uint8_t wantdup[] = {0x3A, 0x07, 0x00, 0x01, 't', 0x12, 0x34, 'h', 'i'};
    struct fw_mqtt_publish p;
    uint8_t buf[64];
    size_t n;
    memset(&p, 0, sizeof(p));
    p.topic = "a/b";
    p.topic_len = 3;
    p.payload = (const uint8_t *)"hi";
    p.payload_len = 2;
    p.qos = 1;
    p.packet_id = 10;
    assert_int_equal(fw_mqtt_encode_publish(&p, buf, sizeof(buf), &n), FW_MQTT_OK);
    assert_int_equal(n, sizeof(want1));
    assert_memory_equal(buf, want1, sizeof(want1));
    assert_int_equal(fw_mqtt_encode_publish_header(&p, buf, sizeof(buf), &n), FW_MQTT_OK);
    assert_int_equal(n, sizeof(want1) - 2); /* everything but the payload */
    assert_memory_equal(buf, want1, n);
    p.topic = "t";
    p.topic_len = 1;
    p.qos = 0;
    p.packet_id = 0;
    p.retain = true;
    assert_int_equal(fw_mqtt_encode_publish(&p, buf, sizeof(buf), &n), FW_MQTT_OK);
    assert_int_equal(n, sizeof(want0));
    assert_memory_equal(buf, want0, sizeof(want0));
    p.retain = false;
    p.qos = 1;
    p.dup = true;
    p.packet_id = 0x1234;
    assert_int_equal(fw_mqtt_encode_publish(&p, buf, sizeof(buf), &n), FW_MQTT_OK);
    assert_memory_equal(buf, wantdup, sizeof(wantdup));
}

static void test_publish_rejects(void **state)
{
    struct fw_mqtt_publish p;
    uint8_t buf[64];
    size_t n;
    memset(&p, 0, sizeof(p));
    p.topic = "a/#";
    p.topic_len = 3;
    assert_int_equal(fw_mqtt_encode_publish(&p, buf, sizeof(buf), &n), FW_MQTT_BAD_ARG);
    p.topic = "a";
    p.topic_len = 0;
    assert_int_equal(fw_mqtt_encode_publish(&p, buf, sizeof(buf), &n), FW_MQTT_BAD_ARG);
    p.topic_len = 1;
    p.qos = 1; /* needs a packet id */
    assert_int_equal(fw_mqtt_encode_publish(&p, buf, sizeof(buf), &n), FW_MQTT_BAD_ARG);
    p.packet_id = 1;
    p.qos = 2;
    assert_int_equal(fw_mqtt_encode_publish(&p, buf, sizeof(buf), &n), FW_MQTT_BAD_ARG);
    p.qos = 0;
    p.dup = true;
    assert_int_equal(fw_mqtt_encode_publish(&p, buf, sizeof(buf), &n), FW_MQTT_BAD_ARG);
    p.dup = false;
    p.payload_len = 5; /* with no payload pointer */
    assert_int_equal(fw_mqtt_encode_publish(&p, buf, sizeof(buf), &n), FW_MQTT_BAD_ARG);
    p.payload_len = FW_MQTT_MAX_REMAINING;
    assert_int_equal(fw_mqtt_encode_publish_header(&p, buf, sizeof(buf), &n), FW_MQTT_BAD_ARG);
}

/* 2.2.3: 127 -> 1 byte, 128 -> 2, 16383 -> 2, 16384 -> 3 */
static void test_remaining_length_boundaries(void **state)
{
    static const struct {
        size_t payload;
        uint8_t header[4];
        size_t header_len;
    } cases[] = {
        {124, {0x7F}, 1},
        {125, {0x80, 0x01}, 2},
        {16380, {0xFF, 0x7F}, 2},
        {16381, {0x80, 0x80, 0x01}, 3},
    };
    static uint8_t payload[16400];
    static uint8_t buf[16500];
    size_t i, n;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fw_mqtt_publish p;
        struct fw_mqtt_packet pkt;
        memset(&p, 0, sizeof(p));
        p.topic = "t";
        p.topic_len = 1;
        p.payload = payload;
        p.payload_len = cases[i].payload;
        assert_int_equal(fw_mqtt_encode_publish(&p, buf, sizeof(buf), &n), FW_MQTT_OK);
        assert_int_equal(buf[0], 0x30);
        assert_memory_equal(buf + 1, cases[i].header, cases[i].header_len);
        assert_int_equal(n, 1 + cases[i].header_len + 3 + cases[i].payload);
        assert_int_equal(fw_mqtt_decode(buf, n, &pkt), FW_MQTT_OK);
        assert_int_equal(pkt.publish.payload_len, cases[i].payload);
    }
    assert_int_equal(fw_mqtt_remaining_length_size(2097151u), 3);
    assert_int_equal(fw_mqtt_remaining_length_size(2097152u), 4);
    assert_int_equal(fw_mqtt_remaining_length_size(268435455u), 4);
    assert_int_equal(fw_mqtt_remaining_length_size(268435456u), 0);
}

static void test_subscribe_unsubscribe_exact(void **state)
{
    static const uint8_t want_sub[] = {0x82, 0x1A, 0x00, 0x01, 0x00, 0x0F, '/', 'b', 'u', 's', '/',
                                       '1', '/', 'c', 'o', 'm', 'm', 'a', 'n', 'd', 's', 0x01,
                                       0x00, 0x03, 'a', '/', '#', 0x00};
    static const uint8_t want_unsub[] = {0xA2, 0x07, 0x00, 0x02, 0x00, 0x03, 'a', '/', '#'};
    const struct fw_mqtt_subscription subs[] = {{"/bus/1/commands", 1}, {"a/#", 0}};
    const char *const filters[] = {"a/#"};
    const struct fw_mqtt_subscription bad[] = {{"", 0}};
    const struct fw_mqtt_subscription bad_qos[] = {{"a", 2}};
    uint8_t buf[64];
    size_t n;
    assert_int_equal(fw_mqtt_encode_subscribe(1, subs, 2, buf, sizeof(buf), &n), FW_MQTT_OK);
    assert_int_equal(n, sizeof(want_sub));
    assert_memory_equal(buf, want_sub, sizeof(want_sub));
    assert_int_equal(fw_mqtt_encode_unsubscribe(2, filters, 1, buf, sizeof(buf), &n), FW_MQTT_OK);
    assert_int_equal(n, sizeof(want_unsub));
    assert_memory_equal(buf, want_unsub, sizeof(want_unsub));
    assert_int_equal(fw_mqtt_encode_subscribe(0, subs, 2, buf, sizeof(buf), &n), FW_MQTT_BAD_ARG);
    assert_int_equal(fw_mqtt_encode_subscribe(1, subs, 0, buf, sizeof(buf), &n), FW_MQTT_BAD_ARG);
    assert_int_equal(fw_mqtt_encode_subscribe(1, bad, 1, buf, sizeof(buf), &n), FW_MQTT_BAD_ARG);
    assert_int_equal(fw_mqtt_encode_subscribe(1, bad_qos, 1, buf, sizeof(buf), &n), FW_MQTT_BAD_ARG);
    assert_int_equal(fw_mqtt_encode_subscribe(1, subs, 2, buf, 10, &n), FW_MQTT_NO_SPACE);
}

static void test_small_packets_exact(void **state)
{
    uint8_t buf[8];
    size_t n;
    assert_int_equal(fw_mqtt_encode_puback(10, buf, sizeof(buf), &n), FW_MQTT_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "\x40\x02\x00\x0A", 4);
    assert_int_equal(fw_mqtt_encode_puback(0, buf, sizeof(buf), &n), FW_MQTT_BAD_ARG);
    assert_int_equal(fw_mqtt_encode_pingreq(buf, sizeof(buf), &n), FW_MQTT_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(buf, "\xC0\x00", 2);
    assert_int_equal(fw_mqtt_encode_disconnect(buf, sizeof(buf), &n), FW_MQTT_OK);
    assert_memory_equal(buf, "\xE0\x00", 2);
    assert_int_equal(fw_mqtt_encode_pingreq(buf, 1, &n), FW_MQTT_NO_SPACE);
}

/* ---- decoding ------------------------------------------------------------ */

struct decode_case {
    const char *bytes;
    size_t len;
    enum fw_mqtt_status want;
};

#define DC(lit, status) {lit, sizeof(lit) - 1, status}

static void test_decode_rules(void **state)
{
    static const struct decode_case cases[] = {
        DC("\x20\x02\x00\x00", FW_MQTT_OK),
        DC("\x20\x02\x01\x00", FW_MQTT_OK),
        DC("\x20\x02\x00\x05", FW_MQTT_OK),
        DC("\x20\x02\x00\x06", FW_MQTT_MALFORMED),      /* unknown return code */
        DC("\x20\x02\x02\x00", FW_MQTT_MALFORMED),      /* reserved ack flag */
        DC("\x20\x02\x01\x05", FW_MQTT_MALFORMED),      /* refused with a session */
        DC("\x21\x02\x00\x00", FW_MQTT_MALFORMED),      /* reserved header flag */
        DC("\x20\x03\x00\x00\x00", FW_MQTT_MALFORMED),  /* wrong length */
        DC("\x20\x02\x00", FW_MQTT_NEED_MORE),
        DC("\x20\x02\x00\x00\x00", FW_MQTT_MALFORMED),  /* trailing byte */
        DC("\x30\x04\x00\x01t!", FW_MQTT_OK),
        DC("\x30\x03\x00\x01t", FW_MQTT_OK),            /* empty payload */
        DC("\x36\x05\x00\x01t\x00\x01", FW_MQTT_MALFORMED), /* QoS 3 */
        DC("\x38\x04\x00\x01t!", FW_MQTT_MALFORMED),    /* DUP with QoS 0 */
        DC("\x30\x04\x00\x05t!", FW_MQTT_MALFORMED),    /* topic beyond the packet */
        DC("\x30\x02\x00\x00", FW_MQTT_MALFORMED),      /* empty topic */
        DC("\x30\x04\x00\x01#!", FW_MQTT_MALFORMED),    /* wildcard in a topic name */
        DC("\x32\x05\x00\x01t\x00\x00", FW_MQTT_MALFORMED), /* packet id 0 */
        DC("\x32\x04\x00\x01t\x00", FW_MQTT_MALFORMED), /* id cut short */
        DC("\x40\x02\x00\x07", FW_MQTT_OK),
        DC("\x40\x02\x00\x00", FW_MQTT_MALFORMED),
        DC("\x62\x02\x00\x07", FW_MQTT_OK),             /* PUBREL needs flags 2 */
        DC("\x60\x02\x00\x07", FW_MQTT_MALFORMED),
        DC("\x90\x04\x00\x01\x01\x80", FW_MQTT_OK),
        DC("\x90\x03\x00\x01\x03", FW_MQTT_MALFORMED),  /* granted QoS 3 */
        DC("\x90\x02\x00\x01", FW_MQTT_MALFORMED),      /* no return codes */
        DC("\xB0\x02\x00\x01", FW_MQTT_OK),
        DC("\xD0\x00", FW_MQTT_OK),
        DC("\xD0\x01\x00", FW_MQTT_MALFORMED),
        DC("\x10\x00", FW_MQTT_UNEXPECTED),             /* CONNECT from a server */
        DC("\xC0\x00", FW_MQTT_UNEXPECTED),
        DC("\x00\x00", FW_MQTT_MALFORMED),              /* reserved type 0 */
        DC("\xF0\x00", FW_MQTT_MALFORMED),              /* reserved type 15 */
        DC("\x30\xFF\xFF\xFF\xFF\x01", FW_MQTT_MALFORMED), /* five length bytes */
    };
    size_t i;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fw_mqtt_packet pkt;
        enum fw_mqtt_status got = fw_mqtt_decode((const uint8_t *)cases[i].bytes, cases[i].len, &pkt);
        if (got != cases[i].want)
            fail_msg("case %zu: got %s, want %s", i, fw_mqtt_status_str(got),
                     fw_mqtt_status_str(cases[i].want));
    }
}

static void test_decode_fields(void **state)
{
    struct fw_mqtt_packet pkt;
    assert_int_equal(fw_mqtt_decode((const uint8_t *)"\x20\x02\x01\x00", 4, &pkt), FW_MQTT_OK);
    assert_int_equal(pkt.type, FW_MQTT_CONNACK);
    assert_true(pkt.session_present);
    assert_int_equal(pkt.return_code, 0);
    assert_int_equal(fw_mqtt_decode((const uint8_t *)"\x3B\x0A\x00\x03" "a/b" "\x12\x34" "xyz", 12,
                                    &pkt), FW_MQTT_OK);
    assert_int_equal(pkt.type, FW_MQTT_PUBLISH);
    assert_int_equal(pkt.publish.qos, 1);
    assert_true(pkt.publish.dup);
    assert_true(pkt.publish.retain);
    assert_int_equal(pkt.packet_id, 0x1234);
    assert_int_equal(pkt.publish.topic_len, 3);
    assert_memory_equal(pkt.publish.topic, "a/b", 3);
    assert_int_equal(pkt.publish.payload_len, 3);
    assert_memory_equal(pkt.publish.payload, "xyz", 3);
    assert_int_equal(fw_mqtt_decode((const uint8_t *)"\x90\x05\x00\x09\x01\x00\x80", 7, &pkt),
                     FW_MQTT_OK);
    assert_int_equal(pkt.packet_id, 9);
    assert_int_equal(pkt.suback_count, 3);
    assert_memory_equal(pkt.suback_codes, "\x01\x00\x80", 3);
}

/* A server's byte stream: CONNACK, SUBACK, a 300-byte QoS 1 PUBLISH, PINGRESP */
static size_t build_stream(uint8_t *out, size_t cap)
{
    static uint8_t payload[300];
    struct fw_mqtt_publish p;
    size_t n = 0, len;
    memcpy(out + n, "\x20\x02\x00\x00", 4);
    n += 4;
    memcpy(out + n, "\x90\x03\x00\x01\x01", 5);
    n += 5;
    memset(payload, 'p', sizeof(payload));
    payload[0] = 0x30; /* looks like a header: must not matter */
    memset(&p, 0, sizeof(p));
    p.topic = "/bus/1/commands";
    p.topic_len = 15;
    p.payload = payload;
    p.payload_len = sizeof(payload);
    p.qos = 1;
    p.packet_id = 77;
    assert_int_equal(fw_mqtt_encode_publish(&p, out + n, cap - n, &len), FW_MQTT_OK);
    n += len;
    memcpy(out + n, "\xD0\x00", 2);
    n += 2;
    return n;
}

static void feed_stream(struct fw_mqtt_rx *rx, const uint8_t *data, size_t len, size_t chunk,
                        enum fw_mqtt_type *types, enum fw_mqtt_status *events, size_t *count)
{
    size_t off = 0;
    while (off < len) {
        size_t piece = chunk == 0 || chunk > len - off ? len - off : chunk;
        size_t pos = 0;
        while (pos < piece) {
            size_t used;
            enum fw_mqtt_status st = fw_mqtt_rx_feed(rx, data + off + pos, piece - pos, &used);
            pos += used;
            if (st == FW_MQTT_NEED_MORE)
                continue;
            events[*count] = st;
            types[*count] = 0;
            if (st == FW_MQTT_OK) {
                size_t plen;
                struct fw_mqtt_packet pkt;
                const uint8_t *pb = fw_mqtt_rx_packet(rx, &plen);
                assert_non_null(pb);
                assert_int_equal(fw_mqtt_decode(pb, plen, &pkt), FW_MQTT_OK);
                types[*count] = pkt.type;
                if (pkt.type == FW_MQTT_PUBLISH) {
                    assert_int_equal(pkt.publish.payload_len, 300);
                    assert_int_equal(pkt.packet_id, 77);
                }
            }
            (*count)++;
            if (st == FW_MQTT_MALFORMED)
                return;
        }
        off += piece;
    }
}

static void test_framing_any_chunking(void **state)
{
    static uint8_t stream[512];
    size_t len = build_stream(stream, sizeof(stream)), c;
    for (c = 0; c < 5; c++) {
        uint8_t buf[400];
        struct fw_mqtt_rx rx;
        enum fw_mqtt_type types[8];
        enum fw_mqtt_status events[8];
        size_t count = 0;
        assert_int_equal(fw_mqtt_rx_init(&rx, buf, sizeof(buf)), FW_MQTT_OK);
        feed_stream(&rx, stream, len, chunks[c], types, events, &count);
        assert_int_equal(count, 4);
        assert_int_equal(types[0], FW_MQTT_CONNACK);
        assert_int_equal(types[1], FW_MQTT_SUBACK);
        assert_int_equal(types[2], FW_MQTT_PUBLISH);
        assert_int_equal(types[3], FW_MQTT_PINGRESP);
    }
}

/* a receive buffer of 64 bytes: the 300-byte PUBLISH is reported and skipped */
static void test_framing_skips_oversized(void **state)
{
    static uint8_t stream[512];
    size_t len = build_stream(stream, sizeof(stream)), c;
    for (c = 0; c < 5; c++) {
        uint8_t buf[64];
        struct fw_mqtt_rx rx;
        enum fw_mqtt_type types[8];
        enum fw_mqtt_status events[8];
        size_t count = 0;
        assert_int_equal(fw_mqtt_rx_init(&rx, buf, sizeof(buf)), FW_MQTT_OK);
        feed_stream(&rx, stream, len, chunks[c], types, events, &count);
        assert_int_equal(count, 4);
        assert_int_equal(types[0], FW_MQTT_CONNACK);
        assert_int_equal(types[1], FW_MQTT_SUBACK);
        assert_int_equal(events[2], FW_MQTT_TOO_LARGE);
        assert_int_equal(types[3], FW_MQTT_PINGRESP);
    }
}

static void test_framing_malformed_length_is_final(void **state)
{
    static const uint8_t bad[] = {0xD0, 0x00, 0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0xD0, 0x00};
    size_t c;
    for (c = 0; c < 5; c++) {
        uint8_t buf[64];
        struct fw_mqtt_rx rx;
        enum fw_mqtt_type types[8];
        enum fw_mqtt_status events[8];
        size_t count = 0, used;
        assert_int_equal(fw_mqtt_rx_init(&rx, buf, sizeof(buf)), FW_MQTT_OK);
        feed_stream(&rx, bad, sizeof(bad), chunks[c], types, events, &count);
        assert_int_equal(count, 2);
        assert_int_equal(types[0], FW_MQTT_PINGRESP);
        assert_int_equal(events[1], FW_MQTT_MALFORMED);
        assert_int_equal(fw_mqtt_rx_feed(&rx, bad, 2, &used), FW_MQTT_MALFORMED);
    }
}

static void test_status_strings(void **state)
{
    int s;
    uint8_t buf[4];
    struct fw_mqtt_rx rx;
    for (s = FW_MQTT_OK; s <= FW_MQTT_TOO_LARGE; s++)
        assert_string_not_equal(fw_mqtt_status_str((enum fw_mqtt_status)s), "unknown status");
    assert_string_equal(fw_mqtt_status_str((enum fw_mqtt_status)42), "unknown status");
    assert_int_equal(fw_mqtt_rx_init(&rx, buf, sizeof(buf)), FW_MQTT_BAD_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_minimal),
        cmocka_unit_test(test_connect_full),
        cmocka_unit_test(test_connect_rejects),
        cmocka_unit_test(test_publish_exact),
        cmocka_unit_test(test_publish_rejects),
        cmocka_unit_test(test_remaining_length_boundaries),
        cmocka_unit_test(test_subscribe_unsubscribe_exact),
        cmocka_unit_test(test_small_packets_exact),
        cmocka_unit_test(test_decode_rules),
        cmocka_unit_test(test_decode_fields),
        cmocka_unit_test(test_framing_any_chunking),
        cmocka_unit_test(test_framing_skips_oversized),
        cmocka_unit_test(test_framing_malformed_length_is_final),
        cmocka_unit_test(test_status_strings),
    };
    return cmocka_run_group_tests_name("fw_mqtt", tests, NULL, NULL);
}
