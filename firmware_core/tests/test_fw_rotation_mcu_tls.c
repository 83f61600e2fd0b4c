/*
 * test_fw_rotation_mcu_tls.c - server endpoint and CA rotation (fw_rotation)
 * on the MCU-TLS transport. A scripted SIM7600 carries the raw TCP socket
 * (AT+NETOPEN, CIPOPEN to any host and port, CIPSEND, CIPRXGET, CIPCLOSE,
 * +IPCLOSE) to in-process OpenSSL servers (memory BIOs) with a small MQTT
 * broker behind them: localhost:8883 serves the first CA's server
 * certificate (or, after the broker's "rotation", the new CA's),
 * localhost:9883 the new CA's; any other port refuses the connection. The
 * client TLS is the Linux port's, whose CA slot has no file: every CA it
 * trusts comes through the port hook tls_set_ca from fw_rotation.
 *
 * Checked: the factory pair connects; a configuration with a new endpoint
 * and CA makes the device end its session cleanly and reconnect to the new
 * endpoint with the new CA, which then becomes the trusted pair (no
 * certificate-store command on the modem: an unexpected command fails the
 * test); a new pair that fails (wrong CA, refused port, a CA the port
 * cannot parse) is given up after 3 failed connects for the previous pair;
 * the pending pair is tried again when the trusted one fails too (the
 * broker's certificate rotated under it) and then confirmed; the pairs
 * survive a reboot (stored in the port's persistent storage), also a
 * pending one. A transport config with a CA but a port without tls_set_ca
 * is refused; with such a port the factory CA (the platform's own slot)
 * still connects and a new CA is given up for it. Main flow at UART read sizes 1 and whole.
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
#include "fw_device.h"
#include "fw_port_linux_tls.h"
#include "fw_rotation.h"
#include "tls_mqtt_server.h"

#define FIRST_PORT 8883
#define NEW_PORT 9883

struct rig {
    struct fake_port fake;        /* first: the TLS hooks get it as ctx */
    struct fw_linux_tls tls;
    SSL_CTX *first_ctx;           /* the first CA's server certificate */
    SSL_CTX *rotated_ctx;         /* the new CA's */
    bool first_port_rotated;      /* 8883 serves the new CA's certificate */
    struct tls_mqtt_server srv;   /* the server end of the modem's socket */
    struct fw_sim7600 modem;
    struct fw_queue queue;
    struct fw_rotation rot;
    struct fw_device dev;
    struct fw_mcu_tls mcu;
    char line_buf[256];
    char tx_buf[128];
    char topic_buf[64];
    uint8_t payload_buf[16];
    uint8_t queue_buf[4096];
    uint8_t mqtt_tx[4096], mqtt_rx[2048];
    struct fw_mqtt_inflight inflight[4];
    uint8_t first_ca[4096], new_ca[4096];
    size_t first_ca_len, new_ca_len;
    /* the fake modem */
    unsigned opens[2];            /* AT+CIPOPEN to FIRST_PORT, NEW_PORT */
    unsigned refused_opens;       /* to other ports */
    unsigned set_cas;             /* tls_set_ca calls */
    unsigned tls_failures;        /* "mcutls failed" warnings logged */
};

static int32_t hook_set_ca(void *ctx, uint32_t ca_id, const uint8_t *pem, size_t len)
{
    struct rig *r = ctx;
    r->set_cas++;
    return fw_linux_tls_set_ca(&r->tls, ca_id, pem, len);
}

/* ---- the fake SIM7600 ------------------------------------------------------ */

static void answer_open(struct rig *r, const char *host, unsigned port)
{
    assert_string_equal(host, "localhost");
    if (port != FIRST_PORT && port != NEW_PORT) {
        r->refused_opens++;
        fake_port_push_str(&r->fake, "\r\nOK\r\n\r\n+CIPOPEN: 0,1\r\n");
        return;
    }
    r->opens[port == NEW_PORT]++;
    tls_mqtt_server_open(&r->srv, port == NEW_PORT || r->first_port_rotated ? r->rotated_ctx
                                                                            : r->first_ctx,
                         port);
}

/* Any command not answered here (a certificate-store command, say) fails. */
static void answer_line(void *ctx, const char *line)
{
    struct rig *r = ctx;
    char host[64];
    unsigned port = 0;
    if (tls_mqtt_modem_answer(&r->srv, line))
        return;
    if (sscanf(line, "AT+CIPOPEN=0,\"TCP\",\"%63[^\"]\",%u", host, &port) == 2)
        answer_open(r, host, port);
    else
        fail_msg("unexpected command %s", line);
}

