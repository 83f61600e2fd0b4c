/* test_sha256.c - SHA-256 against the FIPS 180-4 examples and OpenSSL, at odd chunk sizes;
 * HMAC-SHA256 against RFC 4231 and OpenSSL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "hmac_sha256.h"
#include "sha256.h"

/* Parse a hex string of exactly 2*len digits into out. */
static void from_hex(const char *hex, uint8_t *out, size_t len)
{
    assert_int_equal(strlen(hex), 2 * len);
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void assert_digest(const uint8_t *got, const char *hex)
{
    uint8_t want[SHA256_DIGEST_LEN];

    from_hex(hex, want, sizeof want);
    assert_memory_equal(got, want, sizeof want);
}

/* Hash data feeding it chunk bytes at a time. */
static void sha256_chunked(const uint8_t *data, size_t len, size_t chunk, uint8_t *out)
{
    struct sha256_ctx ctx;

    sha256_init(&ctx);
    for (size_t off = 0; off < len; off += chunk)
        sha256_update(&ctx, data + off, len - off < chunk ? len - off : chunk);
    sha256_final(&ctx, out);
}

static void test_fips_short_messages(void **state)
{
    static const struct { const char *msg, *digest; } cases[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
         "lmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    static const size_t chunks[] = {1, 2, 3, 7, 63, 64, 65, 1000};
    uint8_t out[SHA256_DIGEST_LEN];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint8_t *msg = (const uint8_t *)cases[i].msg;
        size_t len = strlen(cases[i].msg);

        sha256(msg, len, out);
        assert_digest(out, cases[i].digest);
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            sha256_chunked(msg, len, chunks[c], out);
            assert_digest(out, cases[i].digest);
        }
    }
}

static void test_fips_million_a(void **state)
{
    static uint8_t a[1000000];
    uint8_t out[SHA256_DIGEST_LEN];
    static const char *want = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

    (void)state;
    memset(a, 'a', sizeof a);
    sha256(a, sizeof a, out);
    assert_digest(out, want);
    sha256_chunked(a, sizeof a, 997, out);
    assert_digest(out, want);
    sha256_chunked(a, sizeof a, 13, out);
    assert_digest(out, want);
}

/* Every length around the padding boundaries (55, 56, 63, 64, 119, 120, ...) and random
 * lengths, split at odd chunk sizes, against OpenSSL. */
static void test_lengths_and_chunks_vs_openssl(void **state)
{
    static const size_t chunks[] = {1, 5, 17, 31, 64, 127};
    uint8_t buf[700], out[SHA256_DIGEST_LEN], ref[SHA256_DIGEST_LEN];

    (void)state;
    srand(4711);
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)rand();
    for (size_t len = 0; len <= sizeof buf; len++) {
        SHA256(buf, len, ref);
        sha256(buf, len, out);
        assert_memory_equal(out, ref, sizeof ref);
        sha256_chunked(buf, len, chunks[len % (sizeof chunks / sizeof chunks[0])], out);
        assert_memory_equal(out, ref, sizeof ref);
    }
}

static void test_hmac_rfc4231(void **state)
{
    static const char tc7_data[] =
        "This is a test using a larger than block-size key and a larger than block-size data. "
        "The key needs to be hashed before being used by the HMAC algorithm.";
    uint8_t key[131], data[160], out[SHA256_DIGEST_LEN];

    (void)state;
    /* test case 1 */
    memset(key, 0x0b, 20);
    hmac_sha256(key, 20, (const uint8_t *)"Hi There", 8, out);
    assert_digest(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* test case 2 */
    hmac_sha256((const uint8_t *)"Jefe", 4, (const uint8_t *)"what do ya want for nothing?", 28,
                out);
    assert_digest(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* test case 3 */
    memset(key, 0xaa, 20);
    memset(data, 0xdd, 50);
    hmac_sha256(key, 20, data, 50, out);
    assert_digest(out, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    /* test case 4 */
    for (int i = 0; i < 25; i++)
        key[i] = (uint8_t)(i + 1);
    memset(data, 0xcd, 50);
    hmac_sha256(key, 25, data, 50, out);
    assert_digest(out, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    /* test case 5: output truncated to 128 bits */
    memset(key, 0x0c, 20);
    hmac_sha256(key, 20, (const uint8_t *)"Test With Truncation", 20, out);
    from_hex("a3b6167473100ee06e0c796c2955552b", data, 16);
    assert_memory_equal(out, data, 16);
    /* test case 6: key longer than a block */
    memset(key, 0xaa, 131);
    hmac_sha256(key, 131, (const uint8_t *)"Test Using Larger Than Block-Size Key - Hash Key First",
                54, out);
    assert_digest(out, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    /* test case 7: key and data longer than a block, fed in pieces */
    struct hmac_sha256_ctx ctx;
    size_t len = strlen(tc7_data);
    hmac_sha256_init(&ctx, key, 131);
    for (size_t off = 0; off < len; off += 11)
        hmac_sha256_update(&ctx, (const uint8_t *)tc7_data + off, len - off < 11 ? len - off : 11);
    hmac_sha256_final(&ctx, out);
    assert_digest(out, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

static void test_hmac_vs_openssl(void **state)
{
    uint8_t key[200], data[300], out[SHA256_DIGEST_LEN], ref[EVP_MAX_MD_SIZE];
    unsigned ref_len;

    (void)state;
    srand(99);
    for (int round = 0; round < 300; round++) {
        size_t key_len = (size_t)rand() % sizeof key, data_len = (size_t)rand() % sizeof data;
        for (size_t i = 0; i < key_len; i++)
            key[i] = (uint8_t)rand();
        for (size_t i = 0; i < data_len; i++)
            data[i] = (uint8_t)rand();
        assert_non_null(HMAC(EVP_sha256(), key, (int)key_len, data, data_len, ref, &ref_len));
        hmac_sha256(key, key_len, data, data_len, out);
        assert_memory_equal(out, ref, sizeof out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_short_messages),
        cmocka_unit_test(test_fips_million_a),
        cmocka_unit_test(test_lengths_and_chunks_vs_openssl),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_hmac_vs_openssl),
    };
    return cmocka_run_group_tests_name("sha256", tests, NULL, NULL);
}
