/* test_ec_key.c - P-256 private keys in PKCS#8 and SEC 1 (PEM and DER) made by OpenSSL,
 * parsed by ec_key.c: the scalar matches OpenSSL's, and everything else (other curves,
 * RSA, encrypted keys, truncations, corrupted bytes, out-of-range scalars, wrong public
 * keys, broken base64) is refused without touching the output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ec_key.h"
#include "p256.h"

#define KEYS 50

/* A text or DER blob taken out of a memory BIO. */
struct blob {
    unsigned char data[4096];
    size_t len;
};

static void bio_take(BIO *bio, struct blob *out)
{
    char *p;
    long n = BIO_get_mem_data(bio, &p);
    assert_true(n > 0 && (size_t)n <= sizeof(out->data));
    memcpy(out->data, p, (size_t)n);
    out->len = (size_t)n;
    BIO_free(bio);
}

static EVP_PKEY *new_ec_key(const char *curve)
{
    EVP_PKEY *k = EVP_EC_gen(curve);
    assert_non_null(k);
    return k;
}

static void openssl_scalar(EVP_PKEY *k, uint8_t out[32])
{
    BIGNUM *d = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
    assert_int_equal(BN_bn2binpad(d, out, 32), 32);
    BN_free(d);
}

static void pkcs8_pem(EVP_PKEY *k, struct blob *out)
{
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
    bio_take(b, out);
}

static void sec1_pem(EVP_PKEY *k, struct blob *out)
{
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL), 1);
    bio_take(b, out);
}

static void pkcs8_der(EVP_PKEY *k, struct blob *out)
{
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(i2d_PKCS8PrivateKey_bio(b, k, NULL, NULL, 0, NULL, NULL), 1);
    bio_take(b, out);
}

static void sec1_der(EVP_PKEY *k, struct blob *out)
{
    unsigned char *p = out->data;
    int n = i2d_PrivateKey(k, NULL);
    assert_true(n > 0 && (size_t)n <= sizeof(out->data));
    assert_int_equal(i2d_PrivateKey(k, &p), n);
    out->len = (size_t)n;
}

static void test_openssl_keys_in_every_form(void **state)
{
    (void)state;
    for (int i = 0; i < KEYS; i++) {
        EVP_PKEY *k = new_ec_key("P-256");
        uint8_t want[32], got[32];
        struct blob b;
        openssl_scalar(k, want);

        pkcs8_pem(k, &b);
        memset(got, 0, sizeof got);
        assert_int_equal(ec_key_p256_from_pem((const char *)b.data, b.len, got), EC_KEY_OK);
        assert_memory_equal(got, want, 32);

        sec1_pem(k, &b);
        assert_non_null(strstr((const char *)b.data, "BEGIN EC PRIVATE KEY"));
        memset(got, 0, sizeof got);
        assert_int_equal(ec_key_p256_from_pem((const char *)b.data, b.len, got), EC_KEY_OK);
        assert_memory_equal(got, want, 32);

        pkcs8_der(k, &b);
        memset(got, 0, sizeof got);
        assert_int_equal(ec_key_p256_from_der(b.data, b.len, got), EC_KEY_OK);
        assert_memory_equal(got, want, 32);

        sec1_der(k, &b);
        memset(got, 0, sizeof got);
        assert_int_equal(ec_key_p256_from_der(b.data, b.len, got), EC_KEY_OK);
        assert_memory_equal(got, want, 32);
        EVP_PKEY_free(k);
    }
}

/* The key certs/gen.sh writes (openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256). */
static void test_key_file_of_the_bench(void **state)
{
    static const char pem[] =
        "-----BEGIN PRIVATE KEY-----\n"
        "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgonE5yjzwDNbqozwH\n"
        "LyB6TL1s1yBWHARm2T+DpaDT6r6hRANCAAQAv0oMnZBn9ewSUKsZBv6f6b/RVXKw\n"
        "AYSMZlzySsjywEUSessSw5ocQ6ds94DGlqYx2IXKJqI+aYE4SxeALzuK\n"
        "-----END PRIVATE KEY-----\n";
    static const uint8_t want[32] = {0xA2, 0x71, 0x39, 0xCA, 0x3C, 0xF0, 0x0C, 0xD6, 0xEA, 0xA3, 0x3C,
                                     0x07, 0x2F, 0x20, 0x7A, 0x4C, 0xBD, 0x6C, 0xD7, 0x20, 0x56, 0x1C,
                                     0x04, 0x66, 0xD9, 0x3F, 0x83, 0xA5, 0xA0, 0xD3, 0xEA, 0xBE};
    uint8_t got[32];
    (void)state;
    assert_int_equal(ec_key_p256_from_pem(pem, sizeof pem - 1, got), EC_KEY_OK);
    assert_memory_equal(got, want, 32);
    /* with CRLF line ends and an "EC PARAMETERS" block in front, as some tools write */
    {
        char text[1024];
        const char *params = "-----BEGIN EC PARAMETERS-----\r\nBggqhkjOPQMBBw==\r\n-----END EC PARAMETERS-----\r\n";
        size_t n = strlen(params);
        memcpy(text, params, n);
        for (const char *p = pem; *p; p++) {
            if (*p == '\n')
                text[n++] = '\r';
            text[n++] = *p;
        }
        memset(got, 0, sizeof got);
        assert_int_equal(ec_key_p256_from_pem(text, n, got), EC_KEY_OK);
        assert_memory_equal(got, want, 32);
    }
}

