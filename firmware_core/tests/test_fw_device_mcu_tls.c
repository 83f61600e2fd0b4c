/*
 * test_fw_device_mcu_tls.c - the device lifecycle (fw_device) and the bus
 * application (fw_bus_app) on the MCU-TLS transport. A scripted SIM7600
 * answers setup, the raw TCP socket (AT+NETOPEN, CIPOPEN, CIPSEND,
 * CIPRXGET, CIPCLOSE, +CIPRXGET: 1 and +IPCLOSE URCs) and GNSS; its socket
 * leads to an in-process OpenSSL server (memory BIOs) with a small MQTT
 * broker behind it that answers CONNECT, SUBSCRIBE, PUBLISH (PUBACK, or
 * withheld) and PINGREQ (PINGRESP, or withheld) and records what it got.
 * The client TLS is the Linux port's (fw_port_linux_tls).
 *
 * Checked: an event leaves the queue only on its PUBACK; one not
 * acknowledged before the socket closes, and those queued meanwhile, are
 * published again in order after the back-off, a new modem setup and a new
 * TLS session; an overdue PUBACK, an unanswered PINGREQ, a damaged TLS
 * record and a modem restart are losses;
 * failures in a row back off longer each time (with jitter, up to the cap);
 * GCP's JWT is renewed before expiry by a clean DISCONNECT and a new
 * connection with a fresh token (no loss counted); the bus application's
 * identification and location events reach the broker, its configuration
 * (an empty one, as GCP sends while none is set, ignored without an error
 * event) and commands arrive through the modem's message callback, and its
 * AT+CGPSINFO runs only between TCP operations and goes on during back-off
 * pauses (the location events of that time arrive later); the UART never carries
 * MQTT in plain text. Main flows at UART read sizes 1, 7, 64 and whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "fake_port.h"
#include "fw_bus_app.h"
#include "fw_device.h"
#include "fw_port_linux_tls.h"
#include "tls_mqtt_server.h"

struct rig {
    struct fake_port fake;        /* first: the TLS hooks get it as ctx */
    struct fw_linux_tls tls;
    SSL_CTX *sctx;
    struct tls_mqtt_server srv;   /* the server end of the modem's socket */
    struct fw_sim7600 modem;
    struct fw_queue queue;
    struct fw_device dev;
    struct fw_mcu_tls mcu;
    struct fw_bus_app app;
    bool with_app;
    char line_buf[256];
    char tx_buf[128];
    char topic_buf[64];
    uint8_t payload_buf[16];
    uint8_t queue_buf[8192];
    uint8_t mqtt_tx[4096], mqtt_rx[2048];
    struct fw_mqtt_inflight inflight[4];
    char jwt[1024];
    /* the fake modem */
    bool refuse_open;             /* AT+CIPOPEN fails */
    unsigned opens, closes, setups, cgpsinfo;
    unsigned transport_failures;  /* "mcutls failed" warnings logged */
    /* what the modem's message callback got */
    char message[160];
    unsigned messages;
};

/* ---- the fake SIM7600 ------------------------------------------------------ */

#define FIX_LINE "\r\n+CGPSINFO: 3113.343286,N,12121.234064,E,131025,041754.0,11.8,40.0,\r\n\r\nOK\r\n"

static void answer_line(void *ctx, const char *line)
{
    struct rig *r = ctx;
    struct fake_port *f = &r->fake;
    if (strcmp(line, "AT") == 0)
        r->setups++;
    if (strcmp(line, "AT+CIPCLOSE=0") == 0)
        r->closes++;
    if (tls_mqtt_modem_answer(&r->srv, line))
        return;
    if (strcmp(line, "AT+CGPS=1") == 0) {
        fake_port_push_str(f, "\r\nOK\r\n");
    } else if (strcmp(line, "AT+CIPOPEN=0,\"TCP\",\"localhost\",8883") == 0) {
        r->opens++;
        if (r->refuse_open)
            fake_port_push_str(f, "\r\nOK\r\n\r\n+CIPOPEN: 0,1\r\n");
        else
            tls_mqtt_server_open(&r->srv, r->sctx, 8883);
    } else if (strcmp(line, "AT+CGPSINFO") == 0) {
        r->cgpsinfo++;
        fake_port_push_str(f, FIX_LINE);
    } else {
        fail_msg("unexpected command %s", line);
    }
}

