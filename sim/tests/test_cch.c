/*
 * §3.3 CCH sessions: argument and state errors as exact transcripts, and real
 * TCP/TLS sessions against a threaded echo server using certs/out (server
 * and mutual authentication, SNI, bad certificates, receive modes, peer
 * close, network loss).
 */
#include "simtest.h"
#include "tls_echo_server.h"
#include "vclock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define STEPS(a) (a), (sizeof(a) / sizeof((a)[0]))
/* Real-time hang guard for one expected answer; never a timing assertion. */
#define GUARD_MS 5000

static void arguments_and_state_errors(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        { .send = "ATE0\r", .expect = "ATE0\r\r\nOK\r\n" },
        /* nothing works before AT+CCHSTART */
        { .send = "AT+CCHOPEN=0,\"127.0.0.1\",443\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHSEND=0,5\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHCLOSE=0\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHSSLCFG=0,1\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHSTOP\r", .expect = "\r\nERROR\r\n" },
        /* settings before the start */
        { .send = "AT+CCHSET=?\r", .expect = "\r\n+CCHSET: (0,1),(0,1)\r\n\r\nOK\r\n" },
        { .send = "AT+CCHSET=1,1\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CCHSET?\r", .expect = "\r\n+CCHSET: 1,1\r\n\r\nOK\r\n" },
        { .send = "AT+CCHSET=2\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHSET=0,2\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHSET=0\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CCHSET?\r", .expect = "\r\n+CCHSET: 0,1\r\n\r\nOK\r\n" },
        { .send = "AT+CCHMODE=1\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHMODE=0\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CCHMODE?\r", .expect = "\r\n+CCHMODE: 0\r\n\r\nOK\r\n" },
        { .send = "AT+CCHSTART\r", .expect = "\r\nOK\r\n\r\n+CCHSTART: 0\r\n" },
        { .send = "AT+CCHSTART\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHSET=1,1\r", .expect = "\r\nERROR\r\n" },
        /* session and context ranges */
        { .send = "AT+CCHSSLCFG=2,0\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHSSLCFG=0,10\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHSSLCFG=0,3\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CCHSSLCFG=?\r", .expect = "\r\n+CCHSSLCFG: (0-1),(0-9)\r\n\r\nOK\r\n" },
        { .send = "AT+CCHCFG=\"sslctx\",1,4\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CCHCFG=\"sendtimeout\",1,59\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHCFG=\"sendtimeout\",1,60\r", .expect = "\r\nOK\r\n" },
        /* open arguments */
        { .send = "AT+CCHOPEN=2,\"127.0.0.1\",443\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHOPEN=0,\"\",443\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHOPEN=0,127.0.0.1,443\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHOPEN=0,\"127.0.0.1\",0\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHOPEN=0,\"127.0.0.1\",65536\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHOPEN=0,\"127.0.0.1\",443,3\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHOPEN=0\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHOPEN=?\r",
          .expect = "\r\n+CCHOPEN: (0-1),\"ADDRESS\",(1-65535)[,(1-2)[,(1-65535)]]\r\n\r\nOK\r\n" },
        { .send = "AT+CCHOPEN?\r", .expect = "\r\n+CCHOPEN: 0,\"\",,,\r\n+CCHOPEN: 1,\"\",,,\r\n\r\nOK\r\n" },
        /* send, receive and close need an open session */
        { .send = "AT+CCHSEND=0,0\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHSEND=0,2049\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHSEND=0,5\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHSEND?\r", .expect = "\r\n+CCHSEND: 0,0,1,0\r\n\r\nOK\r\n" },
        { .send = "AT+CCHRECV?\r", .expect = "\r\n+CCHRECV: LEN,0,0\r\n\r\nOK\r\n" },
        { .send = "AT+CCHRECV=0\r", .expect = "\r\n+CCHRECV: 0,11\r\n\r\nERROR\r\n" },
        { .send = "AT+CCHRECV=0,2049\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHCLOSE=0\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHCLOSE=5\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHSTOP\r", .expect = "\r\nOK\r\n\r\n+CCHSTOP: 0\r\n" },
        { .send = "AT+CCHSTOP\r", .expect = "\r\nERROR\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

static void network_state(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        { .send = "ATE0\r", .expect = "ATE0\r\r\nOK\r\n" },
        { .control = "net down", .send = "AT+CCHSTART\r", .expect = "\r\nOK\r\n\r\n+CCHSTART: 17\r\n" },
        { .control = "net up", .send = "AT+CCHSTART\r", .expect = "\r\nOK\r\n\r\n+CCHSTART: 0\r\n" },
        /* losing the network stops the service */
        { .control = "net down", .expect = "\r\n+CCH: CCHSTOP\r\n" },
        { .send = "AT+CCHSTOP\r", .expect = "\r\nERROR\r\n" },
        { .control = "net up", .send = "AT+CCHSTART\r", .expect = "\r\nOK\r\n\r\n+CCHSTART: 0\r\n" },
        { .send = "AT+CCHSSLCFG=0,3\r", .expect = "\r\nOK\r\n" },
        /* a reset forgets the service without a word */
        { .send = "AT+CRESET\r", .expect = "\r\nOK\r\n\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n" },
        { .send = "ATE0\r", .expect = "ATE0\r\r\nOK\r\n" },
        { .send = "AT+CCHSET?\r", .expect = "\r\n+CCHSET: 0,0\r\n\r\nOK\r\n" },
        { .send = "AT+CCHSTOP\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCHSTART\r", .expect = "\r\nOK\r\n\r\n+CCHSTART: 0\r\n" },
        { .send = "AT+CCHOPEN=0,\"127.0.0.1\",1\r", .control = "net down",
          .expect = "\r\n+CCH: CCHSTOP\r\n\r\nERROR\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

static void info_first_order(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        { .send = "ATE0\r", .expect = "ATE0\r\r\nOK\r\n" },
        { .control = "order info-first", .send = "AT+CCHSTART\r", .expect = "\r\n+CCHSTART: 0\r\n\r\nOK\r\n" },
        { .send = "AT+CCHSTOP\r", .expect = "\r\n+CCHSTOP: 0\r\n\r\nOK\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

/* ------------------------------------------------------------- real sessions */

/* A driver with echo off, the given CCHSET and a started service. */
static void start_service(struct simtest_driver *d, const char *cchset)
{
    simtest_driver_init(d, NULL);
    simtest_at_ok(d, "ATE0\r");
    simtest_at_ok(d, cchset);
    simtest_at_ok(d, "AT+CCHSTART\r");
    assert_true(simtest_expect(d, "+CCHSTART: 0\r\n", GUARD_MS));
}

/* SSL context 0 verifying the server with ca.pem, optionally sending the device certificate of dir. */
static void configure_context(struct simtest_driver *d, int authmode, const char *device_dir)
{
    simtest_download_cert(d, "ca.pem", "ca.pem");
    simtest_at_ok(d, "AT+CSSLCFG=\"cacert\",0,\"ca.pem\"\r");
    if (device_dir != NULL) {
        char path[128];
        snprintf(path, sizeof(path), "%s/cert.pem", device_dir);
        simtest_download_cert(d, "dev.pem", path);
        snprintf(path, sizeof(path), "%s/key.pem", device_dir);
        simtest_download_cert(d, "dev-key.pem", path);
        simtest_at_ok(d, "AT+CSSLCFG=\"clientcert\",0,\"dev.pem\"\r");
        simtest_at_ok(d, "AT+CSSLCFG=\"clientkey\",0,\"dev-key.pem\"\r");
    }
    char line[64];
    snprintf(line, sizeof(line), "AT+CSSLCFG=\"authmode\",0,%d\r", authmode);
    simtest_at_ok(d, line);
}

static void open_session(struct simtest_driver *d, int session, const char *host, int port, int type, int expect_err)
{
    char line[160];
    snprintf(line, sizeof(line), "AT+CCHOPEN=%d,\"%s\",%d,%d\r", session, host, port, type);
    simtest_at_ok(d, line);
    snprintf(line, sizeof(line), "+CCHOPEN: %d,%d\r\n", session, expect_err);
    assert_true(simtest_expect(d, line, GUARD_MS));
}

static void send_data(struct simtest_driver *d, int session, const char *data)
{
    char line[64];
    snprintf(line, sizeof(line), "AT+CCHSEND=%d,%zu\r", session, strlen(data));
    simtest_send(d, line);
    assert_true(simtest_expect(d, "\r\n>", GUARD_MS));
    simtest_send(d, data);
    assert_true(simtest_expect(d, "\r\nOK\r\n", GUARD_MS));
}

/* Take exactly len raw bytes of output (binary-safe). */
static void server_auth_push_mode_with_sni(void **state)
{
    (void)state;
    struct simtest_tls_server srv;
    struct simtest_tls_options opts = { .cert = "server.pem", .key = "server.key" };
    assert_int_equal(simtest_tls_echo_start(&srv, &opts), 0);
    struct simtest_driver d;
    start_service(&d, "AT+CCHSET=1,0\r");
    configure_context(&d, 1, NULL);
    simtest_at_ok(&d, "AT+CSSLCFG=\"enableSNI\",0,1\r");
    assert_string_equal(simtest_control(&d, "host iot.example.test 127.0.0.1"), "ok host iot.example.test 127.0.0.1");

    open_session(&d, 0, "iot.example.test", srv.base.port, 2, 0);
    assert_true(simtest_tls_echo_wait_handshakes(&srv, 1, GUARD_MS));
    char sni[256];
    simtest_tls_echo_sni(&srv, sni, sizeof(sni));
    assert_string_equal(sni, "iot.example.test");

    send_data(&d, 0, "hello");
    assert_true(simtest_expect(&d, "\r\n+CCHSEND: 0,0\r\n", GUARD_MS));
    assert_true(simtest_expect(&d, "\r\n+CCHRECV: DATA,0,5\r\nhello", GUARD_MS));
    simtest_send(&d, "AT+CCHOPEN?\r");
    char expect[128];
    snprintf(expect, sizeof(expect), "\r\n+CCHOPEN: 0,\"iot.example.test\",%d,2,\r\n+CCHOPEN: 1,\"\",,,\r\n\r\nOK\r\n",
             srv.base.port);
    assert_true(simtest_expect(&d, expect, GUARD_MS));

    /* the server closes: the host is told */
    send_data(&d, 0, "QUIT");
    assert_true(simtest_expect(&d, "\r\n+CCH_PEER_CLOSED: 0\r\n", GUARD_MS));
    simtest_send(&d, "AT+CCHCLOSE=0\r");
    assert_true(simtest_expect(&d, "\r\nERROR\r\n", GUARD_MS));
    simtest_send(&d, "AT+CCHRECV=0\r");
    assert_true(simtest_expect(&d, "\r\n+CCHRECV: 0,4\r\n\r\nERROR\r\n", GUARD_MS));

    /* without SNI the server sees no name */
    simtest_at_ok(&d, "AT+CSSLCFG=\"enableSNI\",0,0\r");
    open_session(&d, 0, "iot.example.test", srv.base.port, 2, 0);
    assert_true(simtest_tls_echo_wait_handshakes(&srv, 2, GUARD_MS));
    simtest_tls_echo_sni(&srv, sni, sizeof(sni));
    assert_string_equal(sni, "");
    simtest_send(&d, "AT+CCHCLOSE=0\r");
    assert_true(simtest_expect(&d, "\r\nOK\r\n\r\n+CCHCLOSE: 0,0\r\n", GUARD_MS));
    simtest_driver_fini(&d);
    simtest_tls_echo_stop(&srv);
}

static void mutual_auth_manual_receive(void **state)
{
    (void)state;
    struct simtest_tls_server srv;
    struct simtest_tls_options opts = { .cert = "server.pem", .key = "server.key", .require_client_cert = true };
    assert_int_equal(simtest_tls_echo_start(&srv, &opts), 0);
    struct simtest_driver d;
    start_service(&d, "AT+CCHSET=0,1\r");
    configure_context(&d, 2, "devices/bus-1");
    simtest_at_ok(&d, "AT+CCHSSLCFG=1,0\r");
    open_session(&d, 1, "127.0.0.1", srv.base.port, 2, 0);
    assert_true(simtest_tls_echo_wait_handshakes(&srv, 1, GUARD_MS));
    char subject[256];
    simtest_tls_echo_client_subject(&srv, subject, sizeof(subject));
    assert_non_null(strstr(subject, "bus-1"));

    send_data(&d, 1, "ping over mutual TLS");
    char before[256];
    assert_true(simtest_expect_capture(&d, "\r\n+CCHEVENT: 1,RECV EVENT\r\n", GUARD_MS, before, sizeof(before)));
    assert_null(strstr(before, "+CCHSEND")); /* report_send_result 0 */
    assert_null(strstr(before, "+CCHRECV")); /* recv_mode 1: nothing pushed */
    simtest_send(&d, "AT+CCHRECV?\r");
    assert_true(simtest_expect(&d, "\r\n+CCHRECV: LEN,0,20\r\n\r\nOK\r\n", GUARD_MS));
    /* the frames follow the OK whatever the result order and URC policy */
    simtest_control(&d, "urc between-lines");
    simtest_control(&d, "order info-first");
    simtest_send(&d, "AT+CCHRECV=1,4\r");
    assert_true(simtest_expect(&d, "\r\nOK\r\n\r\n+CCHRECV: DATA,1,4\r\nping\r\n+CCHRECV: 1,0\r\n", GUARD_MS));
    simtest_control(&d, "urc until-final");
    simtest_control(&d, "order ok-first");
    simtest_send(&d, "AT+CCHRECV=1\r");
    assert_true(simtest_expect(&d, "\r\nOK\r\n\r\n+CCHRECV: DATA,1,16\r\n over mutual TLS\r\n+CCHRECV: 1,0\r\n",
                               GUARD_MS));
    simtest_send(&d, "AT+CCHRECV?\r");
    assert_true(simtest_expect(&d, "\r\n+CCHRECV: LEN,0,0\r\n\r\nOK\r\n", GUARD_MS));

    /* more than the cache holds arrives in pieces as the host reads */
    send_data(&d, 1, "BIG 9000");
    assert_true(simtest_expect(&d, "\r\n+CCHEVENT: 1,RECV EVENT\r\n", GUARD_MS));
    size_t total = 0;
    char frame[2048];
    while (total < 9000) {
        simtest_send(&d, "AT+CCHRECV=1,2048\r");
        char header[64];
        assert_true(simtest_expect(&d, "\r\nOK\r\n\r\n+CCHRECV: DATA,1,", GUARD_MS));
        assert_true(simtest_expect_capture(&d, "\r\n", GUARD_MS, header, sizeof(header)));
        size_t n = (size_t)strtoul(header, NULL, 10);
        assert_true(n > 0 && n <= 2048);
        simtest_take_bytes(&d, n, frame);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(frame[i], 'a' + (int)((total + i) % 26));
        }
        total += n;
        assert_true(simtest_expect(&d, "\r\n+CCHRECV: 1,0\r\n", GUARD_MS));
        simtest_send(&d, "AT+CCHRECV?\r");
        assert_true(simtest_expect_capture(&d, "\r\nOK\r\n", GUARD_MS, header, sizeof(header)));
        unsigned long cached = strtoul(strstr(header, "LEN,0,") + 6, NULL, 10);
        assert_true(cached <= 5496);
        if (cached == 0 && total < 9000) {
            assert_true(simtest_expect(&d, "+CCHEVENT: 1,RECV EVENT\r\n", GUARD_MS));
        }
    }
    assert_int_equal(total, 9000);
    simtest_send(&d, "AT+CCHSTOP\r");
    assert_true(simtest_expect(&d, "\r\nOK\r\n\r\n+CCHSTOP: 0\r\n", GUARD_MS));
    simtest_driver_fini(&d);
    simtest_tls_echo_stop(&srv);
}

/* Open session 0 against a server made from opts and expect err in +CCHOPEN. */
static void expect_open_result(const struct simtest_tls_options *opts, int authmode, const char *device_dir,
                               bool check_time, int expect_err)
{
    struct simtest_tls_server srv;
    assert_int_equal(simtest_tls_echo_start(&srv, opts), 0);
    struct simtest_driver d;
    start_service(&d, "AT+CCHSET=0,0\r");
    configure_context(&d, authmode, device_dir);
    if (check_time) {
        simtest_at_ok(&d, "AT+CSSLCFG=\"ignorelocaltime\",0,0\r");
    }
    open_session(&d, 0, "127.0.0.1", srv.base.port, 2, expect_err);
    /* a failed open frees the session: it can be opened again */
    simtest_send(&d, "AT+CCHOPEN?\r");
    assert_true(simtest_expect(&d, expect_err == 0 ? "+CCHOPEN: 0,\"127.0.0.1\"" : "+CCHOPEN: 0,\"\",,,", GUARD_MS));
    simtest_driver_fini(&d);
    simtest_tls_echo_stop(&srv);
}

static void bad_certificates_are_rejected(void **state)
{
    (void)state;
    struct simtest_tls_options good = { .cert = "server.pem", .key = "server.key" };
    struct simtest_tls_options mutual = { .cert = "server.pem", .key = "server.key", .require_client_cert = true };
    struct simtest_tls_options expired = { .cert = "bad/expired-server/server.pem", .key = "bad/expired-server/server.key" };
    struct simtest_tls_options untrusted = { .cert = "bad/untrusted-ca/cert.pem", .key = "bad/untrusted-ca/key.pem" };
    struct simtest_tls_options fake = { .cert = "bad/fake-ca/cert.pem", .key = "bad/fake-ca/key.pem" };

    expect_open_result(&good, 1, NULL, true, 0);
    /* an expired server passes only while validity dates are ignored */
    expect_open_result(&expired, 1, NULL, false, 0);
    expect_open_result(&expired, 1, NULL, true, 15);
    expect_open_result(&untrusted, 1, NULL, false, 15);
    expect_open_result(&fake, 1, NULL, false, 15);
    /* authmode 0 does not verify the server */
    expect_open_result(&untrusted, 0, NULL, false, 0);
    /* the server refuses a missing, expired, foreign or fake-CA client certificate */
    expect_open_result(&mutual, 1, NULL, false, 15);
    expect_open_result(&mutual, 2, "devices/bus-2", false, 0);
    expect_open_result(&mutual, 2, "bad/expired-device", false, 15);
    expect_open_result(&mutual, 2, "bad/untrusted-ca", false, 15);
    expect_open_result(&mutual, 2, "bad/fake-ca", false, 15);
}

static void missing_files_refused_and_dropped(void **state)
{
    (void)state;
    struct simtest_tls_server srv;
    struct simtest_tls_options plain = { 0 };
    assert_int_equal(simtest_tls_echo_start(&srv, &plain), 0);
    struct simtest_driver d;
    start_service(&d, "AT+CCHSET=0,0\r");
    /* authmode 1 without a CA file in the store: "not set certificates" */
    simtest_at_ok(&d, "AT+CSSLCFG=\"authmode\",0,1\r");
    simtest_at_ok(&d, "AT+CSSLCFG=\"cacert\",0,\"absent.pem\"\r");
    open_session(&d, 0, "127.0.0.1", srv.base.port, 2, 19);
    /* nobody listening: connect error */
    open_session(&d, 0, "127.0.0.1", simtest_free_port(), 1, 14);
    /* a name that does not resolve: DNS error */
    open_session(&d, 0, "no-such-host.invalid", 443, 1, 13);
    /* closing while the name lookup runs (one chained line: no poll round in between) */
    simtest_send(&d, "AT+CCHOPEN=0,\"no-such-host.invalid\",443,1;+CCHCLOSE=0\r");
    assert_true(simtest_expect(&d, "\r\nOK\r\n\r\n+CCHCLOSE: 0,0\r\n", GUARD_MS));
    /* a name the host resolves */
    open_session(&d, 0, "localhost", srv.base.port, 1, 0);
    simtest_at_ok(&d, "AT+CCHCLOSE=0\r");

    /* plain TCP (client_type 1) to the echo server, then the control hook drops it */
    open_session(&d, 1, "127.0.0.1", srv.base.port, 1, 0);
    send_data(&d, 1, "tcp!");
    assert_true(simtest_expect(&d, "\r\n+CCHRECV: DATA,1,4\r\ntcp!", GUARD_MS));
    assert_string_equal(simtest_control(&d, "drop cch 0"), "error: no open CCH session");
    assert_string_equal(simtest_control(&d, "drop cch 7"), "error: session must be 0-1");
    assert_string_equal(simtest_control(&d, "drop cch 1"), "ok dropped 1");
    assert_true(simtest_expect(&d, "\r\n+CCH_PEER_CLOSED: 1\r\n", GUARD_MS));

    /* network loss with an open session stops the service */
    open_session(&d, 1, "127.0.0.1", srv.base.port, 1, 0);
    simtest_control(&d, "net down");
    assert_true(simtest_expect(&d, "\r\n+CCH: CCHSTOP\r\n", GUARD_MS));
    simtest_send(&d, "AT+CCHSEND=1,4\r");
    assert_true(simtest_expect(&d, "\r\nERROR\r\n", GUARD_MS));
    simtest_control(&d, "net up");
    simtest_send(&d, "AT+CCHSTART\r");
    assert_true(simtest_expect(&d, "+CCHSTART: 0\r\n", GUARD_MS));
    open_session(&d, 1, "127.0.0.1", srv.base.port, 1, 0);
    const char *stats = simtest_control(&d, "stats");
    assert_non_null(strstr(stats, "\"cch_open\":1"));
    simtest_driver_fini(&d);
    simtest_tls_echo_stop(&srv);
}

static void two_sessions_at_once_and_reset(void **state)
{
    (void)state;
    struct simtest_tls_server tls;
    struct simtest_tls_server tcp;
    struct simtest_tls_options tls_opts = { .cert = "server.pem", .key = "server.key" };
    struct simtest_tls_options tcp_opts = { 0 };
    assert_int_equal(simtest_tls_echo_start(&tls, &tls_opts), 0);
    assert_int_equal(simtest_tls_echo_start(&tcp, &tcp_opts), 0);
    struct simtest_driver d;
    start_service(&d, "AT+CCHSET=1,0\r");
    open_session(&d, 0, "127.0.0.1", tls.base.port, 2, 0);
    open_session(&d, 1, "127.0.0.1", tcp.base.port, 1, 0);
    /* a third open of a busy session is refused */
    simtest_send(&d, "AT+CCHOPEN=0,\"127.0.0.1\",1\r");
    assert_true(simtest_expect(&d, "\r\nERROR\r\n", GUARD_MS));
    send_data(&d, 1, "to-tcp");
    assert_true(simtest_expect(&d, "\r\n+CCHRECV: DATA,1,6\r\nto-tcp", GUARD_MS));
    send_data(&d, 0, "to-tls");
    assert_true(simtest_expect(&d, "\r\n+CCHRECV: DATA,0,6\r\nto-tls", GUARD_MS));
    simtest_send(&d, "AT+CCHSEND?\r");
    assert_true(simtest_expect(&d, "\r\n+CCHSEND: 0,0,1,0\r\n\r\nOK\r\n", GUARD_MS));
    simtest_send(&d, "AT+CCHCLOSE=1\r");
    assert_true(simtest_expect(&d, "\r\nOK\r\n\r\n+CCHCLOSE: 1,0\r\n", GUARD_MS));
    /* a reset drops session 0 without a word; the service must be started again */
    assert_string_equal(simtest_control(&d, "reset"), "ok reset");
    assert_true(simtest_expect(&d, "PB DONE\r\n", GUARD_MS));
    simtest_send(&d, "AT+CCHSEND=0,1\r");
    char out[256];
    assert_true(simtest_expect_capture(&d, "\r\nERROR\r\n", GUARD_MS, out, sizeof(out)));
    assert_non_null(strstr(out, "AT+CCHSEND=0,1\r")); /* echo is on again after the reset */
    assert_null(strstr(out, "+CCH_PEER_CLOSED"));
    assert_null(strstr(out, "+CCH: CCHSTOP"));
    const char *stats = simtest_control(&d, "stats");
    assert_non_null(strstr(stats, "\"cch_open\":0"));
    simtest_driver_fini(&d);
    simtest_tls_echo_stop(&tls);
    simtest_tls_echo_stop(&tcp);
}

/* A server that accepts TCP (in the kernel backlog) and never speaks: the handshake times out. */
static void handshake_timeout_on_virtual_clock(void **state)
{
    (void)state;
    int port = 0;
    int silent = simtest_tls_listen(&port);
    assert_true(silent >= 0);
    struct sim_config cfg;
    simtest_config(&cfg);
    cfg.clock = vclock_new_private(1700000000LL * 1000 * VCLOCK_NS_PER_MS, 0); /* frozen: only jumps move it */
    assert_non_null(cfg.clock);
    struct simtest_driver d;
    simtest_driver_init(&d, &cfg);
    simtest_at_ok(&d, "ATE0\r");
    simtest_at_ok(&d, "AT+CCHSTART\r");
    simtest_at_ok(&d, "AT+CSSLCFG=\"negotiatetime\",0,10\r");
    char line[64];
    snprintf(line, sizeof(line), "AT+CCHOPEN=0,\"127.0.0.1\",%d\r", port);
    simtest_at_ok(&d, line);
    for (int i = 0; i < 20; i++) {
        simtest_pump(&d, 5);
    }
    vclock_jump(cfg.clock, 9000 * VCLOCK_NS_PER_MS);
    for (int i = 0; i < 20; i++) {
        simtest_pump(&d, 5);
    }
    assert_int_equal(sim_buf_used(&d.seen), 0);
    vclock_jump(cfg.clock, 2000 * VCLOCK_NS_PER_MS);
    assert_true(simtest_expect(&d, "\r\n+CCHOPEN: 0,5\r\n", GUARD_MS));
    simtest_driver_fini(&d);
    vclock_close(cfg.clock);
    close(silent);
}

static void sslversion_is_honoured(void **state)
{
    (void)state;
    struct simtest_tls_server srv;
    struct simtest_tls_options opts = { .cert = "server.pem", .key = "server.key" };
    assert_int_equal(simtest_tls_echo_start(&srv, &opts), 0);
    struct simtest_driver d;
    start_service(&d, "AT+CCHSET=0,0\r");
    char version[16];
    /* 4 (all): the module's stack stops at TLS 1.2 */
    open_session(&d, 0, "127.0.0.1", srv.base.port, 2, 0);
    assert_true(simtest_tls_echo_wait_handshakes(&srv, 1, GUARD_MS));
    simtest_tls_echo_version(&srv, version, sizeof(version));
    assert_string_equal(version, "TLSv1.2");
    simtest_at_ok(&d, "AT+CCHCLOSE=0\r");
    /* the server (OpenSSL 3 defaults) refuses TLS 1.0 */
    simtest_at_ok(&d, "AT+CSSLCFG=\"sslversion\",0,1\r");
    open_session(&d, 0, "127.0.0.1", srv.base.port, 2, 15);
    simtest_at_ok(&d, "AT+CSSLCFG=\"sslversion\",0,3\r");
    open_session(&d, 0, "127.0.0.1", srv.base.port, 2, 0);
    assert_true(simtest_tls_echo_wait_handshakes(&srv, 2, GUARD_MS));
    simtest_tls_echo_version(&srv, version, sizeof(version));
    assert_string_equal(version, "TLSv1.2");
    simtest_driver_fini(&d);
    simtest_tls_echo_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arguments_and_state_errors),
        cmocka_unit_test(network_state),
        cmocka_unit_test(info_first_order),
        cmocka_unit_test(server_auth_push_mode_with_sni),
        cmocka_unit_test(mutual_auth_manual_receive),
        cmocka_unit_test(bad_certificates_are_rejected),
        cmocka_unit_test(sslversion_is_honoured),
        cmocka_unit_test(missing_files_refused_and_dropped),
        cmocka_unit_test(two_sessions_at_once_and_reset),
        cmocka_unit_test(handshake_timeout_on_virtual_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
