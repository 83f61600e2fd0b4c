/* route — GPS traces: GPX/NMEA/waypoints to a 1 Hz route (see route.h). */
#include "route.h"
#include "readfile.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEG (M_PI / 180.0)
/* The longest route: a week. */
#define MAX_ROUTE_S (7.0 * 86400.0)
/* Below this a segment counts as standing still (course kept). */
#define ROUTE_STANDING_M 0.05

static int route_fail(struct route_error *err, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int route_fail(struct route_error *err, int line, const char *fmt, ...)
{
    if (err != NULL) {
        err->line = line;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
        va_end(ap);
    }
    return -1;
}

double route_distance_m(double lat1, double lon1, double lat2, double lon2)
{
    double dlat = (lat2 - lat1) * DEG;
    double dlon = (lon2 - lon1) * DEG;
    double a = sin(dlat / 2) * sin(dlat / 2) + cos(lat1 * DEG) * cos(lat2 * DEG) * sin(dlon / 2) * sin(dlon / 2);
    return 2.0 * ROUTE_EARTH_RADIUS_M * atan2(sqrt(a), sqrt(1.0 - a));
}

double route_bearing_deg(double lat1, double lon1, double lat2, double lon2)
{
    double dlon = (lon2 - lon1) * DEG;
    double y = sin(dlon) * cos(lat2 * DEG);
    double x = cos(lat1 * DEG) * sin(lat2 * DEG) - sin(lat1 * DEG) * cos(lat2 * DEG) * cos(dlon);
    double b = atan2(y, x) / DEG;
    return b < 0 ? b + 360.0 : b;
}

bool route_within(double lat, double lon, double centre_lat, double centre_lon, double radius_m)
{
    return route_distance_m(lat, lon, centre_lat, centre_lon) <= radius_m;
}

/* Point at fraction f of the great circle from a to b (spherical interpolation). */
static void great_circle_point(const struct route_sample *a, const struct route_sample *b, double f, double *lat,
                               double *lon)
{
    double d = route_distance_m(a->lat, a->lon, b->lat, b->lon) / ROUTE_EARTH_RADIUS_M;
    if (d < 1e-12) {
        *lat = a->lat;
        *lon = a->lon;
        return;
    }
    double wa = sin((1.0 - f) * d) / sin(d);
    double wb = sin(f * d) / sin(d);
    double x = wa * cos(a->lat * DEG) * cos(a->lon * DEG) + wb * cos(b->lat * DEG) * cos(b->lon * DEG);
    double y = wa * cos(a->lat * DEG) * sin(a->lon * DEG) + wb * cos(b->lat * DEG) * sin(b->lon * DEG);
    double z = wa * sin(a->lat * DEG) + wb * sin(b->lat * DEG);
    *lat = atan2(z, sqrt(x * x + y * y)) / DEG;
    *lon = atan2(y, x) / DEG;
}

/* Fill speed and course of every point from the segment that leaves it. */
static void derive_motion(struct route *r)
{
    double course = 0.0;
    r->length_m = 0.0;
    for (size_t i = 0; i < r->count; i++) {
        struct route_point *p = &r->points[i];
        p->speed_kmh = 0.0;
        if (i + 1 < r->count) {
            const struct route_point *q = &r->points[i + 1];
            double d = route_distance_m(p->lat, p->lon, q->lat, q->lon);
            r->length_m += d;
            p->speed_kmh = d * 3.6; /* points are 1 s apart */
            if (d >= ROUTE_STANDING_M) {
                course = route_bearing_deg(p->lat, p->lon, q->lat, q->lon);
            }
        }
        p->course_deg = course;
    }
}

static int check_samples(const struct route_sample *s, size_t count, struct route_error *err)
{
    if (count < 2) {
        return route_fail(err, 0, "a route needs at least two fixes (found %zu)", count);
    }
    for (size_t i = 0; i < count; i++) {
        if (!(s[i].lat >= -90.0 && s[i].lat <= 90.0) || !(s[i].lon >= -180.0 && s[i].lon <= 180.0)) {
            return route_fail(err, 0, "fix %zu: position %g,%g out of range", i, s[i].lat, s[i].lon);
        }
        if (i > 0 && !(s[i].t_s > s[i - 1].t_s)) {
            return route_fail(err, 0, "fix %zu: time does not increase (%.3f s after %.3f s)", i, s[i].t_s,
                              s[i - 1].t_s);
        }
    }
    if (s[count - 1].t_s - s[0].t_s > MAX_ROUTE_S) {
        return route_fail(err, 0, "a route may last at most 7 days");
    }
    return 0;
}

int route_from_samples(const struct route_sample *samples, size_t count, struct route *out, struct route_error *err)
{
    memset(out, 0, sizeof(*out));
    if (check_samples(samples, count, err) != 0) {
        return -1;
    }
    double t0 = samples[0].t_s;
    size_t n = (size_t)floor(samples[count - 1].t_s - t0 + 1e-6) + 1; /* 9.9999999 s is 10 s */
    out->points = calloc(n, sizeof(*out->points));
    if (out->points == NULL) {
        return route_fail(err, 0, "out of memory");
    }
    out->count = n;
    size_t seg = 0;
    for (size_t i = 0; i < n; i++) {
        double t = t0 + (double)i;
        while (seg + 2 < count && samples[seg + 1].t_s <= t) {
            seg++;
        }
        const struct route_sample *a = &samples[seg];
        const struct route_sample *b = &samples[seg + 1];
        double f = (t - a->t_s) / (b->t_s - a->t_s);
        f = f < 0.0 ? 0.0 : (f > 1.0 ? 1.0 : f);
        struct route_point *p = &out->points[i];
        p->t_s = (double)i;
        great_circle_point(a, b, f, &p->lat, &p->lon);
        p->alt_m = a->alt_m + f * (b->alt_m - a->alt_m);
    }
    derive_motion(out);
    return 0;
}

int route_repeat(struct route *route, unsigned laps, double max_gap_m, struct route_error *err)
{
    size_t n = route->count;
    if (laps == 0 || n < 2) {
        return route_fail(err, 0, "laps must be at least 1 on a route of two points or more");
    }
    const struct route_point *a = &route->points[0];
    const struct route_point *b = &route->points[n - 1];
    double gap = route_distance_m(a->lat, a->lon, b->lat, b->lon);
    if (laps > 1 && gap > max_gap_m) {
        return route_fail(err, 0, "laps need a closed route: its end is %.0f m from its start (at most %.0f m)", gap,
                          max_gap_m);
    }
    if ((double)(n - 1) * laps > MAX_ROUTE_S) {
        return route_fail(err, 0, "%u laps of %zu s last more than 7 days", laps, n - 1);
    }
    size_t total = (n - 1) * laps + 1;
    struct route_point *points = calloc(total, sizeof(*points));
    if (points == NULL) {
        return route_fail(err, 0, "out of memory");
    }
    for (size_t i = 0; i + 1 < total; i++) {
        points[i] = route->points[i % (n - 1)];
        points[i].t_s = (double)i;
    }
    points[total - 1] = route->points[n - 1];
    points[total - 1].t_s = (double)(total - 1);
    free(route->points);
    route->points = points;
    route->count = total;
    derive_motion(route);
    return 0;
}

void route_free(struct route *route)
{
    if (route != NULL) {
        free(route->points);
        memset(route, 0, sizeof(*route));
    }
}

double route_duration_s(const struct route *route)
{
    return route->count > 0 ? route->points[route->count - 1].t_s : 0.0;
}

void route_position_at(const struct route *route, double t_s, struct route_point *out)
{
    memset(out, 0, sizeof(*out));
    if (route->count == 0) {
        return;
    }
    double end = route_duration_s(route);
    if (!(t_s > 0.0)) {
        *out = route->points[0];
        out->t_s = t_s;
        return;
    }
    if (t_s >= end) {
        *out = route->points[route->count - 1];
        out->speed_kmh = 0.0;
        out->t_s = t_s;
        return;
    }
    size_t i = (size_t)floor(t_s);
    const struct route_point *a = &route->points[i];
    const struct route_point *b = &route->points[i + 1];
    double f = t_s - (double)i;
    *out = *a;
    out->t_s = t_s;
    out->lat = a->lat + f * (b->lat - a->lat);
    out->lon = a->lon + f * (b->lon - a->lon);
    out->alt_m = a->alt_m + f * (b->alt_m - a->alt_m);
}

bool route_first_arrival(const struct route *route, double centre_lat, double centre_lon, double radius_m,
                         double from_s, double *t_s)
{
    size_t start = from_s > 0.0 ? (size_t)ceil(from_s) : 0;
    for (size_t i = start; i < route->count; i++) {
        if (route_within(route->points[i].lat, route->points[i].lon, centre_lat, centre_lon, radius_m)) {
            *t_s = route->points[i].t_s;
            return true;
        }
    }
    return false;
}

int route_gnss_line(const struct route_point *point, char *buf, size_t cap)
{
    double course = round(point->course_deg * 100.0) / 100.0;
    course = course >= 360.0 || course < 0.0 ? 0.0 : course;
    int n = snprintf(buf, cap, "gnss fix %.6f %.6f %.1f %.1f %.2f", point->lat, point->lon, point->alt_m,
                     point->speed_kmh, course);
    return n >= 0 && (size_t)n < cap ? n : -1;
}

/* ---- inline waypoints ---- */

int route_from_waypoints(const struct route_waypoint *waypoints, size_t count, struct route *out,
                         struct route_error *err)
{
    memset(out, 0, sizeof(*out));
    if (count < 2) {
        return route_fail(err, 0, "a route needs at least two waypoints (found %zu)", count);
    }
    struct route_sample *s = calloc(2 * count, sizeof(*s));
    if (s == NULL) {
        return route_fail(err, 0, "out of memory");
    }
    size_t n = 0;
    double t = 0.0;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        const struct route_waypoint *w = &waypoints[i];
        s[n++] = (struct route_sample){ t, w->lat, w->lon, w->alt_m };
        if (w->dwell_s > 0.0 && i + 1 < count) {
            t += w->dwell_s;
            s[n++] = (struct route_sample){ t, w->lat, w->lon, w->alt_m };
        }
        if (i + 1 == count) {
            break;
        }
        double d = route_distance_m(w->lat, w->lon, waypoints[i + 1].lat, waypoints[i + 1].lon);
        if (!(w->speed_kmh > 0.0)) {
            rc = route_fail(err, 0, "waypoint %zu: speed_kmh must be above 0 to reach the next waypoint", i);
        } else if (d < ROUTE_STANDING_M) {
            rc = route_fail(err, 0, "waypoint %zu: the next waypoint is at the same position (use dwell_s to stand)",
                            i);
        }
        t += d / (w->speed_kmh / 3.6);
    }
    if (rc == 0) {
        rc = route_from_samples(s, n, out, err);
    }
    free(s);
    return rc;
}

