/*
 * fw_cloud.c - client ids and topics of the AWS and GCP profiles (see
 * fw_cloud.h).
 */
#include <string.h>

#include "fw_cloud.h"
#include "fw_fmt.h"

/* A name that can sit between two slashes of a topic. */
static bool fw_cloud__name_ok(const char *name)
{
    size_t i, n;
    if (name == NULL || name[0] == '\0')
        return false;
    n = strlen(name);
    for (i = 0; i < n; i++) {
        if (name[i] == '/' || name[i] == '+' || name[i] == '#' || name[i] == '"')
            return false;
    }
    return true;
}

static bool fw_cloud__profile_ok(const struct fw_cloud_profile *p)
{
    if (p == NULL || !fw_cloud__name_ok(p->device_id))
        return false;
    if (p->kind == FW_CLOUD_AWS)
        return true;
    return p->kind == FW_CLOUD_GCP && fw_cloud__name_ok(p->project) &&
           fw_cloud__name_ok(p->region) && fw_cloud__name_ok(p->registry);
}

static enum fw_cloud_status fw_cloud__finish(const struct fw_fmt *f, size_t max, size_t *len)
{
    if (f->bad)
        return FW_CLOUD_NO_SPACE;
    if (f->len > max)
        return FW_CLOUD_TOO_LONG;
    *len = f->len;
    return FW_CLOUD_OK;
}

enum fw_cloud_status fw_cloud_client_id(const struct fw_cloud_profile *p, char *buf, size_t cap,
                                        size_t *len)
{
    struct fw_fmt f = {buf, cap, 0, false};
    if (!fw_cloud__profile_ok(p) || buf == NULL || cap == 0 || len == NULL)
        return FW_CLOUD_BAD_ARG;
    buf[0] = '\0';
    if (p->kind == FW_CLOUD_GCP) {
        fw_fmt__str(&f, "projects/");
        fw_fmt__str(&f, p->project);
        fw_fmt__str(&f, "/locations/");
        fw_fmt__str(&f, p->region);
        fw_fmt__str(&f, "/registries/");
        fw_fmt__str(&f, p->registry);
        fw_fmt__str(&f, "/devices/");
    }
    fw_fmt__str(&f, p->device_id);
    return fw_cloud__finish(&f, FW_CLOUD_CLIENT_ID_MAX, len);
}

static void fw_cloud__aws_topic(const struct fw_cloud_profile *p, enum fw_cloud_topic topic,
                                const char *depot, struct fw_fmt *f)
{
    switch (topic) {
    case FW_TOPIC_CONFIG:
    case FW_TOPIC_COMMANDS:
        fw_fmt__str(f, "/bus/");
        fw_fmt__str(f, p->device_id);
        fw_fmt__str(f, topic == FW_TOPIC_CONFIG ? "/configuration" : "/commands");
        return;
    case FW_TOPIC_EVENTS:
        fw_fmt__str(f, "/bus/events");
        return;
    default:
        fw_fmt__str(f, "/depot/");
        fw_fmt__str(f, depot);
        fw_fmt__str(f, "/bus-arrived");
        return;
    }
}

static void fw_cloud__gcp_topic(const struct fw_cloud_profile *p, enum fw_cloud_topic topic,
                                struct fw_fmt *f)
{
    static const char *const tails[] = {"/config", "/commands/#", "/events", "/events/depot-arrived"};
    fw_fmt__str(f, "/devices/");
    fw_fmt__str(f, p->device_id);
    fw_fmt__str(f, tails[topic]);
}

enum fw_cloud_status fw_cloud_topic(const struct fw_cloud_profile *p, enum fw_cloud_topic topic,
                                    const char *depot, char *buf, size_t cap, size_t *len)
{
    struct fw_fmt f = {buf, cap, 0, false};
    if (!fw_cloud__profile_ok(p) || buf == NULL || cap == 0 || len == NULL ||
        topic > FW_TOPIC_DEPOT_ARRIVED)
        return FW_CLOUD_BAD_ARG;
    if (p->kind == FW_CLOUD_AWS && topic == FW_TOPIC_DEPOT_ARRIVED && !fw_cloud__name_ok(depot))
        return FW_CLOUD_BAD_ARG;
    buf[0] = '\0';
    if (p->kind == FW_CLOUD_AWS)
        fw_cloud__aws_topic(p, topic, depot, &f);
    else
        fw_cloud__gcp_topic(p, topic, &f);
    /* names hold no '/', so no topic here comes near AWS's 7-slash limit */
    return fw_cloud__finish(&f, p->kind == FW_CLOUD_AWS ? 256u : 1024u, len);
}

bool fw_cloud_uses_jwt(const struct fw_cloud_profile *p)
{
    return p != NULL && p->kind == FW_CLOUD_GCP;
}

bool fw_cloud_jwt_due(uint64_t now, uint64_t exp, uint32_t margin_s)
{
    return exp <= margin_s || now >= exp - margin_s;
}

const char *fw_cloud_status_str(enum fw_cloud_status status)
{
    switch (status) {
    case FW_CLOUD_OK: return "ok";
    case FW_CLOUD_NO_SPACE: return "buffer too small";
    case FW_CLOUD_TOO_LONG: return "longer than the cloud or modem allows";
    case FW_CLOUD_BAD_ARG: return "bad argument";
    }
    return "unknown status";
}
