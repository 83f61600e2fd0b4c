/* test_p256.c - P-256 arithmetic against OpenSSL BIGNUM / EC_POINT, RFC 6979 A.2.5 vectors,
 * and signatures from random keys and messages verified with OpenSSL ECDSA_do_verify.
 * The source is included so the static field, scalar and point functions can be tested. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/hmac.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>

#include "../p256.c"
#include "sha256.h"

static const char *n_hex = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";
static const char *p_hex = "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF";

static void from_hex(const char *hex, uint8_t *out, size_t len)
{
    assert_int_equal(strlen(hex), 2 * len);
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static BIGNUM *bn_from_u256(const struct u256 *a)
{
    uint8_t b[32];
    u256_to_bytes(b, a);
    return BN_bin2bn(b, 32, NULL);
}

static void u256_from_bn(struct u256 *r, const BIGNUM *bn)
{
    uint8_t b[32];
    assert_int_equal(BN_bn2binpad(bn, b, 32), 32);
    u256_from_bytes(r, b);
}

static void assert_u256_equals_bn(const struct u256 *a, const BIGNUM *want)
{
    BIGNUM *got = bn_from_u256(a);
    if (BN_cmp(got, want) != 0) {
        char *g = BN_bn2hex(got), *w = BN_bn2hex(want);
        print_error("got %s\nwant %s\n", g, w);
        OPENSSL_free(g);
        OPENSSL_free(w);
        fail();
    }
    BN_free(got);
}

/* a random value below m, or one of the edge values 0, 1, 2, m-1, m-2 */
static void random_below(BIGNUM *r, const BIGNUM *m, int round)
{
    switch (round) {
    case 0: BN_zero(r); break;
    case 1: BN_one(r); break;
    case 2: BN_set_word(r, 2); break;
    case 3: BN_copy(r, m); BN_sub_word(r, 1); break;
    case 4: BN_copy(r, m); BN_sub_word(r, 2); break;
    default: assert_int_equal(BN_rand_range(r, m), 1);
    }
}

/* add, sub, Montgomery mul and inversion mod m against BIGNUM for many values */
static void check_modular_arithmetic(const struct modulus *mod, const char *m_hex)
{
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *m = NULL, *a = BN_new(), *b = BN_new(), *want = BN_new();
    struct u256 ua, ub, ma, mb, r;

    assert_true(BN_hex2bn(&m, m_hex) > 0);
    for (int round = 0; round < 2000; round++) {
        random_below(a, m, round % 7 == 6 ? 5 : round);
        random_below(b, m, round >= 5 ? 5 : 4 - round);
        u256_from_bn(&ua, a);
        u256_from_bn(&ub, b);

        mod_add(&r, &ua, &ub, mod);
        BN_mod_add(want, a, b, m, ctx);
        assert_u256_equals_bn(&r, want);
        mod_sub(&r, &ua, &ub, mod);
        BN_mod_sub(want, a, b, m, ctx);
        assert_u256_equals_bn(&r, want);

        to_mont(&ma, &ua, mod);
        to_mont(&mb, &ub, mod);
        mont_mul(&r, &ma, &mb, mod);
        from_mont(&r, &r, mod);
        BN_mod_mul(want, a, b, m, ctx);
        assert_u256_equals_bn(&r, want);

        if (!BN_is_zero(a) && round % 10 == 0) {
            mod_inv(&r, &ma, mod);
            from_mont(&r, &r, mod);
            assert_non_null(BN_mod_inverse(want, a, m, ctx));
            assert_u256_equals_bn(&r, want);
        }
    }
    BN_free(m);
    BN_free(a);
    BN_free(b);
    BN_free(want);
    BN_CTX_free(ctx);
}

static void test_field_arithmetic_vs_bignum(void **state)
{
    (void)state;
    check_modular_arithmetic(&p256_p, p_hex);
}

