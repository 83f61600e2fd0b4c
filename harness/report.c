/* report — the self-contained HTML page of one run (see report.h). */
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "route.h"

/* ---- escaping ---- */

void report_html_escape(FILE *out, const char *text, size_t len)
{
    for (size_t i = 0; i < len && text[i]; i++) {
        unsigned char c = (unsigned char)text[i];
        switch (c) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default:
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
                fputs("&#xFFFD;", out);
            else
                fputc(c, out);
        }
    }
}

static void esc(FILE *out, const char *text)
{
    report_html_escape(out, text ? text : "", SIZE_MAX);
}

/* ---- what the run directory holds ---- */

/* One message of cloud.log. */
struct cloud_line {
    double t_s;
    char *topic;
    char *payload; /* NUL-terminated */
    size_t len;
};

struct cloud_lines {
    struct cloud_line *items;
    size_t count, cap;
};

/* One chunk of a UART capture. */
struct at_line {
    double t_s;
    bool from_host; /* RX: host to modem */
    char *text;     /* the quoted C string as written in the capture */
};

/* One row of the side-by-side timeline. */
enum column { COL_AT, COL_MQTT, COL_ACTION };

struct event {
    double t_s;
    size_t seq; /* keeps equal times in reading order */
    enum column column;
    const char *device;
    bool from_host;
    const char *text; /* points into the lines above or the scenario */
    size_t len;
};

struct events {
    struct event *items;
    size_t count, cap;
};

static void *grow(void *items, size_t *cap, size_t count, size_t size)
{
    if (count < *cap)
        return items;
    size_t n = *cap * 2 + 64;
    void *grown = realloc(items, n * size);
    if (grown)
        *cap = n;
    return grown;
}

/* "123.456 TOPIC PAYLOAD": true with the fields split (line is modified). */
static bool split_cloud_line(char *line, double *t, char **topic, char **payload)
{
    char *end;
    *t = strtod(line, &end);
    if (end == line || *end != ' ')
        return false;
    *topic = end + 1;
    char *space = strchr(*topic, ' ');
    *payload = space ? space + 1 : *topic + strlen(*topic);
    if (space)
        *space = '\0';
    return **topic != '\0';
}

/* A line that is not "TIME TOPIC ..." continues the previous payload (it held a newline). */
static void append_continuation(struct cloud_line *last, const char *line)
{
    size_t extra = strlen(line);
    char *grown = realloc(last->payload, last->len + extra + 2);
    if (!grown)
        return;
    grown[last->len] = '\n';
    memcpy(grown + last->len + 1, line, extra + 1);
    last->payload = grown;
    last->len += extra + 1;
}

static int read_cloud_log(const char *path, struct cloud_lines *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        double t;
        char *topic, *payload;
        if (!split_cloud_line(line, &t, &topic, &payload)) {
            if (out->count > 0)
                append_continuation(&out->items[out->count - 1], line);
            continue;
        }
        struct cloud_line *items = grow(out->items, &out->cap, out->count, sizeof *items);
        if (!items)
            break;
        out->items = items;
        struct cloud_line *c = &items[out->count];
        c->t_s = t;
        c->topic = strdup(topic);
        c->payload = strdup(payload);
        c->len = strlen(payload);
        if (!c->topic || !c->payload) {
            free(c->topic);
            free(c->payload);
            break;
        }
        out->count++;
    }
    free(line);
    fclose(f);
    return 0;
}

static void free_cloud_lines(struct cloud_lines *c)
{
    for (size_t i = 0; i < c->count; i++) {
        free(c->items[i].topic);
        free(c->items[i].payload);
    }
    free(c->items);
}

/* Virtual time of a capture line ("2026-11-27T04:09:32.271Z ...") in ns, or -1. */
static int64_t capture_time_ns(const char *line)
{
    struct tm tm;
    int ms = 0;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(line, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest || sscanf(rest, ".%dZ", &ms) != 1)
        return -1;
    return (int64_t)timegm(&tm) * 1000000000LL + (int64_t)ms * 1000000LL;
}

/*
 * Trip time of a capture line raw_s virtual seconds after trip start: the
 * clock jumps of the scenario (forward ones) moved the virtual clock but not
 * trip time, so each jump already behind the line is taken off.
 */
