/*
 * test_fw_chat.c - the AT script runner driving a SIM7600 bring-up against
 * a scripted modem that is silent while booting, echoes until ATE0, reports
 * a busy SIM and searches for the network before registering; replayed at
 * read sizes 1, 2, 7, 64 and whole on a virtual clock crossing the wrap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_port.h"
#include "fw_chat.h"

static bool cpin_ready(const char *line, size_t len)
{
    return len == 12 && memcmp(line, "+CPIN: READY", 12) == 0;
}

/* +CGREG: <n>,<stat>: registered when stat is 1 (home) or 5 (roaming) */
static bool registered(const char *line, size_t len)
{
    int32_t stat;
    return len > 7 && memcmp(line, "+CGREG:", 7) == 0 && fw_at_arg_int(line, len, 1, &stat) &&
           (stat == 1 || stat == 5);
}

static const struct fw_chat_step bringup[] = {
    {"AT", NULL, NULL, 500, 10, 200},
    {"ATE0", NULL, NULL, 1000, 1, 0},
    {"AT+CMEE=2", NULL, NULL, 1000, 1, 0},
    {"AT+CPIN?", NULL, cpin_ready, 1000, 10, 1000},
    {"AT+CGREG?", NULL, registered, 1000, 30, 1000},
};

/* What the modem answers to each command it receives, in order. */
struct exchange {
    const char *tx;
    const char *rx; /* NULL: no answer at all */
};

struct rig {
    struct fake_port fake;
    struct fw_at at;
    char line_buf[96];
    char tx_buf[64];
    struct fw_chat chat;
};

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
    assert_int_equal(fw_at_init(&r->at, &cfg), FW_AT_IDLE);
}

/* Run the script against the exchanges; returns the final status and the
 * number of exchanges used in *used. */
static enum fw_chat_status run(struct rig *r, const struct exchange *ex, size_t n, size_t *used)
{
    enum fw_chat_status st = fw_chat_start(&r->chat, &r->at, bringup,
                                           sizeof(bringup) / sizeof(bringup[0]));
    size_t next = 0;
    unsigned i;
    for (i = 0; i < 200000u && st == FW_CHAT_RUNNING; i++) {
        struct fake_port *f = &r->fake;
        if (next < n && f->tx_len - f->tx_checked >= strlen(ex[next].tx)) {
            assert_true(fake_port_expect_tx(f, ex[next].tx, strlen(ex[next].tx)));
            if (ex[next].rx != NULL) {
                fake_port_push_str(f, ex[next].rx);
                fake_port_deliver(f, &r->at);
            }
            next++;
        }
        fake_port_advance(f, 10);
        st = fw_chat_poll(&r->chat);
    }
    *used = next;
    return st;
}

static void test_bringup_with_retries(void **state)
{
    static const struct exchange ex[] = {
        {"AT\r", NULL},                                   /* still booting */
        {"AT\r", "\r\nRDY\r\n"},                          /* boot URC, no answer yet */
        {"AT\r", "AT\r\r\nOK\r\n"},                       /* echo on by default */
        {"ATE0\r", "ATE0\r\r\nOK\r\n"},
        {"AT+CMEE=2\r", "\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nOK\r\n"},
        {"AT+CPIN?\r", "\r\n+CME ERROR: SIM busy\r\n"},
        {"AT+CPIN?\r", "\r\n+CPIN: READY\r\n\r\nOK\r\n"},
        {"AT+CGREG?\r", "\r\n+CGREG: 0,2\r\n\r\nOK\r\n"}, /* searching */
        {"AT+CGREG?\r", "\r\n+CGREG: 0,0\r\n\r\nOK\r\n"},
        {"AT+CGREG?\r", "\r\n+CGREG: 0,5\r\n\r\nOK\r\n"}, /* roaming counts */
    };
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        size_t used;
        rig_init(&r, fake_chunk_sizes[c]);
        assert_int_equal(run(&r, ex, sizeof(ex) / sizeof(ex[0]), &used), FW_CHAT_DONE);
        assert_int_equal(used, sizeof(ex) / sizeof(ex[0]));
        assert_int_equal(r.fake.tx_len, r.fake.tx_checked); /* nothing else was sent */
        assert_true(r.fake.now < 0xFFFFF000u);             /* the clock wrapped meanwhile */
    }
}