/* Answer every whole command the core has written; forget what was read
 * (after checking it holds no MQTT plain text). */
static void modem_step(struct rig *r)
{
    struct fake_port *f = &r->fake;
    if (!tls_mqtt_modem_step(&r->srv, 64, answer_line, r))
        return;
    /* needles long enough not to turn up in ciphertext by chance */
    assert_null(memmem(f->tx, f->tx_len, "/bus/", 5));
    assert_null(memmem(f->tx, f->tx_len, "\0\4MQTT\4", 7));
    assert_null(memmem(f->tx, f->tx_len, "eyJhbGci", 8)); /* a JWT's header */
    f->tx_len = f->tx_checked = 0;
}

/* ---- the rig ---------------------------------------------------------------- */

static void on_message(void *ctx, int client, const char *topic, size_t topic_len,
                       const uint8_t *payload, size_t payload_len)
{
    struct rig *r = ctx;
    assert_int_equal(client, 0);
    assert_int_equal(strlen(topic), topic_len); /* NUL-terminated like a +CMQTTRX topic */
    snprintf(r->message, sizeof(r->message), "%s=%.*s", topic, (int)payload_len,
             (const char *)payload);
    r->messages++;
    if (r->with_app)
        fw_bus_app_on_message(&r->app, topic, topic_len, payload, payload_len);
}

static void count_log(void *ctx, enum fw_log_level level, const char *module, const char *event,
                      const char *detail, size_t detail_len)
{
    struct rig *r = ctx;
    if (strcmp(module, "mcutls") == 0 && strcmp(event, "failed") == 0)
        r->transport_failures++;
}

static int32_t fixed_signer(void *ctx, enum fw_sign_alg alg, const uint8_t *msg, size_t len,
                            uint8_t *sig, size_t cap, size_t *sig_len)
{
    memset(sig, 0x5a, 64);
    *sig_len = 64;
    return 0;
}

static struct fw_jwt_params gcp_jwt = {FW_SIGN_ES256, "bench-project", 0, 3600, 0};

/* The device config: AWS (device certificate) or GCP (server-only TLS, JWT). */
static void rig_device_config(struct rig *r, bool gcp, struct fw_device_config *cfg)
{
    struct fw_mcu_tls_config *c = &cfg->mcu;
    mcu_tls_device_config(cfg, &r->modem, &r->queue, &r->mcu, 8000);
    cfg->jwt = gcp ? &gcp_jwt : NULL;
    cfg->jwt_buf = r->jwt;
    cfg->jwt_cap = sizeof(r->jwt);
    cfg->jwt_margin_s = 300;
    c->host = "localhost";
    c->tcp_port = 8883;
    c->server_name = "localhost";
    c->ca_id = FW_LINUX_TLS_CA;
    c->cert_id = gcp ? FW_LINUX_TLS_NONE : FW_LINUX_TLS_CERT;
    c->key_id = gcp ? FW_LINUX_TLS_NONE : FW_LINUX_TLS_KEY;
    mcu_tls_session_config(c, &r->fake, r->mqtt_tx, sizeof(r->mqtt_tx), r->mqtt_rx,
                           sizeof(r->mqtt_rx), r->inflight, 4);
    c->connect.client_id = gcp ? "projects/bench-project/locations/europe-west1/registries/"
                                 "buses/devices/bus-1"
                               : "bus-1";
    c->connect.username = gcp ? "unused" : NULL;
}