/* Answer every whole command the core has written. */
static void modem_step(struct rig *r)
{
    if (tls_mqtt_modem_step(&r->srv, 96, answer_line, r))
        r->fake.tx_len = r->fake.tx_checked = 0;
}

/* ---- the rig ---------------------------------------------------------------- */

static void count_log(void *ctx, enum fw_log_level level, const char *module, const char *event,
                      const char *detail, size_t detail_len)
{
    struct rig *r = ctx;
    if (strcmp(module, "mcutls") == 0 && strcmp(event, "failed") == 0)
        r->tls_failures++;
}

/* The device config (AWS, mutual TLS); host, port and CA come from prepare. */
static void rig_device_config(struct rig *r, struct fw_device_config *cfg)
{
    struct fw_mcu_tls_config *c = &cfg->mcu;
    mcu_tls_device_config(cfg, &r->modem, &r->queue, &r->mcu, 4000);
    c->host = "unused.invalid"; /* replaced by the active pair's */
    c->tcp_port = 1;
    c->server_name = "unused.invalid";
    c->ca_id = FW_LINUX_TLS_CA;
    c->cert_id = FW_LINUX_TLS_CERT;
    c->key_id = FW_LINUX_TLS_KEY;
    mcu_tls_session_config(c, &r->fake, r->mqtt_tx, sizeof(r->mqtt_tx), r->mqtt_rx,
                           sizeof(r->mqtt_rx), r->inflight, 4);
    c->connect.client_id = "bus-1";
    cfg->hooks = fw_rotation_device_hooks(&r->rot);
}

/* Power on: the core's state starts from nothing but the port's persistent
 * storage; the modem and the servers start afresh too. */
static void rig_boot(struct rig *r)
{
    struct fw_rotation_config rc;
    struct fw_device_config cfg;
    fw_mcu_tls_stop(&r->mcu);
    tls_mqtt_server_drop(&r->srv);
    r->fake.rx_len = r->fake.rx_off = 0;
    r->fake.tx_len = r->fake.tx_checked = 0;
    r->srv.send_pending = 0;
    r->srv.closed = r->srv.net_open = r->srv.rx_notified = false;
    memset(&r->modem, 0, sizeof(r->modem));
    memset(&r->rot, 0, sizeof(r->rot));
    memset(&r->dev, 0, sizeof(r->dev));
    FAKE_SIM7600_INIT(r, NULL, NULL);
    assert_int_equal(fw_queue_init(&r->queue, &r->fake.port, 1, r->queue_buf, sizeof(r->queue_buf)),
                     FW_QUEUE_OK);
    memset(&rc, 0, sizeof(rc));
    rc.port = &r->fake.port;
    rc.endpoint = "localhost:8883";
    rc.ca_name = "ca.pem";
    rc.ca = r->first_ca;
    rc.ca_len = r->first_ca_len;
    assert_true(fw_rotation_init(&r->rot, &rc));
    rig_device_config(r, &cfg);
    assert_true(fw_device_start(&r->dev, &cfg));
}

static void rig_init(struct rig *r, size_t chunk)
{
    memset(r, 0, sizeof(*r));
    fake_port_init(&r->fake, chunk, 8);
    r->fake.port.log = count_log;
    fake_port_use_linux_tls(&r->fake, &r->tls);
    r->fake.port.tls_set_ca = hook_set_ca;
    tls_mqtt_server_init(&r->srv, &r->fake);
    /* no CA file: the slot holds only what tls_set_ca gives */
    r->tls.files[FW_LINUX_TLS_CERT] = "certs/out/devices/bus-1/cert.pem";
    r->tls.files[FW_LINUX_TLS_KEY] = "certs/out/devices/bus-1/key.pem";
    /* SSL_VERIFY_PEER: the device certificate */
    r->first_ctx = tls_server_ctx_new("certs/out/server-chain.pem", "certs/out/server.key",
                                      SSL_VERIFY_PEER);
    r->rotated_ctx = tls_server_ctx_new("certs/out/rotated/server-chain.pem",
                                        "certs/out/rotated/server.key", SSL_VERIFY_PEER);
    r->first_ca_len = test_read_file("certs/out/ca.pem", r->first_ca, sizeof(r->first_ca));
    r->new_ca_len = test_read_file("certs/out/rotated/ca.pem", r->new_ca, sizeof(r->new_ca));
    rig_boot(r);
}

static void rig_free(struct rig *r)
{
    fw_mcu_tls_stop(&r->mcu);
    tls_mqtt_server_drop(&r->srv);
    SSL_CTX_free(r->first_ctx);
    SSL_CTX_free(r->rotated_ctx);
}

