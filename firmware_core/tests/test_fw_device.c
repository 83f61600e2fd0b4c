/*
 * test_fw_device.c - the modem-TLS lifecycle against a scripted modem: set
 * up, connect, subscribe, publish the queued events in order; lose the
 * connection (+CMQTTCONNLOST), queue an event meanwhile, back off with
 * jitter, reconnect through a modem that still holds the old client, and
 * deliver it; a modem reboot sends the lifecycle back to setup; GCP renews
 * its JWT by reconnecting before the token expires. Read sizes 1, 7, whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_port.h"
#include "fw_device.h"

struct exchange {
    const char *tx;
    const char *rx;
};

struct rig {
    struct fake_port fake;
    struct fw_sim7600 modem;
    struct fw_device dev;
    struct fw_queue queue;
    uint8_t queue_buf[512];
    char line_buf[128];
    char tx_buf[FW_SIM7600_MQTT_CMD_MAX];
    char topic_buf[64];
    uint8_t payload_buf[64];
    char jwt[400];
};

static const char *const subs[] = {"/bus/bus-1/commands"};

static const struct exchange setup_ex[] = {
    {"AT\r", "\r\nOK\r\n"},
    {"ATE0\r", "\r\nOK\r\n"},
    {"AT+CMEE=2\r", "\r\nOK\r\n"},
    {"AT+CPIN?\r", "\r\n+CPIN: READY\r\n\r\nOK\r\n"},
    {"AT+CGREG?\r", "\r\n+CGREG: 0,1\r\n\r\nOK\r\n"},
};

static void rig_init(struct rig *r, size_t chunk, const struct fw_jwt_params *jwt)
{
    struct fw_device_config cfg;
    memset(r, 0, sizeof(*r));
    fake_port_init(&r->fake, chunk, 8);
    FAKE_SIM7600_INIT(r, NULL, NULL);
    assert_int_equal(fw_queue_init(&r->queue, &r->fake.port, 1, r->queue_buf, sizeof(r->queue_buf)),
                     FW_QUEUE_OK);
    memset(&cfg, 0, sizeof(cfg));
    cfg.modem = &r->modem;
    cfg.setup.ssl_ctx = -1;
    cfg.mqtt.client = 0;
    cfg.mqtt.client_id = "bus-1";
    cfg.mqtt.server = "tcp://broker:1883";
    cfg.mqtt.keepalive_s = 60;
    cfg.mqtt.clean_session = true;
    cfg.mqtt.ssl_ctx = -1;
    cfg.mqtt.username = jwt != NULL ? "unused" : NULL;
    cfg.subscriptions = subs;
    cfg.n_subscriptions = 1;
    cfg.queue = &r->queue;
    cfg.publish_qos = 1;
    cfg.backoff_min_ms = 1000;
    cfg.backoff_max_ms = 8000;
    cfg.jwt = jwt;
    cfg.jwt_buf = r->jwt;
    cfg.jwt_cap = sizeof(r->jwt);
    cfg.jwt_margin_s = 300;
    fw_queue_push(&r->queue, FW_QUEUE_HIGH, "/bus/events", 11, (const uint8_t *)"e1", 2);
    assert_true(fw_device_start(&r->dev, &cfg));
}

/* Answer the expected commands in order, 10 ms per poll, until all are used
 * and the device is online with an empty queue. */
static void drive(struct rig *r, const struct exchange *ex, size_t n)
{
    size_t next = 0;
    unsigned i;
    for (i = 0; i < 300000u; i++) {
        struct fake_port *f = &r->fake;
        if (next < n && f->tx_len - f->tx_checked >= strlen(ex[next].tx)) {
            assert_true(fake_port_expect_tx(f, ex[next].tx, strlen(ex[next].tx)));
            fake_port_push_str(f, ex[next].rx);
            fake_port_deliver(f, fw_sim7600_at(&r->modem));
            next++;
        }
        fake_port_advance(f, 10);
        if (fw_device_poll(&r->dev) == FW_DEVICE_ONLINE && next == n &&
            fw_queue_count(&r->queue) == 0 && !r->dev.publishing)
            break;
    }
    assert_int_equal(next, n);
    assert_int_equal(fw_device_poll(&r->dev), FW_DEVICE_ONLINE);
    assert_int_equal(r->fake.tx_len, r->fake.tx_checked);
}