static void rig_init(struct rig *r, size_t chunk, bool gcp, const char *first_event)
{
    struct fw_device_config cfg;
    memset(r, 0, sizeof(*r));
    fake_port_init(&r->fake, chunk, 8);
    r->fake.signer = fixed_signer;
    r->fake.port.log = count_log;
    fake_port_use_linux_tls(&r->fake, &r->tls);
    r->tls.files[FW_LINUX_TLS_CA] = "certs/out/ca.pem";
    r->tls.files[FW_LINUX_TLS_CERT] = "certs/out/devices/bus-1/cert.pem";
    r->tls.files[FW_LINUX_TLS_KEY] = "certs/out/devices/bus-1/key.pem";
    /* a client certificate is optional */
    r->sctx = tls_server_ctx_new("certs/out/server-chain.pem", "certs/out/server.key",
                                 SSL_VERIFY_PEER);
    tls_mqtt_server_init(&r->srv, &r->fake);
    FAKE_SIM7600_INIT(r, on_message, r);
    assert_int_equal(fw_queue_init(&r->queue, &r->fake.port, 1, r->queue_buf, sizeof(r->queue_buf)),
                     FW_QUEUE_OK);
    if (first_event != NULL)
        fw_queue_push(&r->queue, FW_QUEUE_HIGH, "/bus/events", 11, (const uint8_t *)first_event,
                      strlen(first_event));
    rig_device_config(r, gcp, &cfg);
    assert_true(fw_device_start(&r->dev, &cfg));
}

static void rig_free(struct rig *r)
{
    fw_mcu_tls_stop(&r->mcu);
    tls_mqtt_server_drop(&r->srv);
    SSL_CTX_free(r->sctx);
}

/* One round: modem, server, 5 ms, the device (or the application on it). */
static enum fw_device_state run_once(struct rig *r)
{
    modem_step(r);
    tls_mqtt_server_step(&r->srv);
    if (r->srv.close_pending) {
        r->srv.close_pending = false;
        tls_mqtt_server_hang_up(&r->srv);
    }
    fake_port_advance(&r->fake, 5);
    return r->with_app ? fw_bus_app_poll(&r->app) : fw_device_poll(&r->dev);
}

/* Run until cond holds (checked after every round); fails after max rounds. */
#define RUN_UNTIL(r, cond, max)                                                               \
    do {                                                                                      \
        unsigned spins_;                                                                      \
        for (spins_ = 0; spins_ < (max) && !(cond); spins_++)                                 \
            run_once(r);                                                                      \
        if (!(cond))                                                                          \
            fail_msg("timed out waiting for %s: device %s, transport %s (%s), %u published",  \
                     #cond, fw_device_state_str((r)->dev.state),                              \
                     fw_mcu_tls_state_str((r)->mcu.state),                                    \
                     fw_mcu_tls_failure_str((r)->mcu.failure), (r)->srv.b.n_published);       \
    } while (0)

/* ---- tests ------------------------------------------------------------------ */

static const size_t chunks[] = {1, 7, 64, 0};

/* an event leaves the queue only on its PUBACK; one not acknowledged before
 * a loss and one queued meanwhile arrive after reconnecting, in order */
