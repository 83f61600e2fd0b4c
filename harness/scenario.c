/* scenario — load and check bus-trip scenario files (see scenario.h). */
#include "scenario.h"
#include "readfile.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PATH_CAP 256
#define MAX_RATE 1000000.0
#define MAX_PICTURE_BYTES (4u << 20)
#define MAX_TRIP_S (7.0 * 86400.0)
/* How far a route's end may lie from its start to be driven in laps. */
#define SCENARIO_LAP_GAP_M 200.0

/* Everything the checks need. */
struct loader {
    const char *file;
    const char *dir;
    struct scenario *s;
    struct scenario_error *err;
    const char *text; /* the document's text, to find the line of a JSON path */
    size_t len;
};

static const char *const profile_names[] = { "aws", "gcp" };
static const char *const stack_names[] = { "aws-modem-tls", "aws-mcu-tls", "gcp-modem-tls", "gcp-mcu-tls" };
static const char *const role_names[] = { "bus", "depot" };
static const char *const behaviour_names[] = { "phone", "drinking", "drowsy" };
static const char *const ack_names[] = { "config", "state", "shadow" };
static const char *const action_names[] = { "config",          "command",        "read_state",
                                            "driver",          "fault",          "expect_message",
                                            "expect_order",    "expect_no_loss", "expect_connection",
                                            "expect_ack",      "expect_uart" };
static const char *const command_names[] = { "query_location", "query_picture", "publish" };

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

const char *scenario_profile_str(enum scenario_profile p)
{
    return (size_t)p < COUNT_OF(profile_names) ? profile_names[p] : "?";
}

const char *scenario_stack_str(enum scenario_stack s)
{
    return (size_t)s < COUNT_OF(stack_names) ? stack_names[s] : "?";
}

enum scenario_profile scenario_stack_profile(enum scenario_stack s)
{
    return s == SCENARIO_STACK_GCP_MODEM_TLS || s == SCENARIO_STACK_GCP_MCU_TLS ? SCENARIO_PROFILE_GCP
                                                                                : SCENARIO_PROFILE_AWS;
}

bool scenario_stack_mcu_tls(enum scenario_stack s)
{
    return s == SCENARIO_STACK_AWS_MCU_TLS || s == SCENARIO_STACK_GCP_MCU_TLS;
}

const char *scenario_role_str(enum scenario_role r)
{
    return (size_t)r < COUNT_OF(role_names) ? role_names[r] : "?";
}

const char *scenario_action_str(enum scenario_action_kind k)
{
    return (size_t)k < COUNT_OF(action_names) ? action_names[k] : "?";
}

const char *scenario_behaviour_str(enum scenario_behaviour b)
{
    return (size_t)b < COUNT_OF(behaviour_names) ? behaviour_names[b] : "?";
}

const char *scenario_ack_str(enum scenario_ack a)
{
    return (size_t)a < COUNT_OF(ack_names) ? ack_names[a] : "?";
}

int scenario_find_device(const struct scenario *s, const char *id)
{
    for (size_t i = 0; i < s->device_count; i++) {
        if (strcmp(s->devices[i].id, id) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* ---- errors and paths ---- */

static int line_of_path(const char *text, size_t len, const char *path);

static int lfail(struct loader *l, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int lfail(struct loader *l, const char *path, const char *fmt, ...)
{
    struct scenario_error *e = l->err;
    if (e == NULL) {
        return -1;
    }
    memset(e, 0, sizeof(*e));
    snprintf(e->file, sizeof(e->file), "%s", l->file);
    snprintf(e->path, sizeof(e->path), "%s", path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
    va_end(ap);
    e->line = line_of_path(l->text, l->len, path);
    if (e->line > 0) {
        snprintf(e->message, sizeof(e->message), "%s:%d: %s: %s", e->file, e->line, e->path, e->reason);
    } else {
        snprintf(e->message, sizeof(e->message), "%s: %s: %s", e->file, e->path, e->reason);
    }
    return -1;
}

static void path_key(char *dst, const char *base, const char *key)
{
    snprintf(dst, PATH_CAP, "%s", base);
    expect_path_append_key(dst, PATH_CAP, key);
}

static void path_index(char *dst, const char *base, size_t i)
{
    if (snprintf(dst, PATH_CAP, "%s[%zu]", base, i) >= PATH_CAP) {
        dst[PATH_CAP - 1] = '\0'; /* a cut path still points the reader near the error */
    }
}

/* ---- line of a JSON path (the text is valid JSON: jansson parsed it) ---- */

/* A scan of the document for the value at one JSON path. */
struct line_scan {
    const char *p, *end;
    int line;
    const char *target;
    int found; /* line of the target value, 0 while not found */
};

static void scan_space(struct line_scan *s)
{
    while (s->p < s->end && isspace((unsigned char)*s->p)) {
        s->line += *s->p == '\n';
        s->p++;
    }
}

/* Read a JSON string at s->p into out (simple escapes decoded; \uXXXX kept as written). */
static void scan_string(struct line_scan *s, char *out, size_t cap)
{
    size_t n = 0;
    s->p++; /* opening quote */
    while (s->p < s->end && *s->p != '"') {
        char ch = *s->p++;
        if (ch == '\\' && s->p < s->end) {
            ch = *s->p++;
            ch = ch == 'n' ? '\n' : ch == 't' ? '\t' : ch == 'r' ? '\r' : ch == 'b' ? '\b' : ch == 'f' ? '\f' : ch;
        }
        if (out != NULL && n + 1 < cap) {
            out[n++] = ch;
        }
    }
    s->p += s->p < s->end;
    if (out != NULL) {
        out[n] = '\0';
    }
}

static void scan_value(struct line_scan *s, const char *path);

static void scan_object(struct line_scan *s, const char *path)
{
    s->p++;
    for (scan_space(s); s->p < s->end && *s->p != '}' && s->found == 0; scan_space(s)) {
        char key[PATH_CAP];
        char child[PATH_CAP];
        scan_string(s, key, sizeof(key));
        scan_space(s);
        s->p += s->p < s->end && *s->p == ':';
        path_key(child, path, key);
        scan_value(s, child);
        scan_space(s);
        s->p += s->p < s->end && *s->p == ',';
    }
    s->p += s->p < s->end;
}

static void scan_array(struct line_scan *s, const char *path)
{
    s->p++;
    size_t i = 0;
    for (scan_space(s); s->p < s->end && *s->p != ']' && s->found == 0; scan_space(s)) {
        char child[PATH_CAP];
        if (snprintf(child, sizeof(child), "%s[%zu]", path, i++) >= (int)sizeof(child)) {
            child[0] = '\0';
        }
        scan_value(s, child);
        scan_space(s);
        s->p += s->p < s->end && *s->p == ',';
    }
    s->p += s->p < s->end;
}

static void scan_value(struct line_scan *s, const char *path)
{
    scan_space(s);
    if (strcmp(path, s->target) == 0) {
        s->found = s->line;
        return;
    }
    if (s->p >= s->end) {
        return;
    }
    if (*s->p == '{') {
        scan_object(s, path);
    } else if (*s->p == '[') {
        scan_array(s, path);
    } else if (*s->p == '"') {
        scan_string(s, NULL, 0);
    } else {
        while (s->p < s->end && strchr(",]} \t\r\n", *s->p) == NULL) {
            s->p++;
        }
    }
}

/* Line (1-based) where the value at path starts, or 0 when it cannot be found. */
static int line_of_path(const char *text, size_t len, const char *path)
{
    if (text == NULL) {
        return 0;
    }
    struct line_scan s = { text, text + len, 1, path, 0 };
    scan_value(&s, "$");
    return s.found;
}

/* Every key of obj must be in allowed (NULL-terminated). */
static int check_keys(struct loader *l, const json_t *obj, const char *path, const char *const *allowed)
{
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)obj, key, value) {
        bool known = false;
        for (size_t i = 0; allowed[i] != NULL && !known; i++) {
            known = strcmp(key, allowed[i]) == 0;
        }
        if (!known) {
            char list[300] = "";
            for (size_t i = 0; allowed[i] != NULL; i++) {
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", allowed[i]);
            }
            char p[PATH_CAP];
            path_key(p, path, key);
            return lfail(l, p, "unknown key (allowed here: %s)", list);
        }
    }
    return 0;
}

static int require_object(struct loader *l, const json_t *v, const char *path)
{
    return json_is_object(v) ? 0 : lfail(l, path, "must be an object");
}

/* Optional or required string member; *out is NULL when absent. */
static int get_string(struct loader *l, const json_t *obj, const char *path, const char *key, bool required,
                      const char **out)
{
    char p[PATH_CAP];
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL) {
        return required ? lfail(l, path, "missing required key '%s'", key) : 0;
    }
    path_key(p, path, key);
    if (!json_is_string(v)) {
        return lfail(l, p, "must be a string");
    }
    if (json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v)) {
        return lfail(l, p, "must be a non-empty string without NUL characters");
    }
    *out = json_string_value(v);
    return 0;
}

/* Pick one of names; *out unchanged when absent and not required. */
static int get_enum(struct loader *l, const json_t *obj, const char *path, const char *key, bool required,
                    const char *const *names, size_t count, int *out)
{
    const char *text;
    if (get_string(l, obj, path, key, required, &text) != 0) {
        return -1;
    }
    if (text == NULL) {
        return 0;
    }
    for (size_t i = 0; i < count; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    char list[200] = "";
    for (size_t i = 0; i < count; i++) {
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", names[i]);
    }
    char p[PATH_CAP];
    path_key(p, path, key);
    return lfail(l, p, "'%s' is not one of %s", text, list);
}

/* Optional or required number within [min, max]; *out unchanged when absent. */
static int get_number(struct loader *l, const json_t *obj, const char *path, const char *key, bool required,
                      double min, double max, double *out)
{
    char p[PATH_CAP];
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        return required ? lfail(l, path, "missing required key '%s'", key) : 0;
    }
    path_key(p, path, key);
    if (!json_is_number(v)) {
        return lfail(l, p, "must be a number");
    }
    double x = json_number_value(v);
    if (!(x >= min && x <= max)) {
        return lfail(l, p, "%g is out of range (%g to %g)", x, min, max);
    }
    *out = x;
    return 0;
}

/* ---- times ---- */

int scenario_parse_time(const json_t *value, double *seconds)
{
    if (json_is_number(value)) {
        double x = json_number_value(value);
        if (!(x >= 0.0 && x <= MAX_TRIP_S)) {
            return -1;
        }
        *seconds = x;
        return 0;
    }
    if (!json_is_string(value)) {
        return -1;
    }
    const char *t = json_string_value(value);
    char *end = NULL;
    if (!isdigit((unsigned char)t[0])) {
        return -1;
    }
    long h = strtol(t, &end, 10);
    const char *m = end + 1;
    if (*end != ':' || end - t > 3 || !isdigit((unsigned char)m[0]) || !isdigit((unsigned char)m[1]) ||
        m[2] != ':' || !isdigit((unsigned char)m[3]) || !isdigit((unsigned char)m[4])) {
        return -1;
    }
    long min = (m[0] - '0') * 10 + (m[1] - '0');
    double sec = strtod(m + 3, &end);
    if (*end != '\0' || !isdigit((unsigned char)end[-1]) || min > 59 || !(sec < 60.0)) {
        return -1;
    }
    double x = (double)h * 3600.0 + (double)min * 60.0 + sec;
    if (x > MAX_TRIP_S) {
        return -1;
    }
    *seconds = x;
    return 0;
}

int scenario_parse_duration(const char *text, double *seconds)
{
    char *end = NULL;
    errno = 0;
    double x = strtod(text, &end);
    if (errno != 0 || end == text || !isdigit((unsigned char)text[0])) {
        return -1;
    }
    double unit = 1.0;
    if (strcmp(end, "m") == 0) {
        unit = 60.0;
    } else if (strcmp(end, "h") == 0) {
        unit = 3600.0;
    } else if (strcmp(end, "d") == 0) {
        unit = 86400.0;
    } else if (strcmp(end, "s") != 0 && *end != '\0') {
        return -1;
    }
    x *= unit;
    if (!(x > 0.0 && x <= 366.0 * 86400.0)) {
        return -1;
    }
    *seconds = x;
    return 0;
}

void scenario_format_time(double seconds, char *buf, size_t cap)
{
    long s = seconds > 0 ? (long)seconds : 0;
    snprintf(buf, cap, "%02ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}

static int get_time(struct loader *l, const json_t *obj, const char *path, const char *key, bool required,
                    double *out)
{
    char p[PATH_CAP];
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        return required ? lfail(l, path, "missing required key '%s'", key) : 0;
    }
    path_key(p, path, key);
    if (scenario_parse_time(v, out) != 0) {
        return lfail(l, p, "must be seconds (a number >= 0) or \"HH:MM:SS\", at most 7 days");
    }
    return 0;
}

/* A window length: like a time but above zero. */
static int get_window(struct loader *l, const json_t *obj, const char *path, const char *key, bool required,
                      double *out)
{
    double x = *out;
    if (get_time(l, obj, path, key, required, &x) != 0) {
        return -1;
    }
    if (json_object_get(obj, key) != NULL && !(x > 0.0)) {
        char p[PATH_CAP];
        path_key(p, path, key);
        return lfail(l, p, "must be above zero");
    }
    *out = x;
    return 0;
}

/* ISO 8601 UTC "YYYY-MM-DDTHH:MM:SSZ" to Unix seconds. */
static int parse_start(const char *text, int64_t *out)
{
    int y, mo, d, h, mi, s, used = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &s, &used) != 6 || used == 0 ||
        text[used] != '\0' || y < 2000 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) {
        return -1;
    }
    int64_t yy = y - (mo <= 2);
    int64_t era = yy / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    *out = days * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}