static void play(struct rig *r, const struct exchange *a, size_t na, const struct exchange *b,
                 size_t nb)
{
    struct exchange all[32];
    assert_true(na + nb <= 32);
    memcpy(all, a, na * sizeof(*a));
    memcpy(all + na, b, nb * sizeof(*b));
    drive(r, all, na + nb);
}

static void test_online_loss_and_recovery(void **state)
{
    static const struct exchange first[] = {
        {"AT+CMQTTSTART\r", "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n"},
        {"AT+CMQTTACCQ=0,\"bus-1\"\r", "\r\nOK\r\n"},
        {"AT+CMQTTCONNECT=0,\"tcp://broker:1883\",60,1\r", "\r\nOK\r\n\r\n+CMQTTCONNECT: 0,0\r\n"},
        {"AT+CMQTTSUB=0,19,1\r", "\r\n>"},
        {"/bus/bus-1/commands", "\r\nOK\r\n\r\n+CMQTTSUB: 0,0\r\n"},
        {"AT+CMQTTTOPIC=0,11\r", "\r\n>"},
        {"/bus/events", "\r\nOK\r\n"},
        {"AT+CMQTTPAYLOAD=0,2\r", "\r\n>"},
        {"e1", "\r\nOK\r\n"},
        {"AT+CMQTTPUB=0,1,60\r", "\r\nOK\r\n\r\n+CMQTTPUB: 0,0\r\n"},
    };
    static const struct exchange again[] = {
        {"AT+CMQTTSTART\r", "\r\n+CMQTTSTART: 23\r\n\r\nERROR\r\n"},
        {"AT+CMQTTACCQ=0,\"bus-1\"\r", "\r\nERROR\r\n"},
        {"AT+CMQTTDISC=0,120\r", "\r\n+CMQTTDISC: 0,11\r\n\r\nERROR\r\n"},
        {"AT+CMQTTREL=0\r", "\r\nOK\r\n"},
        {"AT+CMQTTACCQ=0,\"bus-1\"\r", "\r\nOK\r\n"},
        {"AT+CMQTTCONNECT=0,\"tcp://broker:1883\",60,1\r", "\r\nOK\r\n\r\n+CMQTTCONNECT: 0,0\r\n"},
        {"AT+CMQTTSUB=0,19,1\r", "\r\n>"},
        {"/bus/bus-1/commands", "\r\nOK\r\n\r\n+CMQTTSUB: 0,0\r\n"},
        {"AT+CMQTTTOPIC=0,11\r", "\r\n>"},
        {"/bus/events", "\r\nOK\r\n"},
        {"AT+CMQTTPAYLOAD=0,2\r", "\r\n>"},
        {"e2", "\r\nOK\r\n"},
        {"AT+CMQTTPUB=0,1,60\r", "\r\nOK\r\n\r\n+CMQTTPUB: 0,0\r\n"},
    };
    static const size_t chunks[] = {1, 7, 0};
    size_t c;
    for (c = 0; c < 3; c++) {
        struct rig r;
        uint32_t lost_at;
        rig_init(&r, chunks[c], NULL);
        play(&r, setup_ex, 5, first, 10);
        assert_int_equal(fw_device_stats(&r.dev)->published, 1);
        /* the broker drops us; an event is queued while offline */
        fake_port_push_str(&r.fake, "\r\n+CMQTTCONNLOST: 0,1\r\n"); /* read by the device itself */
        {
            unsigned spins;
            for (spins = 0; spins < 1000u && r.dev.state == FW_DEVICE_ONLINE; spins++)
                fw_device_poll(&r.dev);
        }
        assert_int_equal(r.dev.state, FW_DEVICE_BACKOFF);
        assert_true(fw_device_idle(&r.dev)); /* the application may read GNSS meanwhile */
        lost_at = r.fake.now;
        assert_true(fw_device_last_backoff(&r.dev) >= 500 && fw_device_last_backoff(&r.dev) <= 1000);
        fw_queue_push(&r.queue, FW_QUEUE_HIGH, "/bus/events", 11, (const uint8_t *)"e2", 2);
        fake_port_advance(&r.fake, fw_device_last_backoff(&r.dev) - 1);
        assert_int_equal(fw_device_poll(&r.dev), FW_DEVICE_BACKOFF);
        assert_int_equal(r.fake.tx_len, r.fake.tx_checked); /* silent while backing off */
        play(&r, again, 13, NULL, 0);
        assert_true(r.fake.now - lost_at >= fw_device_last_backoff(&r.dev));
        assert_int_equal(fw_device_stats(&r.dev)->connects, 2);
        assert_int_equal(fw_device_stats(&r.dev)->losses, 1);
        assert_int_equal(fw_device_stats(&r.dev)->published, 2);
        assert_int_equal(r.fake.store_len[1], FW_QUEUE_HEADER); /* the stored queue is empty */
    }
}

