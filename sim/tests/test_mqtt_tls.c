/*
 * §4 MQTT over TLS: a real Mosquitto with a TLS listener that demands a
 * client certificate from the bench CA (certs/out), the modem configured
 * through AT+CCERTDOWN / AT+CSSLCFG / AT+CMQTTSSLCFG, mutual TLS with a
 * device certificate, and the negative certificates refused with the codes
 * of reference §4.3/§4.5 (34 when the modem refuses the broker, 32 when the
 * broker aborts the handshake, 33 when a file is missing).
 */
#include "simtest.h"
#include "mqtt_peer.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define GUARD_MS 5000

struct fixture {
    struct simtest_server broker;
    int tls_port;
    struct simtest_driver d;
    struct mqtt_peer peer;
};

static const char *abs_cert(const char *relative)
{
    static char paths[8][PATH_MAX];
    static unsigned next;
    char *p = paths[next++ % 8];
    if (realpath(simtest_cert(relative), p) == NULL) {
        fprintf(stderr, "missing %s (run certs/gen.sh)\n", simtest_cert(relative));
        fail();
    }
    return p;
}

/* Mosquitto with its plain listener (for the peer) and a TLS listener requiring client certificates. */
static void start_broker(struct fixture *f, const char *server_cert, const char *server_key)
{
    char extra[2048];
    f->tls_port = simtest_free_port();
    snprintf(extra, sizeof(extra),
             "listener %d 127.0.0.1\nallow_anonymous true\n"
             "cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\n",
             f->tls_port, abs_cert("ca.pem"), abs_cert(server_cert), abs_cert(server_key));
    assert_int_equal(simtest_mosquitto_start(&f->broker, extra), 0);
    assert_int_equal(simtest_wait_port(f->tls_port, GUARD_MS), 0);
}

/* SSL context 0 for mutual TLS with the given client certificate directory (e.g. "devices/bus-1"). */
static void configure_client(struct fixture *f, const char *ca, const char *cert_dir)
{
    char path[160];
    simtest_download_cert(&f->d, "ca.pem", ca);
    snprintf(path, sizeof(path), "%s/cert.pem", cert_dir);
    simtest_download_cert(&f->d, "cert.pem", path);
    snprintf(path, sizeof(path), "%s/key.pem", cert_dir);
    simtest_download_cert(&f->d, "key.pem", path);
    simtest_at_ok(&f->d, "AT+CSSLCFG=\"sslversion\",0,4\r");
    simtest_at_ok(&f->d, "AT+CSSLCFG=\"authmode\",0,2\r");
    simtest_at_ok(&f->d, "AT+CSSLCFG=\"cacert\",0,\"ca.pem\"\r");
    simtest_at_ok(&f->d, "AT+CSSLCFG=\"clientcert\",0,\"cert.pem\"\r");
    simtest_at_ok(&f->d, "AT+CSSLCFG=\"clientkey\",0,\"key.pem\"\r");
}

/* START, ACCQ as an SSL client, SSL context 0, CONNECT; expect +CMQTTCONNECT: 0,<err>. */
static void connect_expect(struct fixture *f, int err)
{
    char cmd[160];
    char want[64];
    simtest_send(&f->d, "AT+CMQTTSTART\r");
    assert_true(simtest_expect(&f->d, "+CMQTTSTART: 0\r\n", GUARD_MS));
    simtest_at_ok(&f->d, "AT+CMQTTACCQ=0,\"bus-1\",1\r");
    simtest_at_ok(&f->d, "AT+CMQTTSSLCFG=0,0\r");
    snprintf(cmd, sizeof(cmd), "AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:%d\",60,1\r", f->tls_port);
    simtest_send(&f->d, cmd);
    assert_true(simtest_expect(&f->d, "\r\nOK\r\n", GUARD_MS));
    snprintf(want, sizeof(want), "\r\n+CMQTTCONNECT: 0,%d\r\n", err);
    assert_true(simtest_expect(&f->d, want, GUARD_MS));
}

static int setup_good(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    start_broker(f, "server.pem", "server.key");
    simtest_driver_init(&f->d, NULL);
    simtest_at_ok(&f->d, "ATE0\r");
    assert_int_equal(mqtt_peer_start(&f->peer, "peer", "127.0.0.1", f->broker.port), 0);
    *state = f;
    return 0;
}

