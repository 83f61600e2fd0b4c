/* billing — per device/topic/direction counts and billed units (see billing.h). */
#include "billing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_meter(struct billing_meter *m, const char *name, uint64_t unit, uint64_t min)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->unit_bytes = unit;
    m->min_bytes = min;
    snprintf(m->unit_label, sizeof m->unit_label, "%s", unit == 1 ? "bytes" : "messages");
}

size_t billing_default_meters(struct billing_meter *out)
{
    set_meter(&out[0], "aws", 5120, 0);
    set_meter(&out[1], "gcp", 1, 1024);
    return 2;
}

static int refuse(char *why, size_t cap, const char *reason, const char *item)
{
    if (why)
        snprintf(why, cap, "%s: '%.100s'", reason, item);
    return -1;
}

/* One "NAME=UNIT[/MIN]" item. */
static int parse_meter_item(const char *item, struct billing_meter *out, char *why, size_t cap)
{
    const char *eq = strchr(item, '=');
    if (!eq || eq == item || (size_t)(eq - item) >= sizeof out->name)
        return refuse(why, cap, "a meter is NAME=UNIT[/MIN]", item);
    char *end;
    unsigned long long unit = strtoull(eq + 1, &end, 10);
    unsigned long long min = 0;
    if (end == eq + 1 || unit == 0 || eq[1] == '-')
        return refuse(why, cap, "the unit must be a positive number of bytes", item);
    if (*end == '/') {
        const char *m = end + 1;
        min = strtoull(m, &end, 10);
        if (end == m || *m == '-')
            return refuse(why, cap, "the minimum must be a number of bytes", item);
    }
    if (*end != '\0')
        return refuse(why, cap, "unexpected text in meter", item);
    char name[sizeof out->name];
    snprintf(name, sizeof name, "%.*s", (int)(eq - item), item);
    set_meter(out, name, unit, min);
    return 0;
}

int billing_parse_meters(const char *spec, struct billing_meter *meters, size_t *n, char *why, size_t why_cap)
{
    char copy[512];
    if (!spec || !*spec || strlen(spec) >= sizeof copy)
        return refuse(why, why_cap, "empty or too long meter list", spec ? spec : "");
    snprintf(copy, sizeof copy, "%s", spec);
    struct billing_meter work[BILLING_MAX_METERS];
    size_t count = *n;
    memcpy(work, meters, count * sizeof *work);
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        struct billing_meter m;
        if (parse_meter_item(item, &m, why, why_cap) < 0)
            return -1;
        size_t i = 0;
        while (i < count && strcmp(work[i].name, m.name) != 0)
            i++;
        if (i == BILLING_MAX_METERS)
            return refuse(why, why_cap, "too many meters", item);
        work[i] = m;
        count += i == count;
    }
    memcpy(meters, work, count * sizeof *work);
    *n = count;
    return 0;
}

uint64_t billing_units(const struct billing_meter *m, uint64_t bytes)
{
    uint64_t billed = bytes < m->min_bytes ? m->min_bytes : bytes;
    uint64_t units = billed / m->unit_bytes + (billed % m->unit_bytes != 0);
    return units ? units : 1;
}

const char *billing_direction_str(enum billing_direction d)
{
    return d == BILLING_UP ? "up" : d == BILLING_DOWN ? "down" : "service";
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The topic segment right after marker (e.g. "bus/"), into device. */
static void segment_after(const char *topic, const char *marker, char *device, size_t cap)
{
    const char *p = strstr(topic, marker);
    if (!p || device[0] != '\0')
        return;
    p += strlen(marker);
    size_t len = strcspn(p, "/");
    if (p[len] != '/')
        return; /* the last segment names the topic, not a device ("/bus/events") */
    snprintf(device, cap, "%.*s", (int)len, p);
}

static void topic_device(const char *topic, char *device, size_t cap)
{
    if (starts(topic, "$aws/events/")) {
        const char *last = strrchr(topic, '/');
        snprintf(device, cap, "%s", last + 1);
        return;
    }
    segment_after(topic, "bus/", device, cap);
    segment_after(topic, "things/", device, cap);
    segment_after(topic, "shadow/", device, cap);
    segment_after(topic, "devices/", device, cap);
}

static enum billing_direction topic_direction(const char *topic)
{
    if (starts(topic, "$aws/events/") || starts(topic, "cloud/") || starts(topic, "pubsub/"))
        return BILLING_SERVICE;
    if (starts(topic, "$aws/things/") && strstr(topic, "/shadow/"))
        return ends(topic, "/update") || ends(topic, "/get") || ends(topic, "/delete") ? BILLING_UP : BILLING_DOWN;
    if (strstr(topic, "/commands") || ends(topic, "/config") || ends(topic, "/configuration"))
        return BILLING_DOWN;
    return BILLING_UP;
}

enum billing_direction billing_classify(const char *topic, const char *bus_field, char *device, size_t cap)
{
    device[0] = '\0';
    if (bus_field && *bus_field)
        snprintf(device, cap, "%s", bus_field);
    else
        topic_device(topic, device, cap);
    return topic_direction(topic);
}

void billing_init(struct billing_table *t, const struct billing_meter *meters, size_t count)
{
    memset(t, 0, sizeof *t);
    t->meter_count = count < BILLING_MAX_METERS ? count : BILLING_MAX_METERS;
    memcpy(t->meters, meters, t->meter_count * sizeof *meters);
}

static struct billing_row *find_row(struct billing_table *t, const char *device, const char *topic,
                                    enum billing_direction d)
{
    for (size_t i = 0; i < t->count; i++) {
        struct billing_row *r = &t->rows[i];
        if (r->direction == d && strcmp(r->device, device) == 0 && strncmp(r->topic, topic, sizeof r->topic - 1) == 0)
            return r;
    }
    if (t->count == t->cap) {
        size_t cap = t->cap * 2 + 16;
        struct billing_row *grown = realloc(t->rows, cap * sizeof *grown);
        if (!grown)
            return NULL;
        t->rows = grown;
        t->cap = cap;
    }
    struct billing_row *r = &t->rows[t->count++];
    memset(r, 0, sizeof *r);
    snprintf(r->device, sizeof r->device, "%s", device);
    snprintf(r->topic, sizeof r->topic, "%s", topic);
    r->direction = d;
    return r;
}

int billing_add(struct billing_table *t, const char *device, const char *topic, enum billing_direction d,
                uint64_t bytes)
{
    struct billing_row *r = find_row(t, device ? device : "", topic, d);
    if (!r)
        return -1;
    r->messages++;
    r->bytes += bytes;
    for (size_t m = 0; m < t->meter_count && d != BILLING_SERVICE; m++)
        r->units[m] += billing_units(&t->meters[m], bytes);
    return 0;
}

void billing_total(const struct billing_table *t, enum billing_direction d, struct billing_row *total)
{
    memset(total, 0, sizeof *total);
    total->direction = d;
    for (size_t i = 0; i < t->count; i++) {
        const struct billing_row *r = &t->rows[i];
        if (r->direction != d)
            continue;
        total->messages += r->messages;
        total->bytes += r->bytes;
        for (size_t m = 0; m < t->meter_count; m++)
            total->units[m] += r->units[m];
    }
}

void billing_free(struct billing_table *t)
{
    free(t->rows);
    t->rows = NULL;
    t->count = t->cap = 0;
}