/* One round: modem, server, 5 ms, the device. */
static enum fw_device_state run_once(struct rig *r)
{
    modem_step(r);
    tls_mqtt_server_step(&r->srv);
    fake_port_advance(&r->fake, 5);
    return fw_device_poll(&r->dev);
}

/* Run until cond holds (checked after every round); fails after max rounds. */
#define RUN_UNTIL(r, cond, max)                                                               \
    do {                                                                                      \
        unsigned spins_;                                                                      \
        for (spins_ = 0; spins_ < (max) && !(cond); spins_++)                                 \
            run_once(r);                                                                      \
        if (!(cond))                                                                          \
            fail_msg("timed out waiting for %s: device %s, transport %s (%s)", #cond,         \
                     fw_device_state_str((r)->dev.state), fw_mcu_tls_state_str((r)->mcu.state), \
                     fw_mcu_tls_failure_str((r)->mcu.failure));                               \
    } while (0)

/* A configuration as the cloud sends it: endpoint and/or CA (JSON-escaped). */
static bool offer(struct rig *r, const char *endpoint, const uint8_t *ca, size_t ca_len)
{
    static char json[8192];
    char reason[128] = "";
    size_t n = 0, i;
    n += (size_t)snprintf(json + n, sizeof(json) - n, "{\"speed_threshold_kmh\":60");
    if (endpoint != NULL)
        n += (size_t)snprintf(json + n, sizeof(json) - n, ",\"endpoint\":\"%s\"", endpoint);
    if (ca != NULL) {
        n += (size_t)snprintf(json + n, sizeof(json) - n, ",\"ca_cert\":\"");
        for (i = 0; i < ca_len && n + 4 < sizeof(json); i++) {
            if (ca[i] == '\n') {
                json[n++] = '\\';
                json[n++] = 'n';
            } else {
                json[n++] = (char)ca[i];
            }
        }
        json[n++] = '"';
    }
    json[n++] = '}';
    json[n] = '\0';
    return fw_rotation_config_hook(&r->rot, json, n, reason, sizeof(reason));
}

/* The last publish the broker got, as "port topic payload". */
static const char *last_published(const struct rig *r)
{
    static char last[700];
    const struct tls_mqtt_broker *b = &r->srv.b;
    assert_true(b->n_published > 0);
    snprintf(last, sizeof(last), "%u %s", b->published_port[b->n_published - 1],
             b->published[b->n_published - 1]);
    return last;
}

/* ---- tests ------------------------------------------------------------------ */

/* the factory pair connects; a new endpoint and CA: a clean disconnect, the
 * new endpoint with the new CA, confirmed as the trusted pair */
static void test_new_pair_reconnects_to_new_endpoint_with_new_ca(void **state)
{
    static const size_t chunks[] = {1, 0};
    size_t c;
    (void)state;
    for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        static struct rig r;
        rig_init(&r, chunks[c]);
        device_push_event(&r.queue, "e1");
        RUN_UNTIL(&r, device_online_and_drained(&r.dev, &r.queue), 60000u);
        assert_int_equal(r.opens[0], 1);
        assert_int_equal(r.opens[1], 0);
        assert_string_equal(last_published(&r), "8883 /bus/events e1");
        assert_true(r.set_cas >= 1); /* the factory CA, from memory */
        assert_true(offer(&r, "mqtts://localhost:9883", r.new_ca, r.new_ca_len));
        assert_true(fw_rotation_has_pending(&r.rot));
        assert_string_equal(fw_rotation_active(&r.rot)->endpoint, "localhost:9883");
        /* the same configuration again (retained, on every connect): no change */
        assert_true(offer(&r, "localhost:9883", r.new_ca, r.new_ca_len));
        assert_int_equal(fw_rotation_stats(&r.rot)->offers, 1);
        RUN_UNTIL(&r, r.opens[1] == 1 && r.dev.state == FW_DEVICE_ONLINE, 60000u);
        assert_int_equal(r.srv.b.disconnects, 1); /* the old session ended cleanly */
        assert_int_equal(fw_device_stats(&r.dev)->losses, 0);
        assert_int_equal(r.opens[0], 1);
        assert_false(fw_rotation_has_pending(&r.rot));
        assert_int_equal(fw_rotation_stats(&r.rot)->promotions, 1);
        assert_null(fw_rotation_previous(&r.rot));
        assert_int_equal(fw_rotation_active(&r.rot)->ca_len, r.new_ca_len);
        assert_memory_equal(r.tls.ca_pem, r.new_ca, r.new_ca_len);
        device_push_event(&r.queue, "e2");
        RUN_UNTIL(&r, device_online_and_drained(&r.dev, &r.queue), 60000u);
        assert_string_equal(last_published(&r), "9883 /bus/events e2");
        assert_int_equal(r.tls_failures, 0);
        rig_free(&r);
    }
}