/* ---- files ---- */

static char *resolve(const struct loader *l, const char *name)
{
    size_t n = strlen(l->dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p != NULL) {
        if (name[0] == '/' || l->dir[0] == '\0') {
            snprintf(p, n, "%s", name);
        } else {
            snprintf(p, n, "%s/%s", l->dir, name);
        }
    }
    return p;
}

/* ---- top level ---- */

static int load_header(struct loader *l, const json_t *root)
{
    struct scenario *s = l->s;
    int profile = -1;
    int stack = -1;
    const char *start = NULL;
    s->rate = 1.0;
    if (get_string(l, root, "$", "name", true, &s->name) != 0 ||
        get_string(l, root, "$", "description", false, &s->description) != 0 ||
        get_enum(l, root, "$", "profile", true, profile_names, COUNT_OF(profile_names), &profile) != 0 ||
        get_enum(l, root, "$", "stack", true, stack_names, COUNT_OF(stack_names), &stack) != 0 ||
        get_number(l, root, "$", "rate", false, 1e-3, MAX_RATE, &s->rate) != 0 ||
        get_string(l, root, "$", "start", false, &start) != 0 ||
        get_time(l, root, "$", "duration", false, &s->duration_s) != 0) {
        return -1;
    }
    s->description = s->description != NULL ? s->description : "";
    s->profile = (enum scenario_profile)profile;
    s->stack = (enum scenario_stack)stack;
    if (scenario_stack_profile(s->stack) != s->profile) {
        return lfail(l, "$.stack", "stack '%s' does not belong to profile '%s'", stack_names[stack],
                     profile_names[profile]);
    }
    if (start != NULL && parse_start(start, &s->start_epoch_s) != 0) {
        return lfail(l, "$.start", "must be a UTC time \"YYYY-MM-DDTHH:MM:SSZ\" (year 2000 or later)");
    }
    return 0;
}

/* ---- devices ---- */

static bool valid_device_id(const char *id)
{
    if (!isalpha((unsigned char)id[0]) || strlen(id) > 64) {
        return false;
    }
    for (const char *p = id; *p != '\0'; p++) {
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
            return false;
        }
    }
    return true;
}

static int load_route_number(struct loader *l, const json_t *dev, const char *path, struct scenario_device *d)
{
    const json_t *v = json_object_get(dev, "route_number");
    char p[PATH_CAP];
    path_key(p, path, "route_number");
    if (v == NULL) {
        return 0;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        /* kept as text: replace the number by its decimal string in the document */
        char text[32];
        snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        json_object_set_new((json_t *)dev, "route_number", json_string(text));
        d->route_number = json_string_value(json_object_get(dev, "route_number"));
        return 0;
    }
    return get_string(l, dev, path, "route_number", false, &d->route_number) == 0
               ? 0
               : lfail(l, p, "must be a string or a non-negative integer");
}

static int load_depot(struct loader *l, const json_t *dev, const char *path, struct scenario_device *d)
{
    static const char *const pos_keys[] = { "lat", "lon", NULL };
    char p[PATH_CAP];
    const json_t *pos = json_object_get(dev, "position");
    path_key(p, path, "position");
    if (d->registration != NULL || d->route_number != NULL) {
        return lfail(l, path, "registration and route_number apply to buses only");
    }
    if (pos == NULL) {
        return lfail(l, path, "missing required key 'position' (a depot needs one)");
    }
    if (require_object(l, pos, p) != 0 || check_keys(l, pos, p, pos_keys) != 0 ||
        get_number(l, pos, p, "lat", true, -90, 90, &d->lat) != 0 ||
        get_number(l, pos, p, "lon", true, -180, 180, &d->lon) != 0) {
        return -1;
    }
    if (json_object_get(dev, "radius_m") == NULL) {
        return lfail(l, path, "missing required key 'radius_m' (a depot needs one)");
    }
    return get_number(l, dev, path, "radius_m", true, 1.0, 100000.0, &d->radius_m);
}

