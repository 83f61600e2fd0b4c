/*
 * §2 TCP/IP: exact transcripts of every argument, limit and state error that
 * needs no connection, and integration tests that open real TCP connections
 * through AT+CIPOPEN to an echo server on a free loopback port.
 */
#include "echo_server.h"
#include "simtest.h"

#include "vclock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define STEPS(a) (a), (sizeof(a) / sizeof((a)[0]))
#define GUARD_MS 5000 /* hang guard for waits on real sockets, never a timing assertion */

#define ECHO_OFF { .send = "ATE0\r", .expect = "ATE0\r\r\nOK\r\n" }
#define NETOPEN_OK { .send = "AT+NETOPEN\r", .expect = "\r\nOK\r\n\r\n+NETOPEN: 0\r\n" }

/* ------------------------------------------------------------- transcripts */

static void errors_before_netopen(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "AT+NETOPEN?\r", .expect = "\r\n+NETOPEN: 0\r\n\r\nOK\r\n" },
        { .send = "AT+IPADDR\r", .expect = "\r\n+IP ERROR: Network not opened\r\n\r\nERROR\r\n" },
        { .send = "AT+NETCLOSE\r", .expect = "\r\n+NETCLOSE: 2\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPOPEN=0,\"TCP\",\"127.0.0.1\",80\r", .expect = "\r\n+CIPOPEN: 0,2\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPSEND=0,5\r", .expect = "\r\n+CIPERROR: 2\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPSEND=0\r", .expect = "\r\n+CIPERROR: 2\r\n\r\nERROR\r\n" },
        /* a real SIM7600E on an unopened link (TinyGSM's connect starts with this) */
        { .send = "AT+CIPCLOSE=0\r", .expect = "\r\n+CIPCLOSE: 0,4\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPCLOSE?\r", .expect = "\r\n+CIPCLOSE: 0,0,0,0,0,0,0,0,0,0\r\n\r\nOK\r\n" },
        { .send = "AT+CIPRXGET=4,0\r", .expect = "\r\n+CIPRXGET: 4,0,0\r\n\r\nOK\r\n" },
        { .send = "AT+CIPRXGET=2,0\r", .expect = "\r\n+IP ERROR: No data\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPRXGET=3,9,10\r", .expect = "\r\n+IP ERROR: No data\r\n\r\nERROR\r\n" },
        { .send = "AT+NETOPEN=?\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT\r", .expect = "\r\nOK\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

static void argument_and_limit_errors(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        NETOPEN_OK,
        { .send = "AT+CIPOPEN=10,\"TCP\",\"127.0.0.1\",80\r", .expect = "\r\n+IP ERROR: Invalid parameter\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPOPEN=-1,\"TCP\",\"127.0.0.1\",80\r", .expect = "\r\n+IP ERROR: Invalid parameter\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPOPEN=x,\"TCP\",\"127.0.0.1\",80\r", .expect = "\r\n+IP ERROR: Invalid parameter\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPOPEN=0,\"TCP\",\"127.0.0.1\",0\r", .expect = "\r\n+CIPOPEN: 0,3\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPOPEN=0,\"TCP\",\"127.0.0.1\",65536\r", .expect = "\r\n+CIPOPEN: 0,3\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPOPEN=1,\"TCP\",\"127.0.0.1\"\r", .expect = "\r\n+CIPOPEN: 1,3\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPOPEN=2,\"TCP\",\"\",80\r", .expect = "\r\n+CIPOPEN: 2,3\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPOPEN=3,\"SCTP\",\"127.0.0.1\",80\r", .expect = "\r\n+CIPOPEN: 3,3\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPOPEN=4,\"TCP\",\"127.0.0.1\",80,70000\r", .expect = "\r\n+CIPOPEN: 4,3\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPOPEN=5,\"TCP\",\"127.0.0.1\",80,0,1\r", .expect = "\r\n+CIPOPEN: 5,3\r\n\r\nERROR\r\n" },
        /* UDP links are not implemented: "operation not supported" */
        { .send = "AT+CIPOPEN=5,\"UDP\",,,6031\r", .expect = "\r\n+CIPOPEN: 5,4\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPOPEN\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CIPSEND=0,0\r", .expect = "\r\n+CIPERROR: 3\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPSEND=0,1501\r", .expect = "\r\n+CIPERROR: 3\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPSEND=10,5\r", .expect = "\r\n+CIPERROR: 3\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPSEND=0,5,\"1.2.3.4\",80\r", .expect = "\r\n+CIPERROR: 3\r\n\r\nERROR\r\n" },
        /* a link that is not connected */
        { .send = "AT+CIPSEND=0,5\r", .expect = "\r\n+CIPERROR: 4\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPSEND=9\r", .expect = "\r\n+CIPERROR: 4\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPCLOSE=10\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CIPCLOSE=0,1\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CIPCLOSE\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CIPRXGET=5\r", .expect = "\r\n+IP ERROR: Invalid parameter\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPRXGET=1,0\r", .expect = "\r\n+IP ERROR: Invalid parameter\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPRXGET=2,10\r", .expect = "\r\n+IP ERROR: Invalid parameter\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPRXGET=2,0,0\r", .expect = "\r\n+IP ERROR: Invalid parameter\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPRXGET=2,0,1501\r", .expect = "\r\n+IP ERROR: Invalid parameter\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPRXGET=3,0,751\r", .expect = "\r\n+IP ERROR: Invalid parameter\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPRXGET=4,0,1\r", .expect = "\r\n+IP ERROR: Invalid parameter\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPRXGET=2\r", .expect = "\r\n+IP ERROR: Invalid parameter\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPRXGET\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CIPRXGET=3,0,750\r", .expect = "\r\n+IP ERROR: No data\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPRXGET=2,0,1500\r", .expect = "\r\n+IP ERROR: No data\r\n\r\nERROR\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

static void test_and_read_forms(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "AT+CIPOPEN=?\r", .expect = "\r\n+CIPOPEN: (0-9),(\"TCP\",\"UDP\")\r\n\r\nOK\r\n" },
        { .send = "AT+CIPOPEN?\r",
          .expect = "\r\n+CIPOPEN: 0\r\n+CIPOPEN: 1\r\n+CIPOPEN: 2\r\n+CIPOPEN: 3\r\n+CIPOPEN: 4\r\n"
                    "+CIPOPEN: 5\r\n+CIPOPEN: 6\r\n+CIPOPEN: 7\r\n+CIPOPEN: 8\r\n+CIPOPEN: 9\r\n\r\nOK\r\n" },
        { .send = "AT+CIPSEND=?\r", .expect = "\r\n+CIPSEND: (0-9),(1-1500)\r\n\r\nOK\r\n" },
        { .send = "AT+CIPRXGET=?\r", .expect = "\r\n+CIPRXGET: (0-4),(0-9),(1-1500)\r\n\r\nOK\r\n" },
        { .send = "AT+CIPRXGET?\r", .expect = "\r\n+CIPRXGET: 0\r\n\r\nOK\r\n" },
        { .send = "AT+CIPRXGET=1\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CIPRXGET?\r", .expect = "\r\n+CIPRXGET: 1\r\n\r\nOK\r\n" },
        { .send = "AT+CIPCLOSE=?\r", .expect = "\r\n+CIPCLOSE: (0-9)\r\n\r\nOK\r\n" },
        { .send = "AT+CIPCCFG=?\r", .expect = "\r\n+CIPCCFG: (0-10),(0-1000),(0),(0-1),(0-1),(0-1),(500-120000)\r\n\r\nOK\r\n" },
        { .send = "AT+CIPCCFG?\r", .expect = "\r\n+CIPCCFG: 10,0,0,1,0,0,500\r\n\r\nOK\r\n" },
        /* TinyGSM's gprsConnect (must answer OK) */
        { .send = "AT+CIPCCFG=10,0,0,0,1,0,75000\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CIPCCFG?\r", .expect = "\r\n+CIPCCFG: 10,0,0,0,1,0,75000\r\n\r\nOK\r\n" },
        { .send = "AT+CIPCCFG=2\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CIPCCFG?\r", .expect = "\r\n+CIPCCFG: 2,0,0,0,1,0,75000\r\n\r\nOK\r\n" },
        { .send = "AT+CIPCCFG=11\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CIPCCFG=,,1\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CIPCCFG=,,,,,,499\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CIPCCFG=1,1,0,1,1,1,500,1\r", .expect = "\r\nERROR\r\n" },
        /* errMode 0: +IP ERROR carries the number */
        { .send = "AT+IPADDR\r", .expect = "\r\n+IP ERROR: 8\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPCCFG\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CIPCCFG?\r", .expect = "\r\n+CIPCCFG: 10,0,0,1,0,0,500\r\n\r\nOK\r\n" },
        { .send = "AT+CIPTIMEOUT?\r", .expect = "\r\n+CIPTIMEOUT: 120000,120000,120000\r\n\r\nOK\r\n" },
        { .send = "AT+CIPTIMEOUT=75000,15000,15000\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CIPTIMEOUT=,4000\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CIPTIMEOUT?\r", .expect = "\r\n+CIPTIMEOUT: 75000,4000,15000\r\n\r\nOK\r\n" },
        { .send = "AT+CIPTIMEOUT=2999\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CIPTIMEOUT=3000,3000,120001\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CIPMODE?\r", .expect = "\r\n+CIPMODE: 0\r\n\r\nOK\r\n" },
        { .send = "AT+CIPMODE=?\r", .expect = "\r\n+CIPMODE: (0-1)\r\n\r\nOK\r\n" },
        { .send = "AT+CIPMODE=2\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CIPSENDMODE=0\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CIPSENDMODE?\r", .expect = "\r\n+CIPSENDMODE: 0\r\n\r\nOK\r\n" },
        { .send = "AT+CIPHEAD?\r", .expect = "\r\n+CIPHEAD: 1\r\n\r\nOK\r\n" },
        { .send = "AT+CIPHEAD=0\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CIPHEAD?\r", .expect = "\r\n+CIPHEAD: 0\r\n\r\nOK\r\n" },
        { .send = "AT+CIPHEAD\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CIPHEAD?\r", .expect = "\r\n+CIPHEAD: 1\r\n\r\nOK\r\n" },
        { .send = "AT+CIPSRIP=?\r", .expect = "\r\n+CIPSRIP: (0-1)\r\n\r\nOK\r\n" },
        { .send = "AT+CIPSRIP=0\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CIPSRIP?\r", .expect = "\r\n+CIPSRIP: 0\r\n\r\nOK\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

static void netopen_states(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        NETOPEN_OK,
        { .send = "AT+NETOPEN\r", .expect = "\r\n+IP ERROR: Network is already opened\r\n\r\nERROR\r\n" },
        { .send = "AT+NETOPEN?\r", .expect = "\r\n+NETOPEN: 1\r\n\r\nOK\r\n" },
        { .send = "AT+IPADDR\r", .expect = "\r\n+IPADDR: 10.84.17.161\r\n\r\nOK\r\n" },
        /* CIPMODE is chosen before NETOPEN */
        { .send = "AT+CIPMODE=1\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CIPMODE=0\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+NETCLOSE\r", .expect = "\r\nOK\r\n\r\n+NETCLOSE: 0\r\n" },
        { .send = "AT+NETOPEN?\r", .expect = "\r\n+NETOPEN: 0\r\n\r\nOK\r\n" },
        /* the order seen on SIM7600E logs: the result line before OK */
        { .control = "order info-first", .send = "AT+NETOPEN\r", .expect = "\r\n+NETOPEN: 0\r\n\r\nOK\r\n" },
        { .send = "AT+NETCLOSE\r", .expect = "\r\n+NETCLOSE: 0\r\n\r\nOK\r\n" },
        /* transparent mode is not implemented: CIPOPEN refuses */
        { .send = "AT+CIPMODE=1\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+NETOPEN\r", .expect = "\r\n+NETOPEN: 0\r\n\r\nOK\r\n" },
        { .send = "AT+CIPOPEN=1,\"TCP\",\"127.0.0.1\",80\r", .expect = "\r\n+IP ERROR: Invalid parameter\r\n\r\nERROR\r\n" },
        { .send = "AT+CIPOPEN=0,\"TCP\",\"127.0.0.1\",80\r", .expect = "\r\nERROR\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

static void no_network_refuses(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .control = "reg searching", .send = "AT+NETOPEN\r", .expect = "\r\nOK\r\n\r\n+NETOPEN: 1\r\n" },
        { .send = "AT+NETOPEN?\r", .expect = "\r\n+NETOPEN: 0\r\n\r\nOK\r\n" },
        { .control = "reg home", .send = "AT+NETOPEN\r", .expect = "\r\nOK\r\n\r\n+NETOPEN: 0\r\n" },
        /* losing the network closes the PDP context */
        { .control = "net down", .expect = "\r\n+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY\r\n" },
        { .send = "AT+NETOPEN?\r", .expect = "\r\n+NETOPEN: 0\r\n\r\nOK\r\n" },
        { .send = "AT+CIPOPEN=0,\"TCP\",\"127.0.0.1\",80\r", .expect = "\r\n+CIPOPEN: 0,2\r\n\r\nERROR\r\n" },
        { .send = "AT+NETOPEN\r", .expect = "\r\nOK\r\n\r\n+NETOPEN: 1\r\n" },
        { .send = "AT+NETCLOSE\r", .expect = "\r\n+NETCLOSE: 2\r\n\r\nERROR\r\n" },
        { .control = "net up", .send = "AT+NETOPEN\r", .expect = "\r\nOK\r\n\r\n+NETOPEN: 0\r\n" },
        /* losing registration does the same; a second loss says nothing more */
        { .control = "reg none", .expect = "\r\n+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY\r\n" },
        { .control = "net down", .expect = "" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

static void creset_closes_the_network(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "AT+CIPRXGET=1;+CIPCCFG=10,0,0,0,1,0,75000;+CIPHEAD=0\r", .expect = "\r\nOK\r\n" },
        NETOPEN_OK,
        { .send = "AT+CRESET\r",
          .expect = "\r\nOK\r\n\r\n+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY\r\n"
                    "\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n" },
        /* echo is back on; every TCP/IP setting is at its power-up value */
        { .send = "AT+NETOPEN?\r", .expect = "AT+NETOPEN?\r\r\n+NETOPEN: 0\r\n\r\nOK\r\n" },
        { .send = "AT+CIPRXGET?\r", .expect = "AT+CIPRXGET?\r\r\n+CIPRXGET: 0\r\n\r\nOK\r\n" },
        { .send = "AT+CIPCCFG?\r", .expect = "AT+CIPCCFG?\r\r\n+CIPCCFG: 10,0,0,1,0,0,500\r\n\r\nOK\r\n" },
        { .send = "AT+CIPHEAD?\r", .expect = "AT+CIPHEAD?\r\r\n+CIPHEAD: 1\r\n\r\nOK\r\n" },
        /* with the network closed a reset has nothing to report */
        { .send = "AT+CRESET\r",
          .expect = "AT+CRESET\r\r\nOK\r\n\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

/* ------------------------------------------------------------- integration helpers */

/* Expect exactly text next in the output (nothing unread before it). */
static void expect_exact(struct simtest_driver *d, const char *text)
{
    char got[8192];
    if (!simtest_expect_capture(d, text, GUARD_MS, got, sizeof(got))) {
        fail_msg("missing \"%s\"", text);
    }
    if (strcmp(got, text) != 0) {
        fail_msg("unexpected output before \"%s\": \"%s\"", text, got);
    }
}

static void expect_text(struct simtest_driver *d, const char *text)
{
    if (!simtest_expect(d, text, GUARD_MS)) {
        fail_msg("missing \"%s\"", text);
    }
}

/* Send a formatted command line. */
static void sendf(struct simtest_driver *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sendf(struct simtest_driver *d, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    simtest_send(d, line);
}

/* Pump the modem until the server has seen count connections. */
static void pump_until_accepted(struct simtest_driver *d, struct echo_server *srv, int count)
{
    for (int i = 0; i < GUARD_MS / 5 && echo_server_accepted(srv) < count; i++) {
        simtest_pump(d, 5);
    }
    assert_true(echo_server_accepted(srv) >= count);
}

/* Pump the modem until the server has received bytes in total. */
static void pump_until_received(struct simtest_driver *d, struct echo_server *srv, size_t bytes)
{
    for (int i = 0; i < GUARD_MS / 5 && echo_server_received_total(srv) < bytes; i++) {
        simtest_pump(d, 5);
    }
    assert_true(echo_server_received_total(srv) >= bytes);
}

/* Pump the modem until it has queued a URC (held while a command is in progress). */
static void pump_until_urc_queued(struct simtest_driver *d)
{
    for (int i = 0; i < GUARD_MS / 5 && sim_buf_used(&d->modem->urc_queue) == 0; i++) {
        simtest_pump(d, 5);
    }
    assert_true(sim_buf_used(&d->modem->urc_queue) > 0);
}

/* Pump the modem until the server has count open connections. */
static void pump_until_open_clients(struct simtest_driver *d, struct echo_server *srv, int count)
{
    for (int i = 0; i < GUARD_MS / 5 && echo_server_open_clients(srv) != count; i++) {
        simtest_pump(d, 5);
    }
    assert_int_equal(echo_server_open_clients(srv), count);
}

/* Start the echo server and a modem made from cfg (NULL: simtest_config) with the network open. */
static void start_session_with(struct simtest_driver *d, struct echo_server *srv, const struct sim_config *cfg)
{
    assert_int_equal(echo_server_start(srv), 0);
    simtest_driver_init(d, cfg);
    simtest_send(d, "ATE0\r");
    expect_exact(d, "ATE0\r\r\nOK\r\n");
    simtest_send(d, "AT+NETOPEN\r");
    expect_exact(d, "\r\nOK\r\n\r\n+NETOPEN: 0\r\n");
}

static void start_session(struct simtest_driver *d, struct echo_server *srv)
{
    start_session_with(d, srv, NULL);
}

static void end_session(struct simtest_driver *d, struct echo_server *srv)
{
    simtest_driver_fini(d);
    echo_server_stop(srv);
}

/* AT+CIPOPEN on link to the echo server; expects OK then +CIPOPEN: link,0. */
static void open_link(struct simtest_driver *d, struct echo_server *srv, int link)
{
    int before = echo_server_accepted(srv);
    sendf(d, "AT+CIPOPEN=%d,\"TCP\",\"127.0.0.1\",%d\r", link, srv->port);
    expect_exact(d, "\r\nOK\r\n");
    char line[64];
    snprintf(line, sizeof(line), "\r\n+CIPOPEN: %d,0\r\n", link);
    expect_exact(d, line);
    pump_until_accepted(d, srv, before + 1);
}

/* AT+CIPSEND=link,len with data; expects the prompt and OK, +CIPSEND: link,len,len. */
static void send_fixed(struct simtest_driver *d, int link, const void *data, size_t len)
{
    sendf(d, "AT+CIPSEND=%d,%zu\r", link, len);
    expect_exact(d, "\r\n>");
    simtest_send_raw(d, data, len);
    char line[96];
    snprintf(line, sizeof(line), "\r\nOK\r\n\r\n+CIPSEND: %d,%zu,%zu\r\n", link, len, len);
    expect_exact(d, line);
}

/* ------------------------------------------------------------- integration tests */

static void push_mode_fixed_send_and_echo(void **state)
{
    (void)state;
    struct echo_server srv;
    struct simtest_driver d;
    start_session(&d, &srv);
    open_link(&d, &srv, 0);

    send_fixed(&d, 0, "hello", 5);
    char push[128];
    snprintf(push, sizeof(push), "\r\nRECV FROM:127.0.0.1:%d\r\n+IPD5\r\nhello", srv.port);
    expect_exact(&d, push);

    /* binary bytes pass untouched through the fixed-length form */
    static const uint8_t binary[] = { 0x00, '\r', '\n', 0x1A, 0x1B, 0x03, 0xFF, 'A' };
    simtest_send(&d, "AT+CIPHEAD=0;+CIPSRIP=0\r");
    expect_exact(&d, "\r\nOK\r\n");
    send_fixed(&d, 0, binary, sizeof(binary));
    assert_true(simtest_expect(&d, "\x03\xFF" "A", GUARD_MS));
    uint8_t got[64];
    assert_int_equal(echo_server_received(&srv, got, sizeof(got)), 5 + sizeof(binary));
    assert_memory_equal(got + 5, binary, sizeof(binary));

    /* TinyGSM's header type */
    simtest_send(&d, "AT+CIPCCFG=10,0,0,0,1,0,75000\r");
    expect_exact(&d, "\r\nOK\r\n");
    send_fixed(&d, 0, "abc", 3);
    expect_exact(&d, "\r\n+RECEIVE,0,3\r\nabc");

    assert_non_null(strstr(simtest_control(&d, "stats"), "\"tcp_tx_bytes\":16,\"tcp_rx_bytes\":16"));
    end_session(&d, &srv);
}

static void ctrlz_send_and_esc_cancel(void **state)
{
    (void)state;
    struct echo_server srv;
    struct simtest_driver d;
    start_session(&d, &srv);
    echo_server_set_echo(&srv, false);
    open_link(&d, &srv, 2);

    /* 0x03 escapes Ctrl-Z, ESC and itself inside the data */
    simtest_send(&d, "AT+CIPSEND=2\r");
    expect_exact(&d, "\r\n>");
    simtest_send_raw(&d, "ab\x03\x1A" "c\x03\x1B" "d\x03\x03" "e\x1A", 12);
    expect_exact(&d, "\r\nOK\r\n\r\n+CIPSEND: 2,8,8\r\n");
    pump_until_received(&d, &srv, 8);
    uint8_t got[32];
    assert_int_equal(echo_server_received(&srv, got, sizeof(got)), 8);
    assert_memory_equal(got, "ab\x1A" "c\x1B" "d\x03" "e", 8);

    /* ESC cancels: OK and nothing is sent */
    simtest_send(&d, "AT+CIPSEND=2\r");
    expect_exact(&d, "\r\n>");
    simtest_send_raw(&d, "never\x1B", 6);
    expect_exact(&d, "\r\nOK\r\n");
    send_fixed(&d, 2, "Z", 1);
    pump_until_received(&d, &srv, 9);
    assert_int_equal(echo_server_received(&srv, got, sizeof(got)), 9);
    assert_int_equal(got[8], 'Z');

    /* longer than 1500 bytes before Ctrl-Z: refused, nothing sent */
    simtest_send(&d, "AT+CIPSEND=2\r");
    expect_exact(&d, "\r\n>");
    char big[1502];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0x1A;
    simtest_send_raw(&d, big, sizeof(big));
    expect_exact(&d, "\r\n+CIPERROR: 3\r\n\r\nERROR\r\n");
    send_fixed(&d, 2, "Y", 1);
    pump_until_received(&d, &srv, 10);
    assert_int_equal(echo_server_received_total(&srv), 10);

    /* the largest fixed send */
    char full[1500];
    memset(full, 'q', sizeof(full));
    send_fixed(&d, 2, full, sizeof(full));
    pump_until_received(&d, &srv, 1510);
    end_session(&d, &srv);
}

static void manual_mode_reads(void **state)
{
    (void)state;
    struct echo_server srv;
    struct simtest_driver d;
    start_session(&d, &srv);
    simtest_send(&d, "AT+CIPRXGET=1\r");
    expect_exact(&d, "\r\nOK\r\n");
    open_link(&d, &srv, 1);

    assert_int_equal(echo_server_send(&srv, 0, "0123456789", 10), 0);
    expect_exact(&d, "\r\n+CIPRXGET: 1,1\r\n");
    simtest_send(&d, "AT+CIPRXGET=4,1\r");
    expect_exact(&d, "\r\n+CIPRXGET: 4,1,10\r\n\r\nOK\r\n");
    simtest_send(&d, "AT+CIPRXGET=2,1,4\r");
    expect_exact(&d, "\r\n+CIPRXGET: 2,1,4,6\r\n0123\r\n\r\nOK\r\n");
    simtest_send(&d, "AT+CIPRXGET=3,1,2\r");
    expect_exact(&d, "\r\n+CIPRXGET: 3,1,2,4\r\n3435\r\n\r\nOK\r\n");
    simtest_send(&d, "AT+CIPRXGET=2,1\r");
    expect_exact(&d, "\r\n+CIPRXGET: 2,1,4,0\r\n6789\r\n\r\nOK\r\n");
    simtest_send(&d, "AT+CIPRXGET=2,1\r");
    expect_exact(&d, "\r\n+IP ERROR: No data\r\n\r\nERROR\r\n");

    /* an emptied buffer announces new data again; hex of binary bytes */
    assert_int_equal(echo_server_send(&srv, 0, "\x00\xFF\x1A", 3), 0);
    expect_exact(&d, "\r\n+CIPRXGET: 1,1\r\n");
    simtest_send(&d, "AT+CIPRXGET=3,1\r");
    expect_exact(&d, "\r\n+CIPRXGET: 3,1,3,0\r\n00FF1A\r\n\r\nOK\r\n");

    /* data that arrives while data waits gives no second notice */
    assert_int_equal(echo_server_send(&srv, 0, "ab", 2), 0);
    expect_exact(&d, "\r\n+CIPRXGET: 1,1\r\n");
    assert_int_equal(echo_server_send(&srv, 0, "cd", 2), 0);
    bool all_there = false;
    for (int i = 0; i < GUARD_MS / 5 && !all_there; i++) {
        simtest_pump(&d, 5);
        simtest_send(&d, "AT+CIPRXGET=4,1\r");
        char reply[64];
        assert_true(simtest_expect_capture(&d, "OK\r\n", GUARD_MS, reply, sizeof(reply)));
        assert_true(strcmp(reply, "\r\n+CIPRXGET: 4,1,2\r\n\r\nOK\r\n") == 0 ||
                    strcmp(reply, "\r\n+CIPRXGET: 4,1,4\r\n\r\nOK\r\n") == 0);
        all_there = strcmp(reply, "\r\n+CIPRXGET: 4,1,4\r\n\r\nOK\r\n") == 0;
    }
    assert_true(all_there);
    simtest_send(&d, "AT+CIPRXGET=2,1,1500\r");
    expect_exact(&d, "\r\n+CIPRXGET: 2,1,4,0\r\nabcd\r\n\r\nOK\r\n");

    /* a read of more than one push chunk arrives whole */
    char block[3000];
    for (size_t i = 0; i < sizeof(block); i++) {
        block[i] = (char)('a' + i % 26);
    }
    assert_int_equal(echo_server_send(&srv, 0, block, sizeof(block)), 0);
    expect_exact(&d, "\r\n+CIPRXGET: 1,1\r\n");
    for (int i = 0; i < 200; i++) {
        simtest_send(&d, "AT+CIPRXGET=4,1\r");
        char reply[64];
        assert_true(simtest_expect_capture(&d, "OK\r\n", GUARD_MS, reply, sizeof(reply)));
        if (strcmp(reply, "\r\n+CIPRXGET: 4,1,3000\r\n\r\nOK\r\n") == 0) {
            break;
        }
        simtest_pump(&d, 5);
    }
    simtest_send(&d, "AT+CIPRXGET=2,1\r");
    char expect[1600];
    int n = snprintf(expect, sizeof(expect), "\r\n+CIPRXGET: 2,1,1500,1500\r\n");
    memcpy(expect + n, block, 1500);
    strcpy(expect + n + 1500, "\r\n\r\nOK\r\n");
    expect_exact(&d, expect);
    end_session(&d, &srv);
}

static void urcs_wait_for_the_command_in_progress(void **state)
{
    (void)state;
    struct echo_server srv;
    struct simtest_driver d;
    start_session(&d, &srv);
    simtest_send(&d, "AT+CIPSRIP=0\r");
    expect_exact(&d, "\r\nOK\r\n");
    open_link(&d, &srv, 0);

    /* data arrives while the host is inside CIPSEND's prompt */
    simtest_send(&d, "AT+CIPSEND=0,3\r");
    expect_exact(&d, "\r\n>");
    assert_int_equal(echo_server_send(&srv, 0, "push", 4), 0);
    pump_until_urc_queued(&d);
    assert_int_equal(sim_buf_used(&d.seen), 0);
    simtest_send_raw(&d, "xyz", 3);
    expect_exact(&d, "\r\nOK\r\n\r\n+CIPSEND: 0,3,3\r\n\r\n+IPD4\r\npush");
    expect_exact(&d, "\r\n+IPD3\r\nxyz");
    end_session(&d, &srv);
}

static void peer_close_reports_ipclose(void **state)
{
    (void)state;
    struct echo_server srv;
    struct simtest_driver d;
    start_session(&d, &srv);
    open_link(&d, &srv, 0);
    simtest_send(&d, "AT+CIPCLOSE?\r");
    expect_exact(&d, "\r\n+CIPCLOSE: 1,0,0,0,0,0,0,0,0,0\r\n\r\nOK\r\n");

    /* push mode: data first, then the close */
    assert_int_equal(echo_server_send(&srv, 0, "bye", 3), 0);
    assert_int_equal(echo_server_close(&srv, 0, false), 1);
    char text[128];
    snprintf(text, sizeof(text), "\r\nRECV FROM:127.0.0.1:%d\r\n+IPD3\r\nbye\r\n+IPCLOSE: 0,1\r\n", srv.port);
    expect_exact(&d, text);
    simtest_send(&d, "AT+CIPCLOSE?\r");
    expect_exact(&d, "\r\n+CIPCLOSE: 0,0,0,0,0,0,0,0,0,0\r\n\r\nOK\r\n");
    simtest_send(&d, "AT+CIPSEND=0,1\r");
    expect_exact(&d, "\r\n+CIPERROR: 4\r\n\r\nERROR\r\n");
    simtest_send(&d, "AT+CIPCLOSE=0\r");
    expect_exact(&d, "\r\n+CIPCLOSE: 0,4\r\n\r\nERROR\r\n");

    /* manual mode: the data stays readable after +IPCLOSE; a reset by the peer counts as a close */
    simtest_send(&d, "AT+CIPRXGET=1\r");
    expect_exact(&d, "\r\nOK\r\n");
    open_link(&d, &srv, 0);
    assert_int_equal(echo_server_send(&srv, 0, "last", 4), 0);
    expect_exact(&d, "\r\n+CIPRXGET: 1,0\r\n");
    assert_int_equal(echo_server_close(&srv, 0, true), 1);
    expect_exact(&d, "\r\n+IPCLOSE: 0,1\r\n");
    simtest_send(&d, "AT+CIPRXGET=2,0\r");
    expect_exact(&d, "\r\n+CIPRXGET: 2,0,4,0\r\nlast\r\n\r\nOK\r\n");
    simtest_send(&d, "AT+CIPOPEN?\r");
    expect_text(&d, "\r\n+CIPOPEN: 0\r\n+CIPOPEN: 1\r\n");
    assert_non_null(strstr(simtest_control(&d, "stats"), "\"tcp_remote_closes\":2"));
    end_session(&d, &srv);
}

static void local_close_and_two_links(void **state)
{
    (void)state;
    struct echo_server srv;
    struct simtest_driver d;
    start_session(&d, &srv);
    simtest_send(&d, "AT+CIPCCFG=10,0,0,0,1,0,75000;+CIPSRIP=0\r");
    expect_exact(&d, "\r\nOK\r\n");
    open_link(&d, &srv, 0);
    open_link(&d, &srv, 3);
    simtest_send(&d, "AT+CIPOPEN=3,\"TCP\",\"127.0.0.1\",80\r");
    expect_exact(&d, "\r\n+CIPOPEN: 3,4\r\n\r\nERROR\r\n");

    char listing[512];
    snprintf(listing, sizeof(listing),
             "\r\n+CIPOPEN: 0,\"TCP\",\"127.0.0.1\",%d,-1\r\n+CIPOPEN: 1\r\n+CIPOPEN: 2\r\n"
             "+CIPOPEN: 3,\"TCP\",\"127.0.0.1\",%d,-1\r\n+CIPOPEN: 4\r\n+CIPOPEN: 5\r\n+CIPOPEN: 6\r\n"
             "+CIPOPEN: 7\r\n+CIPOPEN: 8\r\n+CIPOPEN: 9\r\n\r\nOK\r\n",
             srv.port, srv.port);
    simtest_send(&d, "AT+CIPOPEN?\r");
    expect_exact(&d, listing);

    send_fixed(&d, 3, "three", 5);
    expect_exact(&d, "\r\n+RECEIVE,3,5\r\nthree");
    send_fixed(&d, 0, "zero", 4);
    expect_exact(&d, "\r\n+RECEIVE,0,4\r\nzero");

    simtest_send(&d, "AT+CIPCLOSE=0\r");
    expect_exact(&d, "\r\nOK\r\n\r\n+CIPCLOSE: 0,0\r\n");
    pump_until_open_clients(&d, &srv, 1);
    simtest_send(&d, "AT+CIPCLOSE?\r");
    expect_exact(&d, "\r\n+CIPCLOSE: 0,0,0,1,0,0,0,0,0,0\r\n\r\nOK\r\n");
    send_fixed(&d, 3, "still", 5);
    expect_exact(&d, "\r\n+RECEIVE,3,5\r\nstill");

    /* NETCLOSE closes what is left */
    simtest_send(&d, "AT+NETCLOSE\r");
    expect_exact(&d, "\r\nOK\r\n\r\n+CIPCLOSE: 3,0\r\n\r\n+NETCLOSE: 0\r\n");
    pump_until_open_clients(&d, &srv, 0);
    assert_non_null(strstr(simtest_control(&d, "stats"), "\"tcp_open_links\":0,\"tcp_connects\":2"));
    end_session(&d, &srv);
}

static void network_loss_closes_sockets(void **state)
{
    (void)state;
    struct echo_server srv;
    struct simtest_driver d;
    start_session(&d, &srv);
    open_link(&d, &srv, 0);
    open_link(&d, &srv, 5);

    simtest_control(&d, "net down");
    expect_exact(&d, "\r\n+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY\r\n\r\n+IPCLOSE: 0,1\r\n\r\n+IPCLOSE: 5,1\r\n");
    pump_until_open_clients(&d, &srv, 0);
    simtest_send(&d, "AT+NETOPEN?\r");
    expect_exact(&d, "\r\n+NETOPEN: 0\r\n\r\nOK\r\n");
    simtest_send(&d, "AT+NETOPEN\r");
    expect_exact(&d, "\r\nOK\r\n\r\n+NETOPEN: 1\r\n");

    /* back again: everything works as before */
    simtest_control(&d, "net up");
    simtest_send(&d, "AT+NETOPEN\r");
    expect_exact(&d, "\r\nOK\r\n\r\n+NETOPEN: 0\r\n");
    open_link(&d, &srv, 0);
    send_fixed(&d, 0, "again", 5);
    expect_text(&d, "+IPD5\r\nagain");
    end_session(&d, &srv);
}

static void drop_tcp_fault(void **state)
{
    (void)state;
    struct echo_server srv;
    struct simtest_driver d;
    start_session(&d, &srv);
    open_link(&d, &srv, 0);
    open_link(&d, &srv, 1);

    assert_string_equal(simtest_control(&d, "drop tcp 1"), "ok drop tcp 1");
    expect_exact(&d, "\r\n+IPCLOSE: 1,1\r\n");
    pump_until_open_clients(&d, &srv, 1);
    assert_string_equal(simtest_control(&d, "drop tcp 1"), "error: no open TCP link 1");
    assert_string_equal(simtest_control(&d, "drop tcp 10"), "error: usage: drop tcp [LINK(0-9)]");
    assert_string_equal(simtest_control(&d, "drop tcp"), "ok drop tcp 1");
    expect_exact(&d, "\r\n+IPCLOSE: 0,1\r\n");
    pump_until_open_clients(&d, &srv, 0);
    assert_string_equal(simtest_control(&d, "drop tcp"), "error: no open TCP link");
    assert_non_null(strstr(simtest_control(&d, "stats"), "\"tcp_drops\":2"));
    simtest_send(&d, "AT+CIPCLOSE?\r");
    expect_exact(&d, "\r\n+CIPCLOSE: 0,0,0,0,0,0,0,0,0,0\r\n\r\nOK\r\n");
    end_session(&d, &srv);
}

static void refused_and_unresolvable(void **state)
{
    (void)state;
    struct echo_server srv;
    struct simtest_driver d;
    start_session(&d, &srv);
    int closed_port = simtest_free_port();
    sendf(&d, "AT+CIPOPEN=0,\"TCP\",\"127.0.0.1\",%d\r", closed_port);
    expect_exact(&d, "\r\nOK\r\n");
    expect_exact(&d, "\r\n+CIPOPEN: 0,1\r\n");
    simtest_send(&d, "AT+CIPCLOSE?\r");
    expect_exact(&d, "\r\n+CIPCLOSE: 0,0,0,0,0,0,0,0,0,0\r\n\r\nOK\r\n");

    simtest_send(&d, "AT+CIPOPEN=1,\"TCP\",\"no-such-host.invalid\",80\r");
    expect_exact(&d, "\r\nOK\r\n");
    expect_exact(&d, "\r\n+CIPOPEN: 1,11\r\n");

    /* names: through the simulated DNS (control verb host), then the host's resolver */
    simtest_control(&d, "host broker.example 127.0.0.1");
    sendf(&d, "AT+CIPOPEN=2,\"TCP\",\"broker.example\",%d\r", srv.port);
    expect_exact(&d, "\r\nOK\r\n");
    expect_exact(&d, "\r\n+CIPOPEN: 2,0\r\n");
    sendf(&d, "AT+CIPOPEN=3,\"TCP\",\"localhost\",%d\r", srv.port);
    expect_exact(&d, "\r\nOK\r\n");
    expect_exact(&d, "\r\n+CIPOPEN: 3,0\r\n");
    pump_until_accepted(&d, &srv, 2);
    assert_non_null(strstr(simtest_control(&d, "stats"), "\"tcp_connects\":2,\"tcp_connect_failures\":2"));
    end_session(&d, &srv);
}

static void info_first_order_holds_ok(void **state)
{
    (void)state;
    struct echo_server srv;
    struct simtest_driver d;
    start_session(&d, &srv);
    simtest_control(&d, "order info-first");
    sendf(&d, "AT+CIPOPEN=4,\"TCP\",\"127.0.0.1\",%d;+CIPCLOSE?\r", srv.port);
    expect_exact(&d, "\r\n+CIPOPEN: 4,0\r\n+CIPCLOSE: 0,0,0,0,1,0,0,0,0,0\r\n\r\nOK\r\n");
    pump_until_accepted(&d, &srv, 1);
    simtest_send(&d, "AT+CIPSEND=4,2\r");
    expect_exact(&d, "\r\n>");
    simtest_send_raw(&d, "hi", 2);
    expect_exact(&d, "\r\n+CIPSEND: 4,2,2\r\n\r\nOK\r\n");
    simtest_send(&d, "AT+CIPCLOSE=4\r");
    expect_exact(&d, "\r\n+CIPCLOSE: 4,0\r\n\r\nOK\r\n");
    sendf(&d, "AT+CIPOPEN=4,\"TCP\",\"127.0.0.1\",%d\r", simtest_free_port());
    expect_exact(&d, "\r\n+CIPOPEN: 4,1\r\n\r\nOK\r\n");
    end_session(&d, &srv);
}

static void creset_tears_down_links(void **state)
{
    (void)state;
    struct echo_server srv;
    struct simtest_driver d;
    start_session(&d, &srv);
    simtest_send(&d, "AT+CIPRXGET=1\r");
    expect_exact(&d, "\r\nOK\r\n");
    open_link(&d, &srv, 0);
    open_link(&d, &srv, 7);
    simtest_send(&d, "AT+CRESET\r");
    expect_exact(&d, "\r\nOK\r\n\r\n+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY\r\n\r\nRDY\r\n");
    expect_exact(&d, "\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n");
    pump_until_open_clients(&d, &srv, 0);
    simtest_send(&d, "AT+CIPCLOSE?;+NETOPEN?;+CIPRXGET?\r");
    expect_exact(&d, "AT+CIPCLOSE?;+NETOPEN?;+CIPRXGET?\r\r\n+CIPCLOSE: 0,0,0,0,0,0,0,0,0,0\r\n"
                     "+NETOPEN: 0\r\n+CIPRXGET: 0\r\n\r\nOK\r\n");
    end_session(&d, &srv);
}

/* The exact command sequence of TinyGSM's SIM7600 driver (real-clients.md §1.5-1.6). */
static void tinygsm_client_flow(void **state)
{
    (void)state;
    struct echo_server srv;
    struct simtest_driver d;
    assert_int_equal(echo_server_start(&srv), 0);
    simtest_driver_init(&d, NULL);
    simtest_send(&d, "ATE0\r\n");
    expect_exact(&d, "ATE0\r\r\nOK\r\n");
    simtest_send(&d, "AT+NETCLOSE\r\n");
    expect_exact(&d, "\r\n+NETCLOSE: 2\r\n\r\nERROR\r\n");
    simtest_send(&d, "AT+CIPMODE=0\r\n");
    expect_exact(&d, "\r\nOK\r\n");
    simtest_send(&d, "AT+CIPSENDMODE=0\r\n");
    expect_exact(&d, "\r\nOK\r\n");
    simtest_send(&d, "AT+CIPCCFG=10,0,0,0,1,0,75000\r\n");
    expect_exact(&d, "\r\nOK\r\n");
    simtest_send(&d, "AT+CIPTIMEOUT=75000,15000,15000\r\n");
    expect_exact(&d, "\r\nOK\r\n");
    simtest_send(&d, "AT+NETOPEN\r\n");
    expect_exact(&d, "\r\nOK\r\n\r\n+NETOPEN: 0\r\n");
    simtest_send(&d, "AT+NETOPEN?\r\n");
    expect_exact(&d, "\r\n+NETOPEN: 1\r\n\r\nOK\r\n");
    simtest_send(&d, "AT+IPADDR\r\n");
    expect_exact(&d, "\r\n+IPADDR: 10.84.17.161\r\n\r\nOK\r\n");

    simtest_send(&d, "AT+CIPCLOSE=0\r\n");
    expect_exact(&d, "\r\n+CIPCLOSE: 0,4\r\n\r\nERROR\r\n");
    simtest_send(&d, "AT+CIPRXGET=1\r\n");
    expect_exact(&d, "\r\nOK\r\n");
    sendf(&d, "AT+CIPOPEN=0,\"TCP\",\"127.0.0.1\",%d\r\n", srv.port);
    expect_exact(&d, "\r\nOK\r\n\r\n+CIPOPEN: 0,0\r\n");

    /* an MQTT CONNECT for "GsmClientTest" is 27 bytes with NUL bytes inside */
    static const uint8_t connect_packet[27] = { 0x10, 0x19, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x0F, 0x00,
                                                0x0D, 'G',  's',  'm',  'C', 'l', 'i', 'e', 'n', 't', 'T', 'e', 's', 't' };
    simtest_send(&d, "AT+CIPSEND=0,27\r\n");
    expect_exact(&d, "\r\n>");
    simtest_send_raw(&d, connect_packet, sizeof(connect_packet));
    expect_exact(&d, "\r\nOK\r\n\r\n+CIPSEND: 0,27,27\r\n");
    expect_exact(&d, "\r\n+CIPRXGET: 1,0\r\n");
    simtest_send(&d, "AT+CIPRXGET=4,0\r\n");
    expect_exact(&d, "\r\n+CIPRXGET: 4,0,27\r\n\r\nOK\r\n");
    simtest_send(&d, "AT+CIPRXGET=2,0,63\r\n");
    char expect[128];
    int n = snprintf(expect, sizeof(expect), "\r\n+CIPRXGET: 2,0,27,0\r\n");
    memcpy(expect + n, connect_packet, sizeof(connect_packet));
    memcpy(expect + n + 27, "\r\n\r\nOK\r\n", 9);
    char got[128];
    assert_true(simtest_expect_capture(&d, "\r\n\r\nOK\r\n", GUARD_MS, got, sizeof(got)));
    assert_memory_equal(got, expect, (size_t)n + 27 + 8);
    simtest_send(&d, "AT+CIPRXGET=4,0\r\n");
    expect_exact(&d, "\r\n+CIPRXGET: 4,0,0\r\n\r\nOK\r\n");
    simtest_send(&d, "AT+CIPCLOSE?\r\n");
    expect_exact(&d, "\r\n+CIPCLOSE: 1,0,0,0,0,0,0,0,0,0\r\n\r\nOK\r\n");
    simtest_send(&d, "AT+CIPCLOSE=0\r\n");
    expect_exact(&d, "\r\nOK\r\n\r\n+CIPCLOSE: 0,0\r\n");
    simtest_send(&d, "AT+NETCLOSE\r\n");
    expect_exact(&d, "\r\nOK\r\n\r\n+NETCLOSE: 0\r\n");
    end_session(&d, &srv);
}


/* Move n raw bytes out of the driver's output, pumping until they are there. */
static void take_raw(struct simtest_driver *d, void *out, size_t n)
{
    for (int i = 0; i < GUARD_MS && sim_buf_used(&d->seen) < n; i++) {
        simtest_pump(d, 1);
    }
    assert_true(sim_buf_used(&d->seen) >= n);
    assert_int_equal(sim_buf_take(&d->seen, out, n), n);
}

/* Read a decimal number from the output up to (and consuming) the terminator. */
static long take_number(struct simtest_driver *d, const char *terminator)
{
    char text[32];
    assert_true(simtest_expect_capture(d, terminator, GUARD_MS, text, sizeof(text)));
    return strtol(text, NULL, 10);
}

static void fill_pattern(uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        data[i] = (uint8_t)((i * 7 + i / 251) & 0xFF);
    }
}

static void push_mode_bulk_data_in_chunks(void **state)
{
    (void)state;
    struct echo_server srv;
    struct simtest_driver d;
    start_session(&d, &srv);
    simtest_send(&d, "AT+CIPCCFG=10,0,0,0,1,0,75000;+CIPSRIP=0\r");
    expect_exact(&d, "\r\nOK\r\n");
    open_link(&d, &srv, 6);
    enum { TOTAL = 200000 };
    uint8_t *sent = malloc(TOTAL);
    uint8_t *got = malloc(TOTAL);
    assert_non_null(sent);
    assert_non_null(got);
    fill_pattern(sent, TOTAL);
    assert_int_equal(echo_server_send(&srv, 0, sent, TOTAL), 0);
    size_t have = 0;
    while (have < TOTAL) {
        expect_exact(&d, "\r\n+RECEIVE,6,");
        long n = take_number(&d, "\r\n");
        assert_true(n >= 1 && n <= 1500);
        assert_true(have + (size_t)n <= TOTAL);
        take_raw(&d, got + have, (size_t)n);
        have += (size_t)n;
    }
    assert_memory_equal(got, sent, TOTAL);
    free(sent);
    free(got);
    end_session(&d, &srv);
}

static void manual_mode_bulk_data_with_flow_control(void **state)
{
    (void)state;
    struct echo_server srv;
    struct simtest_driver d;
    start_session(&d, &srv);
    simtest_send(&d, "AT+CIPRXGET=1\r");
    expect_exact(&d, "\r\nOK\r\n");
    open_link(&d, &srv, 0);
    enum { TOTAL = 300000 };
    uint8_t *sent = malloc(TOTAL);
    uint8_t *got = malloc(TOTAL);
    assert_non_null(sent);
    assert_non_null(got);
    fill_pattern(sent, TOTAL);
    assert_int_equal(echo_server_send(&srv, 0, sent, TOTAL), 0);
    expect_exact(&d, "\r\n+CIPRXGET: 1,0\r\n");
    size_t have = 0;
    long most_waiting = 0;
    for (int rounds = 0; have < TOTAL && rounds < 100000; rounds++) {
        simtest_pump(&d, 1);
        simtest_send(&d, "AT+CIPRXGET=2,0\r");
        char head[64];
        assert_true(simtest_expect_capture(&d, "\r\n", GUARD_MS, head, sizeof(head))); /* leading CRLF */
        assert_true(simtest_expect_capture(&d, "\r\n", GUARD_MS, head, sizeof(head)));
        if (strcmp(head, "+IP ERROR: No data\r\n") == 0) {
            expect_exact(&d, "\r\nERROR\r\n");
            continue;
        }
        long read_len = 0;
        long rest = 0;
        assert_int_equal(sscanf(head, "+CIPRXGET: 2,0,%ld,%ld", &read_len, &rest), 2);
        assert_true(read_len >= 1 && read_len <= 1500 && have + (size_t)read_len <= TOTAL);
        most_waiting = rest > most_waiting ? rest : most_waiting;
        take_raw(&d, got + have, (size_t)read_len);
        have += (size_t)read_len;
        expect_exact(&d, "\r\n\r\nOK\r\n");
    }
    assert_int_equal(have, TOTAL);
    assert_memory_equal(got, sent, TOTAL);
    /* the module's buffer is bounded: the rest waited in TCP */
    assert_true(most_waiting <= 65536);
    free(sent);
    free(got);
    end_session(&d, &srv);
}

static void connect_timeout_follows_ciptimeout(void **state)
{
    (void)state;
    struct vclock *clock = vclock_new_private(1800000000LL * 1000000000LL, 0); /* frozen until a jump */
    assert_non_null(clock);
    struct sim_config cfg;
    simtest_config(&cfg);
    cfg.clock = clock;
    struct echo_server srv;
    struct simtest_driver d;
    start_session_with(&d, &srv, &cfg);

    /* a listener whose accept queue is full never answers a SYN */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(addr);
    assert_int_equal(bind(listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(listener, 0), 0);
    assert_int_equal(getsockname(listener, (struct sockaddr *)&addr, &len), 0);
    int filler = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(filler, (struct sockaddr *)&addr, sizeof(addr)), 0);

    simtest_send(&d, "AT+CIPTIMEOUT=,3000\r");
    expect_exact(&d, "\r\nOK\r\n");
    sendf(&d, "AT+CIPOPEN=0,\"TCP\",\"127.0.0.1\",%d\r", ntohs(addr.sin_port));
    expect_exact(&d, "\r\nOK\r\n");
    sendf(&d, "AT+CIPOPEN=1,\"TCP\",\"127.0.0.1\",%d\r", ntohs(addr.sin_port));
    expect_exact(&d, "\r\nOK\r\n");
    for (int i = 0; i < 10; i++) {
        simtest_pump(&d, 5);
    }
    /* still connecting: not listed as open, and a close cancels it */
    simtest_send(&d, "AT+CIPCLOSE?\r");
    expect_exact(&d, "\r\n+CIPCLOSE: 0,0,0,0,0,0,0,0,0,0\r\n\r\nOK\r\n");
    simtest_send(&d, "AT+CIPCLOSE=1\r");
    expect_exact(&d, "\r\nOK\r\n\r\n+CIPCLOSE: 1,0\r\n");
    vclock_jump(clock, 2999 * VCLOCK_NS_PER_MS);
    for (int i = 0; i < 10; i++) {
        simtest_pump(&d, 5);
    }
    assert_int_equal(sim_buf_used(&d.seen), 0);
    vclock_jump(clock, 2 * VCLOCK_NS_PER_MS);
    expect_exact(&d, "\r\n+CIPOPEN: 0,10\r\n");
    simtest_send(&d, "AT+CIPOPEN?\r");
    expect_text(&d, "\r\n+CIPOPEN: 0\r\n+CIPOPEN: 1\r\n");
    close(filler);
    close(listener);
    end_session(&d, &srv);
    vclock_close(clock);
}

static void realistic_latency_keeps_the_order(void **state)
{
    (void)state;
    struct vclock *clock = vclock_new_private(1800000000LL * 1000000000LL, 0);
    assert_non_null(clock);
    struct sim_config cfg;
    simtest_config(&cfg);
    cfg.clock = clock;
    cfg.latency = SIM_LATENCY_REALISTIC;
    struct echo_server srv;
    struct simtest_driver d;
    assert_int_equal(echo_server_start(&srv), 0);
    simtest_driver_init(&d, &cfg);
    simtest_send(&d, "ATE0\r");
    expect_exact(&d, "ATE0\r\r\nOK\r\n");
    simtest_send(&d, "AT+NETOPEN\r");
    for (int i = 0; i < 10; i++) {
        simtest_pump(&d, 5);
    }
    assert_int_equal(sim_buf_used(&d.seen), 0); /* NETOPEN takes its time */
    vclock_jump(clock, 800 * VCLOCK_NS_PER_MS);
    expect_exact(&d, "\r\nOK\r\n\r\n+NETOPEN: 0\r\n");
    sendf(&d, "AT+CIPOPEN=0,\"TCP\",\"127.0.0.1\",%d\r", srv.port);
    pump_until_accepted(&d, &srv, 1);
    for (int i = 0; i < 10; i++) {
        simtest_pump(&d, 5);
    }
    assert_int_equal(sim_buf_used(&d.seen), 0); /* the connect is done, but OK is not out yet */
    vclock_jump(clock, 50 * VCLOCK_NS_PER_MS);
    expect_exact(&d, "\r\nOK\r\n\r\n+CIPOPEN: 0,0\r\n");
    end_session(&d, &srv);
    vclock_close(clock);
}


static void sendmode_one_answers_after_the_ack(void **state)
{
    (void)state;
    struct echo_server srv;
    struct simtest_driver d;
    start_session(&d, &srv);
    echo_server_set_echo(&srv, false);
    simtest_send(&d, "AT+CIPSENDMODE=1\r");
    expect_exact(&d, "\r\nOK\r\n");
    open_link(&d, &srv, 0);
    simtest_send(&d, "AT+CIPSEND=0,3\r");
    expect_exact(&d, "\r\n>");
    simtest_send_raw(&d, "abc", 3);
    expect_exact(&d, "\r\nOK\r\n");
    expect_exact(&d, "\r\n+CIPSEND: 0,3,3\r\n");
    pump_until_received(&d, &srv, 3);

    /* info-first: the OK waits with the report */
    simtest_control(&d, "order info-first");
    simtest_send(&d, "AT+CIPSEND=0;+CIPSENDMODE?\r");
    expect_exact(&d, "\r\n>");
    simtest_send_raw(&d, "defg\x1A", 5);
    expect_exact(&d, "\r\n+CIPSEND: 0,4,4\r\n+CIPSENDMODE: 1\r\n\r\nOK\r\n");
    pump_until_received(&d, &srv, 7);
    end_session(&d, &srv);
}

static void link_closed_during_the_prompt(void **state)
{
    (void)state;
    struct echo_server srv;
    struct simtest_driver d;
    start_session(&d, &srv);
    open_link(&d, &srv, 8);
    simtest_send(&d, "AT+CIPSEND=8,4\r");
    expect_exact(&d, "\r\n>");
    assert_int_equal(echo_server_close(&srv, 0, false), 1);
    pump_until_urc_queued(&d);
    assert_int_equal(sim_buf_used(&d.seen), 0);
    simtest_send_raw(&d, "late", 4);
    /* the peer left while the host typed: -1, then the held +IPCLOSE */
    expect_exact(&d, "\r\nOK\r\n\r\n+CIPSEND: 8,4,-1\r\n\r\n+IPCLOSE: 8,1\r\n");
    end_session(&d, &srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(errors_before_netopen),
        cmocka_unit_test(argument_and_limit_errors),
        cmocka_unit_test(test_and_read_forms),
        cmocka_unit_test(netopen_states),
        cmocka_unit_test(no_network_refuses),
        cmocka_unit_test(creset_closes_the_network),
        cmocka_unit_test(push_mode_fixed_send_and_echo),
        cmocka_unit_test(ctrlz_send_and_esc_cancel),
        cmocka_unit_test(manual_mode_reads),
        cmocka_unit_test(urcs_wait_for_the_command_in_progress),
        cmocka_unit_test(peer_close_reports_ipclose),
        cmocka_unit_test(local_close_and_two_links),
        cmocka_unit_test(network_loss_closes_sockets),
        cmocka_unit_test(drop_tcp_fault),
        cmocka_unit_test(refused_and_unresolvable),
        cmocka_unit_test(info_first_order_holds_ok),
        cmocka_unit_test(creset_tears_down_links),
        cmocka_unit_test(tinygsm_client_flow),
        cmocka_unit_test(push_mode_bulk_data_in_chunks),
        cmocka_unit_test(manual_mode_bulk_data_with_flow_control),
        cmocka_unit_test(connect_timeout_follows_ciptimeout),
        cmocka_unit_test(realistic_latency_keeps_the_order),
        cmocka_unit_test(sendmode_one_answers_after_the_ack),
        cmocka_unit_test(link_closed_during_the_prompt),
    };
    return cmocka_run_group_tests_name("sim_tcpip", tests, NULL, NULL);
}
