/*
 * test_fw_sim7600_setup.c - SIM7600 bring-up against a scripted modem: the
 * aws-modem-tls setup (silent boot, echo, registration after searching,
 * APN, only the missing certificates downloaded, the SSL context), a
 * server-only setup, and the failures (no SIM, registration denied until
 * the deadline, a refused download), a silent modem brought back by its
 * reset line; replayed at read sizes 1, 2, 7, 64
 * and whole on a clock that wraps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_port.h"
#include "fw_sim7600_setup.h"

static const char cert_pem[] = "-----BEGIN CERTIFICATE-----\nMIIBdevice\n-----END CERTIFICATE-----\n";
static const char key_pem[] = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n";
static const char ca_pem[] = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n";

static const struct fw_sim7600_cert certs[] = {
    {"ca.pem", (const uint8_t *)ca_pem, sizeof(ca_pem) - 1},
    {"bus-1-cert.pem", (const uint8_t *)cert_pem, sizeof(cert_pem) - 1},
    {"bus-1-key.pem", (const uint8_t *)key_pem, sizeof(key_pem) - 1},
};

struct exchange {
    const char *tx;
    const char *rx; /* NULL: the modem stays silent */
};

struct rig {
    struct fake_port fake;
    struct fw_sim7600 modem;
    struct fw_sim7600_setup setup;
    char line_buf[128];
    char tx_buf[256];
    char topic_buf[16];
    uint8_t payload_buf[16];
};

static void rig_init(struct rig *r, size_t chunk)
{
    memset(r, 0, sizeof(*r));
    fake_port_init(&r->fake, chunk, 8);
    FAKE_SIM7600_INIT(r, NULL, NULL);
}

static struct fw_sim7600_setup_params aws_params(void)
{
    struct fw_sim7600_setup_params p;
    memset(&p, 0, sizeof(p));
    p.apn = "internet";
    p.certs = certs;
    p.n_certs = 3;
    p.ssl_ctx = 0;
    p.cacert = "ca.pem";
    p.clientcert = "bus-1-cert.pem";
    p.clientkey = "bus-1-key.pem";
    p.sni = true;
    p.register_timeout_ms = 5000;
    return p;
}

/* Answer each expected command (or stay silent); 10 ms pass per poll. */
static enum fw_sim7600_setup_status drive(struct rig *r, enum fw_sim7600_setup_status st,
                                          const struct exchange *ex, size_t n)
{
    size_t next = 0;
    unsigned i;
    for (i = 0; i < 200000u && st == FW_SIM7600_SETUP_BUSY; i++) {
        struct fake_port *f = &r->fake;
        if (next < n && f->tx_len - f->tx_checked >= strlen(ex[next].tx)) {
            assert_true(fake_port_expect_tx(f, ex[next].tx, strlen(ex[next].tx)));
            if (ex[next].rx != NULL) {
                fake_port_push_str(f, ex[next].rx);
                fake_port_deliver(f, fw_sim7600_at(&r->modem));
            }
            next++;
        }
        fake_port_advance(f, 10);
        st = fw_sim7600_setup_poll(&r->setup);
    }
    assert_int_equal(next, n);
    assert_int_equal(r->fake.tx_len, r->fake.tx_checked);
    return st;
}