static int load_device(struct loader *l, const json_t *dev, const char *path, struct scenario_device *d)
{
    static const char *const keys[] = { "id", "role", "registration", "route_number", "stack", "position",
                                        "radius_m", "note", NULL };
    int role = SCENARIO_ROLE_BUS;
    int stack = (int)l->s->stack;
    const char *note;
    char p[PATH_CAP];
    if (require_object(l, dev, path) != 0 || check_keys(l, dev, path, keys) != 0 ||
        get_string(l, dev, path, "id", true, &d->id) != 0 ||
        get_enum(l, dev, path, "role", false, role_names, COUNT_OF(role_names), &role) != 0 ||
        get_string(l, dev, path, "registration", false, &d->registration) != 0 ||
        load_route_number(l, dev, path, d) != 0 ||
        get_enum(l, dev, path, "stack", false, stack_names, COUNT_OF(stack_names), &stack) != 0 ||
        get_string(l, dev, path, "note", false, &note) != 0) {
        return -1;
    }
    d->role = (enum scenario_role)role;
    d->stack = (enum scenario_stack)stack;
    path_key(p, path, "id");
    if (!valid_device_id(d->id)) {
        return lfail(l, p, "'%s' is not a device id (a letter, then letters, digits, '-' or '_'; at most 64)", d->id);
    }
    path_key(p, path, "stack");
    if (scenario_stack_profile(d->stack) != l->s->profile) {
        return lfail(l, p, "stack '%s' does not belong to profile '%s'", stack_names[stack],
                     profile_names[l->s->profile]);
    }
    if (d->role == SCENARIO_ROLE_DEPOT) {
        return load_depot(l, dev, path, d);
    }
    if (json_object_get(dev, "position") != NULL || json_object_get(dev, "radius_m") != NULL) {
        return lfail(l, path, "position and radius_m apply to depots only (a bus follows the route)");
    }
    return 0;
}

static int load_devices(struct loader *l, const json_t *root)
{
    const json_t *arr = json_object_get(root, "devices");
    struct scenario *s = l->s;
    if (arr == NULL) {
        return lfail(l, "$", "missing required key 'devices'");
    }
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        return lfail(l, "$.devices", "must be a non-empty array of devices");
    }
    s->devices = calloc(json_array_size(arr), sizeof(*s->devices));
    if (s->devices == NULL) {
        return lfail(l, "$.devices", "out of memory");
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char p[PATH_CAP];
        path_index(p, "$.devices", i);
        if (load_device(l, json_array_get(arr, i), p, &s->devices[i]) != 0) {
            return -1;
        }
        int dup = scenario_find_device(s, s->devices[i].id);
        s->device_count++;
        if (dup >= 0) {
            char q[PATH_CAP];
            path_key(q, p, "id");
            return lfail(l, q, "duplicate device id '%s' (also $.devices[%d])", s->devices[i].id, dup);
        }
    }
    return 0;
}

static bool has_bus(const struct scenario *s)
{
    for (size_t i = 0; i < s->device_count; i++) {
        if (s->devices[i].role == SCENARIO_ROLE_BUS) {
            return true;
        }
    }
    return false;
}

/* ---- route ---- */

static int load_waypoint(struct loader *l, const json_t *w, const char *path, struct route_waypoint *out)
{
    static const char *const keys[] = { "lat", "lon", "alt_m", "speed_kmh", "dwell_s", "note", NULL };
    const char *note;
    memset(out, 0, sizeof(*out));
    return require_object(l, w, path) != 0 || check_keys(l, w, path, keys) != 0 ||
                   get_number(l, w, path, "lat", true, -90, 90, &out->lat) != 0 ||
                   get_number(l, w, path, "lon", true, -180, 180, &out->lon) != 0 ||
                   get_number(l, w, path, "alt_m", false, -500, 9000, &out->alt_m) != 0 ||
                   get_number(l, w, path, "speed_kmh", false, 0, 300, &out->speed_kmh) != 0 ||
                   get_number(l, w, path, "dwell_s", false, 0, 86400, &out->dwell_s) != 0 ||
                   get_string(l, w, path, "note", false, &note) != 0
               ? -1
               : 0;
}

static int load_waypoints(struct loader *l, const json_t *arr)
{
    if (!json_is_array(arr) || json_array_size(arr) < 2) {
        return lfail(l, "$.route.waypoints", "must be an array of at least two waypoints");
    }
    size_t n = json_array_size(arr);
    struct route_waypoint *w = calloc(n, sizeof(*w));
    if (w == NULL) {
        return lfail(l, "$.route.waypoints", "out of memory");
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char p[PATH_CAP];
        path_index(p, "$.route.waypoints", i);
        rc = load_waypoint(l, json_array_get(arr, i), p, &w[i]);
    }
    struct route_error rerr;
    if (rc == 0 && route_from_waypoints(w, n, &l->s->route.route, &rerr) != 0) {
        rc = lfail(l, "$.route.waypoints", "%s", rerr.reason);
    }
    free(w);
    return rc;
}

static int load_trace(struct loader *l, const json_t *route, const char *key, enum route_format format)
{
    struct scenario_route *r = &l->s->route;
    const char *name;
    char p[PATH_CAP];
    path_key(p, "$.route", key);
    if (get_string(l, route, "$.route", key, true, &name) != 0) {
        return -1;
    }
    r->file = resolve(l, name);
    if (r->file == NULL) {
        return lfail(l, p, "out of memory");
    }
    struct route_error rerr;
    if (route_load_file(r->file, format, r->speed_kmh, &r->route, &rerr) != 0) {
        return rerr.line > 0 ? lfail(l, p, "%s:%d: %s", name, rerr.line, rerr.reason)
                             : lfail(l, p, "%s: %s", name, rerr.reason);
    }
    return 0;
}

static int load_route_source(struct loader *l, const json_t *route);

static int load_route(struct loader *l, const json_t *root)
{
    static const char *const keys[] = { "gpx", "nmea", "waypoints", "speed_kmh", "laps", "note", NULL };
    const json_t *route = json_object_get(root, "route");
    struct scenario_route *r = &l->s->route;
    const char *note;
    double laps = 1;
    if (route == NULL) {
        return has_bus(l->s) ? lfail(l, "$", "missing required key 'route' (the buses need one)") : 0;
    }
    if (require_object(l, route, "$.route") != 0 || check_keys(l, route, "$.route", keys) != 0 ||
        get_number(l, route, "$.route", "speed_kmh", false, 1, 300, &r->speed_kmh) != 0 ||
        get_string(l, route, "$.route", "note", false, &note) != 0 ||
        get_number(l, route, "$.route", "laps", false, 1, 1000, &laps) != 0) {
        return -1;
    }
    if (laps != floor(laps)) {
        return lfail(l, "$.route.laps", "must be a whole number");
    }
    if (load_route_source(l, route) != 0) {
        return -1;
    }
    r->laps = (unsigned)laps;
    struct route_error rerr;
    if (route_repeat(&r->route, r->laps, SCENARIO_LAP_GAP_M, &rerr) != 0) {
        return lfail(l, "$.route.laps", "%s", rerr.reason);
    }
    return 0;
}

static int load_route_source(struct loader *l, const json_t *route)
{
    struct scenario_route *r = &l->s->route;
    int sources = (json_object_get(route, "gpx") != NULL) + (json_object_get(route, "nmea") != NULL) +
                  (json_object_get(route, "waypoints") != NULL);
    if (sources != 1) {
        return lfail(l, "$.route", "give exactly one of gpx, nmea or waypoints");
    }
    if (json_object_get(route, "gpx") != NULL) {
        r->source = SCENARIO_ROUTE_GPX;
        return load_trace(l, route, "gpx", ROUTE_FORMAT_GPX);
    }
    if (json_object_get(route, "nmea") != NULL) {
        r->source = SCENARIO_ROUTE_NMEA;
        return load_trace(l, route, "nmea", ROUTE_FORMAT_NMEA);
    }
    r->source = SCENARIO_ROUTE_WAYPOINTS;
    return load_waypoints(l, json_object_get(route, "waypoints"));
}

/* ---- timeline: shared pieces ---- */

static int load_match(struct loader *l, const json_t *obj, const char *path, const char *key,
                      struct expect_match *out)
{
    struct expect_error e;
    char p[PATH_CAP];
    path_key(p, path, key);
    if (expect_match_parse(json_object_get(obj, key), out, &e) != 0) {
        char q[PATH_CAP * 2];
        snprintf(q, sizeof(q), "%s%s", p, e.path);
        return lfail(l, q, "%s", e.reason);
    }
    return 0;
}