/* the next-deadline query: a running command's timeout during setup,
 * nothing while online and idle, the end of the pause while backing off */
static void test_next_deadline(void **state)
{
    static const struct exchange first[] = {
        {"AT+CMQTTSTART\r", "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n"},
        {"AT+CMQTTACCQ=0,\"bus-1\"\r", "\r\nOK\r\n"},
        {"AT+CMQTTCONNECT=0,\"tcp://broker:1883\",60,1\r", "\r\nOK\r\n\r\n+CMQTTCONNECT: 0,0\r\n"},
        {"AT+CMQTTSUB=0,19,1\r", "\r\n>"},
        {"/bus/bus-1/commands", "\r\nOK\r\n\r\n+CMQTTSUB: 0,0\r\n"},
        {"AT+CMQTTTOPIC=0,11\r", "\r\n>"},
        {"/bus/events", "\r\nOK\r\n"},
        {"AT+CMQTTPAYLOAD=0,2\r", "\r\n>"},
        {"e1", "\r\nOK\r\n"},
        {"AT+CMQTTPUB=0,1,60\r", "\r\nOK\r\n\r\n+CMQTTPUB: 0,0\r\n"},
    };
    struct rig r;
    uint32_t deadline = 0;
    unsigned spins;
    (void)state;
    assert_false(fw_device_next_deadline_ms(NULL, &deadline));
    rig_init(&r, 0, NULL);
    fw_device_poll(&r.dev); /* sends AT (the fake clock is near its wrap) */
    assert_true(fake_port_expect_tx(&r.fake, "AT\r", 3));
    assert_true(fw_device_next_deadline_ms(&r.dev, &deadline));
    assert_true((int32_t)(deadline - r.fake.now) > 0);
    assert_true((int32_t)(deadline - r.fake.now) <= (int32_t)FW_AT_DEFAULT_TIMEOUT_MS);
    /* the deadline is when the command times out: one ms before, still running */
    fake_port_advance(&r.fake, deadline - r.fake.now - 1);
    fw_device_poll(&r.dev);
    assert_int_equal(fw_at_stats(fw_sim7600_at(&r.modem))->timeouts, 0);
    fake_port_advance(&r.fake, 1);
    fw_device_poll(&r.dev);
    assert_int_equal(fw_at_stats(fw_sim7600_at(&r.modem))->timeouts, 1);

    rig_init(&r, 0, NULL);
    play(&r, setup_ex, 5, first, 10);
    assert_false(fw_device_next_deadline_ms(&r.dev, &deadline)); /* only input moves it on */
    fake_port_push_str(&r.fake, "\r\n+CMQTTCONNLOST: 0,1\r\n");
    for (spins = 0; spins < 1000u && r.dev.state == FW_DEVICE_ONLINE; spins++)
        fw_device_poll(&r.dev);
    assert_int_equal(r.dev.state, FW_DEVICE_BACKOFF);
    assert_true(fw_device_next_deadline_ms(&r.dev, &deadline));
    assert_int_equal(deadline - r.fake.now, fw_device_last_backoff(&r.dev));
    /* the device acts exactly at the deadline */
    fake_port_advance(&r.fake, deadline - r.fake.now - 1);
    fw_device_poll(&r.dev);
    assert_int_equal(r.fake.tx_len, r.fake.tx_checked);
    fake_port_advance(&r.fake, 1);
    fw_device_poll(&r.dev);
    assert_true(r.fake.tx_len > r.fake.tx_checked);
}