static int setup_expired_server(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    start_broker(f, "bad/expired-server/server.pem", "bad/expired-server/server.key");
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

static void mutual_tls_with_device_certificate(void **state)
{
    struct fixture *f = *state;
    assert_true(mqtt_peer_subscribe(&f->peer, "bus/#", 1, &f->d));
    configure_client(f, "ca.pem", "devices/bus-1");
    connect_expect(f, 0);
    simtest_send(&f->d, "AT+CMQTTTOPIC=0,9\r");
    assert_true(simtest_expect(&f->d, "\r\n>", GUARD_MS));
    simtest_send(&f->d, "bus/bus-1");
    assert_true(simtest_expect(&f->d, "\r\nOK\r\n", GUARD_MS));
    simtest_send(&f->d, "AT+CMQTTPAYLOAD=0,6\r");
    assert_true(simtest_expect(&f->d, "\r\n>", GUARD_MS));
    simtest_send(&f->d, "secure");
    assert_true(simtest_expect(&f->d, "\r\nOK\r\n", GUARD_MS));
    simtest_send(&f->d, "AT+CMQTTPUB=0,1,60\r");
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTPUB: 0,0\r\n", GUARD_MS));
    assert_true(mqtt_peer_wait(&f->peer, 1, &f->d));
    assert_memory_equal(mqtt_peer_msg(&f->peer, 0)->payload, "secure", 6);

    /* messages come back over TLS as well */
    simtest_send(&f->d, "AT+CMQTTSUB=0,8,1\r");
    assert_true(simtest_expect(&f->d, "\r\n>", GUARD_MS));
    simtest_send(&f->d, "cmd/tls1");
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTSUB: 0,0\r\n", GUARD_MS));
    assert_true(mqtt_peer_publish(&f->peer, "cmd/tls1", "go", 2, 1));
    assert_true(simtest_expect(&f->d,
                               "\r\n+CMQTTRXSTART: 0,8,2\r\n+CMQTTRXTOPIC: 0,8\r\ncmd/tls1\r\n"
                               "+CMQTTRXPAYLOAD: 0,2\r\ngo\r\n+CMQTTRXEND: 0\r\n",
                               GUARD_MS));

    /* a broker-side close of a TLS session is CONNLOST cause 1 too */
    assert_string_equal(simtest_control(&f->d, "drop mqtt"), "ok drop mqtt 1");
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTCONNLOST: 0,1\r\n", GUARD_MS));
}

/* The broker refuses the client certificate: it aborts the handshake (error 32). */
static void refused_client_certificate(struct fixture *f, const char *cert_dir)
{
    configure_client(f, "ca.pem", cert_dir);
    connect_expect(f, 32);
    /* the failed CONNECT cleared CMQTTSSLCFG back to the session's own context */
    simtest_send(&f->d, "AT+CMQTTSSLCFG?\r");
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTSSLCFG: 0,0\r\n+CMQTTSSLCFG: 1,1\r\n\r\nOK\r\n", GUARD_MS));
    simtest_send(&f->d, "AT+CMQTTCONNECT?\r");
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTCONNECT: 0\r\n", GUARD_MS));
}

static void expired_device_certificate(void **state)
{
    refused_client_certificate(*state, "bad/expired-device");
}

static void device_certificate_from_untrusted_ca(void **state)
{
    refused_client_certificate(*state, "bad/untrusted-ca");
}

static void device_certificate_from_fake_ca(void **state)
{
    refused_client_certificate(*state, "bad/fake-ca");
}

/*
 * authmode 1 sends no certificate: Mosquitto (require_certificate) aborts the
 * handshake, 32. (AWS completes it and then closes the socket: 26, §4.5.)
 */
static void no_client_certificate_sent(void **state)
{
    struct fixture *f = *state;
    configure_client(f, "ca.pem", "devices/bus-1");
    simtest_at_ok(&f->d, "AT+CSSLCFG=\"authmode\",0,1\r");
    connect_expect(f, 32);
}

/* The modem refuses a broker whose chain does not lead to its cacert (error 34). */
static void broker_not_trusted_by_modem(void **state)
{
    struct fixture *f = *state;
    configure_client(f, "bad/untrusted-ca/ca.pem", "devices/bus-1");
    connect_expect(f, 34);
}

static void missing_client_key_is_33(void **state)
{
    struct fixture *f = *state;
    configure_client(f, "ca.pem", "devices/bus-1");
    simtest_at_ok(&f->d, "AT+CSSLCFG=\"clientkey\",0,\"none.pem\"\r");
    connect_expect(f, 33);
}

/* ignorelocaltime=1 (the default) does not look at validity dates; 0 checks them at AT+CCLK time. */
static void expired_server_certificate(void **state)
{
    struct fixture *f = *state;
    configure_client(f, "ca.pem", "devices/bus-1");
    connect_expect(f, 0);
    simtest_send(&f->d, "AT+CMQTTDISC=0,60\r");
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTDISC: 0,0\r\n", GUARD_MS));
    simtest_at_ok(&f->d, "AT+CMQTTREL=0\r");
    simtest_send(&f->d, "AT+CMQTTSTOP\r");
    assert_true(simtest_expect(&f->d, "\r\n+CMQTTSTOP: 0\r\n", GUARD_MS));

    simtest_at_ok(&f->d, "AT+CSSLCFG=\"ignorelocaltime\",0,0\r");
    connect_expect(f, 34);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(mutual_tls_with_device_certificate, setup_good, teardown),
        cmocka_unit_test_setup_teardown(expired_device_certificate, setup_good, teardown),
        cmocka_unit_test_setup_teardown(device_certificate_from_untrusted_ca, setup_good, teardown),
        cmocka_unit_test_setup_teardown(device_certificate_from_fake_ca, setup_good, teardown),
        cmocka_unit_test_setup_teardown(no_client_certificate_sent, setup_good, teardown),
        cmocka_unit_test_setup_teardown(broker_not_trusted_by_modem, setup_good, teardown),
        cmocka_unit_test_setup_teardown(missing_client_key_is_33, setup_good, teardown),
        cmocka_unit_test_setup_teardown(expired_server_certificate, setup_expired_server, teardown),
    };
    return cmocka_run_group_tests_name("sim_mqtt_tls", tests, NULL, NULL);
}