static void test_scalar_arithmetic_vs_bignum(void **state)
{
    (void)state;
    check_modular_arithmetic(&p256_n, n_hex);
}

/* any 256-bit value reduces to value mod n, and the range check is exact */
static void test_reduce_and_range(void **state)
{
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *n = NULL, *a = BN_new(), *want = BN_new();
    struct u256 ua, r;

    (void)state;
    assert_true(BN_hex2bn(&n, n_hex) > 0);
    for (int round = 0; round < 500; round++) {
        assert_int_equal(BN_rand(a, 256, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), 1);
        if (round == 0)
            BN_copy(a, n);
        u256_from_bn(&ua, a);
        mod_reduce_once(&r, &ua, &p256_n);
        BN_nnmod(want, a, n, ctx);
        assert_u256_equals_bn(&r, want);
        assert_int_equal(u256_in_range(&ua, &p256_n), !BN_is_zero(a) && BN_cmp(a, n) < 0);
    }
    BN_free(n);
    BN_free(a);
    BN_free(want);
    BN_CTX_free(ctx);
}

/* k*G against EC_POINT_mul for edge and random k */
static void test_point_mul_vs_openssl(void **state)
{
    EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *n = NULL, *k = BN_new(), *x = BN_new(), *y = BN_new();
    EC_POINT *pt = EC_POINT_new(group);
    struct u256 uk, ux, uy;
    struct point q;

    (void)state;
    assert_true(BN_hex2bn(&n, n_hex) > 0);
    for (int round = 0; round < 300; round++) {
        switch (round) {
        case 0: BN_one(k); break;
        case 1: BN_copy(k, n); BN_sub_word(k, 1); break;
        case 2: BN_copy(k, n); BN_sub_word(k, 2); break;
        case 3: BN_set_word(k, 15); break;
        case 4: BN_set_word(k, 16); break;
        case 5: BN_set_word(k, 2); break;
        case 6: BN_one(k); BN_lshift(k, k, 255); break;
        default: assert_int_equal(BN_rand_range(k, n), 1); if (BN_is_zero(k)) BN_one(k);
        }
        u256_from_bn(&uk, k);
        point_mul(&q, &uk, &p256_g_mont);
        point_to_affine(&ux, &uy, &q);
        assert_int_equal(EC_POINT_mul(group, pt, k, NULL, NULL, ctx), 1);
        assert_int_equal(EC_POINT_get_affine_coordinates(group, pt, x, y, ctx), 1);
        assert_u256_equals_bn(&ux, x);
        assert_u256_equals_bn(&uy, y);
    }
    /* k = 0 and k = n give the identity (Z = 0) */
    for (unsigned i = 0; i < 8; i++)
        uk.v[i] = 0;
    point_mul(&q, &uk, &p256_g_mont);
    assert_true(u256_is_zero(&q.z));
    uk = p256_n.m;
    point_mul(&q, &uk, &p256_g_mont);
    assert_true(u256_is_zero(&q.z));
    EC_POINT_free(pt);
    BN_free(n);
    BN_free(k);
    BN_free(x);
    BN_free(y);
    BN_CTX_free(ctx);
    EC_GROUP_free(group);
}

/* RFC 6979 appendix A.2.5: P-256 with SHA-256 */
static void test_rfc6979_a25(void **state)
{
    static const struct { const char *msg, *k, *r, *s; } cases[] = {
        {"sample", "A6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60",
         "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
         "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"},
        {"test", "D16B6AE827F17175E040871A1C7EC3500192C4C92677336EC2537ACAEE0008E0",
         "F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367",
         "019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083"},
    };
    uint8_t priv[32], pub[64], want[64], hash[32], k[32], sig[64];

    (void)state;
    from_hex("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721", priv, 32);
    from_hex("60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
             "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299", want, 64);
    assert_int_equal(p256_public_key(priv, pub), P256_OK);
    assert_memory_equal(pub, want, 64);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sha256((const uint8_t *)cases[i].msg, strlen(cases[i].msg), hash);
        assert_int_equal(p256_rfc6979_nonce(priv, hash, k), P256_OK);
        from_hex(cases[i].k, want, 32);
        assert_memory_equal(k, want, 32);
        assert_int_equal(p256_ecdsa_sign(priv, hash, sig), P256_OK);
        from_hex(cases[i].r, want, 32);
        from_hex(cases[i].s, want + 32, 32);
        assert_memory_equal(sig, want, 64);
    }
}

