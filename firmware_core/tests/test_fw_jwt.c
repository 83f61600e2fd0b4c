/*
 * test_fw_jwt.c - JWTs built by the core, signed through the port by
 * OpenSSL, then checked by two independent verifiers: libjwt, and OpenSSL
 * directly on the decoded header, claims and signature. Also base64url
 * vectors (RFC 4648), the modem's 256-byte password limit and failures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fake_port.h"
#include "fw_jwt.h"

struct signer {
    EVP_PKEY *key;
    char pem[2048];     /* public key for the verifiers */
    unsigned calls;
    bool fail;
    size_t force_len;   /* report this signature length instead, if non-zero */
};

static struct signer es256_key, rs256_key;

static void export_public(struct signer *s)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int n;
    assert_int_equal(PEM_write_bio_PUBKEY(bio, s->key), 1);
    n = BIO_read(bio, s->pem, sizeof(s->pem) - 1);
    assert_true(n > 0);
    s->pem[n] = '\0';
    BIO_free(bio);
}

static int setup_keys(void **state)
{
    es256_key.key = EVP_EC_gen("P-256");
    rs256_key.key = EVP_RSA_gen(2048);
    if (es256_key.key == NULL || rs256_key.key == NULL)
        return -1;
    export_public(&es256_key);
    export_public(&rs256_key);
    return 0;
}

static int teardown_keys(void **state)
{
    EVP_PKEY_free(es256_key.key);
    EVP_PKEY_free(rs256_key.key);
    return 0;
}

static size_t openssl_sign(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t *out, size_t cap)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t n = cap;
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(md, out, &n, msg, len), 1);
    EVP_MD_CTX_free(md);
    return n;
}

/* The port's sign(): DER ECDSA from OpenSSL turned into JWS r||s. */
static int32_t test_signer(void *ctx, enum fw_sign_alg alg, const uint8_t *msg, size_t len,
                           uint8_t *sig, size_t cap, size_t *sig_len)
{
    struct signer *s = ctx;
    uint8_t der[600];
    s->calls++;
    if (s->fail)
        return -1;
    if (alg == FW_SIGN_ES256) {
        size_t n = openssl_sign(s->key, msg, len, der, sizeof(der));
        const unsigned char *p = der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
        assert_non_null(es);
        assert_true(cap >= 64);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
        ECDSA_SIG_free(es);
        *sig_len = 64;
    } else {
        *sig_len = openssl_sign(s->key, msg, len, sig, cap);
    }
    if (s->force_len > 0)
        *sig_len = s->force_len;
    return 0;
}

static void use_signer(struct fake_port *f, struct signer *s)
{
    fake_port_init(f, 0, 0);
    f->signer = test_signer;
    f->signer_ctx = s;
    s->calls = 0;
    s->fail = false;
    s->force_len = 0;
}

/* base64url decode for the independent check (OpenSSL's decoder after
 * mapping back to the standard alphabet and re-adding padding) */
static size_t b64url_decode(const char *in, size_t len, uint8_t *out)
{
    char std[2048];
    size_t i, n = len;
    int got;
    assert_true(len + 3 < sizeof(std));
    for (i = 0; i < len; i++)
        std[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    while (n % 4 != 0)
        std[n++] = '=';
    got = EVP_DecodeBlock(out, (const unsigned char *)std, (int)n);
    assert_true(got >= 0);
    return (size_t)got - (n - len);
}

/* Split a token and check header, claims text and signature with OpenSSL. */
static void openssl_verify(const char *token, struct signer *s, bool ec, const char *header,
                           const char *claims)
{
    const char *dot1 = strchr(token, '.'), *dot2;
    uint8_t buf[1024], sig[600];
    size_t n, sig_len;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_non_null(dot1);
    dot2 = strchr(dot1 + 1, '.');
    assert_non_null(dot2);
    assert_null(strchr(dot2 + 1, '.'));
    assert_null(strchr(token, '='));
    n = b64url_decode(token, (size_t)(dot1 - token), buf);
    assert_int_equal(n, strlen(header));
    assert_memory_equal(buf, header, n);
    n = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), buf);
    assert_int_equal(n, strlen(claims));
    assert_memory_equal(buf, claims, n);
    sig_len = b64url_decode(dot2 + 1, strlen(dot2 + 1), sig);
    if (ec) {
        ECDSA_SIG *es = ECDSA_SIG_new();
        unsigned char *p = buf;
        assert_int_equal(sig_len, 64);
        ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
        n = (size_t)i2d_ECDSA_SIG(es, &p);
        ECDSA_SIG_free(es);
        memcpy(sig, buf, n);
        sig_len = n;
    }
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, s->key), 1);
    assert_int_equal(EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)token,
                                      (size_t)(dot2 - token)), 1);
    EVP_MD_CTX_free(md);
}

