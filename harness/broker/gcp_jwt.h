/*
 * gcp_jwt — check a Cloud IoT Core device JWT (the MQTT password) with libjwt.
 *
 * Rules (cloud-rules.md §2.1): alg RS256 or ES256 only; signature verified by
 * any unexpired key of the device whose algorithm matches; iat and exp
 * present and positive; aud = the project id (a single string);
 * exp - iat <= 24 h; 10 minutes of clock skew on both iat and exp.
 * Time is passed in (virtual clock), never read here.
 */
#ifndef CELLBENCH_BROKER_GCP_JWT_H
#define CELLBENCH_BROKER_GCP_JWT_H

#include <stdint.h>

#include "registry.h"

/** Allowed clock skew on iat and exp, seconds. */
#define GCP_JWT_SKEW_S 600

/** Longest token lifetime exp - iat, seconds. */
#define GCP_JWT_MAX_LIFETIME_S (24 * 3600)

/** Outcome of a token check. */
enum gcp_jwt_result {
    GCP_JWT_OK,
    GCP_JWT_MALFORMED,     /* not a JWT at all */
    GCP_JWT_BAD_ALG,       /* alg other than RS256 / ES256 (none, HS256, ...) */
    GCP_JWT_NO_KEY,        /* the device has no unexpired key for that alg */
    GCP_JWT_BAD_SIGNATURE, /* no key verifies the signature */
    GCP_JWT_MISSING_TIMES, /* iat or exp missing or not a positive integer */
    GCP_JWT_BAD_AUDIENCE,  /* aud missing, not a string, or not the project */
    GCP_JWT_TOO_LONG,      /* exp - iat over 24 h, or exp <= iat */
    GCP_JWT_NOT_YET_VALID, /* iat more than the skew in the future */
    GCP_JWT_EXPIRED,       /* exp + skew already passed */
};

/**
 * Check token for device dev of project at virtual time now_s.
 * On GCP_JWT_OK *exp_s receives the token's exp (may be NULL).
 */
enum gcp_jwt_result gcp_jwt_check(const char *token, const struct gcp_device *dev,
                                  const char *project, int64_t now_s, int64_t *exp_s);

/** A short English description of a result. */
const char *gcp_jwt_result_str(enum gcp_jwt_result result);

#endif /* CELLBENCH_BROKER_GCP_JWT_H */