/* An MQTT topic filter: levels split by '/', '+' a whole level, '#' only last. */
static bool valid_topic_filter(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 65535) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        bool level_start = i == 0 || t[i - 1] == '/';
        bool level_end = i + 1 == n || t[i + 1] == '/';
        if ((t[i] == '+' && !(level_start && level_end)) || (t[i] == '#' && !(level_start && i + 1 == n))) {
            return false;
        }
    }
    return true;
}

static int get_topic(struct loader *l, const json_t *obj, const char *path, const char *key, bool required,
                     const char **out)
{
    char p[PATH_CAP];
    path_key(p, path, key);
    if (get_string(l, obj, path, key, required, out) != 0) {
        return -1;
    }
    if (*out != NULL && !valid_topic_filter(*out)) {
        return lfail(l, p, "'%s' is not an MQTT topic filter ('+' must be a whole level, '#' the last one)", *out);
    }
    return 0;
}

/* A JSON array of non-empty strings. */
static int get_string_list(struct loader *l, const json_t *obj, const char *path, const char *key,
                           const char ***out, size_t *count)
{
    const json_t *arr = json_object_get(obj, key);
    char p[PATH_CAP];
    path_key(p, path, key);
    *out = NULL;
    *count = 0;
    if (arr == NULL) {
        return 0;
    }
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        return lfail(l, p, "must be a non-empty array of strings");
    }
    *out = calloc(json_array_size(arr), sizeof(**out));
    if (*out == NULL) {
        return lfail(l, p, "out of memory");
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *v = json_array_get(arr, i);
        char q[PATH_CAP];
        path_index(q, p, i);
        if (!json_is_string(v) || json_string_length(v) == 0) {
            return lfail(l, q, "must be a non-empty string");
        }
        (*out)[(*count)++] = json_string_value(v);
    }
    return 0;
}

/* Optional-object body: the value of the action key, checked against keys. */
static int action_body(struct loader *l, const json_t *v, const char *path, const char *const *keys)
{
    return require_object(l, v, path) != 0 || check_keys(l, v, path, keys) != 0 ? -1 : 0;
}

/* ---- timeline: cloud actions and inputs ---- */

static int load_config(struct loader *l, const json_t *v, const char *path, struct scenario_action *a)
{
    if (!json_is_object(v)) {
        return lfail(l, path, "must be the configuration (a JSON object)");
    }
    a->u.config.payload = v;
    return 0;
}

/* The test command "publish" needs args {"topic": T, "payload": P}. */
static int check_publish_args(struct loader *l, const char *path, const json_t *args)
{
    static const char *const keys[] = { "topic", "payload", NULL };
    char p[PATH_CAP];
    const char *topic;
    path_key(p, path, "args");
    if (args == NULL) {
        return lfail(l, path, "the publish command needs args {\"topic\": ..., \"payload\": ...}");
    }
    if (check_keys(l, args, p, keys) != 0 || get_string(l, args, p, "topic", true, &topic) != 0) {
        return -1;
    }
    return json_object_get(args, "payload") != NULL ? 0 : lfail(l, p, "missing required key 'payload'");
}

static int load_command(struct loader *l, const json_t *v, const char *path, struct scenario_action *a)
{
    static const char *const keys[] = { "name", "args", NULL };
    char p[PATH_CAP];
    const char *name = json_string_value(v);
    snprintf(p, sizeof(p), "%s", path);
    if (json_is_object(v)) {
        path_key(p, path, "name");
        if (action_body(l, v, path, keys) != 0 || get_string(l, v, path, "name", true, &name) != 0) {
            return -1;
        }
        a->u.command.args = json_object_get(v, "args");
        if (a->u.command.args != NULL && !json_is_object(a->u.command.args)) {
            char q[PATH_CAP];
            path_key(q, path, "args");
            return lfail(l, q, "must be an object");
        }
    } else if (name == NULL) {
        return lfail(l, path, "must be a command name or {\"name\": ..., \"args\": {...}}");
    }
    for (size_t i = 0; i < COUNT_OF(command_names); i++) {
        if (strcmp(name, command_names[i]) == 0) {
            a->u.command.name = command_names[i];
            return strcmp(name, "publish") == 0 ? check_publish_args(l, path, a->u.command.args) : 0;
        }
    }
    return lfail(l, p, "unknown command '%s' (query_location, query_picture or publish)", name);
}

static int load_read_state(struct loader *l, const json_t *v, const char *path, struct scenario_action *a)
{
    static const char *const keys[] = { "match", NULL };
    return action_body(l, v, path, keys) != 0 ? -1 : load_match(l, v, path, "match", &a->u.read_state.match);
}

static int load_picture_file(struct loader *l, const char *name, const char *path, struct scenario_action *a)
{
    char p[PATH_CAP];
    path_key(p, path, "picture");
    a->u.driver.picture = resolve(l, name);
    if (a->u.driver.picture == NULL) {
        return lfail(l, p, "out of memory");
    }
    FILE *f = fopen(a->u.driver.picture, "rb");
    if (f == NULL) {
        return lfail(l, p, "cannot read '%s': %s", name, strerror(errno));
    }
    fclose(f);
    return 0;
}

static int load_driver(struct loader *l, const json_t *v, const char *path, struct scenario_action *a)
{
    static const char *const keys[] = { "behaviour", "picture", "picture_bytes", NULL };
    int behaviour = 0;
    const char *picture = NULL;
    double bytes = 0;
    if (action_body(l, v, path, keys) != 0 ||
        get_enum(l, v, path, "behaviour", true, behaviour_names, COUNT_OF(behaviour_names), &behaviour) != 0 ||
        get_string(l, v, path, "picture", false, &picture) != 0 ||
        get_number(l, v, path, "picture_bytes", false, 1, MAX_PICTURE_BYTES, &bytes) != 0) {
        return -1;
    }
    a->u.driver.behaviour = (enum scenario_behaviour)behaviour;
    if ((picture != NULL) == (bytes > 0)) {
        return lfail(l, path, "give exactly one of picture (a file) or picture_bytes (a synthetic picture's size)");
    }
    if (bytes > 0 && bytes != floor(bytes)) {
        char p[PATH_CAP];
        path_key(p, path, "picture_bytes");
        return lfail(l, p, "must be a whole number of bytes");
    }
    a->u.driver.picture_size = (size_t)bytes;
    return picture != NULL ? load_picture_file(l, picture, path, a) : 0;
}

/* ---- timeline: faults ---- */

#define FAULT_MAX_WORDS 8

/* A fault line split into words. */
struct fault_words {
    char buf[256];
    char *w[FAULT_MAX_WORDS];
    int n;
};