static void libjwt_verify(const char *token, struct signer *s, jwt_alg_t alg, long iat, long exp,
                          const char *aud)
{
    jwt_t *jwt = NULL;
    assert_int_equal(jwt_decode(&jwt, token, (const unsigned char *)s->pem, (int)strlen(s->pem)), 0);
    assert_int_equal(jwt_get_alg(jwt), alg);
    assert_int_equal(jwt_get_grant_int(jwt, "iat"), iat);
    assert_int_equal(jwt_get_grant_int(jwt, "exp"), exp);
    assert_string_equal(jwt_get_grant(jwt, "aud"), aud);
    assert_string_equal(jwt_get_header(jwt, "typ"), "JWT");
    jwt_free(jwt);
}

/* ---- tests --------------------------------------------------------------- */

static void test_base64url_vectors(void **state)
{
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } v[] = {
        {"", 0, ""}, {"f", 1, "Zg"}, {"fo", 2, "Zm8"}, {"foo", 3, "Zm9v"},
        {"foob", 4, "Zm9vYg"}, {"fooba", 5, "Zm9vYmE"}, {"foobar", 6, "Zm9vYmFy"},
        {"\xfb\xff", 2, "-_8"}, {"\x00\x00\x00", 3, "AAAA"},
    };
    char out[16];
    size_t i, n;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(fw_base64url_encode((const uint8_t *)v[i].in, v[i].len, out, sizeof(out), &n),
                         FW_JWT_OK);
        assert_string_equal(out, v[i].out);
        assert_int_equal(n, strlen(v[i].out));
    }
    /* 8 characters need 9 bytes with the NUL */
    assert_int_equal(fw_base64url_encode((const uint8_t *)"foobar", 6, out, 9, &n), FW_JWT_OK);
    assert_int_equal(fw_base64url_encode((const uint8_t *)"foobar", 6, out, 8, &n), FW_JWT_NO_SPACE);
}

static void test_es256_verified_by_libjwt_and_openssl(void **state)
{
    struct fake_port f;
    struct fw_jwt_params p;
    char token[512];
    size_t len;
    uint64_t exp;
    use_signer(&f, &es256_key);
    memset(&p, 0, sizeof(p));
    p.alg = FW_SIGN_ES256;
    p.audience = "cellbench-proj";
    p.iat = 1700000000;
    p.lifetime_s = 3600;
    p.max_len = FW_JWT_MODEM_PASSWORD_MAX;
    assert_int_equal(fw_jwt_build(&f.port, &p, token, sizeof(token), &len, &exp), FW_JWT_OK);
    assert_int_equal(len, strlen(token));
    assert_true(len <= 256);
    assert_true(exp == 1700003600u);
    assert_int_equal(es256_key.calls, 1);
    libjwt_verify(token, &es256_key, JWT_ALG_ES256, 1700000000, 1700003600, "cellbench-proj");
    openssl_verify(token, &es256_key, true, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}",
                   "{\"iat\":1700000000,\"exp\":1700003600,\"aud\":\"cellbench-proj\"}");
    /* a changed claim breaks the signature */
    {
        char *dot = strchr(token, '.');
        jwt_t *jwt = NULL;
        dot[3] = dot[3] == 'A' ? 'B' : 'A';
        assert_int_not_equal(jwt_decode(&jwt, token, (const unsigned char *)es256_key.pem,
                                        (int)strlen(es256_key.pem)), 0);
        jwt_free(jwt);
    }
}

static void test_rs256_and_the_modem_limit(void **state)
{
    struct fake_port f;
    struct fw_jwt_params p;
    char token[1024];
    size_t len;
    use_signer(&f, &rs256_key);
    memset(&p, 0, sizeof(p));
    p.alg = FW_SIGN_RS256;
    p.audience = "cellbench-proj";
    p.iat = 1700000000;
    p.lifetime_s = 86400;
    assert_int_equal(fw_jwt_build(&f.port, &p, token, sizeof(token), &len, NULL), FW_JWT_OK);
    assert_true(len > 256); /* a 2048-bit signature alone is 342 characters */
    libjwt_verify(token, &rs256_key, JWT_ALG_RS256, 1700000000, 1700086400, "cellbench-proj");
    openssl_verify(token, &rs256_key, false, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
                   "{\"iat\":1700000000,\"exp\":1700086400,\"aud\":\"cellbench-proj\"}");
    p.max_len = FW_JWT_MODEM_PASSWORD_MAX;
    assert_int_equal(fw_jwt_build(&f.port, &p, token, sizeof(token), &len, NULL), FW_JWT_TOO_LONG);
}

