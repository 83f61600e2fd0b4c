/*
 * fw_bus.c - the bus application's data (see fw_bus.h).
 */
#include <string.h>

#include "fw_at.h"
#include "fw_bus.h"

#define FW_BUS_TOKENS 48u

static void fw_bus__reason(char *reason, size_t cap, const char *a, const char *b)
{
    size_t n = 0, k;
    if (reason == NULL || cap == 0)
        return;
    for (k = 0; a[k] != '\0' && n + 1 < cap; k++)
        reason[n++] = a[k];
    for (k = 0; b != NULL && b[k] != '\0' && n + 1 < cap; k++)
        reason[n++] = b[k];
    reason[n] = '\0';
}

/* ---- GNSS ---------------------------------------------------------------- */

/* Unsigned decimal text as fixed point with `decimals` digits (more are cut). */
static bool fw_bus__fixed(const char *s, unsigned decimals, int64_t *out)
{
    int64_t v = 0;
    unsigned frac = 0;
    bool dot = false, digits = false;
    for (; *s != '\0'; s++) {
        if (*s == '.' && !dot) {
            dot = true;
            continue;
        }
        if (*s < '0' || *s > '9' || v > 100000000000000LL)
            return false;
        digits = true;
        if (dot && frac == decimals)
            continue;
        v = v * 10 + (*s - '0');
        frac += dot;
    }
    for (; frac < decimals; frac++) {
        if (v > 100000000000000LL)
            return false; /* keeps v * 10 far from overflow */
        v *= 10;
    }
    *out = v;
    return digits;
}

