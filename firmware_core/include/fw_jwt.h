/*
 * fw_jwt.h - JSON Web Tokens for the GCP profile: the header and claims are
 * built and base64url-encoded in the core, the signature comes from the
 * port's sign() (the private key never enters the core).
 *
 * Token: base64url({"alg":"ES256","typ":"JWT"}) "." base64url({"iat":N,
 * "exp":N,"aud":"<project>"}) "." base64url(signature), no padding.
 */
#ifndef FW_JWT_H
#define FW_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "fw_port.h"

/* Longest signature the core accepts from the port (RSA-4096). */
#ifndef FW_JWT_MAX_SIGNATURE
#define FW_JWT_MAX_SIGNATURE 512u
#endif

/* Longest claims JSON (bounds the audience length). */
#ifndef FW_JWT_MAX_CLAIMS
#define FW_JWT_MAX_CLAIMS 192u
#endif

/* The SIM7600's limit for an AT+CMQTTCONNECT password (a JWT on GCP). */
#define FW_JWT_MODEM_PASSWORD_MAX 256u

/* Status of the JWT functions. */
enum fw_jwt_status {
    FW_JWT_OK = 0,
    FW_JWT_NO_SPACE,       /* the output buffer is too small */
    FW_JWT_BAD_ARG,        /* missing or invalid parameter (audience, lifetime) */
    FW_JWT_NO_TIME,        /* no iat given and the port knows no wall-clock time */
    FW_JWT_SIGN_FAILED,    /* the port's sign() failed or returned a bad length */
    FW_JWT_TOO_LONG        /* the token exceeds params.max_len (e.g. the modem's 256 bytes) */
};

/* What to put in the token. */
struct fw_jwt_params {
    enum fw_sign_alg alg;  /* ES256 or RS256 */
    const char *audience;  /* "aud": the cloud project id */
    uint64_t iat;          /* issued-at, Unix seconds; 0 = ask port->unix_time_s */
    uint32_t lifetime_s;   /* exp = iat + lifetime_s; 1 .. 86400 (GCP's 24 h limit) */
    size_t max_len;        /* longest acceptable token, 0 = any that fits the buffer */
};

/* Encode len bytes as base64url without padding into out (capacity cap,
 * NUL-terminated); length in *out_len. Returns FW_JWT_OK or FW_JWT_NO_SPACE. */
enum fw_jwt_status fw_base64url_encode(const uint8_t *in, size_t len, char *out, size_t cap,
                                       size_t *out_len);

/* Build and sign a token into out (capacity cap, NUL-terminated). Its length
 * goes to *out_len and its expiry (Unix seconds) to *exp (may be NULL). */
enum fw_jwt_status fw_jwt_build(const struct fw_port *port, const struct fw_jwt_params *params,
                                char *out, size_t cap, size_t *out_len, uint64_t *exp);

/* Human-readable name of a status; never NULL. */
const char *fw_jwt_status_str(enum fw_jwt_status status);

#endif /* FW_JWT_H */