static double trip_time(const struct scenario *sc, double raw_s)
{
    double offset = 0.0, done_at = -1.0;
    for (;;) {
        const struct scenario_action *next = NULL;
        for (size_t i = 0; i < sc->action_count; i++) {
            const struct scenario_action *a = &sc->actions[i];
            if (a->kind == SCENARIO_ACTION_FAULT && a->u.fault.target == SCENARIO_FAULT_CLOCK &&
                a->u.fault.jump_s > 0 && a->at_s > done_at && (!next || a->at_s < next->at_s))
                next = a;
        }
        if (!next || raw_s - offset < next->at_s + next->u.fault.jump_s)
            return raw_s - offset;
        offset += next->u.fault.jump_s;
        done_at = next->at_s;
    }
}

/* Up to REPORT_MAX_AT_ROWS chunks of a capture; *more counts those left out. */
static int read_capture(const struct scenario *sc, const char *path, int64_t start_ns, struct at_line **out, size_t *count, size_t *more)
{
    FILE *f = fopen(path, "r");
    *out = NULL;
    *count = *more = 0;
    if (!f)
        return -1;
    size_t cap = 0;
    char *line = NULL;
    size_t line_cap = 0;
    while (getline(&line, &line_cap, f) > 0) {
        int64_t t = capture_time_ns(line);
        char *dir = strstr(line, "Z RX \"") ? strstr(line, "Z RX \"") : strstr(line, "Z TX \"");
        if (line[0] == '#' || t < 0 || !dir)
            continue;
        if (*count == REPORT_MAX_AT_ROWS) {
            (*more)++;
            continue;
        }
        struct at_line *items = grow(*out, &cap, *count, sizeof *items);
        if (!items)
            break;
        *out = items;
        char *text = dir + 6;
        size_t len = strlen(text);
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '"'))
            text[--len] = '\0';
        items[*count] = (struct at_line){ trip_time(sc, (double)(t - start_ns) / 1e9), dir[2] == 'R', strdup(text) };
        if (!items[*count].text)
            break;
        (*count)++;
    }
    free(line);
    fclose(f);
    return 0;
}

/* ---- files ---- */

static int make_dir(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    FILE *out = in ? fopen(to, "wb") : NULL;
    int rc = in && out ? 0 : -1;
    char buf[16384];
    size_t n;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        rc = fwrite(buf, 1, n, out) == n ? 0 : -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

static int is_log_name(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".log") == 0;
}

/* The scenario name as a file name: letters, digits, '.', '-', '_' (others become '_'). */
static void page_stem(const char *name, char *out, size_t cap)
{
    size_t i = 0;
    for (; name && name[i] && i + 1 < cap && i < 100; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_' || (c == '.' && i > 0);
        out[i] = ok ? c : '_';
    }
    out[i] = '\0';
    if (i == 0)
        snprintf(out, cap, "run");
}

/* ---- the page ---- */

static const char STYLE[] =
    "body{font-family:sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top;font-size:13px}"
    "th{background:#eee}td.num{text-align:right}"
    "pre,code,.tl td{font-family:monospace;white-space:pre-wrap;word-break:break-all}"
    ".tl td{max-width:32em}.rx{color:#05a}.tx{color:#080}"
    "tr.PASS td.v{background:#cfc}tr.FAIL td.v{background:#fcc}tr.NOT_RUN td.v{background:#ffc}"
    "svg{border:1px solid #ccc;background:#f8f8f4}.legend span{display:inline-block;margin-right:1em}"
    ".note{color:#a60}";

static const char *const PALETTE[] = { "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e",
                                       "#9467bd", "#8c564b", "#e377c2", "#17becf" };

/* Colour of an event type: a fixed palette entry chosen by the name. */
static const char *type_colour(const char *type)
{
    unsigned h = 5381;
    for (const char *p = type; *p; p++)
        h = h * 33u + (unsigned char)*p;
    return PALETTE[h % (sizeof PALETTE / sizeof *PALETTE)];
}

