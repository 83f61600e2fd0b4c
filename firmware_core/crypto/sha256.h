/* sha256.h - SHA-256 (FIPS 180-4) for the firmware core: freestanding C99, no heap,
 * no libc, all state in the caller's context; no branch or index depends on the data. */
#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32u /* bytes in a digest */
#define SHA256_BLOCK_LEN 64u  /* bytes in one compression block */

/* Running state of one hash computation; owned by the caller. */
struct sha256_ctx {
    uint32_t state[8];                /* chaining value H0..H7 */
    uint64_t total_len;               /* bytes hashed so far */
    uint8_t block[SHA256_BLOCK_LEN];  /* partial block not yet compressed */
    size_t block_len;                 /* bytes held in block */
};

/* Start a new hash in ctx. */
void sha256_init(struct sha256_ctx *ctx);

/* Feed len bytes of data (any chunking gives the same digest). */
void sha256_update(struct sha256_ctx *ctx, const uint8_t *data, size_t len);

/* Finish the hash, write the 32-byte digest to out and wipe ctx. */
void sha256_final(struct sha256_ctx *ctx, uint8_t out[SHA256_DIGEST_LEN]);

/* One-shot hash of len bytes of data into out. */
void sha256(const uint8_t *data, size_t len, uint8_t out[SHA256_DIGEST_LEN]);

#endif