/* ---- shared helpers for the text formats ---- */

/* A growable list of samples. */
struct sample_list {
    struct route_sample *items;
    size_t count, cap;
};

static int sample_push(struct sample_list *l, struct route_sample s)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        struct route_sample *grown = realloc(l->items, cap * sizeof(*grown));
        if (grown == NULL) {
            return -1;
        }
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->count++] = s;
    return 0;
}

static bool parse_number(const char *text, size_t len, double *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *end = NULL;
    errno = 0;
    double v = strtod(buf, &end);
    if (errno != 0 || end == buf || *end != '\0' || !isfinite(v)) {
        return false;
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* ---- GPX ---- */

/* A position inside the GPX text, with its line number. */
struct gpx_cursor {
    const char *text;
    size_t len, pos;
    int line;
};

static int line_at(const char *text, size_t pos)
{
    int line = 1;
    for (size_t i = 0; i < pos; i++) {
        line += text[i] == '\n';
    }
    return line;
}

static const char *find_in(const char *text, size_t from, size_t to, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = from; i + n <= to; i++) {
        if (memcmp(text + i, needle, n) == 0) {
            return text + i;
        }
    }
    return NULL;
}

/* Value of attribute name="..." (or '...') inside a start tag [from, to). */
static bool gpx_attribute(const char *text, size_t from, size_t to, const char *name, const char **value,
                          size_t *len)
{
    size_t n = strlen(name);
    for (size_t i = from; i + n + 2 < to; i++) {
        if (memcmp(text + i, name, n) != 0 || !isspace((unsigned char)text[i - 1])) {
            continue;
        }
        size_t j = i + n;
        while (j < to && isspace((unsigned char)text[j])) {
            j++;
        }
        if (j >= to || text[j] != '=') {
            continue;
        }
        j++;
        while (j < to && isspace((unsigned char)text[j])) {
            j++;
        }
        if (j >= to || (text[j] != '"' && text[j] != '\'')) {
            return false;
        }
        const char *end = memchr(text + j + 1, text[j], to - j - 1);
        if (end == NULL) {
            return false;
        }
        *value = text + j + 1;
        *len = (size_t)(end - (text + j + 1));
        return true;
    }
    return false;
}

/* Text of <tag>...</tag> inside [from, to), trimmed. */
static bool gpx_element(const char *text, size_t from, size_t to, const char *tag, const char **value, size_t *len)
{
    char open[32];
    char close[32];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *a = find_in(text, from, to, open);
    if (a == NULL) {
        return false;
    }
    a += strlen(open);
    const char *b = find_in(text, (size_t)(a - text), to, close);
    if (b == NULL) {
        return false;
    }
    while (a < b && isspace((unsigned char)*a)) {
        a++;
    }
    while (b > a && isspace((unsigned char)b[-1])) {
        b--;
    }
    *value = a;
    *len = (size_t)(b - a);
    return true;
}

/* ISO 8601 UTC time "YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00)" to Unix seconds. */
static bool parse_iso_time(const char *v, size_t len, double *out)
{
    char buf[48];
    int y, mo, d, h, mi;
    double s;
    int used = 0;
    if (len >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, v, len);
    buf[len] = '\0';
    if (sscanf(buf, "%4d-%2d-%2dT%2d:%2d:%lf%n", &y, &mo, &d, &h, &mi, &s, &used) != 6) {
        return false;
    }
    const char *zone = buf + used;
    if (strcmp(zone, "Z") != 0 && strcmp(zone, "+00:00") != 0 && *zone != '\0') {
        return false;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s < 0 || s >= 61) {
        return false;
    }
    *out = (double)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60) + s;
    return true;
}

