/*
 * test_fw_sim7600_tcp.c - the modem's raw TCP sockets through AT+CIP*:
 * golden transcripts for open (fresh, network already open, DNS failure),
 * send (confirmed, peer gone, window full), receive (data holding CR/LF
 * and "OK", nothing waiting, an error) and close, replayed at read sizes
 * 1, 2, 7, 64 and whole; argument checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_port.h"
#include "fw_sim7600_tcp.h"

struct exchange {
    const char *tx;
    const char *rx;
    size_t tx_len; /* 0: strlen(tx) */
    size_t rx_len; /* 0: strlen(rx) */
};

struct rig {
    struct fake_port fake;
    struct fw_sim7600 modem;
    struct fw_sim7600_tcp tcp;
    char line_buf[128];
    char tx_buf[128];
    char topic_buf[16];
    uint8_t payload_buf[16];
};

static void rig_init(struct rig *r, size_t chunk)
{
    memset(r, 0, sizeof(*r));
    fake_port_init(&r->fake, chunk, 8);
    FAKE_SIM7600_INIT(r, NULL, NULL);
    fw_sim7600_tcp_init(&r->tcp, &r->modem, 0);
}

static enum fw_sim7600_tcp_status drive(struct rig *r, enum fw_sim7600_tcp_status started,
                                        const struct exchange *ex, size_t n)
{
    enum fw_sim7600_tcp_status st = started;
    size_t next = 0;
    unsigned i;
    for (i = 0; i < 100000u && st == FW_SIM7600_TCP_BUSY; i++) {
        struct fake_port *f = &r->fake;
        size_t want = next < n ? (ex[next].tx_len ? ex[next].tx_len : strlen(ex[next].tx)) : 0;
        if (next < n && f->tx_len - f->tx_checked >= want) {
            assert_true(fake_port_expect_tx(f, ex[next].tx, want));
            fake_port_push(f, ex[next].rx, ex[next].rx_len ? ex[next].rx_len : strlen(ex[next].rx));
            fake_port_deliver(f, fw_sim7600_at(&r->modem));
            next++;
        }
        fake_port_advance(f, 5);
        st = fw_sim7600_tcp_poll(&r->tcp);
    }
    assert_int_equal(next, n);
    assert_int_equal(r->fake.tx_len, r->fake.tx_checked);
    return st;
}

static void open_link(struct rig *r)
{
    static const struct exchange ex[] = {
        {"AT+CIPRXGET=1\r", "\r\nOK\r\n", 0, 0},
        {"AT+NETOPEN\r", "\r\nOK\r\n\r\n+NETOPEN: 0\r\n", 0, 0},
        {"AT+CIPOPEN=0,\"TCP\",\"broker.local\",8883\r", "\r\nOK\r\n\r\n+CIPOPEN: 0,0\r\n", 0, 0},
    };
    assert_int_equal(drive(r, fw_sim7600_tcp_open(&r->tcp, 0, "broker.local", 8883), ex, 3),
                     FW_SIM7600_TCP_OK);
}

static void test_open(void **state)
{
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        rig_init(&r, fake_chunk_sizes[c]);
        open_link(&r);
    }
}

static void test_open_with_network_up_and_dns_failure(void **state)
{
    static const struct exchange ex[] = {
        {"AT+CIPRXGET=1\r", "\r\nOK\r\n", 0, 0},
        {"AT+NETOPEN\r", "\r\n+IP ERROR: Network is already opened\r\n\r\nERROR\r\n", 0, 0},
        {"AT+CIPOPEN=3,\"TCP\",\"nowhere.invalid\",443\r", "\r\nOK\r\n\r\n+CIPOPEN: 3,11\r\n", 0, 0},
    };
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        rig_init(&r, fake_chunk_sizes[c]);
        assert_int_equal(drive(&r, fw_sim7600_tcp_open(&r.tcp, 3, "nowhere.invalid", 443), ex, 3),
                         FW_SIM7600_TCP_FAILED);
        assert_int_equal(fw_sim7600_tcp_error(&r.tcp), 11); /* DNS parse failed */
    }
}

