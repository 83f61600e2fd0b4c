/* ec_key.h - the P-256 private key of a device from its PEM or DER file, for the firmware
 * targets that sign JWTs themselves (ES256): PKCS#8 ("BEGIN PRIVATE KEY", as certs/gen.sh
 * writes it) and SEC 1 / RFC 5915 ("BEGIN EC PRIVATE KEY", OpenSSL's traditional form).
 * Freestanding C99, no heap, no libc: the decoded DER lives on the caller's stack and is
 * wiped before returning. Only unencrypted P-256 keys are accepted; anything else
 * (another curve, RSA, an encrypted key, malformed DER, a scalar outside [1, n-1], a
 * public key that does not belong to the private key) is refused with a reason.
 * The key's own bytes are handled without secret-dependent branches or indexes
 * (base64 digits decoded with masks, the scalar copied and range-checked
 * branch-free); the DER structure around it (tags, lengths, OIDs) is public. */
#ifndef EC_KEY_H
#define EC_KEY_H

#include <stddef.h>
#include <stdint.h>

#define EC_KEY_DER_MAX 512u /* largest DER a key may decode to (a P-256 PKCS#8 key is 138) */

/* Result of parsing a key. */
enum ec_key_status {
    EC_KEY_OK = 0,         /* priv written */
    EC_KEY_ERR_PEM,        /* no unencrypted private-key block, bad base64, or too long */
    EC_KEY_ERR_DER,        /* the DER is malformed or not a private-key structure */
    EC_KEY_ERR_NOT_EC,     /* a private key, but not an elliptic-curve one (e.g. RSA) */
    EC_KEY_ERR_CURVE,      /* an EC key on another curve than P-256, or no curve named */
    EC_KEY_ERR_RANGE,      /* the scalar is 0, not below the group order, or not 32 bytes */
    EC_KEY_ERR_MISMATCH,   /* the embedded public key is not the private key's */
};

/* A short constant name for status (e.g. "EC_KEY_ERR_CURVE"); never NULL. */
const char *ec_key_status_str(enum ec_key_status status);

/* Parse a DER-encoded PKCS#8 PrivateKeyInfo or SEC 1 ECPrivateKey holding a P-256 key and
 * write its 32-byte big-endian scalar to priv. priv is untouched unless EC_KEY_OK. */
enum ec_key_status ec_key_p256_from_der(const uint8_t *der, size_t len, uint8_t priv[32]);

/* The same from PEM text of len bytes (need not be NUL-terminated): the first
 * "PRIVATE KEY" or "EC PRIVATE KEY" block is decoded; other blocks (e.g. "EC PARAMETERS")
 * are skipped. */
enum ec_key_status ec_key_p256_from_pem(const char *pem, size_t len, uint8_t priv[32]);

#endif
