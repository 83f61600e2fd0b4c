/* gcp_jwt — Cloud IoT Core JWT verification with libjwt 1.10 (see gcp_jwt.h). */
#include "gcp_jwt.h"

#include <errno.h>
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

/* Read the alg from the header without verifying anything. */
static enum gcp_jwt_result token_alg(const char *token, jwt_alg_t *alg)
{
    jwt_t *peek = NULL;
    if (jwt_decode(&peek, token, NULL, 0) != 0 || !peek)
        return GCP_JWT_MALFORMED;
    *alg = jwt_get_alg(peek);
    jwt_free(peek);
    if (*alg != JWT_ALG_RS256 && *alg != JWT_ALG_ES256)
        return GCP_JWT_BAD_ALG;
    return GCP_JWT_OK;
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