static bool word_in(const char *w, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(w, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool word_number(const char *w, double min, double max, bool integer)
{
    char *end = NULL;
    errno = 0;
    double x = strtod(w, &end);
    return errno == 0 && end != w && *end == '\0' && x >= min && x <= max && (!integer || x == floor(x));
}

static bool fault_rssi_ok(const struct fault_words *f)
{
    bool rssi = word_number(f->w[1], 0, 31, true) || strcmp(f->w[1], "99") == 0;
    bool ber = f->n < 3 || word_number(f->w[2], 0, 7, true) || strcmp(f->w[2], "99") == 0;
    return f->n >= 2 && f->n <= 3 && rssi && ber;
}

static bool fault_gnss_ok(const struct fault_words *f)
{
    if (f->n == 2) {
        return strcmp(f->w[1], "nofix") == 0;
    }
    static const double lim[][2] = { { -90, 90 }, { -180, 180 }, { -1000, 100000 }, { 0, 3000 }, { 0, 359.999 } };
    if (f->n < 4 || f->n > 7 || strcmp(f->w[1], "fix") != 0) {
        return false;
    }
    for (int i = 2; i < f->n; i++) {
        if (!word_number(f->w[i], lim[i - 2][0], lim[i - 2][1], false)) {
            return false;
        }
    }
    return true;
}

static bool fault_drop_ok(const struct fault_words *f)
{
    static const char *const what[] = { "tcp", "mqtt", "cch", NULL };
    if (f->n < 2 || f->n > 3 || !word_in(f->w[1], what)) {
        return false;
    }
    double max = strcmp(f->w[1], "tcp") == 0 ? 9 : 1;
    return f->n == 2 || word_number(f->w[2], 0, max, true);
}

/* Usage text of a simulator verb whose arguments are wrong, or NULL when they are fine. */
static const char *fault_sim_usage(const struct fault_words *f)
{
    static const char *const updown[] = { "up", "down", NULL };
    static const char *const regs[] = { "none", "home", "searching", "denied", "unknown", "roaming", NULL };
    static const char *const dirs[] = { "rx", "tx", "both", NULL };
    static const char *const simst[] = { "ready", "absent", NULL };
    static const char *const lat[] = { "instant", "realistic", NULL };
    static const char *const ord[] = { "ok-first", "info-first", NULL };
    static const char *const urc[] = { "until-final", "between-lines", NULL };
    const char *v = f->w[0];
    if (strcmp(v, "net") == 0) {
        return f->n == 2 && word_in(f->w[1], updown) ? NULL : "net up|down";
    }
    if (strcmp(v, "reg") == 0) {
        return f->n == 2 && word_in(f->w[1], regs) ? NULL : "reg none|home|searching|denied|unknown|roaming";
    }
    if (strcmp(v, "signal") == 0) {
        return fault_rssi_ok(f) ? NULL : "signal RSSI(0-31|99) [BER(0-7|99)]";
    }
    if (strcmp(v, "reset") == 0) {
        return f->n == 1 ? NULL : "reset";
    }
    if (strcmp(v, "stall") == 0) {
        return f->n == 2 && word_number(f->w[1], 0, 86400, false) ? NULL : "stall SECONDS(0-86400)";
    }
    if (strcmp(v, "uart-loss") == 0 || strcmp(v, "uart-corrupt") == 0) {
        bool ok = (f->n == 2 || (f->n == 3 && word_in(f->w[2], dirs))) && word_number(f->w[1], 0, 1, false);
        return ok ? NULL : strcmp(v, "uart-loss") == 0 ? "uart-loss RATE(0..1) [rx|tx|both]"
                                                        : "uart-corrupt RATE(0..1) [rx|tx|both]";
    }
    if (strcmp(v, "seed") == 0) {
        return f->n == 2 && word_number(f->w[1], 1, 9e15, true) ? NULL : "seed N(>0)";
    }
    if (strcmp(v, "sim") == 0) {
        return f->n == 2 && word_in(f->w[1], simst) ? NULL : "sim ready|absent";
    }
    if (strcmp(v, "latency") == 0) {
        return f->n == 2 && word_in(f->w[1], lat) ? NULL : "latency instant|realistic";
    }
    if (strcmp(v, "order") == 0) {
        return f->n == 2 && word_in(f->w[1], ord) ? NULL : "order ok-first|info-first";
    }
    if (strcmp(v, "urc") == 0) {
        return f->n == 2 && word_in(f->w[1], urc) ? NULL : "urc until-final|between-lines";
    }
    if (strcmp(v, "host") == 0) {
        return f->n == 3 ? NULL : "host NAME ADDRESS";
    }
    if (strcmp(v, "gnss") == 0) {
        return fault_gnss_ok(f) ? NULL : "gnss fix LAT LON [ALT [SPEED_KMH [COURSE]]] | gnss nofix";
    }
    return fault_drop_ok(f) ? NULL : "drop tcp [LINK(0-9)] | drop mqtt [IDX(0-1)] | drop cch [SESSION(0-1)]";
}

static bool is_sim_verb(const char *v)
{
    static const char *const verbs[] = { "net",  "reg",   "signal", "reset", "stall", "uart-loss", "uart-corrupt",
                                         "seed", "sim",   "latency", "order", "urc",   "host",      "gnss",
                                         "drop", NULL };
    return word_in(v, verbs);
}

static void split_fault(const char *text, struct fault_words *f)
{
    snprintf(f->buf, sizeof(f->buf), "%s", text);
    f->n = 0;
    for (char *save = NULL, *w = strtok_r(f->buf, " \t", &save); w != NULL && f->n < FAULT_MAX_WORDS;
         w = strtok_r(NULL, " \t", &save)) {
        f->w[f->n++] = w;
    }
}

/* Join the words with single blanks into a new string. */
static char *join_words(const struct fault_words *f)
{
    char out[256] = "";
    for (int i = 0; i < f->n; i++) {
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i ? " " : "", f->w[i]);
    }
    return strdup(out);
}

static int load_fault_global(struct loader *l, const struct fault_words *f, const char *path,
                             struct scenario_action *a)
{
    if (strcmp(f->w[0], "broker") == 0) {
        if (f->n != 2 || (strcmp(f->w[1], "restart") != 0 && strcmp(f->w[1], "rotate-cert") != 0)) {
            return lfail(l, path, "usage: broker restart | broker rotate-cert");
        }
        a->u.fault.target = SCENARIO_FAULT_BROKER;
        a->u.fault.line = join_words(f);
        return 0;
    }
    if (f->n != 3 || strcmp(f->w[1], "jump") != 0 || scenario_parse_duration(f->w[2], &a->u.fault.jump_s) != 0) {
        return lfail(l, path, "usage: clock jump DURATION (e.g. 90, 90s, 15m, 24h, 2d)");
    }
    char line[64];
    snprintf(line, sizeof(line), "clock jump %.0f", a->u.fault.jump_s);
    a->u.fault.target = SCENARIO_FAULT_CLOCK;
    a->u.fault.line = strdup(line);
    return 0;
}

static int load_fault(struct loader *l, const json_t *v, const char *path, struct scenario_action *a)
{
    struct fault_words f;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= sizeof(f.buf)) {
        return lfail(l, path, "must be a fault line such as \"net down\" (at most 255 characters)");
    }
    split_fault(json_string_value(v), &f);
    if (f.n == 0) {
        return lfail(l, path, "must be a fault line such as \"net down\" (at most 255 characters)");
    }
    if (strcmp(f.w[0], "broker") == 0 || strcmp(f.w[0], "clock") == 0) {
        return load_fault_global(l, &f, path, a);
    }
    if (!is_sim_verb(f.w[0])) {
        return lfail(l, path,
                     "unknown fault '%s' (net, reg, signal, reset, stall, uart-loss, uart-corrupt, seed, sim, "
                     "latency, order, urc, host, gnss, drop, broker, clock)",
                     f.w[0]);
    }
    const char *usage = fault_sim_usage(&f);
    if (usage != NULL) {
        return lfail(l, path, "usage: %s", usage);
    }
    a->u.fault.target = SCENARIO_FAULT_SIM;
    a->u.fault.line = join_words(&f);
    return a->u.fault.line != NULL ? 0 : lfail(l, path, "out of memory");
}

/* ---- timeline: expectations ---- */

static int count_value(struct loader *l, const json_t *v, const char *path, long *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT_MAX) {
        return lfail(l, path, "must be a whole number >= 0");
    }
    *out = (long)json_integer_value(v);
    return 0;
}

static int load_count(struct loader *l, const json_t *obj, const char *path, struct scenario_count *c)
{
    static const char *const keys[] = { "exactly", "at_least", "at_most", NULL };
    const json_t *v = json_object_get(obj, "count");
    char p[PATH_CAP];
    char q[PATH_CAP];
    path_key(p, path, "count");
    c->at_least = 1;
    c->at_most = -1;
    if (v == NULL) {
        return 0;
    }
    if (json_is_integer(v)) {
        if (count_value(l, v, p, &c->at_least) != 0) {
            return -1;
        }
        c->at_most = c->at_least;
        return 0;
    }
    if (!json_is_object(v) || json_object_size(v) == 0) {
        return lfail(l, p, "must be a number (exactly) or {\"exactly\"|\"at_least\"|\"at_most\": N}");
    }
    if (check_keys(l, v, p, keys) != 0) {
        return -1;
    }
    const json_t *exactly = json_object_get(v, "exactly");
    if (exactly != NULL) {
        path_key(q, p, "exactly");
        if (json_object_size(v) != 1) {
            return lfail(l, p, "exactly cannot be combined with at_least or at_most");
        }
        if (count_value(l, exactly, q, &c->at_least) != 0) {
            return -1;
        }
        c->at_most = c->at_least;
        return 0;
    }
    c->at_least = 0;
    path_key(q, p, "at_least");
    if (json_object_get(v, "at_least") != NULL && count_value(l, json_object_get(v, "at_least"), q, &c->at_least) != 0) {
        return -1;
    }
    path_key(q, p, "at_most");
    if (json_object_get(v, "at_most") != NULL && count_value(l, json_object_get(v, "at_most"), q, &c->at_most) != 0) {
        return -1;
    }
    if (c->at_most >= 0 && c->at_most < c->at_least) {
        return lfail(l, p, "at_most %ld is below at_least %ld", c->at_most, c->at_least);
    }
    return 0;
}