/* Parse one point element spanning [start, end) (end just after its close). */
static int gpx_point(const struct gpx_cursor *c, size_t start, size_t tag_end, size_t end, struct route_sample *s,
                     bool *has_time, struct route_error *err)
{
    int line = line_at(c->text, start);
    const char *v;
    size_t n;
    if (!gpx_attribute(c->text, start, tag_end, "lat", &v, &n) || !parse_number(v, n, &s->lat)) {
        return route_fail(err, line, "point without a valid lat attribute");
    }
    if (!gpx_attribute(c->text, start, tag_end, "lon", &v, &n) || !parse_number(v, n, &s->lon)) {
        return route_fail(err, line, "point without a valid lon attribute");
    }
    if (!(s->lat >= -90.0 && s->lat <= 90.0) || !(s->lon >= -180.0 && s->lon <= 180.0)) {
        return route_fail(err, line, "position %g,%g out of range", s->lat, s->lon);
    }
    s->alt_m = 0.0;
    if (gpx_element(c->text, tag_end, end, "ele", &v, &n) && !parse_number(v, n, &s->alt_m)) {
        return route_fail(err, line, "bad <ele> '%.*s'", (int)n, v);
    }
    *has_time = gpx_element(c->text, tag_end, end, "time", &v, &n);
    if (*has_time && !parse_iso_time(v, n, &s->t_s)) {
        return route_fail(err, line, "bad <time> '%.*s' (want YYYY-MM-DDTHH:MM:SSZ)", (int)n, v);
    }
    return 0;
}