/* a new pair that cannot connect (the old server with the new CA; a port
 * that refuses; a CA the port's TLS cannot parse) is given up after 3
 * failed connects: the previous pair connects again */
static void test_failed_new_pair_falls_back(void **state)
{
    static const uint8_t unparsable[] =
        "-----BEGIN CERTIFICATE-----\nQUFBQUFBQUFB\n-----END CERTIFICATE-----\n";
    unsigned kase;
    (void)state;
    for (kase = 0; kase < 3; kase++) {
        static struct rig r;
        unsigned opens, set_cas;
        rig_init(&r, 64);
        RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 60000u);
        opens = r.opens[0];
        set_cas = r.set_cas;
        if (kase == 0)
            assert_true(offer(&r, NULL, r.new_ca, r.new_ca_len)); /* same endpoint */
        else if (kase == 1)
            assert_true(offer(&r, "localhost:9993", NULL, 0)); /* same CA */
        else
            assert_true(offer(&r, NULL, unparsable, sizeof(unparsable) - 1));
        RUN_UNTIL(&r, fw_rotation_stats(&r.rot)->switches == 1, 200000u);
        RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 200000u);
        assert_int_equal(fw_device_stats(&r.dev)->losses, 3); /* the 3 failed attempts */
        if (kase == 0) {
            assert_int_equal(r.opens[0], opens + 4); /* 3 with the new CA, 1 with the old */
            assert_int_equal(r.tls_failures, 3);
        } else if (kase == 1) {
            assert_int_equal(r.refused_opens, 3);
            assert_int_equal(r.opens[0], opens + 1);
        } else {
            assert_int_equal(r.opens[0], opens + 1); /* the transport refused to start */
            assert_int_equal(r.set_cas, set_cas + 4);
        }
        /* the trusted pair is active again, the new one waits as pending */
        assert_true(fw_rotation_has_pending(&r.rot));
        assert_string_equal(fw_rotation_active(&r.rot)->endpoint, "localhost:8883");
        assert_int_equal(fw_rotation_active(&r.rot)->ca_len, r.first_ca_len);
        assert_memory_equal(r.tls.ca_pem, r.first_ca, r.first_ca_len);
        assert_int_equal(fw_rotation_stats(&r.rot)->promotions, 0);
        rig_free(&r);
    }
}

/* the scenario of a rotated broker: the new CA arrives before the broker's
 * certificate changes (fall back), then the broker's certificate changes
 * (the trusted pair fails): the pending pair is tried again and confirmed */
static void test_pending_retried_when_trusted_fails(void **state)
{
    static struct rig r;
    (void)state;
    rig_init(&r, 64);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 60000u);
    assert_true(offer(&r, "localhost:8883", r.new_ca, r.new_ca_len));
    RUN_UNTIL(&r, fw_rotation_stats(&r.rot)->switches == 1, 200000u);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 200000u);
    assert_true(fw_rotation_has_pending(&r.rot));
    /* the broker now serves the new CA's certificate and drops everyone */
    r.first_port_rotated = true;
    tls_mqtt_server_hang_up(&r.srv);
    RUN_UNTIL(&r, fw_rotation_stats(&r.rot)->switches == 2, 200000u);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 200000u);
    assert_false(fw_rotation_has_pending(&r.rot));
    assert_int_equal(fw_rotation_stats(&r.rot)->promotions, 1);
    assert_int_equal(fw_rotation_active(&r.rot)->ca_len, r.new_ca_len);
    /* 3 with the new CA, the broker's drop, then 3 with the old CA */
    assert_int_equal(r.tls_failures, 7);
    device_push_event(&r.queue, "after");
    RUN_UNTIL(&r, device_online_and_drained(&r.dev, &r.queue), 60000u);
    assert_string_equal(last_published(&r), "8883 /bus/events after");
    rig_free(&r);
}

/* the pairs are in persistent storage: after a reboot the device goes
 * straight to the confirmed new pair, or first to a pending active one */