static int load_expect_message(struct loader *l, const json_t *v, const char *path, struct scenario_action *a)
{
    static const char *const keys[] = { "topic", "pubsub", "match", "within", "count", "id", NULL };
    if (action_body(l, v, path, keys) != 0 || get_topic(l, v, path, "topic", false, &a->u.message.topic) != 0 ||
        get_string(l, v, path, "pubsub", false, &a->u.message.pubsub) != 0 ||
        get_string(l, v, path, "id", false, &a->u.message.id) != 0 ||
        get_window(l, v, path, "within", true, &a->u.message.within_s) != 0 ||
        load_count(l, v, path, &a->u.message.count) != 0 ||
        load_match(l, v, path, "match", &a->u.message.match) != 0) {
        return -1;
    }
    if ((a->u.message.topic != NULL) == (a->u.message.pubsub != NULL)) {
        return lfail(l, path, "give exactly one of topic (MQTT) or pubsub (a gcp Pub/Sub topic)");
    }
    if (a->u.message.pubsub != NULL && l->s->profile != SCENARIO_PROFILE_GCP) {
        char p[PATH_CAP];
        path_key(p, path, "pubsub");
        return lfail(l, p, "Pub/Sub topics exist only with profile gcp");
    }
    return 0;
}

static int load_expect_order(struct loader *l, const json_t *v, const char *path, struct scenario_action *a)
{
    if (!json_is_array(v) || json_array_size(v) < 2) {
        return lfail(l, path, "must be an array of at least two expect_message ids");
    }
    a->u.order.ids = calloc(json_array_size(v), sizeof(*a->u.order.ids));
    if (a->u.order.ids == NULL) {
        return lfail(l, path, "out of memory");
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        char p[PATH_CAP];
        path_index(p, path, i);
        const json_t *id = json_array_get(v, i);
        if (!json_is_string(id) || json_string_length(id) == 0) {
            return lfail(l, p, "must be an expect_message id");
        }
        a->u.order.ids[a->u.order.count++] = json_string_value(id);
    }
    return 0;
}

static int load_expect_no_loss(struct loader *l, const json_t *v, const char *path, struct scenario_action *a)
{
    static const char *const keys[] = { "topic", "key", "match", NULL };
    char p[PATH_CAP];
    path_key(p, path, "key");
    if (action_body(l, v, path, keys) != 0 || get_topic(l, v, path, "topic", true, &a->u.no_loss.topic) != 0 ||
        get_string(l, v, path, "key", false, &a->u.no_loss.key) != 0 ||
        load_match(l, v, path, "match", &a->u.no_loss.match) != 0) {
        return -1;
    }
    if (a->u.no_loss.key == NULL) {
        a->u.no_loss.key = "seq";
    } else if (!expect_path_valid(a->u.no_loss.key)) {
        return lfail(l, p, "malformed field path '%s'", a->u.no_loss.key);
    }
    return 0;
}

static int load_expect_connection(struct loader *l, const json_t *v, const char *path, struct scenario_action *a)
{
    static const char *const keys[] = { "state", "within", NULL };
    static const char *const states[] = { "disconnected", "connected" };
    int state = 0;
    if (action_body(l, v, path, keys) != 0 || get_enum(l, v, path, "state", true, states, 2, &state) != 0 ||
        get_window(l, v, path, "within", false, &a->u.connection.within_s) != 0) {
        return -1;
    }
    a->u.connection.connected = state == 1;
    return 0;
}

static int load_expect_ack(struct loader *l, const json_t *v, const char *path, struct scenario_action *a)
{
    static const char *const keys[] = { "what", "version", "within", NULL };
    int what = 0;
    char p[PATH_CAP];
    if (action_body(l, v, path, keys) != 0 ||
        get_enum(l, v, path, "what", true, ack_names, COUNT_OF(ack_names), &what) != 0 ||
        get_window(l, v, path, "within", true, &a->u.ack.within_s) != 0) {
        return -1;
    }
    a->u.ack.what = (enum scenario_ack)what;
    const json_t *version = json_object_get(v, "version");
    path_key(p, path, "version");
    if (version != NULL && !(json_is_string(version) && strcmp(json_string_value(version), "latest") == 0) &&
        !(json_is_integer(version) && json_integer_value(version) > 0 && json_integer_value(version) <= INT_MAX)) {
        return lfail(l, p, "must be a version number (> 0) or \"latest\"");
    }
    a->u.ack.version = json_is_integer(version) ? (long)json_integer_value(version) : 0;
    path_key(p, path, "what");
    if (a->u.ack.what == SCENARIO_ACK_SHADOW && l->s->profile != SCENARIO_PROFILE_AWS) {
        return lfail(l, p, "a shadow exists only with profile aws");
    }
    if (a->u.ack.what == SCENARIO_ACK_STATE && l->s->profile != SCENARIO_PROFILE_GCP) {
        return lfail(l, p, "device state exists only with profile gcp (use shadow)");
    }
    return 0;
}

static int load_expect_uart(struct loader *l, const json_t *v, const char *path, struct scenario_action *a)
{
    static const char *const keys[] = { "contains", "absent", NULL };
    if (action_body(l, v, path, keys) != 0 ||
        get_string_list(l, v, path, "contains", &a->u.uart.contains, &a->u.uart.contains_count) != 0 ||
        get_string_list(l, v, path, "absent", &a->u.uart.absent, &a->u.uart.absent_count) != 0) {
        return -1;
    }
    if (a->u.uart.contains_count + a->u.uart.absent_count == 0) {
        return lfail(l, path, "give contains and/or absent (arrays of strings)");
    }
    return 0;
}

/* ---- timeline entries ---- */

typedef int (*action_loader)(struct loader *, const json_t *, const char *, struct scenario_action *);

static const action_loader action_loaders[] = {
    load_config,          load_command,        load_read_state,     load_driver,
    load_fault,           load_expect_message, load_expect_order,   load_expect_no_loss,
    load_expect_connection, load_expect_ack,   load_expect_uart,
};

/* The action key of an entry; -1 when there is none or more than one. */
static int action_kind(struct loader *l, const json_t *entry, const char *path, int *kind)
{
    int found = -1;
    for (size_t i = 0; i < COUNT_OF(action_names); i++) {
        if (json_object_get(entry, action_names[i]) == NULL) {
            continue;
        }
        if (found >= 0) {
            return lfail(l, path, "one action per entry: both '%s' and '%s' given", action_names[found],
                         action_names[i]);
        }
        found = (int)i;
    }
    if (found < 0) {
        return lfail(l, path,
                     "no action: give one of config, command, read_state, driver, fault, expect_message, "
                     "expect_order, expect_no_loss, expect_connection, expect_ack, expect_uart");
    }
    *kind = found;
    return 0;
}

/* Whether an action kind acts on one device (and so defaults to the only bus). */
static bool kind_needs_device(enum scenario_action_kind k, const struct scenario_action *a)
{
    switch (k) {
    case SCENARIO_ACTION_EXPECT_MESSAGE:
    case SCENARIO_ACTION_EXPECT_ORDER:
        return false;
    case SCENARIO_ACTION_FAULT:
        return a->u.fault.target == SCENARIO_FAULT_SIM;
    default:
        return true;
    }
}

static int only_bus(const struct scenario *s)
{
    int found = -1;
    for (size_t i = 0; i < s->device_count; i++) {
        if (s->devices[i].role == SCENARIO_ROLE_BUS) {
            if (found >= 0) {
                return -2;
            }
            found = (int)i;
        }
    }
    return found;
}

static int resolve_device(struct loader *l, const json_t *entry, const char *path, struct scenario_action *a)
{
    const char *id;
    char p[PATH_CAP];
    path_key(p, path, "device");
    if (get_string(l, entry, path, "device", false, &id) != 0) {
        return -1;
    }
    bool needs = kind_needs_device(a->kind, a);
    a->device = -1;
    if (id != NULL) {
        a->device = scenario_find_device(l->s, id);
        if (a->device < 0) {
            return lfail(l, p, "no device '%s' in $.devices", id);
        }
        if (!needs && a->kind != SCENARIO_ACTION_EXPECT_MESSAGE) {
            return lfail(l, p, "%s applies to the whole run, not to one device", a->kind == SCENARIO_ACTION_FAULT
                                                                                     ? a->u.fault.line
                                                                                     : action_names[a->kind]);
        }
    } else if (needs) {
        a->device = only_bus(l->s);
        if (a->device < 0) {
            return lfail(l, path, "missing required key 'device' (the scenario has %s bus)",
                         a->device == -2 ? "more than one" : "no");
        }
    }
    if (a->kind == SCENARIO_ACTION_DRIVER && l->s->devices[a->device].role != SCENARIO_ROLE_BUS) {
        return lfail(l, p, "driver inputs go to a bus, and '%s' is a depot", l->s->devices[a->device].id);
    }
    return 0;
}

