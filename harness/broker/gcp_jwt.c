/* gcp_jwt — Cloud IoT Core JWT verification with libjwt 1.10 (see gcp_jwt.h). */
#include "gcp_jwt.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <jwt.h>
#include <string.h>

const char *gcp_jwt_result_str(enum gcp_jwt_result result)
{
    switch (result) {
    case GCP_JWT_OK: return "ok";
    case GCP_JWT_MALFORMED: return "not a JWT";
    case GCP_JWT_BAD_ALG: return "alg must be RS256 or ES256";
    case GCP_JWT_NO_KEY: return "no unexpired key of the device for this alg";
    case GCP_JWT_BAD_SIGNATURE: return "signature not verified by any device key";
    case GCP_JWT_MISSING_TIMES: return "iat and exp must be present";
    case GCP_JWT_BAD_AUDIENCE: return "aud must be the project id";
    case GCP_JWT_TOO_LONG: return "exp - iat must be positive and at most 24 h";
    case GCP_JWT_NOT_YET_VALID: return "iat is in the future";
    case GCP_JWT_EXPIRED: return "token expired";
    }
    return "unknown";
}

/* Decode base64url text of n characters into out (size >= n); returns length or -1. */
static int base64url_decode(const char *in, size_t n, unsigned char *out)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned int acc = 0;
    int bits = 0, len = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = in[i] ? strchr(alphabet, in[i]) : NULL;
        if (!p)
            return -1;
        acc = (acc << 6) | (unsigned int)(p - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (unsigned char)(acc >> bits);
        }
    }
    return len;
}

/* Read the alg from the header without verifying anything. */
static enum gcp_jwt_result token_alg(const char *token, jwt_alg_t *alg)
{
    const char *dot = strchr(token, '.');
    unsigned char header[512];
    if (!dot || dot == token || (size_t)(dot - token) > sizeof header || !strchr(dot + 1, '.'))
        return GCP_JWT_MALFORMED;
    int n = base64url_decode(token, (size_t)(dot - token), header);
    json_t *h = n > 0 ? json_loadb((const char *)header, (size_t)n, 0, NULL) : NULL;
    const char *name = json_string_value(json_object_get(h, "alg"));
    if (!name) {
        json_decref(h);
        return GCP_JWT_MALFORMED;
    }
    *alg = jwt_str_alg(name);
    bool ok = strcmp(name, "RS256") == 0 || strcmp(name, "ES256") == 0;
    json_decref(h);
    return ok ? GCP_JWT_OK : GCP_JWT_BAD_ALG;
}

/* Verify with every usable key; *out is the decoded token on success. */
static enum gcp_jwt_result verify_with_keys(const char *token, jwt_alg_t alg,
                                            const struct gcp_device *dev, int64_t now_s,
                                            jwt_t **out)
{
    enum gcp_key_alg want = alg == JWT_ALG_ES256 ? GCP_KEY_ES256 : GCP_KEY_RS256;
    bool tried = false;
    for (int i = 0; i < dev->key_count; i++) {
        const struct gcp_key *k = &dev->keys[i];
        if (k->alg != want || (k->expires_s && k->expires_s <= now_s))
            continue;
        tried = true;
        jwt_t *j = NULL;
        if (jwt_decode(&j, token, (const unsigned char *)k->pem, (int)k->pem_len) == 0 && j) {
            if (jwt_get_alg(j) == alg) { /* never trust a header that changed meaning */
                *out = j;
                return GCP_JWT_OK;
            }
            jwt_free(j);
        }
    }
    return tried ? GCP_JWT_BAD_SIGNATURE : GCP_JWT_NO_KEY;
}

/* Claims: aud, iat, exp and their time rules. */
static enum gcp_jwt_result check_claims(jwt_t *j, const char *project, int64_t now_s,
                                        int64_t *exp_s)
{
    errno = 0;
    long iat = jwt_get_grant_int(j, "iat");
    bool iat_ok = errno != ENOENT && iat > 0;
    errno = 0;
    long exp = jwt_get_grant_int(j, "exp");
    bool exp_ok = errno != ENOENT && exp > 0;
    if (!iat_ok || !exp_ok)
        return GCP_JWT_MISSING_TIMES;
    const char *aud = jwt_get_grant(j, "aud");
    if (!aud || strcmp(aud, project) != 0)
        return GCP_JWT_BAD_AUDIENCE;
    if (exp <= iat || exp - iat > GCP_JWT_MAX_LIFETIME_S)
        return GCP_JWT_TOO_LONG;
    if (iat > now_s + GCP_JWT_SKEW_S)
        return GCP_JWT_NOT_YET_VALID;
    if (now_s > exp + GCP_JWT_SKEW_S)
        return GCP_JWT_EXPIRED;
    if (exp_s)
        *exp_s = exp;
    return GCP_JWT_OK;
}

enum gcp_jwt_result gcp_jwt_check(const char *token, const struct gcp_device *dev,
                                  const char *project, int64_t now_s, int64_t *exp_s)
{
    if (!token || !dev || !project)
        return GCP_JWT_MALFORMED;
    jwt_alg_t alg;
    enum gcp_jwt_result r = token_alg(token, &alg);
    if (r != GCP_JWT_OK)
        return r;
    jwt_t *j = NULL;
    r = verify_with_keys(token, alg, dev, now_s, &j);
    if (r != GCP_JWT_OK)
        return r;
    r = check_claims(j, project, now_s, exp_s);
    jwt_free(j);
    return r;
}
