/*
 * fw_jwt.c - JWT framing and base64url (see fw_jwt.h). The claims are
 * written with fw_json so the audience is escaped like any JSON string.
 */
#include <string.h>

#include "fw_json.h"
#include "fw_jwt.h"

static const char fw_jwt__alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t fw_jwt__b64_len(size_t len)
{
    return len / 3u * 4u + (len % 3u == 0 ? 0 : len % 3u + 1u);
}

enum fw_jwt_status fw_base64url_encode(const uint8_t *in, size_t len, char *out, size_t cap,
                                       size_t *out_len)
{
    size_t i, o = 0, need;
    if ((in == NULL && len > 0) || out == NULL || out_len == NULL)
        return FW_JWT_BAD_ARG;
    need = fw_jwt__b64_len(len);
    if (need >= cap)
        return FW_JWT_NO_SPACE;
    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = fw_jwt__alphabet[(v >> 18) & 63u];
        out[o++] = fw_jwt__alphabet[(v >> 12) & 63u];
        out[o++] = fw_jwt__alphabet[(v >> 6) & 63u];
        out[o++] = fw_jwt__alphabet[v & 63u];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = fw_jwt__alphabet[(v >> 18) & 63u];
        out[o++] = fw_jwt__alphabet[(v >> 12) & 63u];
    } else if (len - i == 2) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);
        out[o++] = fw_jwt__alphabet[(v >> 18) & 63u];
        out[o++] = fw_jwt__alphabet[(v >> 12) & 63u];
        out[o++] = fw_jwt__alphabet[(v >> 6) & 63u];
    }
    out[o] = '\0';
    *out_len = o;
    return FW_JWT_OK;
}

/* Append base64url(data) to out at *pos. */
static enum fw_jwt_status fw_jwt__append_b64(const void *data, size_t len, char *out, size_t cap,
                                             size_t *pos)
{
    size_t n;
    enum fw_jwt_status st = fw_base64url_encode(data, len, out + *pos, cap - *pos, &n);
    if (st == FW_JWT_OK)
        *pos += n;
    return st;
}

static enum fw_jwt_status fw_jwt__append_char(char c, char *out, size_t cap, size_t *pos)
{
    if (*pos + 1 >= cap)
        return FW_JWT_NO_SPACE;
    out[(*pos)++] = c;
    out[*pos] = '\0';
    return FW_JWT_OK;
}

static enum fw_jwt_status fw_jwt__claims(const struct fw_jwt_params *params, uint64_t iat,
                                         char *json, size_t cap, size_t *len)
{
    struct fw_json_writer w;
    enum fw_json_status st;
    fw_json_writer_init(&w, json, cap);
    fw_json_object_begin(&w);
    fw_json_key(&w, "iat");
    fw_json_int(&w, (int64_t)iat);
    fw_json_key(&w, "exp");
    fw_json_int(&w, (int64_t)(iat + params->lifetime_s));
    fw_json_key(&w, "aud");
    fw_json_string(&w, params->audience, strlen(params->audience));
    fw_json_object_end(&w);
    st = fw_json_writer_finish(&w, len);
    if (st == FW_JSON_NO_SPACE)
        return FW_JWT_BAD_ARG; /* audience longer than FW_JWT_MAX_CLAIMS allows */
    return st == FW_JSON_OK ? FW_JWT_OK : FW_JWT_BAD_ARG;
}

static enum fw_jwt_status fw_jwt__issued_at(const struct fw_port *port,
                                            const struct fw_jwt_params *params, uint64_t *iat)
{
    *iat = params->iat;
    if (*iat == 0 && port->unix_time_s != NULL)
        *iat = port->unix_time_s(port->ctx);
    if (*iat == 0 || *iat > (uint64_t)INT64_MAX / 2)
        return FW_JWT_NO_TIME;
    return FW_JWT_OK;
}

/* Sign out[0..*pos) through the port and append "." base64url(signature). */
static enum fw_jwt_status fw_jwt__sign(const struct fw_port *port, enum fw_sign_alg alg, char *out,
                                       size_t cap, size_t *pos)
{
    uint8_t sig[FW_JWT_MAX_SIGNATURE];
    size_t sig_len = 0;
    enum fw_jwt_status st;
    if (port->sign(port->ctx, alg, (const uint8_t *)out, *pos, sig, sizeof(sig), &sig_len) != 0 ||
        sig_len == 0 || sig_len > sizeof(sig) || (alg == FW_SIGN_ES256 && sig_len != 64))
        return FW_JWT_SIGN_FAILED;
    st = fw_jwt__append_char('.', out, cap, pos);
    if (st == FW_JWT_OK)
        st = fw_jwt__append_b64(sig, sig_len, out, cap, pos);
    return st;
}

enum fw_jwt_status fw_jwt_build(const struct fw_port *port, const struct fw_jwt_params *params,
                                char *out, size_t cap, size_t *out_len, uint64_t *exp)
{
    static const char es256[] = "{\"alg\":\"ES256\",\"typ\":\"JWT\"}";
    static const char rs256[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
    char claims[FW_JWT_MAX_CLAIMS];
    size_t claims_len, pos = 0;
    uint64_t iat;
    enum fw_jwt_status st;

    if (port == NULL || port->sign == NULL || params == NULL || params->audience == NULL ||
        params->audience[0] == '\0' || out == NULL || cap == 0 || out_len == NULL ||
        params->lifetime_s == 0 || params->lifetime_s > 86400u ||
        (params->alg != FW_SIGN_ES256 && params->alg != FW_SIGN_RS256))
        return FW_JWT_BAD_ARG;
    st = fw_jwt__issued_at(port, params, &iat);
    if (st == FW_JWT_OK)
        st = fw_jwt__claims(params, iat, claims, sizeof(claims), &claims_len);
    if (st == FW_JWT_OK)
        st = params->alg == FW_SIGN_ES256
                 ? fw_jwt__append_b64(es256, sizeof(es256) - 1, out, cap, &pos)
                 : fw_jwt__append_b64(rs256, sizeof(rs256) - 1, out, cap, &pos);
    if (st == FW_JWT_OK)
        st = fw_jwt__append_char('.', out, cap, &pos);
    if (st == FW_JWT_OK)
        st = fw_jwt__append_b64(claims, claims_len, out, cap, &pos);
    if (st == FW_JWT_OK)
        st = fw_jwt__sign(port, params->alg, out, cap, &pos);
    if (st != FW_JWT_OK)
        return st;
    if (params->max_len > 0 && pos > params->max_len)
        return FW_JWT_TOO_LONG;
    *out_len = pos;
    if (exp != NULL)
        *exp = iat + params->lifetime_s;
    return FW_JWT_OK;
}

const char *fw_jwt_status_str(enum fw_jwt_status status)
{
    switch (status) {
    case FW_JWT_OK: return "ok";
    case FW_JWT_NO_SPACE: return "buffer too small";
    case FW_JWT_BAD_ARG: return "bad argument";
    case FW_JWT_NO_TIME: return "no wall-clock time";
    case FW_JWT_SIGN_FAILED: return "signing failed";
    case FW_JWT_TOO_LONG: return "token longer than allowed";
    }
    return "unknown status";
}