static void test_bringup_fails_without_sim(void **state)
{
    struct exchange ex[14];
    struct fw_at_result result;
    struct rig r;
    size_t i, used;
    ex[0].tx = "AT\r";
    ex[0].rx = "\r\nOK\r\n";
    ex[1].tx = "ATE0\r";
    ex[1].rx = "\r\nOK\r\n";
    ex[2].tx = "AT+CMEE=2\r";
    ex[2].rx = "\r\nOK\r\n";
    for (i = 3; i < 13; i++) {
        ex[i].tx = "AT+CPIN?\r";
        ex[i].rx = "\r\n+CME ERROR: 10\r\n";
    }
    ex[13].tx = "AT+CGREG?\r";
    ex[13].rx = "\r\nOK\r\n";
    rig_init(&r, 7);
    assert_int_equal(run(&r, ex, 14, &used), FW_CHAT_FAILED);
    assert_int_equal(used, 13); /* ten tries of AT+CPIN?, then it gave up */
    assert_int_equal(fw_chat_failure(&r.chat, &result), 3);
    assert_int_equal(result.status, FW_AT_CME_ERROR);
    assert_int_equal(result.error_code, 10);
}

/* OK without the required line is not success: AT+CPIN? answering SIM PIN */
static void test_check_must_accept_a_line(void **state)
{
    static const struct fw_chat_step one[] = {{"AT+CPIN?", NULL, cpin_ready, 1000, 2, 100}};
    struct rig r;
    struct fw_at_result result;
    unsigned i;
    enum fw_chat_status st;
    rig_init(&r, 64);
    assert_int_equal(fw_chat_start(&r.chat, &r.at, one, 1), FW_CHAT_RUNNING);
    for (i = 0, st = FW_CHAT_RUNNING; i < 1000 && st == FW_CHAT_RUNNING; i++) {
        if (r.fake.tx_len - r.fake.tx_checked >= 9) {
            assert_true(fake_port_expect_tx(&r.fake, "AT+CPIN?\r", 9));
            fake_port_push_str(&r.fake, "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n");
        }
        fake_port_advance(&r.fake, 10);
        st = fw_chat_poll(&r.chat);
    }
    assert_int_equal(st, FW_CHAT_FAILED);
    assert_int_equal(fw_chat_failure(&r.chat, &result), 0);
    assert_int_equal(result.status, FW_AT_OK);
}

static void test_bad_arguments(void **state)
{
    static const struct fw_chat_step no_cmd[] = {{NULL, NULL, NULL, 0, 0, 0}};
    struct rig r;
    int s;
    rig_init(&r, 64);
    assert_int_equal(fw_chat_start(&r.chat, &r.at, bringup, 0), FW_CHAT_BAD_ARG);
    assert_int_equal(fw_chat_start(&r.chat, &r.at, no_cmd, 1), FW_CHAT_BAD_ARG);
    assert_int_equal(fw_chat_poll(NULL), FW_CHAT_BAD_ARG);
    for (s = FW_CHAT_RUNNING; s <= FW_CHAT_BAD_ARG; s++)
        assert_string_not_equal(fw_chat_status_str((enum fw_chat_status)s), "unknown status");
    assert_string_equal(fw_chat_status_str((enum fw_chat_status)9), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bringup_with_retries),
        cmocka_unit_test(test_bringup_fails_without_sim),
        cmocka_unit_test(test_check_must_accept_a_line),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests_name("fw_chat", tests, NULL, NULL);
}