static void test_queue_kept_until_puback_and_republished(void **state)
{
    size_t c;
    (void)state;
    for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        static struct rig r;
        uint32_t lost_at, pause;
        size_t quiet;
        unsigned i;
        rig_init(&r, chunks[c], false, "e1");
        RUN_UNTIL(&r, device_online_and_drained(&r.dev, &r.queue), 40000u);
        assert_int_equal(r.srv.b.connects, 1);
        assert_string_equal(r.srv.b.client_id, "bus-1");
        assert_true(r.srv.b.client_cert); /* AWS: mutual TLS with the device certificate */
        assert_int_equal(r.srv.b.subscribes, 1);
        assert_int_equal(r.srv.b.filters, 2);
        assert_int_equal(r.srv.b.n_published, 1);
        assert_string_equal(r.srv.b.published[0], "/bus/events e1");
        assert_int_equal(fw_device_stats(&r.dev)->published, 1);
        /* the broker receives e2 but its PUBACK never comes: e2 stays queued */
        r.srv.b.withhold_puback = true;
        device_push_event(&r.queue, "e2");
        RUN_UNTIL(&r, r.srv.b.n_published == 2, 40000u);
        assert_string_equal(r.srv.b.published[1], "/bus/events e2");
        for (i = 0; i < 200u; i++) /* one second */
            run_once(&r);
        assert_int_equal(fw_queue_count(&r.queue), 1);
        assert_int_equal(fw_device_stats(&r.dev)->published, 1);
        device_push_event(&r.queue, "e3"); /* waits behind e2 */
        for (i = 0; i < 200u; i++)
            run_once(&r);
        assert_int_equal(r.srv.b.n_published, 2); /* one event in flight at a time */
        /* the socket dies: back off, e2 and e3 still queued */
        tls_mqtt_server_hang_up(&r.srv);
        RUN_UNTIL(&r, r.dev.state == FW_DEVICE_BACKOFF, 40000u);
        lost_at = r.fake.now;
        pause = fw_device_last_backoff(&r.dev);
        assert_int_equal(fw_device_stats(&r.dev)->losses, 1);
        assert_true(pause >= 500 && pause <= 1000);
        assert_int_equal(fw_queue_count(&r.queue), 2);
        assert_true(fw_device_idle(&r.dev)); /* the application may read GNSS meanwhile */
        /* silent while backing off */
        modem_step(&r);
        quiet = r.fake.tx_len;
        fake_port_advance(&r.fake, pause - 100);
        assert_int_equal(fw_device_poll(&r.dev), FW_DEVICE_BACKOFF);
        assert_int_equal(r.fake.tx_len, quiet);
        /* back: setup again, a new TLS session, e2 again and then e3 */
        r.srv.b.withhold_puback = false;
        RUN_UNTIL(&r, device_online_and_drained(&r.dev, &r.queue), 80000u);
        assert_true(r.fake.now - lost_at >= pause);
        assert_int_equal(r.setups, 2);
        assert_int_equal(r.srv.b.connects, 2);
        assert_int_equal(r.srv.b.n_published, 4);
        assert_string_equal(r.srv.b.published[2], "/bus/events e2");
        assert_string_equal(r.srv.b.published[3], "/bus/events e3");
        assert_int_equal(fw_device_stats(&r.dev)->connects, 2);
        assert_int_equal(fw_device_stats(&r.dev)->published, 3);
        assert_int_equal(r.fake.store_len[1], FW_QUEUE_HEADER); /* the stored queue is empty */
        rig_free(&r);
    }
}

/* an overdue PUBACK and an unanswered PINGREQ are losses; the event comes again */
static void test_overdue_puback_and_ping_are_losses(void **state)
{
    static struct rig r;
    uint32_t before;
    (void)state;
    rig_init(&r, 64, false, NULL);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 40000u);
    r.srv.b.withhold_puback = true;
    before = r.fake.now;
    device_push_event(&r.queue, "late");
    RUN_UNTIL(&r, r.srv.b.n_published == 1, 40000u);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_BACKOFF, 40000u);
    assert_true(r.fake.now - before >= 3000); /* the session's ack_timeout_ms */
    assert_int_equal(fw_mcu_tls_failure(&r.mcu), FW_MCU_TLS_FAIL_MQTT);
    assert_true(r.closes >= 1); /* the socket closed before backing off */
    r.srv.b.withhold_puback = false;
    RUN_UNTIL(&r,
              device_online_and_drained(&r.dev, &r.queue) && fw_device_stats(&r.dev)->published == 1,
              80000u);
    assert_int_equal(r.srv.b.n_published, 2);
    assert_string_equal(r.srv.b.published[1], "/bus/events late");
    /* keep-alive: idle for 60 s gives a PINGREQ; no PINGRESP is a loss */
    r.srv.b.withhold_pingresp = true;
    before = r.fake.now;
    RUN_UNTIL(&r, r.srv.b.pings == 1, 20000u);
    assert_true(r.fake.now - before >= 55000);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_BACKOFF, 2000u);
    assert_int_equal(fw_device_stats(&r.dev)->losses, 2);
    r.srv.b.withhold_pingresp = false;
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 80000u);
    rig_free(&r);
}

