/* gcp_topics — Cloud IoT Core topic and client id parsing (see gcp_topics.h). */
#include "gcp_topics.h"

#include <stdio.h>
#include <string.h>

/* The part after "/devices/D/" for the suffixes without subfolders. */
static enum gcp_topic_kind plain_kind(const char *rest)
{
    static const struct {
        const char *name;
        enum gcp_topic_kind kind;
    } plain[] = {
        { "state", GCP_TOPIC_STATE },   { "config", GCP_TOPIC_CONFIG },
        { "attach", GCP_TOPIC_ATTACH }, { "detach", GCP_TOPIC_DETACH },
        { "errors", GCP_TOPIC_ERRORS }, { "commands/#", GCP_TOPIC_COMMANDS_ALL },
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        if (strcmp(rest, plain[i].name) == 0)
            return plain[i].kind;
    }
    return GCP_TOPIC_OTHER;
}

/* A subfolder: non-empty levels, no wildcards. */
static bool subfolder_valid(const char *sub)
{
    if (sub[0] == '\0' || strpbrk(sub, "+#"))
        return false;
    return !strstr(sub, "//") && sub[strlen(sub) - 1] != '/';
}

/* events[/sub] or commands[/sub]: sets the kind and subfolder. */
static enum gcp_topic_kind folder_kind(const char *rest, struct gcp_topic *out)
{
    static const struct {
        const char *name;
        enum gcp_topic_kind kind;
    } folders[] = { { "events", GCP_TOPIC_EVENTS }, { "commands", GCP_TOPIC_COMMAND } };
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(folders[i].name);
        if (strncmp(rest, folders[i].name, n) != 0)
            continue;
        if (rest[n] == '\0') {
            out->subfolder = rest + n;
            return folders[i].kind;
        }
        if (rest[n] == '/' && subfolder_valid(rest + n + 1)) {
            out->subfolder = rest + n + 1;
            return folders[i].kind;
        }
    }
    return GCP_TOPIC_OTHER;
}

enum gcp_topic_kind gcp_topic_parse(const char *topic, struct gcp_topic *out)
{
    static const char prefix[] = "/devices/";
    out->kind = GCP_TOPIC_OTHER;
    out->device[0] = '\0'; /* no memset of the whole id buffer: this runs twice per message */
    out->subfolder = "";
    if (!topic || strncmp(topic, prefix, sizeof prefix - 1) != 0)
        return out->kind = GCP_TOPIC_OTHER;
    const char *id = topic + sizeof prefix - 1;
    const char *slash = strchr(id, '/');
    size_t id_len = slash ? (size_t)(slash - id) : 0;
    if (!slash || id_len == 0 || id_len > GCP_ID_MAX || memchr(id, '+', id_len) ||
        memchr(id, '#', id_len))
        return out->kind = GCP_TOPIC_OTHER;
    memcpy(out->device, id, id_len);
    out->device[id_len] = '\0';
    const char *rest = slash + 1;
    /* events first: the common case. No topic is both kinds ("commands/#" is no valid subfolder). */
    out->kind = folder_kind(rest, out);
    if (out->kind == GCP_TOPIC_OTHER)
        out->kind = plain_kind(rest);
    return out->kind;
}

/* Match "<name>/<value>/" at *p against expected; advance *p. */
static bool take_pair(const char **p, const char *name, const char *expected)
{
    size_t n = strlen(name), v = strlen(expected);
    if (strncmp(*p, name, n) != 0 || (*p)[n] != '/')
        return false;
    const char *value = *p + n + 1;
    if (strncmp(value, expected, v) != 0 || value[v] != '/')
        return false;
    *p = value + v + 1;
    return true;
}

bool gcp_client_id_parse(const char *client_id, const char *project, const char *region,
                         const char *registry, char *device, size_t device_len)
{
    const char *p = client_id;
    if (!p || !take_pair(&p, "projects", project) || !take_pair(&p, "locations", region) ||
        !take_pair(&p, "registries", registry))
        return false;
    if (strncmp(p, "devices/", 8) != 0)
        return false;
    p += 8;
    size_t n = strlen(p);
    if (n == 0 || n >= device_len || strchr(p, '/'))
        return false;
    memcpy(device, p, n + 1);
    return true;
}
