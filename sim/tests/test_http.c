/*
 * §6 HTTP(S) client: argument and state errors as exact transcripts, and real
 * GET requests against a threaded HTTP/HTTPS server (Content-Length, chunked,
 * close-delimited bodies, 404, big bodies read in parts, cache limit,
 * connection refused, DNS failure, TLS failures, receive timeout on the
 * virtual clock).
 */
#include "http_server.h"
#include "simtest.h"
#include "vclock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define STEPS(a) (a), (sizeof(a) / sizeof((a)[0]))
/* Real-time hang guard for one expected answer; never a timing assertion. */
#define GUARD_MS 5000

static void arguments_and_state_errors(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        { .send = "ATE0\r", .expect = "ATE0\r\r\nOK\r\n" },
        /* nothing before AT+HTTPINIT */
        { .send = "AT+HTTPPARA=\"URL\",\"http://127.0.0.1/\"\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPACTION=0\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPREAD?\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPHEAD\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPTERM\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPINIT\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+HTTPINIT\r", .expect = "\r\nERROR\r\n" },
        /* no URL yet */
        { .send = "AT+HTTPACTION=0\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPPARA=\"URL\",\"ftp://127.0.0.1/\"\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPPARA=\"URL\",\"http://:80/\"\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPPARA=\"URL\",\"http://h:0/\"\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPPARA=\"URL\",\"http://h:70000/\"\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPPARA=\"URL\"\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPPARA=\"CONNECTTO\",19\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPPARA=\"CONNECTTO\",121\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPPARA=\"CONNECTTO\",20\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+HTTPPARA=\"RECVTO\",1\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPPARA=\"RECVTO\",2\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+HTTPPARA=\"SSLCFG\",10\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPPARA=\"SSLCFG\",3\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+HTTPPARA=\"READMODE\",2\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPPARA=\"BOGUS\",1\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPPARA=\"ACCEPT\",\"application/json\"\r", .expect = "\r\nOK\r\n" },
        /* seen unquoted and accepted on a SIM7600EI */
        { .send = "AT+HTTPPARA=\"URL\",http://example.com/x\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+HTTPACTION=1\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPACTION=4\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPACTION=5\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPACTION=?\r", .expect = "\r\n+HTTPACTION: (0-4)\r\n\r\nOK\r\n" },
        { .send = "AT+HTTPREAD=0,10\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPHEAD\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPTERM\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+HTTPTERM\r", .expect = "\r\nERROR\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

static void network_state(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        { .send = "ATE0\r", .expect = "ATE0\r\r\nOK\r\n" },
        { .control = "net down", .send = "AT+HTTPINIT\r", .expect = "\r\nERROR\r\n" },
        { .control = "net up", .send = "AT+HTTPINIT\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+HTTPPARA=\"URL\",\"http://127.0.0.1:1/\"\r", .expect = "\r\nOK\r\n" },
        { .control = "net down", .expect = "\r\n+HTTP_NONET_EVENT\r\n" },
        { .send = "AT+HTTPACTION=0\r", .expect = "\r\nOK\r\n\r\n+HTTPACTION: 0,717,0\r\n" },
        { .send = "AT+HTTPREAD?\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+HTTPTERM\r", .expect = "\r\nOK\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

/* ------------------------------------------------------------- real requests */

static void set_url(struct simtest_driver *d, const char *scheme, int port, const char *path)
{
    char line[256];
    snprintf(line, sizeof(line), "AT+HTTPPARA=\"URL\",\"%s://127.0.0.1:%d%s\"\r", scheme, port, path);
    simtest_at_ok(d, line);
}

/* Run a GET and expect the +HTTPACTION line "0,<status>,<len>". */
static void get(struct simtest_driver *d, const char *expect)
{
    simtest_at_ok(d, "AT+HTTPACTION=0\r");
    char line[64];
    snprintf(line, sizeof(line), "\r\n+HTTPACTION: %s\r\n", expect);
    assert_true(simtest_expect(d, line, GUARD_MS));
}

/* AT+HTTPREAD=<offset>,<size>: check the frames hold the a-z pattern from offset; returns bytes read. */
static size_t read_pattern(struct simtest_driver *d, size_t offset, size_t size)
{
    char line[64];
    snprintf(line, sizeof(line), "AT+HTTPREAD=%zu,%zu\r", offset, size);
    simtest_send(d, line);
    assert_true(simtest_expect(d, "\r\nOK\r\n", GUARD_MS));
    size_t got = 0;
    char frame[1024];
    for (;;) {
        char header[64];
        assert_true(simtest_expect(d, "\r\n+HTTPREAD: ", GUARD_MS));
        assert_true(simtest_expect_capture(d, "\r\n", GUARD_MS, header, sizeof(header)));
        if (strcmp(header, "0\r\n") == 0) {
            return got;
        }
        assert_memory_equal(header, "DATA,", 5);
        size_t n = (size_t)strtoul(header + 5, NULL, 10);
        assert_true(n > 0 && n <= sizeof(frame));
        simtest_take_bytes(d, n, frame);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(frame[i], 'a' + (int)((offset + got + i) % 26));
        }
        got += n;
    }
}

static void start_http(struct simtest_driver *d, const struct sim_config *cfg)
{
    simtest_driver_init(d, cfg);
    simtest_at_ok(d, "ATE0\r");
    simtest_at_ok(d, "AT+HTTPINIT\r");
}

static void get_with_content_length_and_404(void **state)
{
    (void)state;
    struct simtest_http_server srv;
    assert_int_equal(simtest_http_start(&srv, NULL), 0);
    struct simtest_driver d;
    start_http(&d, NULL);
    simtest_at_ok(&d, "AT+HTTPPARA=\"USERDATA\",\"Authorization: Bearer t0k3n\\r\\nX-Device: bus-1\"\r");
    set_url(&d, "http", srv.base.port, "/hello");
    get(&d, "0,200,11");
    char request[2048];
    simtest_http_last_request(&srv, request, sizeof(request));
    char expect[128];
    snprintf(expect, sizeof(expect), "GET /hello HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", srv.base.port);
    assert_memory_equal(request, expect, strlen(expect));
    assert_non_null(strstr(request, "\r\nAuthorization: Bearer t0k3n\r\nX-Device: bus-1\r\n\r\n"));

    simtest_send(&d, "AT+HTTPREAD?\r");
    assert_true(simtest_expect(&d, "\r\n+HTTPREAD: LEN,11\r\n\r\nOK\r\n", GUARD_MS));
    simtest_send(&d, "AT+HTTPREAD=0,11\r");
    assert_true(simtest_expect(&d, "\r\nOK\r\n\r\n+HTTPREAD: DATA,11\r\nhello world\r\n+HTTPREAD: 0\r\n", GUARD_MS));
    simtest_control(&d, "urc until-final");
    simtest_control(&d, "order ok-first");
    /* read on from where the last read stopped, then past the end */
    simtest_send(&d, "AT+HTTPREAD=0,5\r");
    assert_true(simtest_expect(&d, "\r\nOK\r\n\r\n+HTTPREAD: DATA,5\r\nhello\r\n+HTTPREAD: 0\r\n", GUARD_MS));
    simtest_send(&d, "AT+HTTPREAD=100\r");
    assert_true(simtest_expect(&d, "\r\nOK\r\n\r\n+HTTPREAD: DATA,6\r\n world\r\n+HTTPREAD: 0\r\n", GUARD_MS));
    simtest_control(&d, "urc until-final");
    simtest_control(&d, "order ok-first");
    simtest_send(&d, "AT+HTTPREAD=1\r");
    assert_true(simtest_expect(&d, "\r\nERROR\r\n", GUARD_MS));
    /* the data follows the OK whatever the result order and URC policy */
    assert_string_equal(simtest_control(&d, "urc between-lines"), "ok urc between-lines");
    assert_string_equal(simtest_control(&d, "order info-first"), "ok order info-first");
    simtest_send(&d, "AT+HTTPREAD=6,5\r");
    assert_true(simtest_expect(&d, "\r\nOK\r\n\r\n+HTTPREAD: DATA,5\r\nworld\r\n+HTTPREAD: 0\r\n", GUARD_MS));
    simtest_control(&d, "urc until-final");
    simtest_control(&d, "order ok-first");
    simtest_send(&d, "AT+HTTPREAD=11,1\r");
    assert_true(simtest_expect(&d, "\r\nERROR\r\n", GUARD_MS));

    const char *head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n";
    snprintf(expect, sizeof(expect), "\r\n+HTTPHEAD: DATA,%zu\r\n%s\r\nOK\r\n", strlen(head), head);
    simtest_send(&d, "AT+HTTPHEAD\r");
    assert_true(simtest_expect(&d, expect, GUARD_MS));

    set_url(&d, "http", srv.base.port, "/nope");
    get(&d, "0,404,9");
    simtest_send(&d, "AT+HTTPREAD=0,100\r");
    assert_true(simtest_expect(&d, "\r\nOK\r\n\r\n+HTTPREAD: DATA,9\r\nnot found\r\n+HTTPREAD: 0\r\n", GUARD_MS));

    /* HEAD: headers only */
    set_url(&d, "http", srv.base.port, "/hello");
    simtest_at_ok(&d, "AT+HTTPACTION=2\r");
    assert_true(simtest_expect(&d, "\r\n+HTTPACTION: 2,200,0\r\n", GUARD_MS));
    simtest_at_ok(&d, "AT+HTTPTERM\r");
    simtest_driver_fini(&d);
    simtest_http_stop(&srv);
}

static void chunked_eof_and_big_bodies(void **state)
{
    (void)state;
    struct simtest_http_server srv;
    assert_int_equal(simtest_http_start(&srv, NULL), 0);
    struct simtest_driver d;
    start_http(&d, NULL);

    set_url(&d, "http", srv.base.port, "/chunked/20000");
    get(&d, "0,200,20000");
    size_t total = 0;
    while (total < 20000) {
        total += read_pattern(&d, total, 5000);
    }
    assert_int_equal(total, 20000);

    set_url(&d, "http", srv.base.port, "/eof/3000");
    get(&d, "0,200,3000");
    assert_int_equal(read_pattern(&d, 1000, 5000), 2000);

    /* 64 KB response cache unless READMODE=1 */
    set_url(&d, "http", srv.base.port, "/big/70000");
    get(&d, "0,602,0");
    simtest_at_ok(&d, "AT+HTTPPARA=\"READMODE\",1\r");
    get(&d, "0,200,70000");
    for (total = 0; total < 70000;) {
        total += read_pattern(&d, total, 30000);
    }
    assert_int_equal(total, 70000);

    set_url(&d, "http", srv.base.port, "/garbage");
    get(&d, "0,600,0");
    /* refused and unresolvable */
    set_url(&d, "http", simtest_free_port(), "/");
    get(&d, "0,714,0");
    simtest_at_ok(&d, "AT+HTTPPARA=\"URL\",\"http://no-such-host.invalid/\"\r");
    get(&d, "0,713,0");
    const char *stats = simtest_control(&d, "stats");
    assert_non_null(strstr(stats, "\"http_actions\":7"));
    simtest_driver_fini(&d);
    simtest_http_stop(&srv);
}

static void https_with_server_verification(void **state)
{
    (void)state;
    struct simtest_tls_options good = { .cert = "server.pem", .key = "server.key" };
    struct simtest_tls_options untrusted = { .cert = "bad/untrusted-ca/cert.pem", .key = "bad/untrusted-ca/key.pem" };
    struct simtest_http_server srv;
    struct simtest_http_server bad;
    assert_int_equal(simtest_http_start(&srv, &good), 0);
    assert_int_equal(simtest_http_start(&bad, &untrusted), 0);
    struct simtest_driver d;
    start_http(&d, NULL);
    /* SSL context 1 verifies the server with ca.pem */
    simtest_at_ok(&d, "AT+CSSLCFG=\"authmode\",1,1\r");
    simtest_at_ok(&d, "AT+CSSLCFG=\"cacert\",1,\"ca.pem\"\r");
    simtest_at_ok(&d, "AT+HTTPPARA=\"SSLCFG\",1\r");
    set_url(&d, "https", srv.base.port, "/chunked/3000");
    get(&d, "0,719,0"); /* ca.pem is not in the store yet */

    simtest_download_cert(&d, "ca.pem", "ca.pem");

    get(&d, "0,200,3000");
    assert_int_equal(read_pattern(&d, 0, 3000), 3000);
    set_url(&d, "https", bad.base.port, "/hello");
    get(&d, "0,715,0");
    simtest_driver_fini(&d);
    simtest_http_stop(&srv);
    simtest_http_stop(&bad);
}

static void receive_timeout_on_virtual_clock(void **state)
{
    (void)state;
    struct simtest_http_server srv;
    assert_int_equal(simtest_http_start(&srv, NULL), 0);
    struct sim_config cfg;
    simtest_config(&cfg);
    /* a frozen clock: only the jump below moves time */
    cfg.clock = vclock_new_private(1700000000LL * VCLOCK_NS_PER_MS * 1000, 0);
    assert_non_null(cfg.clock);
    struct simtest_driver d;
    start_http(&d, &cfg);
    simtest_at_ok(&d, "AT+HTTPPARA=\"RECVTO\",2\r");
    set_url(&d, "http", srv.base.port, "/stall");
    simtest_at_ok(&d, "AT+HTTPACTION=0\r");
    /* one action at a time; nothing to read while it runs */
    simtest_send(&d, "AT+HTTPACTION=0\r");
    assert_true(simtest_expect(&d, "\r\nERROR\r\n", GUARD_MS));
    simtest_send(&d, "AT+HTTPREAD?\r");
    assert_true(simtest_expect(&d, "\r\nERROR\r\n", GUARD_MS));
    /* wait until the server has answered part of the body */
    for (int i = 0; i < GUARD_MS / 10 && atomic_load(&srv.requests) == 0; i++) {
        simtest_pump(&d, 10);
    }
    for (int i = 0; i < 10; i++) {
        simtest_pump(&d, 5);
    }
    if (sim_buf_used(&d.seen) != 0) {
        fprintf(stderr, "early output: %.*s\n", (int)sim_buf_used(&d.seen), (const char *)d.seen.data + d.seen.head);
    }
    assert_int_equal(sim_buf_used(&d.seen), 0);
    /* RECVTO is 2 s: 1.5 s of silence is fine, 2.5 s is not */
    vclock_jump(cfg.clock, 1500 * VCLOCK_NS_PER_MS);
    for (int i = 0; i < 20; i++) {
        simtest_pump(&d, 5);
    }
    assert_int_equal(sim_buf_used(&d.seen), 0);
    vclock_jump(cfg.clock, 1000 * VCLOCK_NS_PER_MS);
    assert_true(simtest_expect(&d, "\r\n+HTTPACTION: 0,705,0\r\n", GUARD_MS));
    simtest_driver_fini(&d);
    vclock_close(cfg.clock);
    simtest_http_stop(&srv);
}

static void network_loss_ends_the_action(void **state)
{
    (void)state;
    struct simtest_http_server srv;
    assert_int_equal(simtest_http_start(&srv, NULL), 0);
    struct simtest_driver d;
    start_http(&d, NULL);
    set_url(&d, "http", srv.base.port, "/stall");
    simtest_at_ok(&d, "AT+HTTPACTION=0\r");
    for (int i = 0; i < GUARD_MS / 10 && atomic_load(&srv.requests) == 0; i++) {
        simtest_pump(&d, 10);
    }
    simtest_control(&d, "net down");
    assert_true(simtest_expect(&d, "\r\n+HTTP_NONET_EVENT\r\n\r\n+HTTPACTION: 0,717,0\r\n", GUARD_MS));
    /* the service stays initialised: a new action fails the same way until the network returns */
    simtest_at_ok(&d, "AT+HTTPACTION=0\r");
    assert_true(simtest_expect(&d, "\r\n+HTTPACTION: 0,717,0\r\n", GUARD_MS));
    simtest_control(&d, "net up");
    set_url(&d, "http", srv.base.port, "/hello");
    get(&d, "0,200,11");
    simtest_driver_fini(&d);
    simtest_http_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arguments_and_state_errors),
        cmocka_unit_test(network_state),
        cmocka_unit_test(get_with_content_length_and_404),
        cmocka_unit_test(chunked_eof_and_big_bodies),
        cmocka_unit_test(https_with_server_verification),
        cmocka_unit_test(receive_timeout_on_virtual_clock),
        cmocka_unit_test(network_loss_ends_the_action),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