/* a damaged TLS record is a loss: the socket is closed, the device backs
 * off and comes back with a new TLS session */
static void test_tls_error_is_a_loss(void **state)
{
    static struct rig r;
    unsigned closes;
    (void)state;
    rig_init(&r, 64, false, "e1");
    RUN_UNTIL(&r, device_online_and_drained(&r.dev, &r.queue), 40000u);
    closes = r.closes;
    r.srv.corrupt_rx = true;
    tls_mqtt_server_send(&r.srv, "\xd0\x00", 2); /* a PINGRESP, damaged */
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_BACKOFF, 40000u);
    assert_int_equal(fw_mcu_tls_failure(&r.mcu), FW_MCU_TLS_FAIL_TLS);
    assert_int_equal(r.closes, closes + 1);
    assert_int_equal(r.transport_failures, 1);
    assert_true(fw_device_last_backoff(&r.dev) >= 500 && fw_device_last_backoff(&r.dev) <= 1000);
    device_push_event(&r.queue, "e2");
    RUN_UNTIL(&r, device_online_and_drained(&r.dev, &r.queue), 80000u);
    assert_int_equal(r.srv.b.connects, 2);
    assert_string_equal(r.srv.b.published[r.srv.b.n_published - 1], "/bus/events e2");
    rig_free(&r);
}

/* failed attempts back off longer each time up to the cap, each starting
 * with a modem setup; a success resets the pause */
static void test_backoff_grows_then_resets(void **state)
{
    static struct rig r;
    uint32_t cap = 1000, deadline = 0;
    unsigned round;
    (void)state;
    rig_init(&r, 7, false, NULL);
    r.refuse_open = true;
    for (round = 0; round < 5; round++) {
        unsigned losses = fw_device_stats(&r.dev)->losses;
        RUN_UNTIL(&r, fw_device_stats(&r.dev)->losses == losses + 1, 80000u);
        assert_int_equal(r.dev.state, FW_DEVICE_BACKOFF);
        assert_int_equal(r.setups, round + 1);
        assert_int_equal(r.opens, round + 1);
        /* pause in [cap/2, cap], cap = 1000 * 2^round up to 8000 */
        assert_true(fw_device_last_backoff(&r.dev) >= cap / 2 &&
                    fw_device_last_backoff(&r.dev) <= cap);
        assert_true(fw_device_next_deadline_ms(&r.dev, &deadline));
        assert_int_equal(deadline - r.fake.now, fw_device_last_backoff(&r.dev));
        cap = cap * 2 > 8000 ? 8000 : cap * 2;
    }
    r.refuse_open = false;
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 80000u);
    tls_mqtt_server_hang_up(&r.srv);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_BACKOFF, 40000u);
    assert_true(fw_device_last_backoff(&r.dev) >= 500 && fw_device_last_backoff(&r.dev) <= 1000);
    rig_free(&r);
}