static void test_pairs_survive_a_reboot(void **state)
{
    static struct rig r;
    (void)state;
    rig_init(&r, 64);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 60000u);
    assert_true(offer(&r, "localhost:9883", r.new_ca, r.new_ca_len));
    RUN_UNTIL(&r, r.opens[1] == 1 && r.dev.state == FW_DEVICE_ONLINE, 60000u);
    assert_int_equal(fw_rotation_stats(&r.rot)->promotions, 1);
    /* reboot: the confirmed pair at once, the factory one never */
    rig_boot(&r);
    memset(r.tls.ca_copy, 0, sizeof(r.tls.ca_copy));
    r.tls.ca_pem = NULL;
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 60000u);
    assert_int_equal(r.opens[0], 1);
    assert_int_equal(r.opens[1], 2);
    assert_false(fw_rotation_has_pending(&r.rot));
    assert_memory_equal(r.tls.ca_pem, r.new_ca, r.new_ca_len);
    /* a pending pair offered, the device reboots before connecting with it:
     * after the reboot it is still pending and active */
    assert_true(offer(&r, "localhost:8883", r.first_ca, r.first_ca_len));
    rig_boot(&r);
    assert_true(fw_rotation_has_pending(&r.rot));
    assert_string_equal(fw_rotation_active(&r.rot)->endpoint, "localhost:8883");
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 60000u);
    assert_int_equal(r.opens[0], 2);
    assert_false(fw_rotation_has_pending(&r.rot));
    assert_int_equal(fw_rotation_active(&r.rot)->ca_len, r.first_ca_len);
    assert_int_equal(r.tls_failures, 0);
    rig_free(&r);
}

/* a CA for the port's TLS needs the port hook tls_set_ca */
static void test_ca_without_port_hook_refused(void **state)
{
    static struct rig r;
    struct fw_device_config cfg;
    (void)state;
    rig_init(&r, 0);
    rig_device_config(&r, &cfg);
    cfg.mcu.host = "localhost";
    cfg.mcu.tcp_port = FIRST_PORT;
    cfg.mcu.server_name = "localhost";
    cfg.mcu.modem = &r.modem;
    cfg.mcu.port = &r.fake.port;
    cfg.mcu.ca_pem = r.first_ca;
    cfg.mcu.ca_len = r.first_ca_len;
    r.fake.port.tls_set_ca = NULL;
    assert_false(fw_mcu_tls_start(&r.mcu, &cfg.mcu));
    r.fake.port.tls_set_ca = hook_set_ca;
    cfg.mcu.ca_len = 10; /* no whole certificate: the port refuses */
    assert_false(fw_mcu_tls_start(&r.mcu, &cfg.mcu));
    cfg.mcu.ca_len = r.first_ca_len;
    fw_at_cancel(fw_sim7600_at(&r.modem)); /* the device's setup had the AT engine */
    assert_true(fw_mcu_tls_start(&r.mcu, &cfg.mcu));
    assert_memory_equal(r.tls.ca_pem, r.first_ca, r.first_ca_len);
    rig_free(&r);
}

/* a port without tls_set_ca: the factory CA is the platform's own slot
 * (connects); a new CA cannot reach the port, so the transport refuses to
 * start with it and the device falls back */
static void test_port_without_set_ca_keeps_factory_ca(void **state)
{
    static struct rig r;
    (void)state;
    rig_init(&r, 64);
    r.fake.port.tls_set_ca = NULL;
    r.tls.files[FW_LINUX_TLS_CA] = "certs/out/ca.pem";
    rig_boot(&r);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 60000u);
    assert_int_equal(r.opens[0], 1);
    assert_int_equal(r.set_cas, 0);
    assert_true(offer(&r, NULL, r.new_ca, r.new_ca_len));
    RUN_UNTIL(&r, fw_rotation_stats(&r.rot)->switches == 1, 200000u);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 200000u);
    assert_int_equal(r.opens[0], 2); /* none with the new CA */
    assert_int_equal(fw_device_stats(&r.dev)->losses, 3);
    assert_true(fw_rotation_has_pending(&r.rot));
    assert_int_equal(fw_rotation_active(&r.rot)->ca_len, r.first_ca_len);
    rig_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_pair_reconnects_to_new_endpoint_with_new_ca),
        cmocka_unit_test(test_failed_new_pair_falls_back),
        cmocka_unit_test(test_pending_retried_when_trusted_fails),
        cmocka_unit_test(test_pairs_survive_a_reboot),
        cmocka_unit_test(test_ca_without_port_hook_refused),
        cmocka_unit_test(test_port_without_set_ca_keeps_factory_ca),
    };
    if (!tls_certs_ready("certs/out/rotated/ca.pem"))
        return 1;
    return cmocka_run_group_tests_name("fw_rotation_mcu_tls", tests, NULL, NULL);
}
