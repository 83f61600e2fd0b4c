/* hmac_sha256.h - HMAC-SHA256 (RFC 2104) on top of sha256.h; no heap, caller-owned state. */
#ifndef HMAC_SHA256_H
#define HMAC_SHA256_H

#include "sha256.h"

/* Running state of one MAC computation; owned by the caller. */
struct hmac_sha256_ctx {
    struct sha256_ctx inner;               /* H((K ^ ipad) || message) in progress */
    uint8_t outer_key[SHA256_BLOCK_LEN];   /* K ^ opad, kept for the final hash */
};

/* Start a MAC with key of key_len bytes (keys longer than a block are hashed first). */
void hmac_sha256_init(struct hmac_sha256_ctx *ctx, const uint8_t *key, size_t key_len);

/* Feed len bytes of message data. */
void hmac_sha256_update(struct hmac_sha256_ctx *ctx, const uint8_t *data, size_t len);

/* Finish, write the 32-byte MAC to out and wipe ctx. */
void hmac_sha256_final(struct hmac_sha256_ctx *ctx, uint8_t out[SHA256_DIGEST_LEN]);

/* One-shot MAC of len bytes of data under key into out. */
void hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                 uint8_t out[SHA256_DIGEST_LEN]);

#endif