/* a modem restart (RDY) while online: a loss, then setup and a new session */
static void test_modem_restart_is_a_loss(void **state)
{
    static struct rig r;
    (void)state;
    rig_init(&r, 0, false, "e1");
    RUN_UNTIL(&r, device_online_and_drained(&r.dev, &r.queue), 40000u);
    r.srv.closed = true;
    r.srv.net_open = false;
    tls_mqtt_server_drop(&r.srv);
    fake_port_push_str(&r.fake, "\r\nRDY\r\n");
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_BACKOFF, 40000u);
    device_push_event(&r.queue, "e2");
    RUN_UNTIL(&r, device_online_and_drained(&r.dev, &r.queue), 80000u);
    assert_int_equal(r.setups, 2);
    assert_string_equal(r.srv.b.published[r.srv.b.n_published - 1], "/bus/events e2");
    rig_free(&r);
}

/* GCP: server-only TLS, the JWT as password; jwt_margin_s before expiry the
 * session ends with DISCONNECT and comes back with a fresh token; an event
 * awaiting its PUBACK then is published again */
static void test_gcp_jwt_renewed_before_expiry(void **state)
{
    size_t c;
    (void)state;
    for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c += 2) {
        static struct rig r;
        char token1[1024], token2[1024];
        size_t len;
        uint64_t exp = 0;
        unsigned i;
        rig_init(&r, chunks[c], true, "e1");
        r.srv.b.close_on_disconnect = c == 0; /* as GCP does; else the device closes */
        assert_int_equal(fw_jwt_build(&r.fake.port, &gcp_jwt, token1, sizeof(token1), &len, &exp),
                         FW_JWT_OK);
        RUN_UNTIL(&r, device_online_and_drained(&r.dev, &r.queue), 40000u);
        assert_false(r.srv.b.client_cert);
        assert_string_equal(r.srv.b.client_id,
                            "projects/bench-project/locations/europe-west1/registries/buses/"
                            "devices/bus-1");
        assert_string_equal(r.srv.b.username, "unused");
        assert_string_equal(r.srv.b.password, token1);
        /* an event waits for its PUBACK when the renewal comes */
        r.srv.b.withhold_puback = true;
        device_push_event(&r.queue, "e2");
        RUN_UNTIL(&r, r.srv.b.n_published == 2, 40000u);
        /* one second before the margin: nothing happens */
        r.fake.unix_time = exp - 300 - 1;
        for (i = 0; i < 100u; i++)
            run_once(&r);
        assert_int_equal(r.srv.b.disconnects, 0);
        r.fake.unix_time = exp - 300;
        assert_int_equal(fw_jwt_build(&r.fake.port, &gcp_jwt, token2, sizeof(token2), &len, NULL),
                         FW_JWT_OK);
        assert_string_not_equal(token1, token2);
        r.srv.b.withhold_puback = false;
        RUN_UNTIL(&r, r.srv.b.connects == 2 && device_online_and_drained(&r.dev, &r.queue), 80000u);
        assert_int_equal(r.srv.b.disconnects, 1);
        assert_true(r.closes >= 1);
        assert_string_equal(r.srv.b.password, token2);
        assert_string_equal(r.srv.b.published[r.srv.b.n_published - 1], "/bus/events e2");
        assert_int_equal(fw_device_stats(&r.dev)->jwt_renewals, 2);
        assert_int_equal(fw_device_stats(&r.dev)->losses, 0);
        assert_int_equal(fw_device_stats(&r.dev)->connects, 2);
        assert_int_equal(r.setups, 1); /* a renewal needs no modem setup */
        assert_int_equal(r.transport_failures, 0); /* a clean end, not a failure */
        rig_free(&r);
    }
}

/* the bus application on MCU TLS: identification and location events reach
 * the broker; a configuration and a location command reach the application
 * through the modem's message callback */