static double number_at(json_t *obj, const char *key, const char *inner, bool *ok)
{
    json_t *v = json_object_get(obj, key);
    if (!v && inner)
        v = json_object_get(json_object_get(obj, "position"), inner);
    *ok = *ok && json_is_number(v);
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

/* An event a device reported: where and what (NULL when the message is not one). */
static const char *reported_event(const struct scenario *sc, const struct cloud_line *c, double *lat, double *lon,
                                  json_t **doc)
{
    char device[64];
    *doc = NULL;
    if (billing_classify(c->topic, NULL, device, sizeof device) != BILLING_UP)
        return NULL;
    *doc = json_loadb(c->payload, c->len, 0, NULL);
    const char *type = json_string_value(json_object_get(*doc, "type"));
    if (!type)
        return NULL;
    bool ok = true;
    *lat = number_at(*doc, "lat", "lat", &ok);
    *lon = number_at(*doc, "lon", "lon", &ok);
    if (!ok || (*lat == 0.0 && *lon == 0.0)) {
        struct route_point p;
        route_position_at(&sc->route.route, c->t_s, &p);
        *lat = p.lat;
        *lon = p.lon;
    }
    return type;
}

/* Map projection: equirectangular around the route's mean latitude, fitted to the frame. */
struct frame {
    double min_lat, max_lat, min_lon, max_lon, kx, scale;
};

enum { MAP_W = 800, MAP_H = 500, MAP_MARGIN = 20 };

static void frame_add(struct frame *f, double lat, double lon)
{
    f->min_lat = fmin(f->min_lat, lat);
    f->max_lat = fmax(f->max_lat, lat);
    f->min_lon = fmin(f->min_lon, lon);
    f->max_lon = fmax(f->max_lon, lon);
}

static void frame_fit(struct frame *f)
{
    f->kx = cos((f->min_lat + f->max_lat) / 2.0 * M_PI / 180.0);
    double dx = (f->max_lon - f->min_lon) * f->kx, dy = f->max_lat - f->min_lat;
    double sx = dx > 1e-12 ? (MAP_W - 2 * MAP_MARGIN) / dx : 1e12, sy = dy > 1e-12 ? (MAP_H - 2 * MAP_MARGIN) / dy : 1e12;
    f->scale = fmin(sx, sy);
    if (f->scale >= 1e12)
        f->scale = 1.0;
}

static double map_x(const struct frame *f, double lon)
{
    return MAP_MARGIN + (lon - f->min_lon) * f->kx * f->scale;
}

static double map_y(const struct frame *f, double lat)
{
    return MAP_H - MAP_MARGIN - (lat - f->min_lat) * f->scale;
}

static void write_map(FILE *out, const struct report_input *in, const struct cloud_lines *cloud)
{
    const struct route *r = &in->sc->route.route;
    fprintf(out, "<h2>Map</h2>\n");
    if (r->count == 0) {
        fprintf(out, "<p>The scenario has no route.</p>\n");
        return;
    }
    struct frame f = { r->points[0].lat, r->points[0].lat, r->points[0].lon, r->points[0].lon, 1, 1 };
    for (size_t i = 0; i < r->count; i++)
        frame_add(&f, r->points[i].lat, r->points[i].lon);
    for (size_t d = 0; d < in->sc->device_count; d++) {
        if (in->sc->devices[d].role == SCENARIO_ROLE_DEPOT)
            frame_add(&f, in->sc->devices[d].lat, in->sc->devices[d].lon);
    }
    frame_fit(&f);
    fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
            MAP_W, MAP_H, MAP_W, MAP_H);
    fprintf(out, "<polyline class=\"route\" fill=\"none\" stroke=\"#555\" stroke-width=\"2\" points=\"");
    for (size_t i = 0; i < r->count; i++)
        fprintf(out, "%s%.1f,%.1f", i ? " " : "", map_x(&f, r->points[i].lon), map_y(&f, r->points[i].lat));
    fprintf(out, "\"/>\n");
    for (size_t d = 0; d < in->sc->device_count; d++) {
        const struct scenario_device *dev = &in->sc->devices[d];
        if (dev->role != SCENARIO_ROLE_DEPOT)
            continue;
        fprintf(out, "<rect class=\"depot\" x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"#333\"><title>depot ",
                map_x(&f, dev->lon) - 5, map_y(&f, dev->lat) - 5);
        esc(out, dev->id);
        fprintf(out, "</title></rect>\n");
    }
    const char *seen[16];
    size_t nseen = 0;
    for (size_t i = 0; i < cloud->count; i++) {
        double lat, lon;
        json_t *doc;
        const char *type = reported_event(in->sc, &cloud->items[i], &lat, &lon, &doc);
        if (type) {
            char at[32];
            scenario_format_time(cloud->items[i].t_s, at, sizeof at);
            fprintf(out, "<circle class=\"event\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"><title>%s ", map_x(&f, lon),
                    map_y(&f, lat), type_colour(type), at);
            esc(out, type);
            fprintf(out, " on ");
            esc(out, cloud->items[i].topic);
            fprintf(out, "</title></circle>\n");
            size_t k = 0;
            while (k < nseen && strcmp(seen[k], type) != 0)
                k++;
            char *copy = k == nseen && nseen < 16 ? strdup(type) : NULL;
            if (copy)
                seen[nseen++] = copy;
        }
        json_decref(doc);
    }
    fprintf(out, "</svg>\n<p class=\"legend\">");
    for (size_t k = 0; k < nseen; k++) {
        fprintf(out, "<span><svg width=\"10\" height=\"10\"><circle cx=\"5\" cy=\"5\" r=\"5\" fill=\"%s\"/></svg> ",
                type_colour(seen[k]));
        esc(out, seen[k]);
        fprintf(out, "</span>");
        free((char *)seen[k]);
    }
    fprintf(out, "%s</p>\n", nseen ? "" : "No reported events.");
}