static void test_other_keys_refused(void **state)
{
    uint8_t got[32], untouched[32];
    struct blob b;
    EVP_PKEY *k;
    (void)state;
    memset(untouched, 0x5A, sizeof untouched);

    k = new_ec_key("P-384");
    pkcs8_pem(k, &b);
    memcpy(got, untouched, 32);
    assert_int_equal(ec_key_p256_from_pem((const char *)b.data, b.len, got), EC_KEY_ERR_CURVE);
    sec1_der(k, &b);
    assert_int_equal(ec_key_p256_from_der(b.data, b.len, got), EC_KEY_ERR_CURVE);
    assert_memory_equal(got, untouched, 32);
    EVP_PKEY_free(k);

    k = EVP_RSA_gen(1024);
    assert_non_null(k);
    pkcs8_der(k, &b);
    assert_int_equal(ec_key_p256_from_der(b.data, b.len, got), EC_KEY_ERR_NOT_EC);
    pkcs8_pem(k, &b); /* decodes to more than EC_KEY_DER_MAX: refused before any parsing */
    assert_int_equal(ec_key_p256_from_pem((const char *)b.data, b.len, got), EC_KEY_ERR_PEM);
    assert_memory_equal(got, untouched, 32);
    EVP_PKEY_free(k);

    /* a password-protected key: PKCS#8 "ENCRYPTED PRIVATE KEY" and a SEC 1 key with
     * Proc-Type/DEK-Info headers */
    k = new_ec_key("P-256");
    {
        BIO *bio = BIO_new(BIO_s_mem());
        assert_int_equal(PEM_write_bio_PrivateKey(bio, k, EVP_aes_128_cbc(), NULL, 0, NULL, "secret"), 1);
        bio_take(bio, &b);
        assert_int_equal(ec_key_p256_from_pem((const char *)b.data, b.len, got), EC_KEY_ERR_PEM);
        bio = BIO_new(BIO_s_mem());
        assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, k, EVP_aes_128_cbc(),
                                                              (unsigned char *)"secret", 6, NULL, NULL), 1);
        bio_take(bio, &b);
        assert_non_null(strstr((const char *)b.data, "Proc-Type"));
        assert_int_equal(ec_key_p256_from_pem((const char *)b.data, b.len, got), EC_KEY_ERR_PEM);
    }
    assert_memory_equal(got, untouched, 32);
    EVP_PKEY_free(k);
}

/* Every prefix of a key is refused; every single-byte change is refused or yields the
 * same scalar (the public key inside binds it). */
static void test_truncated_and_corrupted_der(void **state)
{
    EVP_PKEY *k = new_ec_key("P-256");
    uint8_t want[32], got[32];
    struct blob forms[2];
    (void)state;
    openssl_scalar(k, want);
    pkcs8_der(k, &forms[0]);
    sec1_der(k, &forms[1]);
    for (int f = 0; f < 2; f++) {
        struct blob *b = &forms[f];
        for (size_t n = 0; n < b->len; n++)
            assert_int_not_equal(ec_key_p256_from_der(b->data, n, got), EC_KEY_OK);
        for (size_t i = 0; i < b->len; i++) {
            static const uint8_t flips[] = {0x01, 0x80, 0xFF};
            for (size_t j = 0; j < sizeof flips; j++) {
                uint8_t copy[sizeof b->data];
                memcpy(copy, b->data, b->len);
                copy[i] ^= flips[j];
                memset(got, 0, sizeof got);
                if (ec_key_p256_from_der(copy, b->len, got) == EC_KEY_OK)
                    assert_memory_equal(got, want, 32);
            }
        }
        /* trailing garbage after the structure */
        b->data[b->len] = 0;
        assert_int_equal(ec_key_p256_from_der(b->data, b->len + 1, got), EC_KEY_ERR_DER);
    }
    EVP_PKEY_free(k);
}

