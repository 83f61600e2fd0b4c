/*
 * §4 MQTT: exact transcripts for argument errors, limits and state errors
 * (no broker needed), and integration against a real Mosquitto started on a
 * free port, with a libmosquitto client in this process as the peer.
 */
#include "simtest.h"
#include "mqtt_peer.h"
#include "vclock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
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
#define GUARD_MS 5000

static const struct simtest_step echo_off = { .send = "ATE0\r", .expect = "ATE0\r\r\nOK\r\n" };
static const struct simtest_step start = { .send = "AT+CMQTTSTART\r", .expect = "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n" };

/* ------------------------------------------------------------- transcripts */

static void service_state_errors(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        echo_off,
        { .send = "AT+CMQTTACCQ=0,\"bus-1\"\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CMQTTSTOP\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CMQTTCONNECT?\r", .expect = "\r\nERROR\r\n" },
        start,
        /* the service lives in the modem: a host that rebooted and starts again is refused */
        { .send = "AT+CMQTTSTART\r", .expect = "\r\n+CMQTTSTART: 23\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTACCQ=0,\"bus-1\"\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CMQTTACCQ=0,\"bus-2\"\r", .expect = "\r\n+CMQTTACCQ: 0,19\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTACCQ=1,\"bus-2\",1\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CMQTTACCQ?\r",
          .expect = "\r\n+CMQTTACCQ: 0,\"bus-1\",0\r\n+CMQTTACCQ: 1,\"bus-2\",1\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTSTOP\r", .expect = "\r\n+CMQTTSTOP: 21\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTREL=0\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CMQTTREL=0\r", .expect = "\r\n+CMQTTREL: 0,20\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTREL=1\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CMQTTACCQ?\r", .expect = "\r\n+CMQTTACCQ: 0,\"\",0\r\n+CMQTTACCQ: 1,\"\",0\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTSTOP\r", .expect = "\r\nOK\r\n\r\n+CMQTTSTOP: 0\r\n" },
        { .send = "AT+CMQTTSTOP\r", .expect = "\r\nERROR\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

static void info_first_order(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        echo_off,
        { .control = "order info-first", .send = "AT+CMQTTSTART\r", .expect = "\r\n+CMQTTSTART: 0\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTSTOP\r", .expect = "\r\n+CMQTTSTOP: 0\r\n\r\nOK\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

static void acquire_arguments(void **state)
{
    (void)state;
    char long_id[160];
    char long_id_cmd[200];
    memset(long_id, 'x', 129);
    long_id[129] = '\0';
    snprintf(long_id_cmd, sizeof(long_id_cmd), "AT+CMQTTACCQ=0,\"%s\"\r", long_id);
    const struct simtest_step steps[] = {
        echo_off,
        start,
        { .send = "AT+CMQTTACCQ=2,\"a\"\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CMQTTACCQ=0,a\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CMQTTACCQ=0\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CMQTTACCQ=0,\"\"\r", .expect = "\r\n+CMQTTACCQ: 0,22\r\n\r\nERROR\r\n" },
        { .send = long_id_cmd, .expect = "\r\n+CMQTTACCQ: 0,22\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTACCQ=0,\"a\",2\r", .expect = "\r\n+CMQTTACCQ: 0,12\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTACCQ=0,\"a\",0,5\r", .expect = "\r\n+CMQTTACCQ: 0,12\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTACCQ=0,\"a\xff\"\r", .expect = "\r\n+CMQTTACCQ: 0,2\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTACCQ=0,\"a\",0,3\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CMQTTREL=1\r", .expect = "\r\n+CMQTTREL: 1,20\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTREL=2\r", .expect = "\r\nERROR\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

static void test_forms(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        echo_off,
        { .send = "AT+CMQTTACCQ=?\r", .expect = "\r\n+CMQTTACCQ: (0-1),(1-128),(0-1),(3-4)\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTCONNECT=?\r", .expect = "\r\n+CMQTTCONNECT: (0-1),(9-256),(1-64800),(0-1)\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTDISC=?\r", .expect = "\r\n+CMQTTDISC: (0-1),(0,60-180)\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTTOPIC=?\r", .expect = "\r\n+CMQTTTOPIC: (0-1),(1-1024)\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTPAYLOAD=?\r", .expect = "\r\n+CMQTTPAYLOAD: (0-1),(1-10240)\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTPUB=?\r", .expect = "\r\n+CMQTTPUB: (0-1),(0-2),(60-180),(0-1),(0-1)\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTSUBTOPIC=?\r", .expect = "\r\n+CMQTTSUBTOPIC: (0-1),(1-1024),(0-2)\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTSUB=?\r", .expect = "\r\n+CMQTTSUB: (0-1),(1-1024),(0-2),(0-1)\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTUNSUBTOPIC=?\r", .expect = "\r\n+CMQTTUNSUBTOPIC: (0-1),(1-1024)\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTUNSUB=?\r", .expect = "\r\n+CMQTTUNSUB: (0-1),(1-1024),(0-1)\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTWILLTOPIC=?\r", .expect = "\r\n+CMQTTWILLTOPIC: (0-1),(1-1024)\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTWILLMSG=?\r", .expect = "\r\n+CMQTTWILLMSG: (0-1),(1-1024),(0-2)\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTSSLCFG=?\r", .expect = "\r\n+CMQTTSSLCFG: (0-1),(0-9)\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTREL=?\r", .expect = "\r\n+CMQTTREL: (0-1)\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTSTART?\r", .expect = "\r\nERROR\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

static void prompt_lengths_and_limits(void **state)
{
    (void)state;
    static char payload[10241];
    memset(payload, 'p', 10240);
    const struct simtest_step steps[] = {
        echo_off,
        start,
        { .send = "AT+CMQTTTOPIC=0,4\r", .expect = "\r\n+CMQTTTOPIC: 0,20\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTACCQ=0,\"bus-1\"\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CMQTTTOPIC=0,0\r", .expect = "\r\n+CMQTTTOPIC: 0,22\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTTOPIC=0,1025\r", .expect = "\r\n+CMQTTTOPIC: 0,22\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTTOPIC=0\r", .expect = "\r\nERROR\r\n" },
        /* control characters are not allowed in MQTT strings */
        { .send = "AT+CMQTTTOPIC=0,5\r", .expect = "\r\n>" },
        { .send = "a/b\r\n", .expect = "\r\n+CMQTTTOPIC: 0,2\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTTOPIC=0,5\r", .expect = "\r\n>" },
        { .send = "a/b/c", .expect = "\r\nOK\r\n" },
        { .send = "AT+CMQTTTOPIC=0,2\r", .expect = "\r\n>" },
        { .send = "\xff\xfe", .expect = "\r\n+CMQTTTOPIC: 0,2\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTPAYLOAD=0,10241\r", .expect = "\r\n+CMQTTPAYLOAD: 0,22\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTPAYLOAD=0,10240\r", .expect = "\r\n>" },
        { .send = payload, .expect = "\r\nOK\r\n" },
        { .send = "AT+CMQTTPAYLOAD=0,3\r", .expect = "\r\n>" },
        { .send = "\x00\x1a\r", .send_len = 3, .expect = "\r\nOK\r\n" },
        { .send = "AT+CMQTTWILLTOPIC=0,1025\r", .expect = "\r\n+CMQTTWILLTOPIC: 0,22\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTWILLMSG=0,1025,1\r", .expect = "\r\n+CMQTTWILLMSG: 0,22\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTWILLMSG=0,4,3\r", .expect = "\r\n+CMQTTWILLMSG: 0,12\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTWILLMSG=0,4,1\r", .expect = "\r\n>" },
        { .send = "gone", .expect = "\r\nOK\r\n" },
        { .send = "AT+CMQTTSUBTOPIC=0,3,3\r", .expect = "\r\n+CMQTTSUBTOPIC: 0,12\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTSUBTOPIC=0,1025,1\r", .expect = "\r\n+CMQTTSUBTOPIC: 0,22\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTSUBTOPIC=0,3,1\r", .expect = "\r\n>" },
        { .send = "a/#", .expect = "\r\nOK\r\n" },
        { .send = "AT+CMQTTUNSUBTOPIC=0,0\r", .expect = "\r\n+CMQTTUNSUBTOPIC: 0,22\r\n\r\nERROR\r\n" },
        /* no connection yet */
        { .send = "AT+CMQTTPUB=0,1,60\r", .expect = "\r\n+CMQTTPUB: 0,11\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTSUB=0\r", .expect = "\r\n+CMQTTSUB: 0,11\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTUNSUB=0,0\r", .expect = "\r\n+CMQTTUNSUB: 0,11\r\n\r\nERROR\r\n" },
        /* the one-topic forms prompt first, then find no connection */
        { .send = "AT+CMQTTSUB=0,3,1\r", .expect = "\r\n>" },
        { .send = "x/y", .expect = "\r\n+CMQTTSUB: 0,11\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTUNSUB=0,3,0\r", .expect = "\r\n>" },
        { .send = "x/y", .expect = "\r\n+CMQTTUNSUB: 0,11\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTSUB=0,3,3\r", .expect = "\r\n+CMQTTSUB: 0,12\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTUNSUB=0,3,2\r", .expect = "\r\n+CMQTTUNSUB: 0,12\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTSUB=0,2\r", .expect = "\r\n+CMQTTSUB: 0,12\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTDISC=0,120\r", .expect = "\r\n+CMQTTDISC: 0,11\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTPUB=0,3,60\r", .expect = "\r\n+CMQTTPUB: 0,12\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTPUB=0,1,59\r", .expect = "\r\n+CMQTTPUB: 0,12\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTPUB=0,1,181\r", .expect = "\r\n+CMQTTPUB: 0,12\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTPUB=0,1,60,2\r", .expect = "\r\n+CMQTTPUB: 0,12\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTDISC=0,30\r", .expect = "\r\n+CMQTTDISC: 0,12\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTDISC=1,0\r", .expect = "\r\n+CMQTTDISC: 1,20\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTDISC?\r", .expect = "\r\n+CMQTTDISC: 0,1\r\n+CMQTTDISC: 1,1\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTCONNECT?\r", .expect = "\r\n+CMQTTCONNECT: 0\r\n+CMQTTCONNECT: 1\r\n\r\nOK\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

static void connect_arguments(void **state)
{
    (void)state;
    char jwt[300];
    char jwt_cmd[400];
    char pass256_cmd[400];
    memset(jwt, 'j', 257);
    jwt[257] = '\0';
    snprintf(jwt_cmd, sizeof(jwt_cmd), "AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:1\",60,1,\"unused\",\"%s\"\r", jwt);
    jwt[256] = '\0';
    snprintf(pass256_cmd, sizeof(pass256_cmd), "AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:1\",60,1,\"unused\",\"%s\"\r",
             jwt);
    const struct simtest_step steps[] = {
        echo_off,
        start,
        { .send = "AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:1\",60,1\r", .expect = "\r\n+CMQTTCONNECT: 0,20\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTACCQ=0,\"bus-1\"\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CMQTTCONNECT=2,\"tcp://127.0.0.1:1\",60,1\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:1\"\r", .expect = "\r\nERROR\r\n" },
        /* an RS256 JWT is longer than the 256-byte password limit */
        { .send = jwt_cmd, .expect = "\r\n+CMQTTCONNECT: 0,22\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTCONNECT=0,\"tcp://a\",60,1\r", .expect = "\r\n+CMQTTCONNECT: 0,22\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:1\",0,1\r", .expect = "\r\n+CMQTTCONNECT: 0,12\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:1\",64801,1\r",
          .expect = "\r\n+CMQTTCONNECT: 0,12\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:1\",60,2\r", .expect = "\r\n+CMQTTCONNECT: 0,12\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTCONNECT=0,\"ssl://127.0.0.1:1\",60,1\r", .expect = "\r\n+CMQTTCONNECT: 0,12\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:70000\",60,1\r",
          .expect = "\r\n+CMQTTCONNECT: 0,12\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:1\",60,1,\"\"\r",
          .expect = "\r\n+CMQTTCONNECT: 0,22\r\n\r\nERROR\r\n" },
        { .send = "AT+CMQTTCONNECT=0,tcp://127.0.0.1:1,60,1\r", .expect = "\r\n+CMQTTCONNECT: 0,12\r\n\r\nERROR\r\n" },
        /* 256 bytes is within the limit: the connect is tried (port 1 refuses: 3) */
        { .send = pass256_cmd, .expect = "\r\nOK\r\n\r\n+CMQTTCONNECT: 0,3\r\n" },
        { .send = "AT+CMQTTSSLCFG?\r", .expect = "\r\n+CMQTTSSLCFG: 0,0\r\n+CMQTTSSLCFG: 1,1\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTSSLCFG=0,5\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CMQTTSSLCFG=0,10\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CMQTTSSLCFG?\r", .expect = "\r\n+CMQTTSSLCFG: 0,5\r\n+CMQTTSSLCFG: 1,1\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTCFG?\r", .expect = "\r\n+CMQTTCFG: 0,1,120\r\n+CMQTTCFG: 1,1,120\r\n\r\nOK\r\n" },
        { .send = "AT+CMQTTCFG=\"optimeout\",0,20\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CMQTTCFG=\"optimeout\",0,19\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CMQTTCFG=\"checkUTF8\",0,0\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CMQTTCFG=\"checkUTF8\",1,0\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CMQTTCFG?\r", .expect = "\r\n+CMQTTCFG: 0,0,20\r\n+CMQTTCFG: 1,1,120\r\n\r\nOK\r\n" },
        /* checkUTF8 off: the topic is taken as it is */
        { .send = "AT+CMQTTTOPIC=0,2\r", .expect = "\r\n>" },
        { .send = "\xff\xfe", .expect = "\r\nOK\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

static void reset_clears_the_service(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        echo_off,
        start,
        { .send = "AT+CMQTTACCQ=0,\"bus-1\"\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CRESET\r",
          .expect = "\r\nOK\r\n\r\n+CMQTTNONET\r\n\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n" },
        { .send = "AT+CMQTTSTART\r", .expect = "AT+CMQTTSTART\r\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n" },
        { .send = "AT+CMQTTACCQ?\r", .expect = "AT+CMQTTACCQ?\r\r\n+CMQTTACCQ: 0,\"\",0\r\n+CMQTTACCQ: 1,\"\",0\r\n\r\nOK\r\n" },
        { .control = "net down", .send = NULL, .expect = "\r\n+CMQTTNONET\r\n" },
        { .send = "AT+CMQTTSTART\r", .expect = "AT+CMQTTSTART\r\r\nOK\r\n\r\n+CMQTTSTART: 7\r\n" },
        { .control = "net up", .send = "AT+CMQTTSTART\r", .expect = "AT+CMQTTSTART\r\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

/* ------------------------------------------------------------- integration */

struct fixture {
    struct simtest_server broker;
    struct simtest_driver d;
    struct mqtt_peer peer;
    char server[64];
};

static void at_expect(struct simtest_driver *d, const char *cmd, const char *needle)
{
    simtest_send(d, cmd);
    assert_true(simtest_expect(d, needle, GUARD_MS));
}

/* AT+<cmd>=<idx>,<len>... then the prompt and the data, then OK. */
static void at_prompt(struct simtest_driver *d, const char *cmd, const void *data, size_t len)
{
    simtest_send(d, cmd);
    assert_true(simtest_expect(d, "\r\n>", GUARD_MS));
    simtest_send_raw(d, data, len);
    assert_true(simtest_expect(d, "\r\nOK\r\n", GUARD_MS));
}

static void mqtt_publish(struct simtest_driver *d, const char *topic, const void *payload, size_t len, int qos)
{
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "AT+CMQTTTOPIC=0,%zu\r", strlen(topic));
    at_prompt(d, cmd, topic, strlen(topic));
    snprintf(cmd, sizeof(cmd), "AT+CMQTTPAYLOAD=0,%zu\r", len);
    at_prompt(d, cmd, payload, len);
    snprintf(cmd, sizeof(cmd), "AT+CMQTTPUB=0,%d,60\r", qos);
    at_expect(d, cmd, "\r\nOK\r\n");
    assert_true(simtest_expect(d, "\r\n+CMQTTPUB: 0,0\r\n", GUARD_MS));
}

static void mqtt_subscribe(struct simtest_driver *d, const char *topic, int qos)
{
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "AT+CMQTTSUBTOPIC=0,%zu,%d\r", strlen(topic), qos);
    at_prompt(d, cmd, topic, strlen(topic));
    at_expect(d, "AT+CMQTTSUB=0\r", "\r\nOK\r\n");
    assert_true(simtest_expect(d, "\r\n+CMQTTSUB: 0,0\r\n", GUARD_MS));
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(simtest_mosquitto_start(&f->broker, NULL), 0);
    snprintf(f->server, sizeof(f->server), "tcp://127.0.0.1:%d", f->broker.port);
    simtest_driver_init(&f->d, NULL);
    simtest_at_ok(&f->d, "ATE0\r");
    assert_int_equal(mqtt_peer_start(&f->peer, "peer", "127.0.0.1", f->broker.port), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mqtt_peer_stop(&f->peer);
    simtest_driver_fini(&f->d);
    simtest_server_stop(&f->broker);
    free(f);
    return 0;
}

/* START, ACCQ and CONNECT client 0 as "bus-1", with will "will/bus-1" = "offline" when asked. */
static void connect_client(struct fixture *f, bool with_will)
{
    char cmd[160];
    at_expect(&f->d, "AT+CMQTTSTART\r", "+CMQTTSTART: 0\r\n");
    simtest_at_ok(&f->d, "AT+CMQTTACCQ=0,\"bus-1\"\r");
    if (with_will) {
        at_prompt(&f->d, "AT+CMQTTWILLTOPIC=0,10\r", "will/bus-1", 10);
        at_prompt(&f->d, "AT+CMQTTWILLMSG=0,7,1\r", "offline", 7);
    }
    snprintf(cmd, sizeof(cmd), "AT+CMQTTCONNECT=0,\"%s\",60,1\r", f->server);
    at_expect(&f->d, cmd, "\r\nOK\r\n");
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTCONNECT: 0,0\r\n", GUARD_MS));
}

static void publish_qos_0_1_2(void **state)
{
    struct fixture *f = *state;
    assert_true(mqtt_peer_subscribe(&f->peer, "bus/#", 2, &f->d));
    connect_client(f, false);
    mqtt_publish(&f->d, "bus/q0", "zero", 4, 0);
    mqtt_publish(&f->d, "bus/q1", "one\r\n\0x", 7, 1);
    mqtt_publish(&f->d, "bus/q2", "two", 3, 2);
    assert_true(mqtt_peer_wait(&f->peer, 3, &f->d));
    const struct mqtt_peer_msg *m0 = mqtt_peer_msg(&f->peer, 0);
    const struct mqtt_peer_msg *m1 = mqtt_peer_msg(&f->peer, 1);
    const struct mqtt_peer_msg *m2 = mqtt_peer_msg(&f->peer, 2);
    assert_string_equal(m0->topic, "bus/q0");
    assert_int_equal(m0->len, 4);
    assert_memory_equal(m0->payload, "zero", 4);
    assert_int_equal(m0->qos, 0);
    assert_string_equal(m1->topic, "bus/q1");
    assert_int_equal(m1->len, 7);
    assert_memory_equal(m1->payload, "one\r\n\0x", 7);
    assert_int_equal(m1->qos, 1);
    assert_string_equal(m2->topic, "bus/q2");
    assert_int_equal(m2->qos, 2);
    /* the buffers are cleared after PUB */
    at_expect(&f->d, "AT+CMQTTPUB=0,1,60\r", "\r\n+CMQTTPUB: 0,18\r\n\r\nERROR\r\n");
    at_expect(&f->d, "AT+CMQTTCONNECT?\r", "+CMQTTCONNECT: 0,\"");
    assert_true(simtest_expect(&f->d, "\",60,1\r\n+CMQTTCONNECT: 1\r\n\r\nOK\r\n", GUARD_MS));
    /* a second START while connected: the service is already up */
    at_expect(&f->d, "AT+CMQTTSTART\r", "\r\n+CMQTTSTART: 23\r\n\r\nERROR\r\n");
    const char *stats = simtest_control(&f->d, "stats");
    assert_non_null(strstr(stats, "\"mqtt_connected\":1"));
    assert_non_null(strstr(stats, "\"mqtt_publishes_out\":3"));
}

static void subscribe_and_receive(void **state)
{
    struct fixture *f = *state;
    connect_client(f, false);
    mqtt_subscribe(&f->d, "cmd/#", 1);
    assert_true(mqtt_peer_publish(&f->peer, "cmd/x", "hello", 5, 1));
    assert_true(simtest_expect(&f->d,
                               "\r\n+CMQTTRXSTART: 0,5,5\r\n+CMQTTRXTOPIC: 0,5\r\ncmd/x\r\n"
                               "+CMQTTRXPAYLOAD: 0,5\r\nhello\r\n+CMQTTRXEND: 0\r\n",
                               GUARD_MS));
    /* a payload longer than one piece arrives in 1500-byte pieces */
    static char big[4000];
    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (char)('a' + i % 26);
    }
    assert_true(mqtt_peer_publish(&f->peer, "cmd/big", big, sizeof(big), 0));
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTRXSTART: 0,7,4000\r\n+CMQTTRXTOPIC: 0,7\r\ncmd/big\r\n", GUARD_MS));
    char piece[1600];
    snprintf(piece, sizeof(piece), "+CMQTTRXPAYLOAD: 0,1500\r\n%.1500s\r\n", big);
    assert_true(simtest_expect(&f->d, piece, GUARD_MS));
    snprintf(piece, sizeof(piece), "+CMQTTRXPAYLOAD: 0,1500\r\n%.1500s\r\n", big + 1500);
    assert_true(simtest_expect(&f->d, piece, GUARD_MS));
    snprintf(piece, sizeof(piece), "+CMQTTRXPAYLOAD: 0,1000\r\n%.1000s\r\n+CMQTTRXEND: 0\r\n", big + 3000);
    assert_true(simtest_expect(&f->d, piece, GUARD_MS));

    /* the one-topic form of SUB, then UNSUB: messages on cmd/ stop, others still arrive */
    at_prompt(&f->d, "AT+CMQTTSUB=0,5,0\r", "other", 5);
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTSUB: 0,0\r\n", GUARD_MS));
    at_prompt(&f->d, "AT+CMQTTUNSUBTOPIC=0,5\r", "cmd/#", 5);
    at_expect(&f->d, "AT+CMQTTUNSUB=0,0\r", "\r\nOK\r\n");
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTUNSUB: 0,0\r\n", GUARD_MS));
    assert_true(mqtt_peer_publish(&f->peer, "cmd/x", "dropped", 7, 1));
    assert_true(mqtt_peer_publish(&f->peer, "other", "kept", 4, 1));
    char seen[512];
    assert_true(simtest_expect_capture(&f->d, "+CMQTTRXEND: 0\r\n", GUARD_MS, seen, sizeof(seen)));
    assert_null(strstr(seen, "dropped"));
    assert_non_null(strstr(seen, "+CMQTTRXTOPIC: 0,5\r\nother\r\n+CMQTTRXPAYLOAD: 0,4\r\nkept\r\n"));
    const char *stats = simtest_control(&f->d, "stats");
    assert_non_null(strstr(stats, "\"mqtt_publishes_in\":3"));
}

static void own_publish_comes_back(void **state)
{
    struct fixture *f = *state;
    connect_client(f, false);
    mqtt_subscribe(&f->d, "aws", 0);
    char cmd[64];
    const char *payload = "{\"message\":\"Hello from SIMCom Module\"}";
    at_prompt(&f->d, "AT+CMQTTTOPIC=0,3\r", "aws", 3);
    snprintf(cmd, sizeof(cmd), "AT+CMQTTPAYLOAD=0,%zu\r", strlen(payload));
    at_prompt(&f->d, cmd, payload, strlen(payload));
    at_expect(&f->d, "AT+CMQTTPUB=0,1,60\r", "\r\nOK\r\n");
    /* the capture of reference §4.1, byte for byte */
    assert_true(simtest_expect(&f->d,
                               "\r\n+CMQTTRXSTART: 0,3,38\r\n+CMQTTRXTOPIC: 0,3\r\naws\r\n+CMQTTRXPAYLOAD: 0,38\r\n"
                               "{\"message\":\"Hello from SIMCom Module\"}\r\n+CMQTTRXEND: 0\r\n",
                               GUARD_MS));
}

static void will_message_on_drop(void **state)
{
    struct fixture *f = *state;
    assert_true(mqtt_peer_subscribe(&f->peer, "will/bus-1", 1, &f->d));
    at_expect(&f->d, "AT+CMQTTSTART\r", "+CMQTTSTART: 0\r\n");
    simtest_at_ok(&f->d, "AT+CMQTTACCQ=0,\"bus-1\"\r");
    at_prompt(&f->d, "AT+CMQTTWILLTOPIC=0,10\r", "will/bus-1", 10);
    at_prompt(&f->d, "AT+CMQTTWILLMSG=0,7,1\r", "offline", 7);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "AT+CMQTTCONNECT=0,\"%s\",60,0\r", f->server);
    at_expect(&f->d, cmd, "\r\n+CMQTTCONNECT: 0,0\r\n");
    assert_string_equal(simtest_control(&f->d, "drop mqtt 0"), "ok drop mqtt 1");
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTCONNLOST: 0,1\r\n", GUARD_MS));
    assert_true(mqtt_peer_wait(&f->peer, 1, &f->d));
    assert_string_equal(mqtt_peer_msg(&f->peer, 0)->topic, "will/bus-1");
    assert_memory_equal(mqtt_peer_msg(&f->peer, 0)->payload, "offline", 7);
    assert_int_equal(strncmp(simtest_control(&f->d, "drop mqtt 0"), "error:", 6), 0);
    assert_int_equal(strncmp(simtest_control(&f->d, "drop mqtt 7"), "error:", 6), 0);
    /* after the loss: no connection, and the client can connect again */
    at_expect(&f->d, "AT+CMQTTDISC=0,0\r", "\r\n+CMQTTDISC: 0,11\r\n\r\nERROR\r\n");
    at_expect(&f->d, cmd, "\r\n+CMQTTCONNECT: 0,0\r\n");
}

static void disconnect_release_stop(void **state)
{
    struct fixture *f = *state;
    assert_true(mqtt_peer_subscribe(&f->peer, "will/#", 1, &f->d));
    connect_client(f, true);
    at_expect(&f->d, "AT+CMQTTREL=0\r", "\r\n+CMQTTREL: 0,19\r\n\r\nERROR\r\n");
    at_expect(&f->d, "AT+CMQTTDISC=0,120\r", "\r\nOK\r\n");
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTDISC: 0,0\r\n", GUARD_MS));
    at_expect(&f->d, "AT+CMQTTDISC?\r", "\r\n+CMQTTDISC: 0,1\r\n+CMQTTDISC: 1,1\r\n\r\nOK\r\n");
    simtest_at_ok(&f->d, "AT+CMQTTREL=0\r");
    at_expect(&f->d, "AT+CMQTTSTOP\r", "\r\n+CMQTTSTOP: 0\r\n");
    /* a clean DISCONNECT sends no will */
    for (int i = 0; i < 20; i++) {
        simtest_pump(&f->d, 5);
    }
    assert_int_equal(mqtt_peer_count(&f->peer), 0);
}

static void broker_stop_is_connlost(void **state)
{
    struct fixture *f = *state;
    connect_client(f, false);
    mqtt_peer_stop(&f->peer);
    simtest_server_stop(&f->broker);
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTCONNLOST: 0,1\r\n", GUARD_MS));
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "AT+CMQTTCONNECT=0,\"%s\",60,1\r", f->server);
    at_expect(&f->d, cmd, "\r\nOK\r\n");
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTCONNECT: 0,3\r\n", GUARD_MS));
    assert_int_equal(simtest_mosquitto_start(&f->broker, NULL), 0); /* for teardown */
    assert_int_equal(mqtt_peer_start(&f->peer, "peer", "127.0.0.1", f->broker.port), 0);
}

static void network_loss(void **state)
{
    struct fixture *f = *state;
    connect_client(f, false);
    assert_string_equal(simtest_control(&f->d, "net down"), "ok net down");
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTCONNLOST: 0,3\r\n\r\n+CMQTTNONET\r\n", GUARD_MS));
    at_expect(&f->d, "AT+CMQTTACCQ=0,\"bus-1\"\r", "\r\nERROR\r\n");
    at_expect(&f->d, "AT+CMQTTSTART\r", "\r\nOK\r\n\r\n+CMQTTSTART: 7\r\n");
    simtest_control(&f->d, "net up");
    connect_client(f, false);
    const char *stats = simtest_control(&f->d, "stats");
    assert_non_null(strstr(stats, "\"mqtt_connlost\":1"));
}

static void creset_while_connected(void **state)
{
    struct fixture *f = *state;
    connect_client(f, false);
    at_expect(&f->d, "AT+CRESET\r",
              "\r\nOK\r\n\r\n+CMQTTCONNLOST: 0,3\r\n\r\n+CMQTTNONET\r\n\r\nRDY\r\n\r\n+CPIN: READY\r\n");
    assert_true(simtest_expect(&f->d, "PB DONE\r\n", GUARD_MS));
    simtest_at_ok(&f->d, "ATE0\r");
    connect_client(f, false);
}

static void info_first_connect_and_publish(void **state)
{
    struct fixture *f = *state;
    simtest_control(&f->d, "order info-first");
    assert_true(mqtt_peer_subscribe(&f->peer, "bus/#", 1, &f->d));
    at_expect(&f->d, "AT+CMQTTSTART\r", "\r\n+CMQTTSTART: 0\r\n\r\nOK\r\n");
    simtest_at_ok(&f->d, "AT+CMQTTACCQ=0,\"bus-1\"\r");
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "AT+CMQTTCONNECT=0,\"%s\",60,1\r", f->server);
    at_expect(&f->d, cmd, "\r\n+CMQTTCONNECT: 0,0\r\n\r\nOK\r\n");
    at_prompt(&f->d, "AT+CMQTTTOPIC=0,5\r", "bus/a", 5);
    at_prompt(&f->d, "AT+CMQTTPAYLOAD=0,2\r", "hi", 2);
    /* chained: the second command runs after the first one's result */
    at_expect(&f->d, "AT+CMQTTPUB=0,1,60;+CMQTTDISC?\r",
              "\r\n+CMQTTPUB: 0,0\r\n+CMQTTDISC: 0,0\r\n+CMQTTDISC: 1,1\r\n\r\nOK\r\n");
    assert_true(mqtt_peer_wait(&f->peer, 1, &f->d));
}

static void connect_refused_and_alias(void **state)
{
    struct fixture *f = *state;
    at_expect(&f->d, "AT+CMQTTSTART\r", "+CMQTTSTART: 0\r\n");
    simtest_at_ok(&f->d, "AT+CMQTTACCQ=0,\"bus-1\"\r");
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:%d\",60,1\r", simtest_free_port());
    at_expect(&f->d, cmd, "\r\nOK\r\n");
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTCONNECT: 0,3\r\n", GUARD_MS));
    /* a host name of the simulated network */
    assert_string_equal(simtest_control(&f->d, "host broker.example 127.0.0.1"), "ok host broker.example 127.0.0.1");
    snprintf(cmd, sizeof(cmd), "AT+CMQTTCONNECT=0,\"tcp://broker.example:%d\",60,1\r", f->broker.port);
    at_expect(&f->d, cmd, "\r\n+CMQTTCONNECT: 0,0\r\n");
    at_expect(&f->d, cmd, "\r\n+CMQTTCONNECT: 0,19\r\n\r\nERROR\r\n");
}

static void two_clients_retained_qos2_and_long_topic(void **state)
{
    struct fixture *f = *state;
    char cmd[160];
    connect_client(f, false);
    simtest_at_ok(&f->d, "AT+CMQTTACCQ=1,\"bus-2\"\r");
    snprintf(cmd, sizeof(cmd), "AT+CMQTTCONNECT=1,\"%s\",60,1\r", f->server);
    at_expect(&f->d, cmd, "\r\n+CMQTTCONNECT: 1,0\r\n");

    /* client 0 leaves a retained message; client 1 subscribes later and gets it */
    at_prompt(&f->d, "AT+CMQTTTOPIC=0,8\r", "state/b1", 8);
    at_prompt(&f->d, "AT+CMQTTPAYLOAD=0,2\r", "up", 2);
    at_expect(&f->d, "AT+CMQTTPUB=0,1,60,1\r", "\r\n+CMQTTPUB: 0,0\r\n");
    at_prompt(&f->d, "AT+CMQTTSUBTOPIC=1,7,2\r", "state/#", 7);
    at_prompt(&f->d, "AT+CMQTTSUBTOPIC=1,6,0\r", "long/#", 6);
    at_expect(&f->d, "AT+CMQTTSUB=1\r", "\r\n+CMQTTSUB: 1,0\r\n");
    assert_true(simtest_expect(&f->d,
                               "\r\n+CMQTTRXSTART: 1,8,2\r\n+CMQTTRXTOPIC: 1,8\r\nstate/b1\r\n"
                               "+CMQTTRXPAYLOAD: 1,2\r\nup\r\n+CMQTTRXEND: 1\r\n",
                               GUARD_MS));
    /* QoS 2 towards the modem */
    assert_true(mqtt_peer_publish(&f->peer, "state/b2", "q2", 2, 2));
    assert_true(simtest_expect(&f->d, "+CMQTTRXTOPIC: 1,8\r\nstate/b2\r\n+CMQTTRXPAYLOAD: 1,2\r\nq2\r\n", GUARD_MS));
    /* a topic longer than one piece is split like a payload */
    static char topic[2001];
    memcpy(topic, "long/", 5);
    memset(topic + 5, 't', sizeof(topic) - 6);
    assert_true(mqtt_peer_publish(&f->peer, topic, "x", 1, 0));
    char want[1700];
    snprintf(want, sizeof(want), "\r\n+CMQTTRXSTART: 1,2000,1\r\n+CMQTTRXTOPIC: 1,1500\r\n%.1500s\r\n", topic);
    assert_true(simtest_expect(&f->d, want, GUARD_MS));
    snprintf(want, sizeof(want), "+CMQTTRXTOPIC: 1,500\r\n%.500s\r\n+CMQTTRXPAYLOAD: 1,1\r\nx\r\n+CMQTTRXEND: 1\r\n",
             topic + 1500);
    assert_true(simtest_expect(&f->d, want, GUARD_MS));

    /* dropping client 1 leaves client 0 up */
    assert_string_equal(simtest_control(&f->d, "drop mqtt 1"), "ok drop mqtt 1");
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTCONNLOST: 1,1\r\n", GUARD_MS));
    at_expect(&f->d, "AT+CMQTTDISC?\r", "\r\n+CMQTTDISC: 0,0\r\n+CMQTTDISC: 1,1\r\n\r\nOK\r\n");
    /* clean up the retained message for later runs on the same broker */
    at_prompt(&f->d, "AT+CMQTTTOPIC=0,8\r", "state/b1", 8);
    at_expect(&f->d, "AT+CMQTTPUB=0,0,60,1\r", "\r\n+CMQTTPUB: 0,0\r\n");
}

/* ------------------------------------------------------------- a broker that misbehaves */

/*
 * A minimal MQTT server on a free port: it answers every CONNECT with a
 * CONNACK carrying connack_rc (none when connack_rc < 0) and never
 * acknowledges anything else, so the modem's timeouts and CONNACK refusal
 * codes can be checked.
 */
struct fake_broker {
    int listen_fd;
    int port;
    int connack_rc;
    volatile bool stop;
    pthread_t thread;
};

/* Wait up to 20 ms for fd to be readable; false when the broker should stop or nothing came. */
static bool fake_readable(struct fake_broker *b, int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return !b->stop && poll(&p, 1, 20) == 1;
}

static void fake_serve_client(struct fake_broker *b, int fd)
{
    uint8_t buf[4096];
    bool connack_sent = false;
    while (!b->stop) {
        if (!fake_readable(b, fd)) {
            continue;
        }
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            break;
        }
        if (!connack_sent && buf[0] == 0x10 && b->connack_rc >= 0) {
            uint8_t connack[4] = { 0x20, 0x02, 0x00, (uint8_t)b->connack_rc };
            connack_sent = send(fd, connack, sizeof(connack), MSG_NOSIGNAL) == sizeof(connack);
        }
    }
    close(fd);
}

static void *fake_broker_run(void *arg)
{
    struct fake_broker *b = arg;
    while (!b->stop) {
        if (!fake_readable(b, b->listen_fd)) {
            continue;
        }
        int fd = accept(b->listen_fd, NULL, NULL);
        if (fd >= 0) {
            fake_serve_client(b, fd);
        }
    }
    return NULL;
}

static void fake_broker_start(struct fake_broker *b, int connack_rc)
{
    memset(b, 0, sizeof(*b));
    b->connack_rc = connack_rc;
    b->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(addr);
    assert_int_equal(bind(b->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(b->listen_fd, 4), 0);
    assert_int_equal(getsockname(b->listen_fd, (struct sockaddr *)&addr, &len), 0);
    b->port = ntohs(addr.sin_port);
    assert_int_equal(pthread_create(&b->thread, NULL, fake_broker_run, b), 0);
}

static void fake_broker_stop(struct fake_broker *b)
{
    b->stop = true;
    pthread_join(b->thread, NULL);
    close(b->listen_fd);
}

/* A modem on a frozen virtual clock: time passes only by vclock_jump(). */
static struct vclock *frozen_modem(struct simtest_driver *d)
{
    struct sim_config cfg;
    simtest_config(&cfg);
    cfg.clock = vclock_new_private(1700000000LL * 1000000000LL, 0);
    assert_non_null(cfg.clock);
    simtest_driver_init(d, &cfg);
    simtest_send(d, "ATE0\r");
    assert_true(simtest_expect(d, "\r\nOK\r\n", GUARD_MS));
    return cfg.clock;
}

static void connack_refusals_are_27_to_31(void **state)
{
    (void)state;
    for (int rc = 1; rc <= 5; rc++) {
        struct fake_broker b;
        struct simtest_driver d;
        char cmd[96];
        char want[64];
        fake_broker_start(&b, rc);
        simtest_driver_init(&d, NULL);
        simtest_send(&d, "AT+CMQTTSTART;+CMQTTACCQ=0,\"bus-1\"\r");
        assert_true(simtest_expect(&d, "+CMQTTSTART: 0\r\n", GUARD_MS));
        snprintf(cmd, sizeof(cmd), "AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:%d\",60,1\r", b.port);
        simtest_send(&d, cmd);
        snprintf(want, sizeof(want), "\r\n+CMQTTCONNECT: 0,%d\r\n", 26 + rc);
        assert_true(simtest_expect(&d, want, GUARD_MS));
        simtest_send(&d, "AT+CMQTTDISC?\r");
        assert_true(simtest_expect(&d, "+CMQTTDISC: 0,1\r\n", GUARD_MS));
        simtest_driver_fini(&d);
        fake_broker_stop(&b);
    }
}

static void timeouts_run_on_the_virtual_clock(void **state)
{
    (void)state;
    struct fake_broker silent;
    struct fake_broker mute_acks;
    struct simtest_driver d;
    char cmd[96];
    fake_broker_start(&silent, -1);
    fake_broker_start(&mute_acks, 0);
    struct vclock *clock = frozen_modem(&d);
    simtest_send(&d, "AT+CMQTTSTART;+CMQTTACCQ=0,\"bus-1\";+CMQTTCFG=\"optimeout\",0,30\r");
    assert_true(simtest_expect(&d, "+CMQTTSTART: 0\r\n", GUARD_MS));

    /* no CONNACK: error 17 once optimeout (30 s of virtual time) has passed, not before */
    snprintf(cmd, sizeof(cmd), "AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:%d\",60,1\r", silent.port);
    simtest_send(&d, cmd);
    assert_true(simtest_expect(&d, "\r\nOK\r\n", GUARD_MS));
    for (int i = 0; i < 20; i++) {
        simtest_pump(&d, 5);
    }
    assert_int_equal(sim_buf_used(&d.seen), 0);
    vclock_jump(clock, 29LL * 1000000000LL);
    simtest_pump(&d, 5);
    assert_int_equal(sim_buf_used(&d.seen), 0);
    vclock_jump(clock, 1LL * 1000000000LL);
    assert_true(simtest_expect(&d, "\r\n+CMQTTCONNECT: 0,17\r\n", GUARD_MS));

    /* no PUBACK: +CMQTTPUB: 0,17 after pub_timeout */
    snprintf(cmd, sizeof(cmd), "AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:%d\",60,1\r", mute_acks.port);
    simtest_send(&d, cmd);
    assert_true(simtest_expect(&d, "\r\n+CMQTTCONNECT: 0,0\r\n", GUARD_MS));
    simtest_send(&d, "AT+CMQTTTOPIC=0,1\r");
    assert_true(simtest_expect(&d, "\r\n>", GUARD_MS));
    simtest_send(&d, "t");
    assert_true(simtest_expect(&d, "\r\nOK\r\n", GUARD_MS));
    simtest_send(&d, "AT+CMQTTPUB=0,1,90\r");
    assert_true(simtest_expect(&d, "\r\nOK\r\n", GUARD_MS));
    vclock_jump(clock, 89LL * 1000000000LL);
    simtest_pump(&d, 5);
    assert_int_equal(sim_buf_used(&d.seen), 0);
    vclock_jump(clock, 1LL * 1000000000LL);
    assert_true(simtest_expect(&d, "\r\n+CMQTTPUB: 0,17\r\n", GUARD_MS));
    /* QoS 0 needs no acknowledgement */
    simtest_send(&d, "AT+CMQTTTOPIC=0,1\r");
    assert_true(simtest_expect(&d, "\r\n>", GUARD_MS));
    simtest_send(&d, "t");
    assert_true(simtest_expect(&d, "\r\nOK\r\n", GUARD_MS));
    simtest_send(&d, "AT+CMQTTPUB=0,0,60\r");
    assert_true(simtest_expect(&d, "\r\nOK\r\n\r\n+CMQTTPUB: 0,0\r\n", GUARD_MS));
    simtest_driver_fini(&d);
    vclock_close(clock);
    fake_broker_stop(&silent);
    fake_broker_stop(&mute_acks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(service_state_errors),
        cmocka_unit_test(info_first_order),
        cmocka_unit_test(acquire_arguments),
        cmocka_unit_test(test_forms),
        cmocka_unit_test(prompt_lengths_and_limits),
        cmocka_unit_test(connect_arguments),
        cmocka_unit_test(reset_clears_the_service),
        cmocka_unit_test_setup_teardown(publish_qos_0_1_2, setup, teardown),
        cmocka_unit_test_setup_teardown(subscribe_and_receive, setup, teardown),
        cmocka_unit_test_setup_teardown(own_publish_comes_back, setup, teardown),
        cmocka_unit_test_setup_teardown(will_message_on_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(disconnect_release_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(broker_stop_is_connlost, setup, teardown),
        cmocka_unit_test_setup_teardown(network_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(creset_while_connected, setup, teardown),
        cmocka_unit_test_setup_teardown(info_first_connect_and_publish, setup, teardown),
        cmocka_unit_test_setup_teardown(connect_refused_and_alias, setup, teardown),
        cmocka_unit_test_setup_teardown(two_clients_retained_qos2_and_long_topic, setup, teardown),
        cmocka_unit_test(connack_refusals_are_27_to_31),
        cmocka_unit_test(timeouts_run_on_the_virtual_clock),
    };
    return cmocka_run_group_tests_name("sim_mqtt", tests, NULL, NULL);
}