/* failures in a row back off longer each time, up to the cap */
static void test_backoff_grows_and_reboot_needs_setup(void **state)
{
    static const struct exchange refused[] = {
        {"AT+CMQTTSTART\r", "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n"},
        {"AT+CMQTTACCQ=0,\"bus-1\"\r", "\r\nOK\r\n"},
        {"AT+CMQTTCONNECT=0,\"tcp://broker:1883\",60,1\r", "\r\nOK\r\n\r\n+CMQTTCONNECT: 0,26\r\n"},
    };
    struct rig r;
    uint32_t prev_max = 1000;
    unsigned round, i;
    rig_init(&r, 64, NULL);
    for (i = 0; i < 5; i++) {
        fake_port_run(&r.fake, fw_sim7600_at(&r.modem),
                      &(struct fake_step){setup_ex[i].tx, setup_ex[i].rx, 0}, 1);
        fw_device_poll(&r.dev);
    }
    for (round = 0; round < 5; round++) {
        for (i = 0; i < 3; i++) {
            unsigned spins;
            size_t want = strlen(refused[i].tx);
            for (spins = 0; spins < 20000u && r.fake.tx_len - r.fake.tx_checked < want; spins++) {
                fake_port_advance(&r.fake, 10);
                fw_device_poll(&r.dev);
            }
            fake_port_run(&r.fake, fw_sim7600_at(&r.modem),
                          &(struct fake_step){refused[i].tx, refused[i].rx, 0}, 1);
            fw_device_poll(&r.dev);
        }
        fw_device_poll(&r.dev);
        assert_int_equal(r.dev.state, FW_DEVICE_BACKOFF);
        /* pause in [cap/2, cap] with cap = 1000 * 2^round, at most 8000 */
        assert_true(fw_device_last_backoff(&r.dev) >= prev_max / 2 &&
                    fw_device_last_backoff(&r.dev) <= prev_max);
        prev_max = prev_max * 2 > 8000 ? 8000 : prev_max * 2;
    }
    /* the modem reboots while we wait: the next attempt starts with setup */
    fake_port_push_str(&r.fake, "\r\nRDY\r\n");
    fake_port_deliver(&r.fake, fw_sim7600_at(&r.modem));
    {
        unsigned spins;
        for (spins = 0; spins < 20000u && r.fake.tx_len == r.fake.tx_checked; spins++) {
            fake_port_advance(&r.fake, 10);
            fw_device_poll(&r.dev);
        }
    }
    assert_int_equal(r.dev.state, FW_DEVICE_SETUP);
    assert_true(fake_port_expect_tx(&r.fake, "AT\r", 3));
}

static int32_t fixed_signer(void *ctx, enum fw_sign_alg alg, const uint8_t *msg, size_t len,
                            uint8_t *sig, size_t cap, size_t *sig_len)
{
    memset(sig, 0x5a, 64);
    *sig_len = 64;
    return 0;
}

/* GCP: the JWT is the password; shortly before expiry the lifecycle
 * disconnects and connects with a fresh one */
