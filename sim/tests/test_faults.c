/*
 * Every fault of the control protocol, injected into the real sim7600 program
 * while a firmware-like host drives it over its PTY (sim/tests/support/
 * ptyhost.h) against real servers started on free ports: Mosquitto for MQTT,
 * the echo server for TCP. Time only moves when a test jumps the virtual
 * clock; real time appears only in hang guards. The URC bytes checked here
 * are those of the SIM7600 reference, sim7600-at.md (§1 AT+CRESET and
 * AT+CPIN, §2 URCs and AT+CIPSEND, §4.2 MQTT URCs, §4.5 observed errors and
 * leftover state).
 */
#include "echo_server.h"
#include "ptyhost.h"
#include "simtest.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

/* Real ms during which nothing may arrive where the modem must stay silent. */
#define QUIET_MS 300

/* Everything a test started; the teardown stops what is still running after a failed assertion. */
struct bench {
    struct ptyhost host;
    struct simtest_server broker;
    struct echo_server echo;
    bool host_up;
    bool broker_up;
    bool echo_up;
};

static struct bench bench;

static int stop_everything(void **state)
{
    (void)state;
    if (bench.host_up) {
        ptyhost_stop(&bench.host);
        bench.host_up = false;
    }
    if (bench.broker_up) {
        simtest_server_stop(&bench.broker);
        bench.broker_up = false;
    }
    if (bench.echo_up) {
        echo_server_stop(&bench.echo);
        bench.echo_up = false;
    }
    return 0;
}

/* ------------------------------------------------------------- host side */

/* Start sim7600 (extra arguments NULL-terminated) and switch echo off as firmware does. */
static void modem_start(const char *const *extra_args)
{
    assert_int_equal(ptyhost_start(&bench.host, extra_args), 0);
    bench.host_up = true;
    assert_true(ptyhost_send(&bench.host, "ATE0\r"));
    assert_true(ptyhost_expect_exact(&bench.host, "ATE0\r\r\nOK\r\n"));
}

static void modem_stop(void)
{
    assert_int_equal(ptyhost_stop(&bench.host), 0);
    bench.host_up = false;
}

static void broker_start(void)
{
    assert_int_equal(simtest_mosquitto_start(&bench.broker, NULL), 0);
    bench.broker_up = true;
}

static void broker_stop(void)
{
    simtest_server_stop(&bench.broker);
    bench.broker_up = false;
}

static void echo_start(void)
{
    assert_int_equal(echo_server_start(&bench.echo), 0);
    bench.echo_up = true;
}

