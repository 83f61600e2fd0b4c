/*
 * test_fw_port_linux_tls.c - the Linux port's TLS with its CA slot taken
 * from PEM bytes in memory (what a rotated CA from fw_rotation needs):
 * against an in-process OpenSSL server serving certs/out/rotated/server.pem,
 * the handshake succeeds with rotated/ca.pem in memory and fails on the
 * certificate with the first CA; bytes that hold no certificate are refused
 * at open; the file slot still works. fw_linux_tls_set_ca (the port hook
 * tls_set_ca) copies the bytes, so the caller's buffer may change after;
 * another slot, too many bytes or bytes without a certificate are refused
 * and leave the slot as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "fw_port_linux_tls.h"
#include "tls_mqtt_server.h"

#define ROTATED "certs/out/rotated/"

struct server {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *in, *out;
};

static void server_start(struct server *s)
{
    s->ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(s->ctx);
    assert_int_equal(SSL_CTX_use_certificate_file(s->ctx, ROTATED "server.pem", SSL_FILETYPE_PEM), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(s->ctx, ROTATED "server.key", SSL_FILETYPE_PEM), 1);
    s->ssl = tls_mem_server_new(s->ctx, &s->in, &s->out);
}

static void server_stop(struct server *s)
{
    SSL_free(s->ssl);
    SSL_CTX_free(s->ctx);
}

/* Move ciphertext both ways until the client's handshake ends: 1 done,
 * -1 failed, 0 still running after many rounds. */
static int handshake(struct fw_linux_tls *t, struct server *s)
{
    uint8_t buf[16384];
    int i, n;
    for (i = 0; i < 50; i++) {
        if (fw_linux_tls_read(t, buf, sizeof(buf)) < 0)
            return -1;
        if (SSL_is_init_finished(t->ssl))
            return 1;
        while ((n = fw_linux_tls_take(t, buf, sizeof(buf))) > 0)
            BIO_write(s->in, buf, n);
        SSL_do_handshake(s->ssl);
        while ((n = BIO_read(s->out, buf, sizeof(buf))) > 0)
            assert_int_equal(fw_linux_tls_feed(t, buf, (size_t)n), n);
    }
    return 0;
}

/* Open with the CA from memory (pem, len) or, with pem NULL, from file. */
static int try_ca(const uint8_t *pem, size_t len, const char *file, char *error, size_t cap)
{
    struct fw_linux_tls t;
    struct server s;
    int rc;
    memset(&t, 0, sizeof(t));
    t.files[FW_LINUX_TLS_CA] = file;
    t.ca_pem = pem;
    t.ca_pem_len = len;
    if (fw_linux_tls_open(&t, "localhost", FW_LINUX_TLS_CA, FW_LINUX_TLS_NONE, FW_LINUX_TLS_NONE) != 0) {
        snprintf(error, cap, "%s", t.error);
        return -2;
    }
    server_start(&s);
    rc = handshake(&t, &s);
    snprintf(error, cap, "%s", t.error);
    server_stop(&s);
    fw_linux_tls_close(&t);
    return rc;
}

static void test_ca_from_memory(void **state)
{
    static uint8_t rotated[8192], first[8192];
    char error[256];
    size_t n_rot = test_read_file(ROTATED "ca.pem", rotated, sizeof(rotated));
    size_t n_first = test_read_file("certs/out/ca.pem", first, sizeof(first));
    (void)state;
    assert_int_equal(try_ca(rotated, n_rot, NULL, error, sizeof(error)), 1);
    /* the first CA, even with the rotated one as the slot's file: memory wins */
    assert_int_equal(try_ca(first, n_first, ROTATED "ca.pem", error, sizeof(error)), -1);
    assert_non_null(strstr(error, "certificate"));
    /* both CAs in one PEM (a bundle): either verifies */
    memcpy(first + n_first, rotated, n_rot);
    assert_int_equal(try_ca(first, n_first + n_rot, NULL, error, sizeof(error)), 1);
}

static void test_bad_pem_refused_file_still_works(void **state)
{
    static const uint8_t junk[] = "-----BEGIN CERTIFICATE-----\nQUFB\n-----END CERTIFICATE-----\n";
    char error[256];
    (void)state;
    assert_int_equal(try_ca(junk, sizeof(junk) - 1, NULL, error, sizeof(error)), -2);
    assert_non_null(strstr(error, "credentials"));
    assert_int_equal(try_ca(NULL, 0, ROTATED "ca.pem", error, sizeof(error)), 1);
}

/* A handshake of t (its CA slot as set) against the rotated server. */
static int handshake_with(struct fw_linux_tls *t)
{
    struct server s;
    int rc;
    assert_int_equal(fw_linux_tls_open(t, "localhost", FW_LINUX_TLS_CA, FW_LINUX_TLS_NONE,
                                       FW_LINUX_TLS_NONE),
                     0);
    server_start(&s);
    rc = handshake(t, &s);
    server_stop(&s);
    fw_linux_tls_close(t);
    return rc;
}

static void test_set_ca_copies_and_refuses_bad_input(void **state)
{
    static const uint8_t junk[] = "-----BEGIN CERTIFICATE-----\nQUFB\n-----END CERTIFICATE-----\n";
    static uint8_t pem[8192], big[FW_LINUX_TLS_CA_MAX + 1];
    static struct fw_linux_tls t;
    size_t n = test_read_file(ROTATED "ca.pem", pem, sizeof(pem));
    (void)state;
    memset(&t, 0, sizeof(t));
    t.files[FW_LINUX_TLS_CA] = "certs/out/ca.pem"; /* the first CA: replaced below */
    assert_int_equal(handshake_with(&t), -1);
    assert_int_equal(fw_linux_tls_set_ca(&t, FW_LINUX_TLS_CA, pem, n), 0);
    memset(pem, 0, sizeof(pem)); /* the slot holds its own copy */
    assert_int_equal(handshake_with(&t), 1);
    /* refused, and the slot keeps the rotated CA */
    assert_int_equal(fw_linux_tls_set_ca(&t, FW_LINUX_TLS_CA, junk, sizeof(junk) - 1), -1);
    assert_non_null(strstr(t.error, "no certificate"));
    assert_int_equal(fw_linux_tls_set_ca(&t, FW_LINUX_TLS_CERT, junk, sizeof(junk) - 1), -1);
    assert_int_equal(fw_linux_tls_set_ca(&t, FW_LINUX_TLS_CA, big, sizeof(big)), -1);
    assert_int_equal(fw_linux_tls_set_ca(&t, FW_LINUX_TLS_CA, NULL, 10), -1);
    assert_int_equal(handshake_with(&t), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ca_from_memory),
        cmocka_unit_test(test_bad_pem_refused_file_still_works),
        cmocka_unit_test(test_set_ca_copies_and_refuses_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