static void test_netopen_failure(void **state)
{
    static const struct exchange ex[] = {
        {"AT+CIPRXGET=1\r", "\r\nOK\r\n", 0, 0},
        {"AT+NETOPEN\r", "\r\nOK\r\n\r\n+NETOPEN: 1\r\n", 0, 0},
    };
    struct rig r;
    rig_init(&r, 7);
    assert_int_equal(drive(&r, fw_sim7600_tcp_open(&r.tcp, 0, "h", 1), ex, 2), FW_SIM7600_TCP_FAILED);
    assert_int_equal(fw_sim7600_tcp_error(&r.tcp), 1);
}

static void test_send(void **state)
{
    static const uint8_t tls[] = {0x16, 0x03, 0x01, '\r', '\n'};
    static const struct {
        const char *answer;
        enum fw_sim7600_tcp_status want;
    } cases[] = {
        {"\r\nOK\r\n\r\n+CIPSEND: 0,5,5\r\n", FW_SIM7600_TCP_OK},
        {"\r\nOK\r\n\r\n+CIPSEND: 0,5,-1\r\n", FW_SIM7600_TCP_CLOSED},
        {"\r\nOK\r\n\r\n+CIPSEND: 0,5,0\r\n", FW_SIM7600_TCP_FAILED},
        {"\r\n+CIPERROR: 4\r\n\r\nERROR\r\n", FW_SIM7600_TCP_FAILED},
    };
    size_t i, c;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (c = 0; c < 5; c++) {
            struct rig r;
            const struct exchange ex[] = {
                {"AT+CIPSEND=0,5\r", "\r\n>", 0, 0},
                {"\x16\x03\x01\r\n", cases[i].answer, 5, 0},
            };
            rig_init(&r, fake_chunk_sizes[c]);
            open_link(&r);
            assert_int_equal(drive(&r, fw_sim7600_tcp_send(&r.tcp, tls, sizeof(tls)), ex, 2),
                             cases[i].want);
        }
    }
}

static void test_receive(void **state)
{
    static const char data_answer[] = "\r\n+CIPRXGET: 2,0,6,10\r\n\x17\x03\r\nOK\r\nOK\r\n";
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        uint8_t buf[64];
        int32_t rest;
        const struct exchange data[] = {
            {"AT+CIPRXGET=2,0,64\r", data_answer, 0, sizeof(data_answer) - 1},
        };
        const struct exchange none[] = {
            {"AT+CIPRXGET=2,0,64\r", "\r\n+IP ERROR: No data\r\n\r\nERROR\r\n", 0, 0},
        };
        const struct exchange bad[] = {
            {"AT+CIPRXGET=2,0,64\r", "\r\n+IP ERROR: Invalid parameter\r\n\r\nERROR\r\n", 0, 0},
        };
        rig_init(&r, fake_chunk_sizes[c]);
        open_link(&r);
        fake_port_push_str(&r.fake, "\r\n+CIPRXGET: 1,0\r\n");
        fake_port_deliver(&r.fake, fw_sim7600_at(&r.modem));
        assert_int_equal(fw_sim7600_take_events(&r.modem), FW_SIM7600_EV_TCP_DATA);
        assert_int_equal(drive(&r, fw_sim7600_tcp_receive(&r.tcp, buf, sizeof(buf)), data, 1),
                         FW_SIM7600_TCP_OK);
        assert_int_equal(fw_sim7600_tcp_received(&r.tcp, &rest), 6);
        assert_int_equal(rest, 10);
        assert_memory_equal(buf, "\x17\x03\r\nOK", 6);
        assert_int_equal(drive(&r, fw_sim7600_tcp_receive(&r.tcp, buf, sizeof(buf)), none, 1),
                         FW_SIM7600_TCP_OK);
        assert_int_equal(fw_sim7600_tcp_received(&r.tcp, NULL), 0);
        assert_int_equal(drive(&r, fw_sim7600_tcp_receive(&r.tcp, buf, sizeof(buf)), bad, 1),
                         FW_SIM7600_TCP_FAILED);
    }
}