/* Send a formatted command line. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    assert_true(ptyhost_send(&bench.host, line));
}

/* The next bytes from the modem are exactly these (formatted); a mismatch names the caller's line. */
#define exact(...) exact_at(__LINE__, __VA_ARGS__)
static void exact_at(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void exact_at(int line, const char *fmt, ...)
{
    char bytes[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(bytes, sizeof(bytes), fmt, ap);
    va_end(ap);
    if (!ptyhost_expect_exact(&bench.host, bytes)) {
        fail_msg("modem output differs at test_faults.c:%d", line);
    }
}

/* The control command's reply is exactly want; a mismatch names the caller's line. */
#define control_is(line, want) control_is_at(__LINE__, line, want)
static void control_is_at(int line, const char *command, const char *want)
{
    if (!ptyhost_control_is(&bench.host, command, want)) {
        fail_msg("control reply differs at test_faults.c:%d", line);
    }
}

/* A counter of the `stats` reply. */
static long long stat_of(const char *key)
{
    long long v = ptyhost_stat(&bench.host, key);
    assert_true(v >= 0);
    return v;
}

/* Poll `stats` until key reaches want (a hang guard only). */
static void stat_reaches(const char *key, long long want)
{
    for (int i = 0; i < PTYHOST_GUARD_MS / 10 && ptyhost_stat(&bench.host, key) != want; i++) {
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
    }
    assert_int_equal(stat_of(key), want);
}

static void echo_open_clients_reach(int count)
{
    for (int i = 0; i < PTYHOST_GUARD_MS / 10 && echo_server_open_clients(&bench.echo) != count; i++) {
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
    }
    assert_int_equal(echo_server_open_clients(&bench.echo), count);
}

/* ------------------------------------------------------------- MQTT as firmware does it */

static void mqtt_start_service(void)
{
    say("AT+CMQTTSTART\r");
    exact("\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n");
}

/* ACCQ and CONNECT client 0 to the test broker (service already started). */
static void mqtt_connect(const char *client_id)
{
    say("AT+CMQTTACCQ=0,\"%s\"\r", client_id);
    exact("\r\nOK\r\n");
    say("AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:%d\",60,1\r", bench.broker.port);
    exact("\r\nOK\r\n\r\n+CMQTTCONNECT: 0,0\r\n");
}

static void mqtt_session_up(const char *client_id)
{
    mqtt_start_service();
    mqtt_connect(client_id);
}

static void mqtt_subscribe(const char *topic)
{
    say("AT+CMQTTSUBTOPIC=0,%zu,0\r", strlen(topic));
    exact("\r\n>");
    say("%s", topic);
    exact("\r\nOK\r\n");
    say("AT+CMQTTSUB=0\r");
    exact("\r\nOK\r\n\r\n+CMQTTSUB: 0,0\r\n");
}

/* Publish at QoS 0 to a topic the client subscribed to and read the message back. */
static void mqtt_round_trip(const char *topic, const char *payload)
{
    size_t tl = strlen(topic);
    size_t pl = strlen(payload);
    say("AT+CMQTTTOPIC=0,%zu\r", tl);
    exact("\r\n>");
    say("%s", topic);
    exact("\r\nOK\r\n");
    say("AT+CMQTTPAYLOAD=0,%zu\r", pl);
    exact("\r\n>");
    say("%s", payload);
    exact("\r\nOK\r\n");
    say("AT+CMQTTPUB=0,0,60\r");
    exact("\r\nOK\r\n\r\n+CMQTTPUB: 0,0\r\n");
    exact("\r\n+CMQTTRXSTART: 0,%zu,%zu\r\n+CMQTTRXTOPIC: 0,%zu\r\n%s\r\n+CMQTTRXPAYLOAD: 0,%zu\r\n%s\r\n"
          "+CMQTTRXEND: 0\r\n",
          tl, pl, tl, topic, pl, payload);
}

/* CONNECT client 0 (service started, client acquired) to the echo server acting as a broker. */
static void mqtt_connect_to_hand_broker(void)
{
    static const char connack[] = { 0x20, 0x02, 0x00, 0x00 };
    size_t before = echo_server_received_total(&bench.echo);
    say("AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:%d\",60,1\r", bench.echo.port);
    exact("\r\nOK\r\n");
    /* CONNECT: fixed header (2) + variable header (10) + client id (2 + 5) */
    assert_int_equal(echo_server_wait_received(&bench.echo, before + 19, PTYHOST_GUARD_MS), 0);
    assert_int_equal(echo_server_send(&bench.echo, echo_server_open_clients(&bench.echo) - 1, connack,
                                      sizeof(connack)),
                     0);
    exact("\r\n+CMQTTCONNECT: 0,0\r\n");
}

/* A QoS 1 publish the hand-made broker never acknowledges: OK now, +CMQTTPUB later. */
static void mqtt_publish_unacknowledged(void)
{
    say("AT+CMQTTTOPIC=0,4\r");
    exact("\r\n>");
    say("t/up");
    exact("\r\nOK\r\n");
    say("AT+CMQTTPAYLOAD=0,2\r");
    exact("\r\n>");
    say("42");
    exact("\r\nOK\r\n");
    say("AT+CMQTTPUB=0,1,60\r");
    exact("\r\nOK\r\n");
}

/* The echo server (not echoing) as the broker, the modem with client 0 connected to it. */
static void hand_broker_session(void)
{
    echo_start();
    echo_server_set_echo(&bench.echo, false);
    modem_start(NULL);
    mqtt_start_service();
    say("AT+CMQTTACCQ=0,\"bus-1\"\r");
    exact("\r\nOK\r\n");
    mqtt_connect_to_hand_broker();
}

/* ------------------------------------------------------------- TCP as firmware does it */

static void tcp_network_open(void)
{
    say("AT+NETOPEN\r");
    exact("\r\nOK\r\n\r\n+NETOPEN: 0\r\n");
}

/* Open link to the echo server and wait until the server accepted it. */
static void tcp_open(int link)
{
    int before = echo_server_accepted(&bench.echo);
    say("AT+CIPOPEN=%d,\"TCP\",\"127.0.0.1\",%d\r", link, bench.echo.port);
    exact("\r\nOK\r\n\r\n+CIPOPEN: %d,0\r\n", link);
    assert_int_equal(echo_server_wait_accepted(&bench.echo, before + 1, PTYHOST_GUARD_MS), 0);
}

/* Send text on link and read the echo (push mode, CIPHEAD/CIPSRIP defaults). */
static void tcp_round_trip(int link, const char *text)
{
    size_t len = strlen(text);
    say("AT+CIPSEND=%d,%zu\r", link, len);
    exact("\r\n>");
    say("%s", text);
    exact("\r\nOK\r\n\r\n+CIPSEND: %d,%zu,%zu\r\n", link, len, len);
    exact("\r\nRECV FROM:127.0.0.1:%d\r\n+IPD%zu\r\n%s", bench.echo.port, len, text);
}

/* Open an MQTT session and a TCP link, the state faults take away. */
static void sessions_up(const char *client_id)
{
    mqtt_session_up(client_id);
    tcp_network_open();
    tcp_open(0);
    assert_int_equal(stat_of("mqtt_connected"), 1);
}

/* ------------------------------------------------------------- 1. network loss and return */

static void network_loss_ends_the_mqtt_session_until_it_returns(void **state)
{
    (void)state;
    broker_start();
    modem_start(NULL);
    mqtt_session_up("bus-1");
    mqtt_subscribe("fleet/bus-1/cmd");
    mqtt_round_trip("fleet/bus-1/cmd", "before");
    assert_int_equal(stat_of("mqtt_connected"), 1);

    control_is("net down", "ok net down");
    exact("\r\n+CMQTTCONNLOST: 0,3\r\n\r\n+CMQTTNONET\r\n");
    assert_int_equal(stat_of("mqtt_connected"), 0);
    /* the service is gone with the network: a new start fails while there is none */
    say("AT+CMQTTACCQ=0,\"bus-1\"\r");
    exact("\r\nERROR\r\n");
    say("AT+CMQTTSTART\r");
    exact("\r\nOK\r\n\r\n+CMQTTSTART: 7\r\n");

    control_is("net up", "ok net up");
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS)); /* no URC on return: the host restarts */
    mqtt_session_up("bus-1");
    mqtt_subscribe("fleet/bus-1/cmd");
    mqtt_round_trip("fleet/bus-1/cmd", "after");
    assert_int_equal(stat_of("mqtt_connected"), 1);
    modem_stop();
    broker_stop();
}

static void network_loss_closes_tcp_links_until_it_returns(void **state)
{
    (void)state;
    echo_start();
    modem_start(NULL);
    tcp_network_open();
    tcp_open(0);
    tcp_open(3);
    tcp_round_trip(0, "ping");

    control_is("net down", "ok net down");
    exact("\r\n+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY\r\n\r\n+IPCLOSE: 0,1\r\n\r\n+IPCLOSE: 3,1\r\n");
    echo_open_clients_reach(0);
    say("AT+NETOPEN?\r");
    exact("\r\n+NETOPEN: 0\r\n\r\nOK\r\n");
    say("AT+CIPOPEN=0,\"TCP\",\"127.0.0.1\",%d\r", bench.echo.port);
    exact("\r\n+CIPOPEN: 0,2\r\n\r\nERROR\r\n"); /* network not opened */
    say("AT+NETOPEN\r");
    exact("\r\nOK\r\n\r\n+NETOPEN: 1\r\n"); /* network failure while down */

    control_is("net up", "ok net up");
    tcp_network_open();
    tcp_open(0);
    tcp_round_trip(0, "pong");
    modem_stop();
}