/* ---- the timeline ---- */

static void add_event(struct events *ev, struct event e)
{
    struct event *items = grow(ev->items, &ev->cap, ev->count, sizeof *items);
    if (!items)
        return;
    ev->items = items;
    e.seq = ev->count;
    items[ev->count++] = e;
}

static int by_time(const void *x, const void *y)
{
    const struct event *a = x, *b = y;
    if (a->t_s != b->t_s)
        return a->t_s < b->t_s ? -1 : 1;
    return a->seq < b->seq ? -1 : (a->seq > b->seq);
}

static bool is_cloud_action(enum scenario_action_kind k)
{
    return k == SCENARIO_ACTION_CONFIG || k == SCENARIO_ACTION_COMMAND || k == SCENARIO_ACTION_READ_STATE ||
           k == SCENARIO_ACTION_DRIVER || k == SCENARIO_ACTION_FAULT;
}

/* Text of a cloud action (a fault's line, a command's name, a configuration); owned by *keep. */
static const char *action_text(const struct scenario_action *a, char **keep)
{
    *keep = NULL;
    switch (a->kind) {
    case SCENARIO_ACTION_FAULT: return a->u.fault.line;
    case SCENARIO_ACTION_COMMAND: return a->u.command.name;
    case SCENARIO_ACTION_CONFIG: return (*keep = json_dumps(a->u.config.payload, JSON_COMPACT)) ? *keep : "";
    case SCENARIO_ACTION_DRIVER: return scenario_behaviour_str(a->u.driver.behaviour);
    default: return "";
    }
}

static void write_event_cell(FILE *out, const struct event *e)
{
    enum { SHOWN = 400 };
    if (e->column == COL_AT)
        fprintf(out, "<span class=\"%s\">%s ", e->from_host ? "rx" : "tx", e->from_host ? "&rarr;" : "&larr;");
    if (e->device) {
        esc(out, e->device);
        fputs(": ", out);
    }
    report_html_escape(out, e->text, e->len < SHOWN ? e->len : SHOWN);
    if (e->len > SHOWN)
        fprintf(out, " &hellip; (%zu bytes)", e->len);
    if (e->column == COL_AT)
        fputs("</span>", out);
}