static int load_entry(struct loader *l, const json_t *entry, const char *path, struct scenario_action *a)
{
    static const char *const keys[] = { "at",           "device",         "note",           "config",
                                        "command",      "read_state",     "driver",         "fault",
                                        "expect_message", "expect_order", "expect_no_loss", "expect_connection",
                                        "expect_ack",   "expect_uart",    NULL };
    int kind = 0;
    char p[PATH_CAP];
    if (require_object(l, entry, path) != 0 || check_keys(l, entry, path, keys) != 0 ||
        get_time(l, entry, path, "at", true, &a->at_s) != 0 || get_string(l, entry, path, "note", false, &a->note) != 0 ||
        action_kind(l, entry, path, &kind) != 0) {
        return -1;
    }
    a->kind = (enum scenario_action_kind)kind;
    path_key(p, path, action_names[kind]);
    if (action_loaders[kind](l, json_object_get(entry, action_names[kind]), p, a) != 0) {
        return -1;
    }
    return resolve_device(l, entry, path, a);
}

static void action_free(struct scenario_action *a)
{
    switch (a->kind) {
    case SCENARIO_ACTION_READ_STATE:
        expect_match_free(&a->u.read_state.match);
        break;
    case SCENARIO_ACTION_DRIVER:
        free(a->u.driver.picture);
        break;
    case SCENARIO_ACTION_FAULT:
        free(a->u.fault.line);
        break;
    case SCENARIO_ACTION_EXPECT_MESSAGE:
        expect_match_free(&a->u.message.match);
        break;
    case SCENARIO_ACTION_EXPECT_ORDER:
        free(a->u.order.ids);
        break;
    case SCENARIO_ACTION_EXPECT_NO_LOSS:
        expect_match_free(&a->u.no_loss.match);
        break;
    case SCENARIO_ACTION_EXPECT_UART:
        free(a->u.uart.contains);
        free(a->u.uart.absent);
        break;
    default:
        break;
    }
}

/* Message ids are unique, and every id in an expect_order names one. */
static int check_ids(struct loader *l)
{
    const struct scenario *s = l->s;
    for (size_t i = 0; i < s->action_count; i++) {
        const struct scenario_action *a = &s->actions[i];
        for (size_t j = 0; a->kind == SCENARIO_ACTION_EXPECT_MESSAGE && a->u.message.id != NULL && j < i; j++) {
            const struct scenario_action *b = &s->actions[j];
            if (b->kind == SCENARIO_ACTION_EXPECT_MESSAGE && b->u.message.id != NULL &&
                strcmp(a->u.message.id, b->u.message.id) == 0) {
                char p[PATH_CAP];
                snprintf(p, sizeof(p), "$.timeline[%zu].expect_message.id", a->index);
                return lfail(l, p, "id '%s' is already used by $.timeline[%zu]", a->u.message.id, b->index);
            }
        }
    }
    for (size_t i = 0; i < s->action_count; i++) {
        const struct scenario_action *a = &s->actions[i];
        for (size_t k = 0; a->kind == SCENARIO_ACTION_EXPECT_ORDER && k < a->u.order.count; k++) {
            bool found = false;
            for (size_t j = 0; j < s->action_count && !found; j++) {
                const struct scenario_action *b = &s->actions[j];
                found = b->kind == SCENARIO_ACTION_EXPECT_MESSAGE && b->u.message.id != NULL &&
                        strcmp(b->u.message.id, a->u.order.ids[k]) == 0;
            }
            if (!found) {
                char p[PATH_CAP];
                snprintf(p, sizeof(p), "$.timeline[%zu].expect_order[%zu]", a->index, k);
                return lfail(l, p, "no expect_message has id '%s'", a->u.order.ids[k]);
            }
        }
    }
    return 0;
}

/* Trip length, and every action inside it. */
static int check_times(struct loader *l, const json_t *root)
{
    struct scenario *s = l->s;
    bool given = json_object_get(root, "duration") != NULL;
    if (!given) {
        s->duration_s = route_duration_s(&s->route.route);
        for (size_t i = 0; i < s->action_count && s->route.route.count == 0; i++) {
            s->duration_s = fmax(s->duration_s, s->actions[i].at_s);
        }
    }
    if (!(s->duration_s > 0.0)) {
        return lfail(l, "$", "the trip has no length: give duration (there is no route)");
    }
    for (size_t i = 0; i < s->action_count; i++) {
        if (s->actions[i].at_s > s->duration_s) {
            char p[PATH_CAP], at[32], end[32];
            snprintf(p, sizeof(p), "$.timeline[%zu].at", s->actions[i].index);
            scenario_format_time(s->actions[i].at_s, at, sizeof(at));
            scenario_format_time(s->duration_s, end, sizeof(end));
            return lfail(l, p, "%s is after the end of the trip (%s, the %s)", at, end,
                         given ? "duration" : "end of the route");
        }
    }
    return 0;
}

static int load_timeline(struct loader *l, const json_t *root)
{
    const json_t *arr = json_object_get(root, "timeline");
    struct scenario *s = l->s;
    if (arr == NULL) {
        return lfail(l, "$", "missing required key 'timeline'");
    }
    if (!json_is_array(arr)) {
        return lfail(l, "$.timeline", "must be an array of entries");
    }
    s->actions = calloc(json_array_size(arr) + 1, sizeof(*s->actions));
    if (s->actions == NULL) {
        return lfail(l, "$.timeline", "out of memory");
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char p[PATH_CAP];
        path_index(p, "$.timeline", i);
        struct scenario_action *a = &s->actions[s->action_count++];
        a->index = i;
        if (load_entry(l, json_array_get(arr, i), p, a) != 0) {
            return -1;
        }
    }
    return check_ids(l);
}

static int load_document(struct loader *l, json_t *root)
{
    static const char *const keys[] = { "name",    "description", "profile", "stack", "rate",     "start",
                                        "duration", "devices",    "route",   "timeline", "note", NULL };
    if (require_object(l, root, "$") != 0 || check_keys(l, root, "$", keys) != 0 || load_header(l, root) != 0 ||
        load_devices(l, root) != 0 || load_route(l, root) != 0 || load_timeline(l, root) != 0 ||
        check_times(l, root) != 0) {
        return -1;
    }
    /*
     * Without "start" the runner starts the trip at the time of the run: a
     * dated trace only times the route. Taking the trace's date instead put
     * trips before the validity of the certificates certs/gen.sh makes, and
     * a device that checks dates (MCU-side TLS) then refused the broker.
     */
    return 0;
}

void scenario_free(struct scenario *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->action_count; i++) {
        action_free(&s->actions[i]);
    }
    free(s->actions);
    free(s->devices);
    free(s->route.file);
    route_free(&s->route.route);
    free(s->path);
    json_decref(s->root);
    memset(s, 0, sizeof(*s));
}

static int syntax_error(struct loader *l, const json_error_t *jerr)
{
    struct scenario_error *e = l->err;
    if (e == NULL) {
        return -1;
    }
    memset(e, 0, sizeof(*e));
    snprintf(e->file, sizeof(e->file), "%s", l->file);
    snprintf(e->reason, sizeof(e->reason), "%s", jerr->text);
    e->line = jerr->line > 0 ? jerr->line : 0;
    e->column = jerr->line > 0 ? jerr->column : 0;
    if (e->line > 0) {
        snprintf(e->message, sizeof(e->message), "%s:%d:%d: %s", e->file, e->line, e->column, e->reason);
    } else {
        snprintf(e->message, sizeof(e->message), "%s: %s", e->file, e->reason);
    }
    return -1;
}

static int load_root(struct loader *l, json_t *root, struct scenario *out)
{
    out->root = root;
    out->path = strdup(l->file);
    if (out->path == NULL || load_document(l, root) != 0) {
        if (out->path == NULL) {
            lfail(l, "$", "out of memory");
        }
        scenario_free(out);
        return -1;
    }
    return 0;
}

int scenario_load_text(const char *text, size_t len, const char *name, const char *base_dir, struct scenario *out,
                       struct scenario_error *err)
{
    struct loader l = { name, base_dir != NULL ? base_dir : ".", out, err, text, len };
    memset(out, 0, sizeof(*out));
    if (err != NULL) {
        memset(err, 0, sizeof(*err));
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return syntax_error(&l, &jerr);
    }
    return load_root(&l, root, out);
}

static char *directory_of(const char *path)
{
    char *dir = strdup(path);
    if (dir == NULL) {
        return NULL;
    }
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        strcpy(dir, ".");
    } else {
        slash[slash == dir ? 1 : 0] = '\0';
    }
    return dir;
}