/* Every service up at once: one network loss, each group's URCs in one unbroken run. */
static void network_loss_with_every_service_up(void **state)
{
    (void)state;
    broker_start();
    echo_start();
    modem_start(NULL);
    sessions_up("bus-1");
    say("AT+CCHSTART\r");
    exact("\r\nOK\r\n\r\n+CCHSTART: 0\r\n");
    say("AT+HTTPINIT\r");
    exact("\r\nOK\r\n");

    control_is("net down", "ok net down");
    exact("\r\n+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY\r\n\r\n+IPCLOSE: 0,1\r\n\r\n+CCH: CCHSTOP\r\n"
          "\r\n+CMQTTCONNLOST: 0,3\r\n\r\n+CMQTTNONET\r\n\r\n+HTTP_NONET_EVENT\r\n");
    control_is("net down", "ok net down");
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS)); /* nothing left to lose */
    control_is("net sideways", "error: usage: net up|down");
    control_is("net up", "ok net up");
    tcp_network_open();
    tcp_open(0);
    tcp_round_trip(0, "all back");
    modem_stop();
    broker_stop();
}

/*
 * The network goes while the host is writing data after `>`: the URCs wait
 * for the data and the final result, and the send reports cnf -1
 * (reference §2 AT+CIPSEND: disconnected).
 */
static void network_loss_inside_a_send_prompt(void **state)
{
    (void)state;
    echo_start();
    modem_start(NULL);
    tcp_network_open();
    tcp_open(0);
    say("AT+CIPSEND=0,5\r");
    exact("\r\n>");
    control_is("net down", "ok net down");
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS)); /* nothing breaks into the prompt */
    say("hello");
    exact("\r\nOK\r\n\r\n+CIPSEND: 0,5,-1\r\n\r\n+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY\r\n\r\n+IPCLOSE: 0,1\r\n");
    assert_int_equal(echo_server_received_total(&bench.echo), 0);
    modem_stop();
}

/*
 * With the result line before OK (--order info-first, as real SIM7600E logs
 * show), CONNECT holds its final code until the broker answers. The network
 * going meanwhile ends it with 3 and OK, and only then come the URCs.
 */
static void network_loss_ends_a_held_connect_before_its_urcs(void **state)
{
    (void)state;
    echo_start();
    echo_server_set_echo(&bench.echo, false);
    const char *const args[] = { "--order", "info-first", NULL };
    modem_start(args);
    say("AT+CMQTTSTART\r");
    exact("\r\n+CMQTTSTART: 0\r\n\r\nOK\r\n");
    say("AT+CMQTTACCQ=0,\"bus-1\"\r");
    exact("\r\nOK\r\n");
    say("AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:%d\",60,1\r", bench.echo.port);
    assert_int_equal(echo_server_wait_received(&bench.echo, 19, PTYHOST_GUARD_MS), 0);
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS)); /* no CONNACK: no answer yet */
    control_is("net down", "ok net down");
    exact("\r\n+CMQTTCONNECT: 0,3\r\n\r\nOK\r\n\r\n+CMQTTNONET\r\n");
    echo_open_clients_reach(0);
    modem_stop();
}

/* ------------------------------------------------------------- 2. registration loss */

static void registration_loss_reports_and_refuses_connections(void **state)
{
    (void)state;
    broker_start();
    modem_start(NULL);
    say("AT+CREG=1\r");
    exact("\r\nOK\r\n");
    say("AT+CEREG=1\r");
    exact("\r\nOK\r\n");
    say("AT+CREG?\r");
    exact("\r\n+CREG: 1,1\r\n\r\nOK\r\n");
    mqtt_session_up("bus-2");

    control_is("reg searching", "ok reg searching");
    exact("\r\n+CREG: 2\r\n\r\n+CEREG: 2\r\n\r\n+CMQTTCONNLOST: 0,3\r\n\r\n+CMQTTNONET\r\n");
    say("AT+CREG?\r");
    exact("\r\n+CREG: 1,2\r\n\r\nOK\r\n");
    say("AT+CEREG?\r");
    exact("\r\n+CEREG: 1,2\r\n\r\nOK\r\n");
    say("AT+CGREG?\r");
    exact("\r\n+CGREG: 0,2\r\n\r\nOK\r\n"); /* no URC asked for: the state is still read */
    say("AT+CMQTTSTART\r");
    exact("\r\nOK\r\n\r\n+CMQTTSTART: 7\r\n");
    say("AT+NETOPEN\r");
    exact("\r\nOK\r\n\r\n+NETOPEN: 1\r\n");

    control_is("reg denied", "ok reg denied");
    exact("\r\n+CREG: 3\r\n\r\n+CEREG: 3\r\n");
    say("AT+CREG?\r");
    exact("\r\n+CREG: 1,3\r\n\r\nOK\r\n");
    say("AT+CMQTTSTART\r");
    exact("\r\nOK\r\n\r\n+CMQTTSTART: 7\r\n");

    control_is("reg home", "ok reg home");
    exact("\r\n+CREG: 1\r\n\r\n+CEREG: 1\r\n");
    say("AT+CREG?\r");
    exact("\r\n+CREG: 1,1\r\n\r\nOK\r\n");
    mqtt_session_up("bus-2");
    mqtt_subscribe("fleet/bus-2/cmd");
    mqtt_round_trip("fleet/bus-2/cmd", "registered");

    /* URCs stop when the host turns them off; roaming counts as registered */
    say("AT+CREG=0;+CEREG=0\r");
    exact("\r\nOK\r\n");
    control_is("reg roaming", "ok reg roaming");
    say("AT+CREG?\r");
    exact("\r\n+CREG: 0,5\r\n\r\nOK\r\n");
    assert_int_equal(stat_of("mqtt_connected"), 1);
    control_is("reg sideways", "error: usage: reg none|home|searching|denied|unknown|roaming");
    modem_stop();
    broker_stop();
}