static void test_aws_modem_tls_setup(void **state)
{
    char down_cert[64], down_key[64];
    size_t c;
    snprintf(down_cert, sizeof(down_cert), "AT+CCERTDOWN=\"bus-1-cert.pem\",%zu\r", sizeof(cert_pem) - 1);
    snprintf(down_key, sizeof(down_key), "AT+CCERTDOWN=\"bus-1-key.pem\",%zu\r", sizeof(key_pem) - 1);
    for (c = 0; c < 5; c++) {
        const struct exchange ex[] = {
            {"AT\r", NULL},
            {"AT\r", "AT\r\r\nOK\r\n"},
            {"ATE0\r", "ATE0\r\r\nOK\r\n"},
            {"AT+CMEE=2\r", "\r\nOK\r\n"},
            {"AT+CPIN?\r", "\r\n+CPIN: READY\r\n\r\nOK\r\n"},
            {"AT+CGREG?\r", "\r\n+CGREG: 0,2\r\n\r\nOK\r\n"},
            {"AT+CGREG?\r", "\r\n+CGREG: 1\r\n\r\n+CGREG: 0,1\r\n\r\nOK\r\n"},
            {"AT+CGDCONT=1,\"IP\",\"internet\"\r", "\r\nOK\r\n"},
            {"AT+CCERTLIST\r", "\r\n+CCERTLIST: \"ca.pem\"\r\n+CCERTLIST: \"old.pem\"\r\n\r\nOK\r\n"},
            {down_cert, "\r\n>"},
            {cert_pem, "\r\nOK\r\n"},
            {down_key, "\r\n>"},
            {key_pem, "\r\nOK\r\n"},
            {"AT+CSSLCFG=\"sslversion\",0,4\r", "\r\nOK\r\n"},
            {"AT+CSSLCFG=\"authmode\",0,2\r", "\r\nOK\r\n"},
            {"AT+CSSLCFG=\"cacert\",0,\"ca.pem\"\r", "\r\nOK\r\n"},
            {"AT+CSSLCFG=\"clientcert\",0,\"bus-1-cert.pem\"\r", "\r\nOK\r\n"},
            {"AT+CSSLCFG=\"clientkey\",0,\"bus-1-key.pem\"\r", "\r\nOK\r\n"},
            {"AT+CSSLCFG=\"enableSNI\",0,1\r", "\r\nOK\r\n"},
        };
        struct rig r;
        struct fw_sim7600_setup_params p = aws_params();
        rig_init(&r, fake_chunk_sizes[c]);
        assert_int_equal(drive(&r, fw_sim7600_setup_start(&r.setup, &r.modem, &p), ex,
                               sizeof(ex) / sizeof(ex[0])),
                         FW_SIM7600_SETUP_OK);
        assert_int_equal(fw_sim7600_setup_downloaded(&r.setup), 0x6);
        assert_int_equal(fw_sim7600_reg_stat(&r.modem), 1); /* the URC in between was seen */
    }
}

/* server authentication only, nothing to provision, no APN */
static void test_server_only_setup(void **state)
{
    static const struct exchange ex[] = {
        {"AT\r", "\r\nOK\r\n"},
        {"ATE0\r", "\r\nOK\r\n"},
        {"AT+CMEE=2\r", "\r\nOK\r\n"},
        {"AT+CPIN?\r", "\r\n+CPIN: READY\r\n\r\nOK\r\n"},
        {"AT+CGREG?\r", "\r\n+CGREG: 2,5,\"1A2B\",\"01C3D4E5\"\r\n\r\nOK\r\n"},
        {"AT+CSSLCFG=\"sslversion\",3,4\r", "\r\nOK\r\n"},
        {"AT+CSSLCFG=\"authmode\",3,1\r", "\r\nOK\r\n"},
        {"AT+CSSLCFG=\"cacert\",3,\"ca.pem\"\r", "\r\nOK\r\n"},
        {"AT+CSSLCFG=\"enableSNI\",3,0\r", "\r\nOK\r\n"},
    };
    struct rig r;
    struct fw_sim7600_setup_params p;
    memset(&p, 0, sizeof(p));
    p.ssl_ctx = 3;
    p.cacert = "ca.pem";
    rig_init(&r, 7);
    assert_int_equal(drive(&r, fw_sim7600_setup_start(&r.setup, &r.modem, &p), ex, 9),
                     FW_SIM7600_SETUP_OK);
    assert_int_equal(fw_sim7600_setup_downloaded(&r.setup), 0);
}

static void test_no_sim(void **state)
{
    struct exchange ex[13];
    struct fw_at_result result;
    struct rig r;
    struct fw_sim7600_setup_params p = aws_params();
    size_t i;
    ex[0] = (struct exchange){"AT\r", "\r\nOK\r\n"};
    ex[1] = (struct exchange){"ATE0\r", "\r\nOK\r\n"};
    ex[2] = (struct exchange){"AT+CMEE=2\r", "\r\nOK\r\n"};
    for (i = 3; i < 13; i++)
        ex[i] = (struct exchange){"AT+CPIN?\r", "\r\n+CME ERROR: SIM not inserted\r\n"};
    rig_init(&r, 64);
    assert_int_equal(drive(&r, fw_sim7600_setup_start(&r.setup, &r.modem, &p), ex, 13),
                     FW_SIM7600_SETUP_FAILED);
    assert_int_equal(fw_sim7600_setup_failed_step(&r.setup, &result), FW_SIM7600_STEP_SIM);
    assert_int_equal(result.status, FW_AT_CME_ERROR);
}

