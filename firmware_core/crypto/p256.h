/* p256.h - NIST P-256 ECDSA signing with SHA-256 and RFC 6979 deterministic nonces, for the
 * firmware core: freestanding C99, no heap, no libc, no state outside the caller's stack.
 * Constant time: no branch or memory index depends on the private key or the nonce.
 * All numbers are 32-byte big-endian strings, as in SEC 1 and JWS (ES256).
 *
 * Footprint on Cortex-M4 (arm-none-eabi-gcc -Os): about 3 KB of code (plus 1.2 KB for
 * SHA-256/HMAC) and about 3 KB of stack while signing (the 16-point window table is 1.5 KB).
 * Like any freestanding GCC build it may call memcpy/memset for struct copies; the port's C
 * library provides them. */
#ifndef P256_H
#define P256_H

#include <stdint.h>

#define P256_SCALAR_LEN 32u     /* bytes in a private key, a hash, r or s */
#define P256_PUBLIC_KEY_LEN 64u /* X || Y of an uncompressed point without the 0x04 prefix */
#define P256_SIGNATURE_LEN 64u  /* r || s, the JWS ES256 form */

/* Result of a P-256 operation. */
enum p256_status {
    P256_OK = 0,      /* done, output written */
    P256_ERR_BAD_KEY, /* the private key is 0 or not below the group order n */
};

/* A short constant name for status (e.g. "P256_ERR_BAD_KEY"); never NULL. */
const char *p256_status_str(enum p256_status status);

/* Derive the public key of priv: writes X || Y (64 bytes) to pub.
 * Returns P256_ERR_BAD_KEY (pub untouched) when priv is not in [1, n-1]. */
enum p256_status p256_public_key(const uint8_t priv[P256_SCALAR_LEN],
                                 uint8_t pub[P256_PUBLIC_KEY_LEN]);

/* The RFC 6979 nonce k for private key priv and the SHA-256 digest hash (the first
 * candidate in [1, n-1]); exposed for checking against the RFC's vectors.
 * Returns P256_ERR_BAD_KEY when priv is not in [1, n-1]. */
enum p256_status p256_rfc6979_nonce(const uint8_t priv[P256_SCALAR_LEN],
                                    const uint8_t hash[P256_SCALAR_LEN],
                                    uint8_t k[P256_SCALAR_LEN]);

/* ECDSA-sign the SHA-256 digest hash with priv using RFC 6979 nonces; writes r || s
 * (64 bytes) to sig. Returns P256_ERR_BAD_KEY (sig untouched) when priv is not in [1, n-1]. */
enum p256_status p256_ecdsa_sign(const uint8_t priv[P256_SCALAR_LEN],
                                 const uint8_t hash[P256_SCALAR_LEN],
                                 uint8_t sig[P256_SIGNATURE_LEN]);

#endif