/* ------------------------------------------------------------- 3. signal level */

static void signal_level_is_what_csq_reports(void **state)
{
    (void)state;
    modem_start(NULL);
    say("AT+CSQ\r");
    exact("\r\n+CSQ: 23,99\r\n\r\nOK\r\n");
    control_is("signal 5", "ok signal 5,99");
    say("AT+CSQ\r");
    exact("\r\n+CSQ: 5,99\r\n\r\nOK\r\n");
    control_is("signal 31 0", "ok signal 31,0");
    say("AT+CSQ\r");
    exact("\r\n+CSQ: 31,0\r\n\r\nOK\r\n");
    control_is("signal 99", "ok signal 99,99");
    say("AT+CSQ\r");
    exact("\r\n+CSQ: 99,99\r\n\r\nOK\r\n");
    assert_int_equal(stat_of("rssi"), 99);
    control_is("signal 32", "error: usage: signal RSSI(0-31|99) [BER(0-7|99)]");
    control_is("signal 10 8", "error: usage: signal RSSI(0-31|99) [BER(0-7|99)]");
    control_is("signal", "error: usage: signal RSSI(0-31|99) [BER(0-7|99)]");
    say("AT+CSQ\r");
    exact("\r\n+CSQ: 99,99\r\n\r\nOK\r\n"); /* a refused change changes nothing */
    modem_stop();
}

/* ------------------------------------------------------------- 4. modem reset */

/* Boot URCs of reference §1 (AT+CRESET), once the boot time has passed on the virtual clock. */
static const char boot_urcs[] = "\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n";

/* After the boot: echo is on again and nothing of the sessions is left; a new session works. */
static void state_is_gone_after_boot(const char *client_id)
{
    say("AT\r");
    exact("AT\r\r\nOK\r\n");
    say("ATE0\r");
    exact("ATE0\r\r\nOK\r\n");
    echo_open_clients_reach(0);
    assert_int_equal(stat_of("mqtt_connected"), 0);
    assert_int_equal(stat_of("mqtt_started"), 0);
    say("AT+NETOPEN?\r");
    exact("\r\n+NETOPEN: 0\r\n\r\nOK\r\n");
    say("AT+CMQTTACCQ=0,\"%s\"\r", client_id);
    exact("\r\nERROR\r\n"); /* the service is not started */
    mqtt_session_up(client_id);
    mqtt_subscribe("fleet/reset");
    mqtt_round_trip("fleet/reset", "back");
    tcp_network_open();
    tcp_open(1);
    tcp_round_trip(1, "back");
}

static void reset_tears_sessions_down_then_boots(void **state)
{
    (void)state;
    broker_start();
    echo_start();
    modem_start(NULL);
    sessions_up("depot-1");

    control_is("reset", "ok reset");
    exact("\r\n+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY\r\n\r\n+CMQTTCONNLOST: 0,3\r\n\r\n+CMQTTNONET\r\n");
    say("AT\r");
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS)); /* booting on a frozen clock: nobody listens */
    ptyhost_jump_ms(&bench.host, 8999);
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS));
    ptyhost_jump_ms(&bench.host, 1);
    exact("%s", boot_urcs);
    assert_int_equal(stat_of("resets"), 1);
    state_is_gone_after_boot("depot-1");
    modem_stop();
    broker_stop();
}

static void creset_command_tears_sessions_down_then_boots(void **state)
{
    (void)state;
    broker_start();
    echo_start();
    const char *const args[] = { "--boot-ms", "15000", NULL };
    modem_start(args);
    sessions_up("depot-1");

    say("AT+CRESET\r");
    exact("\r\nOK\r\n\r\n+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY\r\n\r\n+CMQTTCONNLOST: 0,3\r\n\r\n+CMQTTNONET\r\n");
    ptyhost_jump_ms(&bench.host, 14000);
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS));
    ptyhost_jump_ms(&bench.host, 1000);
    exact("%s", boot_urcs);
    state_is_gone_after_boot("depot-1");
    modem_stop();
    broker_stop();
}

/*
 * The host reboots, the modem does not (reference §4.5): the MQTT service and
 * the connection live on in the modem, so the firmware's first CMQTTSTART
 * answers 23 and ERROR until it disconnects, releases and stops.
 */
static void host_reboot_finds_the_mqtt_service_still_started(void **state)
{
    (void)state;
    broker_start();
    modem_start(NULL);
    mqtt_session_up("bus-1");

    ptyhost_close(&bench.host);
    assert_int_equal(ptyhost_open(&bench.host), 0);
    say("AT\r");
    exact("\r\nOK\r\n"); /* the modem kept ATE0 */
    say("AT+CMQTTSTART\r");
    exact("\r\n+CMQTTSTART: 23\r\n\r\nERROR\r\n");
    say("AT+CMQTTACCQ=0,\"bus-1\"\r");
    exact("\r\n+CMQTTACCQ: 0,19\r\n\r\nERROR\r\n");
    say("AT+CMQTTREL=0\r");
    exact("\r\n+CMQTTREL: 0,19\r\n\r\nERROR\r\n");
    assert_int_equal(stat_of("mqtt_connected"), 1);

    /* the usual workaround: DISC, REL, STOP, then start over */
    say("AT+CMQTTDISC=0,120\r");
    exact("\r\nOK\r\n\r\n+CMQTTDISC: 0,0\r\n");
    say("AT+CMQTTREL=0\r");
    exact("\r\nOK\r\n");
    say("AT+CMQTTSTOP\r");
    exact("\r\nOK\r\n\r\n+CMQTTSTOP: 0\r\n");
    mqtt_session_up("bus-1");
    mqtt_subscribe("fleet/bus-1/cmd");
    mqtt_round_trip("fleet/bus-1/cmd", "rebooted");
    modem_stop();
    broker_stop();
}