static unsigned reset_pulses;

/* A reset line that does nothing visible: the modem stays dead. */
static int32_t pulse_reset_silently(void *ctx)
{
    (void)ctx;
    reset_pulses++;
    return 0;
}

/* The reset line: the modem reboots and greets with its boot URCs. */
static int32_t pulse_reset(void *ctx)
{
    struct fake_port *f = ctx;
    reset_pulses++;
    fake_port_push_str(f, "\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n");
    return 0;
}

/* a hung modem answers none of the 20 sync tries: the reset line is
 * pulsed once, the rebooted modem (echo on again) answers and the setup
 * goes on; without a reset line, or when the modem stays silent after the
 * reset, the setup fails at the sync step */
static void test_silent_modem_reset(void **state)
{
    static const size_t chunks[] = {1, 2, 7, 64, 4096};
    struct exchange ex[40];
    struct fw_sim7600_setup_params p = aws_params();
    size_t i, c, n;
    p.n_certs = 0;
    p.ssl_ctx = -1;
    p.apn = NULL;
    for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        static struct rig r;
        n = 0;
        for (i = 0; i < 20; i++)
            ex[n++] = (struct exchange){"AT\r", NULL};
        ex[n++] = (struct exchange){"AT\r", "AT\r\r\nOK\r\n"};
        ex[n++] = (struct exchange){"ATE0\r", "ATE0\r\r\nOK\r\n"};
        ex[n++] = (struct exchange){"AT+CMEE=2\r", "\r\nOK\r\n"};
        ex[n++] = (struct exchange){"AT+CPIN?\r", "\r\n+CPIN: READY\r\n\r\nOK\r\n"};
        ex[n++] = (struct exchange){"AT+CGREG?\r", "\r\n+CGREG: 0,1\r\n\r\nOK\r\n"};
        rig_init(&r, chunks[c]);
        r.fake.port.modem_reset = pulse_reset;
        reset_pulses = 0;
        assert_int_equal(drive(&r, fw_sim7600_setup_start(&r.setup, &r.modem, &p), ex, n),
                         FW_SIM7600_SETUP_OK);
        assert_int_equal(reset_pulses, 1);
        assert_true(fw_sim7600_setup_reset_pulsed(&r.setup));
    }
    for (c = 0; c < 2; c++) { /* no line; a line but the modem stays dead */
        static struct rig r;
        n = 0;
        for (i = 0; i < (c == 0 ? 20u : 40u); i++)
            ex[n++] = (struct exchange){"AT\r", NULL};
        rig_init(&r, 7);
        if (c == 1)
            r.fake.port.modem_reset = pulse_reset_silently;
        reset_pulses = 0;
        assert_int_equal(drive(&r, fw_sim7600_setup_start(&r.setup, &r.modem, &p), ex, n),
                         FW_SIM7600_SETUP_FAILED);
        assert_int_equal(fw_sim7600_setup_failed_step(&r.setup, NULL), FW_SIM7600_STEP_SYNC);
        assert_int_equal(reset_pulses, c);
        assert_int_equal(fw_sim7600_setup_reset_pulsed(&r.setup), c == 1);
    }
}

/* registration denied: polled once a second until the 5 s deadline */
static void test_registration_deadline(void **state)
{
    struct exchange ex[12];
    struct rig r;
    struct fw_sim7600_setup_params p = aws_params();
    size_t i, n = 0;
    uint32_t started;
    ex[n++] = (struct exchange){"AT\r", "\r\nOK\r\n"};
    ex[n++] = (struct exchange){"ATE0\r", "\r\nOK\r\n"};
    ex[n++] = (struct exchange){"AT+CMEE=2\r", "\r\nOK\r\n"};
    ex[n++] = (struct exchange){"AT+CPIN?\r", "\r\n+CPIN: READY\r\n\r\nOK\r\n"};
    for (i = 0; i < 5; i++)
        ex[n++] = (struct exchange){"AT+CGREG?\r", "\r\n+CGREG: 0,3\r\n\r\nOK\r\n"};
    rig_init(&r, 2);
    started = r.fake.now;
    assert_int_equal(drive(&r, fw_sim7600_setup_start(&r.setup, &r.modem, &p), ex, n),
                     FW_SIM7600_SETUP_FAILED);
    assert_int_equal(fw_sim7600_setup_failed_step(&r.setup, NULL), FW_SIM7600_STEP_REGISTER);
    assert_true(r.fake.now - started >= 4000u && r.fake.now - started < 6000u);
}