/* Find the next <tag ...> ... </tag> (or <tag .../>); returns 1 found, 0 none, -1 error. */
static int gpx_next(struct gpx_cursor *c, const char *tag, size_t *start, size_t *tag_end, size_t *end,
                    struct route_error *err)
{
    char open[32];
    char close[32];
    snprintf(open, sizeof(open), "<%s", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *a;
    size_t from = c->pos;
    do {
        a = find_in(c->text, from, c->len, open);
        if (a == NULL) {
            return 0;
        }
        from = (size_t)(a - c->text) + 1;
    } while (!isspace((unsigned char)a[strlen(open)]) && a[strlen(open)] != '>' && a[strlen(open)] != '/');
    *start = (size_t)(a - c->text);
    const char *gt = memchr(a, '>', c->len - *start);
    if (gt == NULL) {
        return route_fail(err, line_at(c->text, *start), "<%s> is not closed (truncated file?)", tag);
    }
    *tag_end = (size_t)(gt - c->text) + 1;
    if (gt[-1] == '/') {
        *end = *tag_end;
    } else {
        const char *b = find_in(c->text, *tag_end, c->len, close);
        if (b == NULL) {
            return route_fail(err, line_at(c->text, *start), "<%s> is not closed (truncated file?)", tag);
        }
        *end = (size_t)(b - c->text) + strlen(close);
    }
    c->pos = *end;
    return 1;
}

static int gpx_collect(const char *text, size_t len, const char *tag, struct sample_list *list, int *timed,
                       struct route_error *err)
{
    struct gpx_cursor c = { text, len, 0, 1 };
    size_t start = 0, tag_end = 0, end = 0;
    int found;
    while ((found = gpx_next(&c, tag, &start, &tag_end, &end, err)) == 1) {
        struct route_sample s = { 0 };
        bool has_time = false;
        if (gpx_point(&c, start, tag_end, end, &s, &has_time, err) != 0) {
            return -1;
        }
        int kind = has_time ? 1 : 0;
        if (*timed >= 0 && *timed != kind) {
            return route_fail(err, line_at(text, start), "some points have a <time> and others not");
        }
        *timed = kind;
        if (sample_push(list, s) != 0) {
            return route_fail(err, 0, "out of memory");
        }
    }
    return found;
}

/* Give untimed samples times from a constant speed. */
static int gpx_time_by_speed(struct sample_list *list, double speed_kmh, struct route_error *err)
{
    if (!(speed_kmh > 0.0)) {
        return route_fail(err, 0, "the points have no <time>: give a speed (speed_kmh) to time them");
    }
    for (size_t i = 1; i < list->count; i++) {
        struct route_sample *p = &list->items[i - 1];
        double d = route_distance_m(p->lat, p->lon, list->items[i].lat, list->items[i].lon);
        list->items[i].t_s = p->t_s + d / (speed_kmh / 3.6);
    }
    return 0;
}

int route_parse_gpx(const char *text, size_t len, double default_speed_kmh, struct route *out,
                    struct route_error *err)
{
    memset(out, 0, sizeof(*out));
    if (find_in(text, 0, len, "<gpx") == NULL) {
        return route_fail(err, 0, "not a GPX file (no <gpx> element)");
    }
    struct sample_list list = { 0 };
    int timed = -1;
    int rc = gpx_collect(text, len, "trkpt", &list, &timed, err);
    if (rc == 0 && list.count == 0) {
        rc = gpx_collect(text, len, "rtept", &list, &timed, err);
    }
    if (rc == 0 && find_in(text, 0, len, "</gpx>") == NULL) {
        rc = route_fail(err, line_at(text, len), "no closing </gpx> (truncated file?)");
    }
    if (rc == 0 && list.count == 0) {
        rc = route_fail(err, 0, "no <trkpt> or <rtept> points");
    }
    if (rc == 0 && timed == 0) {
        rc = gpx_time_by_speed(&list, default_speed_kmh, err);
    }
    if (rc == 0) {
        rc = route_from_samples(list.items, list.count, out, err);
        out->start_epoch_s = timed == 1 ? (int64_t)floor(list.items[0].t_s) : 0;
    }
    free(list.items);
    return rc;
}

/* ---- NMEA ---- */

#define NMEA_MAX_FIELDS 24

/* One sentence split into fields (field 0 is the address, e.g. "GPRMC"). */
struct nmea_sentence {
    char buf[128];
    char *field[NMEA_MAX_FIELDS];
    int count;
};

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    ch = (char)toupper((unsigned char)ch);
    return ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/* Check framing and checksum of one line and split it. */
static int nmea_split(const char *line, size_t len, int lineno, struct nmea_sentence *s, struct route_error *err)
{
    if (line[0] != '$') {
        return route_fail(err, lineno, "not an NMEA sentence (must start with '$')");
    }
    const char *star = memchr(line, '*', len);
    if (star == NULL || (size_t)(star - line) + 3 != len) {
        return route_fail(err, lineno, "no checksum '*HH' at the end (truncated sentence?)");
    }
    int hi = hex_value(star[1]);
    int lo = hex_value(star[2]);
    unsigned sum = 0;
    for (const char *p = line + 1; p < star; p++) {
        sum ^= (unsigned char)*p;
    }
    if (hi < 0 || lo < 0) {
        return route_fail(err, lineno, "bad checksum digits '%.2s'", star + 1);
    }
    if ((unsigned)(hi * 16 + lo) != sum) {
        return route_fail(err, lineno, "checksum mismatch (computed %02X, sentence says %.2s)", sum, star + 1);
    }
    size_t body = (size_t)(star - line - 1);
    if (body >= sizeof(s->buf)) {
        return route_fail(err, lineno, "sentence longer than 82 characters");
    }
    memcpy(s->buf, line + 1, body);
    s->buf[body] = '\0';
    s->count = 0;
    for (char *p = s->buf; s->count < NMEA_MAX_FIELDS;) {
        s->field[s->count++] = p;
        p = strchr(p, ',');
        if (p == NULL) {
            break;
        }
        *p++ = '\0';
    }
    return 0;
}

/* ddmm.mmmm (or dddmm.mmmm) plus hemisphere to signed decimal degrees. */
static bool nmea_coordinate(const char *value, const char *hemi, bool is_lat, double *out)
{
    double raw;
    if (!parse_number(value, strlen(value), &raw) || raw < 0) {
        return false;
    }
    double deg = floor(raw / 100.0);
    double min = raw - deg * 100.0;
    if (min >= 60.0 || deg > (is_lat ? 90.0 : 180.0)) {
        return false;
    }
    double v = deg + min / 60.0;
    if (strcmp(hemi, is_lat ? "S" : "W") == 0) {
        v = -v;
    } else if (strcmp(hemi, is_lat ? "N" : "E") != 0) {
        return false;
    }
    *out = v;
    return is_lat ? v <= 90.0 : v <= 180.0;
}

/* hhmmss[.ss] to seconds of the day. */
static bool nmea_time(const char *value, double *out)
{
    double raw;
    if (strlen(value) < 6 || !parse_number(value, strlen(value), &raw)) {
        return false;
    }
    int hh = (value[0] - '0') * 10 + (value[1] - '0');
    int mm = (value[2] - '0') * 10 + (value[3] - '0');
    double ss = raw - floor(raw / 100.0) * 100.0;
    if (hh > 23 || mm > 59 || ss >= 61.0) {
        return false;
    }
    *out = hh * 3600.0 + mm * 60.0 + ss;
    return true;
}

/* ddmmyy to days since the epoch (years 2000-2099). */
static bool nmea_date(const char *value, int64_t *days)
{
    if (strlen(value) != 6) {
        return false;
    }
    for (int i = 0; i < 6; i++) {
        if (!isdigit((unsigned char)value[i])) {
            return false;
        }
    }
    int d = (value[0] - '0') * 10 + (value[1] - '0');
    int m = (value[2] - '0') * 10 + (value[3] - '0');
    int y = 2000 + (value[4] - '0') * 10 + (value[5] - '0');
    if (d < 1 || d > 31 || m < 1 || m > 12) {
        return false;
    }
    *days = days_from_civil(y, m, d);
    return true;
}

/* State while reading an NMEA file. */
struct nmea_state {
    struct sample_list list;
    int64_t day_s;  /* Unix time of the current day's midnight (0 while unknown) */
    bool dated;     /* an RMC has given a date */
    bool first_dated;
};

/* Add (or merge into the previous one with the same time) a fix. */
static int nmea_add(struct nmea_state *st, double tod, double lat, double lon, const double *alt, int lineno,
                    struct route_error *err)
{
    double t = (double)st->day_s + tod;
    struct sample_list *l = &st->list;
    if (l->count > 0 && t < l->items[l->count - 1].t_s - 43200.0) {
        st->day_s += 86400; /* past midnight */
        t += 86400.0;
    }
    if (l->count > 0 && t == l->items[l->count - 1].t_s) {
        struct route_sample *last = &l->items[l->count - 1];
        last->lat = lat;
        last->lon = lon;
        last->alt_m = alt != NULL ? *alt : last->alt_m;
        return 0;
    }
    if (l->count > 0 && t < l->items[l->count - 1].t_s) {
        return route_fail(err, lineno, "time goes backwards");
    }
    if (l->count == 0) {
        st->first_dated = st->dated;
    }
    struct route_sample s = { t, lat, lon, alt != NULL ? *alt : (l->count > 0 ? l->items[l->count - 1].alt_m : 0) };
    return sample_push(l, s) == 0 ? 0 : route_fail(err, lineno, "out of memory");
}

static int nmea_rmc(struct nmea_state *st, const struct nmea_sentence *s, int lineno, struct route_error *err)
{
    double tod, lat, lon;
    int64_t days;
    if (s->count < 10) {
        return route_fail(err, lineno, "RMC sentence with %d fields (want at least 10)", s->count);
    }
    if (strcmp(s->field[2], "A") != 0) {
        return 0; /* no fix: skipped */
    }
    if (!nmea_time(s->field[1], &tod)) {
        return route_fail(err, lineno, "bad time '%s'", s->field[1]);
    }
    if (!nmea_coordinate(s->field[3], s->field[4], true, &lat) || !nmea_coordinate(s->field[5], s->field[6], false, &lon)) {
        return route_fail(err, lineno, "bad position '%s,%s,%s,%s'", s->field[3], s->field[4], s->field[5],
                          s->field[6]);
    }
    if (!nmea_date(s->field[9], &days)) {
        return route_fail(err, lineno, "bad date '%s' (want ddmmyy)", s->field[9]);
    }
    if (!st->dated) {
        /* fixes read before the first date (GGA only) move to that date */
        for (size_t i = 0; i < st->list.count; i++) {
            st->list.items[i].t_s += (double)(days * 86400 - st->day_s);
        }
        st->first_dated = st->list.count > 0 || st->first_dated;
    }
    st->day_s = days * 86400;
    st->dated = true;
    return nmea_add(st, tod, lat, lon, NULL, lineno, err);
}

static int nmea_gga(struct nmea_state *st, const struct nmea_sentence *s, int lineno, struct route_error *err)
{
    double tod, lat, lon, alt;
    if (s->count < 10) {
        return route_fail(err, lineno, "GGA sentence with %d fields (want at least 10)", s->count);
    }
    if (strcmp(s->field[6], "0") == 0 || s->field[6][0] == '\0') {
        return 0; /* no fix: skipped */
    }
    if (!nmea_time(s->field[1], &tod)) {
        return route_fail(err, lineno, "bad time '%s'", s->field[1]);
    }
    if (!nmea_coordinate(s->field[2], s->field[3], true, &lat) || !nmea_coordinate(s->field[4], s->field[5], false, &lon)) {
        return route_fail(err, lineno, "bad position '%s,%s,%s,%s'", s->field[2], s->field[3], s->field[4],
                          s->field[5]);
    }
    if (!parse_number(s->field[9], strlen(s->field[9]), &alt)) {
        return route_fail(err, lineno, "bad altitude '%s'", s->field[9]);
    }
    return nmea_add(st, tod, lat, lon, &alt, lineno, err);
}

static int nmea_line(struct nmea_state *st, const char *line, size_t len, int lineno, struct route_error *err)
{
    struct nmea_sentence s;
    if (nmea_split(line, len, lineno, &s, err) != 0) {
        return -1;
    }
    const char *type = strlen(s.field[0]) == 5 ? s.field[0] + 2 : "";
    if (strcmp(type, "RMC") == 0) {
        return nmea_rmc(st, &s, lineno, err);
    }
    if (strcmp(type, "GGA") == 0) {
        return nmea_gga(st, &s, lineno, err);
    }
    return 0;
}

int route_parse_nmea(const char *text, size_t len, struct route *out, struct route_error *err)
{
    memset(out, 0, sizeof(*out));
    struct nmea_state st = { 0 };
    int rc = 0;
    int lineno = 0;
    for (size_t pos = 0; pos < len && rc == 0;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        size_t n = end - pos;
        lineno++;
        while (n > 0 && (text[pos + n - 1] == '\r' || text[pos + n - 1] == ' ')) {
            n--;
        }
        if (n > 0) {
            rc = nmea_line(&st, text + pos, n, lineno, err);
        }
        pos = end + 1;
    }
    if (rc == 0 && st.list.count < 2) {
        rc = route_fail(err, 0, "a route needs at least two fixes (found %zu)", st.list.count);
    }
    if (rc == 0) {
        rc = route_from_samples(st.list.items, st.list.count, out, err);
        out->start_epoch_s = st.first_dated ? (int64_t)floor(st.list.items[0].t_s) : 0;
    }
    free(st.list.items);
    return rc;
}

/* ---- files ---- */

/* Read a trace file; errors say why in err. */
static char *read_file(const char *path, size_t *len, struct route_error *err)
{
    char *text = harness_read_file(path, (size_t)64 << 20, len);
    if (text == NULL) {
        if (errno == EFBIG || errno == ENOMEM) {
            route_fail(err, 0, "file too large (at most 64 MB)");
        } else {
            route_fail(err, 0, "cannot open: %s", strerror(errno));
        }
    }
    return text;
}

int route_load_file(const char *path, enum route_format format, double default_speed_kmh, struct route *out,
                    struct route_error *err)
{
    memset(out, 0, sizeof(*out));
    size_t len = 0;
    char *text = read_file(path, &len, err);
    if (text == NULL) {
        return -1;
    }
    int rc = format == ROUTE_FORMAT_GPX ? route_parse_gpx(text, len, default_speed_kmh, out, err)
                                        : route_parse_nmea(text, len, out, err);
    free(text);
    return rc;
}