/* ------------------------------------------------------------- 5. the server closes the connection */

static void broker_drop_reports_connlost_passive_and_reconnect_works(void **state)
{
    (void)state;
    broker_start();
    modem_start(NULL);
    mqtt_session_up("bus-1");

    control_is("drop mqtt 0", "ok drop mqtt 1");
    exact("\r\n+CMQTTCONNLOST: 0,1\r\n"); /* §4.2 cause 1: socket closed passively */
    assert_int_equal(stat_of("mqtt_connected"), 0);
    control_is("drop mqtt 0", "error: no MQTT connection to drop");
    control_is("drop mqtt 2", "error: usage: drop mqtt [0|1]");
    say("AT+CMQTTDISC?\r");
    exact("\r\n+CMQTTDISC: 0,1\r\n+CMQTTDISC: 1,1\r\n\r\nOK\r\n");

    /* the service and the acquired client stay: CONNECT again is enough */
    say("AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:%d\",60,1\r", bench.broker.port);
    exact("\r\nOK\r\n\r\n+CMQTTCONNECT: 0,0\r\n");
    mqtt_subscribe("fleet/bus-1/cmd");
    mqtt_round_trip("fleet/bus-1/cmd", "reconnected");
    modem_stop();
    broker_stop();
}

static void broker_going_away_reports_connlost_and_refuses_reconnects(void **state)
{
    (void)state;
    broker_start();
    modem_start(NULL);
    mqtt_session_up("bus-2");
    int old_port = bench.broker.port;

    broker_stop(); /* Mosquitto itself goes away: it closes our connection */
    exact("\r\n+CMQTTCONNLOST: 0,1\r\n");
    say("AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:%d\",60,1\r", old_port);
    exact("\r\nOK\r\n\r\n+CMQTTCONNECT: 0,3\r\n"); /* §4.3 3: sock connect fail */

    broker_start();
    say("AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:%d\",60,1\r", bench.broker.port);
    exact("\r\nOK\r\n\r\n+CMQTTCONNECT: 0,0\r\n");
    mqtt_subscribe("fleet/bus-2/cmd");
    mqtt_round_trip("fleet/bus-2/cmd", "broker is back");
    modem_stop();
    broker_stop();
}

/*
 * §4.2 causes 1 and 2 told apart: a broker of our own (the echo server,
 * answering CONNECT with a CONNACK by hand) closes with a FIN, then with an
 * RST.
 */
static void broker_close_and_reset_give_connlost_causes_1_and_2(void **state)
{
    (void)state;
    hand_broker_session();
    assert_int_equal(echo_server_close(&bench.echo, 0, false), 1);
    exact("\r\n+CMQTTCONNLOST: 0,1\r\n");
    mqtt_connect_to_hand_broker();
    assert_int_equal(echo_server_close(&bench.echo, 0, true), 1);
    exact("\r\n+CMQTTCONNLOST: 0,2\r\n");
    modem_stop();
}

/* The broker drops the client while the host is inside a `>` prompt: CONNLOST waits for the OK. */
static void broker_drop_inside_a_prompt_waits_for_the_final_result(void **state)
{
    (void)state;
    broker_start();
    modem_start(NULL);
    mqtt_session_up("bus-1");
    say("AT+CMQTTTOPIC=0,5\r");
    exact("\r\n>");
    control_is("drop mqtt 0", "ok drop mqtt 1");
    stat_reaches("mqtt_connected", 0);
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS)); /* nothing breaks into the prompt */
    say("t/abc");
    exact("\r\nOK\r\n\r\n+CMQTTCONNLOST: 0,1\r\n");
    modem_stop();
    broker_stop();
}

static void two_clients_each_report_their_loss(void **state)
{
    (void)state;
    broker_start();
    modem_start(NULL);
    mqtt_start_service();
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 2; i++) {
            if (round == 0) {
                say("AT+CMQTTACCQ=%d,\"bus-%d\"\r", i, i + 1);
                exact("\r\nOK\r\n");
            }
            say("AT+CMQTTCONNECT=%d,\"tcp://127.0.0.1:%d\",60,1\r", i, bench.broker.port);
            exact("\r\nOK\r\n\r\n+CMQTTCONNECT: %d,0\r\n", i);
        }
        assert_int_equal(stat_of("mqtt_connected"), 2);
        if (round == 0) {
            control_is("drop mqtt", "ok drop mqtt 2"); /* the broker drops both */
            exact("\r\n+CMQTTCONNLOST: 0,1\r\n\r\n+CMQTTCONNLOST: 1,1\r\n");
        }
    }
    control_is("net down", "ok net down");
    exact("\r\n+CMQTTCONNLOST: 0,3\r\n\r\n+CMQTTCONNLOST: 1,3\r\n\r\n+CMQTTNONET\r\n");
    assert_int_equal(stat_of("mqtt_connected"), 0);
    modem_stop();
    broker_stop();
}

static void tcp_peer_close_and_drop_report_ipclose(void **state)
{
    (void)state;
    echo_start();
    modem_start(NULL);
    tcp_network_open();
    tcp_open(0);
    tcp_open(1);
    tcp_open(2);

    control_is("drop tcp 1", "ok drop tcp 1");
    exact("\r\n+IPCLOSE: 1,1\r\n");
    echo_open_clients_reach(2);
    control_is("drop tcp 1", "error: no open TCP link 1");
    tcp_round_trip(0, "still here"); /* the other links are untouched */

    /* the server itself closes (FIN), then resets (RST), a link */
    assert_int_equal(echo_server_close(&bench.echo, 0, false), 1);
    exact("\r\n+IPCLOSE: 0,1\r\n");
    assert_int_equal(echo_server_close(&bench.echo, 0, true), 1);
    exact("\r\n+IPCLOSE: 2,1\r\n");
    say("AT+CIPCLOSE?\r");
    exact("\r\n+CIPCLOSE: 0,0,0,0,0,0,0,0,0,0\r\n\r\nOK\r\n");
    control_is("drop tcp", "error: no open TCP link");

    tcp_open(1);
    tcp_round_trip(1, "again");
    modem_stop();
}

