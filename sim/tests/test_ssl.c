/* §3.1-3.2: certificate store, AT+CSSLCFG, and real TLS handshakes with the contexts they build. */
#include "simtest.h"
#include "ssl_store.h"

#include <openssl/err.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define STEPS(a) (a), (sizeof(a) / sizeof((a)[0]))

static void store_download_list_delete(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        { .send = "ATE0\r", .expect = "ATE0\r\r\nOK\r\n" },
        { .send = "AT+CCERTLIST\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CCERTDOWN=\"ca.pem\",5\r", .expect = "\r\n>" },
        { .send = "AB\r\nC", .expect = "\r\nOK\r\n" },
        { .send = "AT+CCERTDOWN=\"client.der\",3\r", .expect = "\r\n>" },
        { .send = "\x00\x1a\x1b", .send_len = 3, .expect = "\r\nOK\r\n" },
        { .send = "AT+CCERTLIST\r", .expect = "\r\n+CCERTLIST: \"ca.pem\"\r\n+CCERTLIST: \"client.der\"\r\n\r\nOK\r\n" },
        { .send = "AT+CCERTDELE=\"ca.pem\"\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CCERTDELE=\"ca.pem\"\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCERTLIST\r", .expect = "\r\n+CCERTLIST: \"client.der\"\r\n\r\nOK\r\n" },
        { .send = "AT+CCERTDOWN=?\r", .expect = "\r\n+CCERTDOWN: (5-108),(1-10240)\r\n\r\nOK\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

static void store_rejects_bad_names_and_sizes(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        { .send = "ATE0\r", .expect = "ATE0\r\r\nOK\r\n" },
        { .send = "AT+CCERTDOWN=\"ca.txt\",5\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCERTDOWN=\".pem\",5\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCERTDOWN=\"ca.pem\",0\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCERTDOWN=\"ca.pem\",10241\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CCERTDOWN=\"ca.pem\"\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT\r", .expect = "\r\nOK\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

static void csslcfg_set_and_read(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        { .send = "ATE0\r", .expect = "ATE0\r\r\nOK\r\n" },
        { .send = "AT+CSSLCFG=0\r", .expect = "\r\n+CSSLCFG: 0,4,0,1,300,\"\",\"\",\"\",0\r\n\r\nOK\r\n" },
        { .send = "AT+CSSLCFG=\"sslversion\",0,3\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CSSLCFG=\"authmode\",0,2\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CSSLCFG=\"ignorelocaltime\",0,0\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CSSLCFG=\"negotiatetime\",0,120\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CSSLCFG=\"cacert\",0,\"ca.pem\"\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CSSLCFG=\"clientcert\",0,\"cert.pem\"\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CSSLCFG=\"clientkey\",0,\"key.pem\"\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CSSLCFG=\"enableSNI\",0,1\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CSSLCFG=\"ciphersuites\",0,0xFFFF\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CSSLCFG=0\r",
          .expect = "\r\n+CSSLCFG: 0,3,2,0,120,\"ca.pem\",\"cert.pem\",\"key.pem\",1\r\n\r\nOK\r\n" },
        { .send = "AT+CSSLCFG=\"authmode\",0,4\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CSSLCFG=\"sslversion\",10,3\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CSSLCFG=\"negotiatetime\",1,9\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CSSLCFG=\"bogus\",1,1\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CSSLCFG=authmode,1,1\r", .expect = "\r\nERROR\r\n" },
        { .send = "AT+CSSLCFG=10\r", .expect = "\r\nERROR\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

static void csslcfg_read_all_and_reset(void **state)
{
    (void)state;
    char all[2048] = "\r\n";
    for (int i = 0; i < 10; i++) {
        char line[96];
        snprintf(line, sizeof(line), "+CSSLCFG: %d,%d,0,1,300,\"\",\"\",\"\",0\r\n", i, i == 3 ? 1 : 4);
        strcat(all, line);
    }
    strcat(all, "\r\nOK\r\n");
    const struct simtest_step steps[] = {
        { .send = "ATE0\r", .expect = "ATE0\r\r\nOK\r\n" },
        { .send = "AT+CSSLCFG=\"sslversion\",3,1\r", .expect = "\r\nOK\r\n" },
        { .send = "AT+CSSLCFG?\r", .expect = all },
        { .send = "AT+CCERTDOWN=\"keep.pem\",1\r", .expect = "\r\n>" },
        { .send = "x", .expect = "\r\nOK\r\n" },
        /* AT+CRESET: contexts go back to defaults, the store (flash) stays */
        { .send = "AT+CRESET\r", .expect = "\r\nOK\r\n\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n" },
        { .send = "AT+CSSLCFG=3\r", .expect = "AT+CSSLCFG=3\r\r\n+CSSLCFG: 3,4,0,1,300,\"\",\"\",\"\",0\r\n\r\nOK\r\n" },
        { .send = "AT+CCERTLIST\r", .expect = "AT+CCERTLIST\r\r\n+CCERTLIST: \"keep.pem\"\r\n\r\nOK\r\n" },
    };
    simtest_replay_all(NULL, STEPS(steps));
}

/* ------------------------------------------------------------- real handshakes */

static void configure(struct simtest_driver *d, const char *line)
{
    simtest_send(d, line);
    assert_true(simtest_expect(d, "\r\nOK\r\n", 1000));
}

/* A TLS server context from certs/out, optionally demanding a client certificate. */
static SSL_CTX *server_ctx(const char *cert, const char *key, bool want_client)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, simtest_cert(cert)), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, simtest_cert(key), SSL_FILETYPE_PEM), 1);
    if (want_client) {
        assert_int_equal(SSL_CTX_load_verify_locations(ctx, simtest_cert("ca.pem"), NULL), 1);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return ctx;
}

/* Run a handshake over a BIO pair; returns true when both sides completed it. */
static bool handshake(SSL_CTX *client_ctx, SSL_CTX *srv_ctx, long *verify_result)
{
    SSL *client = SSL_new(client_ctx);
    SSL *server = SSL_new(srv_ctx);
    BIO *client_bio = NULL;
    BIO *server_bio = NULL;
    assert_int_equal(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0), 1);
    SSL_set_bio(client, client_bio, client_bio);
    SSL_set_bio(server, server_bio, server_bio);
    SSL_set_connect_state(client);
    SSL_set_accept_state(server);
    bool client_done = false;
    bool server_done = false;
    bool failed = false;
    for (int round = 0; round < 50 && !failed && !(client_done && server_done); round++) {
        if (!client_done) {
            int rc = SSL_do_handshake(client);
            int err = SSL_get_error(client, rc);
            client_done = rc == 1;
            failed = rc != 1 && err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE;
        }
        if (!server_done && !failed) {
            int rc = SSL_do_handshake(server);
            int err = SSL_get_error(server, rc);
            server_done = rc == 1;
            failed = rc != 1 && err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE;
        }
    }
    /* TLS 1.3 would report a refused client certificate only on the first read; the modem speaks <= 1.2 */
    *verify_result = SSL_get_verify_result(client);
    SSL_free(client);
    SSL_free(server);
    ERR_clear_error();
    return client_done && server_done && !failed;
}

static void mutual_tls_with_device_certificate(void **state)
{
    (void)state;
    struct simtest_driver d;
    simtest_driver_init(&d, NULL);
    simtest_download_cert(&d, "ca.pem", "ca.pem");
    simtest_download_cert(&d, "cert.pem", "devices/bus-1/cert.pem");
    simtest_download_cert(&d, "key.pem", "devices/bus-1/key.pem");
    configure(&d, "AT+CSSLCFG=\"authmode\",0,2\r");
    configure(&d, "AT+CSSLCFG=\"cacert\",0,\"ca.pem\"\r");
    configure(&d, "AT+CSSLCFG=\"clientcert\",0,\"cert.pem\"\r");
    configure(&d, "AT+CSSLCFG=\"clientkey\",0,\"key.pem\"\r");
    enum sim_ssl_error err;
    char why[160];
    SSL_CTX *client = sim_ssl_new_ctx(d.modem, 0, &err, why, sizeof(why));
    assert_non_null(client);
    SSL_CTX *srv = server_ctx("server.pem", "server.key", true);
    long verify = -1;
    assert_true(handshake(client, srv, &verify));
    assert_int_equal(verify, X509_V_OK);
    SSL_CTX_free(client);

    /* authmode 1: the server demands a certificate the modem does not send */
    configure(&d, "AT+CSSLCFG=\"authmode\",0,1\r");
    client = sim_ssl_new_ctx(d.modem, 0, &err, why, sizeof(why));
    assert_non_null(client);
    assert_false(handshake(client, srv, &verify));
    SSL_CTX_free(client);
    SSL_CTX_free(srv);
    simtest_driver_fini(&d);
}

static void server_verification_honours_authmode_and_time(void **state)
{
    (void)state;
    struct simtest_driver d;
    simtest_driver_init(&d, NULL);
    simtest_download_cert(&d, "ca.pem", "ca.pem");
    configure(&d, "AT+CSSLCFG=\"cacert\",1,\"ca.pem\"\r");
    configure(&d, "AT+CSSLCFG=\"authmode\",1,1\r");
    enum sim_ssl_error err;
    char why[160];
    long verify = -1;

    SSL_CTX *good = server_ctx("server.pem", "server.key", false);
    SSL_CTX *expired = server_ctx("bad/expired-server/server.pem", "bad/expired-server/server.key", false);
    SSL_CTX *untrusted = server_ctx("bad/untrusted-ca/cert.pem", "bad/untrusted-ca/key.pem", false);

    SSL_CTX *client = sim_ssl_new_ctx(d.modem, 1, &err, why, sizeof(why));
    assert_non_null(client);
    assert_true(handshake(client, good, &verify));
    /* ignorelocaltime=1 (the default): validity dates are not checked */
    assert_true(handshake(client, expired, &verify));
    assert_false(handshake(client, untrusted, &verify));
    assert_int_not_equal(verify, X509_V_OK);
    SSL_CTX_free(client);

    configure(&d, "AT+CSSLCFG=\"ignorelocaltime\",1,0\r");
    client = sim_ssl_new_ctx(d.modem, 1, &err, why, sizeof(why));
    assert_non_null(client);
    assert_false(handshake(client, expired, &verify));
    assert_int_equal(verify, X509_V_ERR_CERT_HAS_EXPIRED);
    assert_true(handshake(client, good, &verify));
    SSL_CTX_free(client);

    /* authmode 0: no verification at all */
    configure(&d, "AT+CSSLCFG=\"authmode\",1,0\r");
    client = sim_ssl_new_ctx(d.modem, 1, &err, why, sizeof(why));
    assert_non_null(client);
    assert_true(handshake(client, untrusted, &verify));
    SSL_CTX_free(client);

    SSL_CTX_free(good);
    SSL_CTX_free(expired);
    SSL_CTX_free(untrusted);
    simtest_driver_fini(&d);
}

static void the_local_clock_decides_validity(void **state)
{
    (void)state;
    /* A modem whose clock (AT+CCLK) says 2040-01-01: the server certificate (5 years) has expired by then. */
    struct sim_config cfg;
    simtest_config(&cfg);
    struct simtest_driver d;
    simtest_driver_init(&d, &cfg);
    simtest_download_cert(&d, "ca.pem", "ca.pem");
    configure(&d, "AT+CSSLCFG=\"cacert\",0,\"ca.pem\"\r");
    configure(&d, "AT+CSSLCFG=\"authmode\",0,1\r");
    configure(&d, "AT+CSSLCFG=\"ignorelocaltime\",0,0\r");
    d.modem->cclk_offset_ms = 2208988800000LL - sim_now_ms(d.modem);
    enum sim_ssl_error err;
    char why[160];
    long verify = -1;
    SSL_CTX *client = sim_ssl_new_ctx(d.modem, 0, &err, why, sizeof(why));
    SSL_CTX *good = server_ctx("server.pem", "server.key", false);
    assert_false(handshake(client, good, &verify));
    assert_int_equal(verify, X509_V_ERR_CERT_HAS_EXPIRED);
    SSL_CTX_free(client);
    d.modem->cclk_offset_ms = 0;
    client = sim_ssl_new_ctx(d.modem, 0, &err, why, sizeof(why));
    assert_true(handshake(client, good, &verify));
    SSL_CTX_free(client);
    SSL_CTX_free(good);
    simtest_driver_fini(&d);
}

static void missing_or_mismatched_files_are_reported(void **state)
{
    (void)state;
    struct simtest_driver d;
    simtest_driver_init(&d, NULL);
    enum sim_ssl_error err;
    char why[160];
    configure(&d, "AT+CSSLCFG=\"authmode\",2,1\r");
    configure(&d, "AT+CSSLCFG=\"cacert\",2,\"none.pem\"\r");
    assert_null(sim_ssl_new_ctx(d.modem, 2, &err, why, sizeof(why)));
    assert_int_equal(err, SIM_SSL_NO_CERT);

    simtest_download_cert(&d, "junk.pem", "manifest.txt");
    configure(&d, "AT+CSSLCFG=\"cacert\",2,\"junk.pem\"\r");
    assert_null(sim_ssl_new_ctx(d.modem, 2, &err, why, sizeof(why)));
    assert_int_equal(err, SIM_SSL_BAD_CERT);

    simtest_download_cert(&d, "cert.pem", "devices/bus-1/cert.pem");
    simtest_download_cert(&d, "key2.pem", "devices/bus-2/key.pem");
    configure(&d, "AT+CSSLCFG=\"authmode\",2,3\r");
    configure(&d, "AT+CSSLCFG=\"clientcert\",2,\"cert.pem\"\r");
    configure(&d, "AT+CSSLCFG=\"clientkey\",2,\"key2.pem\"\r");
    assert_null(sim_ssl_new_ctx(d.modem, 2, &err, why, sizeof(why)));
    assert_int_equal(err, SIM_SSL_BAD_CERT);
    assert_null(sim_ssl_new_ctx(d.modem, 10, &err, why, sizeof(why)));
    simtest_driver_fini(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(store_download_list_delete),
        cmocka_unit_test(store_rejects_bad_names_and_sizes),
        cmocka_unit_test(csslcfg_set_and_read),
        cmocka_unit_test(csslcfg_read_all_and_reset),
        cmocka_unit_test(mutual_tls_with_device_certificate),
        cmocka_unit_test(server_verification_honours_authmode_and_time),
        cmocka_unit_test(the_local_clock_decides_validity),
        cmocka_unit_test(missing_or_mismatched_files_are_reported),
    };
    return cmocka_run_group_tests_name("sim_ssl", tests, NULL, NULL);
}