/* out = HMAC-SHA256 by OpenSSL of the concatenation of up to four parts */
static void ref_hmac(const uint8_t key[32], const uint8_t *p1, size_t l1, const uint8_t *p2,
                     size_t l2, const uint8_t *p3, size_t l3, uint8_t out[32])
{
    uint8_t buf[32 + 1 + 32 + 32];
    unsigned out_len;
    memcpy(buf, p1, l1);
    memcpy(buf + l1, p2, l2);
    memcpy(buf + l1 + l2, p3, l3);
    assert_non_null(HMAC(EVP_sha256(), key, 32, buf, l1 + l2 + l3, out, &out_len));
}

/* The generator's candidates, including those after a rejection (RFC 6979 3.2 step h.3),
 * against the RFC's steps written out with OpenSSL's HMAC. */
static void test_rfc6979_candidates_after_rejection(void **state)
{
    uint8_t priv[32], h1[32], key[32], v[32], both[64], zero = 0, one = 1;
    struct rfc6979 g;
    struct u256 k, want;

    (void)state;
    for (int round = 0; round < 20; round++) {
        assert_int_equal(RAND_bytes(priv, 32), 1);
        assert_int_equal(RAND_bytes(h1, 32), 1);
        memcpy(both, priv, 32);
        memcpy(both + 32, h1, 32);
        memset(v, 0x01, 32);
        memset(key, 0x00, 32);
        ref_hmac(key, v, 32, &zero, 1, both, 64, key);
        ref_hmac(key, v, 32, NULL, 0, NULL, 0, v);
        ref_hmac(key, v, 32, &one, 1, both, 64, key);
        ref_hmac(key, v, 32, NULL, 0, NULL, 0, v);
        rfc6979_init(&g, priv, h1);
        for (int candidate = 0; candidate < 4; candidate++) {
            if (candidate > 0) {
                ref_hmac(key, v, 32, &zero, 1, NULL, 0, key);
                ref_hmac(key, v, 32, NULL, 0, NULL, 0, v);
            }
            ref_hmac(key, v, 32, NULL, 0, NULL, 0, v);
            rfc6979_next(&g, &k, candidate > 0);
            u256_from_bytes(&want, v);
            assert_memory_equal(k.v, want.v, sizeof want.v);
        }
    }
}

/* an EC_KEY holding the private key priv (and its public key from OpenSSL) */
static EC_KEY *openssl_key(const uint8_t priv[32])
{
    EC_KEY *key = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    const EC_GROUP *group = EC_KEY_get0_group(key);
    BIGNUM *d = BN_bin2bn(priv, 32, NULL);
    EC_POINT *pub = EC_POINT_new(group);

    assert_int_equal(EC_POINT_mul(group, pub, d, NULL, NULL, NULL), 1);
    assert_int_equal(EC_KEY_set_private_key(key, d), 1);
    assert_int_equal(EC_KEY_set_public_key(key, pub), 1);
    EC_POINT_free(pub);
    BN_free(d);
    return key;
}

static int openssl_verify(EC_KEY *key, const uint8_t hash[32], const uint8_t sig[64])
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    int ok;

    assert_int_equal(ECDSA_SIG_set0(s, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)), 1);
    ok = ECDSA_do_verify(hash, 32, s, key);
    ECDSA_SIG_free(s);
    return ok;
}