/* A SEC 1 ECPrivateKey with scalar d (32 bytes), the P-256 curve and no public key. */
static size_t sec1_with_scalar(const uint8_t d[32], uint8_t *out)
{
    static const uint8_t head[] = {0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20};
    static const uint8_t tail[] = {0xA0, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
    memcpy(out, head, sizeof head);
    memcpy(out + sizeof head, d, 32);
    memcpy(out + sizeof head + 32, tail, sizeof tail);
    return sizeof head + 32 + sizeof tail;
}

static void test_scalar_range_and_public_key(void **state)
{
    static const uint8_t n[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF,
                                  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17,
                                  0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};
    uint8_t d[32], der[128], got[32];
    size_t len;
    (void)state;
    memset(d, 0, sizeof d);
    len = sec1_with_scalar(d, der);
    assert_int_equal(ec_key_p256_from_der(der, len, got), EC_KEY_ERR_RANGE); /* 0 */
    memcpy(d, n, 32);
    len = sec1_with_scalar(d, der);
    assert_int_equal(ec_key_p256_from_der(der, len, got), EC_KEY_ERR_RANGE); /* n */
    d[31] = 0x52;
    len = sec1_with_scalar(d, der);
    assert_int_equal(ec_key_p256_from_der(der, len, got), EC_KEY_ERR_RANGE); /* n + 1 */
    d[31] = 0x50;
    len = sec1_with_scalar(d, der);
    assert_int_equal(ec_key_p256_from_der(der, len, got), EC_KEY_OK); /* n - 1 */
    assert_memory_equal(got, d, 32);
    memset(d, 0, sizeof d);
    d[31] = 1;
    len = sec1_with_scalar(d, der);
    assert_int_equal(ec_key_p256_from_der(der, len, got), EC_KEY_OK); /* 1 */
    assert_memory_equal(got, d, 32);
    /* no curve named anywhere: refused */
    der[1] = 0x25;
    assert_int_equal(ec_key_p256_from_der(der, 0x27, got), EC_KEY_ERR_CURVE);

    /* another key's public key pasted in: a mismatch */
    {
        EVP_PKEY *a = new_ec_key("P-256"), *b = new_ec_key("P-256");
        struct blob ba, bb;
        sec1_der(a, &ba);
        sec1_der(b, &bb);
        assert_int_equal(ba.len, bb.len);
        assert_int_equal(ba.len, 121u); /* version, scalar, [0] curve, [1] 65-byte point */
        memcpy(ba.data + ba.len - 64, bb.data + bb.len - 64, 64);
        assert_int_equal(ec_key_p256_from_der(ba.data, ba.len, got), EC_KEY_ERR_MISMATCH);
        EVP_PKEY_free(a);
        EVP_PKEY_free(b);
    }
}

static void test_broken_pem(void **state)
{
    static const char *const bad[] = {
        "",
        "not a key at all",
        "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n", /* no END */
        "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n",                     /* empty */
        "-----BEGIN PRIVATE KEY-----\nMIGH*gEA\n-----END PRIVATE KEY-----\n",           /* bad digit */
        "-----BEGIN PRIVATE KEY-----\nMIG=HAgE\n-----END PRIVATE KEY-----\n",           /* '=' inside */
        "-----BEGIN PRIVATE KEY-----\nMIGHA\n-----END PRIVATE KEY-----\n",              /* 5 digits */
        "-----BEGIN PRIVATE KEY-----\nMA==\n-----END PRIVATE KEY-----\n",               /* empty SEQUENCE */
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n",
    };
    uint8_t got[32];
    char big[4000];
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_not_equal(ec_key_p256_from_pem(bad[i], strlen(bad[i]), got), EC_KEY_OK);
    /* longer than EC_KEY_DER_MAX once decoded */
    strcpy(big, "-----BEGIN PRIVATE KEY-----\n");
    for (size_t i = strlen(big); i < 3000; i++)
        big[i] = 'A';
    strcpy(big + 3000, "\n-----END PRIVATE KEY-----\n");
    assert_int_equal(ec_key_p256_from_pem(big, strlen(big), got), EC_KEY_ERR_PEM);
    assert_int_equal(ec_key_p256_from_pem(NULL, 10, got), EC_KEY_ERR_PEM);
    assert_int_equal(ec_key_p256_from_der(NULL, 10, got), EC_KEY_ERR_DER);
    assert_string_equal(ec_key_status_str(EC_KEY_ERR_MISMATCH), "EC_KEY_ERR_MISMATCH");
}

/* The parsed key signs, and OpenSSL verifies with the original key. */
static void test_parsed_key_signs(void **state)
{
    EVP_PKEY *k = new_ec_key("P-256");
    struct blob b;
    uint8_t priv[32], hash[32], sig[64], der_sig[80], *p = der_sig;
    (void)state;
    pkcs8_pem(k, &b);
    assert_int_equal(ec_key_p256_from_pem((const char *)b.data, b.len, priv), EC_KEY_OK);
    for (int i = 0; i < 32; i++)
        hash[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(p256_ecdsa_sign(priv, hash, sig), P256_OK);
    {
        ECDSA_SIG *s = ECDSA_SIG_new();
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
        int len;
        ECDSA_SIG_set0(s, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
        len = i2d_ECDSA_SIG(s, &p);
        assert_true(len > 0);
        assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
        assert_int_equal(EVP_PKEY_verify(ctx, der_sig, (size_t)len, hash, 32), 1);
        EVP_PKEY_CTX_free(ctx);
        ECDSA_SIG_free(s);
    }
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openssl_keys_in_every_form),
        cmocka_unit_test(test_key_file_of_the_bench),
        cmocka_unit_test(test_other_keys_refused),
        cmocka_unit_test(test_truncated_and_corrupted_der),
        cmocka_unit_test(test_scalar_range_and_public_key),
        cmocka_unit_test(test_broken_pem),
        cmocka_unit_test(test_parsed_key_signs),
    };
    return cmocka_run_group_tests_name("ec_key", tests, NULL, NULL);
}