/* "ddmm.mmmmmm" (or dddmm...) and a hemisphere letter to millionths of a degree. */
static bool fw_bus__angle(const char *text, const char *hemi, char neg, int32_t limit_e6,
                          int32_t *out)
{
    int64_t v, deg, min_e6, angle;
    if (!fw_bus__fixed(text, 6, &v))
        return false;
    deg = v / 100000000;
    min_e6 = v % 100000000;
    if (min_e6 >= 60000000 || hemi[1] != '\0')
        return false;
    angle = deg * 1000000 + (min_e6 + 30) / 60;
    if (angle > limit_e6)
        return false;
    if (hemi[0] == neg)
        angle = -angle;
    else if (hemi[0] != (neg == 'S' ? 'N' : 'E'))
        return false;
    *out = (int32_t)angle;
    return true;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's method). */
static int64_t fw_bus__days(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool fw_bus__two(const char *s, unsigned *v)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return false;
    *v = (unsigned)(s[0] - '0') * 10u + (unsigned)(s[1] - '0');
    return true;
}

/* ddmmyy and hhmmss[.s] to Unix seconds. */
static bool fw_bus__time(const char *date, const char *utc, uint64_t *out)
{
    unsigned d, mo, y, h, mi, s;
    if (strlen(date) != 6 || strlen(utc) < 6 || !fw_bus__two(date, &d) ||
        !fw_bus__two(date + 2, &mo) || !fw_bus__two(date + 4, &y) || !fw_bus__two(utc, &h) ||
        !fw_bus__two(utc + 2, &mi) || !fw_bus__two(utc + 4, &s))
        return false;
    if (d < 1 || d > 31 || mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 60)
        return false;
    *out = (uint64_t)(fw_bus__days(2000 + (int64_t)y, mo, d) * 86400 + h * 3600u + mi * 60u + s);
    return true;
}

enum fw_bus_status fw_bus_parse_cgpsinfo(const char *line, size_t len, struct fw_bus_fix *fix)
{
    char f[8][24];
    unsigned i;
    int64_t knots_e3;
    struct fw_bus_fix out;
    if (line == NULL || fix == NULL || len < 11 || memcmp(line, "+CGPSINFO:", 10) != 0)
        return FW_BUS_INVALID;
    for (i = 0; i < 8; i++) {
        if (!fw_at_arg_str(line, len, i, f[i], sizeof(f[i]), NULL))
            return FW_BUS_INVALID;
    }
    if (f[0][0] == '\0')
        return FW_BUS_NO_FIX; /* +CGPSINFO: ,,,,,,,, */
    if (!fw_bus__angle(f[0], f[1], 'S', 90000000, &out.lat_e6) ||
        !fw_bus__angle(f[2], f[3], 'W', 180000000, &out.lon_e6) ||
        !fw_bus__time(f[4], f[5], &out.unix_time) || !fw_bus__fixed(f[7], 3, &knots_e3) ||
        knots_e3 > 1000000)
        return FW_BUS_INVALID;
    out.speed_kmh_e1 = (int32_t)((knots_e3 * 1852 + 50000) / 100000); /* 1 kn = 1.852 km/h */
    *fix = out;
    return FW_BUS_OK;
}

/* ---- configuration and commands ---------------------------------------- */

struct fw_bus__doc {
    struct fw_json_token tokens[FW_BUS_TOKENS];
    struct fw_json_doc doc;
};

static enum fw_bus_status fw_bus__parse(struct fw_bus__doc *d, const char *json, size_t len,
                                        char *reason, size_t cap)
{
    size_t off;
    enum fw_json_status st;
    if (json == NULL) {
        fw_bus__reason(reason, cap, "no document", NULL);
        return FW_BUS_INVALID;
    }
    st = fw_json_parse(json, len, d->tokens, FW_BUS_TOKENS, &d->doc, &off);
    if (st != FW_JSON_OK) {
        fw_bus__reason(reason, cap, "invalid JSON: ", fw_json_status_str(st));
        return FW_BUS_INVALID;
    }
    if (d->tokens[0].type != FW_JSON_OBJECT) {
        fw_bus__reason(reason, cap, "invalid JSON: ", "not an object");
        return FW_BUS_INVALID;
    }
    return FW_BUS_OK;
}

/* A name for topics and events: 1..cap-1 bytes, no '/', '+', '#', '"'. */
static bool fw_bus__name(const struct fw_json_doc *doc, size_t tok, char *out, size_t cap)
{
    size_t n, i;
    if (fw_json_get_string(doc, tok, out, cap, &n) != FW_JSON_OK || n == 0)
        return false;
    for (i = 0; i < n; i++) {
        if (out[i] == '/' || out[i] == '+' || out[i] == '#' || out[i] == '"' ||
            (unsigned char)out[i] < 0x20)
            return false;
    }
    return true;
}

static bool fw_bus__fixed_in(const struct fw_json_doc *doc, size_t obj, const char *key,
                             unsigned decimals, int64_t min, int64_t max, int64_t *out)
{
    size_t v;
    return fw_json_object_get(doc, obj, key, &v) == FW_JSON_OK &&
           fw_json_get_fixed(doc, v, decimals, out) == FW_JSON_OK && *out >= min && *out <= max;
}

static bool fw_bus__depot(const struct fw_json_doc *doc, size_t obj, struct fw_bus_config *c,
                          const char **bad)
{
    size_t v;
    int64_t x;
    *bad = "depot.name";
    if (fw_json_object_get(doc, obj, "name", &v) != FW_JSON_OK ||
        !fw_bus__name(doc, v, c->depot, sizeof(c->depot)))
        return false;
    *bad = "depot.lat";
    if (!fw_bus__fixed_in(doc, obj, "lat", 6, -90000000, 90000000, &x))
        return false;
    c->depot_lat_e6 = (int32_t)x;
    *bad = "depot.lon";
    if (!fw_bus__fixed_in(doc, obj, "lon", 6, -180000000, 180000000, &x))
        return false;
    c->depot_lon_e6 = (int32_t)x;
    *bad = "depot.radius_m";
    if (fw_json_object_get(doc, obj, "radius_m", &v) == FW_JSON_OK) {
        if (fw_json_get_int(doc, v, 10, 100000, &x) != FW_JSON_OK)
            return false;
        c->depot_radius_m = (uint32_t)x;
    }
    return true;
}

/* Fill c from the parsed document; *bad names the offending member. */
static bool fw_bus__config(const struct fw_json_doc *doc, struct fw_bus_config *c, const char **bad)
{
    size_t v;
    int64_t x;
    memset(c, 0, sizeof(*c));
    c->report_interval_s = 30;
    c->depot_radius_m = 100;
    *bad = "speed_threshold_kmh";
    if (!fw_bus__fixed_in(doc, 0, "speed_threshold_kmh", 1, 0, 3000, &x))
        return false;
    c->speed_threshold_kmh_e1 = (int32_t)x;
    *bad = "route";
    if (fw_json_object_get(doc, 0, "route", &v) == FW_JSON_OK &&
        !fw_bus__name(doc, v, c->route, sizeof(c->route)))
        return false;
    *bad = "report_interval_s";
    if (fw_json_object_get(doc, 0, "report_interval_s", &v) == FW_JSON_OK) {
        if (fw_json_get_int(doc, v, 1, 86400, &x) != FW_JSON_OK)
            return false;
        c->report_interval_s = (uint32_t)x;
    }
    *bad = "depot";
    if (fw_json_object_get(doc, 0, "depot", &v) != FW_JSON_OK)
        return true; /* no destination depot: no arrival detection */
    if (doc->tokens[v].type != FW_JSON_OBJECT)
        return false;
    return fw_bus__depot(doc, v, c, bad);
}

enum fw_bus_status fw_bus_parse_config(const char *json, size_t len, struct fw_bus_config *cfg,
                                       char *reason, size_t cap)
{
    struct fw_bus__doc d;
    struct fw_bus_config c;
    const char *bad;
    enum fw_bus_status st = fw_bus__parse(&d, json, len, reason, cap);
    if (st != FW_BUS_OK || cfg == NULL)
        return FW_BUS_INVALID;
    if (!fw_bus__config(&d.doc, &c, &bad)) {
        fw_bus__reason(reason, cap, "missing or invalid: ", bad);
        return FW_BUS_INVALID;
    }
    *cfg = c;
    return FW_BUS_OK;
}

enum fw_bus_status fw_bus_parse_command(const char *json, size_t len, struct fw_bus_command *cmd,
                                        char *reason, size_t cap)
{
    struct fw_bus__doc d;
    struct fw_bus_command c;
    char kind[16];
    size_t v;
    enum fw_bus_status st = fw_bus__parse(&d, json, len, reason, cap);
    if (st != FW_BUS_OK || cmd == NULL)
        return FW_BUS_INVALID;
    memset(&c, 0, sizeof(c));
    if (fw_json_object_get(&d.doc, 0, "cmd", &v) != FW_JSON_OK ||
        fw_json_get_string(&d.doc, v, kind, sizeof(kind), NULL) != FW_JSON_OK) {
        fw_bus__reason(reason, cap, "missing or invalid: ", "cmd");
        return FW_BUS_INVALID;
    }
    if (strcmp(kind, "location") == 0) {
        c.kind = FW_BUS_CMD_LOCATION;
    } else if (strcmp(kind, "picture") == 0) {
        c.kind = FW_BUS_CMD_PICTURE;
    } else {
        fw_bus__reason(reason, cap, "unknown command: ", kind);
        return FW_BUS_INVALID;
    }
    if (fw_json_object_get(&d.doc, 0, "id", &v) == FW_JSON_OK &&
        !fw_bus__name(&d.doc, v, c.id, sizeof(c.id))) {
        fw_bus__reason(reason, cap, "missing or invalid: ", "id");
        return FW_BUS_INVALID;
    }
    *cmd = c;
    return FW_BUS_OK;
}

/* ---- position ------------------------------------------------------------ */

/* cos(x) for |x| <= pi/2 by its Taylor series up to x^10 (error < 1e-6). */
static float fw_bus__cos(float x)
{
    float x2 = x * x;
    return 1.0f - x2 / 2.0f * (1.0f - x2 / 12.0f * (1.0f - x2 / 30.0f *
                                (1.0f - x2 / 56.0f * (1.0f - x2 / 90.0f))));
}

static uint32_t fw_bus__isqrt(uint64_t v)
{
    uint64_t r = 0, bit = (uint64_t)1 << 62;
    while (bit > v)
        bit >>= 2;
    while (bit != 0) {
        if (v >= r + bit) {
            v -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return (uint32_t)r;
}

uint32_t fw_bus_depot_distance_m(const struct fw_bus_config *cfg, const struct fw_bus_fix *fix)
{
    const float m_per_e6 = 0.111194927f; /* metres per millionth of a degree (R = 6371 km) */
    const float rad_per_e6 = 1.74532925e-8f;
    float mid = ((float)cfg->depot_lat_e6 + (float)fix->lat_e6) * 0.5f * rad_per_e6;
    float dy = (float)(fix->lat_e6 - cfg->depot_lat_e6) * m_per_e6;
    float dx = (float)(fix->lon_e6 - cfg->depot_lon_e6) * m_per_e6 * fw_bus__cos(mid);
    float d2 = dx * dx + dy * dy;
    if (d2 >= 1.8e19f)
        return UINT32_MAX;
    return fw_bus__isqrt((uint64_t)d2);
}

bool fw_bus_at_depot(const struct fw_bus_config *cfg, const struct fw_bus_fix *fix)
{
    return cfg->depot[0] != '\0' && fw_bus_depot_distance_m(cfg, fix) <= cfg->depot_radius_m;
}

bool fw_bus_speed_reportable(const struct fw_bus_config *cfg, const struct fw_bus_fix *fix)
{
    return fix->speed_kmh_e1 > cfg->speed_threshold_kmh_e1;
}

/* ---- events -------------------------------------------------------------- */

static void fw_bus__head(struct fw_json_writer *w, const struct fw_bus_identity *id,
                         const char *type, uint64_t ts)
{
    fw_json_object_begin(w);
    fw_json_key(w, "type");
    fw_json_string(w, type, strlen(type));
    fw_json_key(w, "bus");
    fw_json_string(w, id->bus, strlen(id->bus));
    fw_json_key(w, "route");
    fw_json_string(w, id->route, strlen(id->route));
    fw_json_key(w, "ts");
    fw_json_int(w, (int64_t)ts);
    if (id->seq != 0) {
        fw_json_key(w, "seq");
        fw_json_int(w, id->seq);
    }
}

static void fw_bus__position(struct fw_json_writer *w, const struct fw_bus_fix *fix)
{
    fw_json_key(w, "position");
    fw_json_object_begin(w);
    fw_json_key(w, "lat");
    fw_json_fixed(w, fix->lat_e6, 6);
    fw_json_key(w, "lon");
    fw_json_fixed(w, fix->lon_e6, 6);
    fw_json_object_end(w);
    fw_json_key(w, "speed_kmh");
    fw_json_fixed(w, fix->speed_kmh_e1, 1);
}

static enum fw_bus_status fw_bus__end(struct fw_json_writer *w, size_t *len)
{
    enum fw_json_status st;
    fw_json_object_end(w);
    st = fw_json_writer_finish(w, len);
    if (st == FW_JSON_NO_SPACE)
        return FW_BUS_NO_SPACE;
    return st == FW_JSON_OK ? FW_BUS_OK : FW_BUS_INVALID;
}

static bool fw_bus__identity_ok(const struct fw_bus_identity *id)
{
    return id != NULL && id->bus != NULL && id->route != NULL;
}

enum fw_bus_status fw_bus_event_speed(const struct fw_bus_identity *id, const struct fw_bus_fix *fix,
                                      uint64_t ts, char *buf, size_t cap, size_t *len)
{
    struct fw_json_writer w;
    if (!fw_bus__identity_ok(id) || fix == NULL || len == NULL)
        return FW_BUS_INVALID;
    fw_json_writer_init(&w, buf, cap);
    fw_bus__head(&w, id, "speed", ts);
    fw_bus__position(&w, fix);
    return fw_bus__end(&w, len);
}

enum fw_bus_status fw_bus_event_location(const struct fw_bus_identity *id,
                                         const struct fw_bus_fix *fix, const char *request,
                                         uint64_t ts, char *buf, size_t cap, size_t *len)
{
    struct fw_json_writer w;
    if (!fw_bus__identity_ok(id) || fix == NULL || len == NULL)
        return FW_BUS_INVALID;
    fw_json_writer_init(&w, buf, cap);
    fw_bus__head(&w, id, "location", ts);
    fw_bus__position(&w, fix);
    if (request != NULL) {
        fw_json_key(&w, "request");
        fw_json_string(&w, request, strlen(request));
    }
    return fw_bus__end(&w, len);
}

enum fw_bus_status fw_bus_event_arrival(const struct fw_bus_identity *id,
                                        const struct fw_bus_config *cfg,
                                        const struct fw_bus_fix *fix, uint64_t ts, char *buf,
                                        size_t cap, size_t *len)
{
    struct fw_json_writer w;
    if (!fw_bus__identity_ok(id) || cfg == NULL || fix == NULL || len == NULL)
        return FW_BUS_INVALID;
    fw_json_writer_init(&w, buf, cap);
    fw_bus__head(&w, id, "depot_arrival", ts);
    fw_json_key(&w, "depot");
    fw_json_string(&w, cfg->depot, strlen(cfg->depot));
    fw_bus__position(&w, fix);
    return fw_bus__end(&w, len);
}

enum fw_bus_status fw_bus_event_identification(const struct fw_bus_identity *id,
                                               const char *registration, uint64_t ts, char *buf,
                                               size_t cap, size_t *len)
{
    struct fw_json_writer w;
    if (!fw_bus__identity_ok(id) || registration == NULL || len == NULL)
        return FW_BUS_INVALID;
    fw_json_writer_init(&w, buf, cap);
    fw_bus__head(&w, id, "identification", ts);
    fw_json_key(&w, "registration");
    fw_json_string(&w, registration, strlen(registration));
    return fw_bus__end(&w, len);
}

enum fw_bus_status fw_bus_event_error(const struct fw_bus_identity *id, const char *error,
                                      const char *detail, uint64_t ts, char *buf, size_t cap,
                                      size_t *len)
{
    struct fw_json_writer w;
    if (!fw_bus__identity_ok(id) || error == NULL || len == NULL)
        return FW_BUS_INVALID;
    fw_json_writer_init(&w, buf, cap);
    fw_bus__head(&w, id, "error", ts);
    fw_json_key(&w, "error");
    fw_json_string(&w, error, strlen(error));
    if (detail != NULL) {
        fw_json_key(&w, "detail");
        fw_json_string(&w, detail, strlen(detail));
    }
    return fw_bus__end(&w, len);
}

size_t fw_bus_picture_chunk_size(size_t max_event)
{
    if (max_event <= FW_BUS_PICTURE_OVERHEAD)
        return 0;
    return (max_event - FW_BUS_PICTURE_OVERHEAD) / 4u * 3u;
}

enum fw_bus_status fw_bus_event_picture_chunk(const struct fw_bus_identity *id, uint32_t picture,
                                              enum fw_bus_picture_reason reason,
                                              const char *request, uint32_t chunk,
                                              uint32_t chunks, const uint8_t *data, size_t len,
                                              uint64_t ts, char *buf, size_t cap, size_t *out_len)
{
    static const char *const reasons[] = {"phone", "drinking", "drowsy", "query"};
    struct fw_json_writer w;
    if (!fw_bus__identity_ok(id) || reason > FW_BUS_PIC_QUERY || chunk >= chunks ||
        (data == NULL && len > 0) || out_len == NULL)
        return FW_BUS_INVALID;
    fw_json_writer_init(&w, buf, cap);
    fw_bus__head(&w, id, "picture", ts);
    fw_json_key(&w, "picture");
    fw_json_int(&w, picture);
    fw_json_key(&w, "trigger");
    fw_json_string(&w, reasons[reason], strlen(reasons[reason]));
    if (request != NULL) {
        fw_json_key(&w, "request");
        fw_json_string(&w, request, strlen(request));
    }
    fw_json_key(&w, "chunk");
    fw_json_object_begin(&w);
    fw_json_key(&w, "index");
    fw_json_int(&w, chunk);
    fw_json_key(&w, "count");
    fw_json_int(&w, chunks);
    fw_json_key(&w, "bytes");
    fw_json_int(&w, (int64_t)len);
    fw_json_object_end(&w);
    fw_json_key(&w, "data");
    fw_json_base64url(&w, data, len);
    return fw_bus__end(&w, out_len);
}

const char *fw_bus_status_str(enum fw_bus_status status)
{
    switch (status) {
    case FW_BUS_OK: return "ok";
    case FW_BUS_NO_FIX: return "no GNSS fix";
    case FW_BUS_INVALID: return "invalid";
    case FW_BUS_NO_SPACE: return "buffer too small";
    }
    return "unknown status";
}
