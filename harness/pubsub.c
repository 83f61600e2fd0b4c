/* pubsub — decoding GCP Pub/Sub envelopes (pubsub.h). */
#include "pubsub.h"

#include <stdlib.h>
#include <string.h>

/* Value of one base64 alphabet character, or -1. */
static int base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decode one 4-character group into out; returns the byte count (1-3) or -1. */
static int decode_group(const char *g, int last, unsigned char *out)
{
    int pad = (g[3] == '=') + (g[2] == '=');
    if ((pad && !last) || (g[2] == '=' && g[3] != '='))
        return -1;
    int v[4] = { 0, 0, 0, 0 };
    for (int i = 0; i < 4 - pad; i++) {
        v[i] = base64_value((unsigned char)g[i]);
        if (v[i] < 0)
            return -1;
    }
    unsigned long bits = ((unsigned long)v[0] << 18) | ((unsigned long)v[1] << 12) |
                         ((unsigned long)v[2] << 6) | (unsigned long)v[3];
    out[0] = (unsigned char)(bits >> 16);
    out[1] = (unsigned char)(bits >> 8);
    out[2] = (unsigned char)bits;
    return 3 - pad;
}

unsigned char *pubsub_base64_decode(const char *text, size_t n, size_t *out_len)
{
    if (!text || n % 4)
        return NULL;
    unsigned char *out = malloc(n / 4 * 3 + 1);
    if (!out)
        return NULL;
    size_t len = 0;
    for (size_t i = 0; i < n; i += 4) {
        int got = decode_group(text + i, i + 4 == n, out + len);
        if (got < 0) {
            free(out);
            return NULL;
        }
        len += (size_t)got;
    }
    out[len] = '\0';
    *out_len = len;
    return out;
}

int pubsub_decode_envelope(json_t *envelope)
{
    json_t *data = json_object_get(envelope, "data");
    if (!json_is_string(data))
        return -1;
    size_t len;
    unsigned char *bytes = pubsub_base64_decode(json_string_value(data), json_string_length(data), &len);
    if (!bytes)
        return -1;
    json_t *decoded = json_loadb((const char *)bytes, len, JSON_DECODE_ANY, NULL);
    if (!decoded)
        decoded = json_stringn((const char *)bytes, len); /* NULL unless UTF-8 */
    free(bytes);
    if (!decoded)
        return -1;
    json_object_set(envelope, "data_base64", data);
    json_object_set_new(envelope, "data", decoded);
    return 0;
}