/* ------------------------------------------------------------- faults while a result is pending */

/* Reference §4.5: the broker drops the connection under a publish: +CMQTTPUB: 0,6, then CONNLOST 1. */
static void broker_drop_fails_the_pending_publish_first(void **state)
{
    (void)state;
    hand_broker_session();
    mqtt_publish_unacknowledged();
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS)); /* no PUBACK, no result */
    assert_int_equal(echo_server_close(&bench.echo, 0, false), 1);
    exact("\r\n+CMQTTPUB: 0,6\r\n\r\n+CMQTTCONNLOST: 0,1\r\n");
    modem_stop();
}

static void network_loss_fails_the_pending_publish_first(void **state)
{
    (void)state;
    hand_broker_session();
    mqtt_publish_unacknowledged();
    control_is("net down", "ok net down");
    exact("\r\n+CMQTTPUB: 0,6\r\n\r\n+CMQTTCONNLOST: 0,3\r\n\r\n+CMQTTNONET\r\n");
    echo_open_clients_reach(0);
    modem_stop();
}

/* A reset forgets a CONNECT in progress: no late result after the boot. */
static void reset_forgets_a_connect_in_progress(void **state)
{
    (void)state;
    echo_start();
    echo_server_set_echo(&bench.echo, false);
    modem_start(NULL);
    mqtt_start_service();
    say("AT+CMQTTACCQ=0,\"bus-1\"\r");
    exact("\r\nOK\r\n");
    say("AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:%d\",60,1\r", bench.echo.port);
    exact("\r\nOK\r\n");
    assert_int_equal(echo_server_wait_received(&bench.echo, 19, PTYHOST_GUARD_MS), 0);
    control_is("reset", "ok reset");
    exact("\r\n+CMQTTNONET\r\n");
    echo_open_clients_reach(0);
    ptyhost_jump_ms(&bench.host, 9000);
    exact("%s", boot_urcs);
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS));
    modem_stop();
}

/* A hung module that is reset (a firmware's watchdog pulsing RESET) boots normally. */
static void reset_ends_a_stall(void **state)
{
    (void)state;
    modem_start(NULL);
    control_is("stall 600", "ok stall 600.000");
    say("AT\r");
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS));
    control_is("reset", "ok reset");
    ptyhost_jump_ms(&bench.host, 9000);
    exact("%s", boot_urcs);
    say("AT\r");
    exact("AT\r\r\nOK\r\n");
    modem_stop();
}

/* ------------------------------------------------------------- 6. stall */

static void stall_holds_answers_and_urcs_until_the_clock_passes_it(void **state)
{
    (void)state;
    broker_start();
    modem_start(NULL);
    mqtt_session_up("bus-1");

    long long commands = stat_of("commands");
    control_is("stall 30", "ok stall 30.000");
    long long dropped = stat_of("rx_dropped");
    say("AT\r");
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS)); /* frozen clock: the stall cannot end */
    assert_int_equal(stat_of("rx_dropped"), dropped + 3);
    /* the broker drops us meanwhile: the URC waits for the stall to end */
    control_is("drop mqtt 0", "ok drop mqtt 1");
    stat_reaches("mqtt_connected", 0);
    ptyhost_jump_ms(&bench.host, 29999);
    say("AT\r");
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS));
    assert_int_equal(stat_of("commands"), commands); /* nothing ran while stalled */

    ptyhost_jump_ms(&bench.host, 1);
    exact("\r\n+CMQTTCONNLOST: 0,1\r\n");
    say("AT\r");
    exact("\r\nOK\r\n");

    /* a stall can be ended early, and a bad one is refused */
    control_is("stall 5", "ok stall 5.000");
    say("AT\r");
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS));
    control_is("stall 0", "ok stall 0.000");
    say("AT\r");
    exact("\r\nOK\r\n");
    control_is("stall -1", "error: usage: stall SECONDS");
    control_is("stall soon", "error: usage: stall SECONDS");
    modem_stop();
    broker_stop();
}

/* With realistic latencies, an answer that falls due during a stall comes out when the stall ends. */
static void stall_holds_an_answer_that_falls_due_meanwhile(void **state)
{
    (void)state;
    const char *const args[] = { "--latency", "realistic", NULL };
    modem_start(args);
    say("AT+CMQTTSTART\r");
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS)); /* its latency has not passed on the frozen clock */
    control_is("stall 5", "ok stall 5.000");
    ptyhost_jump_ms(&bench.host, 1000);
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS)); /* due, but the module hangs */
    ptyhost_jump_ms(&bench.host, 4000);
    exact("\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n");
    modem_stop();
}

/* ------------------------------------------------------------- 7. UART loss and corruption */

/* BURST_LINES times "AT\r": a long burst of input, 3 bytes a line, 6 bytes of answer a line. */
#define BURST_LINES 400
#define BURST_BYTES (3 * BURST_LINES)
#define ANSWER_BYTES (6 * BURST_LINES)

static void send_burst(void)
{
    static char burst[BURST_BYTES + 1];
    for (int i = 0; i < BURST_LINES; i++) {
        memcpy(burst + 3 * i, "AT\r", 3);
    }
    burst[BURST_BYTES] = '\0';
    assert_true(ptyhost_send(&bench.host, burst));
}

/*
 * Send the burst with every input byte corrupted at rate 0.05 from seed 42,
 * then end the fault and flush the line with a sentinel command. Returns the
 * answer bytes before the sentinel's; *corrupted gets the bytes corrupted.
 */