/* 1200 random keys and messages: the public key matches OpenSSL's, the signature verifies,
 * signing twice gives the same bytes, and a changed digest no longer verifies */
static void test_random_signatures_verify_with_openssl(void **state)
{
    uint8_t priv[32], pub[64], hash[32], sig[64], sig2[64], msg[100];
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *x = BN_new(), *y = BN_new();

    (void)state;
    for (int round = 0; round < 1200; round++) {
        size_t msg_len = (size_t)round % sizeof msg;
        assert_int_equal(RAND_bytes(priv, 32), 1);
        if (round == 0)
            from_hex(n_hex, priv, 32), priv[31] -= 1; /* n - 1 */
        assert_int_equal(RAND_bytes(msg, (int)msg_len), 1);
        sha256(msg, msg_len, hash);
        if (round == 1)
            memset(hash, 0xff, 32); /* digest above n */

        EC_KEY *key = openssl_key(priv);
        assert_int_equal(p256_public_key(priv, pub), P256_OK);
        assert_int_equal(EC_POINT_get_affine_coordinates(EC_KEY_get0_group(key),
                                                         EC_KEY_get0_public_key(key), x, y, ctx), 1);
        struct u256 ux, uy;
        u256_from_bytes(&ux, pub);
        u256_from_bytes(&uy, pub + 32);
        assert_u256_equals_bn(&ux, x);
        assert_u256_equals_bn(&uy, y);

        assert_int_equal(p256_ecdsa_sign(priv, hash, sig), P256_OK);
        assert_int_equal(openssl_verify(key, hash, sig), 1);
        if (round % 50 == 0) {
            assert_int_equal(p256_ecdsa_sign(priv, hash, sig2), P256_OK);
            assert_memory_equal(sig, sig2, 64);
            hash[round % 32] ^= 0x01;
            assert_int_equal(openssl_verify(key, hash, sig), 0);
        }
        EC_KEY_free(key);
    }
    BN_free(x);
    BN_free(y);
    BN_CTX_free(ctx);
}

static void test_bad_private_keys_rejected(void **state)
{
    uint8_t bad[4][32], hash[32] = {1}, out[64], k[32];

    (void)state;
    memset(bad[0], 0, 32);          /* 0 */
    from_hex(n_hex, bad[1], 32);    /* n */
    from_hex(n_hex, bad[2], 32);
    bad[2][31] += 1;                /* n + 1 */
    memset(bad[3], 0xff, 32);       /* 2^256 - 1 */
    for (int i = 0; i < 4; i++) {
        memset(out, 0xa5, sizeof out);
        assert_int_equal(p256_ecdsa_sign(bad[i], hash, out), P256_ERR_BAD_KEY);
        assert_int_equal(p256_public_key(bad[i], out), P256_ERR_BAD_KEY);
        assert_int_equal(p256_rfc6979_nonce(bad[i], hash, k), P256_ERR_BAD_KEY);
        for (int j = 0; j < 64; j++)
            assert_int_equal(out[j], 0xa5);
    }
    assert_string_equal(p256_status_str(P256_OK), "P256_OK");
    assert_string_equal(p256_status_str(P256_ERR_BAD_KEY), "P256_ERR_BAD_KEY");
    assert_string_equal(p256_status_str((enum p256_status)99), "P256_UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_arithmetic_vs_bignum),
        cmocka_unit_test(test_scalar_arithmetic_vs_bignum),
        cmocka_unit_test(test_reduce_and_range),
        cmocka_unit_test(test_point_mul_vs_openssl),
        cmocka_unit_test(test_rfc6979_a25),
        cmocka_unit_test(test_rfc6979_candidates_after_rejection),
        cmocka_unit_test(test_random_signatures_verify_with_openssl),
        cmocka_unit_test(test_bad_private_keys_rejected),
    };
    return cmocka_run_group_tests_name("p256", tests, NULL, NULL);
}