static void test_gcp_jwt_renewal(void **state)
{
    struct fw_jwt_params jwt = {FW_SIGN_ES256, "cellbench", 0, 3600, FW_JWT_MODEM_PASSWORD_MAX};
    struct rig r;
    char token[400], connect1[600], connect2[600];
    size_t len;
    rig_init(&r, 7, &jwt);
    r.fake.signer = fixed_signer;
    assert_int_equal(fw_jwt_build(&r.fake.port, &jwt, token, sizeof(token), &len, NULL), FW_JWT_OK);
    snprintf(connect1, sizeof(connect1),
             "AT+CMQTTCONNECT=0,\"tcp://broker:1883\",60,1,\"unused\",\"%s\"\r", token);
    {
        const struct exchange ex[] = {
            {"AT+CMQTTSTART\r", "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n"},
            {"AT+CMQTTACCQ=0,\"bus-1\"\r", "\r\nOK\r\n"},
            {connect1, "\r\nOK\r\n\r\n+CMQTTCONNECT: 0,0\r\n"},
            {"AT+CMQTTSUB=0,19,1\r", "\r\n>"},
            {"/bus/bus-1/commands", "\r\nOK\r\n\r\n+CMQTTSUB: 0,0\r\n"},
            {"AT+CMQTTTOPIC=0,11\r", "\r\n>"},
            {"/bus/events", "\r\nOK\r\n"},
            {"AT+CMQTTPAYLOAD=0,2\r", "\r\n>"},
            {"e1", "\r\nOK\r\n"},
            {"AT+CMQTTPUB=0,1,60\r", "\r\nOK\r\n\r\n+CMQTTPUB: 0,0\r\n"},
        };
        play(&r, setup_ex, 5, ex, 10);
    }
    /* jump to 5 minutes before expiry: a new token, a new connection */
    r.fake.unix_time += 3600 - 300;
    assert_int_equal(fw_jwt_build(&r.fake.port, &jwt, token, sizeof(token), &len, NULL), FW_JWT_OK);
    snprintf(connect2, sizeof(connect2),
             "AT+CMQTTCONNECT=0,\"tcp://broker:1883\",60,1,\"unused\",\"%s\"\r", token);
    assert_string_not_equal(connect1, connect2);
    {
        const struct exchange ex[] = {
            {"AT+CMQTTDISC=0,120\r", "\r\nOK\r\n\r\n+CMQTTDISC: 0,0\r\n"},
            {"AT+CMQTTREL=0\r", "\r\nOK\r\n"},
            {"AT+CMQTTSTOP\r", "\r\nOK\r\n\r\n+CMQTTSTOP: 0\r\n"},
            {"AT+CMQTTSTART\r", "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n"},
            {"AT+CMQTTACCQ=0,\"bus-1\"\r", "\r\nOK\r\n"},
            {connect2, "\r\nOK\r\n\r\n+CMQTTCONNECT: 0,0\r\n"},
            {"AT+CMQTTSUB=0,19,1\r", "\r\n>"},
            {"/bus/bus-1/commands", "\r\nOK\r\n\r\n+CMQTTSUB: 0,0\r\n"},
        };
        drive(&r, ex, 8);
    }
    assert_int_equal(fw_device_stats(&r.dev)->jwt_renewals, 2);
    assert_int_equal(fw_device_stats(&r.dev)->losses, 0);
    {
        int s;
        for (s = FW_DEVICE_SETUP; s <= FW_DEVICE_BACKOFF; s++)
            assert_string_not_equal(fw_device_state_str((enum fw_device_state)s), "unknown state");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_online_loss_and_recovery),
        cmocka_unit_test(test_backoff_grows_and_reboot_needs_setup),
        cmocka_unit_test(test_gcp_jwt_renewal),
        cmocka_unit_test(test_next_deadline),
    };
    return cmocka_run_group_tests_name("fw_device", tests, NULL, NULL);
}