static void test_bus_app_events_over_mcu_tls(void **state)
{
    static const char config[] = "{\"route\":\"42\",\"speed_threshold_kmh\":90,"
                                 "\"report_interval_s\":60}";
    size_t c;
    (void)state;
    for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        static struct rig r;
        struct fw_bus_app_config acfg;
        unsigned before;
        rig_init(&r, chunks[c], false, NULL);
        memset(&acfg, 0, sizeof(acfg));
        acfg.device = &r.dev;
        acfg.bus_id = "bus-1";
        acfg.events_topic = "/bus/events";
        acfg.config_topic = "/bus/bus-1/configuration";
        acfg.registration = "AA 1234 BC";
        acfg.route = "7";
        assert_true(fw_bus_app_init(&r.app, &acfg));
        r.with_app = true;
        RUN_UNTIL(&r, r.srv.b.n_published >= 2, 80000u);
        assert_non_null(strstr(r.srv.b.published[0], "/bus/events {\"type\":\"identification\""));
        assert_non_null(strstr(r.srv.b.published[0], "\"registration\":\"AA 1234 BC\""));
        assert_non_null(strstr(r.srv.b.published[1], "/bus/events {\"type\":\"location\""));
        assert_non_null(strstr(r.srv.b.published[1], "\"lat\":31.222388"));
        assert_true(r.cgpsinfo >= 1);
        /* an empty configuration (GCP's while none is set) is no error */
        before = r.srv.b.n_published;
        tls_mqtt_server_publish(&r.srv, "/bus/bus-1/configuration", "");
        RUN_UNTIL(&r, r.messages == 1, 40000u);
        assert_null(fw_bus_app_config(&r.app));
        assert_int_equal(fw_bus_app_stats(&r.app)->errors, 0);
        /* the cloud configures the bus, then asks where it is */
        tls_mqtt_server_publish(&r.srv, "/bus/bus-1/configuration", config);
        RUN_UNTIL(&r, fw_bus_app_config(&r.app) != NULL, 40000u);
        assert_string_equal(fw_bus_app_config(&r.app)->route, "42");
        assert_int_equal(r.messages, 2);
        assert_int_equal(r.srv.b.n_published, before); /* neither gave an event */
        before = r.srv.b.n_published;
        tls_mqtt_server_publish(&r.srv, "/bus/bus-1/commands",
                                "{\"cmd\":\"location\",\"id\":\"q1\"}");
        RUN_UNTIL(&r, r.srv.b.n_published > before && device_online_and_drained(&r.dev, &r.queue),
                  40000u);
        assert_non_null(strstr(r.srv.b.published[r.srv.b.n_published - 1], "\"request\":\"q1\""));
        assert_non_null(strstr(r.srv.b.published[r.srv.b.n_published - 1], "\"route\":\"42\""));
        rig_free(&r);
    }
}

/* offline, GNSS keeps being read during the back-off pauses: the location
 * events of that time are queued and arrive after reconnecting, in order */
static void test_bus_app_reads_gnss_while_offline(void **state)
{
    static struct rig r;
    struct fw_bus_app_config acfg;
    unsigned polls, i, located, seq;
    (void)state;
    rig_init(&r, 7, false, NULL);
    memset(&acfg, 0, sizeof(acfg));
    acfg.device = &r.dev;
    acfg.bus_id = "bus-1";
    acfg.events_topic = "/bus/events";
    acfg.config_topic = "/bus/bus-1/configuration";
    acfg.default_report_s = 5;
    assert_true(fw_bus_app_init(&r.app, &acfg));
    r.with_app = true;
    RUN_UNTIL(&r, r.srv.b.n_published >= 1, 80000u);
    /* the socket dies and the broker stays out of reach */
    r.refuse_open = true;
    tls_mqtt_server_hang_up(&r.srv);
    RUN_UNTIL(&r, fw_device_stats(&r.dev)->losses == 1, 40000u);
    polls = r.cgpsinfo;
    located = fw_bus_app_stats(&r.app)->locations;
    for (i = 0; i < 4000u; i++) /* 20 s offline */
        run_once(&r);
    assert_true(r.dev.state != FW_DEVICE_ONLINE);
    assert_true(r.cgpsinfo > polls + 5);
    assert_true(fw_bus_app_stats(&r.app)->locations >= located + 2);
    assert_true(fw_queue_count(&r.queue) >= 2);
    /* back: everything queued offline arrives */
    located = fw_bus_app_stats(&r.app)->locations;
    r.refuse_open = false;
    RUN_UNTIL(&r, device_online_and_drained(&r.dev, &r.queue), 80000u);
    assert_true(r.srv.b.n_published >= located);
    /* every sequence number once, in order (a repeat only as QoS 1 allows) */
    for (i = 0, seq = 0; i < r.srv.b.n_published; i++) {
        const char *at = strstr(r.srv.b.published[i], "\"seq\":");
        unsigned n;
        assert_non_null(strstr(r.srv.b.published[i], "\"type\":\"location\""));
        assert_non_null(at);
        n = (unsigned)strtoul(at + 6, NULL, 10);
        if (n != seq && n != seq + 1)
            fail_msg("event %u has seq %u after %u", i, n, seq);
        seq = n;
    }
    assert_int_equal(seq, fw_bus_app_stats(&r.app)->locations);
    rig_free(&r);
}