static void test_time_from_the_port(void **state)
{
    struct fake_port f;
    struct fw_jwt_params p;
    char token[512];
    size_t len;
    uint64_t exp;
    use_signer(&f, &es256_key);
    f.unix_time = 1800000000;
    memset(&p, 0, sizeof(p));
    p.alg = FW_SIGN_ES256;
    p.audience = "proj \"quoted\"";
    p.lifetime_s = 600;
    assert_int_equal(fw_jwt_build(&f.port, &p, token, sizeof(token), &len, &exp), FW_JWT_OK);
    assert_true(exp == 1800000600u);
    libjwt_verify(token, &es256_key, JWT_ALG_ES256, 1800000000, 1800000600, "proj \"quoted\"");
    f.unix_time = 0;
    assert_int_equal(fw_jwt_build(&f.port, &p, token, sizeof(token), &len, &exp), FW_JWT_NO_TIME);
    f.port.unix_time_s = NULL;
    assert_int_equal(fw_jwt_build(&f.port, &p, token, sizeof(token), &len, &exp), FW_JWT_NO_TIME);
}

static void test_failures(void **state)
{
    struct fake_port f;
    struct fw_jwt_params p;
    char token[512], aud[300];
    size_t len;
    use_signer(&f, &es256_key);
    memset(&p, 0, sizeof(p));
    p.alg = FW_SIGN_ES256;
    p.audience = "proj";
    p.iat = 1700000000;
    p.lifetime_s = 60;
    es256_key.fail = true;
    assert_int_equal(fw_jwt_build(&f.port, &p, token, sizeof(token), &len, NULL), FW_JWT_SIGN_FAILED);
    es256_key.fail = false;
    es256_key.force_len = 63;
    assert_int_equal(fw_jwt_build(&f.port, &p, token, sizeof(token), &len, NULL), FW_JWT_SIGN_FAILED);
    es256_key.force_len = 0;
    assert_int_equal(fw_jwt_build(&f.port, &p, token, 100, &len, NULL), FW_JWT_NO_SPACE);
    assert_int_equal(fw_jwt_build(&f.port, &p, token, 20, &len, NULL), FW_JWT_NO_SPACE);
    p.lifetime_s = 86401; /* GCP refuses exp more than 24 h after iat */
    assert_int_equal(fw_jwt_build(&f.port, &p, token, sizeof(token), &len, NULL), FW_JWT_BAD_ARG);
    p.lifetime_s = 0;
    assert_int_equal(fw_jwt_build(&f.port, &p, token, sizeof(token), &len, NULL), FW_JWT_BAD_ARG);
    p.lifetime_s = 60;
    p.audience = "";
    assert_int_equal(fw_jwt_build(&f.port, &p, token, sizeof(token), &len, NULL), FW_JWT_BAD_ARG);
    memset(aud, 'a', sizeof(aud) - 1);
    aud[sizeof(aud) - 1] = '\0';
    p.audience = aud;
    assert_int_equal(fw_jwt_build(&f.port, &p, token, sizeof(token), &len, NULL), FW_JWT_BAD_ARG);
    p.audience = "proj";
    p.alg = (enum fw_sign_alg)7;
    assert_int_equal(fw_jwt_build(&f.port, &p, token, sizeof(token), &len, NULL), FW_JWT_BAD_ARG);
    f.port.sign = NULL;
    p.alg = FW_SIGN_ES256;
    assert_int_equal(fw_jwt_build(&f.port, &p, token, sizeof(token), &len, NULL), FW_JWT_BAD_ARG);
}

static void test_status_strings(void **state)
{
    int s;
    for (s = FW_JWT_OK; s <= FW_JWT_TOO_LONG; s++)
        assert_string_not_equal(fw_jwt_status_str((enum fw_jwt_status)s), "unknown status");
    assert_string_equal(fw_jwt_status_str((enum fw_jwt_status)50), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64url_vectors),
        cmocka_unit_test(test_es256_verified_by_libjwt_and_openssl),
        cmocka_unit_test(test_rs256_and_the_modem_limit),
        cmocka_unit_test(test_time_from_the_port),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_status_strings),
    };
    return cmocka_run_group_tests_name("fw_jwt", tests, setup_keys, teardown_keys);
}