static void write_timeline(FILE *out, struct events *ev, const size_t *more, size_t polls,
                           const struct scenario *sc)
{
    qsort(ev->items, ev->count, sizeof *ev->items, by_time);
    fprintf(out, "<h2>Timeline</h2>\n<p>AT traffic: &rarr; MCU to modem, &larr; modem to MCU (as captured, "
                 "C-escaped).</p>\n");
    for (size_t d = 0; d < sc->device_count; d++) {
        if (more[d]) {
            fprintf(out, "<p class=\"note\">");
            esc(out, sc->devices[d].id);
            fprintf(out, ": only the first %d UART chunks are shown; %zu more are in the capture file.</p>\n",
                    REPORT_MAX_AT_ROWS, more[d]);
        }
    }
    if (polls)
        fprintf(out, "<p class=\"note\">%zu messages of the runner's device-list polling (cloud/gcp/list-devices "
                     "and its replies) are left out here; the traffic table counts them.</p>\n", polls);
    fprintf(out, "<table class=\"tl\"><tr><th>trip time</th><th>AT traffic</th><th>MQTT (cloud)</th>"
                 "<th>cloud actions</th></tr>\n");
    for (size_t i = 0; i < ev->count; i++) {
        const struct event *e = &ev->items[i];
        fprintf(out, "<tr><td>%.3f</td>", e->t_s);
        for (int c = COL_AT; c <= COL_ACTION; c++) {
            fputs("<td>", out);
            if ((int)e->column == c)
                write_event_cell(out, e);
            fputs("</td>", out);
        }
        fputs("</tr>\n", out);
    }
    fprintf(out, "</table>\n");
}

/* ---- verdicts, traffic and files ---- */

static void write_verdicts(FILE *out, const struct report_input *in)
{
    fprintf(out, "<h2>Expectations</h2>\n<table class=\"verdicts\"><tr><th>verdict</th><th>entry</th>"
                 "<th>reason</th></tr>\n");
    for (size_t i = 0; i < in->verdict_count; i++) {
        const struct report_verdict *v = &in->verdicts[i];
        fprintf(out, "<tr class=\"%s\"><td class=\"v\">",
                strcmp(v->verdict, "PASS") == 0   ? "PASS"
                : strcmp(v->verdict, "FAIL") == 0 ? "FAIL"
                                                  : "NOT_RUN");
        esc(out, v->verdict);
        fputs("</td><td>", out);
        esc(out, v->label);
        fputs("</td><td>", out);
        esc(out, v->reason);
        fputs("</td></tr>\n", out);
    }
    fprintf(out, "</table>\n");
}

static void write_row_cells(FILE *out, const struct billing_table *t, const struct billing_row *r)
{
    fprintf(out, "<td class=\"num\">%llu</td><td class=\"num\">%llu</td>", (unsigned long long)r->messages,
            (unsigned long long)r->bytes);
    for (size_t m = 0; m < t->meter_count; m++)
        fprintf(out, "<td class=\"num\">%llu</td>", (unsigned long long)r->units[m]);
}

static void fill_billing(struct billing_table *t, const struct cloud_lines *cloud)
{
    for (size_t i = 0; i < cloud->count; i++) {
        const struct cloud_line *c = &cloud->items[i];
        json_t *doc = json_loadb(c->payload, c->len, 0, NULL);
        char device[64];
        const char *sender = json_string_value(json_object_get(doc, "bus"));
        if (!sender) /* a Pub/Sub copy names its device in the attributes */
            sender = json_string_value(json_object_get(json_object_get(doc, "attributes"), "deviceId"));
        enum billing_direction d = billing_classify(c->topic, sender, device, sizeof device);
        billing_add(t, device, c->topic, d, c->len);
        json_decref(doc);
    }
}

static void write_traffic(FILE *out, const struct report_input *in, const struct cloud_lines *cloud)
{
    struct billing_table t;
    billing_init(&t, in->meters, in->meter_count);
    fill_billing(&t, cloud);
    fprintf(out, "<h2>Traffic and billed units</h2>\n<p>Payload bytes of every message the cloud saw. Meters: ");
    for (size_t m = 0; m < t.meter_count; m++) {
        fprintf(out, "%s", m ? "; " : "");
        esc(out, t.meters[m].name);
        fprintf(out, " bills %s of %llu bytes, at least %llu bytes a message", t.meters[m].unit_label,
                (unsigned long long)t.meters[m].unit_bytes, (unsigned long long)t.meters[m].min_bytes);
    }
    fprintf(out, ". Service traffic (broker events, cloud-side requests and replies, Pub/Sub copies) is counted "
                 "but not billed.</p>\n<table class=\"traffic\"><tr><th>device</th><th>topic</th><th>direction</th>"
                 "<th>messages</th><th>bytes</th>");
    for (size_t m = 0; m < t.meter_count; m++) {
        fputs("<th>", out);
        esc(out, t.meters[m].name);
        fputs(" ", out);
        esc(out, t.meters[m].unit_label);
        fputs("</th>", out);
    }
    fputs("</tr>\n", out);
    for (size_t i = 0; i < t.count; i++) {
        fputs("<tr><td>", out);
        esc(out, t.rows[i].device);
        fputs("</td><td>", out);
        esc(out, t.rows[i].topic);
        fprintf(out, "</td><td>%s</td>", billing_direction_str(t.rows[i].direction));
        write_row_cells(out, &t, &t.rows[i]);
        fputs("</tr>\n", out);
    }
    for (int d = BILLING_UP; d <= BILLING_SERVICE; d++) {
        struct billing_row total;
        billing_total(&t, (enum billing_direction)d, &total);
        fprintf(out, "<tr class=\"total\"><th colspan=\"2\">total</th><th>%s</th>",
                billing_direction_str((enum billing_direction)d));
        write_row_cells(out, &t, &total);
        fputs("</tr>\n", out);
    }
    fprintf(out, "</table>\n");
    billing_free(&t);
}