static void test_refused_download(void **state)
{
    char down_cert[64];
    struct rig r;
    struct fw_sim7600_setup_params p = aws_params();
    struct fw_at_result result;
    snprintf(down_cert, sizeof(down_cert), "AT+CCERTDOWN=\"bus-1-cert.pem\",%zu\r", sizeof(cert_pem) - 1);
    {
        const struct exchange ex[] = {
            {"AT\r", "\r\nOK\r\n"},
            {"ATE0\r", "\r\nOK\r\n"},
            {"AT+CMEE=2\r", "\r\nOK\r\n"},
            {"AT+CPIN?\r", "\r\n+CPIN: READY\r\n\r\nOK\r\n"},
            {"AT+CGREG?\r", "\r\n+CGREG: 0,1\r\n\r\nOK\r\n"},
            {"AT+CGDCONT=1,\"IP\",\"internet\"\r", "\r\nOK\r\n"},
            {"AT+CCERTLIST\r", "\r\n+CCERTLIST: \"ca.pem\"\r\n\r\n+CCERTLIST: \"bus-1-key.pem\"\r\n\r\nOK\r\n"},
            {down_cert, "\r\nERROR\r\n"},
        };
        rig_init(&r, 1);
        assert_int_equal(drive(&r, fw_sim7600_setup_start(&r.setup, &r.modem, &p), ex, 8),
                         FW_SIM7600_SETUP_FAILED);
    }
    assert_int_equal(fw_sim7600_setup_failed_step(&r.setup, &result), FW_SIM7600_STEP_CERT_DOWN);
    assert_int_equal(result.status, FW_AT_ERROR);
}

static void test_bad_params(void **state)
{
    struct rig r;
    struct fw_sim7600_setup_params p;
    struct fw_sim7600_cert bad_cert = {"a.pem", (const uint8_t *)"x", 1};
    int i;
    rig_init(&r, 64);
    p = aws_params();
    p.clientkey = NULL; /* a certificate without its key */
    assert_int_equal(fw_sim7600_setup_start(&r.setup, &r.modem, &p), FW_SIM7600_SETUP_BAD_ARG);
    p = aws_params();
    p.cacert = NULL;
    assert_int_equal(fw_sim7600_setup_start(&r.setup, &r.modem, &p), FW_SIM7600_SETUP_BAD_ARG);
    p = aws_params();
    p.apn = "in\"ternet";
    assert_int_equal(fw_sim7600_setup_start(&r.setup, &r.modem, &p), FW_SIM7600_SETUP_BAD_ARG);
    p = aws_params();
    p.certs = &bad_cert; /* name shorter than 5 bytes */
    p.n_certs = 1;
    bad_cert.name = "a.pe";
    assert_int_equal(fw_sim7600_setup_start(&r.setup, &r.modem, &p), FW_SIM7600_SETUP_BAD_ARG);
    p.n_certs = FW_SIM7600_SETUP_MAX_CERTS + 1;
    assert_int_equal(fw_sim7600_setup_start(&r.setup, &r.modem, &p), FW_SIM7600_SETUP_BAD_ARG);
    assert_int_equal(r.fake.tx_len, 0);
    for (i = FW_SIM7600_STEP_SYNC; i <= FW_SIM7600_STEP_DONE; i++)
        assert_string_not_equal(fw_sim7600_setup_step_str((enum fw_sim7600_setup_step)i), "unknown step");
    for (i = FW_SIM7600_SETUP_OK; i <= FW_SIM7600_SETUP_BAD_ARG; i++)
        assert_string_not_equal(fw_sim7600_setup_status_str((enum fw_sim7600_setup_status)i),
                                "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_modem_tls_setup),
        cmocka_unit_test(test_server_only_setup),
        cmocka_unit_test(test_no_sim),
        cmocka_unit_test(test_silent_modem_reset),
        cmocka_unit_test(test_registration_deadline),
        cmocka_unit_test(test_refused_download),
        cmocka_unit_test(test_bad_params),
    };
    return cmocka_run_group_tests_name("fw_sim7600_setup", tests, NULL, NULL);
}
