/*
 * acks — expect_ack's acknowledgements from the cloud application's log (see acks.h).
 */
#include "acks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTIFY_PREFIX "cloud/gcp/notify/devices/"
#define SET_REPLY_PREFIX "cloud/gcp/reply/devices/"

/* The members compared so far, and the first difference. */
struct match_state {
    size_t compared;
    char *why;
    size_t why_cap;
};

static bool members_match(const json_t *config, const json_t *reported, const char *path, struct match_state *st)
{
    const char *key;
    const json_t *want;
    json_object_foreach((json_t *)config, key, want) {
        const json_t *got = json_object_get(reported, key);
        if (!got)
            continue; /* not reported */
        char sub[256];
        snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", key);
        if (json_is_object(want) && json_is_object(got)) {
            if (!members_match(want, got, sub, st))
                return false;
            continue;
        }
        st->compared++;
        if (!expect_json_equal(want, got)) {
            if (st->why) {
                char *w = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY), *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
                snprintf(st->why, st->why_cap, "%s: sent %.60s, reported %.60s", sub, w ? w : "?", g ? g : "?");
                free(w);
                free(g);
            }
            return false;
        }
    }
    return true;
}

bool acks_reported_matches(const json_t *config, const json_t *reported, char *why, size_t why_cap)
{
    struct match_state st = { 0, why, why_cap };
    if (why && why_cap)
        why[0] = '\0';
    if (!json_is_object(config) || !json_is_object(reported)) {
        if (why)
            snprintf(why, why_cap, "not a JSON object");
        return false;
    }
    if (!members_match(config, reported, "", &st))
        return false;
    if (st.compared == 0 && why)
        snprintf(why, why_cap, "nothing in common with the configuration");
    return st.compared > 0;
}

/* The device of "<prefix><D>/<tail>" into buf, or NULL when topic has another form. */
static const char *topic_device(const char *topic, const char *prefix, const char *tail, char *buf, size_t cap)
{
    size_t plen = strlen(prefix), tlen = strlen(tail);
    if (!topic || strncmp(topic, prefix, plen) != 0)
        return NULL;
    const char *dev = topic + plen, *slash = strchr(dev, '/');
    if (!slash || slash == dev || strcmp(slash, tail) != 0 || (size_t)(slash - dev) >= cap || tlen == 0)
        return NULL;
    snprintf(buf, cap, "%.*s", (int)(slash - dev), dev);
    return buf;
}

void acks_gcp_versions(struct ack_config *configs, size_t n, const struct expect_record *log, size_t nlog)
{
    for (size_t i = 0; i < n; i++)
        configs[i].cloud_version = 0;
    for (size_t k = 0; k < nlog; k++) {
        char dev[128];
        if (!topic_device(log[k].topic, SET_REPLY_PREFIX, "/config/set", dev, sizeof dev))
            continue;
        size_t i = 0; /* the first configuration of dev not yet answered */
        while (i < n && (strcmp(configs[i].device, dev) != 0 || configs[i].cloud_version != 0))
            i++;
        if (i == n)
            continue;
        const json_t *v = json_object_get(log[k].msg, "version");
        configs[i].cloud_version = json_is_integer(v) ? (long)json_integer_value(v) : -1; /* -1: refused */
    }
    for (size_t i = 0; i < n; i++)
        if (configs[i].cloud_version < 0)
            configs[i].cloud_version = 0;
}

/* Number (1-based) of the configuration of device whose gcp version is v; 0 none. */
static long number_of_version(const struct ack_config *configs, size_t n, const char *device, long v)
{
    long number = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(configs[i].device, device) != 0)
            continue;
        number++;
        if (configs[i].cloud_version == v)
            return number;
    }
    return 0;
}

/* Number of the latest configuration of device sent by t_s that reported reports; 0 none. */
static long number_reported(const struct ack_config *configs, size_t n, const char *device, double t_s,
                            const json_t *reported)
{
    long number = 0, found = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(configs[i].device, device) != 0)
            continue;
        number++;
        if (configs[i].t_s <= t_s && acks_reported_matches(configs[i].config, reported, NULL, 0))
            found = number;
    }
    return found;
}

/* The device id as stored in configs (so events can point at it), or NULL. */
static const char *known_device(const struct ack_config *configs, size_t n, const char *device)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(configs[i].device, device) == 0)
            return configs[i].device;
    return NULL;
}

/* The acknowledgement one record stands for; false when none. */
static bool record_ack(enum scenario_profile profile, const struct ack_config *configs, size_t n,
                       const struct expect_record *rec, struct scenario_ack_event *ev)
{
    char dev[128];
    const char *device;
    if (profile == SCENARIO_PROFILE_GCP && topic_device(rec->topic, NOTIFY_PREFIX, "/config-ack", dev, sizeof dev)) {
        const json_t *v = json_object_get(rec->msg, "version");
        ev->what = SCENARIO_ACK_CONFIG;
        device = known_device(configs, n, dev);
        ev->version = device && json_is_integer(v) ? number_of_version(configs, n, dev, (long)json_integer_value(v)) : 0;
    } else if (profile == SCENARIO_PROFILE_GCP && topic_device(rec->topic, "/devices/", "/state", dev, sizeof dev)) {
        ev->what = SCENARIO_ACK_STATE;
        device = known_device(configs, n, dev);
        ev->version = device ? number_reported(configs, n, dev, rec->t_s, rec->msg) : 0;
    } else if (profile == SCENARIO_PROFILE_AWS &&
               topic_device(rec->topic, "$aws/things/", "/shadow/update/documents", dev, sizeof dev)) {
        const json_t *reported = expect_lookup(rec->msg, "current.state.reported");
        ev->what = SCENARIO_ACK_SHADOW;
        device = known_device(configs, n, dev);
        ev->version = device && reported ? number_reported(configs, n, dev, rec->t_s, reported) : 0;
    } else {
        return false;
    }
    ev->t_s = rec->t_s;
    ev->device = device;
    return ev->version > 0;
}

size_t acks_collect(enum scenario_profile profile, const struct ack_config *configs, size_t n,
                    const struct expect_record *log, size_t nlog, struct scenario_ack_event **out)
{
    size_t count = 0;
    *out = NULL;
    for (size_t k = 0; k < nlog; k++) {
        struct scenario_ack_event ev;
        if (!record_ack(profile, configs, n, &log[k], &ev))
            continue;
        struct scenario_ack_event *grown = realloc(*out, (count + 1) * sizeof *grown);
        if (!grown)
            break;
        *out = grown;
        (*out)[count++] = ev;
    }
    return count;
}

long acks_latest(const struct ack_config *configs, size_t n, const char *device, double at_s)
{
    long number = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(configs[i].device, device) == 0 && configs[i].t_s <= at_s)
            number++;
    return number;
}