int scenario_load(const char *path, struct scenario *out, struct scenario_error *err)
{
    struct loader l = { path, ".", out, err, NULL, 0 };
    memset(out, 0, sizeof(*out));
    size_t len = 0;
    char *text = harness_read_file(path, (size_t)16 << 20, &len);
    if (text == NULL) {
        json_error_t jerr = { 0 };
        jerr.line = -1;
        snprintf(jerr.text, sizeof(jerr.text), "unable to open %s: %s", path, strerror(errno));
        return syntax_error(&l, &jerr);
    }
    char *dir = directory_of(path);
    int rc = dir == NULL ? lfail(&l, "$", "out of memory") : scenario_load_text(text, len, path, dir, out, err);
    free(dir);
    free(text);
    return rc;
}

/* ---- verdicts ---- */

static bool verdict(char *why, size_t cap, bool ok, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool verdict(char *why, size_t cap, bool ok, const char *fmt, ...)
{
    if (why != NULL && cap > 0) {
        why[0] = '\0';
        if (!ok && fmt != NULL) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(why, cap, fmt, ap);
            va_end(ap);
        }
    }
    return ok;
}

int scenario_message_query(const struct scenario *s, const struct scenario_action *a, struct expect_query *q)
{
    memset(q, 0, sizeof(*q));
    if (a->kind == SCENARIO_ACTION_EXPECT_MESSAGE) {
        q->topic = a->u.message.topic;
        q->pubsub = a->u.message.pubsub;
        q->sender = a->device >= 0 ? s->devices[a->device].id : NULL;
        q->match = &a->u.message.match;
        q->from_s = a->at_s;
        q->to_s = a->at_s + a->u.message.within_s;
        return 0;
    }
    if (a->kind == SCENARIO_ACTION_EXPECT_NO_LOSS) {
        q->topic = a->u.no_loss.topic;
        q->match = &a->u.no_loss.match;
        q->from_s = 0.0;
        q->to_s = a->at_s;
        return 0;
    }
    return -1;
}

bool scenario_check_message(const struct scenario *s, const struct scenario_action *a,
                            const struct expect_record *log, size_t n, char *why, size_t why_cap)
{
    struct expect_query q;
    if (scenario_message_query(s, a, &q) != 0 || a->kind != SCENARIO_ACTION_EXPECT_MESSAGE) {
        return verdict(why, why_cap, false, "not an expect_message");
    }
    size_t count = expect_log_count(log, n, &q, NULL);
    char reason[160];
    if (expect_count_ok((long)count, a->u.message.count.at_least, a->u.message.count.at_most, reason,
                        sizeof(reason))) {
        return verdict(why, why_cap, true, NULL);
    }
    char from[32], to[32];
    scenario_format_time(q.from_s, from, sizeof(from));
    scenario_format_time(q.to_s, to, sizeof(to));
    return verdict(why, why_cap, false, "%s on %s matching between %s and %s", reason,
                   q.topic != NULL ? q.topic : q.pubsub, from, to);
}

/* The expect_message with this id (check_ids made sure it exists). */
static const struct scenario_action *message_by_id(const struct scenario *s, const char *id)
{
    for (size_t i = 0; i < s->action_count; i++) {
        const struct scenario_action *b = &s->actions[i];
        if (b->kind == SCENARIO_ACTION_EXPECT_MESSAGE && b->u.message.id != NULL && strcmp(b->u.message.id, id) == 0) {
            return b;
        }
    }
    return NULL;
}

bool scenario_check_order(const struct scenario *s, const struct scenario_action *a, const struct expect_record *log,
                          size_t n, char *why, size_t why_cap)
{
    if (a->kind != SCENARIO_ACTION_EXPECT_ORDER) {
        return verdict(why, why_cap, false, "not an expect_order");
    }
    double *first = calloc(a->u.order.count, sizeof(*first));
    if (first == NULL) {
        return verdict(why, why_cap, false, "out of memory");
    }
    for (size_t i = 0; i < a->u.order.count; i++) {
        const struct scenario_action *m = message_by_id(s, a->u.order.ids[i]);
        struct expect_query q;
        first[i] = -1.0;
        if (m != NULL && scenario_message_query(s, m, &q) == 0) {
            expect_log_count(log, n, &q, &first[i]);
        }
    }
    bool ok = expect_order_ok(a->u.order.ids, first, a->u.order.count, why, why_cap);
    free(first);
    return ok;
}

bool scenario_check_no_loss(const struct scenario *s, const struct scenario_action *a,
                            const struct expect_record *log, size_t n, char *why, size_t why_cap)
{
    struct expect_query q;
    if (scenario_message_query(s, a, &q) != 0 || a->kind != SCENARIO_ACTION_EXPECT_NO_LOSS) {
        return verdict(why, why_cap, false, "not an expect_no_loss");
    }
    long *seq = NULL;
    size_t count = 0;
    if (!expect_log_sequence(log, n, &q, a->u.no_loss.key, &seq, &count, why, why_cap)) {
        return false;
    }
    bool ok = count > 0 ? expect_sequence_ok(seq, count, why, why_cap)
                        : verdict(why, why_cap, false, "no message on %s to check", q.topic);
    free(seq);
    return ok;
}

bool scenario_check_uart(const struct scenario_action *a, const void *capture, size_t len, char *why, size_t why_cap)
{
    if (a->kind != SCENARIO_ACTION_EXPECT_UART) {
        return verdict(why, why_cap, false, "not an expect_uart");
    }
    for (size_t i = 0; i < a->u.uart.contains_count; i++) {
        const char *needle = a->u.uart.contains[i];
        if (memmem(capture, len, needle, strlen(needle)) == NULL) {
            return verdict(why, why_cap, false, "the UART capture does not contain \"%s\"", needle);
        }
    }
    for (size_t i = 0; i < a->u.uart.absent_count; i++) {
        const char *needle = a->u.uart.absent[i];
        const char *at = memmem(capture, len, needle, strlen(needle));
        if (at != NULL) {
            return verdict(why, why_cap, false, "the UART capture contains \"%s\" (at byte %zu)", needle,
                           (size_t)(at - (const char *)capture));
        }
    }
    return verdict(why, why_cap, true, NULL);
}

static bool device_connected_at(const char *device, const struct scenario_conn_event *events, size_t n, double t)
{
    bool connected = false;
    for (size_t i = 0; i < n && events[i].t_s <= t; i++) {
        if (strcmp(events[i].device, device) == 0) {
            connected = events[i].connected;
        }
    }
    return connected;
}

bool scenario_check_connection(const struct scenario *s, const struct scenario_action *a,
                               const struct scenario_conn_event *events, size_t n, char *why, size_t why_cap)
{
    if (a->kind != SCENARIO_ACTION_EXPECT_CONNECTION || a->device < 0) {
        return verdict(why, why_cap, false, "not an expect_connection");
    }
    const char *device = s->devices[a->device].id;
    bool want = a->u.connection.connected;
    if (device_connected_at(device, events, n, a->at_s) == want) {
        return verdict(why, why_cap, true, NULL);
    }
    double end = a->at_s + a->u.connection.within_s;
    for (size_t i = 0; i < n; i++) {
        if (events[i].t_s > a->at_s && events[i].t_s <= end && strcmp(events[i].device, device) == 0 &&
            events[i].connected == want) {
            return verdict(why, why_cap, true, NULL);
        }
    }
    char at[32], until[32];
    scenario_format_time(a->at_s, at, sizeof(at));
    scenario_format_time(end, until, sizeof(until));
    if (a->u.connection.within_s > 0) {
        return verdict(why, why_cap, false, "%s was not %s between %s and %s", device,
                       want ? "connected" : "disconnected", at, until);
    }
    return verdict(why, why_cap, false, "%s was not %s at %s", device, want ? "connected" : "disconnected", at);
}

bool scenario_check_ack(const struct scenario *s, const struct scenario_action *a,
                        const struct scenario_ack_event *events, size_t n, long latest_version, char *why,
                        size_t why_cap)
{
    if (a->kind != SCENARIO_ACTION_EXPECT_ACK || a->device < 0) {
        return verdict(why, why_cap, false, "not an expect_ack");
    }
    const char *device = s->devices[a->device].id;
    long version = a->u.ack.version > 0 ? a->u.ack.version : latest_version;
    double end = a->at_s + a->u.ack.within_s;
    for (size_t i = 0; i < n; i++) {
        const struct scenario_ack_event *e = &events[i];
        if (e->t_s >= a->at_s && e->t_s <= end && e->what == a->u.ack.what && e->version == version &&
            strcmp(e->device, device) == 0) {
            return verdict(why, why_cap, true, NULL);
        }
    }
    char at[32], until[32];
    scenario_format_time(a->at_s, at, sizeof(at));
    scenario_format_time(end, until, sizeof(until));
    return verdict(why, why_cap, false, "%s did not acknowledge %s version %ld between %s and %s", device,
                   scenario_ack_str(a->u.ack.what), version, at, until);
}
