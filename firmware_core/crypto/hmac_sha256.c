/* hmac_sha256.c - HMAC-SHA256 (RFC 2104). */
#include "hmac_sha256.h"

static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (n--)
        *v++ = 0;
}

void hmac_sha256_init(struct hmac_sha256_ctx *ctx, const uint8_t *key, size_t key_len)
{
    uint8_t block[SHA256_BLOCK_LEN];
    size_t i;

    for (i = 0; i < SHA256_BLOCK_LEN; i++)
        block[i] = 0;
    if (key_len > SHA256_BLOCK_LEN) {
        sha256(key, key_len, block);
    } else {
        for (i = 0; i < key_len; i++)
            block[i] = key[i];
    }
    for (i = 0; i < SHA256_BLOCK_LEN; i++) {
        ctx->outer_key[i] = block[i] ^ 0x5c;
        block[i] ^= 0x36;
    }
    sha256_init(&ctx->inner);
    sha256_update(&ctx->inner, block, SHA256_BLOCK_LEN);
    wipe(block, sizeof block);
}

void hmac_sha256_update(struct hmac_sha256_ctx *ctx, const uint8_t *data, size_t len)
{
    sha256_update(&ctx->inner, data, len);
}

void hmac_sha256_final(struct hmac_sha256_ctx *ctx, uint8_t out[SHA256_DIGEST_LEN])
{
    uint8_t inner_digest[SHA256_DIGEST_LEN];
    struct sha256_ctx outer;

    sha256_final(&ctx->inner, inner_digest);
    sha256_init(&outer);
    sha256_update(&outer, ctx->outer_key, SHA256_BLOCK_LEN);
    sha256_update(&outer, inner_digest, SHA256_DIGEST_LEN);
    sha256_final(&outer, out);
    wipe(inner_digest, sizeof inner_digest);
    wipe(ctx, sizeof *ctx);
}

void hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                 uint8_t out[SHA256_DIGEST_LEN])
{
    struct hmac_sha256_ctx ctx;

    hmac_sha256_init(&ctx, key, key_len);
    hmac_sha256_update(&ctx, data, len);
    hmac_sha256_final(&ctx, out);
}