/* the modem sends more than was asked for: discarded, reported */
static void test_receive_overrun(void **state)
{
    static const char answer[] = "\r\n+CIPRXGET: 2,0,8,0\r\n12345678\r\nOK\r\n";
    struct rig r;
    uint8_t buf[4];
    const struct exchange ex[] = {{"AT+CIPRXGET=2,0,4\r", answer, 0, 0}};
    rig_init(&r, 2);
    open_link(&r);
    assert_int_equal(drive(&r, fw_sim7600_tcp_receive(&r.tcp, buf, sizeof(buf)), ex, 1),
                     FW_SIM7600_TCP_FAILED);
    assert_int_equal(fw_sim7600_tcp_error(&r.tcp), -2);
    assert_int_equal(fw_at_stats(fw_sim7600_at(&r.modem))->unhandled, 0);
}

static void test_close(void **state)
{
    static const struct exchange open_one[] = {{"AT+CIPCLOSE=0\r", "\r\nOK\r\n\r\n+CIPCLOSE: 0,0\r\n", 0, 0}};
    static const struct exchange gone[] = {{"AT+CIPCLOSE=0\r", "\r\n+CIPCLOSE: 0,4\r\n\r\nERROR\r\n", 0, 0}};
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        rig_init(&r, fake_chunk_sizes[c]);
        open_link(&r);
        assert_int_equal(drive(&r, fw_sim7600_tcp_close(&r.tcp), open_one, 1), FW_SIM7600_TCP_OK);
        assert_int_equal(drive(&r, fw_sim7600_tcp_close(&r.tcp), gone, 1), FW_SIM7600_TCP_OK);
    }
}

static void test_arguments(void **state)
{
    static uint8_t big[FW_SIM7600_TCP_CHUNK_MAX + 1];
    struct rig r;
    int s;
    rig_init(&r, 64);
    assert_int_equal(fw_sim7600_tcp_send(&r.tcp, big, 1), FW_SIM7600_TCP_BAD_ARG); /* not open */
    assert_int_equal(fw_sim7600_tcp_open(&r.tcp, 10, "h", 1), FW_SIM7600_TCP_BAD_ARG);
    assert_int_equal(fw_sim7600_tcp_open(&r.tcp, 0, "a\"b", 1), FW_SIM7600_TCP_BAD_ARG);
    assert_int_equal(fw_sim7600_tcp_open(&r.tcp, 0, "h", 0), FW_SIM7600_TCP_BAD_ARG);
    open_link(&r);
    assert_int_equal(fw_sim7600_tcp_send(&r.tcp, big, sizeof(big)), FW_SIM7600_TCP_BAD_ARG);
    assert_int_equal(fw_sim7600_tcp_receive(&r.tcp, big, 0), FW_SIM7600_TCP_BAD_ARG);
    assert_int_equal(fw_sim7600_tcp_send(&r.tcp, big, 1), FW_SIM7600_TCP_BUSY);
    assert_int_equal(fw_sim7600_tcp_close(&r.tcp), FW_SIM7600_TCP_BUSY);
    for (s = FW_SIM7600_TCP_OK; s <= FW_SIM7600_TCP_BAD_ARG; s++)
        assert_string_not_equal(fw_sim7600_tcp_status_str((enum fw_sim7600_tcp_status)s),
                                "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open),
        cmocka_unit_test(test_open_with_network_up_and_dns_failure),
        cmocka_unit_test(test_netopen_failure),
        cmocka_unit_test(test_send),
        cmocka_unit_test(test_receive),
        cmocka_unit_test(test_receive_overrun),
        cmocka_unit_test(test_close),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests_name("fw_sim7600_tcp", tests, NULL, NULL);
}