/* Copy every *.log of the run into files_dir and link them (relative to the page). */
static void write_files(FILE *out, const char *run_dir, const char *files_dir, const char *files_rel)
{
    struct dirent **names;
    int n = scandir(run_dir, &names, is_log_name, alphasort);
    fprintf(out, "<h2>Logs and UART captures</h2>\n<ul class=\"files\">\n");
    for (int i = 0; i < n; i++) {
        char from[PATH_MAX * 2], to[PATH_MAX * 2];
        snprintf(from, sizeof from, "%s/%s", run_dir, names[i]->d_name);
        snprintf(to, sizeof to, "%s/%s", files_dir, names[i]->d_name);
        if (copy_file(from, to) == 0) {
            fputs("<li><a href=\"", out);
            esc(out, files_rel);
            fputs("/", out);
            esc(out, names[i]->d_name);
            fputs("\">", out);
            esc(out, names[i]->d_name);
            fputs("</a></li>\n", out);
        } else {
            fprintf(stderr, "cellbench: report: cannot copy %s: %s\n", from, strerror(errno));
        }
        free(names[i]);
    }
    if (n > 0)
        free(names);
    fprintf(out, "</ul>\n");
}

/* ---- one page ---- */

/* Everything read from the run directory for one page. */
struct page_data {
    struct cloud_lines cloud;
    struct at_line **at;  /* per device */
    size_t *at_count, *at_more;
    char **action_texts;  /* per timeline entry: text owned by the page, or NULL */
    struct events ev;
    size_t polls;         /* the runner's device-list polls left out of the timeline */
};

/* The runner's once-a-second GCP device-list poll and its reply (counted as service traffic, not shown). */
static bool is_runner_poll(const char *topic)
{
    return strcmp(topic, "cloud/gcp/list-devices") == 0 || strcmp(topic, "cloud/gcp/reply/list-devices") == 0;
}

static int collect(const struct report_input *in, struct page_data *p)
{
    size_t nd = in->sc->device_count, na = in->sc->action_count;
    p->at = calloc(nd + 1, sizeof *p->at);
    p->at_count = calloc(nd + 1, sizeof *p->at_count);
    p->at_more = calloc(nd + 1, sizeof *p->at_more);
    p->action_texts = calloc(na + 1, sizeof *p->action_texts);
    if (!p->at || !p->at_count || !p->at_more || !p->action_texts)
        return -1;
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/cloud.log", in->run_dir ? in->run_dir : "");
    if (in->run_dir)
        read_cloud_log(path, &p->cloud);
    for (size_t i = 0; i < p->cloud.count; i++) {
        const struct cloud_line *c = &p->cloud.items[i];
        if (is_runner_poll(c->topic)) {
            p->polls++;
            continue;
        }
        add_event(&p->ev, (struct event){ c->t_s, 0, COL_MQTT, c->topic, false, c->payload, c->len });
    }
    for (size_t d = 0; d < nd; d++) {
        const char *id = in->sc->devices[d].id;
        snprintf(path, sizeof path, "%s/%s-uart.log", in->run_dir ? in->run_dir : "", id);
        if (in->run_dir)
            read_capture(in->sc, path, in->trip_start_ns, &p->at[d], &p->at_count[d], &p->at_more[d]);
        for (size_t k = 0; k < p->at_count[d]; k++) {
            const struct at_line *a = &p->at[d][k];
            add_event(&p->ev, (struct event){ a->t_s, 0, COL_AT, id, a->from_host, a->text, strlen(a->text) });
        }
    }
    for (size_t i = 0; i < na; i++) {
        const struct scenario_action *a = &in->sc->actions[i];
        if (!is_cloud_action(a->kind))
            continue;
        const char *text = action_text(a, &p->action_texts[i]);
        add_event(&p->ev, (struct event){ a->at_s, 0, COL_ACTION, scenario_action_str(a->kind), false, text,
                                          strlen(text) });
    }
    return 0;
}