static size_t corrupted_burst(uint8_t *out, size_t cap, long long *corrupted)
{
    long long rx_before = stat_of("rx_bytes");
    long long corrupted_before = stat_of("rx_corrupted");
    control_is("seed 42", "ok seed 42");
    control_is("uart-corrupt 0.05 rx", "ok uart-corrupt 0.05 rx");
    send_burst();
    stat_reaches("rx_bytes", rx_before + BURST_BYTES); /* every byte went past the fault */
    control_is("uart-corrupt 0 rx", "ok uart-corrupt 0 rx");
    say("\rAT+CMEE?\r"); /* ends a line the burst left open, then a marker */
    size_t len = 0;
    assert_true(ptyhost_expect_capture(&bench.host, "\r\n+CMEE: 2\r\n\r\nOK\r\n", out, cap, &len));
    *corrupted = stat_of("rx_corrupted") - corrupted_before;
    return len;
}

static void uart_input_corruption_is_seeded_and_counted(void **state)
{
    (void)state;
    modem_start(NULL);
    static uint8_t first[4 * ANSWER_BYTES];
    static uint8_t second[4 * ANSWER_BYTES];
    long long corrupted_first = 0;
    long long corrupted_second = 0;
    size_t first_len = corrupted_burst(first, sizeof(first), &corrupted_first);
    size_t second_len = corrupted_burst(second, sizeof(second), &corrupted_second);

    /* about 5% of 1200 bytes, and the firmware saw it: not 400 clean OKs */
    assert_in_range(corrupted_first, 20, 120);
    static uint8_t clean[ANSWER_BYTES];
    for (int i = 0; i < BURST_LINES; i++) {
        memcpy(clean + 6 * i, "\r\nOK\r\n", 6);
    }
    assert_false(first_len == sizeof(clean) && memcmp(first, clean, sizeof(clean)) == 0);
    /* the same seed and input give the same faults, byte for byte */
    assert_int_equal(corrupted_second, corrupted_first);
    assert_int_equal(second_len, first_len);
    assert_memory_equal(second, first, first_len);

    say("AT\r");
    exact("\r\nOK\r\n");
    modem_stop();
}

static void uart_output_corruption_flips_one_bit_per_counted_byte(void **state)
{
    (void)state;
    modem_start(NULL);
    long long corrupted_before = stat_of("tx_corrupted");
    control_is("seed 7", "ok seed 7");
    control_is("uart-corrupt 0.05 tx", "ok uart-corrupt 0.05 tx");
    send_burst();
    for (int i = 0; i < PTYHOST_GUARD_MS / 20 && bench.host.seen_len < ANSWER_BYTES; i++) {
        ptyhost_receive(&bench.host, 20);
    }
    assert_int_equal(bench.host.seen_len, ANSWER_BYTES); /* corruption keeps every byte */
    long long corrupted = stat_of("tx_corrupted") - corrupted_before;
    long long differing = 0;
    for (size_t i = 0; i < ANSWER_BYTES; i++) {
        uint8_t diff = bench.host.seen[i] ^ (uint8_t)"\r\nOK\r\n"[i % 6];
        assert_true((diff & (diff - 1)) == 0); /* at most one bit flipped */
        differing += diff != 0;
    }
    assert_int_equal(differing, corrupted);
    assert_in_range(corrupted, 40, 240); /* about 5% of 2400 */
    ptyhost_discard(&bench.host);

    control_is("uart-corrupt 0", "ok uart-corrupt 0 both");
    say("AT\r");
    exact("\r\nOK\r\n");
    control_is("uart-corrupt 1.5", "error: usage: uart-corrupt RATE(0..1) [rx|tx|both]");
    control_is("seed 0", "error: usage: seed N(>0)");
    modem_stop();
}

static void uart_loss_drops_counted_bytes(void **state)
{
    (void)state;
    modem_start(NULL);
    /* everything lost: the modem hears nothing */
    long long rx_dropped = stat_of("rx_dropped");
    long long commands = stat_of("commands");
    control_is("uart-loss 1.0", "ok uart-loss 1 both");
    for (int i = 0; i < 10; i++) {
        say("AT\r");
    }
    stat_reaches("rx_dropped", rx_dropped + 30);
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS));
    assert_int_equal(stat_of("commands"), commands);

    /* 5% of the input lost: some commands never run, every loss is counted */
    control_is("uart-loss 0", "ok uart-loss 0 both");
    control_is("seed 11", "ok seed 11");
    control_is("uart-loss 0.05 rx", "ok uart-loss 0.05 rx");
    long long rx_bytes = stat_of("rx_bytes");
    rx_dropped = stat_of("rx_dropped");
    commands = stat_of("commands");
    send_burst();
    stat_reaches("rx_bytes", rx_bytes + BURST_BYTES);
    control_is("uart-loss 0 rx", "ok uart-loss 0 rx");
    long long lost_input = stat_of("rx_dropped") - rx_dropped;
    long long ran = stat_of("commands") - commands;
    assert_in_range(lost_input, 20, 120);
    assert_true(ran < BURST_LINES);
    assert_true(ran >= BURST_LINES - lost_input);
    say("\rAT+CMEE?\r"); /* ends a line the burst left open, then a marker */
    assert_true(ptyhost_expect(&bench.host, "\r\n+CMEE: 2\r\n\r\nOK\r\n"));

    /* 5% of the answers lost: what arrives is what the counters say */
    control_is("seed 3", "ok seed 3");
    control_is("uart-loss 0.05 tx", "ok uart-loss 0.05 tx");
    long long tx_bytes = stat_of("tx_bytes");
    long long tx_dropped = stat_of("tx_dropped");
    commands = stat_of("commands");
    send_burst();
    for (int i = 0; i < PTYHOST_GUARD_MS / 10; i++) {
        if (stat_of("tx_bytes") - tx_bytes + stat_of("tx_dropped") - tx_dropped == ANSWER_BYTES) {
            break;
        }
        ptyhost_receive(&bench.host, 10);
    }
    long long delivered = stat_of("tx_bytes") - tx_bytes;
    long long lost = stat_of("tx_dropped") - tx_dropped;
    assert_int_equal(delivered + lost, ANSWER_BYTES);
    assert_in_range(lost, 40, 240);
    for (int i = 0; i < PTYHOST_GUARD_MS / 20 && bench.host.seen_len < (size_t)delivered; i++) {
        ptyhost_receive(&bench.host, 20);
    }
    assert_int_equal(bench.host.seen_len, delivered);
    assert_int_equal(stat_of("commands"), commands + BURST_LINES); /* the input was intact */
    ptyhost_discard(&bench.host);

    control_is("uart-loss 0", "ok uart-loss 0 both");
    say("AT\r");
    exact("\r\nOK\r\n");
    control_is("uart-loss 0.5 sideways", "error: usage: uart-loss RATE(0..1) [rx|tx|both]");
    modem_stop();
}