/* a topic longer than the modem's topic buffer is dropped and counted */
static void test_oversized_topic_dropped(void **state)
{
    static struct rig r;
    char topic[100];
    (void)state;
    rig_init(&r, 0, false, NULL);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 40000u);
    memset(topic, 'x', sizeof(topic) - 1);
    topic[sizeof(topic) - 1] = '\0';
    topic[0] = '/';
    tls_mqtt_server_publish(&r.srv, topic, "{}");
    RUN_UNTIL(&r, fw_sim7600_stats(&r.modem)->dropped == 1, 40000u);
    assert_int_equal(r.messages, 0);
    tls_mqtt_server_publish(&r.srv, "/bus/bus-1/commands", "{}");
    RUN_UNTIL(&r, r.messages == 1, 40000u);
    assert_string_equal(r.message, "/bus/bus-1/commands={}");
    assert_int_equal(r.dev.state, FW_DEVICE_ONLINE);
    rig_free(&r);
}

/* bad MCU-TLS configurations are refused at start */
static void test_bad_mcu_config_refused(void **state)
{
    static struct rig r;
    struct fw_device_config cfg;
    static const char *const many[] = {"a", "b", "c", "d", "e"};
    (void)state;
    rig_init(&r, 0, false, NULL);
    rig_device_config(&r, false, &cfg);
    cfg.mcu_tls = NULL;
    assert_false(fw_device_start(&r.dev, &cfg));
    rig_device_config(&r, false, &cfg);
    cfg.subscriptions = many;
    cfg.n_subscriptions = 5;
    assert_false(fw_device_start(&r.dev, &cfg));
    rig_device_config(&r, false, &cfg);
    r.fake.port.tls_close = NULL;
    assert_false(fw_device_start(&r.dev, &cfg));
    fake_port_use_linux_tls(&r.fake, &r.tls);
    assert_true(fw_device_start(&r.dev, &cfg));
    assert_string_equal(fw_mcu_tls_state_str(FW_MCU_TLS_DISCONNECTING), "disconnecting");
    rig_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_kept_until_puback_and_republished),
        cmocka_unit_test(test_overdue_puback_and_ping_are_losses),
        cmocka_unit_test(test_tls_error_is_a_loss),
        cmocka_unit_test(test_backoff_grows_then_resets),
        cmocka_unit_test(test_modem_restart_is_a_loss),
        cmocka_unit_test(test_gcp_jwt_renewed_before_expiry),
        cmocka_unit_test(test_bus_app_events_over_mcu_tls),
        cmocka_unit_test(test_bus_app_reads_gnss_while_offline),
        cmocka_unit_test(test_oversized_topic_dropped),
        cmocka_unit_test(test_bad_mcu_config_refused),
    };
    if (!tls_certs_ready("certs/out/ca.pem"))
        return 1;
    return cmocka_run_group_tests_name("fw_device_mcu_tls", tests, NULL, NULL);
}