static void release(const struct report_input *in, struct page_data *p)
{
    free_cloud_lines(&p->cloud);
    for (size_t d = 0; p->at && p->at_count && d < in->sc->device_count; d++) {
        for (size_t k = 0; k < p->at_count[d]; k++)
            free(p->at[d][k].text);
        free(p->at[d]);
    }
    for (size_t i = 0; p->action_texts && i < in->sc->action_count; i++)
        free(p->action_texts[i]);
    free(p->at);
    free(p->at_count);
    free(p->at_more);
    free(p->action_texts);
    free(p->ev.items);
}

static void write_head(FILE *out, const struct report_input *in)
{
    const struct scenario *sc = in->sc;
    size_t pass = 0, fail = 0;
    for (size_t i = 0; i < in->verdict_count; i++) {
        pass += strcmp(in->verdicts[i].verdict, "PASS") == 0;
        fail += strcmp(in->verdicts[i].verdict, "FAIL") == 0;
    }
    fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>cellbench: ");
    esc(out, sc->name);
    fprintf(out, "</title><style>%s</style></head>\n<body>\n<h1>", STYLE);
    esc(out, sc->name);
    fprintf(out, "</h1>\n<p>");
    esc(out, sc->description);
    fprintf(out, "</p>\n<p>profile %s, stack %s, %zu device(s), trip %.0f s; %zu passed, %zu failed, %zu not run.</p>\n",
            scenario_profile_str(sc->profile), scenario_stack_str(sc->stack), sc->device_count, sc->duration_s, pass,
            fail, in->verdict_count - pass - fail);
}

int report_write(const struct report_input *in, char *path, size_t path_cap)
{
    char stem[128], page[PATH_MAX + 160], files_rel[160], files_dir[PATH_MAX + 160];
    if (strlen(in->out_dir) >= PATH_MAX - 1) {
        fprintf(stderr, "cellbench: report: directory name too long\n");
        return -1;
    }
    page_stem(in->sc->name, stem, sizeof stem);
    snprintf(page, sizeof page, "%s/%s.html", in->out_dir, stem);
    snprintf(files_rel, sizeof files_rel, "%s-files", stem);
    snprintf(files_dir, sizeof files_dir, "%s/%s", in->out_dir, files_rel);
    if (make_dir(in->out_dir) < 0 || make_dir(files_dir) < 0) {
        fprintf(stderr, "cellbench: report: cannot make %s: %s\n", files_dir, strerror(errno));
        return -1;
    }
    FILE *out = fopen(page, "w");
    if (!out) {
        fprintf(stderr, "cellbench: report: cannot write %s: %s\n", page, strerror(errno));
        return -1;
    }
    struct page_data *p = calloc(1, sizeof *p);
    if (!p) {
        fclose(out);
        return -1;
    }
    if (collect(in, p) < 0) {
        fprintf(stderr, "cellbench: report: out of memory\n");
        release(in, p);
        free(p);
        fclose(out);
        return -1;
    }
    write_head(out, in);
    write_verdicts(out, in);
    write_map(out, in, &p->cloud);
    write_traffic(out, in, &p->cloud);
    write_timeline(out, &p->ev, p->at_more, p->polls, in->sc);
    if (in->run_dir)
        write_files(out, in->run_dir, files_dir, files_rel);
    else
        fprintf(out, "<h2>Logs and UART captures</h2>\n<p class=\"note\">The bench was not started: no logs.</p>\n");
    fprintf(out, "</body></html>\n");
    release(in, p);
    free(p);
    if (fclose(out) != 0) {
        fprintf(stderr, "cellbench: report: cannot write %s: %s\n", page, strerror(errno));
        return -1;
    }
    if (path)
        snprintf(path, path_cap, "%s", page);
    return 0;
}