/* ------------------------------------------------------------- 8. SIM card pulled */

static void sim_absent_fails_cpin_and_drops_the_network(void **state)
{
    (void)state;
    broker_start();
    modem_start(NULL);
    mqtt_session_up("bus-1");
    say("AT+CPIN?\r");
    exact("\r\n+CPIN: READY\r\n\r\nOK\r\n");

    control_is("sim absent", "ok sim absent");
    exact("\r\n+CMQTTCONNLOST: 0,3\r\n\r\n+CMQTTNONET\r\n");
    say("AT+CPIN?\r");
    exact("\r\n+CME ERROR: SIM not inserted\r\n"); /* AT+CMEE=2 after power-up */
    say("AT+CMEE=1\r");
    exact("\r\nOK\r\n");
    say("AT+CPIN?\r");
    exact("\r\n+CME ERROR: 10\r\n");
    say("AT+CMEE=0\r");
    exact("\r\nOK\r\n");
    say("AT+CPIN?\r");
    exact("\r\nERROR\r\n");
    say("AT+CMEE=2\r");
    exact("\r\nOK\r\n");
    say("AT+CREG?\r");
    exact("\r\n+CREG: 0,0\r\n\r\nOK\r\n"); /* no SIM, no registration */
    say("AT+CMQTTSTART\r");
    exact("\r\nOK\r\n\r\n+CMQTTSTART: 7\r\n");
    /* a module booting without a SIM reports no SIM, SMS or phonebook readiness */
    control_is("reset", "ok reset");
    ptyhost_jump_ms(&bench.host, 9000);
    exact("\r\nRDY\r\n");
    assert_true(ptyhost_quiet(&bench.host, QUIET_MS));
    say("ATE0\r");
    exact("ATE0\r\r\nOK\r\n");
    say("AT+CPIN?\r");
    exact("\r\n+CME ERROR: SIM not inserted\r\n");

    control_is("sim ready", "ok sim ready");
    say("AT+CPIN?\r");
    exact("\r\n+CPIN: READY\r\n\r\nOK\r\n");
    mqtt_session_up("bus-1");
    mqtt_subscribe("fleet/bus-1/cmd");
    mqtt_round_trip("fleet/bus-1/cmd", "sim back");
    control_is("sim gone", "error: usage: sim ready|absent");
    modem_stop();
    broker_stop();
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(network_loss_ends_the_mqtt_session_until_it_returns, stop_everything),
        cmocka_unit_test_teardown(network_loss_closes_tcp_links_until_it_returns, stop_everything),
        cmocka_unit_test_teardown(network_loss_with_every_service_up, stop_everything),
        cmocka_unit_test_teardown(network_loss_inside_a_send_prompt, stop_everything),
        cmocka_unit_test_teardown(network_loss_ends_a_held_connect_before_its_urcs, stop_everything),
        cmocka_unit_test_teardown(registration_loss_reports_and_refuses_connections, stop_everything),
        cmocka_unit_test_teardown(signal_level_is_what_csq_reports, stop_everything),
        cmocka_unit_test_teardown(reset_tears_sessions_down_then_boots, stop_everything),
        cmocka_unit_test_teardown(creset_command_tears_sessions_down_then_boots, stop_everything),
        cmocka_unit_test_teardown(host_reboot_finds_the_mqtt_service_still_started, stop_everything),
        cmocka_unit_test_teardown(broker_drop_reports_connlost_passive_and_reconnect_works, stop_everything),
        cmocka_unit_test_teardown(broker_going_away_reports_connlost_and_refuses_reconnects, stop_everything),
        cmocka_unit_test_teardown(broker_close_and_reset_give_connlost_causes_1_and_2, stop_everything),
        cmocka_unit_test_teardown(broker_drop_inside_a_prompt_waits_for_the_final_result, stop_everything),
        cmocka_unit_test_teardown(two_clients_each_report_their_loss, stop_everything),
        cmocka_unit_test_teardown(tcp_peer_close_and_drop_report_ipclose, stop_everything),
        cmocka_unit_test_teardown(broker_drop_fails_the_pending_publish_first, stop_everything),
        cmocka_unit_test_teardown(network_loss_fails_the_pending_publish_first, stop_everything),
        cmocka_unit_test_teardown(reset_forgets_a_connect_in_progress, stop_everything),
        cmocka_unit_test_teardown(reset_ends_a_stall, stop_everything),
        cmocka_unit_test_teardown(stall_holds_answers_and_urcs_until_the_clock_passes_it, stop_everything),
        cmocka_unit_test_teardown(stall_holds_an_answer_that_falls_due_meanwhile, stop_everything),
        cmocka_unit_test_teardown(uart_input_corruption_is_seeded_and_counted, stop_everything),
        cmocka_unit_test_teardown(uart_output_corruption_flips_one_bit_per_counted_byte, stop_everything),
        cmocka_unit_test_teardown(uart_loss_drops_counted_bytes, stop_everything),
        cmocka_unit_test_teardown(sim_absent_fails_cpin_and_drops_the_network, stop_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
